/*
 * ListOffsets (2), v0-9. v0 is Kafka's old offset request: up to
 * max_num_offsets offsets per partition, newest first, taken from segment
 * boundaries (each segment's base offset, stamped with its file's
 * modification time, plus the log end stamped now when the last segment
 * holds data): -1 starts from the log end, -2 gives the first segment's,
 * a timestamp the newest boundary stamped at or before it; other negative
 * timestamps are UNSUPPORTED_VERSION. v1+ special timestamps: -2 earliest (log start), -1
 * latest (high watermark; the last stable offset under read_committed, v2+), -3 the record with the largest
 * timestamp (v7+), -4 earliest local (v8+, the same as earliest here). A
 * timestamp >= 0 finds the first record with a timestamp at or after it,
 * or offset -1 when there is none. v4 adds leader_epoch (-1: eddy exposes
 * no epochs yet), v6 is flexible.
 *
 * Replicas (broker/replicas.h), as Kafka's fetchOffsetForTimestamp: a
 * consumer (replica_id -1) sees offsets up to the high watermark (latest is
 * the HW, or the last stable offset under read_committed; a timestamp
 * lookup past it finds nothing; v0 caps its list at the HW); any other
 * replica id sees up to the log end. Only the leader answers, except to the
 * debugging replica id -2; current_leader_epoch (v4+) is fenced once
 * clients are told real epochs (not yet: see broker/replicas.h). A new
 * leader whose HW has not reached the start of its epoch answers
 * consumers OFFSET_NOT_AVAILABLE. On one broker the HW is the log end.
 */
#include "base/clock.h"
#include "broker/broker.h"
#include "broker/records.h"
#include "broker/replicas.h"

#define LIST_OFFSETS_LATEST         -1
#define LIST_OFFSETS_EARLIEST       -2
#define LIST_OFFSETS_MAX_TIMESTAMP  -3
#define LIST_OFFSETS_EARLIEST_LOCAL -4
#define LIST_OFFSETS_CONSUMER       -1 /* replica_id of clients */
#define LIST_OFFSETS_DEBUGGING      -2 /* replica_id that may ask a follower */

/* The leader requirement and epoch fencing for replica_id; NONE when this node may answer. */
static int16_t list_replica_check(const broker_req_t *req, broker_partition_t *part, int32_t current_leader_epoch)
{
    const proto_list_offsets_req_t *body = req->body;
    int32_t epoch = req->version >= 4 ? broker_replica_client_epoch(&part->replica, current_leader_epoch) : -1;
    return replica_check_read(&part->replica, epoch, body->replica_id != LIST_OFFSETS_DEBUGGING);
}

/* The offset after the last record the asker may see (Kafka's lastFetchableOffset). */
static int64_t list_fetchable(const broker_req_t *req, broker_partition_t *part, bool committed)
{
    const proto_list_offsets_req_t *body = req->body;
    if (body->replica_id != LIST_OFFSETS_CONSUMER)
        return log_partition_end_offset(part->log);
    int64_t hw = broker_replica_hw(part);
    int64_t lso = log_partition_last_stable_offset(part->log);
    /* read_committed readers must not see past an open transaction */
    return committed && lso < hw ? lso : hw;
}

static int16_t list_one(broker_req_t *req, broker_partition_t *part, const proto_list_offsets_req_partition_t *rp,
                        bool committed, proto_list_offsets_resp_partition_t *out)
{
    const proto_list_offsets_req_t *body = req->body;
    int64_t ts = rp->timestamp;
    log_partition_t *log = part->log;
    if (!log)
        return KERR_KAFKA_STORAGE_ERROR;
    int16_t rerr = list_replica_check(req, part, rp->current_leader_epoch);
    if (rerr != KERR_NONE)
        return rerr;
    out->timestamp = -1;
    out->offset = -1;
    out->leader_epoch = -1;
    int64_t fetchable = list_fetchable(req, part, committed);
    /* A consumer asking a leader whose HW lags the start of its epoch (after an election). */
    int16_t unavailable =
        body->replica_id == LIST_OFFSETS_CONSUMER ? replica_offsets_available(&part->replica) : KERR_NONE;
    switch (ts) {
    case LIST_OFFSETS_LATEST:
        if (unavailable != KERR_NONE)
            return unavailable;
        out->offset = fetchable;
        out->leader_epoch = broker_replica_reported_epoch(&part->replica);
        return KERR_NONE;
    case LIST_OFFSETS_EARLIEST:
    case LIST_OFFSETS_EARLIEST_LOCAL: out->offset = log_partition_start_offset(log); return KERR_NONE;
    case LIST_OFFSETS_MAX_TIMESTAMP: {
        int64_t max_ts, off;
        log_partition_max_timestamp(log, &max_ts, &off);
        if (off < 0)
            return KERR_NONE;
        int64_t roff = off, rts = max_ts;
        if (broker_records_find_time(log, off, max_ts, 1, &req->broker->batch_scratch, &roff, &rts) != 0)
            return KERR_NONE; /* the batch left the log meanwhile: report none */
        if (roff >= fetchable)
            return unavailable; /* not visible to the asker yet: none */
        out->offset = roff;
        out->timestamp = rts;
        return KERR_NONE;
    }
    default: break;
    }
    if (ts < 0)
        return KERR_NONE; /* other special values (tiered storage) have no answer here */
    int64_t boff, bts;
    int rc = log_partition_offset_for_time(log, ts, &boff, &bts);
    if (rc != 0)
        return KERR_KAFKA_STORAGE_ERROR;
    if (boff < 0 || boff >= fetchable)
        return unavailable;
    int64_t roff = boff, rts = bts;
    if (broker_records_find_time(log, boff, ts, 0, &req->broker->batch_scratch, &roff, &rts) != 0)
        return KERR_KAFKA_STORAGE_ERROR;
    if (roff >= fetchable)
        return unavailable;
    out->offset = roff;
    out->timestamp = rts;
    return KERR_NONE;
}

/* ListOffsets v0, Kafka's legacyFetchOffsetsBefore. */
static int16_t list_v0(broker_req_t *req, broker_partition_t *part, const proto_list_offsets_req_partition_t *rp,
                       proto_list_offsets_resp_partition_t *out)
{
    log_partition_t *log = part->log;
    if (rp->timestamp < LIST_OFFSETS_EARLIEST)
        return KERR_UNSUPPORTED_VERSION;
    if (!log)
        return KERR_KAFKA_STORAGE_ERROR;
    int16_t rerr = list_replica_check(req, part, -1);
    if (rerr != KERR_NONE)
        return rerr;
    if (rp->max_num_offsets < 0)
        return KERR_UNKNOWN_SERVER_ERROR; /* Kafka fails sizing its answer */
    size_t nsegs = log_partition_segment_count(log);
    int64_t start = log_partition_start_offset(log);
    int64_t base, size = 0;
    size_t n = nsegs;
    if (nsegs > 0 && log_partition_segment_info(log, nsegs - 1, &base, &size, NULL) == 0 && size > 0)
        n++; /* the log end, stamped now */
    /* The newest boundary to report, counted from 0; -1 when none qualifies. */
    int64_t idx;
    if (rp->timestamp == LIST_OFFSETS_LATEST) {
        idx = (int64_t)n - 1;
    } else if (rp->timestamp == LIST_OFFSETS_EARLIEST) {
        idx = n > 0 ? 0 : -1;
    } else {
        int64_t now = clock_wall_ms();
        for (idx = (int64_t)n - 1; idx >= 0; idx--) {
            int64_t when = now; /* the log end's stamp; a segment's is its file's mtime */
            if ((size_t)idx < nsegs && log_partition_segment_info(log, (size_t)idx, &base, &size, &when) != 0)
                continue;
            if (when <= rp->timestamp)
                break;
        }
    }
    int64_t count = idx + 1 < rp->max_num_offsets ? idx + 1 : rp->max_num_offsets;
    int64_t *items = count > 0 ? arena_alloc(&req->arena, (size_t)count * sizeof(int64_t)) : NULL;
    if (count > 0 && !items)
        return KERR_UNKNOWN_SERVER_ERROR;
    out->old_style_offsets.items = items;
    out->old_style_offsets.n = (int32_t)count; /* count <= max_num_offsets, an int32 */
    /* From idx down: newest first, which is also Kafka's descending sort. */
    for (int64_t k = 0; k < count; k++) {
        size_t i = (size_t)(idx - k);
        int64_t off = log_partition_end_offset(log);
        if (i < nsegs && log_partition_segment_info(log, i, &base, &size, NULL) == 0)
            off = base > start ? base : start;
        out->old_style_offsets.items[k] = off;
    }
    /* A consumer is told nothing past the HW: the boundaries above it give way to the HW itself. */
    const proto_list_offsets_req_t *body = req->body;
    int64_t hw = body->replica_id == LIST_OFFSETS_CONSUMER ? broker_replica_hw(part) : INT64_MAX;
    int64_t above = 0;
    while (above < count && out->old_style_offsets.items[above] > hw)
        above++;
    if (above > 0) {
        items[0] = hw;
        memmove(items + 1, items + above, (size_t)(count - above) * sizeof(int64_t));
        out->old_style_offsets.n = (int32_t)(count - above + 1);
    }
    return KERR_NONE;
}

broker_result_t broker_handle_list_offsets(broker_req_t *req)
{
    const proto_list_offsets_req_t *body = req->body;
    proto_list_offsets_resp_t *resp = req->resp;
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->topics, proto_list_offsets_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_list_offsets_req_topic_t *rt = &body->topics.items[i];
        proto_list_offsets_resp_topic_t *ot = &resp->topics.items[i];
        ot->name = rt->name;
        int32_t nparts = rt->partitions.n > 0 ? rt->partitions.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_list_offsets_resp_partition_desc, nparts))
            return BROKER_CLOSE;
        broker_topic_t *t =
            rt->name.len > 0 ? broker_topics_get(&req->broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len)
                             : NULL;
        for (int32_t j = 0; j < nparts; j++) {
            const proto_list_offsets_req_partition_t *rp = &rt->partitions.items[j];
            proto_list_offsets_resp_partition_t *op = &ot->partitions.items[j];
            op->partition_index = rp->partition_index;
            op->timestamp = -1;
            op->offset = -1;
            op->leader_epoch = -1;
            broker_partition_t *part = t ? broker_topic_partition(t, rp->partition_index) : NULL;
            if (req->version == 0) {
                op->error_code = part ? list_v0(req, part, rp, op) : KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            op->error_code = part ? list_one(req, part, rp, req->version >= 2 && body->isolation_level == 1, op)
                                  : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    return BROKER_RESPOND;
}
