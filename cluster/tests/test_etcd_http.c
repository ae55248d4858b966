/* cluster/etcd_http against a real etcd (started by etcd_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/etcd_http.h"
#include "cluster/etcd_json.h"
#include "etcd_fixture.h"

static etcd_fixture_t fx;

typedef struct reply_s {
    int done, rc;
    long status;
    char *body;
    size_t len;
} reply_t;

static void on_reply(void *arg, int rc, long status, const char *body, size_t len)
{
    reply_t *r = arg;
    r->done = 1;
    r->rc = rc;
    r->status = status;
    r->len = len;
    r->body = malloc(len + 1);
    if (len)
        memcpy(r->body, body, len);
    r->body[len] = 0;
}

/* Posts body to url on a fresh loop and runs it until the answer (and the close callbacks). */
static void post(const char *path, const char *body, size_t max_body, reply_t *r)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_http_t *http = etcd_http_new(&loop, max_body);
    assert_non_null(http);
    char url[128];
    snprintf(url, sizeof url, "%s%s", fx.url, path);
    memset(r, 0, sizeof *r);
    assert_int_equal(etcd_http_post(http, url, body, 3000, on_reply, r), 0);
    while (!r->done)
        uv_run(&loop, UV_RUN_ONCE);
    etcd_http_free(http);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int setup(void **state)
{
    if (etcd_fixture_missing())
        return 0;
    return etcd_fixture_start(&fx);
}

static int teardown(void **state)
{
    etcd_fixture_stop(&fx);
    return 0;
}

static void put_then_range_returns_the_value(void **state)
{
    if (etcd_fixture_missing())
        skip(); /* only when /usr/bin/etcd is not installed */
    reply_t r;
    post("/v3/kv/put", "{\"key\":\"a2V5\",\"value\":\"dmFsdWU=\"}", 1 << 20, &r); /* key=value */
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    post("/v3/kv/range", "{\"key\":\"a2V5\"}", 1 << 20, &r);
    assert_int_equal(r.rc, 0);
    etcd_range_t rng;
    assert_int_equal(etcd_json_parse_range(r.body, r.len, &rng), 0);
    assert_int_equal(rng.n_kvs, 1);
    assert_int_equal(rng.kvs[0].value_len, 5);
    assert_memory_equal(rng.kvs[0].value, "value", 5);
    assert_int_equal(rng.kvs[0].version, 1);
    assert_true(rng.revision >= 2);
    etcd_range_fini(&rng);
    free(r.body);
}

static void lease_not_found_is_its_own_error(void **state)
{
    if (etcd_fixture_missing())
        skip();
    reply_t r;
    post("/v3/kv/put", "{\"key\":\"a2V5\",\"value\":\"dg==\",\"lease\":\"12345\"}", 1 << 20, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(etcd_json_parse_error(r.body, r.len), ETCD_ELEASE);
    free(r.body);
}

static void reply_over_the_bound_is_too_big(void **state)
{
    if (etcd_fixture_missing())
        skip();
    reply_t r;
    post("/v3/kv/range", "{\"key\":\"a2V5\"}", 16, &r);
    assert_int_equal(r.rc, ETCD_ETOOBIG);
    free(r.body);
}

static void refused_connection_is_unavailable(void **state)
{
    if (etcd_fixture_missing())
        skip();
    etcd_fixture_t saved = fx;
    snprintf(fx.url, sizeof fx.url, "http://127.0.0.1:%d", etcd_fixture_free_port());
    reply_t r;
    post("/v3/kv/range", "{\"key\":\"a2V5\"}", 1 << 20, &r);
    fx = saved;
    assert_int_equal(r.rc, ETCD_EUNAVAILABLE);
    free(r.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_then_range_returns_the_value),
        cmocka_unit_test(lease_not_found_is_its_own_error),
        cmocka_unit_test(reply_over_the_bound_is_too_big),
        cmocka_unit_test(refused_connection_is_unavailable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
