/*
 * AddPartitionsToTxn (24), v0-3 (v4+ is the broker-to-broker batch form,
 * not offered). Adds partitions to the producer's open transaction; every
 * partition gets its own error: unknown ones UNKNOWN_TOPIC_OR_PARTITION,
 * and when any fails the others OPERATION_NOT_ATTEMPTED. v2 maps
 * PRODUCER_FENCED, earlier versions get INVALID_PRODUCER_EPOCH; v3 flexible.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_add_partitions_to_txn(broker_req_t *req)
{
    const proto_add_partitions_to_txn_req_t *body = req->body;
    proto_add_partitions_to_txn_resp_t *resp = req->resp;
    int32_t ntopics = body->v3_and_below_topics.n > 0 ? body->v3_and_below_topics.n : 0, total = 0;
    for (int32_t i = 0; i < ntopics; i++)
        total += body->v3_and_below_topics.items[i].partitions.n > 0 ? body->v3_and_below_topics.items[i].partitions.n
                                                                      : 0;
    txn_partition_t *parts = arena_alloc(&req->arena, sizeof(*parts) * (size_t)(total ? total : 1));
    if (!parts)
        return BROKER_CLOSE;
    int32_t k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_add_partitions_to_txn_req_topic_t *rt = &body->v3_and_below_topics.items[i];
        broker_topic_t *t =
            rt->name.len > 0 ? broker_topics_get(&req->broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len)
                             : NULL;
        for (int32_t j = 0; j < rt->partitions.n; j++, k++) {
            parts[k].topic = rt->name;
            parts[k].partition = rt->partitions.items[j];
            parts[k].error_code = t && broker_topic_partition(t, parts[k].partition) &&
                                          !broker_topic_is_internal(t->name, t->name_len)
                                      ? KERR_NONE
                                      : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    (void)txn_add_partitions(req->broker->txns.coord, body->v3_and_below_transactional_id,
                             body->v3_and_below_producer_id, body->v3_and_below_producer_epoch, parts, total,
                             req->version, clock_wall_ms());
    broker_txns_run(req->broker);
    if (!BROKER_FILL_ARRAY(req, resp->results_by_topic_v3_and_below, proto_add_partitions_to_txn_resp_topic_result_desc,
                           ntopics))
        return BROKER_CLOSE;
    k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_add_partitions_to_txn_req_topic_t *rt = &body->v3_and_below_topics.items[i];
        proto_add_partitions_to_txn_resp_topic_result_t *ot = &resp->results_by_topic_v3_and_below.items[i];
        ot->name = rt->name;
        int32_t np = rt->partitions.n > 0 ? rt->partitions.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->results_by_partition, proto_add_partitions_to_txn_resp_partition_result_desc,
                               np))
            return BROKER_CLOSE;
        for (int32_t j = 0; j < np; j++, k++) {
            ot->results_by_partition.items[j].partition_index = parts[k].partition;
            ot->results_by_partition.items[j].partition_error_code = parts[k].error_code;
        }
    }
    return BROKER_RESPOND;
}
