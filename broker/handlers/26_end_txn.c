/*
 * EndTxn (26), v0-4. Commits or aborts the producer's transaction: the
 * coordinator records PrepareCommit/PrepareAbort, the answer goes back, and
 * the broker writes a marker into every partition of the transaction (which
 * moves the last stable offsets and makes staged offsets visible or drops
 * them), then the transaction completes. A retry of the same decision is
 * NONE, the opposite one INVALID_TXN_STATE. v3 flexible; v2 maps
 * PRODUCER_FENCED, earlier versions get INVALID_PRODUCER_EPOCH.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_end_txn(broker_req_t *req)
{
    const proto_end_txn_req_t *body = req->body;
    proto_end_txn_resp_t *resp = req->resp;
    txn_end_result_t res;
    resp->error_code = txn_end(req->broker->txns.coord, body->transactional_id, body->producer_id,
                               body->producer_epoch, body->committed, req->version, &req->arena, &res, clock_wall_ms());
    /* The markers go in before the answer leaves: a client that reads right
     * after its commit must find the transaction's records stable. */
    if (resp->error_code == KERR_NONE && res.has_markers)
        broker_txns_write_markers(req->broker, &res.markers);
    broker_txns_run(req->broker);
    return BROKER_RESPOND;
}
