/*
 * OffsetForLeaderEpoch (23), v0-4. Per partition, the end offset of the
 * asked leader epoch from the log's leader-epoch cache
 * (log_partition_end_offset_for_epoch: the next higher epoch's start
 * offset, the log end for the latest epoch, -1/-1 when unknown). Errors as
 * Kafka's ReplicaManager.lastOffsetForLeaderEpoch: an unknown partition is
 * UNKNOWN_TOPIC_OR_PARTITION, an offline one KAFKA_STORAGE_ERROR; from v2 a
 * current_leader_epoch other than -1 older than the partition's is
 * FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. v1 adds the epoch found
 * to the answer, v2 the throttle time, v3 replica_id (which Kafka 3.9, and
 * so eddy, does not look at), v4 is flexible.
 */
#include "broker/broker.h"

/*
 * The partition's current leader epoch for the fencing check: the replica
 * layer's (-1 on a single broker). Unlike Fetch and ListOffsets, whose
 * clients' epochs are not checked while eddy reports -1 (librdkafka sends 0
 * there), this API is only sent by clients that were told an epoch, so it
 * is checked as Kafka checks it.
 */
static int32_t current_leader_epoch(const broker_partition_t *part)
{
    return part->replica.leader_epoch;
}

broker_result_t broker_handle_offset_for_leader_epoch(broker_req_t *req)
{
    const proto_offset_for_leader_epoch_req_t *body = req->body;
    proto_offset_for_leader_epoch_resp_t *resp = req->resp;
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_offset_for_leader_epoch_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_offset_for_leader_epoch_req_topic_t *rt = &body->topics.items[i];
        proto_offset_for_leader_epoch_resp_topic_t *ot = &resp->topics.items[i];
        ot->topic = rt->topic;
        int32_t nparts = rt->partitions.n > 0 ? rt->partitions.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_offset_for_leader_epoch_resp_partition_desc, nparts))
            return BROKER_CLOSE;
        broker_topic_t *t = rt->topic.len > 0 ? broker_topics_get(&req->broker->topics, (const char *)rt->topic.ptr,
                                                                  (size_t)rt->topic.len)
                                              : NULL;
        for (int32_t j = 0; j < nparts; j++) {
            const proto_offset_for_leader_epoch_req_partition_t *rp = &rt->partitions.items[j];
            proto_offset_for_leader_epoch_resp_partition_t *op = &ot->partitions.items[j];
            op->partition = rp->partition;
            op->leader_epoch = -1;
            op->end_offset = -1;
            broker_partition_t *part = t ? broker_topic_partition(t, rp->partition) : NULL;
            if (!part) {
                op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (!part->log) {
                op->error_code = KERR_KAFKA_STORAGE_ERROR;
                continue;
            }
            if (rp->current_leader_epoch != -1) {
                int32_t cur = current_leader_epoch(part);
                if (cur > rp->current_leader_epoch) {
                    op->error_code = KERR_FENCED_LEADER_EPOCH;
                    continue;
                }
                if (cur < rp->current_leader_epoch) {
                    op->error_code = KERR_UNKNOWN_LEADER_EPOCH;
                    continue;
                }
            }
            log_partition_end_offset_for_epoch(part->log, rp->leader_epoch, &op->leader_epoch, &op->end_offset);
        }
    }
    return BROKER_RESPOND;
}
