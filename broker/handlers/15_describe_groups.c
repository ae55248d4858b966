/*
 * DescribeGroups (15), v0-5. One answer per group id: state, protocol type
 * and (when Stable) protocol and each member's metadata and assignment. v3
 * adds authorized_operations (-2^31: not computed), v4 group_instance_id,
 * v5 flexible. An unknown group is answered as Dead with no error.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_describe_groups(broker_req_t *req)
{
    const proto_describe_groups_req_t *body = req->body;
    proto_describe_groups_resp_t *resp = req->resp;
    int32_t n = body->groups.n > 0 ? body->groups.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->groups, proto_describe_groups_resp_group_desc, n))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        proto_describe_groups_resp_group_t *og = &resp->groups.items[i];
        group_description_t d;
        og->group_id = body->groups.items[i];
        og->error_code = group_describe(req->broker->groups.coord, og->group_id, &req->arena, &d, clock_wall_ms());
        og->group_state = d.state;
        og->protocol_type = d.protocol_type;
        og->protocol_data = d.protocol_name;
        if (og->error_code != KERR_NONE || d.members_count <= 0)
            continue;
        if (!BROKER_FILL_ARRAY(req, og->members, proto_describe_groups_resp_member_desc, d.members_count))
            return BROKER_CLOSE;
        for (int32_t m = 0; m < d.members_count; m++) {
            proto_describe_groups_resp_member_t *om = &og->members.items[m];
            om->member_id = d.members[m].member_id;
            om->group_instance_id = d.members[m].group_instance_id;
            om->client_id = d.members[m].client_id;
            om->client_host = d.members[m].client_host;
            om->member_metadata = d.members[m].metadata;
            om->member_assignment = d.members[m].assignment;
        }
    }
    return BROKER_RESPOND;
}
