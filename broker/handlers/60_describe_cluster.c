/*
 * DescribeCluster (60), v0-1 (flexible from v0). The cluster id, the
 * controller (this broker) and the brokers; v1 adds endpoint_type, and only
 * brokers (1) are described — controllers (2) get UNSUPPORTED_ENDPOINT_TYPE.
 */
#include "broker/broker.h"

broker_result_t broker_handle_describe_cluster(broker_req_t *req)
{
    const proto_describe_cluster_req_t *body = req->body;
    proto_describe_cluster_resp_t *resp = req->resp;
    const broker_config_t *cfg = req->broker->cfg;
    resp->endpoint_type = req->version >= 1 ? body->endpoint_type : 1;
    if (req->version >= 1 && body->endpoint_type != 1) {
        resp->error_code = KERR_UNSUPPORTED_ENDPOINT_TYPE;
        resp->error_message = proto_str_c("eddy describes brokers only (endpoint type 1)");
        return BROKER_RESPOND;
    }
    resp->cluster_id = proto_str_c(req->broker->cluster_id);
    resp->controller_id = cfg->node_id;
    if (!BROKER_FILL_ARRAY(req, resp->brokers, proto_describe_cluster_resp_broker_desc, 1))
        return BROKER_CLOSE;
    resp->brokers.items[0].broker_id = cfg->node_id;
    resp->brokers.items[0].host = proto_str_c(cfg->advertised_host);
    resp->brokers.items[0].port = cfg->advertised_port;
    return BROKER_RESPOND;
}
