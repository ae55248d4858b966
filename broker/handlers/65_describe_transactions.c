/*
 * DescribeTransactions (65), v0. State, producer id and epoch, timeout,
 * start time and partitions of each requested transactional id;
 * TRANSACTIONAL_ID_NOT_FOUND for an unknown one.
 */
#include "broker/broker.h"

broker_result_t broker_handle_describe_transactions(broker_req_t *req)
{
    const proto_describe_transactions_req_t *body = req->body;
    proto_describe_transactions_resp_t *resp = req->resp;
    int32_t n = body->transactional_ids.n > 0 ? body->transactional_ids.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->transaction_states, proto_describe_transactions_resp_state_desc, n))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        proto_describe_transactions_resp_state_t *os = &resp->transaction_states.items[i];
        os->transactional_id = body->transactional_ids.items[i];
        txn_description_t d;
        os->error_code = txn_describe(req->broker->txns.coord, os->transactional_id, &req->arena, &d);
        if (os->error_code != KERR_NONE)
            continue;
        os->transaction_state = proto_str_c(txn_state_name(d.state));
        os->transaction_timeout_ms = d.transaction_timeout_ms;
        os->transaction_start_time_ms = d.transaction_start_ms;
        os->producer_id = d.producer_id;
        os->producer_epoch = d.producer_epoch;
        /* group the partitions by topic, in the coordinator's order */
        int32_t ntopics = 0;
        for (int32_t k = 0; k < d.partitions_count; k++)
            if (k == 0 || !broker_str_same(d.partitions[k].topic, d.partitions[k - 1].topic))
                ntopics++;
        if (!BROKER_FILL_ARRAY(req, os->topics, proto_describe_transactions_resp_topic_desc, ntopics))
            return BROKER_CLOSE;
        int32_t t = -1;
        for (int32_t k = 0; k < d.partitions_count; k++) {
            if (k == 0 || !broker_str_same(d.partitions[k].topic, d.partitions[k - 1].topic)) {
                int32_t np = 0;
                while (k + np < d.partitions_count && broker_str_same(d.partitions[k + np].topic, d.partitions[k].topic))
                    np++;
                t++;
                os->topics.items[t].topic = d.partitions[k].topic;
                os->topics.items[t].partitions.items = arena_alloc(&req->arena, sizeof(int32_t) * (size_t)np);
                if (!os->topics.items[t].partitions.items)
                    return BROKER_CLOSE;
                os->topics.items[t].partitions.n = 0;
            }
            os->topics.items[t].partitions.items[os->topics.items[t].partitions.n++] = d.partitions[k].partition;
        }
    }
    return BROKER_RESPOND;
}
