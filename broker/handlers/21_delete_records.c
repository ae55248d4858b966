/*
 * DeleteRecords (21), v0-2. Moves each partition's log start offset up to
 * the requested offset (-1: the high watermark); whole segments below it go,
 * and reads below it get OFFSET_OUT_OF_RANGE from then on. An offset beyond
 * the high watermark is OFFSET_OUT_OF_RANGE. The new start offsets are
 * checkpointed before the answer, so a restart never brings the records back.
 * v2 is flexible. Only the leader deletes (NOT_LEADER_OR_FOLLOWER), and the
 * high watermark is the replica layer's (the log end on one broker).
 */
#include "base/diag.h"
#include "broker/broker.h"
#include "broker/replicas.h"

broker_result_t broker_handle_delete_records(broker_req_t *req)
{
    const proto_delete_records_req_t *body = req->body;
    proto_delete_records_resp_t *resp = req->resp;
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0;
    bool changed = false;
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_delete_records_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_delete_records_req_topic_t *rt = &body->topics.items[i];
        proto_delete_records_resp_topic_t *ot = &resp->topics.items[i];
        ot->name = rt->name;
        int32_t nparts = rt->partitions.n > 0 ? rt->partitions.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_delete_records_resp_partition_desc, nparts))
            return BROKER_CLOSE;
        broker_topic_t *t =
            rt->name.len > 0 ? broker_topics_get(&req->broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len)
                             : NULL;
        for (int32_t j = 0; j < nparts; j++) {
            const proto_delete_records_req_partition_t *rp = &rt->partitions.items[j];
            proto_delete_records_resp_partition_t *op = &ot->partitions.items[j];
            op->partition_index = rp->partition_index;
            op->low_watermark = -1;
            broker_partition_t *part = t ? broker_topic_partition(t, rp->partition_index) : NULL;
            if (!part) {
                op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (!part->log) {
                op->error_code = KERR_KAFKA_STORAGE_ERROR;
                continue;
            }
            if (!replica_is_leader(&part->replica)) {
                op->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
                continue;
            }
            int64_t hw = broker_replica_hw(part);
            if (rp->offset < -1 || rp->offset > hw) {
                op->error_code = KERR_OFFSET_OUT_OF_RANGE;
                continue;
            }
            int64_t low;
            int rc = log_partition_delete_records(part->log, rp->offset == -1 ? hw : rp->offset, &low);
            if (rc == LOG_EOUT_OF_RANGE) {
                op->error_code = KERR_OFFSET_OUT_OF_RANGE;
            } else if (rc != 0) {
                LOG_ERROR("delete-records", "%s-%d: %s", t->name, rp->partition_index, log_strerror(rc));
                op->error_code = KERR_KAFKA_STORAGE_ERROR;
            } else {
                op->low_watermark = low;
                replica_on_log_start(&part->replica, low);
                changed = true;
            }
        }
    }
    if (changed && broker_storage_checkpoint(req->broker) != 0) {
        /* The records are gone from this run's view, but a restart could bring them back. */
        for (int32_t i = 0; i < resp->topics.n; i++)
            for (int32_t j = 0; j < resp->topics.items[i].partitions.n; j++)
                if (resp->topics.items[i].partitions.items[j].error_code == KERR_NONE)
                    resp->topics.items[i].partitions.items[j].error_code = KERR_KAFKA_STORAGE_ERROR;
    }
    return BROKER_RESPOND;
}
