/* cluster/etcd_watch: order, replay, resume across an etcd restart, stop. */
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

#define MAX_EVENTS 64

typedef struct seen_s {
    int rc, final, created;
    int n;
    int64_t progress;
    etcd_event_type_t type[MAX_EVENTS];
    char key[MAX_EVENTS][32];
    char value[MAX_EVENTS][32];
    int64_t rev[MAX_EVENTS];
    int stop_after; /* stop the watch from inside the callback at this count */
    etcd_watch_t *w;
    int calls_after_stop;
    int stopped;
} seen_t;

static void on_watch(void *arg, int rc, const etcd_event_t *evs, size_t n, int64_t revision)
{
    seen_t *s = arg;
    if (s->stopped) {
        s->calls_after_stop++;
        return;
    }
    if (rc) {
        s->rc = rc;
        s->final = 1;
        return;
    }
    if (!n)
        s->created++;
    s->progress = revision;
    for (size_t i = 0; i < n && s->n < MAX_EVENTS; i++, s->n++) {
        s->type[s->n] = evs[i].type;
        snprintf(s->key[s->n], sizeof s->key[0], "%.*s", (int)evs[i].kv.key_len, evs[i].kv.key);
        snprintf(s->value[s->n], sizeof s->value[0], "%.*s", (int)evs[i].kv.value_len, evs[i].kv.value);
        s->rev[s->n] = evs[i].kv.mod_revision;
    }
    if (s->stop_after && s->n >= s->stop_after) {
        etcd_watch_stop(s->w);
        s->stopped = 1;
    }
}

static void on_tick(uv_timer_t *t) {}

/* Runs loop until *flag >= want or timeout_ms passes. */
static void run_until(uv_loop_t *loop, int *flag, int want, int64_t timeout_ms)
{
    int64_t end = clock_mono_ms() + timeout_ms;
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    while (*flag < want && clock_mono_ms() < end) {
        uv_timer_start(&tick, on_tick, 20, 0); /* so run_once returns */
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

typedef struct put_s {
    int done, rc;
    int64_t revision;
} put_t;

static void on_put(void *arg, int rc, const char *body, size_t len)
{
    put_t *p = arg;
    p->done = 1;
    p->rc = rc;
    etcd_range_t r;
    if (rc == 0 && etcd_json_parse_range(body, len, &r) == 0) {
        p->revision = r.revision;
        etcd_range_fini(&r);
    }
}

/* A put or delete through cli on loop, run to completion; its revision. */
static int64_t write_kv(uv_loop_t *loop, etcd_client_t *cli, const char *key, const char *value)
{
    put_t p = {0};
    if (value)
        assert_int_equal(etcd_put(cli, key, strlen(key), value, strlen(value), 0, clock_mono_ms() + 5000, on_put, &p),
                         0);
    else
        assert_int_equal(etcd_delete(cli, key, strlen(key), 0, clock_mono_ms() + 5000, on_put, &p), 0);
    run_until(loop, &p.done, 1, 6000);
    assert_int_equal(p.rc, 0);
    assert_true(p.revision > 0);
    return p.revision;
}

static void loop_free(uv_loop_t *loop, etcd_client_t *cli)
{
    etcd_client_free(cli);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static int setup(void **state)
{
    if (etcd_fixture_missing())
        return 0;
    return etcd_fixture_start(&fx) ? -1 : 0;
}

static int teardown(void **state)
{
    etcd_fixture_stop(&fx);
    return 0;
}

static int64_t first_rev; /* of the first put below, for the replay test */

static void puts_and_deletes_arrive_in_order(void **state)
{
    if (etcd_fixture_missing())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, fx.url, NULL);
    seen_t s = {0};
    s.w = etcd_watch_start(cli, "/w/", 3, 1, 0, on_watch, &s);
    assert_non_null(s.w);
    run_until(&loop, &s.created, 1, 5000);
    assert_int_equal(s.created, 1);
    int64_t r1 = write_kv(&loop, cli, "/w/a", "1");
    int64_t r2 = write_kv(&loop, cli, "/w/b", "2");
    write_kv(&loop, cli, "/x", "outside"); /* not under the prefix */
    int64_t r3 = write_kv(&loop, cli, "/w/a", NULL);
    int64_t r4 = write_kv(&loop, cli, "/w/b", "3");
    first_rev = r1;
    run_until(&loop, &s.n, 4, 5000);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.final, 0);
    assert_int_equal(s.type[0], ETCD_EVENT_PUT);
    assert_string_equal(s.key[0], "/w/a");
    assert_string_equal(s.value[0], "1");
    assert_int_equal(s.rev[0], r1);
    assert_string_equal(s.key[1], "/w/b");
    assert_int_equal(s.rev[1], r2);
    assert_int_equal(s.type[2], ETCD_EVENT_DELETE);
    assert_string_equal(s.key[2], "/w/a");
    assert_int_equal(s.rev[2], r3);
    assert_int_equal(s.type[3], ETCD_EVENT_PUT);
    assert_string_equal(s.value[3], "3");
    assert_int_equal(s.rev[3], r4);
    assert_true(s.progress >= r4);
    etcd_watch_stop(s.w);
    loop_free(&loop, cli);
}

static void start_revision_replays_history(void **state)
{
    if (etcd_fixture_missing())
        skip();
    assert_true(first_rev > 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, fx.url, NULL);
    seen_t s = {0};
    s.w = etcd_watch_start(cli, "/w/", 3, 1, first_rev + 1, on_watch, &s); /* all but the first */
    run_until(&loop, &s.n, 3, 5000);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.key[0], "/w/b");
    assert_int_equal(s.type[1], ETCD_EVENT_DELETE);
    assert_string_equal(s.value[2], "3");
    etcd_watch_stop(s.w);
    /* a single key, not a prefix: only /x */
    seen_t x = {0};
    x.w = etcd_watch_start(cli, "/x", 2, 0, first_rev, on_watch, &x);
    run_until(&loop, &x.n, 1, 5000);
    run_until(&loop, &x.n, 2, 300); /* nothing more may come */
    assert_int_equal(x.n, 1);
    assert_string_equal(x.value[0], "outside");
    etcd_watch_stop(x.w);
    loop_free(&loop, cli);
}

static void resumes_after_etcd_restart_exactly_once(void **state)
{
    if (etcd_fixture_missing())
        skip();
    uv_loop_t loop, wloop;
    uv_loop_init(&loop);
    uv_loop_init(&wloop);
    etcd_client_t *cli = etcd_client_new(&loop, fx.url, NULL);
    etcd_client_t *writer = etcd_client_new(&wloop, fx.url, NULL); /* writes while the watch's loop stands */
    seen_t s = {0};
    s.w = etcd_watch_start(cli, "/r/", 3, 1, 0, on_watch, &s);
    run_until(&loop, &s.created, 1, 5000);
    char key[16], val[16];
    int k = 0;
    int64_t revs[20];
    for (; k < 5; k++) { /* seen before the kill */
        snprintf(key, sizeof key, "/r/%02d", k);
        snprintf(val, sizeof val, "v%d", k);
        revs[k] = write_kv(&wloop, writer, key, val);
    }
    run_until(&loop, &s.n, 5, 5000);
    assert_int_equal(s.n, 5);
    for (; k < 8; k++) { /* written, maybe never streamed: etcd dies at once */
        snprintf(key, sizeof key, "/r/%02d", k);
        snprintf(val, sizeof val, "v%d", k);
        revs[k] = write_kv(&wloop, writer, key, val);
    }
    etcd_fixture_kill(&fx);
    run_until(&loop, &s.n, 100, 300); /* the watch sees the break, backs off */
    assert_int_equal(etcd_fixture_start(&fx), 0);
    for (; k < 12; k++) { /* while the watch is disconnected */
        snprintf(key, sizeof key, "/r/%02d", k);
        snprintf(val, sizeof val, "v%d", k);
        revs[k] = write_kv(&wloop, writer, key, val);
    }
    run_until(&loop, &s.n, 12, 10000);
    for (; k < 16; k++) { /* after it resumed */
        snprintf(key, sizeof key, "/r/%02d", k);
        snprintf(val, sizeof val, "v%d", k);
        revs[k] = write_kv(&wloop, writer, key, val);
    }
    run_until(&loop, &s.n, 16, 10000);
    run_until(&loop, &s.n, 17, 300); /* no repeats trickle in */
    assert_int_equal(s.final, 0);
    assert_int_equal(s.n, 16);
    assert_true(s.created >= 2); /* it did re-create the watch */
    for (int i = 0; i < 16; i++) {
        snprintf(key, sizeof key, "/r/%02d", i);
        assert_string_equal(s.key[i], key);
        assert_int_equal(s.rev[i], revs[i]);
    }
    etcd_watch_stop(s.w);
    loop_free(&wloop, writer);
    loop_free(&loop, cli);
}

static void stop_inside_callback_and_while_retrying_is_clean(void **state)
{
    if (etcd_fixture_missing())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, fx.url, NULL);
    seen_t s = {.stop_after = 1};
    s.w = etcd_watch_start(cli, "/s/", 3, 1, 0, on_watch, &s);
    run_until(&loop, &s.created, 1, 5000);
    write_kv(&loop, cli, "/s/0", "x");
    write_kv(&loop, cli, "/s/1", "y");
    run_until(&loop, &s.stopped, 1, 5000);
    assert_int_equal(s.stopped, 1);
    run_until(&loop, &s.calls_after_stop, 1, 300);
    assert_int_equal(s.calls_after_stop, 0);

    /* stopped from outside while its stream is open */
    seen_t o = {0};
    o.w = etcd_watch_start(cli, "/s/", 3, 1, 0, on_watch, &o);
    run_until(&loop, &o.created, 1, 5000);
    etcd_watch_stop(o.w);
    /* and stopped while it backs off against a dead endpoint */
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", etcd_fixture_free_port());
    etcd_client_t *nobody = etcd_client_new(&loop, dead, NULL);
    seen_t d = {0};
    d.w = etcd_watch_start(nobody, "/s/", 3, 1, 0, on_watch, &d);
    run_until(&loop, &d.created, 1, 300);
    assert_int_equal(d.created, 0);
    etcd_watch_stop(d.w);
    etcd_client_free(nobody);
    loop_free(&loop, cli);
}

static void on_raw(void *arg, int rc, const char *body, size_t len)
{
    *(int *)arg = rc == 0 ? 1 : rc;
}

/* A watch from a compacted revision is told so, once, and ends. */
static void compacted_start_revision_is_reported(void **state)
{
    if (etcd_fixture_missing())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, fx.url, NULL);
    write_kv(&loop, cli, "/k/a", "1");
    int64_t rev = write_kv(&loop, cli, "/k/a", "2");
    char json[64];
    snprintf(json, sizeof json, "{\"revision\":\"%lld\",\"physical\":true}", (long long)rev);
    int done = 0;
    assert_int_equal(etcd_call(cli, "/v3/kv/compaction", json, clock_mono_ms() + 5000, on_raw, &done), 0);
    run_until(&loop, &done, 1, 6000);
    assert_int_equal(done, 1);
    seen_t s = {0};
    s.w = etcd_watch_start(cli, "/k/", 3, 1, rev - 1, on_watch, &s);
    run_until(&loop, &s.final, 1, 5000);
    assert_int_equal(s.rc, ETCD_ECOMPACTED);
    assert_int_equal(s.n, 0);
    etcd_watch_stop(s.w);
    /* from the compaction revision on it works: the current value */
    seen_t ok = {0};
    ok.w = etcd_watch_start(cli, "/k/", 3, 1, rev, on_watch, &ok);
    run_until(&loop, &ok.n, 1, 5000);
    assert_int_equal(ok.final, 0);
    assert_string_equal(ok.value[0], "2");
    etcd_watch_stop(ok.w);
    loop_free(&loop, cli);
}

/* A dead first endpoint: the watch moves on to the live one. */
static void watch_fails_over_to_the_next_endpoint(void **state)
{
    if (etcd_fixture_missing())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    char eps[160];
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d,%s", etcd_fixture_free_port(), fx.url);
    etcd_client_t *cli = etcd_client_new(&loop, eps, NULL);
    seen_t s = {0};
    s.w = etcd_watch_start(cli, "/f/", 3, 1, 0, on_watch, &s);
    run_until(&loop, &s.created, 1, 5000);
    assert_int_equal(s.created, 1);
    int64_t rev = write_kv(&loop, cli, "/f/a", "1");
    run_until(&loop, &s.n, 1, 5000);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.rev[0], rev);
    etcd_watch_stop(s.w);
    loop_free(&loop, cli);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(puts_and_deletes_arrive_in_order),
        cmocka_unit_test(start_revision_replays_history),
        cmocka_unit_test(resumes_after_etcd_restart_exactly_once),
        cmocka_unit_test(stop_inside_callback_and_while_retrying_is_clean),
        cmocka_unit_test(compacted_start_revision_is_reported),
        cmocka_unit_test(watch_fails_over_to_the_next_endpoint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
