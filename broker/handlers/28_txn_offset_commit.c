/*
 * TxnOffsetCommit (28), v0-4. Stages a consumer group's offsets inside the
 * producer's transaction (the group's __consumer_offsets partition must have
 * been added with AddOffsetsToTxn); they become the group's committed
 * offsets with the COMMIT marker and vanish with ABORT. v2 adds the leader
 * epoch; v3 (flexible) carries generation, member and instance ids,
 * validated like OffsetCommit. A group partition that is not in the
 * transaction answers TRANSACTION_ABORTABLE to v4 and INVALID_TXN_STATE to
 * v0-3 (which do not know it), as Kafka 3.9's verification does. v0-1
 * get COORDINATOR_NOT_AVAILABLE for COORDINATOR_LOAD_IN_PROGRESS, which
 * producers before Kafka 2.0's fix (KAFKA-7296) mishandle.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_txn_offset_commit(broker_req_t *req)
{
    const proto_txn_offset_commit_req_t *body = req->body;
    proto_txn_offset_commit_resp_t *resp = req->resp;
    broker_t *broker = req->broker;
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0, total = 0;
    for (int32_t i = 0; i < ntopics; i++)
        total += body->topics.items[i].partitions.n > 0 ? body->topics.items[i].partitions.n : 0;
    group_commit_partition_t *parts = arena_alloc(&req->arena, sizeof(*parts) * (size_t)(total ? total : 1));
    if (!parts)
        return BROKER_CLOSE;
    int32_t offsets_partition = group_partition_for(broker->groups.coord, body->group_id);
    int16_t in_txn =
        txn_partition_in_transaction(broker->txns.coord, body->producer_id, body->producer_epoch,
                                     proto_str_c(BROKER_OFFSETS_TOPIC), offsets_partition);
    /* TRANSACTION_ABORTABLE is for v4 clients; older ones get INVALID_TXN_STATE (and a fenced one INVALID_PRODUCER_EPOCH). */
    if (!(in_txn == TXN_ERR_TRANSACTION_ABORTABLE && req->version >= 4))
        in_txn = txn_offset_commit_error(in_txn);
    int32_t k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_txn_offset_commit_req_topic_t *rt = &body->topics.items[i];
        broker_topic_t *t =
            rt->name.len > 0 ? broker_topics_get(&broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len)
                             : NULL;
        for (int32_t j = 0; j < rt->partitions.n; j++, k++) {
            const proto_txn_offset_commit_req_partition_t *rp = &rt->partitions.items[j];
            parts[k].topic = rt->name;
            parts[k].partition = rp->partition_index;
            parts[k].offset = rp->committed_offset;
            parts[k].leader_epoch = req->version >= 2 ? rp->committed_leader_epoch : -1;
            parts[k].metadata = rp->committed_metadata;
            parts[k].error_code = in_txn != KERR_NONE                                         ? in_txn
                                  : t && broker_topic_partition(t, rp->partition_index) ? KERR_NONE
                                                                                          : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    if (in_txn == KERR_NONE) {
        group_commit_args_t args = {
            .group_id = body->group_id,
            .generation_id = req->version >= 3 ? body->generation_id : -1,
            .member_id = req->version >= 3 ? body->member_id : proto_str_c(""),
            .group_instance_id = req->version >= 3 ? body->group_instance_id : (proto_str_t){NULL, -1},
            .retention_time_ms = -1,
            .partitions = parts,
            .partitions_count = total,
        };
        (void)group_txn_offset_commit(broker->groups.coord, &args, body->producer_id, body->producer_epoch,
                                      clock_wall_ms());
        broker_groups_schedule(broker);
    }
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_txn_offset_commit_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_txn_offset_commit_req_topic_t *rt = &body->topics.items[i];
        proto_txn_offset_commit_resp_topic_t *ot = &resp->topics.items[i];
        ot->name = rt->name;
        int32_t np = rt->partitions.n > 0 ? rt->partitions.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_txn_offset_commit_resp_partition_desc, np))
            return BROKER_CLOSE;
        for (int32_t j = 0; j < np; j++, k++) {
            ot->partitions.items[j].partition_index = parts[k].partition;
            ot->partitions.items[j].error_code =
                req->version < 2 && parts[k].error_code == KERR_COORDINATOR_LOAD_IN_PROGRESS
                    ? KERR_COORDINATOR_NOT_AVAILABLE
                    : parts[k].error_code;
        }
    }
    return BROKER_RESPOND;
}
