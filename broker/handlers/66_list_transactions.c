/*
 * ListTransactions (66), v0-1. Every transactional id this coordinator
 * knows, optionally filtered by state names and producer ids; states the
 * broker does not know come back in unknown_state_filters. v1 adds a
 * duration filter: only transactions open for longer than it.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_list_transactions(broker_req_t *req)
{
    const proto_list_transactions_req_t *body = req->body;
    proto_list_transactions_resp_t *resp = req->resp;
    txn_coordinator_t *coord = req->broker->txns.coord;
    int32_t nstates = body->state_filters.n > 0 ? body->state_filters.n : 0;
    /* state names we do not know are reported back, as Kafka does */
    int32_t unknown = 0;
    proto_str_t *unk = nstates ? arena_alloc(&req->arena, sizeof(*unk) * (size_t)nstates) : NULL;
    if (nstates && !unk)
        return BROKER_CLOSE;
    for (int32_t i = 0; i < nstates; i++) {
        bool known = false;
        for (int s = 0; s < 8 && !known; s++)
            known = broker_str_eq(body->state_filters.items[i], txn_state_name((txn_state_t)s));
        if (!known)
            unk[unknown++] = body->state_filters.items[i];
    }
    resp->unknown_state_filters.n = unknown;
    resp->unknown_state_filters.items = unk;
    txn_listing_t *all = NULL;
    int32_t n = txn_list(coord, &req->arena, &all);
    int64_t now = clock_wall_ms();
    if (!BROKER_FILL_ARRAY(req, resp->transaction_states, proto_list_transactions_resp_state_desc, n))
        return BROKER_CLOSE;
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *state = txn_state_name(all[i].state);
        bool keep = nstates == 0;
        for (int32_t s = 0; s < nstates && !keep; s++)
            keep = broker_str_eq(body->state_filters.items[s], state);
        if (keep && body->producer_id_filters.n > 0) {
            keep = false;
            for (int32_t p = 0; p < body->producer_id_filters.n && !keep; p++)
                keep = body->producer_id_filters.items[p] == all[i].producer_id;
        }
        if (keep && req->version >= 1 && body->duration_filter >= 0) {
            txn_description_t d;
            keep = txn_describe(coord, all[i].transactional_id, &req->arena, &d) == KERR_NONE &&
                   d.transaction_start_ms >= 0 && now - d.transaction_start_ms > body->duration_filter;
        }
        if (!keep)
            continue;
        resp->transaction_states.items[k].transactional_id = all[i].transactional_id;
        resp->transaction_states.items[k].producer_id = all[i].producer_id;
        resp->transaction_states.items[k].transaction_state = proto_str_c(state);
        k++;
    }
    resp->transaction_states.n = k;
    return BROKER_RESPOND;
}
