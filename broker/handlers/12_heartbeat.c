/*
 * Heartbeat (12), v0-4. Keeps a member's session alive and tells it when a
 * rebalance started (REBALANCE_IN_PROGRESS). v3 adds group_instance_id, v4
 * is flexible.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_heartbeat(broker_req_t *req)
{
    const proto_heartbeat_req_t *body = req->body;
    proto_heartbeat_resp_t *resp = req->resp;
    resp->error_code =
        group_heartbeat(req->broker->groups.coord, body->group_id, body->generation_id, body->member_id,
                        req->version >= 3 ? body->group_instance_id : (proto_str_t){NULL, -1}, clock_wall_ms());
    broker_groups_schedule(req->broker);
    return BROKER_RESPOND;
}
