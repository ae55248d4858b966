/*
 * Client half of the client_lib compat test: eddy's own outbound client
 * library (client/) against the real broker. It refreshes the metadata,
 * creates a topic with CreateTopics, finds the partition leader in the
 * cache, produces one record batch built with protocol/record_batch.h and
 * fetches it back from the leader, comparing the bytes. Exits 0 on success,
 * 1 with a line saying what differed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/buf.h"
#include "client/client.h"
#include "protocol/gen/messages.h"
#include "protocol/kafka_errors.h"
#include "protocol/record_batch.h"

static uv_loop_t loop;
static kcl_client_t *cl;
static int done;
static int failed;
static char topic[200];
static buf_t batch;
static int16_t kerr;
static int64_t base_offset = -2;
static int64_t high_watermark = -2;
static buf_t fetched;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "client_lib: ");                                                                           \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n");                                                                                     \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

static void wait_done(const char *what)
{
    uint64_t deadline = uv_now(&loop) + 20000;
    while (!done && uv_now(&loop) < deadline)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK(done, "%s: no answer within 20 s", what);
    CHECK(!failed, "%s failed", what);
    done = 0;
}

static void on_meta(void *arg, int status)
{
    done = 1;
    failed = status != KCL_OK;
    if (failed)
        fprintf(stderr, "client_lib: metadata refresh: %s\n", kcl_strerror(status));
}

static void on_create(void *arg, const kcl_response_t *resp)
{
    done = 1;
    failed = resp->status != KCL_OK;
    if (failed) {
        fprintf(stderr, "client_lib: CreateTopics: %s\n", resp->error);
        return;
    }
    const proto_create_topics_resp_t *r = resp->body;
    kerr = r->topics.n == 1 ? r->topics.items[0].error_code : -100;
    printf("CreateTopics v%d: error %d\n", resp->version, kerr);
}

static void on_produce(void *arg, const kcl_response_t *resp)
{
    done = 1;
    failed = resp->status != KCL_OK;
    if (failed) {
        fprintf(stderr, "client_lib: Produce: %s\n", resp->error);
        return;
    }
    const proto_produce_resp_t *r = resp->body;
    kerr = -100;
    if (r->responses.n == 1 && r->responses.items[0].partition_responses.n == 1) {
        kerr = r->responses.items[0].partition_responses.items[0].error_code;
        base_offset = r->responses.items[0].partition_responses.items[0].base_offset;
    }
    printf("Produce v%d: error %d base offset %lld\n", resp->version, kerr, (long long)base_offset);
}

static void on_fetch(void *arg, const kcl_response_t *resp)
{
    done = 1;
    failed = resp->status != KCL_OK;
    if (failed) {
        fprintf(stderr, "client_lib: Fetch: %s\n", resp->error);
        return;
    }
    const proto_fetch_resp_t *r = resp->body;
    kerr = -100;
    if (r->responses.n == 1 && r->responses.items[0].partitions.n == 1) {
        const proto_fetch_resp_partition_t *p = &r->responses.items[0].partitions.items[0];
        kerr = p->error_code;
        high_watermark = p->high_watermark;
        if (p->records.len > 0)
            buf_append(&fetched, p->records.ptr, (size_t)p->records.len); /* the body dies with the callback */
    }
    printf("Fetch v%d: error %d high watermark %lld, %zu bytes\n", resp->version, kerr, (long long)high_watermark,
           fetched.len);
}

static void on_closed(void *arg)
{
    *(int *)arg = 1;
}

int main(void)
{
    const char *bootstrap = getenv("EDDY_BOOTSTRAP");
    const char *name = getenv("EDDY_TEST_NAME");
    CHECK(bootstrap, "EDDY_BOOTSTRAP is not set");
    snprintf(topic, sizeof(topic), "%s_kcl", name ? name : "client_lib");
    uv_loop_init(&loop);
    kcl_config_t cfg;
    kcl_config_init(&cfg);
    cfg.bootstrap = bootstrap;
    cfg.client_id = "eddy-compat-client-lib";
    cfg.request_timeout_ms = 10000;
    CHECK(kcl_client_new(&loop, &cfg, &cl) == KCL_OK, "kcl_client_new(%s) failed", bootstrap);

    /* 1. metadata: the broker names itself and a controller */
    CHECK(kcl_metadata_refresh(cl, NULL, -1, on_meta, NULL) == KCL_OK, "refresh");
    wait_done("metadata");
    const kcl_metadata_t *md = kcl_metadata(cl);
    CHECK(md->nbrokers >= 1, "metadata has %d brokers", md->nbrokers);
    CHECK(md->controller_id >= 0, "controller id %d", md->controller_id);
    CHECK(kcl_metadata_broker(cl, md->controller_id), "controller %d is not among the brokers", md->controller_id);
    printf("metadata: %d broker(s), controller %d, cluster %s\n", md->nbrokers, md->controller_id,
           md->cluster_id ? md->cluster_id : "(null)");

    /* 2. CreateTopics, sent to the controller */
    proto_create_topics_req_t ct;
    proto_msg_init(&proto_create_topics_req_desc, 7, &ct);
    proto_create_topics_req_topic_t t;
    proto_msg_init(&proto_create_topics_req_topic_desc, 7, &t);
    t.name = proto_str_c(topic);
    t.num_partitions = 1;
    t.replication_factor = 1;
    ct.topics.n = 1;
    ct.topics.items = &t;
    ct.timeout_ms = 10000;
    kcl_request_t req;
    kcl_request_init(&req, PROTO_API_CREATE_TOPICS, &ct, on_create, NULL);
    req.node_id = md->controller_id;
    CHECK(kcl_request_submit(cl, &req) == KCL_OK, "submit CreateTopics");
    wait_done("CreateTopics");
    CHECK(kerr == KERR_NONE, "CreateTopics answered error %d", kerr);

    /* 3. the new topic's leader, from a topic refresh */
    const char *topics[1] = {topic};
    CHECK(kcl_metadata_refresh(cl, topics, 1, on_meta, NULL) == KCL_OK, "refresh topic");
    wait_done("metadata of the topic");
    int32_t leader = -1, epoch = -1;
    CHECK(kcl_metadata_leader(cl, topic, 0, &leader, &epoch) == KCL_OK, "no leader for %s-0 in the cache", topic);
    const kcl_topic_t *kt = kcl_metadata_topic(cl, topic);
    proto_uuid_t topic_id = kt->topic_id;
    printf("leader of %s-0: node %d epoch %d\n", topic, leader, epoch);

    /* 4. Produce one batch of three records to the leader */
    buf_init(&batch);
    buf_init(&fetched);
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.base_timestamp = 1700000000000;
    proto_record_spec_t recs[3];
    static const char *keys[3] = {"k0", "k1", NULL};
    static const char *vals[3] = {"first value", "second", "third, keyless"};
    for (int i = 0; i < 3; i++) {
        memset(&recs[i], 0, sizeof(recs[i]));
        recs[i].key = keys[i] ? proto_str_c(keys[i]) : (proto_bytes_t){NULL, -1};
        recs[i].value = proto_str_c(vals[i]);
        recs[i].timestamp_delta = i;
    }
    CHECK(proto_batch_build(&batch, &spec, recs, 3) == 0, "proto_batch_build");
    proto_produce_req_t pr;
    proto_msg_init(&proto_produce_req_desc, 11, &pr);
    proto_produce_req_topic_t ptd;
    proto_msg_init(&proto_produce_req_topic_desc, 11, &ptd);
    proto_produce_req_partition_t ppd;
    proto_msg_init(&proto_produce_req_partition_desc, 11, &ppd);
    ppd.index = 0;
    ppd.records = (proto_bytes_t){batch.data, (int32_t)batch.len};
    ptd.name = proto_str_c(topic);
    ptd.partition_data.n = 1;
    ptd.partition_data.items = &ppd;
    pr.acks = -1;
    pr.timeout_ms = 10000;
    pr.topic_data.n = 1;
    pr.topic_data.items = &ptd;
    kcl_request_init(&req, PROTO_API_PRODUCE, &pr, on_produce, NULL);
    req.node_id = leader;
    CHECK(kcl_request_submit(cl, &req) == KCL_OK, "submit Produce");
    wait_done("Produce");
    CHECK(kerr == KERR_NONE, "Produce answered error %d", kerr);
    CHECK(base_offset == 0, "Produce base offset %lld, expected 0", (long long)base_offset);

    /* 5. Fetch it back */
    proto_fetch_req_t fr;
    proto_msg_init(&proto_fetch_req_desc, 17, &fr);
    proto_fetch_req_topic_t ft;
    proto_msg_init(&proto_fetch_req_topic_desc, 17, &ft);
    proto_fetch_req_partition_t fp;
    proto_msg_init(&proto_fetch_req_partition_desc, 17, &fp);
    fp.partition = 0;
    fp.fetch_offset = 0;
    fp.current_leader_epoch = -1;
    fp.last_fetched_epoch = -1;
    fp.log_start_offset = -1;
    fp.partition_max_bytes = 1 << 20;
    ft.topic = proto_str_c(topic);
    ft.topic_id = topic_id;
    ft.partitions.n = 1;
    ft.partitions.items = &fp;
    fr.replica_id = -1;
    fr.replica_state.replica_id = -1;
    fr.replica_state.replica_epoch = -1;
    fr.max_wait_ms = 500;
    fr.min_bytes = 1;
    fr.max_bytes = 1 << 20;
    fr.session_id = 0;
    fr.session_epoch = -1;
    fr.topics.n = 1;
    fr.topics.items = &ft;
    fr.forgotten_topics_data.n = 0;
    kcl_request_init(&req, PROTO_API_FETCH, &fr, on_fetch, NULL);
    req.node_id = leader;
    CHECK(kcl_request_submit(cl, &req) == KCL_OK, "submit Fetch");
    wait_done("Fetch");
    CHECK(kerr == KERR_NONE, "Fetch answered error %d", kerr);
    CHECK(high_watermark == 3, "high watermark %lld, expected 3", (long long)high_watermark);
    CHECK(fetched.len == batch.len, "fetched %zu bytes, produced %zu", fetched.len, batch.len);
    /* The broker stamps the partition leader epoch (bytes 12..15, outside the CRC); the rest is ours. */
    CHECK(memcmp(fetched.data, batch.data, 12) == 0, "base offset or length differ");
    CHECK(memcmp(fetched.data + 16, batch.data + 16, batch.len - 16) == 0, "batch bytes differ after the epoch");
    printf("fetched batch matches the produced one (%zu bytes)\n", batch.len);

    int closed = 0;
    kcl_client_close(cl, on_closed, &closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(closed, "the client did not finish closing");
    CHECK(uv_loop_close(&loop) == 0, "handles left open on the loop");
    buf_fini(&batch);
    buf_fini(&fetched);
    printf("ok\n");
    return 0;
}
