/*
 * InitProducerId (22), v0-5. Without a transactional id a producer gets a
 * fresh producer id at epoch 0 (ids come from persisted blocks, so they are
 * never reused, even after a restart). With one, the transaction
 * coordinator bumps the epoch, fencing older instances, and aborts a
 * transaction they left open (the client then sees CONCURRENT_TRANSACTIONS
 * and retries). v2 is flexible; v3 lets a producer supply its id and epoch
 * to recover (KIP-360); v4 answers PRODUCER_FENCED where older versions get
 * INVALID_PRODUCER_EPOCH.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_init_producer_id(broker_req_t *req)
{
    const proto_init_producer_id_req_t *body = req->body;
    proto_init_producer_id_resp_t *resp = req->resp;
    txn_init_pid_args_t args = {
        .transactional_id = body->transactional_id,
        .transaction_timeout_ms = body->transaction_timeout_ms,
        .producer_id = req->version >= 3 ? body->producer_id : -1,
        .producer_epoch = req->version >= 3 ? body->producer_epoch : -1,
        .api_version = req->version,
    };
    txn_init_pid_result_t res;
    resp->error_code = txn_init_producer_id(req->broker->txns.coord, &args, &res, clock_wall_ms());
    resp->producer_id = res.producer_id;
    resp->producer_epoch = res.producer_epoch;
    /* A fence queues markers for the aborted transaction: write them now. */
    broker_txns_run(req->broker);
    return BROKER_RESPOND;
}
