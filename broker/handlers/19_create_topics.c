/*
 * CreateTopics (19), v0-7. Per topic: num_partitions and replication_factor
 * may be -1 (v4+) for the broker defaults (Kafka's broker takes -1 in any
 * version; only its client refuses to send it before v4); manual
 * assignments are accepted only when every replica is this broker. v1+
 * validate_only and error_message; v2 throttle_time_ms; v5 flexible,
 * and the answer then carries the partition count, replication factor and
 * the topic's config overrides; v7 returns the topic id. A name that appears
 * twice in one request fails for both entries, as in Kafka. Each topic goes
 * to the metadata store; the answer leaves when the store has finished them
 * all (broker/store_wait.c).
 */
#include "broker/broker.h"

static bool name_repeated(const proto_create_topics_req_t *body, int32_t i)
{
    proto_str_t a = body->topics.items[i].name;
    for (int32_t j = 0; j < body->topics.n; j++) {
        proto_str_t b = body->topics.items[j].name;
        if (j != i && a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0))
            return true;
    }
    return false;
}

/* create_one's answer when the topic went to the store: create_fill gets the result. */
#define CREATE_SUBMITTED (-2)

static int16_t create_one(broker_req_t *req, const proto_create_topics_req_topic_t *rt,
                          proto_create_topics_resp_topic_t *out, bool validate_only, broker_store_wait_t *w,
                          int32_t index)
{
    broker_t *broker = req->broker;
    int32_t nparts = rt->num_partitions;
    int16_t rf = rt->replication_factor;
    if (rt->assignments.n > 0) {
        if (nparts != -1 || rf != -1) {
            out->error_message =
                proto_str_c("Both numPartitions or replicationFactor and replicasAssignments were set. "
                            "Both cannot be used at the same time.");
            return KERR_INVALID_REQUEST;
        }
        for (int32_t i = 0; i < rt->assignments.n; i++) {
            const proto_create_topics_req_assignment_t *a = &rt->assignments.items[i];
            if (a->partition_index != i || a->broker_ids.n != 1 || a->broker_ids.items[0] != broker->cfg->node_id) {
                out->error_message = broker_strf(req, "Replica assignment must place partitions 0..n-1 on broker %d",
                                                 broker->cfg->node_id);
                return KERR_INVALID_REPLICA_ASSIGNMENT;
            }
        }
        nparts = rt->assignments.n;
        rf = 1;
    }
    if (nparts == -1)
        nparts = broker->cfg->num_partitions;
    if (rf == -1)
        rf = (int16_t)broker->cfg->default_replication_factor;
    if (nparts <= 0) {
        out->error_message = proto_str_c("Number of partitions must be larger than 0.");
        return KERR_INVALID_PARTITIONS;
    }
    if (rf != 1) {
        out->error_message = broker_strf(req, "Replication factor: %d larger than available brokers: 1.", rf);
        return KERR_INVALID_REPLICATION_FACTOR;
    }
    int32_t nconf = rt->configs.n > 0 ? rt->configs.n : 0;
    broker_topic_config_t *configs = nconf ? arena_alloc(&req->arena, sizeof(*configs) * (size_t)nconf) : NULL;
    if (nconf && !configs)
        return KERR_UNKNOWN_SERVER_ERROR;
    for (int32_t i = 0; i < nconf; i++) {
        const proto_create_topics_req_config_t *c = &rt->configs.items[i];
        if (c->name.len <= 0 || c->value.len < 0) {
            out->error_message = proto_str_c("Null value not supported for topic configs");
            return KERR_INVALID_CONFIG;
        }
        configs[i].key = arena_alloc(&req->arena, (size_t)c->name.len + 1);
        configs[i].value = arena_alloc(&req->arena, (size_t)c->value.len + 1);
        if (!configs[i].key || !configs[i].value)
            return KERR_UNKNOWN_SERVER_ERROR;
        memcpy(configs[i].key, c->name.ptr, (size_t)c->name.len);
        memcpy(configs[i].value, c->value.ptr, (size_t)c->value.len);
    }
    /* What the answer says on success; create_fill puts the failure defaults back. */
    out->num_partitions = nparts;
    out->replication_factor = rf;
    broker_topics_create(&broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len, nparts, configs, nconf,
                         validate_only, broker_store_wait_done, broker_store_wait_slot(w, index));
    return CREATE_SUBMITTED;
}

/* The store's answer for topic i. */
static void create_fill(broker_req_t *req, int32_t i, int16_t err, const char *errmsg)
{
    const proto_create_topics_req_t *body = req->body;
    proto_create_topics_resp_topic_t *out = &((proto_create_topics_resp_t *)req->resp)->topics.items[i];
    out->error_code = err;
    if (err != KERR_NONE) {
        out->error_message = broker_strf(req, "%s", errmsg);
        out->num_partitions = -1;
        out->replication_factor = -1;
        return;
    }
    broker_topic_t *t = body->validate_only ? NULL
                                            : broker_topics_get(&req->broker->topics, (const char *)out->name.ptr,
                                                                (size_t)out->name.len);
    if (!t)
        return;
    out->topic_id = t->id;
    if (BROKER_FILL_ARRAY(req, out->configs, proto_create_topics_resp_config_desc, t->nconfigs)) {
        for (int c = 0; c < t->nconfigs; c++) {
            out->configs.items[c].name = proto_str_c(t->configs[c].key);
            out->configs.items[c].value = proto_str_c(t->configs[c].value);
            out->configs.items[c].config_source = 1; /* DYNAMIC_TOPIC_CONFIG */
        }
    }
}

broker_result_t broker_handle_create_topics(broker_req_t *req)
{
    const proto_create_topics_req_t *body = req->body;
    proto_create_topics_resp_t *resp = req->resp;
    int32_t n = body->topics.n > 0 ? body->topics.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_create_topics_resp_topic_desc, n))
        return BROKER_CLOSE;
    broker_store_wait_t *w = broker_store_wait_new(req, n, create_fill);
    if (!w)
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        const proto_create_topics_req_topic_t *rt = &body->topics.items[i];
        proto_create_topics_resp_topic_t *out = &resp->topics.items[i];
        out->name = rt->name;
        out->error_message = proto_str_c(NULL); /* Kafka answers null on success */
        out->num_partitions = -1;
        out->replication_factor = -1;
        out->configs.n = -1;
        if (name_repeated(body, i)) {
            out->error_code = KERR_INVALID_REQUEST;
            out->error_message = broker_strf(req, "Create topics request from client contains duplicate topic %.*s",
                                             rt->name.len, (const char *)rt->name.ptr);
            continue;
        }
        int16_t err = create_one(req, rt, out, body->validate_only, w, i);
        if (err != CREATE_SUBMITTED)
            out->error_code = err;
    }
    return broker_store_wait_end(w);
}
