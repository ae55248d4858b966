/*
 * SyncGroup (14), v0-5. The leader sends every member's assignment; the
 * others wait (parked) until it arrives. v3 adds group_instance_id, v4 is
 * flexible, v5 adds protocol_type/protocol_name both ways, checked against
 * the group's.
 */
#include "base/clock.h"
#include "broker/broker.h"

static void sync_fill(broker_req_t *req, const group_sync_result_t *res)
{
    proto_sync_group_resp_t *resp = req->resp;
    resp->error_code = res->error_code;
    resp->protocol_type = res->protocol_type;
    resp->protocol_name = res->protocol_name;
    resp->assignment = res->assignment;
}

static void sync_done(group_waiter_t *w, const group_sync_result_t *res)
{
    broker_req_t *req = (broker_req_t *)((char *)w - offsetof(broker_req_t, waiter));
    req->group_waiting = false;
    sync_fill(req, res);
    broker_req_finish(req, BROKER_RESPOND);
}

broker_result_t broker_handle_sync_group(broker_req_t *req)
{
    const proto_sync_group_req_t *body = req->body;
    int32_t n = body->assignments.n > 0 ? body->assignments.n : 0;
    group_assignment_t *assignments = n ? arena_alloc(&req->arena, sizeof(*assignments) * (size_t)n) : NULL;
    if (n && !assignments)
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        assignments[i].member_id = body->assignments.items[i].member_id;
        assignments[i].assignment = body->assignments.items[i].assignment;
    }
    group_sync_args_t args = {
        .group_id = body->group_id,
        .generation_id = body->generation_id,
        .member_id = body->member_id,
        .group_instance_id = req->version >= 3 ? body->group_instance_id : (proto_str_t){NULL, -1},
        .protocol_type = req->version >= 5 ? body->protocol_type : (proto_str_t){NULL, -1},
        .protocol_name = req->version >= 5 ? body->protocol_name : (proto_str_t){NULL, -1},
        .assignments = assignments,
        .assignments_count = n,
    };
    group_waiter_init(&req->waiter, &req->arena, NULL, sync_done);
    group_status_t st = group_sync(req->broker->groups.coord, &args, clock_wall_ms(), &req->waiter);
    broker_groups_schedule(req->broker);
    if (st == GROUP_PARKED) {
        broker_groups_wait(req);
        return BROKER_PARKED;
    }
    sync_fill(req, &req->waiter.sync);
    return BROKER_RESPOND;
}
