/*
 * cluster/member_list and cluster/controller against a real etcd: brokers
 * joining and leaving are reported with their registration; the controller
 * key goes to exactly one campaigner, and when its holder's lease goes,
 * another takes it with a higher epoch.
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

static void on_tick(uv_timer_t *t) {}

/* Runs the loop until cond() or 10 s. */
static int run_while(int (*cond)(void *), void *arg)
{
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    int64_t end = clock_mono_ms() + 10000;
    while (!cond(arg) && clock_mono_ms() < end) {
        uv_timer_start(&tick, on_tick, 20, 0);
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static int flag_set(void *arg)
{
    return *(int *)arg != 0;
}

typedef struct member_s {
    cluster_member_t *m;
    int joined, rc;
} member_t;

static void on_joined(void *arg, int rc, const char *why)
{
    member_t *mb = arg;
    mb->joined = 1;
    mb->rc = rc;
}

static void on_lost(void *arg, int rc) {}

static void join(member_t *mb, int32_t id, int port)
{
    cluster_member_opts_t o = {.prefix = "/mw",
                               .node_id = id,
                               .rack = "r1",
                               .host = "127.0.0.1",
                               .port = port,
                               .session_timeout_ms = 2000,
                               .heartbeat_ms = 300};
    memset(mb, 0, sizeof *mb);
    mb->m = cluster_member_join(cli, &o, on_joined, on_lost, mb);
    assert_non_null(mb->m);
    assert_true(run_while(flag_set, &mb->joined));
    assert_int_equal(mb->rc, 0);
}

typedef struct change_s {
    int joined;
    cluster_broker_t b;
} change_t;

typedef struct list_s {
    change_t ch[32];
    int n, error;
    int want;
} list_t;

static void on_change(void *arg, int joined, const cluster_broker_t *b)
{
    list_t *l = arg;
    if (l->n < 32)
        l->ch[l->n++] = (change_t){.joined = joined, .b = *b};
}

static void on_list_error(void *arg, int rc)
{
    ((list_t *)arg)->error = rc;
}

static int list_has(void *arg)
{
    list_t *l = arg;
    return l->n >= l->want;
}

static void broker_list_reports_joins_and_leaves(void **state)
{
    if (etcd_fixture_missing())
        skip();
    member_t b1, b2, b3;
    join(&b1, 1, 9101);
    join(&b2, 2, 9102);
    list_t l = {.want = 2};
    cluster_member_list_t *lw = cluster_member_list_watch(cli, "/mw", on_change, on_list_error, &l);
    assert_non_null(lw);
    assert_true(run_while(list_has, &l));
    assert_true(l.ch[0].joined && l.ch[1].joined);
    assert_int_equal(l.ch[0].b.node_id + l.ch[1].b.node_id, 3);
    join(&b3, 3, 9103);
    l.want = 3;
    assert_true(run_while(list_has, &l));
    assert_true(l.ch[2].joined);
    assert_int_equal(l.ch[2].b.node_id, 3);
    assert_int_equal(l.ch[2].b.port, 9103);
    assert_string_equal(l.ch[2].b.host, "127.0.0.1");
    assert_string_equal(l.ch[2].b.rack, "r1");
    cluster_member_leave(b2.m); /* revokes: the key goes at once */
    l.want = 4;
    assert_true(run_while(list_has, &l));
    assert_false(l.ch[3].joined);
    assert_int_equal(l.ch[3].b.node_id, 2);
    assert_int_equal(l.ch[3].b.port, 9102); /* the value it had */
    assert_int_equal(l.error, 0);
    cluster_member_list_stop(lw);
    cluster_member_leave(b1.m);
    cluster_member_leave(b3.m);
}

typedef struct cand_s {
    cluster_election_t *e;
    int calls, rc;
    int out; /* no longer a candidate: agree() skips it */
    int32_t controller;
    int64_t epoch;
} cand_t;

static void on_controller(void *arg, int rc, int32_t controller, int64_t epoch)
{
    cand_t *c = arg;
    c->calls++;
    c->rc = rc;
    c->controller = controller;
    c->epoch = epoch;
}

static cand_t *cands;

/* Every candidate still in names the same controller. */
static int agree(void *arg)
{
    int32_t not_this = *(int32_t *)arg, seen = -1;
    for (int i = 0; i < 3; i++) {
        if (cands[i].out)
            continue;
        if (cands[i].controller < 0 || cands[i].controller == not_this || (seen >= 0 && cands[i].controller != seen))
            return 0;
        seen = cands[i].controller;
    }
    return 1;
}

/* cands[pair[0]] names the same controller as cands[pair[1]]. */
static int same_as(void *arg)
{
    int *pair = arg;
    return cands[pair[0]].controller == cands[pair[1]].controller;
}

static void controller_goes_to_one_and_moves_when_its_lease_goes(void **state)
{
    if (etcd_fixture_missing())
        skip();
    member_t m[3];
    cand_t c[3] = {0};
    cands = c;
    for (int i = 0; i < 3; i++)
        join(&m[i], 11 + i, 9111 + i);
    for (int i = 0; i < 3; i++) {
        c[i].controller = -2;
        c[i].e = cluster_controller_campaign(cli, "/mw", 11 + i, cluster_member_lease(m[i].m), on_controller, &c[i]);
        assert_non_null(c[i].e);
    }
    int32_t none = -1;
    assert_true(run_while(agree, &none)); /* all name the same one */
    int32_t first = c[0].controller;
    int64_t epoch1 = c[0].epoch;
    assert_true(first >= 11 && first <= 13);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].rc, 0);
        assert_int_equal(c[i].epoch, epoch1);
        assert_int_equal(c[i].calls, 1); /* told once, not repeatedly */
    }
    /* the holder's lease goes (as when its session ends), its campaign
     * left running: etcd deletes the key, another takes over */
    int h = first - 11;
    cluster_member_leave(m[h].m);
    m[h].m = NULL;
    c[h].out = 1;
    assert_true(run_while(agree, &first));
    int o = (h + 1) % 3;
    assert_true(c[o].epoch > epoch1);
    assert_int_equal(c[o].epoch, c[(h + 2) % 3].epoch);
    /* the old holder, its lease gone, cannot win; it learns who did */
    int pair[2] = {h, o};
    assert_true(run_while(same_as, pair)); /* within its 500 ms retry */
    /* resigning the new holder hands it to the last one */
    int n = c[o].controller - 11;
    int last = 3 - h - n;
    int32_t second = c[o].controller;
    cluster_controller_resign(c[n].e);
    c[n].e = NULL;
    c[n].out = 1;
    assert_true(run_while(agree, &second));
    assert_int_equal(c[last].controller, 11 + last);
    for (int i = 0; i < 3; i++) {
        if (c[i].e)
            cluster_controller_resign(c[i].e);
        if (m[i].m)
            cluster_member_leave(m[i].m);
    }
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
        uv_timer_t t;
        uv_timer_init(&loop, &t);
        int64_t end = clock_mono_ms() + 300; /* let revokes finish */
        while (clock_mono_ms() < end) {
            uv_timer_start(&t, on_tick, 20, 0);
            uv_run(&loop, UV_RUN_ONCE);
        }
        uv_close((uv_handle_t *)&t, NULL);
        etcd_client_free(cli);
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    etcd_fixture_stop(&fx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(broker_list_reports_joins_and_leaves),
        cmocka_unit_test(controller_goes_to_one_and_moves_when_its_lease_goes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
