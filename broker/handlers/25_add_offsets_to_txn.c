/*
 * AddOffsetsToTxn (25), v0-4. Adds the group's __consumer_offsets partition
 * to the transaction, so TxnOffsetCommit may stage offsets there. Errors as
 * AddPartitionsToTxn; v3 flexible; v4 may get TRANSACTION_ABORTABLE, which
 * this path never needs.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_add_offsets_to_txn(broker_req_t *req)
{
    const proto_add_offsets_to_txn_req_t *body = req->body;
    proto_add_offsets_to_txn_resp_t *resp = req->resp;
    if (body->group_id.len <= 0) {
        resp->error_code = KERR_INVALID_GROUP_ID;
        return BROKER_RESPOND;
    }
    int32_t partition = group_partition_for(req->broker->groups.coord, body->group_id);
    resp->error_code = txn_add_offsets(req->broker->txns.coord, body->transactional_id, body->producer_id,
                                       body->producer_epoch, partition, req->version, clock_wall_ms());
    broker_txns_run(req->broker);
    return BROKER_RESPOND;
}
