/*
 * client/: the outbound client against an in-process fake broker on the
 * same loop: ApiVersions fallback and version choice, in-order correlation,
 * faulty frames, lost connections, reconnect backoff, timeouts, the
 * in-flight limit, the metadata cache and cancellation on close. Every test
 * ends by closing the loop, so a handle or request left behind fails it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/client.h"
#include "client/internal.h"
#include "client/tests/fake_kafka.h"

typedef struct result_s {
    int calls;
    int status;
    int16_t version;
    int32_t node_id;
    int32_t controller_id;
    int ntopics;
} result_t;

typedef struct env_s {
    uv_loop_t loop;
    fake_t fs;
    kcl_client_t *cl;
    kcl_config_t cfg;
    char bootstrap[64];
    uv_timer_t guard;
    int closed;
} env_t;

static void on_guard(uv_timer_t *t)
{
    (void)t;
}

static void env_init(env_t *env)
{
    memset(env, 0, sizeof(*env));
    assert_int_equal(uv_loop_init(&env->loop), 0);
    assert_int_equal(fake_start(&env->fs, &env->loop, 0), 0);
    snprintf(env->bootstrap, sizeof(env->bootstrap), "127.0.0.1:%d", env->fs.port);
    kcl_config_init(&env->cfg);
    env->cfg.bootstrap = env->bootstrap;
    env->cfg.request_timeout_ms = 2000;
    env->cfg.reconnect_backoff_ms = 10;
    env->cfg.reconnect_backoff_max_ms = 100;
    env->cfg.retry_backoff_ms = 10;
    uv_timer_init(&env->loop, &env->guard);
}

static void env_client(env_t *env)
{
    assert_int_equal(kcl_client_new(&env->loop, &env->cfg, &env->cl), 0);
}

/* Runs the loop until *flag is non-zero or ms pass; returns the flag. */
static int run_until(env_t *env, const int *flag, int ms)
{
    uint64_t deadline = uv_now(&env->loop) + (uint64_t)ms;
    uv_timer_start(&env->guard, on_guard, 5, 5);
    while (!*flag && uv_now(&env->loop) < deadline)
        uv_run(&env->loop, UV_RUN_ONCE);
    uv_timer_stop(&env->guard);
    return *flag;
}

static void on_closed(void *arg)
{
    ((env_t *)arg)->closed++;
}

static void env_fini(env_t *env)
{
    if (env->cl)
        kcl_client_close(env->cl, on_closed, env);
    fake_stop(&env->fs);
    uv_close((uv_handle_t *)&env->guard, NULL);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    if (env->cl)
        assert_int_equal(env->closed, 1);
    assert_int_equal(env->fs.open_handles, 0);
    assert_int_equal(uv_loop_close(&env->loop), 0);
}

static void on_response(void *arg, const kcl_response_t *resp)
{
    result_t *r = arg;
    r->calls++;
    r->status = resp->status;
    r->version = resp->version;
    r->node_id = resp->node_id;
    if (resp->status == KCL_OK) {
        const proto_metadata_resp_t *md = resp->body;
        r->controller_id = md->controller_id;
        r->ntopics = md->topics.n;
    } else {
        assert_non_null(resp->error);
        assert_null(resp->body);
    }
}

static proto_metadata_req_t metadata_body;

static void submit_metadata(env_t *env, result_t *r, int16_t cap, int retries, int timeout_ms)
{
    proto_msg_init(&proto_metadata_req_desc, 12, &metadata_body);
    metadata_body.topics.n = -1;
    kcl_request_t req;
    kcl_request_init(&req, PROTO_API_METADATA, &metadata_body, on_response, r);
    req.max_version = cap;
    req.retries = retries;
    req.timeout_ms = timeout_ms;
    assert_int_equal(kcl_request_submit(env->cl, &req), 0);
}

static void api_versions_falls_back_to_v0_and_versions_are_negotiated(void **state)
{
    env_t env;
    env_init(&env);
    env.fs.api_versions_max = 0; /* an old broker: ApiVersions v3 is refused in the v0 layout */
    env.fs.metadata_max = 5;
    env_client(&env);
    result_t r = {0};
    submit_metadata(&env, &r, -1, 0, 0);
    assert_true(run_until(&env, &r.calls, 2000));
    assert_int_equal(r.status, KCL_OK);
    assert_int_equal(env.fs.napi_versions_seen, 2);
    assert_int_equal(env.fs.api_versions_seen[0], 3);
    assert_int_equal(env.fs.api_versions_seen[1], 0);
    assert_int_equal(r.version, 5); /* the broker's max, below our codec's */
    assert_int_equal(env.fs.versions[PROTO_API_METADATA], 5);
    assert_int_equal(r.controller_id, 2);
    assert_int_equal(r.ntopics, 1);
    assert_int_equal(kcl_api_version(env.cl, r.node_id, PROTO_API_METADATA), 5);

    /* a caller's cap wins when lower */
    result_t r2 = {0};
    submit_metadata(&env, &r2, 2, 0, 0);
    assert_true(run_until(&env, &r2.calls, 2000));
    assert_int_equal(r2.status, KCL_OK);
    assert_int_equal(r2.version, 2);
    assert_int_equal(env.fs.versions[PROTO_API_METADATA], 2);
    assert_int_equal(env.fs.nconns, 1); /* one connection served both */
    env_fini(&env);
}

static void highest_common_version_is_used(void **state)
{
    env_t env;
    env_init(&env);
    env.fs.metadata_max = 99; /* a newer broker: our codec's max is used */
    env_client(&env);
    result_t r = {0};
    submit_metadata(&env, &r, -1, 0, 0);
    assert_true(run_until(&env, &r.calls, 2000));
    assert_int_equal(r.status, KCL_OK);
    assert_int_equal(env.fs.napi_versions_seen, 1);
    assert_int_equal(env.fs.api_versions_seen[0], 3);
    assert_int_equal(r.version, proto_api_find(PROTO_API_METADATA)->max_version);
    env_fini(&env);
}

static void many_requests_are_matched_in_order(void **state)
{
    env_t env;
    env_init(&env);
    env_client(&env);
    result_t r[20] = {{0}};
    for (int i = 0; i < 20; i++)
        submit_metadata(&env, &r[i], -1, 0, 0);
    int done = 0;
    uint64_t deadline = uv_now(&env.loop) + 3000;
    while (done < 20 && uv_now(&env.loop) < deadline) {
        int one = 0;
        run_until(&env, &one, 10);
        done = 0;
        for (int i = 0; i < 20; i++)
            done += r[i].calls;
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].status, KCL_OK);
    }
    assert_int_equal(env.fs.nconns, 1);
    assert_int_equal(env.fs.requests[PROTO_API_METADATA], 20);
    env_fini(&env);
}

static void wrong_correlation_id_closes_and_retries(void **state)
{
    env_t env;
    env_init(&env);
    env.fs.wrong_cid = 1;
    env_client(&env);
    result_t r = {0};
    submit_metadata(&env, &r, -1, 3, 0);
    assert_true(run_until(&env, &r.calls, 3000));
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, KCL_OK);
    assert_int_equal(env.fs.nconns, 2); /* the first connection was dropped */
    assert_int_equal(env.fs.requests[PROTO_API_METADATA], 2);

    /* without retries, the same fault fails the request as a lost connection */
    env.fs.wrong_cid = 1;
    result_t r2 = {0};
    submit_metadata(&env, &r2, -1, 0, 0);
    assert_true(run_until(&env, &r2.calls, 3000));
    assert_int_equal(r2.status, KCL_ECONN);
    env_fini(&env);
}

static void garbage_oversized_and_truncated_frames_fail_the_request(void **state)
{
    env_t env;
    env_init(&env);
    env.cfg.max_response_bytes = 1 << 20;
    env_client(&env);

    env.fs.garbage = 1; /* frame size 2: shorter than a correlation id */
    result_t r1 = {0};
    submit_metadata(&env, &r1, -1, 3, 0);
    assert_true(run_until(&env, &r1.calls, 3000));
    assert_int_equal(r1.status, KCL_EMALFORMED);

    env.fs.oversize = 1; /* 256 MiB announced, 1 MiB allowed */
    result_t r2 = {0};
    submit_metadata(&env, &r2, -1, 3, 0);
    assert_true(run_until(&env, &r2.calls, 3000));
    assert_int_equal(r2.status, KCL_ETOOLARGE);
    assert_true(env.cl->conns.next != &env.cl->conns);
    kcl_conn_t *conn = list_entry(env.cl->conns.next, kcl_conn_t, link);
    assert_true(conn->in.cap < (1u << 21)); /* nothing like the announced size was allocated */

    env.fs.truncated = 1; /* a whole frame whose body ends early */
    result_t r3 = {0};
    submit_metadata(&env, &r3, -1, 3, 0);
    assert_true(run_until(&env, &r3.calls, 3000));
    assert_int_equal(r3.status, KCL_EMALFORMED);

    /* each fault closed its connection; the client reconnects and works */
    result_t r4 = {0};
    submit_metadata(&env, &r4, -1, 0, 0);
    assert_true(run_until(&env, &r4.calls, 3000));
    assert_int_equal(r4.status, KCL_OK);
    assert_int_equal(env.fs.nconns, 4);
    env_fini(&env);
}

static void random_response_bodies_never_crash(void **state)
{
    env_t env;
    env_init(&env);
    env_client(&env);
    env.fs.seed = 12345;
    int malformed = 0, ok = 0;
    for (int i = 0; i < 200; i++) {
        env.fs.random_body = 1;
        result_t r = {0};
        submit_metadata(&env, &r, (int16_t)(i % 13), 0, 0);
        assert_true(run_until(&env, &r.calls, 3000));
        assert_int_equal(r.calls, 1);
        if (r.status == KCL_EMALFORMED)
            malformed++;
        else if (r.status == KCL_OK)
            ok++;
        else
            fail_msg("iteration %d: status %d (%s)", i, r.status, kcl_strerror(r.status));
    }
    assert_true(malformed > 100); /* most random bodies do not decode, and each closed its connection */
    assert_true(env.fs.nconns >= malformed && env.fs.nconns <= malformed + 1);
    (void)ok;
    env_fini(&env);
}

static void server_closing_mid_response_is_retried(void **state)
{
    env_t env;
    env_init(&env);
    env_client(&env);
    env.fs.close_mid = 1;
    result_t r = {0};
    submit_metadata(&env, &r, -1, 2, 0);
    assert_true(run_until(&env, &r.calls, 3000));
    assert_int_equal(r.status, KCL_OK);
    assert_int_equal(env.fs.nconns, 2);

    env.fs.close_mid = 1;
    result_t r2 = {0};
    submit_metadata(&env, &r2, -1, 0, 0);
    assert_true(run_until(&env, &r2.calls, 3000));
    assert_int_equal(r2.status, KCL_ECONN);
    env_fini(&env);
}

static void start_fake(uv_timer_t *t)
{
    env_t *env = t->data;
    int port = env->fs.port;
    assert_int_equal(fake_start(&env->fs, &env->loop, port), 0);
}

static void refused_connect_backs_off_then_succeeds(void **state)
{
    env_t env;
    env_init(&env);
    int port = env.fs.port;
    fake_stop(&env.fs); /* nothing listens on the port now */
    int none = 0;
    run_until(&env, &none, 20);
    env.cfg.reconnect_backoff_ms = 20;
    env.cfg.reconnect_backoff_max_ms = 80;
    env_client(&env);
    result_t r = {0};
    submit_metadata(&env, &r, -1, 0, 5000);
    /* refused for a while: the request waits, the connection backs off */
    run_until(&env, &r.calls, 300);
    assert_int_equal(r.calls, 0);
    kcl_conn_t *conn = list_entry(env.cl->conns.next, kcl_conn_t, link);
    assert_true(conn->failures >= 3);  /* 20 + 40 + 80 ms... within 300 ms */
    assert_true(conn->failures <= 10); /* and not a busy loop */
    env.fs.port = port;
    uv_timer_t later;
    uv_timer_init(&env.loop, &later);
    later.data = &env;
    uv_timer_start(&later, start_fake, 1, 0);
    assert_true(run_until(&env, &r.calls, 3000));
    assert_int_equal(r.status, KCL_OK);
    assert_int_equal(conn->failures, 0);
    uv_close((uv_handle_t *)&later, NULL);
    env_fini(&env);
}

static void unanswered_request_times_out(void **state)
{
    env_t env;
    env_init(&env);
    env_client(&env);
    env.fs.silent = 1;
    result_t r = {0};
    uint64_t t0 = uv_now(&env.loop);
    submit_metadata(&env, &r, -1, 0, 150);
    assert_true(run_until(&env, &r.calls, 3000));
    uint64_t took = uv_now(&env.loop) - t0;
    assert_int_equal(r.status, KCL_ETIMEDOUT);
    assert_true(took >= 150);
    assert_true(took < 1500);
    int none = 0;
    run_until(&env, &none, 50);
    assert_int_equal(env.fs.nclosed, 1); /* a timed-out connection is closed (answers are in order) */

    /* with a retry the second attempt is answered */
    env.fs.silent = 1;
    result_t r2 = {0};
    submit_metadata(&env, &r2, -1, 1, 150);
    assert_true(run_until(&env, &r2.calls, 3000));
    assert_int_equal(r2.status, KCL_OK);
    env_fini(&env);
}

static void in_flight_requests_are_limited_per_connection(void **state)
{
    env_t env;
    env_init(&env);
    env.cfg.max_in_flight = 3;
    env_client(&env);
    env.fs.hold = true;
    result_t r[8] = {{0}};
    for (int i = 0; i < 8; i++)
        submit_metadata(&env, &r[i], -1, 0, 0);
    int none = 0;
    run_until(&env, &none, 200);
    assert_int_equal(env.fs.requests[PROTO_API_METADATA], 3);
    for (int i = 0; i < 8; i++)
        assert_int_equal(r[i].calls, 0);
    fake_release(&env.fs);
    int done = 0;
    uint64_t deadline = uv_now(&env.loop) + 3000;
    while (done < 8 && uv_now(&env.loop) < deadline) {
        run_until(&env, &none, 10);
        done = 0;
        for (int i = 0; i < 8; i++)
            done += r[i].calls;
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(r[i].status, KCL_OK);
    assert_int_equal(env.fs.max_held, 3);
    assert_int_equal(env.fs.requests[PROTO_API_METADATA], 8);
    env_fini(&env);
}

static void on_meta(void *arg, int status)
{
    result_t *r = arg;
    r->calls++;
    r->status = status;
}

static void metadata_cache_holds_the_cluster_and_refreshes_on_not_leader(void **state)
{
    env_t env;
    env_init(&env);
    env_client(&env);
    result_t r = {0};
    assert_int_equal(kcl_metadata_refresh(env.cl, NULL, -1, on_meta, &r), 0);
    assert_true(run_until(&env, &r.calls, 3000));
    assert_int_equal(r.status, KCL_OK);
    const kcl_metadata_t *md = kcl_metadata(env.cl);
    assert_int_equal(md->nbrokers, 2);
    assert_int_equal(md->controller_id, 2);
    assert_string_equal(md->cluster_id, "fake-cluster");
    const kcl_broker_t *b = kcl_metadata_broker(env.cl, 1);
    assert_non_null(b);
    assert_string_equal(b->host, "127.0.0.1");
    assert_int_equal(b->port, env.fs.port);
    assert_string_equal(b->rack, "rack-a");
    assert_null(kcl_metadata_broker(env.cl, 2)->rack);
    const kcl_topic_t *t = kcl_metadata_topic(env.cl, "events");
    assert_non_null(t);
    assert_int_equal(t->topic_id.b[0], 0xab);
    assert_int_equal(t->npartitions, 2);
    assert_int_equal(t->partitions[0].partition, 0);
    assert_int_equal(t->partitions[0].nreplicas, 2);
    assert_int_equal(t->partitions[0].replicas[1], 2);
    assert_int_equal(t->partitions[0].nisr, 1);
    assert_int_equal(t->partitions[0].isr[0], 1);
    int32_t leader = -1, epoch = -1;
    assert_int_equal(kcl_metadata_leader(env.cl, "events", 0, &leader, &epoch), 0);
    assert_int_equal(leader, 1);
    assert_int_equal(epoch, 7);
    assert_int_equal(kcl_metadata_leader(env.cl, "events", 1, &leader, NULL), 0);
    assert_int_equal(leader, 2);
    assert_int_equal(kcl_metadata_leader(env.cl, "events", 9, &leader, NULL), KCL_ENOTFOUND);
    assert_int_equal(kcl_metadata_leader(env.cl, "nope", 0, &leader, NULL), KCL_ENOTFOUND);

    /* requests to a node id go to that broker's own connection */
    result_t rn = {0};
    kcl_request_t req;
    proto_msg_init(&proto_metadata_req_desc, 12, &metadata_body);
    metadata_body.topics.n = -1;
    kcl_request_init(&req, PROTO_API_METADATA, &metadata_body, on_response, &rn);
    req.node_id = 2;
    assert_int_equal(kcl_request_submit(env.cl, &req), 0);
    assert_true(run_until(&env, &rn.calls, 3000));
    assert_int_equal(rn.status, KCL_OK);
    assert_int_equal(rn.node_id, 2);
    req.node_id = 42;
    assert_int_equal(kcl_request_submit(env.cl, &req), KCL_ENONODE);

    /* leadership moves; the caller reports NOT_LEADER_OR_FOLLOWER; the cache follows */
    env.fs.leader = 2;
    env.fs.leader_epoch = 8;
    int before = env.fs.requests[PROTO_API_METADATA];
    assert_false(kcl_metadata_report_error(env.cl, "events", KERR_TOPIC_ALREADY_EXISTS));
    assert_true(kcl_metadata_report_error(env.cl, "events", KERR_NOT_LEADER_OR_FOLLOWER));
    /* concurrent refreshes coalesce: one running, the rest share one more round */
    result_t r2 = {0}, r3 = {0};
    assert_int_equal(kcl_metadata_refresh(env.cl, NULL, -1, on_meta, &r2), 0);
    assert_int_equal(kcl_metadata_refresh(env.cl, NULL, -1, on_meta, &r3), 0);
    assert_true(kcl_metadata_report_error(env.cl, "events", KERR_LEADER_NOT_AVAILABLE));
    assert_true(run_until(&env, &r3.calls, 3000));
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r2.status, KCL_OK);
    assert_int_equal(env.fs.requests[PROTO_API_METADATA] - before, 2);
    assert_int_equal(kcl_metadata_leader(env.cl, "events", 0, &leader, &epoch), 0);
    assert_int_equal(leader, 2);
    assert_int_equal(epoch, 8);
    assert_non_null(kcl_metadata_topic(env.cl, "events"));
    env_fini(&env);
}

static int16_t topic_error_of(void *arg, const kcl_response_t *resp)
{
    const proto_metadata_resp_t *md = resp->body;
    return md->topics.n > 0 ? md->topics.items[0].error_code : 0;
}

static int16_t last_topic_error;

static void on_topic_response(void *arg, const kcl_response_t *resp)
{
    on_response(arg, resp);
    last_topic_error = resp->status == KCL_OK ? topic_error_of(NULL, resp) : -100;
}

static void retriable_kafka_errors_are_retried_when_asked(void **state)
{
    env_t env;
    env_init(&env);
    env_client(&env);
    proto_msg_init(&proto_metadata_req_desc, 12, &metadata_body);
    metadata_body.topics.n = -1;
    kcl_request_t req;

    /* NOT_LEADER_OR_FOLLOWER twice, then a clean answer: the caller sees the clean one */
    env.fs.topic_error = 2;
    env.fs.topic_error_code = KERR_NOT_LEADER_OR_FOLLOWER;
    result_t r = {0};
    kcl_request_init(&req, PROTO_API_METADATA, &metadata_body, on_topic_response, &r);
    req.retries = 3;
    req.retry_check = topic_error_of;
    assert_int_equal(kcl_request_submit(env.cl, &req), 0);
    assert_true(run_until(&env, &r.calls, 3000));
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, KCL_OK);
    assert_int_equal(last_topic_error, 0);
    assert_int_equal(env.fs.requests[PROTO_API_METADATA], 3);
    assert_int_equal(env.fs.nconns, 1); /* a Kafka error is not a connection problem */

    /* retries used up: the last answer is delivered with its error */
    env.fs.topic_error = 5;
    result_t r2 = {0};
    kcl_request_init(&req, PROTO_API_METADATA, &metadata_body, on_topic_response, &r2);
    req.retries = 1;
    req.retry_check = topic_error_of;
    assert_int_equal(kcl_request_submit(env.cl, &req), 0);
    assert_true(run_until(&env, &r2.calls, 3000));
    assert_int_equal(r2.status, KCL_OK);
    assert_int_equal(last_topic_error, KERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(env.fs.requests[PROTO_API_METADATA], 5);

    /* a code that is not retriable is not retried, whatever the check says */
    env.fs.topic_error = 1;
    env.fs.topic_error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
    result_t r3 = {0};
    kcl_request_init(&req, PROTO_API_METADATA, &metadata_body, on_topic_response, &r3);
    req.retries = 3;
    req.retry_check = topic_error_of;
    assert_int_equal(kcl_request_submit(env.cl, &req), 0);
    assert_true(run_until(&env, &r3.calls, 3000));
    assert_int_equal(last_topic_error, KERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(env.fs.requests[PROTO_API_METADATA], 6);
    env.fs.topic_error = 0;
    env_fini(&env);
}

static void queue_is_bounded_and_names_are_resolved(void **state)
{
    env_t env;
    env_init(&env);
    snprintf(env.bootstrap, sizeof(env.bootstrap), "localhost:%d", env.fs.port); /* through uv_getaddrinfo */
    env.cfg.max_queued = 2;
    env_client(&env);
    result_t r[3] = {{0}};
    submit_metadata(&env, &r[0], -1, 0, 0);
    submit_metadata(&env, &r[1], -1, 0, 0);
    kcl_request_t req;
    kcl_request_init(&req, PROTO_API_METADATA, &metadata_body, on_response, &r[2]);
    assert_int_equal(kcl_request_submit(env.cl, &req), KCL_EFULL);
    assert_true(run_until(&env, &r[1].calls, 3000));
    assert_int_equal(r[0].status, KCL_OK);
    assert_int_equal(r[1].status, KCL_OK);
    assert_int_equal(kcl_request_submit(env.cl, &req), 0); /* room again */
    assert_true(run_until(&env, &r[2].calls, 3000));
    assert_int_equal(r[2].status, KCL_OK);
    assert_int_equal(r[2].calls, 1);
    env_fini(&env);
}

static int cancelled;

static void on_cancel_response(void *arg, const kcl_response_t *resp)
{
    result_t *r = arg;
    r->calls++;
    r->status = resp->status;
    if (resp->status == KCL_ECANCELLED)
        cancelled++;
}

static void close_cancels_everything_once(void **state)
{
    env_t env;
    env_init(&env);
    env_client(&env);
    env.fs.hold = true;
    result_t r[4] = {{0}};
    proto_msg_init(&proto_metadata_req_desc, 12, &metadata_body);
    metadata_body.topics.n = -1;
    for (int i = 0; i < 4; i++) {
        kcl_request_t req;
        kcl_request_init(&req, PROTO_API_METADATA, &metadata_body, on_cancel_response, &r[i]);
        assert_int_equal(kcl_request_submit(env.cl, &req), 0);
    }
    int none = 0;
    run_until(&env, &none, 100); /* some in flight, one more submitted and still pending */
    result_t late = {0};
    kcl_request_t req;
    kcl_request_init(&req, PROTO_API_METADATA, &metadata_body, on_cancel_response, &late);
    assert_int_equal(kcl_request_submit(env.cl, &req), 0);
    result_t m = {0};
    assert_int_equal(kcl_metadata_refresh(env.cl, NULL, -1, on_meta, &m), 0);
    cancelled = 0;
    kcl_client_close(env.cl, on_closed, &env);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].calls, 1);
    assert_int_equal(late.calls, 1);
    assert_int_equal(m.calls, 1);
    assert_int_equal(m.status, KCL_ECANCELLED);
    assert_int_equal(cancelled, 5);
    assert_int_equal(kcl_request_submit(env.cl, &req), KCL_EINVAL);
    kcl_client_t *cl = env.cl;
    env.cl = NULL;
    (void)cl;
    fake_stop(&env.fs);
    uv_close((uv_handle_t *)&env.guard, NULL);
    uv_run(&env.loop, UV_RUN_DEFAULT);
    assert_int_equal(env.closed, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].calls, 1);
    assert_int_equal(uv_loop_close(&env.loop), 0);
}

static void bad_bootstrap_is_refused(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    kcl_config_t cfg;
    kcl_config_init(&cfg);
    kcl_client_t *cl = NULL;
    const char *bad[] = {"", "nohost", "host:", ":9092", "host:99999", "host:12x", "[::1]9092"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg.bootstrap = bad[i];
        assert_int_equal(kcl_client_new(&loop, &cfg, &cl), KCL_EINVAL);
        assert_null(cl);
    }
    cfg.bootstrap = "127.0.0.1:1, [::1]:2,localhost:3";
    assert_int_equal(kcl_client_new(&loop, &cfg, &cl), 0);
    assert_int_equal(cl->nbootstrap, 3);
    kcl_client_close(cl, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(api_versions_falls_back_to_v0_and_versions_are_negotiated),
        cmocka_unit_test(highest_common_version_is_used),
        cmocka_unit_test(many_requests_are_matched_in_order),
        cmocka_unit_test(wrong_correlation_id_closes_and_retries),
        cmocka_unit_test(garbage_oversized_and_truncated_frames_fail_the_request),
        cmocka_unit_test(random_response_bodies_never_crash),
        cmocka_unit_test(server_closing_mid_response_is_retried),
        cmocka_unit_test(refused_connect_backs_off_then_succeeds),
        cmocka_unit_test(unanswered_request_times_out),
        cmocka_unit_test(in_flight_requests_are_limited_per_connection),
        cmocka_unit_test(metadata_cache_holds_the_cluster_and_refreshes_on_not_leader),
        cmocka_unit_test(retriable_kafka_errors_are_retried_when_asked),
        cmocka_unit_test(queue_is_bounded_and_names_are_resolved),
        cmocka_unit_test(close_cancels_everything_once),
        cmocka_unit_test(bad_bootstrap_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
