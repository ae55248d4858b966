/*
 * Fetch (1), v0-17. What changes by version:
 *   v0-3 answers are message sets of magic 0 (v0-1) or 1 (v2-3), copies
 *       down-converted from the stored batches (broker/legacy_records.c),
 *       unless the topic's message.downconversion.enable is false
 *       (UNSUPPORTED_VERSION); v1 throttle_time_ms; v3 max_bytes.
 *   v4  isolation_level; last_stable_offset and aborted_transactions in the
 *       answer (an empty list under read_committed, null otherwise).
 *   v5  log_start_offset; v7 fetch sessions; v11 preferred_read_replica.
 *   v12 flexible; v13 topics by id instead of name; v15 replica_state.
 * eddy answers every fetch sessionless (session_id 0), so clients keep
 * sending full requests and every requested partition is in every answer.
 * The response holds at most max_bytes (capped by fetch.max.bytes) and each
 * partition at most partition_max_bytes, except that the first batch found
 * is always returned whole so a consumer cannot get stuck on a large batch.
 * With less than min_bytes available the request parks until an append
 * brings enough or max_wait_ms passes; parked requests hold no topic or log
 * pointers, so a topic deleted meanwhile is simply reported as unknown.
 *
 * Replicas (broker/replicas.h): a consumer (replica id < 0) reads up to the
 * high watermark (the last stable offset under read_committed, never past
 * the HW), from the leader only before v11 (from v11 Kafka lets a consumer
 * read a follower); a follower (replica_id >= 0, v15+ replica_state) reads
 * up to the log end, from the leader only, and its fetch offset is recorded
 * as its LEO the first time the request is read (not on the re-reads of a
 * parked long poll, as Kafka's purgatory does not record them), which may
 * move the HW and wake acks=all Produce. A follower's current_leader_epoch
 * (v9+) is fenced: older FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH;
 * a consumer's is not while clients are told epoch -1 (librdkafka 2.x
 * sends 0 for it), nor is anything on one broker (epoch -1). A replica
 * id outside the assignment gets UNKNOWN_LEADER_EPOCH when it named an
 * epoch, NOT_LEADER_OR_FOLLOWER when not. high_watermark is the replica
 * layer's: the log end on one broker, where none of this ever cuts a read.
 */
#include <stdlib.h>

#include "base/diag.h"
#include "broker/broker.h"
#include "broker/legacy_records.h"
#include "broker/replicas.h"
#include "log/io.h"
#include "protocol/record_batch.h"

#define FETCH_READ_COMMITTED 1

/* Resolves a requested topic by id (v13+) or name; sets *err when it is unknown. */
static broker_topic_t *fetch_topic(broker_req_t *req, const proto_fetch_req_topic_t *rt, int16_t *err)
{
    broker_topic_t *t;
    if (req->version >= 13) {
        t = broker_topics_get_by_id(&req->broker->topics, &rt->topic_id);
        *err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_ID;
    } else {
        t = rt->topic.len > 0
                ? broker_topics_get(&req->broker->topics, (const char *)rt->topic.ptr, (size_t)rt->topic.len)
                : NULL;
        *err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    return t;
}

/* The id of the replica fetching: >= 0 a follower, < 0 a consumer. */
static int32_t fetch_replica_id(const broker_req_t *req)
{
    const proto_fetch_req_t *body = req->body;
    return req->version >= 15 ? body->replica_state.replica_id : body->replica_id;
}

/* What the reader may see: a follower up to the log end, a consumer up to the HW. */
static int64_t fetch_visible_end(broker_partition_t *part, bool follower)
{
    return follower ? log_partition_end_offset(part->log) : broker_replica_hw(part);
}

/* True when some requested partition has data past its fetch offset, or an error to report. */
static bool fetch_has_news(broker_req_t *req)
{
    const proto_fetch_req_t *body = req->body;
    bool follower = fetch_replica_id(req) >= 0;
    for (int32_t i = 0; i < body->topics.n; i++) {
        const proto_fetch_req_topic_t *rt = &body->topics.items[i];
        int16_t err;
        broker_topic_t *t = fetch_topic(req, rt, &err);
        if (!t)
            return true;
        for (int32_t j = 0; j < rt->partitions.n; j++) {
            const proto_fetch_req_partition_t *rp = &rt->partitions.items[j];
            broker_partition_t *part = broker_topic_partition(t, rp->partition);
            if (!part || !part->log || fetch_visible_end(part, follower) != rp->fetch_offset)
                return true;
        }
    }
    return false;
}

/*
 * Keeps the whole batches of data[0, len) below `below` (the last stable
 * offset for read_committed readers) and returns their length; *next gets
 * the offset after the last batch kept.
 */
static size_t fetch_trim(const uint8_t *data, size_t len, int64_t below, int64_t *next)
{
    size_t pos = 0;
    proto_batch_header_t hdr;
    while (pos < len && proto_batch_header_parse(data + pos, len - pos, &hdr) == 0) {
        size_t total = proto_batch_total_size(&hdr);
        if (total > len - pos || hdr.base_offset >= below)
            break;
        *next = proto_batch_last_offset(&hdr) + 1;
        pos += total;
    }
    /* A header we cannot parse stays in (the log vouched for it); the client copes with a cut batch. */
    return pos < len && below == INT64_MAX ? len : pos;
}

/*
 * Cuts rd to the whole batches below `below` (a consumer's HW while
 * followers lag: only in cluster mode, the log end otherwise). Reads the
 * batch headers from the segment; one it cannot read ends the cut.
 */
static void fetch_cut(log_read_t *rd, int64_t below)
{
    size_t pos = 0;
    uint8_t head[PROTO_BATCH_HEADER_SIZE];
    proto_batch_header_t hdr;
    while (rd->len - pos >= sizeof(head)) {
        ssize_t n = log_io_pread(rd->fd, head, sizeof(head), (int64_t)rd->pos + (int64_t)pos);
        if (n != (ssize_t)sizeof(head) || proto_batch_header_parse(head, sizeof(head), &hdr) != 0)
            break;
        size_t total = proto_batch_total_size(&hdr);
        if (hdr.base_offset >= below || total > rd->len - pos)
            break;
        pos += total;
    }
    rd->len = pos;
}

/*
 * The replica layer's word on reading this partition (Kafka's
 * localLogWithEpochOrThrow and followerReplicaOrThrow): epoch fencing, the
 * leader requirement, and for a follower its place in the assignment.
 */
static int16_t fetch_replica_check(broker_req_t *req, broker_partition_t *part, const proto_fetch_req_partition_t *rp)
{
    int32_t replica_id = fetch_replica_id(req);
    int32_t epoch = rp->current_leader_epoch < 0 ? -1 : rp->current_leader_epoch; /* negative: not given */
    if (replica_id >= 0)
        return replica_check_follower_fetch(&part->replica, replica_id, epoch);
    return replica_check_read(&part->replica, broker_replica_client_epoch(&part->replica, epoch), req->version < 11);
}

/* The aborted transactions a read_committed reader must drop in [fetch_offset, upper). */
static int fetch_aborted(broker_req_t *req, log_partition_t *log, int64_t fetch_offset, int64_t upper,
                         proto_fetch_resp_partition_t *op)
{
    log_aborted_txn_t *txns = NULL;
    size_t n = 0;
    int rc = log_partition_aborted_txns(log, fetch_offset, upper, &txns, &n);
    if (rc == 0 && n > 0 && n <= INT32_MAX &&
        BROKER_FILL_ARRAY(req, op->aborted_transactions, proto_fetch_resp_aborted_transaction_desc, (int32_t)n)) {
        for (size_t i = 0; i < n; i++) {
            op->aborted_transactions.items[i].producer_id = txns[i].producer_id;
            op->aborted_transactions.items[i].first_offset = txns[i].first_offset;
        }
    }
    free(txns);
    return rc;
}

/*
 * Whether the records of rd can go to the client straight from the file:
 * zero copy is on, and the reader gets every byte as stored — read
 * uncommitted, or read committed with no open transaction (so nothing is
 * cut at the last stable offset) and no aborted one in range (whose list
 * must end at the last batch sent, which only a copy tells).
 */
static bool fetch_direct(broker_req_t *req, log_partition_t *log, const proto_fetch_req_partition_t *rp,
                         const proto_fetch_resp_partition_t *op, bool committed)
{
    if (!req->broker->cfg->fetch_zero_copy)
        return false;
    if (!committed)
        return true;
    if (op->last_stable_offset < op->high_watermark)
        return false;
    log_aborted_txn_t *txns = NULL;
    size_t n = 0;
    int rc = log_partition_aborted_txns(log, rp->fetch_offset, op->high_watermark, &txns, &n);
    free(txns);
    return rc == 0 && n == 0;
}

/*
 * Fetch v0-3: the batches read are down-converted (copied) into
 * broker->fetch_data as a message set of magic 0 (v0-1) or 1 (v2-3).
 * Like the other copies, records.ptr holds an offset into the buffer until
 * fetch_fill has read every partition.
 */
static int fetch_legacy(broker_req_t *req, const log_read_t *rd, const proto_fetch_req_partition_t *rp,
                        proto_fetch_resp_partition_t *op, size_t *budget, size_t *found)
{
    buf_t *data = &req->broker->fetch_data;
    size_t at = data->len;
    int16_t kerr;
    int rc = broker_legacy_fetch(rd, req->version <= 1 ? 0 : 1, rp->fetch_offset, data, &kerr);
    size_t got = data->len - at;
    if (rc == 0 && kerr != KERR_NONE) {
        /* Kafka answers such a partition as an error alone. */
        op->error_code = kerr;
        op->high_watermark = op->last_stable_offset = op->log_start_offset = -1;
        data->len = at;
        return 0;
    }
    if (rc != 0 || got == 0 || got > INT32_MAX) {
        data->len = at;
        return rc;
    }
    op->records.len = (int32_t)got;
    op->records.ptr = (const uint8_t *)(uintptr_t)at;
    *budget -= got < *budget ? got : *budget;
    *found += got;
    return 0;
}

/* One file slot per requested partition, kept across the re-runs of a parked Fetch. */
static bool fetch_files(broker_req_t *req)
{
    const proto_fetch_req_t *body = req->body;
    if (req->files) {
        for (int32_t i = 0; i < req->nfiles; i++)
            log_read_release(&req->files[i]);
        return true;
    }
    size_t n = 0;
    for (int32_t i = 0; i < body->topics.n; i++)
        n += (size_t)(body->topics.items[i].partitions.n > 0 ? body->topics.items[i].partitions.n : 0);
    if (n == 0)
        return true;
    if (n > INT32_MAX)
        return false;
    req->files = arena_alloc(&req->arena, n * sizeof(req->files[0]));
    if (!req->files)
        return false;
    for (size_t i = 0; i < n; i++)
        req->files[i] = (log_read_t){.fd = -1, .pos = 0, .len = 0, .seg = NULL};
    req->nfiles = (int32_t)n;
    return true;
}

/*
 * Fills every partition of the (already allocated) response from the logs.
 * Records sent from their segment file (fetch_direct) point at a slot of
 * req->files, which conn.c turns into a sendfile part. Records that must be
 * copied go to broker->fetch_data and are pointed at once all are read,
 * since the buffer may move while it grows. Returns the bytes found, and
 * whether any partition carries an error.
 */
static size_t fetch_fill(broker_req_t *req, bool first_read, bool *any_error)
{
    const proto_fetch_req_t *body = req->body;
    int32_t replica_id = fetch_replica_id(req);
    bool follower = replica_id >= 0;
    bool hw_moved = false;
    proto_fetch_resp_t *resp = req->resp;
    broker_t *broker = req->broker;
    buf_t *data = &broker->fetch_data;
    data->len = 0;
    size_t found = 0;
    int32_t slot = 0;
    if (!fetch_files(req)) {
        *any_error = true;
        return 0;
    }
    size_t budget = (size_t)(body->max_bytes > 0 ? body->max_bytes : 0);
    if (budget > (size_t)broker->cfg->fetch_max_bytes)
        budget = (size_t)broker->cfg->fetch_max_bytes;
    bool first = true;
    *any_error = false;
    for (int32_t i = 0; i < body->topics.n; i++) {
        const proto_fetch_req_topic_t *rt = &body->topics.items[i];
        proto_fetch_resp_topic_t *ot = &resp->responses.items[i];
        int16_t terr;
        broker_topic_t *t = fetch_topic(req, rt, &terr);
        for (int32_t j = 0; j < rt->partitions.n; j++, slot++) {
            const proto_fetch_req_partition_t *rp = &rt->partitions.items[j];
            proto_fetch_resp_partition_t *op = &ot->partitions.items[j];
            op->records = (proto_bytes_t){NULL, 0}; /* ptr set below */
            op->high_watermark = op->last_stable_offset = op->log_start_offset = -1;
            broker_partition_t *part = t ? broker_topic_partition(t, rp->partition) : NULL;
            int16_t rerr = part && part->log ? fetch_replica_check(req, part, rp) : KERR_NONE;
            if (!t)
                op->error_code = terr;
            else if (!part)
                op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (!part->log)
                op->error_code = KERR_KAFKA_STORAGE_ERROR;
            else if (rerr != KERR_NONE)
                op->error_code = rerr;
            else if (req->version < 10 && t->compression == PROTO_CODEC_ZSTD)
                op->error_code = KERR_UNSUPPORTED_COMPRESSION_TYPE; /* as Kafka: zstd topics need Fetch v10 */
            else if (req->version <= 3 && !t->downconversion)
                op->error_code = KERR_UNSUPPORTED_VERSION; /* message.downconversion.enable=false */
            else
                op->error_code = KERR_NONE;
            if (op->error_code != KERR_NONE) {
                *any_error = true;
                continue;
            }
            log_partition_t *log = part->log;
            int64_t leo = log_partition_end_offset(log);
            op->high_watermark = broker_replica_hw(part);
            /* Kafka's LSO: the first open transaction's offset, or the HW. */
            op->last_stable_offset = log_partition_last_stable_offset(log);
            if (op->last_stable_offset > op->high_watermark)
                op->last_stable_offset = op->high_watermark;
            op->log_start_offset = log_partition_start_offset(log);
            int64_t visible = follower ? leo : op->high_watermark;
            /* A follower's position, recorded once per request and only when it can be read (Kafka records
             * it after a successful read, whatever the byte budget left for it). */
            if (follower && first_read && rp->fetch_offset >= op->log_start_offset && rp->fetch_offset <= leo)
                hw_moved |= broker_replica_follower_fetched(req->broker, t, rp->partition, replica_id, rp->fetch_offset,
                                                            rp->log_start_offset, leo);
            bool committed = body->isolation_level == FETCH_READ_COMMITTED;
            op->aborted_transactions.n = committed ? 0 : -1;
            op->aborted_transactions.items = NULL;
            size_t limit = rp->partition_max_bytes > 0 ? (size_t)rp->partition_max_bytes : 0;
            if (limit > budget)
                limit = budget;
            if (limit == 0 && !first)
                continue;
            log_read_t rd;
            int rc = log_partition_read(log, rp->fetch_offset, limit, first, &rd);
            if (rc == LOG_EOUT_OF_RANGE) {
                op->error_code = KERR_OFFSET_OUT_OF_RANGE;
                *any_error = true;
                continue;
            }
            if (rc == 0 && rd.len > 0 && visible < leo)
                fetch_cut(&rd, visible); /* a consumer sees nothing the followers have not got */
            if (rc == 0 && rd.len > 0 && req->version <= 3) {
                rc = fetch_legacy(req, &rd, rp, op, &budget, &found);
                if (op->error_code != KERR_NONE)
                    *any_error = true;
                else if (op->records.len > 0)
                    first = false;
            } else if (rc == 0 && rd.len > 0 && (!committed || rp->fetch_offset < op->last_stable_offset) &&
                       rd.len <= INT32_MAX && fetch_direct(req, log, rp, op, committed)) {
                req->files[slot] = rd; /* the slot holds the segment reference now */
                op->records.len = (int32_t)rd.len;
                op->records.ptr = (const uint8_t *)&req->files[slot];
                budget -= rd.len < budget ? rd.len : budget;
                found += rd.len;
                first = false;
                continue;
            } else if (rc == 0 && rd.len > 0 && (!committed || rp->fetch_offset < op->last_stable_offset)) {
                size_t at = data->len;
                rc = log_read_copy(&rd, data);
                size_t got = rd.len;
                int64_t next = rp->fetch_offset;
                if (rc == 0)
                    got = fetch_trim(data->data + at, rd.len, committed ? op->last_stable_offset : INT64_MAX, &next);
                data->len = at + got;
                if (rc == 0 && got > 0) {
                    found += got;
                    op->records.len = (int32_t)got;
                    op->records.ptr = (const uint8_t *)(uintptr_t)at; /* an offset until the buffer settles */
                    budget -= got < budget ? got : budget;
                    first = false;
                }
                if (rc == 0 && committed && got > 0)
                    rc = fetch_aborted(req, log, rp->fetch_offset, next, op);
            }
            log_read_release(&rd);
            if (rc != 0) {
                LOG_ERROR("fetch", "reading %s-%d at %lld: %s", t->name, rp->partition, (long long)rp->fetch_offset,
                          log_strerror(rc));
                op->error_code = KERR_KAFKA_STORAGE_ERROR;
                op->records.len = 0;
                *any_error = true;
            }
        }
    }
    /* Partitions and file slots are in request order: a slot holding a
     * segment reference is file-backed; every other partition points into data. */
    slot = 0;
    for (int32_t i = 0; i < resp->responses.n; i++) {
        proto_fetch_resp_topic_t *ot = &resp->responses.items[i];
        for (int32_t j = 0; j < ot->partitions.n; j++, slot++) {
            proto_bytes_t *r = &ot->partitions.items[j].records;
            if (slot >= req->nfiles || !req->files[slot].seg)
                r->ptr = r->len > 0 ? data->data + (uintptr_t)r->ptr : (const uint8_t *)"";
        }
    }
    if (hw_moved) /* a follower's fetch committed more: acks=all Produce and consumers may go on */
        broker_replicas_advanced(broker);
    return found;
}

static broker_result_t fetch_run(broker_req_t *req, bool first_read, bool final)
{
    const proto_fetch_req_t *body = req->body;
    bool any_error;
    size_t got = fetch_fill(req, first_read, &any_error);
    if (!final && !any_error && got < (size_t)(body->min_bytes > 0 ? body->min_bytes : 1))
        return BROKER_PARKED;
    return BROKER_RESPOND;
}

static broker_result_t fetch_resume(broker_req_t *req, bool timed_out)
{
    if (!timed_out && !fetch_has_news(req))
        return BROKER_PARKED;
    return fetch_run(req, false, timed_out);
}

broker_result_t broker_handle_fetch(broker_req_t *req)
{
    const proto_fetch_req_t *body = req->body;
    proto_fetch_resp_t *resp = req->resp;
    resp->session_id = 0;
    if (req->version >= 7 && body->session_id != 0) {
        /* We never hand out sessions, so a client naming one lost it (e.g. across a restart). */
        resp->error_code = KERR_FETCH_SESSION_ID_NOT_FOUND;
        return BROKER_RESPOND;
    }
    int32_t ntopics = body->topics.n > 0 ? body->topics.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->responses, proto_fetch_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_fetch_req_topic_t *rt = &body->topics.items[i];
        proto_fetch_resp_topic_t *ot = &resp->responses.items[i];
        ot->topic = rt->topic;
        ot->topic_id = rt->topic_id;
        int32_t nparts = rt->partitions.n > 0 ? rt->partitions.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_fetch_resp_partition_desc, nparts))
            return BROKER_CLOSE;
        for (int32_t j = 0; j < nparts; j++) {
            proto_fetch_resp_partition_t *op = &ot->partitions.items[j];
            op->partition_index = rt->partitions.items[j].partition;
            /* read_committed readers expect a (here always empty) list of aborted transactions. */
            op->aborted_transactions.n = body->isolation_level == FETCH_READ_COMMITTED ? 0 : -1;
        }
    }
    bool final = body->max_wait_ms <= 0 || req->broker->stopping;
    broker_result_t r = fetch_run(req, true, final);
    if (r == BROKER_PARKED)
        broker_req_park(req, BROKER_WAIT_DATA, fetch_resume, NULL,
                        (int64_t)uv_now(req->broker->loop) + body->max_wait_ms);
    return r;
}
