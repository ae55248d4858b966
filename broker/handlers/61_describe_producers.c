/*
 * DescribeProducers (61), v0. The active idempotent and transactional
 * producers of each requested partition, from the log's producer state:
 * epoch, last sequence, last activity, coordinator epoch and the first
 * offset of an open transaction (-1 when none).
 */
#include <stdlib.h>

#include "broker/broker.h"

broker_result_t broker_handle_describe_producers(broker_req_t *req)
{
    const proto_describe_producers_req_t *body = req->body;
    proto_describe_producers_resp_t *resp = req->resp;
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_describe_producers_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_describe_producers_req_topic_t *rt = &body->topics.items[i];
        proto_describe_producers_resp_topic_t *ot = &resp->topics.items[i];
        ot->name = rt->name;
        broker_topic_t *t = rt->name.len > 0 ? broker_topics_get(&req->broker->topics, (const char *)rt->name.ptr,
                                                                 (size_t)rt->name.len)
                                             : NULL;
        int32_t np = rt->partition_indexes.n > 0 ? rt->partition_indexes.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_describe_producers_resp_partition_desc, np))
            return BROKER_CLOSE;
        for (int32_t j = 0; j < np; j++) {
            proto_describe_producers_resp_partition_t *op = &ot->partitions.items[j];
            op->partition_index = rt->partition_indexes.items[j];
            broker_partition_t *part = t ? broker_topic_partition(t, op->partition_index) : NULL;
            if (!part || !part->log) {
                op->error_code = part ? KERR_KAFKA_STORAGE_ERROR : KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            size_t n = log_partition_producer_ids(part->log, NULL, 0);
            if (n == 0 || n > INT32_MAX)
                continue;
            int64_t *ids = arena_alloc(&req->arena, sizeof(*ids) * n);
            if (!ids || !BROKER_FILL_ARRAY(req, op->active_producers, proto_describe_producers_resp_producer_desc,
                                           (int32_t)n))
                return BROKER_CLOSE;
            n = log_partition_producer_ids(part->log, ids, n);
            for (size_t k = 0; k < n; k++) {
                log_producer_info_t info;
                proto_describe_producers_resp_producer_t *pr = &op->active_producers.items[k];
                pr->producer_id = ids[k];
                if (log_partition_producer(part->log, ids[k], &info) != 1)
                    continue;
                pr->producer_epoch = info.producer_epoch;
                pr->last_sequence = info.last_sequence;
                pr->last_timestamp = info.last_timestamp;
                pr->coordinator_epoch = info.coordinator_epoch;
                pr->current_txn_start_offset = info.txn_first_offset;
            }
        }
    }
    return BROKER_RESPOND;
}
