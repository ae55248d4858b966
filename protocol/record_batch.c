#include "protocol/record_batch.h"

#include "protocol/kafka_errors.h"

#include "base/crc32c.h"

static inline uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
    return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int proto_batch_header_parse(const uint8_t *p, size_t len, proto_batch_header_t *hdr)
{
    if (len < PROTO_BATCH_HEADER_SIZE)
        return PROTO_ESHORT;
    hdr->base_offset = (int64_t)be64(p);
    hdr->batch_length = (int32_t)be32(p + 8);
    hdr->partition_leader_epoch = (int32_t)be32(p + 12);
    hdr->magic = (int8_t)p[16];
    hdr->crc = be32(p + 17);
    hdr->attributes = (int16_t)((p[21] << 8) | p[22]);
    hdr->last_offset_delta = (int32_t)be32(p + 23);
    hdr->base_timestamp = (int64_t)be64(p + 27);
    hdr->max_timestamp = (int64_t)be64(p + 35);
    hdr->producer_id = (int64_t)be64(p + 43);
    hdr->producer_epoch = (int16_t)((p[51] << 8) | p[52]);
    hdr->base_sequence = (int32_t)be32(p + 53);
    hdr->records_count = (int32_t)be32(p + 57);
    if (hdr->magic != 2)
        return PROTO_EINVALID;
    if (hdr->batch_length < PROTO_BATCH_HEADER_SIZE - PROTO_BATCH_LOG_OVERHEAD)
        return PROTO_EINVALID;
    return 0;
}

uint32_t proto_batch_compute_crc(const uint8_t *batch, size_t total)
{
    if (total < PROTO_BATCH_ATTR_OFFSET)
        return 0;
    return crc32c(batch + PROTO_BATCH_ATTR_OFFSET, total - PROTO_BATCH_ATTR_OFFSET);
}

int proto_batch_crc_ok(const uint8_t *batch, size_t total)
{
    if (total < PROTO_BATCH_HEADER_SIZE)
        return 0;
    return proto_batch_compute_crc(batch, total) == be32(batch + PROTO_BATCH_CRC_OFFSET);
}

void proto_batch_set_base_offset(uint8_t *batch, int64_t base_offset)
{
    put32(batch, (uint32_t)((uint64_t)base_offset >> 32));
    put32(batch + 4, (uint32_t)base_offset);
}

void proto_batch_set_leader_epoch(uint8_t *batch, int32_t epoch)
{
    put32(batch + 12, (uint32_t)epoch);
}

static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/*
 * Kafka error codes this file answers with. The broker's error table is the
 * source of truth; these are the numbers from Kafka's Errors.java.
 */

int proto_batch_records(const uint8_t *batch, size_t total, const proto_batch_header_t *hdr, buf_t *scratch,
                        size_t max_decompressed, proto_reader_t *rd)
{
    proto_reader_init(rd, batch, 0);
    if (total < PROTO_BATCH_HEADER_SIZE)
        return PROTO_ESHORT;
    const uint8_t *p = batch + PROTO_BATCH_HEADER_SIZE;
    size_t n = total - PROTO_BATCH_HEADER_SIZE;
    int codec = hdr->attributes & PROTO_BATCH_CODEC_MASK;
    if (codec == PROTO_CODEC_NONE) {
        proto_reader_init(rd, p, n);
        return 0;
    }
    if (codec > PROTO_CODEC_ZSTD || !scratch)
        return PROTO_EINVALID;
    scratch->len = 0;
    int rc = proto_decompress((proto_codec_t)codec, p, n, scratch, max_decompressed);
    if (rc)
        return rc;
    proto_reader_init(rd, scratch->data, scratch->len);
    return 0;
}

/* Walks the records: exactly count of them, offset deltas 0..count-1. */
static int16_t check_records(proto_reader_t *rd, int32_t count)
{
    proto_record_t rec;
    for (int32_t i = 0; i < count; i++) {
        if (proto_rd_remaining(rd) == 0)
            return KERR_INVALID_RECORD; /* fewer records than declared */
        if (proto_record_next(rd, &rec) != 0)
            return KERR_INVALID_RECORD;
        if (rec.offset_delta != i)
            return KERR_INVALID_RECORD;
    }
    if (proto_rd_remaining(rd) != 0)
        return KERR_INVALID_RECORD; /* more records, or trailing bytes */
    return KERR_NONE;
}

static int16_t validate_header(const uint8_t *batch, size_t len, const proto_batch_limits_t *lim,
                               proto_batch_header_t *hdr)
{
    /* Fills hdr whenever the bytes are there, so callers can log what came. */
    int have_header = proto_batch_header_parse(batch, len, hdr) != PROTO_ESHORT;
    if (len > lim->max_batch_bytes)
        return KERR_MESSAGE_TOO_LARGE;
    if (!have_header)
        return KERR_CORRUPT_MESSAGE;
    /* The magic decides how the rest of the header reads. */
    if (hdr->magic != 2)
        return KERR_INVALID_RECORD;
    if (hdr->batch_length < 0 || proto_batch_total_size(hdr) != len)
        return KERR_CORRUPT_MESSAGE;
    if (!proto_batch_crc_ok(batch, len))
        return KERR_CORRUPT_MESSAGE;
    if (hdr->records_count <= 0 || (int64_t)hdr->last_offset_delta + 1 != hdr->records_count)
        return KERR_INVALID_RECORD;
    if (hdr->attributes & PROTO_BATCH_CONTROL)
        return KERR_INVALID_RECORD; /* only the broker writes control batches */
    if (hdr->producer_id >= 0 && hdr->base_sequence < 0)
        return KERR_INVALID_RECORD;
    int codec = hdr->attributes & PROTO_BATCH_CODEC_MASK;
    if (codec > PROTO_CODEC_ZSTD)
        return KERR_INVALID_RECORD;
    if (codec == PROTO_CODEC_ZSTD && !lim->allow_zstd)
        return KERR_UNSUPPORTED_COMPRESSION_TYPE;
    return KERR_NONE;
}

int16_t proto_batch_validate(const uint8_t *batch, size_t len, const proto_batch_limits_t *lim, buf_t *scratch,
                             proto_batch_header_t *hdr)
{
    proto_batch_header_t local_hdr;
    if (!hdr)
        hdr = &local_hdr;
    int16_t err = validate_header(batch, len, lim, hdr);
    if (err)
        return err;

    buf_t tmp;
    buf_init(&tmp);
    proto_reader_t rd;
    int rc = proto_batch_records(batch, len, hdr, scratch ? scratch : &tmp, lim->max_decompressed_bytes, &rd);
    if (rc == 0)
        err = check_records(&rd, hdr->records_count);
    else if (rc == PROTO_ELIMIT)
        err = KERR_MESSAGE_TOO_LARGE;
    else if (rc == PROTO_ENOMEM)
        err = KERR_UNKNOWN_SERVER_ERROR;
    else
        err = KERR_INVALID_RECORD;
    buf_fini(&tmp);
    return err;
}

void proto_batch_set_log_append_time(uint8_t *batch, size_t total, int64_t now_ms)
{
    if (total < PROTO_BATCH_HEADER_SIZE)
        return;
    batch[PROTO_BATCH_ATTR_OFFSET + 1] |= PROTO_BATCH_LOG_APPEND_TIME;
    put64(batch + 35, (uint64_t)now_ms);
    put32(batch + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(batch, total));
}

void proto_batch_build_init(proto_batch_build_t *spec)
{
    spec->codec = PROTO_CODEC_NONE;
    spec->attributes = 0;
    spec->producer_id = -1;
    spec->producer_epoch = -1;
    spec->base_sequence = -1;
    spec->base_timestamp = 0;
    spec->partition_leader_epoch = -1;
}

/* Writes the records section (plain) to wr; returns the max timestamp delta. */
static int64_t write_records(proto_writer_t *wr, const proto_record_spec_t *records, int count)
{
    int64_t max_delta = 0;
    for (int i = 0; i < count; i++) {
        proto_record_write(wr, &records[i], i);
        if (i == 0 || records[i].timestamp_delta > max_delta)
            max_delta = records[i].timestamp_delta;
    }
    return max_delta;
}

int proto_batch_build(buf_t *out, const proto_batch_build_t *spec, const proto_record_spec_t *records, int count)
{
    if (count < 0 || (unsigned)spec->codec > PROTO_CODEC_ZSTD)
        return PROTO_EINVALID;
    size_t start = out->len;
    proto_writer_t wr;
    proto_writer_init(&wr, out);
    /* Header with batch_length and crc as placeholders, patched below. */
    proto_wr_i64(&wr, 0);
    proto_wr_i32(&wr, 0);
    proto_wr_i32(&wr, spec->partition_leader_epoch);
    proto_wr_i8(&wr, 2);
    proto_wr_u32(&wr, 0);
    proto_wr_i16(&wr, (int16_t)((spec->attributes & ~PROTO_BATCH_CODEC_MASK) | (int16_t)spec->codec));
    proto_wr_i32(&wr, count - 1);
    proto_wr_i64(&wr, spec->base_timestamp);
    proto_wr_i64(&wr, 0); /* max_timestamp */
    proto_wr_i64(&wr, spec->producer_id);
    proto_wr_i16(&wr, spec->producer_epoch);
    proto_wr_i32(&wr, spec->base_sequence);
    proto_wr_i32(&wr, count);

    int64_t max_delta;
    int rc = 0;
    if (spec->codec == PROTO_CODEC_NONE) {
        max_delta = write_records(&wr, records, count);
        rc = wr.err;
    } else {
        buf_t plain;
        buf_init(&plain);
        proto_writer_t pw;
        proto_writer_init(&pw, &plain);
        max_delta = write_records(&pw, records, count);
        rc = pw.err ? pw.err : wr.err;
        if (!rc)
            rc = proto_compress(spec->codec, plain.data, plain.len, out);
        buf_fini(&plain);
    }
    if (!rc && out->len - start - PROTO_BATCH_LOG_OVERHEAD > INT32_MAX)
        rc = PROTO_EINVALID;
    if (rc) {
        out->len = start;
        return rc;
    }
    uint8_t *batch = out->data + start;
    size_t total = out->len - start;
    put32(batch + 8, (uint32_t)(total - PROTO_BATCH_LOG_OVERHEAD));
    put64(batch + 35, (uint64_t)(spec->base_timestamp + max_delta));
    put32(batch + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(batch, total));
    return 0;
}

int proto_batch_build_marker(buf_t *out, int64_t producer_id, int16_t producer_epoch, int16_t type,
                             int32_t coordinator_epoch, int64_t timestamp)
{
    uint8_t key[4] = {0, 0, (uint8_t)((uint16_t)type >> 8), (uint8_t)type};
    uint32_t ce = (uint32_t)coordinator_epoch;
    uint8_t value[6] = {0, 0, (uint8_t)(ce >> 24), (uint8_t)(ce >> 16), (uint8_t)(ce >> 8), (uint8_t)ce};
    proto_record_spec_t rec = {0};
    rec.key = (proto_bytes_t){key, 4};
    rec.value = (proto_bytes_t){value, 6};
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.attributes = PROTO_BATCH_TRANSACTIONAL | PROTO_BATCH_CONTROL;
    spec.producer_id = producer_id;
    spec.producer_epoch = producer_epoch;
    spec.base_sequence = -1;
    spec.base_timestamp = timestamp;
    return proto_batch_build(out, &spec, &rec, 1);
}
