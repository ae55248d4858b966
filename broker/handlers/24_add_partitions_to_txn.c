/*
 * AddPartitionsToTxn (24), v0-5. Adds partitions to the producer's open
 * transaction; every partition gets its own error: unknown ones
 * UNKNOWN_TOPIC_OR_PARTITION, and when any fails the others
 * OPERATION_NOT_ATTEMPTED. v2 maps PRODUCER_FENCED, earlier versions get
 * INVALID_PRODUCER_EPOCH; v3 flexible. v0-3 come from clients, which may
 * not add internal topics (TOPIC_AUTHORIZATION_FAILED, as Kafka's
 * authorizer answers). v4-5 are Kafka's broker-to-broker form: a batch of
 * transactions answered one result each, internal topics allowed, and
 * verify_only transactions only checked (coordinator/txn.h
 * txn_verify_partitions), as Kafka 3.9 serves them to any sender (eddy has
 * no CLUSTER_ACTION authorizer).
 */
#include "base/clock.h"
#include "broker/broker.h"

typedef struct {
    proto_str_t name;
    const proto_arr_int32_t *partitions;
} topic_view_t;

/* Flattens one transaction's topics into partitions with their first check done. */
static txn_partition_t *collect(broker_req_t *req, const topic_view_t *topics, int32_t ntopics, int32_t *total)
{
    int32_t n = 0;
    for (int32_t i = 0; i < ntopics; i++)
        n += topics[i].partitions->n > 0 ? topics[i].partitions->n : 0;
    txn_partition_t *parts = arena_alloc(&req->arena, sizeof(*parts) * (size_t)(n ? n : 1));
    if (!parts)
        return NULL;
    int32_t k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        proto_str_t name = topics[i].name;
        broker_topic_t *t =
            name.len > 0 ? broker_topics_get(&req->broker->topics, (const char *)name.ptr, (size_t)name.len) : NULL;
        bool internal = t && broker_topic_is_internal(t->name, t->name_len);
        for (int32_t j = 0; j < topics[i].partitions->n; j++, k++) {
            parts[k].topic = name;
            parts[k].partition = topics[i].partitions->items[j];
            parts[k].error_code = internal && req->version < 4 ? KERR_TOPIC_AUTHORIZATION_FAILED
                                  : t && broker_topic_partition(t, parts[k].partition)
                                      ? KERR_NONE
                                      : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    *total = n;
    return parts;
}

static broker_result_t handle_batch(broker_req_t *req)
{
    const proto_add_partitions_to_txn_req_t *body = req->body;
    proto_add_partitions_to_txn_resp_t *resp = req->resp;
    int32_t ntx = body->transactions.n > 0 ? body->transactions.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->results_by_transaction, proto_add_partitions_to_txn_resp_txn_result_desc, ntx))
        return BROKER_CLOSE;
    for (int32_t x = 0; x < ntx; x++) {
        const proto_add_partitions_to_txn_req_transaction_t *tx = &body->transactions.items[x];
        proto_add_partitions_to_txn_resp_txn_result_t *out = &resp->results_by_transaction.items[x];
        out->transactional_id = tx->transactional_id;
        int32_t ntopics = tx->topics.n > 0 ? tx->topics.n : 0, total = 0;
        topic_view_t *views = arena_alloc(&req->arena, sizeof(*views) * (size_t)(ntopics ? ntopics : 1));
        if (!views)
            return BROKER_CLOSE;
        for (int32_t i = 0; i < ntopics; i++)
            views[i] = (topic_view_t){tx->topics.items[i].name, &tx->topics.items[i].partitions};
        txn_partition_t *parts = collect(req, views, ntopics, &total);
        if (!parts)
            return BROKER_CLOSE;
        if (tx->verify_only)
            (void)txn_verify_partitions(req->broker->txns.coord, tx->transactional_id, tx->producer_id,
                                        tx->producer_epoch, parts, total, clock_wall_ms());
        else
            (void)txn_add_partitions(req->broker->txns.coord, tx->transactional_id, tx->producer_id, tx->producer_epoch,
                                     parts, total, req->version, clock_wall_ms());
        if (!BROKER_FILL_ARRAY(req, out->topic_results, proto_add_partitions_to_txn_resp_txn_topic_result_desc,
                               ntopics))
            return BROKER_CLOSE;
        int32_t k = 0;
        for (int32_t i = 0; i < ntopics; i++) {
            proto_add_partitions_to_txn_resp_txn_topic_result_t *ot = &out->topic_results.items[i];
            ot->name = views[i].name;
            int32_t np = views[i].partitions->n > 0 ? views[i].partitions->n : 0;
            if (!BROKER_FILL_ARRAY(req, ot->results_by_partition,
                                   proto_add_partitions_to_txn_resp_txn_partition_result_desc, np))
                return BROKER_CLOSE;
            for (int32_t j = 0; j < np; j++, k++) {
                ot->results_by_partition.items[j].partition_index = parts[k].partition;
                ot->results_by_partition.items[j].partition_error_code = parts[k].error_code;
            }
        }
    }
    broker_txns_run(req->broker);
    return BROKER_RESPOND;
}

broker_result_t broker_handle_add_partitions_to_txn(broker_req_t *req)
{
    if (req->version >= 4)
        return handle_batch(req);
    const proto_add_partitions_to_txn_req_t *body = req->body;
    proto_add_partitions_to_txn_resp_t *resp = req->resp;
    int32_t ntopics = body->v3_and_below_topics.n > 0 ? body->v3_and_below_topics.n : 0, total = 0;
    topic_view_t *views = arena_alloc(&req->arena, sizeof(*views) * (size_t)(ntopics ? ntopics : 1));
    if (!views)
        return BROKER_CLOSE;
    for (int32_t i = 0; i < ntopics; i++)
        views[i] =
            (topic_view_t){body->v3_and_below_topics.items[i].name, &body->v3_and_below_topics.items[i].partitions};
    txn_partition_t *parts = collect(req, views, ntopics, &total);
    if (!parts)
        return BROKER_CLOSE;
    (void)txn_add_partitions(req->broker->txns.coord, body->v3_and_below_transactional_id,
                             body->v3_and_below_producer_id, body->v3_and_below_producer_epoch, parts, total,
                             req->version, clock_wall_ms());
    broker_txns_run(req->broker);
    if (!BROKER_FILL_ARRAY(req, resp->results_by_topic_v3_and_below, proto_add_partitions_to_txn_resp_topic_result_desc,
                           ntopics))
        return BROKER_CLOSE;
    int32_t k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        proto_add_partitions_to_txn_resp_topic_result_t *ot = &resp->results_by_topic_v3_and_below.items[i];
        ot->name = views[i].name;
        int32_t np = views[i].partitions->n > 0 ? views[i].partitions->n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->results_by_partition, proto_add_partitions_to_txn_resp_partition_result_desc,
                               np))
            return BROKER_CLOSE;
        for (int32_t j = 0; j < np; j++, k++) {
            ot->results_by_partition.items[j].partition_index = parts[k].partition;
            ot->results_by_partition.items[j].partition_error_code = parts[k].error_code;
        }
    }
    return BROKER_RESPOND;
}
