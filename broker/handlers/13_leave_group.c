/*
 * LeaveGroup (13), v0-5. Up to v2 one member leaves (its error is the
 * top-level error); v3 takes a batch of members, by member id or by
 * group_instance_id, each with its own answer; v4 flexible; v5 reason.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_leave_group(broker_req_t *req)
{
    const proto_leave_group_req_t *body = req->body;
    proto_leave_group_resp_t *resp = req->resp;
    bool batch = req->version >= 3;
    int32_t n = batch ? (body->members.n > 0 ? body->members.n : 0) : 1;
    group_leave_member_t *members = arena_alloc(&req->arena, sizeof(*members) * (size_t)(n ? n : 1));
    if (!members)
        return BROKER_CLOSE;
    if (batch) {
        for (int32_t i = 0; i < n; i++) {
            members[i].member_id = body->members.items[i].member_id;
            members[i].group_instance_id = body->members.items[i].group_instance_id;
            members[i].reason = body->members.items[i].reason;
        }
    } else {
        members[0].member_id = body->member_id;
        members[0].group_instance_id = (proto_str_t){NULL, -1};
        members[0].reason = (proto_str_t){NULL, -1};
    }
    int16_t err = group_leave(req->broker->groups.coord, body->group_id, members, n, clock_wall_ms());
    broker_groups_schedule(req->broker);
    resp->error_code = err;
    if (!batch) {
        if (err == KERR_NONE)
            resp->error_code = members[0].error_code;
        return BROKER_RESPOND;
    }
    if (!BROKER_FILL_ARRAY(req, resp->members, proto_leave_group_resp_member_desc, n))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        resp->members.items[i].member_id = members[i].member_id;
        resp->members.items[i].group_instance_id = members[i].group_instance_id;
        resp->members.items[i].error_code = members[i].error_code;
    }
    return BROKER_RESPOND;
}
