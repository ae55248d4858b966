/*
 * Metadata (3), v0-12. What changes by version:
 *   v0   an empty topic list means all topics; v1+ uses null for that.
 *   v1   controller_id, is_internal, rack; v2 cluster_id; v3 throttle time.
 *   v4   allow_auto_topic_creation (before v4 a request always may create).
 *   v5   offline_replicas; v7 leader_epoch; v8-10 authorized operations.
 *   v9   flexible; v10 topic ids (request by id when the name is null).
 * Auto-creation answers LEADER_NOT_AVAILABLE for the topic it just created,
 * as Kafka does, so producers retry and find it on the next request. The
 * internal topics, created on first use, are auto-created by their
 * coordinators (offsets.topic.num.partitions and so on), not as plain topics.
 * Leader epochs are reported as -1 (unknown) so that no client validates
 * positions with OffsetForLeaderEpoch, which eddy does not implement yet.
 * Leader, replicas and ISR are each partition's replica state
 * (broker/replicas.h): on one broker this node, {node}, {node}; a partition
 * without a leader answers LEADER_NOT_AVAILABLE, as Kafka's does.
 */
#include "broker/broker.h"
#include "broker/replicas.h"

/* A view of a replica set: the answer is encoded right after the handler returns, before anything changes it. */
static void node_list(proto_arr_int32_t *out, const replica_set_t *s)
{
    out->n = s->n;
    out->items = (int32_t *)(uintptr_t)s->ids;
}

static void fill_topic(broker_req_t *req, proto_metadata_resp_topic_t *out, broker_topic_t *t)
{
    out->name = (proto_str_t){(const uint8_t *)t->name, (int32_t)t->name_len};
    out->topic_id = t->id;
    out->is_internal = broker_topic_is_internal(t->name, t->name_len);
    if (!BROKER_FILL_ARRAY(req, out->partitions, proto_metadata_resp_partition_desc, t->nparts)) {
        out->error_code = KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    for (int32_t i = 0; i < t->nparts; i++) {
        proto_metadata_resp_partition_t *p = &out->partitions.items[i];
        const replica_t *r = &t->parts[i].replica;
        p->partition_index = i;
        p->leader_id = r->leader_id;
        p->leader_epoch = broker_replica_reported_epoch(r);
        node_list(&p->replica_nodes, &r->replicas);
        node_list(&p->isr_nodes, &r->isr);
        if (r->leader_id < 0)
            p->error_code = KERR_LEADER_NOT_AVAILABLE;
        if (!t->parts[i].log) {
            p->error_code = KERR_KAFKA_STORAGE_ERROR;
            p->offline_replicas.n = 1;
            p->offline_replicas.items = (int32_t *)(uintptr_t)&r->local_id;
            p->isr_nodes.n = 0;
        }
    }
}

broker_result_t broker_handle_metadata(broker_req_t *req)
{
    const proto_metadata_req_t *body = req->body;
    proto_metadata_resp_t *resp = req->resp;
    broker_t *broker = req->broker;
    broker_config_t *cfg = broker->cfg;

    if (!BROKER_FILL_ARRAY(req, resp->brokers, proto_metadata_resp_broker_desc, 1))
        return BROKER_CLOSE;
    resp->brokers.items[0].node_id = cfg->node_id;
    resp->brokers.items[0].host = proto_str_c(cfg->advertised_host);
    resp->brokers.items[0].port = cfg->advertised_port;
    resp->cluster_id = proto_str_c(broker->cluster_id);
    resp->controller_id = cfg->node_id;

    bool all = body->topics.n < 0 || (req->version == 0 && body->topics.n == 0);
    if (all) {
        int32_t n = (int32_t)broker->topics.by_name.count;
        if (!BROKER_FILL_ARRAY(req, resp->topics, proto_metadata_resp_topic_desc, n))
            return BROKER_CLOSE;
        size_t pos = 0;
        broker_topic_t *t;
        for (int32_t i = 0; i < n && (t = broker_topics_next(&broker->topics, &pos)); i++)
            fill_topic(req, &resp->topics.items[i], t);
        return BROKER_RESPOND;
    }

    bool may_create = cfg->auto_create_topics_enable && (req->version < 4 || body->allow_auto_topic_creation);
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_metadata_resp_topic_desc, body->topics.n))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < body->topics.n; i++) {
        const proto_metadata_req_topic_t *rt = &body->topics.items[i];
        proto_metadata_resp_topic_t *out = &resp->topics.items[i];
        broker_topic_t *t;
        if (rt->name.len < 0) { /* v10+: by id */
            out->topic_id = rt->topic_id;
            out->name = (proto_str_t){NULL, -1};
            t = broker_topics_get_by_id(&broker->topics, &rt->topic_id);
            if (t)
                fill_topic(req, out, t);
            else
                out->error_code = KERR_UNKNOWN_TOPIC_ID;
            continue;
        }
        out->name = rt->name;
        t = broker_topics_get(&broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len);
        if (t) {
            fill_topic(req, out, t);
            continue;
        }
        if (broker_topics_check_name((const char *)rt->name.ptr, (size_t)rt->name.len) != KERR_NONE) {
            out->error_code = KERR_INVALID_TOPIC_EXCEPTION;
            continue;
        }
        if (!may_create) {
            out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        if (broker_topic_is_internal((const char *)rt->name.ptr, (size_t)rt->name.len)) {
            /* Not created until first use; asked for by name, it is made by its
             * coordinator, with its own partition count and configs. */
            bool offsets = (size_t)rt->name.len == strlen(BROKER_OFFSETS_TOPIC) &&
                           memcmp(rt->name.ptr, BROKER_OFFSETS_TOPIC, (size_t)rt->name.len) == 0;
            int rc = offsets ? broker_groups_topic(broker) : broker_txns_topic(broker);
            out->error_code = rc == 0 ? KERR_LEADER_NOT_AVAILABLE : KERR_UNKNOWN_SERVER_ERROR;
            continue;
        }
        int16_t err = broker_topics_create_detached(&broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len,
                                                    cfg->num_partitions, NULL, 0);
        out->error_code = err == KERR_NONE ? KERR_LEADER_NOT_AVAILABLE : err;
    }
    return BROKER_RESPOND;
}
