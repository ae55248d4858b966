/*
 * OffsetCommit (8), v2-9. v2-4 carry retention_time_ms; v5 drops it; v6
 * adds committed_leader_epoch; v7 group_instance_id; v8 flexible; v9 is the
 * same for classic groups. generation -1 with an empty member id is a
 * "simple" commit from a consumer outside any group. Partitions of topics
 * that do not exist get UNKNOWN_TOPIC_OR_PARTITION; the rest are validated
 * and written to __consumer_offsets by coordinator/group_offsets.c.
 */
#include "base/clock.h"
#include "broker/broker.h"

broker_result_t broker_handle_offset_commit(broker_req_t *req)
{
    const proto_offset_commit_req_t *body = req->body;
    proto_offset_commit_resp_t *resp = req->resp;
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0, total = 0;
    for (int32_t i = 0; i < ntopics; i++)
        total += body->topics.items[i].partitions.n > 0 ? body->topics.items[i].partitions.n : 0;
    group_commit_partition_t *parts = arena_alloc(&req->arena, sizeof(*parts) * (size_t)(total ? total : 1));
    if (!parts)
        return BROKER_CLOSE;
    int32_t k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_offset_commit_req_topic_t *rt = &body->topics.items[i];
        broker_topic_t *t =
            rt->name.len > 0 ? broker_topics_get(&req->broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len)
                             : NULL;
        for (int32_t j = 0; j < rt->partitions.n; j++, k++) {
            const proto_offset_commit_req_partition_t *rp = &rt->partitions.items[j];
            parts[k].topic = rt->name;
            parts[k].partition = rp->partition_index;
            parts[k].offset = rp->committed_offset;
            parts[k].leader_epoch = req->version >= 6 ? rp->committed_leader_epoch : -1;
            parts[k].metadata = rp->committed_metadata;
            parts[k].error_code =
                t && broker_topic_partition(t, rp->partition_index) ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    group_commit_args_t args = {
        .group_id = body->group_id,
        .generation_id = body->generation_id_or_member_epoch,
        .member_id = body->member_id,
        .group_instance_id = req->version >= 7 ? body->group_instance_id : (proto_str_t){NULL, -1},
        .retention_time_ms = req->version <= 4 ? body->retention_time_ms : -1,
        .partitions = parts,
        .partitions_count = total,
    };
    (void)group_offset_commit(req->broker->groups.coord, &args, clock_wall_ms());
    broker_groups_schedule(req->broker);
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_offset_commit_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    k = 0;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_offset_commit_req_topic_t *rt = &body->topics.items[i];
        proto_offset_commit_resp_topic_t *ot = &resp->topics.items[i];
        ot->name = rt->name;
        int32_t np = rt->partitions.n > 0 ? rt->partitions.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_offset_commit_resp_partition_desc, np))
            return BROKER_CLOSE;
        for (int32_t j = 0; j < np; j++, k++) {
            ot->partitions.items[j].partition_index = parts[k].partition;
            ot->partitions.items[j].error_code = parts[k].error_code;
        }
    }
    return BROKER_RESPOND;
}
