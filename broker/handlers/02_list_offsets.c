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
 */
#include "base/clock.h"
#include "broker/broker.h"
#include "broker/records.h"

#define LIST_OFFSETS_LATEST         -1
#define LIST_OFFSETS_EARLIEST       -2
#define LIST_OFFSETS_MAX_TIMESTAMP  -3
#define LIST_OFFSETS_EARLIEST_LOCAL -4

static int16_t list_one(broker_req_t *req, broker_partition_t *part, int64_t ts, bool committed,
                        proto_list_offsets_resp_partition_t *out)
{
    log_partition_t *log = part->log;
    if (!log)
        return KERR_KAFKA_STORAGE_ERROR;
    out->timestamp = -1;
    out->offset = -1;
    out->leader_epoch = -1;
    switch (ts) {
    case LIST_OFFSETS_LATEST:
        /* read_committed readers must not see past an open transaction */
        out->offset = committed ? log_partition_last_stable_offset(log) : log_partition_end_offset(log);
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
    if (boff < 0)
        return KERR_NONE;
    int64_t roff = boff, rts = bts;
    if (broker_records_find_time(log, boff, ts, 0, &req->broker->batch_scratch, &roff, &rts) != 0)
        return KERR_KAFKA_STORAGE_ERROR;
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
            op->error_code =
                part ? list_one(req, part, rp->timestamp, req->version >= 2 && body->isolation_level == 1, op)
                     : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    return BROKER_RESPOND;
}
