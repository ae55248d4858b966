/*
 * JoinGroup (11), v0-9. v1 adds rebalance_timeout_ms (v0 uses the session
 * timeout); v4 answers MEMBER_ID_REQUIRED to a new member without an id so
 * it rejoins with one; v5 group_instance_id (static membership); v6
 * flexible; v7 protocol_type/protocol_name in the answer; v8 reason; v9
 * skip_assignment for a static leader rejoining a stable group. The group
 * logic is coordinator/group.c; a join that must wait for the others parks
 * here and is answered from the coordinator's callback.
 */
#include "base/clock.h"
#include "broker/broker.h"

static void join_fill(broker_req_t *req, const group_join_result_t *res)
{
    proto_join_group_resp_t *resp = req->resp;
    resp->error_code = res->error_code;
    resp->generation_id = res->generation_id;
    resp->protocol_type = res->protocol_type;
    resp->protocol_name = res->protocol_name;
    resp->leader = res->leader;
    resp->member_id = res->member_id;
    resp->skip_assignment = res->skip_assignment;
    if (res->members_count > 0 &&
        BROKER_FILL_ARRAY(req, resp->members, proto_join_group_resp_member_desc, res->members_count)) {
        for (int32_t i = 0; i < res->members_count; i++) {
            resp->members.items[i].member_id = res->members[i].member_id;
            resp->members.items[i].group_instance_id = res->members[i].group_instance_id;
            resp->members.items[i].metadata = res->members[i].metadata;
        }
    }
}

static void join_done(group_waiter_t *w, const group_join_result_t *res)
{
    broker_req_t *req = (broker_req_t *)((char *)w - offsetof(broker_req_t, waiter));
    req->group_waiting = false;
    join_fill(req, res);
    broker_req_finish(req, BROKER_RESPOND);
}

broker_result_t broker_handle_join_group(broker_req_t *req)
{
    const proto_join_group_req_t *body = req->body;
    int32_t n = body->protocols.n > 0 ? body->protocols.n : 0;
    group_protocol_t *protocols = n ? arena_alloc(&req->arena, sizeof(*protocols) * (size_t)n) : NULL;
    if (n && !protocols)
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        protocols[i].name = body->protocols.items[i].name;
        protocols[i].metadata = body->protocols.items[i].metadata;
    }
    group_join_args_t args = {
        .group_id = body->group_id,
        .member_id = body->member_id,
        .group_instance_id = req->version >= 5 ? body->group_instance_id : (proto_str_t){NULL, -1},
        .protocol_type = body->protocol_type,
        .protocols = protocols,
        .protocols_count = n,
        .session_timeout_ms = body->session_timeout_ms,
        .rebalance_timeout_ms = req->version >= 1 ? body->rebalance_timeout_ms : -1,
        .api_version = req->version,
        .client_id = req->hdr.client_id.len >= 0 ? req->hdr.client_id : proto_str_c(""),
        .client_host = proto_str_c(req->conn->peer),
        .reason = body->reason,
    };
    group_waiter_init(&req->waiter, &req->arena, join_done, NULL);
    group_status_t st = group_join(req->broker->groups.coord, &args, clock_wall_ms(), &req->waiter);
    broker_groups_schedule(req->broker);
    if (st == GROUP_PARKED) {
        broker_groups_wait(req);
        return BROKER_PARKED;
    }
    join_fill(req, &req->waiter.join);
    return BROKER_RESPOND;
}
