/*
 * ListGroups (16), v0-5. Every group this broker coordinates; v3 flexible;
 * v4 adds a states filter and the state in the answer; v5 a types filter
 * ("classic") and the type.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_list_groups(broker_req_t *req)
{
    const proto_list_groups_req_t *body = req->body;
    proto_list_groups_resp_t *resp = req->resp;
    group_overview_t *groups = NULL;
    int32_t count = 0;
    const proto_arr_string_t *states = &body->states_filter, *types = &body->types_filter;
    resp->error_code =
        group_list(req->broker->groups.coord, req->version >= 4 ? states->items : NULL,
                   req->version >= 4 && states->n > 0 ? states->n : 0, req->version >= 5 ? types->items : NULL,
                   req->version >= 5 && types->n > 0 ? types->n : 0, &req->arena, &groups, &count, clock_wall_ms());
    if (!BROKER_FILL_ARRAY(req, resp->groups, proto_list_groups_resp_group_desc, count))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < count; i++) {
        resp->groups.items[i].group_id = groups[i].group_id;
        resp->groups.items[i].protocol_type = groups[i].protocol_type;
        resp->groups.items[i].group_state = groups[i].state;
        resp->groups.items[i].group_type = groups[i].group_type;
    }
    return BROKER_RESPOND;
}
