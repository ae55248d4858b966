/*
 * OffsetCommit (8), v0-9. v0 has no generation or member: Kafka 3.9 wrote
 * it to ZooKeeper, and without ZooKeeper (KRaft) a v0 commit that names any
 * existing partition fails whole with UNSUPPORTED_VERSION; eddy, having no
 * ZooKeeper either, answers the same. v1 adds generation, member and a
 * per-partition commit_timestamp (-1: now) that becomes the offset's commit
 * time; v2-4 carry retention_time_ms instead; v5 drops it; v6 adds
 * committed_leader_epoch; v7 group_instance_id; v8 flexible; v9 is the same
 * for classic groups. generation -1 with an empty member id is a "simple"
 * commit from a consumer outside any group. Partitions of topics that do
 * not exist get UNKNOWN_TOPIC_OR_PARTITION; the rest are validated and
 * written to __consumer_offsets by coordinator/group_offsets.c.
 */
#include "base/clock.h"
#include "broker/broker.h"

/* Durable mode: the answer waits until the commit's __consumer_offsets partition is fsynced past it. */
typedef struct commit_wait_s {
    int32_t partition;
    int64_t target;
} commit_wait_t;

static broker_result_t commit_resume(broker_req_t *req, bool timed_out)
{
    const commit_wait_t *w = req->park_state;
    broker_topic_t *t = req->broker->groups.offsets_topic;
    int d = broker_storage_durable(t, w->partition, w->target);
    if (d == 0 && !timed_out)
        return BROKER_PARKED;
    if (d != 1) {
        proto_offset_commit_resp_t *resp = req->resp;
        for (int32_t i = 0; i < resp->topics.n; i++)
            for (int32_t j = 0; j < resp->topics.items[i].partitions.n; j++)
                if (resp->topics.items[i].partitions.items[j].error_code == KERR_NONE)
                    resp->topics.items[i].partitions.items[j].error_code =
                        d == 0 ? KERR_REQUEST_TIMED_OUT : KERR_KAFKA_STORAGE_ERROR;
    }
    return BROKER_RESPOND;
}

broker_result_t broker_handle_offset_commit(broker_req_t *req)
{
    const proto_offset_commit_req_t *body = req->body;
    proto_offset_commit_resp_t *resp = req->resp;
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0, total = 0;
    for (int32_t i = 0; i < ntopics; i++)
        total += body->topics.items[i].partitions.n > 0 ? body->topics.items[i].partitions.n : 0;
    group_commit_partition_t *parts = arena_alloc(&req->arena, sizeof(*parts) * (size_t)(total ? total : 1));
    int64_t *commit_ts =
        req->version == 1 ? arena_alloc(&req->arena, sizeof(*commit_ts) * (size_t)(total ? total : 1)) : NULL;
    if (!parts || (req->version == 1 && !commit_ts))
        return BROKER_CLOSE;
    int32_t k = 0, known = 0;
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
            if (commit_ts)
                commit_ts[k] = rp->commit_timestamp;
            parts[k].error_code =
                t && broker_topic_partition(t, rp->partition_index) ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
            known += parts[k].error_code == KERR_NONE;
        }
    }
    /* v0 went to ZooKeeper; Kafka without it fails every partition (its error response), once any is valid. */
    if (req->version == 0 && known > 0)
        for (int32_t i = 0; i < total; i++)
            parts[i].error_code = KERR_UNSUPPORTED_VERSION;
    group_commit_args_t args = {
        .group_id = body->group_id,
        .generation_id = body->generation_id_or_member_epoch,
        .member_id = body->member_id,
        .group_instance_id = req->version >= 7 ? body->group_instance_id : (proto_str_t){NULL, -1},
        .retention_time_ms = req->version >= 2 && req->version <= 4 ? body->retention_time_ms : -1,
        .partitions = parts,
        .partitions_count = total,
    };
    int16_t err = req->version == 0 ? KERR_UNSUPPORTED_VERSION : KERR_NONE;
    if (req->version > 0) {
        err = group_offset_commit_at(req->broker->groups.coord, &args, commit_ts, clock_wall_ms());
        broker_groups_schedule(req->broker);
    }
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
    broker_topic_t *ot = req->broker->groups.offsets_topic;
    if (err == KERR_NONE && ot && ot->flush_messages == 1 && total > 0) {
        commit_wait_t *w = arena_alloc(&req->arena, sizeof(*w));
        if (!w)
            return BROKER_CLOSE;
        w->partition = group_partition_for(req->broker->groups.coord, body->group_id);
        broker_partition_t *part = broker_topic_partition(ot, w->partition);
        w->target = part && part->log ? log_partition_end_offset(part->log) : 0;
        req->park_state = w;
        broker_result_t r = commit_resume(req, false);
        if (r == BROKER_PARKED)
            broker_req_park(req, BROKER_WAIT_FLUSH, commit_resume, w, (int64_t)uv_now(req->broker->loop) + 30000);
        return r;
    }
    return BROKER_RESPOND;
}
