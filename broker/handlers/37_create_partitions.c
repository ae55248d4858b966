/*
 * CreatePartitions (37), v0-3. Per topic: the new total count, which must
 * be larger than the current one (INVALID_PARTITIONS otherwise), and
 * optionally the replicas of each new partition, accepted only when every
 * one is exactly this broker. New partitions get empty logs; the topic id
 * and existing partitions are unchanged. validate_only checks and changes
 * nothing. A topic named twice fails for both entries, as in Kafka. v1
 * changes nothing on the wire (throttling); v2 is flexible; v3 changes
 * nothing on the wire (THROTTLING_QUOTA_EXCEEDED may be returned).
 */
#include "broker/broker.h"

static bool name_repeated(const proto_create_partitions_req_t *body, int32_t i)
{
    proto_str_t a = body->topics.items[i].name;
    for (int32_t j = 0; j < body->topics.n; j++) {
        proto_str_t b = body->topics.items[j].name;
        if (j != i && a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0))
            return true;
    }
    return false;
}

#define GROW_SUBMITTED (-2) /* went to the store: grow_fill gets the result */

static int16_t grow_one(broker_req_t *req, const proto_create_partitions_req_topic_t *rt, bool validate_only,
                        proto_create_partitions_resp_result_t *out, broker_store_wait_t *w, int32_t index)
{
    broker_t *broker = req->broker;
    broker_topic_t *t =
        rt->name.len > 0 ? broker_topics_get(&broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len) : NULL;
    if (!t) {
        out->error_message = broker_strf(req, "The topic '%.*s' does not exist.", rt->name.len > 0 ? rt->name.len : 0,
                                         (const char *)rt->name.ptr);
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (broker_topic_is_internal(t->name, t->name_len)) {
        /* Groups and transactions are placed by hashing over the partition count: it must never change. */
        out->error_message = broker_strf(req, "Cannot add partitions to the internal topic %s", t->name);
        return KERR_INVALID_REQUEST;
    }
    if (rt->assignments.n >= 0 && rt->count > t->nparts) {
        int32_t added = rt->count - t->nparts;
        if (rt->assignments.n != added) {
            out->error_message =
                broker_strf(req, "Increasing the number of partitions by %d but %d assignments provided.", added,
                            rt->assignments.n);
            return KERR_INVALID_REPLICA_ASSIGNMENT;
        }
        for (int32_t i = 0; i < rt->assignments.n; i++) {
            const proto_create_partitions_req_assignment_t *a = &rt->assignments.items[i];
            if (a->broker_ids.n != 1 || a->broker_ids.items[0] != broker->cfg->node_id) {
                out->error_message = broker_strf(
                    req, "Replica assignment must place every new partition on broker %d only", broker->cfg->node_id);
                return KERR_INVALID_REPLICA_ASSIGNMENT;
            }
        }
    }
    broker_topics_add_partitions(&broker->topics, t, rt->count, validate_only, broker_store_wait_done,
                                 broker_store_wait_slot(w, index));
    return GROW_SUBMITTED;
}

static void grow_fill(broker_req_t *req, int32_t i, int16_t err, const char *errmsg)
{
    proto_create_partitions_resp_result_t *out = &((proto_create_partitions_resp_t *)req->resp)->results.items[i];
    out->error_code = err;
    if (err != KERR_NONE)
        out->error_message = broker_strf(req, "%s", errmsg);
}

broker_result_t broker_handle_create_partitions(broker_req_t *req)
{
    const proto_create_partitions_req_t *body = req->body;
    proto_create_partitions_resp_t *resp = req->resp;
    int32_t n = body->topics.n > 0 ? body->topics.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->results, proto_create_partitions_resp_result_desc, n))
        return BROKER_CLOSE;
    broker_store_wait_t *w = broker_store_wait_new(req, n, grow_fill);
    if (!w)
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        const proto_create_partitions_req_topic_t *rt = &body->topics.items[i];
        proto_create_partitions_resp_result_t *out = &resp->results.items[i];
        out->name = rt->name;
        out->error_message = proto_str_c(NULL);
        if (name_repeated(body, i)) {
            out->error_code = KERR_INVALID_REQUEST;
            out->error_message = broker_strf(req, "Duplicate topic %.*s in the request",
                                             rt->name.len > 0 ? rt->name.len : 0, (const char *)rt->name.ptr);
            continue;
        }
        int16_t err = grow_one(req, rt, body->validate_only, out, w, i);
        if (err != GROW_SUBMITTED)
            out->error_code = err;
    }
    return broker_store_wait_end(w);
}
