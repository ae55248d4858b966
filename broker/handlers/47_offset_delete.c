/*
 * OffsetDelete (47), v0. Deletes a group's committed offsets for some
 * partitions, refusing (GROUP_SUBSCRIBED_TO_TOPIC) topics an active member
 * is subscribed to.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_offset_delete(broker_req_t *req)
{
    const proto_offset_delete_req_t *body = req->body;
    proto_offset_delete_resp_t *resp = req->resp;
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0, total = 0;
    for (int32_t i = 0; i < ntopics; i++)
        total += body->topics.items[i].partitions.n > 0 ? body->topics.items[i].partitions.n : 0;
    group_delete_partition_t *parts = arena_alloc(&req->arena, sizeof(*parts) * (size_t)(total ? total : 1));
    if (!parts)
        return BROKER_CLOSE;
    int32_t k = 0;
    for (int32_t i = 0; i < ntopics; i++)
        for (int32_t j = 0; j < body->topics.items[i].partitions.n; j++, k++) {
            parts[k].topic = body->topics.items[i].name;
            parts[k].partition = body->topics.items[i].partitions.items[j].partition_index;
        }
    resp->error_code = group_offset_delete(req->broker->groups.coord, body->group_id, parts, total, clock_wall_ms());
    broker_groups_schedule(req->broker);
    if (resp->error_code != KERR_NONE)
        return BROKER_RESPOND;
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_offset_delete_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        proto_offset_delete_resp_topic_t *ot = &resp->topics.items[i];
        ot->name = body->topics.items[i].name;
        int32_t np = body->topics.items[i].partitions.n > 0 ? body->topics.items[i].partitions.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_offset_delete_resp_partition_desc, np))
            return BROKER_CLOSE;
        for (int32_t j = 0; j < np; j++, k++) {
            ot->partitions.items[j].partition_index = parts[k].partition;
            ot->partitions.items[j].error_code = parts[k].error_code;
        }
    }
    return BROKER_RESPOND;
}
