/* cluster/etcd: endpoint failover and deadlines against a real etcd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "cluster/etcd.h"
#include "etcd_fixture.h"

static etcd_fixture_t fx;

typedef struct got_s {
    int done, rc;
    size_t n_kvs;
    int64_t revision;
    char first_key[64];
} got_t;

static void on_get(void *arg, int rc, etcd_range_t *rng)
{
    got_t *g = arg;
    g->done = 1;
    g->rc = rc;
    if (rc == 0) {
        g->n_kvs = rng->n_kvs;
        g->revision = rng->revision;
        if (rng->n_kvs)
            snprintf(g->first_key, sizeof g->first_key, "%.*s", (int)rng->kvs[0].key_len, rng->kvs[0].key);
        etcd_range_fini(rng);
    }
}

static void on_raw(void *arg, int rc, const char *body, size_t len)
{
    *(int *)arg = rc == 0 ? 1 : rc;
}

/* Runs one get through a client on endpoints, with a deadline ms from now. */
static void get(const char *endpoints, const char *key, int prefix, int64_t deadline, got_t *g)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, endpoints, &(etcd_opts_t){.request_timeout_ms = 500});
    assert_non_null(cli);
    memset(g, 0, sizeof *g);
    assert_int_equal(etcd_get(cli, key, strlen(key), prefix, 0, clock_mono_ms() + deadline, on_get, g), 0);
    while (!g->done)
        uv_run(&loop, UV_RUN_ONCE);
    etcd_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void put_raw(const char *json)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, fx.url, NULL);
    int done = 0;
    assert_int_equal(etcd_call(cli, "/v3/kv/put", json, clock_mono_ms() + 3000, on_raw, &done), 0);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(done, 1);
    etcd_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int setup(void **state)
{
    if (etcd_fixture_missing())
        return 0;
    if (etcd_fixture_start(&fx))
        return -1;
    put_raw("{\"key\":\"L3AvYQ==\",\"value\":\"MQ==\"}"); /* /p/a */
    put_raw("{\"key\":\"L3AvYg==\",\"value\":\"Mg==\"}"); /* /p/b */
    put_raw("{\"key\":\"L3E=\",\"value\":\"Mw==\"}");     /* /q */
    return 0;
}

static int teardown(void **state)
{
    etcd_fixture_stop(&fx);
    return 0;
}

static void prefix_get_returns_only_the_prefix(void **state)
{
    if (etcd_fixture_missing())
        skip(); /* only when /usr/bin/etcd is not installed */
    got_t g;
    get(fx.url, "/p/", 1, 3000, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n_kvs, 2);
    assert_string_equal(g.first_key, "/p/a");
    get(fx.url, "/p/a", 0, 3000, &g);
    assert_int_equal(g.n_kvs, 1);
    get(fx.url, "/nothing", 0, 3000, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n_kvs, 0);
}

static void dead_first_endpoint_fails_over_to_the_second(void **state)
{
    if (etcd_fixture_missing())
        skip();
    char eps[160];
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d,%s", etcd_fixture_free_port(), fx.url);
    got_t g;
    get(eps, "/q", 0, 3000, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n_kvs, 1);
}

static void all_endpoints_dead_fails_within_the_deadline(void **state)
{
    if (etcd_fixture_missing())
        skip();
    char eps[160];
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d, http://127.0.0.1:%d", etcd_fixture_free_port(),
             etcd_fixture_free_port());
    got_t g;
    int64_t t0 = clock_mono_ms();
    get(eps, "/q", 0, 400, &g);
    int64_t took = clock_mono_ms() - t0;
    assert_int_equal(g.rc, ETCD_EUNAVAILABLE);
    assert_true(took <= 600);
}

typedef struct cas_s {
    int done, rc;
    char existing[64];
} cas_t;

static void on_cas(void *arg, int rc, etcd_range_t *existing)
{
    cas_t *c = arg;
    c->done = 1;
    c->rc = rc;
    if (existing) {
        if (existing->n_kvs)
            snprintf(c->existing, sizeof c->existing, "%.*s", (int)existing->kvs[0].value_len, existing->kvs[0].value);
        etcd_range_fini(existing);
    }
}

static void put_if_absent_creates_once_then_reports_the_holder(void **state)
{
    if (etcd_fixture_missing())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, fx.url, NULL);
    cas_t c1 = {0}, c2 = {0};
    assert_int_equal(etcd_put_if_absent(cli, "/cas", 4, "first", 5, 0, clock_mono_ms() + 3000, on_cas, &c1), 0);
    while (!c1.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(c1.rc, 0);
    assert_int_equal(etcd_put_if_absent(cli, "/cas", 4, "second", 6, 0, clock_mono_ms() + 3000, on_cas, &c2), 0);
    while (!c2.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(c2.rc, ETCD_ECOMPARE);
    assert_string_equal(c2.existing, "first");
    /* a lease that does not exist is its own error */
    int done = 0;
    assert_int_equal(etcd_put(cli, "/l", 2, "v", 1, 4242, clock_mono_ms() + 3000, on_raw, &done), 0);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(done, ETCD_ELEASE);
    etcd_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void put_and_prefix_delete(void **state)
{
    if (etcd_fixture_missing())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, fx.url, NULL);
    int done = 0;
    assert_int_equal(etcd_put(cli, "/d/x", 4, "1", 1, 0, clock_mono_ms() + 3000, on_raw, &done), 0);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(done, 1);
    got_t g;
    get(fx.url, "/d/", 1, 3000, &g);
    assert_int_equal(g.n_kvs, 1);
    done = 0;
    assert_int_equal(etcd_delete(cli, "/d/", 3, 1, clock_mono_ms() + 3000, on_raw, &done), 0);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(done, 1);
    get(fx.url, "/d/", 1, 3000, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n_kvs, 0);
    get(fx.url, "/p/", 1, 3000, &g); /* other keys untouched */
    assert_int_equal(g.n_kvs, 2);
    etcd_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void bad_endpoint_lists_are_refused(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    assert_null(etcd_client_new(&loop, "", NULL));
    assert_null(etcd_client_new(&loop, " , ,", NULL));
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_get_returns_only_the_prefix),
        cmocka_unit_test(dead_first_endpoint_fails_over_to_the_second),
        cmocka_unit_test(all_endpoints_dead_fails_within_the_deadline),
        cmocka_unit_test(put_if_absent_creates_once_then_reports_the_holder),
        cmocka_unit_test(put_and_prefix_delete),
        cmocka_unit_test(bad_endpoint_lists_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
