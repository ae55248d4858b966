/*
 * Produce (0), v0-11. v0-2 may carry legacy message sets (magic 0/1),
 * converted by broker/legacy_records.c into one v2 batch that then goes the
 * same way as any other; v1 adds throttle_time_ms, v2 log_append_time_ms.
 * v3 brings transactional_id and magic-2 batches, exactly one batch per
 * partition; v5 adds log_start_offset to the answer; v7 allows zstd; v8
 * adds record_errors and error_message; v9 is flexible; v10 adds tagged
 * current_leader / node_endpoints (for NOT_LEADER answers, unused on one
 * broker). acks=0 gets no response; if such a request fails, the connection
 * is closed instead so the client notices (Kafka does the same).
 * On a durable topic (flush.messages=1, or log.flush.interval.messages=1)
 * the answer waits until the fsync that covers every batch of the request
 * has finished: the request parks and broker/storage.c's flush jobs wake it.
 * Each partition goes through its replica state (broker/replicas.h): only
 * its leader takes batches (NOT_LEADER_OR_FOLLOWER), acks=all is refused
 * with NOT_ENOUGH_REPLICAS while the ISR is below min.insync.replicas, and
 * an acks=all answer waits until the high watermark passes the batch —
 * parked for the replicas, woken when a follower's fetch moves the HW; at
 * the timeout REQUEST_TIMED_OUT; NOT_ENOUGH_REPLICAS_AFTER_APPEND when the
 * ISR shrank below min.insync.replicas meanwhile (both keep the offsets,
 * as Kafka's do). On one broker the HW is the log end after the append, so
 * acks=all never waits for replicas.
 */
#include "base/clock.h"
#include "base/diag.h"
#include "broker/broker.h"
#include "broker/legacy_records.h"
#include "broker/replicas.h"
#include "log/validate.h"
#include "protocol/record_batch.h"

#define PRODUCE_MAX_DECOMPRESSED (256u * 1024u * 1024u)

/*
 * A partition of a parked produce: answered once target is on disk (durable
 * topics; -1: not asked) and the HW has reached required (acks=all; -1: not
 * asked), in that order.
 */
typedef struct produce_wait_s {
    proto_str_t topic;
    int32_t partition;
    int64_t target;
    int64_t required;
    proto_produce_resp_partition_t *out;
    bool done;
} produce_wait_t;

typedef struct produce_park_s {
    int32_t n;
    produce_wait_t *waits;
    broker_wait_t kind; /* what the request waits for now */
} produce_park_t;

/* The disk part of a wait: true while it must go on waiting; on failure the partition is answered. */
static bool produce_wait_flush(broker_topic_t *t, produce_wait_t *w, bool timed_out)
{
    int d = t && w->partition < t->nparts ? broker_storage_durable(t, w->partition, w->target) : -1;
    if (d == 0 && !timed_out)
        return true;
    if (d == 1) {
        w->target = -1;
        return false;
    }
    w->done = true;
    w->out->error_code = d == 0 ? KERR_REQUEST_TIMED_OUT : KERR_KAFKA_STORAGE_ERROR;
    w->out->base_offset = -1;
    return false;
}

/* The replicas part (Kafka's DelayedProduce): true while the HW is short of the batch. */
static bool produce_wait_hw(broker_topic_t *t, produce_wait_t *w, bool timed_out)
{
    broker_partition_t *part = t ? broker_topic_partition(t, w->partition) : NULL;
    int16_t err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (part && part->log) {
        (void)broker_replica_sync(part);
        if (!replica_acks_reached(&part->replica, w->required, &err)) {
            if (!timed_out)
                return true;
            err = KERR_REQUEST_TIMED_OUT;
        }
    }
    w->done = true;
    w->out->error_code = err; /* the offsets stay in the answer, as Kafka leaves them */
    return false;
}

static broker_result_t produce_resume(broker_req_t *req, bool timed_out)
{
    produce_park_t *park = req->park_state;
    bool flush = false, hw = false;
    for (int32_t i = 0; i < park->n; i++) {
        produce_wait_t *w = &park->waits[i];
        if (w->done)
            continue;
        broker_topic_t *t = broker_topics_get(&req->broker->topics, (const char *)w->topic.ptr, (size_t)w->topic.len);
        if (w->target >= 0 && produce_wait_flush(t, w, timed_out)) {
            flush = true;
            continue;
        }
        if (w->done)
            continue;
        if (w->required >= 0 && produce_wait_hw(t, w, timed_out)) {
            hw = true;
            continue;
        }
        w->done = true;
    }
    if (!flush && !hw)
        return BROKER_RESPOND;
    park->kind = flush ? BROKER_WAIT_FLUSH : BROKER_WAIT_REPLICAS;
    if (req->parked && req->park_kind != park->kind) /* on disk everywhere: now only the replicas are awaited */
        broker_req_park(req, park->kind, produce_resume, park, req->deadline_ms);
    return BROKER_PARKED;
}

/* The topic's rules for a client's batch (log/validate.h), read at this request's version and time. */
static void produce_rules(const broker_req_t *req, const broker_topic_t *t, log_validate_rules_t *rules)
{
    log_validate_rules_init(rules, (size_t)t->max_message_bytes, clock_wall_ms());
    rules->max_decompressed_bytes = PRODUCE_MAX_DECOMPRESSED;
    rules->allow_zstd = req->version >= 7 || req->version < 3; /* Kafka checks the codec only from v3 */
    rules->compacted = t->compacted;
    rules->log_append_time = t->log_append_time;
    rules->timestamp_before_max_ms = t->timestamp_before_max_ms;
    rules->timestamp_after_max_ms = t->timestamp_after_max_ms;
    rules->target_codec = t->compression;
}

/* Record-level refusals go back as Kafka sends them: record_errors (v8+) and the message. */
static void produce_record_errors(broker_req_t *req, const log_validated_t *v, proto_produce_resp_partition_t *out)
{
    if (v->nrecord_errors == 0)
        return;
    out->error_message = proto_str_c(v->message);
    int32_t n = v->nrecord_errors < LOG_VALIDATE_RECORD_ERRORS_MAX ? v->nrecord_errors : LOG_VALIDATE_RECORD_ERRORS_MAX;
    if (!BROKER_FILL_ARRAY(req, out->record_errors, proto_produce_resp_record_error_desc, n))
        return;
    for (int32_t i = 0; i < n; i++) {
        out->record_errors.items[i].batch_index = v->record_errors[i];
        out->record_errors.items[i].batch_index_error_message = proto_str_c(v->message);
    }
}

/*
 * Appends a validated batch; the log checks producer ids, epochs and
 * sequences. *end gets the offset after the batch (the original's, for a
 * retry), which the HW must reach for acks=all.
 */
static int16_t produce_append(broker_req_t *req, broker_topic_t *t, broker_partition_t *part, int32_t index,
                              const log_validated_t *v, proto_produce_resp_partition_t *out, int64_t *end)
{
    const proto_batch_header_t *hdr = &v->hdr;
    if (hdr->attributes & PROTO_BATCH_TRANSACTIONAL) {
        /* KIP-890 part 1: a transactional batch only goes to a partition added to its transaction. */
        int16_t e = txn_partition_in_transaction(req->broker->txns.coord, hdr->producer_id, hdr->producer_epoch,
                                                 (proto_str_t){(const uint8_t *)t->name, (int32_t)t->name_len}, index);
        if (e != KERR_NONE)
            return txn_produce_error(e, req->version);
    }
    /* A retried batch the log already holds is answered with its original offset, not written again. */
    log_append_result_t res;
    int rc = log_partition_append_checked(part->log, v->batch, v->len, part->replica.leader_epoch, &res);
    switch (rc) {
    case 0: break;
    case LOG_EOUT_OF_ORDER_SEQUENCE: return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case LOG_EINVALID_PRODUCER_EPOCH: return KERR_INVALID_PRODUCER_EPOCH;
    case LOG_EINVALID_TXN_STATE: return KERR_INVALID_TXN_STATE;
    case LOG_ETOOLARGE: return KERR_MESSAGE_TOO_LARGE;
    default:
        LOG_ERROR("produce", "append to %s-%d failed: %s", t->name, index, log_strerror(rc));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    out->base_offset = res.base_offset;
    out->log_append_time_ms = res.duplicate && t->log_append_time ? res.log_append_time : v->log_append_time;
    out->log_start_offset = log_partition_start_offset(part->log);
    *end = res.last_offset + 1;
    broker_storage_appended(req->broker, t, index);
    return KERR_NONE;
}

static int16_t produce_partition(broker_req_t *req, broker_topic_t *t, const proto_produce_req_partition_t *rp,
                                 proto_produce_resp_partition_t *out, int64_t *end)
{
    const proto_produce_req_t *body = req->body;
    broker_partition_t *part = broker_topic_partition(t, rp->index);
    if (!part)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!part->log)
        return KERR_KAFKA_STORAGE_ERROR;
    /* Kafka's appendRecordsToLeader: the leader only, and acks=all only with enough of the ISR. */
    int16_t rerr = replica_check_produce(&part->replica, body->acks);
    if (rerr != KERR_NONE)
        return rerr;
    uint8_t *data = broker_mutable(rp->records.ptr);
    size_t len = rp->records.len > 0 ? (size_t)rp->records.len : 0;
    if (req->version < 3) {
        /* A legacy message set goes on as the v2 batch Kafka converts it to; none complete: nothing appended. */
        int16_t lerr = broker_legacy_produce(req, t, rp->index, &data, &len);
        if (lerr != KERR_NONE || len == 0)
            return lerr;
    }
    if (len == 0)
        return KERR_INVALID_RECORD; /* Kafka: at least one record batch per partition */
    log_validate_rules_t rules;
    produce_rules(req, t, &rules);
    log_validated_t v;
    buf_t *scratch = &req->broker->batch_scratch;
    buf_t rebuilt; /* only a batch that must be rebuilt allocates */
    buf_init(&rebuilt);
    /* The batch is checked and stamped where it lies in the request frame. */
    int16_t err = log_validate_batch(&rules, data, len, scratch, &rebuilt, &v);
    if (scratch->cap > 16u * 1024u * 1024u)
        buf_fini(scratch); /* do not keep a huge one-off buffer */
    if (err != KERR_NONE) {
        static diag_ratelimit_t rl = DIAG_RATELIMIT_INIT(10);
        unsigned held;
        if (diag_ratelimit_ok(&rl, &held))
            LOG_WARN("produce", "rejected a batch for %s-%d from connection %llu (%s): %s: %s (%u earlier not logged)",
                     t->name, rp->index, (unsigned long long)req->conn->id, req->conn->peer,
                     proto_kafka_error_name(err), v.message ? v.message : "", held);
        produce_record_errors(req, &v, out);
    } else {
        if (v.ignored)
            LOG_DEBUG("produce", "%s-%d: %zu bytes after the batch dropped, as Kafka does", t->name, rp->index,
                      v.ignored);
        err = produce_append(req, t, part, rp->index, &v, out, end);
    }
    buf_fini(&rebuilt);
    return err;
}

static int32_t ntopics_parts(const proto_produce_req_t *body)
{
    int32_t n = 0;
    for (int32_t i = 0; i < body->topic_data.n; i++)
        n += body->topic_data.items[i].partition_data.n > 0 ? body->topic_data.items[i].partition_data.n : 0;
    return n;
}

broker_result_t broker_handle_produce(broker_req_t *req)
{
    const proto_produce_req_t *body = req->body;
    proto_produce_resp_t *resp = req->resp;
    broker_t *broker = req->broker;
    bool acks_ok = body->acks == 0 || body->acks == 1 || body->acks == -1;
    bool any_error = false, appended = false, hw_moved = false;
    produce_park_t *park = NULL;
    int32_t ntopics = body->topic_data.n > 0 ? body->topic_data.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->responses, proto_produce_resp_topic_desc, ntopics))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < ntopics; i++) {
        const proto_produce_req_topic_t *rt = &body->topic_data.items[i];
        proto_produce_resp_topic_t *ot = &resp->responses.items[i];
        ot->name = rt->name;
        int32_t nparts = rt->partition_data.n > 0 ? rt->partition_data.n : 0;
        if (!BROKER_FILL_ARRAY(req, ot->partition_responses, proto_produce_resp_partition_desc, nparts))
            return BROKER_CLOSE;
        broker_topic_t *t = rt->name.len > 0
                                ? broker_topics_get(&broker->topics, (const char *)rt->name.ptr, (size_t)rt->name.len)
                                : NULL;
        for (int32_t j = 0; j < nparts; j++) {
            const proto_produce_req_partition_t *rp = &rt->partition_data.items[j];
            proto_produce_resp_partition_t *op = &ot->partition_responses.items[j];
            op->index = rp->index;
            op->base_offset = -1;
            int64_t end = -1;
            if (!acks_ok)
                op->error_code = KERR_INVALID_REQUIRED_ACKS;
            else if (!t)
                op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (broker_topic_is_internal(t->name, t->name_len))
                op->error_code = KERR_INVALID_TOPIC_EXCEPTION; /* only the coordinators write there */
            else
                op->error_code = produce_partition(req, t, rp, op, &end);
            if (op->error_code != KERR_NONE) {
                any_error = true;
                continue;
            }
            appended = true;
            broker_partition_t *part = broker_topic_partition(t, rp->index);
            hw_moved |= broker_replica_sync(part);
            bool durable = body->acks != 0 && t->flush_messages == 1;
            int16_t aerr = KERR_NONE;
            /* acks=all: done now when the HW already covers the batch (always, on one broker). */
            bool replicate = body->acks == -1 && !replica_acks_reached(&part->replica, end, &aerr);
            if (aerr != KERR_NONE) {
                op->error_code = aerr;
                continue;
            }
            if (durable || replicate) {
                if (!park) {
                    park = arena_alloc(&req->arena, sizeof(*park));
                    if (park)
                        park->waits = arena_alloc(&req->arena, sizeof(produce_wait_t) * (size_t)ntopics_parts(body));
                    if (!park || !park->waits)
                        return BROKER_CLOSE;
                    park->n = 0;
                }
                park->waits[park->n++] = (produce_wait_t){
                    rt->name, rp->index, durable ? log_partition_end_offset(part->log) : -1, replicate ? end : -1,
                    op,       false};
            }
        }
    }
    if (hw_moved)
        broker_wake_replicated(broker);
    if (appended)
        broker_wake_parked(broker);
    if (body->acks == 0)
        return any_error ? BROKER_CLOSE : BROKER_NO_RESPONSE;
    if (park) {
        req->park_state = park;
        broker_result_t r = produce_resume(req, false);
        if (r == BROKER_PARKED) {
            int64_t timeout = body->timeout_ms > 0 ? body->timeout_ms : 30000;
            broker_req_park(req, park->kind, produce_resume, park, (int64_t)uv_now(broker->loop) + timeout);
        }
        return r;
    }
    return BROKER_RESPOND;
}
