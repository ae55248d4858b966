/*
 * FindCoordinator (10), v0-6. A single broker coordinates every group and
 * every transactional id, so the answer is always this broker, once the key
 * is valid: an empty group id is INVALID_GROUP_ID, an empty transactional id
 * INVALID_REQUEST, and an unknown key type INVALID_REQUEST. v4+ takes a batch
 * of keys and answers each. As in Kafka, the first valid key of a type
 * creates that coordinator's internal topic (__consumer_offsets or
 * __transaction_state), so a broker that never sees a group or a
 * transaction never pays for their 50 partitions; if the creation fails the
 * key gets COORDINATOR_NOT_AVAILABLE and the client retries.
 */
#include "broker/broker.h"

#define FIND_COORD_GROUP       0
#define FIND_COORD_TRANSACTION 1

static int16_t check_key(broker_t *broker, int8_t key_type, proto_str_t key)
{
    if (key_type == FIND_COORD_GROUP) {
        if (key.len <= 0)
            return KERR_INVALID_GROUP_ID;
        return broker_groups_topic(broker) == 0 ? KERR_NONE : KERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (key_type == FIND_COORD_TRANSACTION) {
        if (key.len <= 0)
            return KERR_INVALID_REQUEST;
        return broker_txns_topic(broker) == 0 ? KERR_NONE : KERR_COORDINATOR_NOT_AVAILABLE;
    }
    return KERR_INVALID_REQUEST;
}

broker_result_t broker_handle_find_coordinator(broker_req_t *req)
{
    const proto_find_coordinator_req_t *body = req->body;
    proto_find_coordinator_resp_t *resp = req->resp;
    const broker_config_t *cfg = req->broker->cfg;
    if (req->version < 4) {
        resp->error_code = check_key(req->broker, body->key_type, body->key);
        if (resp->error_code == KERR_NONE) {
            resp->node_id = cfg->node_id;
            resp->host = proto_str_c(cfg->advertised_host);
            resp->port = cfg->advertised_port;
        } else {
            resp->node_id = -1;
            resp->port = -1;
        }
        return BROKER_RESPOND;
    }
    int32_t n = body->coordinator_keys.n > 0 ? body->coordinator_keys.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->coordinators, proto_find_coordinator_resp_coordinator_desc, n))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        proto_find_coordinator_resp_coordinator_t *c = &resp->coordinators.items[i];
        c->key = body->coordinator_keys.items[i];
        c->error_code = check_key(req->broker, body->key_type, c->key);
        c->node_id = c->error_code == KERR_NONE ? cfg->node_id : -1;
        c->host = proto_str_c(c->error_code == KERR_NONE ? cfg->advertised_host : "");
        c->port = c->error_code == KERR_NONE ? cfg->advertised_port : -1;
    }
    return BROKER_RESPOND;
}
