#include "log/validate.h"

#include <string.h>

#include "protocol/compress.h"
#include "protocol/kafka_errors.h"
#include "protocol/record.h"

/* Kafka's smallest legacy record (LegacyRecord.RECORD_OVERHEAD_V0): a size below it is corrupt. */
#define VALIDATE_MIN_RECORD_SIZE 14

static inline uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* Java's long arithmetic wraps; so does Kafka's timestamp check, and so does ours. */
static inline int64_t wrap_sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

void log_validate_rules_init(log_validate_rules_t *rules, size_t max_batch_bytes, int64_t now_ms)
{
    memset(rules, 0, sizeof(*rules));
    rules->max_batch_bytes = max_batch_bytes;
    rules->max_decompressed_bytes = 256u * 1024u * 1024u;
    rules->allow_zstd = true;
    rules->timestamp_before_max_ms = INT64_MAX;
    rules->timestamp_after_max_ms = INT64_MAX;
    rules->target_codec = -1;
    rules->now_ms = now_ms;
}

static int16_t refuse(log_validated_t *res, int16_t err, const char *why)
{
    res->message = why;
    return err;
}

/*
 * ProduceRequest.validateRecords and Kafka's batch iterator: one complete
 * magic-2 batch first; what follows it is trimmed unless it makes a batch.
 */
static int16_t check_framing(const log_validate_rules_t *rules, const uint8_t *p, size_t len, log_validated_t *res)
{
    if (len < PROTO_BATCH_LOG_OVERHEAD)
        return refuse(res, KERR_INVALID_RECORD, "Produce requests must have at least one record batch per partition");
    uint32_t blen = be32(p + 8);
    if (blen < VALIDATE_MIN_RECORD_SIZE)
        return refuse(res, KERR_CORRUPT_MESSAGE, "Record batch size is below the minimum record overhead");
    if (blen > len - PROTO_BATCH_LOG_OVERHEAD)
        return refuse(res, KERR_INVALID_RECORD, "Produce requests must have at least one complete record batch");
    size_t total = PROTO_BATCH_LOG_OVERHEAD + (size_t)blen;
    if (p[16] != 2)
        return refuse(res, KERR_INVALID_RECORD, "Produce requests must use record batches of magic 2");
    if ((p[PROTO_BATCH_ATTR_OFFSET + 1] & PROTO_BATCH_CODEC_MASK) == PROTO_CODEC_ZSTD && !rules->allow_zstd)
        return refuse(res, KERR_UNSUPPORTED_COMPRESSION_TYPE, "zstd needs Produce v7 or later");
    size_t rest = len - total;
    if (rest >= PROTO_BATCH_LOG_OVERHEAD) {
        uint32_t next = be32(p + total + 8);
        if (next < VALIDATE_MIN_RECORD_SIZE)
            return refuse(res, KERR_CORRUPT_MESSAGE, "Record size after the batch is below the minimum record overhead");
        if (next <= rest - PROTO_BATCH_LOG_OVERHEAD)
            return refuse(res, KERR_INVALID_RECORD, "Produce requests must carry exactly one record batch per partition");
    }
    res->len = total;
    res->ignored = rest;
    return KERR_NONE;
}

/* UnifiedLog.analyzeAndValidateRecords and LogValidator.validateBatch. */
static int16_t check_batch(const log_validate_rules_t *rules, const uint8_t *batch, size_t len,
                           proto_batch_header_t *hdr, log_validated_t *res)
{
    if (len > rules->max_batch_bytes)
        return refuse(res, KERR_MESSAGE_TOO_LARGE, "The record batch is larger than max.message.bytes");
    if (len < PROTO_BATCH_HEADER_SIZE || proto_batch_header_parse(batch, len, hdr) != 0)
        return refuse(res, KERR_CORRUPT_MESSAGE, "Record batch is smaller than its header");
    if (!proto_batch_crc_ok(batch, len))
        return refuse(res, KERR_CORRUPT_MESSAGE, "Record batch is corrupt (CRC-32C mismatch)");
    if ((int64_t)hdr->last_offset_delta + 1 <= 0)
        return refuse(res, KERR_INVALID_RECORD, "Batch has an invalid offset range");
    if (hdr->records_count <= 0)
        return refuse(res, KERR_INVALID_RECORD, "Invalid reported count for record batch");
    if ((int64_t)hdr->last_offset_delta + 1 != hdr->records_count)
        return refuse(res, KERR_INVALID_RECORD, "Inconsistent batch offset range and count of records");
    if (hdr->attributes & PROTO_BATCH_CONTROL)
        return refuse(res, KERR_INVALID_RECORD, "Clients are not allowed to write control records");
    if (hdr->producer_id >= 0 && hdr->base_sequence < 0)
        return refuse(res, KERR_INVALID_RECORD, "Invalid sequence number in a batch with a producer id");
    if ((hdr->attributes & PROTO_BATCH_CODEC_MASK) > PROTO_CODEC_ZSTD)
        return refuse(res, KERR_INVALID_RECORD, "Unknown compression codec");
    return KERR_NONE;
}

static void record_error(log_validated_t *res, int32_t index)
{
    if (res->nrecord_errors < LOG_VALIDATE_RECORD_ERRORS_MAX)
        res->record_errors[res->nrecord_errors] = index;
    res->nrecord_errors++;
}

/* One record re-encoded with a new offset delta and timestamp delta; headers copied as encoded. */
static void write_record(proto_writer_t *wr, const proto_record_t *rec, int64_t ts_delta, int32_t offset_delta)
{
    proto_writer_t sizer;
    proto_writer_init(&sizer, NULL);
    for (int pass = 0; pass < 2; pass++) {
        proto_writer_t *w = pass ? wr : &sizer;
        if (pass)
            proto_wr_varint(wr, (int32_t)sizer.count);
        proto_wr_i8(w, rec->attributes);
        proto_wr_varlong(w, ts_delta);
        proto_wr_varint(w, offset_delta);
        proto_wr_varint(w, rec->key.len);
        if (rec->key.len > 0)
            proto_wr_raw(w, rec->key.ptr, (size_t)rec->key.len);
        proto_wr_varint(w, rec->value.len);
        if (rec->value.len > 0)
            proto_wr_raw(w, rec->value.ptr, (size_t)rec->value.len);
        proto_wr_varint(w, rec->headers_count);
        if (rec->headers_len)
            proto_wr_raw(w, rec->headers, rec->headers_len);
    }
}

/*
 * Kafka's MemoryRecordsBuilder for a batch it must rebuild: same producer
 * fields and transactional bit, the topic's codec and timestamp type, the
 * first record's timestamp as the base, offset deltas 0..n-1.
 */
static int16_t rebuild(const log_validate_rules_t *rules, const proto_batch_header_t *hdr, proto_reader_t rd,
                       int codec, int64_t max_ts, buf_t *out, log_validated_t *res)
{
    buf_t plain;
    buf_init(&plain);
    proto_writer_t pw;
    proto_writer_init(&pw, &plain);
    bool lat_in = (hdr->attributes & PROTO_BATCH_LOG_APPEND_TIME) != 0;
    int64_t base_ts = 0;
    for (int32_t i = 0; i < hdr->records_count; i++) {
        proto_record_t rec;
        if (proto_record_next(&rd, &rec) != 0)
            break;
        int64_t ts = lat_in ? hdr->max_timestamp : (int64_t)((uint64_t)hdr->base_timestamp + (uint64_t)rec.timestamp_delta);
        if (i == 0)
            base_ts = ts;
        write_record(&pw, &rec, wrap_sub(ts, base_ts), i);
    }
    out->len = 0;
    proto_writer_t wr;
    proto_writer_init(&wr, out);
    int16_t attrs = (int16_t)(hdr->attributes & PROTO_BATCH_TRANSACTIONAL);
    attrs |= (int16_t)codec;
    if (rules->log_append_time)
        attrs |= PROTO_BATCH_LOG_APPEND_TIME;
    proto_wr_i64(&wr, 0);
    proto_wr_i32(&wr, 0); /* batch_length, patched below */
    proto_wr_i32(&wr, hdr->partition_leader_epoch);
    proto_wr_i8(&wr, 2);
    proto_wr_u32(&wr, 0); /* crc, patched below */
    proto_wr_i16(&wr, attrs);
    proto_wr_i32(&wr, hdr->records_count - 1);
    proto_wr_i64(&wr, base_ts);
    proto_wr_i64(&wr, rules->log_append_time ? rules->now_ms : max_ts);
    proto_wr_i64(&wr, hdr->producer_id);
    proto_wr_i16(&wr, hdr->producer_epoch);
    proto_wr_i32(&wr, hdr->base_sequence);
    proto_wr_i32(&wr, hdr->records_count);
    int rc = pw.err ? pw.err : wr.err;
    if (!rc)
        rc = proto_compress((proto_codec_t)codec, plain.data, plain.len, out);
    buf_fini(&plain);
    if (rc || out->len - PROTO_BATCH_LOG_OVERHEAD > INT32_MAX) {
        out->len = 0;
        return refuse(res, KERR_UNKNOWN_SERVER_ERROR, "Rebuilding the batch failed");
    }
    put32(out->data + 8, (uint32_t)(out->len - PROTO_BATCH_LOG_OVERHEAD));
    put32(out->data + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(out->data, out->len));
    res->batch = out->data;
    res->len = out->len;
    res->rebuilt = true;
    (void)proto_batch_header_parse(res->batch, res->len, &res->hdr);
    return KERR_NONE;
}

int16_t log_validate_batch(const log_validate_rules_t *rules, uint8_t *records, size_t len, buf_t *scratch,
                           buf_t *out, log_validated_t *res)
{
    memset(res, 0, sizeof(*res));
    res->log_append_time = -1;
    res->batch = records;
    int16_t err = check_framing(rules, records, len, res);
    if (err)
        return err;
    proto_batch_header_t *hdr = &res->hdr;
    err = check_batch(rules, records, res->len, hdr, res);
    if (err)
        return err;

    int codec = hdr->attributes & PROTO_BATCH_CODEC_MASK;
    proto_reader_t rd;
    int rc = proto_batch_records(records, res->len, hdr, scratch, rules->max_decompressed_bytes, &rd);
    if (rc == PROTO_ELIMIT)
        return refuse(res, KERR_MESSAGE_TOO_LARGE, "The batch's records are larger than the broker decompresses");
    if (rc == PROTO_ENOMEM)
        return refuse(res, KERR_UNKNOWN_SERVER_ERROR, "Out of memory decompressing the batch");
    if (rc)
        return refuse(res, KERR_INVALID_RECORD, "The batch's records do not decompress");
    proto_reader_t start = rd;

    /* LogValidator's record walk: keys, timestamps, the max timestamp, offsets in order. */
    bool lat_in = (hdr->attributes & PROTO_BATCH_LOG_APPEND_TIME) != 0;
    bool in_order = true, bad_timestamp = false;
    int64_t max_ts = -1;
    for (int32_t i = 0; i < hdr->records_count; i++) {
        proto_record_t rec;
        if (proto_rd_remaining(&rd) == 0 || proto_record_next(&rd, &rec) != 0)
            return refuse(res, KERR_INVALID_RECORD, "Found invalid record structure");
        if (rec.offset_delta != i)
            in_order = false;
        int64_t ts = lat_in ? hdr->max_timestamp : (int64_t)((uint64_t)hdr->base_timestamp + (uint64_t)rec.timestamp_delta);
        if (ts > max_ts)
            max_ts = ts;
        if (rules->compacted && rec.key.len < 0) {
            res->message = "Compacted topic cannot accept message without key";
            record_error(res, i);
            continue;
        }
        if (!rules->log_append_time && ts != -1) {
            int64_t diff = wrap_sub(rules->now_ms, ts);
            if (diff > rules->timestamp_before_max_ms || wrap_sub(0, diff) > rules->timestamp_after_max_ms) {
                bad_timestamp = true;
                record_error(res, i);
            }
        } else if (lat_in) {
            bad_timestamp = true; /* a producer does not set LogAppendTime */
            record_error(res, i);
        }
    }
    if (proto_rd_remaining(&rd) != 0)
        return refuse(res, KERR_INVALID_RECORD, "Incorrect declared batch size, records still remaining");
    if (res->nrecord_errors) {
        if (bad_timestamp)
            return refuse(res, KERR_INVALID_TIMESTAMP, "One or more records have been rejected due to invalid timestamp");
        return KERR_INVALID_RECORD; /* the key message set above */
    }
    if (rules->log_append_time)
        res->log_append_time = rules->now_ms;

    int target = rules->target_codec < 0 ? codec : rules->target_codec;
    if (target != codec || !in_order)
        return rebuild(rules, hdr, start, target, max_ts, out, res);

    /* In place: only the timestamp type and max timestamp may change, and the CRC with them. */
    int16_t attrs = rules->log_append_time ? (int16_t)(hdr->attributes | PROTO_BATCH_LOG_APPEND_TIME)
                                           : (int16_t)(hdr->attributes & ~PROTO_BATCH_LOG_APPEND_TIME);
    int64_t want_max = rules->log_append_time ? rules->now_ms : max_ts;
    if (attrs != hdr->attributes || want_max != hdr->max_timestamp) {
        records[PROTO_BATCH_ATTR_OFFSET] = (uint8_t)((uint16_t)attrs >> 8);
        records[PROTO_BATCH_ATTR_OFFSET + 1] = (uint8_t)attrs;
        put64(records + 35, (uint64_t)want_max);
        put32(records + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(records, res->len));
        hdr->attributes = attrs;
        hdr->max_timestamp = want_max;
        hdr->crc = be32(records + PROTO_BATCH_CRC_OFFSET);
        res->rewritten = true;
    }
    return KERR_NONE;
}
