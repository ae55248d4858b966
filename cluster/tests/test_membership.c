/*
 * cluster/membership against a real etcd: a broker joins under a lease and
 * its key carries its listener; a second broker with the same node id is
 * refused and told who holds it; once the first leaves (lease revoked) the
 * id is free again; a member whose etcd goes away is told it lost its
 * lease within the session timeout; the key goes with the lease.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "cluster/etcd.h"
#include "cluster/membership.h"
#include "etcd_fixture.h"

static etcd_fixture_t fx;
static uv_loop_t loop;
static etcd_client_t *cli;

typedef struct wait_s {
    int done, rc, lost, lost_rc;
    char why[512];
    size_t n_kvs;
    char value[512];
} wait_t;

static void on_joined(void *arg, int rc, const char *why)
{
    wait_t *w = arg;
    w->done = 1;
    w->rc = rc;
    snprintf(w->why, sizeof(w->why), "%s", why);
}

static void on_lost(void *arg, int rc)
{
    wait_t *w = arg;
    w->lost = 1;
    w->lost_rc = rc;
}

static void on_get(void *arg, int rc, etcd_range_t *rng)
{
    wait_t *w = arg;
    w->done = 1;
    w->rc = rc;
    if (rc == 0) {
        w->n_kvs = rng->n_kvs;
        if (rng->n_kvs)
            snprintf(w->value, sizeof(w->value), "%.*s", (int)rng->kvs[0].value_len, rng->kvs[0].value);
        etcd_range_fini(rng);
    }
}

static void on_sleep(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

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

static void run_until(int *flag)
{
    int64_t t0 = clock_mono_ms();
    while (!*flag && clock_mono_ms() - t0 < 10000)
        uv_run(&loop, UV_RUN_ONCE);
    assert_true(*flag);
}

static wait_t get_key(const char *key)
{
    wait_t w = {0};
    assert_int_equal(etcd_get(cli, key, strlen(key), 0, 0, clock_mono_ms() + 3000, on_get, &w), 0);
    run_until(&w.done);
    assert_int_equal(w.rc, 0);
    return w;
}

static cluster_member_opts_t opts(int32_t id, int port)
{
    return (cluster_member_opts_t){.prefix = "/test",
                                   .node_id = id,
                                   .rack = "r1",
                                   .host = "127.0.0.1",
                                   .port = port,
                                   .session_timeout_ms = 2000,
                                   .heartbeat_ms = 300};
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
        run_for(300); /* let revokes finish */
        etcd_client_free(cli);
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    etcd_fixture_stop(&fx);
    return 0;
}

static void duplicate_node_id_is_refused_until_the_holder_leaves(void **state)
{
    if (etcd_fixture_missing())
        skip(); /* only when /usr/bin/etcd is not installed */
    wait_t a = {0};
    cluster_member_opts_t oa = opts(1, 9092);
    cluster_member_t *ma = cluster_member_join(cli, &oa, on_joined, on_lost, &a);
    assert_non_null(ma);
    run_until(&a.done);
    assert_int_equal(a.rc, 0);
    assert_true(cluster_member_lease(ma) != 0);
    wait_t k = get_key("/test/brokers/1");
    assert_int_equal(k.n_kvs, 1);
    assert_non_null(strstr(k.value, "host=127.0.0.1\nport=9092\n"));
    assert_non_null(strstr(k.value, "rack=r1\n"));

    wait_t b = {0};
    cluster_member_opts_t ob = opts(1, 9093);
    cluster_member_t *mb = cluster_member_join(cli, &ob, on_joined, on_lost, &b);
    run_until(&b.done);
    assert_int_equal(b.rc, ETCD_ECOMPARE);
    assert_non_null(strstr(b.why, "/test/brokers/1 is already registered by 127.0.0.1:9092"));
    cluster_member_leave(mb);

    /* The first stays a member past its TTL (renewals), then leaves: the id is free at once. */
    run_for(2500);
    assert_false(a.lost);
    assert_int_equal(get_key("/test/brokers/1").n_kvs, 1);
    cluster_member_leave(ma);
    run_for(300);
    assert_int_equal(get_key("/test/brokers/1").n_kvs, 0);
    wait_t c = {0};
    cluster_member_t *mc = cluster_member_join(cli, &ob, on_joined, on_lost, &c);
    run_until(&c.done);
    assert_int_equal(c.rc, 0);
    assert_non_null(strstr(get_key("/test/brokers/1").value, "port=9093\n"));
    cluster_member_leave(mc);
}

static void etcd_gone_means_lost_within_the_session_timeout(void **state)
{
    if (etcd_fixture_missing())
        skip();
    wait_t a = {0};
    cluster_member_opts_t oa = opts(7, 9094);
    cluster_member_t *m = cluster_member_join(cli, &oa, on_joined, on_lost, &a);
    run_until(&a.done);
    assert_int_equal(a.rc, 0);
    etcd_fixture_kill(&fx);
    int64_t t0 = clock_mono_ms();
    run_until(&a.lost);
    assert_int_equal(a.lost_rc, ETCD_EUNAVAILABLE);
    assert_true(clock_mono_ms() - t0 <= 2300);
    cluster_member_leave(m);
    /* etcd back on the same data: the lease has expired there too, so the key is gone. */
    assert_int_equal(etcd_fixture_start(&fx), 0);
    int64_t t1 = clock_mono_ms();
    while (get_key("/test/brokers/7").n_kvs != 0 && clock_mono_ms() - t1 < 6000)
        run_for(200);
    assert_int_equal(get_key("/test/brokers/7").n_kvs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicate_node_id_is_refused_until_the_holder_leaves),
        cmocka_unit_test(etcd_gone_means_lost_within_the_session_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
