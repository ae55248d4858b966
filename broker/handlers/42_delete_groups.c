/*
 * DeleteGroups (42), v0-2. Removes groups that have no members, with their
 * committed offsets (tombstones in __consumer_offsets): NON_EMPTY_GROUP for
 * a group with members, GROUP_ID_NOT_FOUND for an unknown one. v2 flexible.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_delete_groups(broker_req_t *req)
{
    const proto_delete_groups_req_t *body = req->body;
    proto_delete_groups_resp_t *resp = req->resp;
    int32_t n = body->groups_names.n > 0 ? body->groups_names.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->results, proto_delete_groups_resp_result_desc, n))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        resp->results.items[i].group_id = body->groups_names.items[i];
        resp->results.items[i].error_code =
            group_delete(req->broker->groups.coord, body->groups_names.items[i], clock_wall_ms());
    }
    broker_groups_schedule(req->broker);
    return BROKER_RESPOND;
}
