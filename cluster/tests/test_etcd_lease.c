/* cluster/etcd leases and keepalive against a real etcd (TTL 2 s, etcd's floor). */
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
static uv_loop_t loop;
static etcd_client_t *cli;

typedef struct wait_s {
    int done, rc;
    int64_t lease;
    size_t n_kvs;
} wait_t;

static void on_lease(void *arg, int rc, int64_t lease)
{
    wait_t *w = arg;
    w->done = 1;
    w->rc = rc;
    w->lease = lease;
}

static void on_raw(void *arg, int rc, const char *body, size_t len)
{
    wait_t *w = arg;
    w->done = 1;
    w->rc = rc;
}

static void on_get(void *arg, int rc, etcd_range_t *rng)
{
    wait_t *w = arg;
    w->done = 1;
    w->rc = rc;
    if (rc == 0) {
        w->n_kvs = rng->n_kvs;
        etcd_range_fini(rng);
    }
}

static void on_lost(void *arg, int rc)
{
    wait_t *w = arg;
    w->done = 1;
    w->rc = rc;
}

static void run_until(wait_t *w)
{
    while (!w->done)
        uv_run(&loop, UV_RUN_ONCE);
}

static void on_sleep(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop for ms (keepalives keep going meanwhile). */
static void run_for(int64_t ms)
{
    uv_timer_t t;
    int fired = 0;
    uv_timer_init(&loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_sleep, (uint64_t)ms, 0);
    while (!fired)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static int64_t grant(int64_t ttl, int64_t *sent)
{
    wait_t w = {0};
    *sent = clock_mono_ms();
    assert_int_equal(etcd_lease_grant(cli, ttl, *sent + 3000, on_lease, &w), 0);
    run_until(&w);
    assert_int_equal(w.rc, 0);
    return w.lease;
}

static size_t count(const char *key)
{
    wait_t w = {0};
    assert_int_equal(etcd_get(cli, key, strlen(key), 0, 0, clock_mono_ms() + 3000, on_get, &w), 0);
    run_until(&w);
    assert_int_equal(w.rc, 0);
    return w.n_kvs;
}

static void put(const char *key, int64_t lease)
{
    wait_t w = {0};
    assert_int_equal(etcd_put(cli, key, strlen(key), "v", 1, lease, clock_mono_ms() + 3000, on_raw, &w), 0);
    run_until(&w);
    assert_int_equal(w.rc, 0);
}

static int setup(void **state)
{
    if (etcd_fixture_missing())
        return 0;
    if (etcd_fixture_start(&fx))
        return -1;
    uv_loop_init(&loop);
    cli = etcd_client_new(&loop, fx.url, NULL);
    return cli ? 0 : -1;
}

static int teardown(void **state)
{
    if (cli) {
        etcd_client_free(cli);
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    etcd_fixture_stop(&fx);
    return 0;
}

static void keepalive_keeps_the_key_past_its_ttl_and_stopping_lets_it_expire(void **state)
{
    if (etcd_fixture_missing())
        skip(); /* only when /usr/bin/etcd is not installed */
    int64_t sent;
    int64_t lease = grant(2, &sent);
    put("/ka", lease);
    wait_t lost = {0};
    etcd_keepalive_t *ka = etcd_keepalive_start(cli, lease, 2, sent, 500, on_lost, &lost);
    assert_non_null(ka);
    run_for(3000);
    assert_false(lost.done);
    assert_int_equal(count("/ka"), 1);
    etcd_keepalive_stop(ka);
    int64_t t0 = clock_mono_ms();
    while (count("/ka") == 1 && clock_mono_ms() - t0 < 5000)
        run_for(200);
    assert_int_equal(count("/ka"), 0);
    assert_false(lost.done); /* a stopped keepalive reports nothing */
}

static void revoked_lease_is_reported_lost(void **state)
{
    if (etcd_fixture_missing())
        skip();
    int64_t sent;
    int64_t lease = grant(5, &sent);
    put("/rv", lease);
    wait_t lost = {0}, w = {0};
    etcd_keepalive_t *ka = etcd_keepalive_start(cli, lease, 5, sent, 200, on_lost, &lost);
    assert_int_equal(etcd_lease_revoke(cli, lease, clock_mono_ms() + 3000, on_raw, &w), 0);
    run_until(&w);
    assert_int_equal(w.rc, 0);
    assert_int_equal(count("/rv"), 0); /* revoke takes the lease's keys at once */
    run_until(&lost);
    assert_int_equal(lost.rc, ETCD_ELEASE);
    etcd_keepalive_stop(ka);
}

static void unreachable_etcd_reports_lost_no_later_than_the_ttl(void **state)
{
    if (etcd_fixture_missing())
        skip();
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", etcd_fixture_free_port());
    etcd_client_t *gone = etcd_client_new(&loop, dead, &(etcd_opts_t){.request_timeout_ms = 300});
    assert_non_null(gone);
    wait_t lost = {0};
    int64_t sent = clock_mono_ms();
    etcd_keepalive_t *ka = etcd_keepalive_start(gone, 99, 2, sent, 300, on_lost, &lost);
    run_until(&lost);
    int64_t took = clock_mono_ms() - sent;
    assert_int_equal(lost.rc, ETCD_EUNAVAILABLE);
    assert_true(took >= 1900 && took <= 2300);
    etcd_keepalive_stop(ka);
    run_for(500); /* its last renewal fails by the TTL deadline */
    etcd_client_free(gone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keepalive_keeps_the_key_past_its_ttl_and_stopping_lets_it_expire),
        cmocka_unit_test(revoked_lease_is_reported_lost),
        cmocka_unit_test(unreachable_etcd_reports_lost_no_later_than_the_ttl),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
