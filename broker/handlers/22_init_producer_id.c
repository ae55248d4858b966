/*
 * InitProducerId (22), v0-5. Without a transactional id a producer gets a
 * fresh producer id at epoch 0, whatever id and epoch it offers (v3+ may send
 * its current ones to bump the epoch; a new id serves the same purpose).
 * v2 is flexible. Transactional ids are answered with an error until the
 * transaction coordinator exists.
 */
#include "broker/broker.h"

#define INIT_PID_TXN_MAX_TIMEOUT_MS 900000 /* transaction.max.timeout.ms */

broker_result_t broker_handle_init_producer_id(broker_req_t *req)
{
    const proto_init_producer_id_req_t *body = req->body;
    proto_init_producer_id_resp_t *resp = req->resp;
    if (body->transactional_id.len >= 0) {
        if (body->transactional_id.len == 0)
            resp->error_code = KERR_INVALID_REQUEST;
        else if (body->transaction_timeout_ms <= 0 || body->transaction_timeout_ms > INIT_PID_TXN_MAX_TIMEOUT_MS)
            resp->error_code = KERR_INVALID_TRANSACTION_TIMEOUT;
        else
            resp->error_code = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED; /* no transactions yet */
        return BROKER_RESPOND;
    }
    resp->producer_id = req->broker->next_producer_id++;
    resp->producer_epoch = 0;
    return BROKER_RESPOND;
}
