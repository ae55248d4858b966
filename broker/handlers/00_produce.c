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
 */
#include "base/clock.h"
#include "base/diag.h"
#include "broker/broker.h"
#include "broker/legacy_records.h"
#include "protocol/record.h"
#include "protocol/record_batch.h"

#define PRODUCE_MAX_DECOMPRESSED (256u * 1024u * 1024u)

/* A partition of a parked durable produce: answered once target is on disk. */
typedef struct produce_wait_s {
    proto_str_t topic;
    int32_t partition;
    int64_t target;
    proto_produce_resp_partition_t *out;
    bool done;
} produce_wait_t;

typedef struct produce_park_s {
    int32_t n;
    produce_wait_t *waits;
} produce_park_t;

static broker_result_t produce_resume(broker_req_t *req, bool timed_out)
{
    produce_park_t *park = req->park_state;
    bool pending = false;
    for (int32_t i = 0; i < park->n; i++) {
        produce_wait_t *w = &park->waits[i];
        if (w->done)
            continue;
        broker_topic_t *t = broker_topics_get(&req->broker->topics, (const char *)w->topic.ptr, (size_t)w->topic.len);
        int d = t && w->partition < t->nparts ? broker_storage_durable(t, w->partition, w->target) : -1;
        if (d == 0 && !timed_out) {
            pending = true;
            continue;
        }
        w->done = true;
        if (d != 1) {
            w->out->error_code = d == 0 ? KERR_REQUEST_TIMED_OUT : KERR_KAFKA_STORAGE_ERROR;
            w->out->base_offset = -1;
        }
    }
    return pending ? BROKER_PARKED : BROKER_RESPOND;
}

/* Compaction keeps the latest record per key, so a compacted topic refuses records without one (as Kafka does). */
static bool produce_keys_present(broker_req_t *req, const uint8_t *batch, size_t len, const proto_batch_header_t *hdr)
{
    proto_reader_t rd;
    if (proto_batch_records(batch, len, hdr, &req->broker->batch_scratch, PRODUCE_MAX_DECOMPRESSED, &rd) != 0)
        return false;
    proto_record_t rec;
    while (proto_rd_remaining(&rd) > 0) {
        if (proto_record_next(&rd, &rec) != 0 || rec.key.len < 0)
            return false;
    }
    return true;
}

static int16_t produce_partition(broker_req_t *req, broker_topic_t *t, const proto_produce_req_partition_t *rp,
                                 proto_produce_resp_partition_t *out)
{
    broker_partition_t *part = broker_topic_partition(t, rp->index);
    if (!part)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!part->log)
        return KERR_KAFKA_STORAGE_ERROR;
    const uint8_t *data = rp->records.ptr;
    size_t len = rp->records.len > 0 ? (size_t)rp->records.len : 0;
    if (req->version < 3) {
        /* A legacy message set goes on as the v2 batch Kafka converts it to; none complete: nothing appended. */
        int16_t lerr = broker_legacy_produce(req, t, rp->index, &data, &len);
        if (lerr != KERR_NONE || len == 0)
            return lerr;
    }
    if (len == 0) {
        out->error_message = proto_str_c("Produce request carries no record batch");
        return KERR_INVALID_RECORD;
    }
    proto_batch_header_t hdr;
    /* One batch per partition: a complete first batch that does not fill the field means more follow. */
    if (proto_batch_header_parse(data, len, &hdr) == 0 && proto_batch_total_size(&hdr) < len) {
        out->error_message = proto_str_c("Produce requests must carry exactly one record batch per partition");
        return KERR_INVALID_RECORD;
    }
    proto_batch_limits_t lim = {
        .max_batch_bytes = (size_t)t->max_message_bytes,
        .max_decompressed_bytes = PRODUCE_MAX_DECOMPRESSED,
        .allow_zstd = req->version >= 7 || req->version < 3, /* Kafka checks the codec only from v3 */
    };
    int16_t err = proto_batch_validate(data, len, &lim, &req->broker->batch_scratch, &hdr);
    if (req->broker->batch_scratch.cap > 16u * 1024u * 1024u)
        buf_fini(&req->broker->batch_scratch); /* do not keep a huge one-off buffer */
    if (err != KERR_NONE) {
        static diag_ratelimit_t rl = DIAG_RATELIMIT_INIT(10);
        unsigned held;
        if (diag_ratelimit_ok(&rl, &held))
            LOG_WARN("produce", "rejected a batch for %s-%d from connection %llu (%s): %s (%u earlier not logged)",
                     t->name, rp->index, (unsigned long long)req->conn->id, req->conn->peer,
                     proto_kafka_error_name(err), held);
        return err;
    }
    if (hdr.attributes & PROTO_BATCH_TRANSACTIONAL) {
        /* KIP-890 part 1: a transactional batch only goes to a partition added to its transaction. */
        int16_t e = txn_partition_in_transaction(req->broker->txns.coord, hdr.producer_id, hdr.producer_epoch,
                                                 (proto_str_t){(const uint8_t *)t->name, (int32_t)t->name_len},
                                                 rp->index);
        if (e != KERR_NONE)
            return e == 120 && req->version < 11 ? KERR_INVALID_TXN_STATE : e;
    }
    if (t->compacted && !produce_keys_present(req, data, len, &hdr)) {
        out->error_message = proto_str_c("Compacted topic cannot accept message without key.");
        return KERR_INVALID_RECORD;
    }
    uint8_t *batch = broker_mutable(data);
    /* compression.type naming a codec: the batch may be replaced by a recompressed copy. */
    int16_t recompress_err = broker_topic_recompress(t, &req->arena, &req->broker->batch_scratch, &batch, &len);
    if (recompress_err != KERR_NONE)
        return recompress_err;
    int64_t now = -1;
    if (t->log_append_time) {
        now = clock_wall_ms();
        proto_batch_set_log_append_time(batch, len, now);
    }
    /* The log checks producer ids, epochs and sequences: a retried batch it
     * already holds is answered with its original offset, not written again. */
    log_append_result_t res;
    int rc = log_partition_append_checked(part->log, batch, len, -1, &res);
    switch (rc) {
    case 0: break;
    case LOG_EOUT_OF_ORDER_SEQUENCE: return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case LOG_EINVALID_PRODUCER_EPOCH: return KERR_INVALID_PRODUCER_EPOCH;
    case LOG_EINVALID_TXN_STATE: return KERR_INVALID_TXN_STATE;
    case LOG_ETOOLARGE: return KERR_MESSAGE_TOO_LARGE;
    default:
        LOG_ERROR("produce", "append to %s-%d failed: %s", t->name, rp->index, log_strerror(rc));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    out->base_offset = res.base_offset;
    out->log_append_time_ms = res.duplicate && t->log_append_time ? res.log_append_time : now;
    out->log_start_offset = log_partition_start_offset(part->log);
    broker_storage_appended(req->broker, t, rp->index);
    return KERR_NONE;
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
    bool any_error = false, appended = false;
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
            if (!acks_ok)
                op->error_code = KERR_INVALID_REQUIRED_ACKS;
            else if (!t)
                op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (broker_topic_is_internal(t->name, t->name_len))
                op->error_code = KERR_INVALID_TOPIC_EXCEPTION; /* only the coordinators write there */
            else
                op->error_code = produce_partition(req, t, rp, op);
            if (op->error_code != KERR_NONE) {
                any_error = true;
                continue;
            }
            appended = true;
            if (body->acks != 0 && t->flush_messages == 1) {
                if (!park) {
                    park = arena_alloc(&req->arena, sizeof(*park));
                    if (park)
                        park->waits = arena_alloc(&req->arena, sizeof(produce_wait_t) * (size_t)ntopics_parts(body));
                    if (!park || !park->waits)
                        return BROKER_CLOSE;
                }
                broker_partition_t *part = broker_topic_partition(t, rp->index);
                park->waits[park->n++] =
                    (produce_wait_t){rt->name, rp->index, log_partition_end_offset(part->log), op, false};
            }
        }
    }
    if (appended)
        broker_wake_parked(broker);
    if (body->acks == 0)
        return any_error ? BROKER_CLOSE : BROKER_NO_RESPONSE;
    if (park) {
        req->park_state = park;
        broker_result_t r = produce_resume(req, false);
        if (r == BROKER_PARKED) {
            int64_t timeout = body->timeout_ms > 0 ? body->timeout_ms : 30000;
            broker_req_park(req, BROKER_WAIT_FLUSH, produce_resume, park, (int64_t)uv_now(broker->loop) + timeout);
        }
        return r;
    }
    return BROKER_RESPOND;
}
