#include "protocol/message_set.h"

#include <string.h>

#include <zlib.h>

#include "base/crc32c.h"
#include "protocol/compress.h"
#include "protocol/kafka_errors.h"
#include "protocol/record.h"
#include "protocol/record_batch.h"
#include "protocol/writer.h"

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

static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* Timestamps are producer data: differences wrap as in Kafka's (Java) arithmetic instead of overflowing. */
static inline int64_t wrap_sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static inline int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* CRC-32 (IEEE) as zlib computes it; zlib takes lengths as uInt. */
static uint32_t legacy_crc(const uint8_t *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)crc;
}

/* ---- xxh32 (for the lz4 frame header checksum) -------------------------- */

#define XXH_P1 0x9E3779B1u
#define XXH_P2 0x85EBCA77u
#define XXH_P3 0xC2B2AE3Du
#define XXH_P4 0x27D4EB2Fu
#define XXH_P5 0x165667B1u

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint32_t xxh_round(uint32_t acc, uint32_t in)
{
    return rotl32(acc + in * XXH_P2, 13) * XXH_P1;
}

uint32_t proto_xxh32(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    uint32_t h;
    if (n >= 16) {
        uint32_t v1 = XXH_P1 + XXH_P2, v2 = XXH_P2, v3 = 0, v4 = 0u - XXH_P1;
        while ((size_t)(end - p) >= 16) {
            v1 = xxh_round(v1, le32(p));
            v2 = xxh_round(v2, le32(p + 4));
            v3 = xxh_round(v3, le32(p + 8));
            v4 = xxh_round(v4, le32(p + 12));
            p += 16;
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = XXH_P5;
    }
    h += (uint32_t)n;
    while ((size_t)(end - p) >= 4) {
        h = rotl32(h + le32(p) * XXH_P3, 17) * XXH_P4;
        p += 4;
    }
    while (p < end) {
        h = rotl32(h + *p * XXH_P5, 11) * XXH_P1;
        p++;
    }
    h ^= h >> 15;
    h *= XXH_P2;
    h ^= h >> 13;
    h *= XXH_P3;
    h ^= h >> 16;
    return h;
}

/*
 * LZ4 frame header: magic (4, LE 0x184D2204), FLG, BD, content size (8,
 * when FLG bit 3), dictionary id (4, when FLG bit 0), HC = second byte of
 * xxh32 over the descriptor (FLG..). Returns the HC byte's position, or 0
 * when p does not start with a frame header.
 */
static size_t lz4_hc_pos(const uint8_t *p, size_t n)
{
    if (n < 7 || le32(p) != 0x184D2204u)
        return 0;
    size_t pos = 6 + ((p[4] & 0x08) ? 8 : 0) + ((p[4] & 0x01) ? 4 : 0);
    return pos < n ? pos : 0;
}

/* broken: the magic-0 checksum, over the frame magic and the descriptor. */
static void lz4_set_hc(uint8_t *p, size_t n, bool broken)
{
    size_t hc = lz4_hc_pos(p, n);
    if (hc)
        p[hc] = (uint8_t)(proto_xxh32(broken ? p : p + 4, broken ? hc : hc - 4) >> 8);
}

/* ---- reading ---------------------------------------------------------- */

int proto_legacy_magic(const uint8_t *p, size_t len)
{
    return len > PROTO_LEGACY_MAGIC_OFFSET && p[PROTO_LEGACY_MAGIC_OFFSET] <= 1;
}

/* An int32-length-prefixed byte string inside a message, -1 null. */
static int legacy_bytes(proto_reader_t *rd, proto_bytes_t *b)
{
    int32_t n = proto_rd_i32(rd);
    if (rd->err || n < -1)
        return -1;
    b->len = n;
    b->ptr = NULL;
    if (n >= 0) {
        b->ptr = proto_rd_raw(rd, (size_t)n);
        if (!b->ptr)
            return -1;
    }
    return 0;
}

int proto_legacy_next(proto_reader_t *rd, proto_legacy_msg_t *msg, int16_t *kerr)
{
    *kerr = KERR_NONE;
    size_t left = proto_rd_remaining(rd);
    if (rd->err || left < PROTO_LEGACY_LOG_OVERHEAD)
        return 0; /* the end, or a partial entry: Kafka stops here */
    const uint8_t *p = rd->p;
    int32_t size = (int32_t)be32(p + 8);
    if (size < PROTO_LEGACY_MIN_SIZE_V0) {
        *kerr = KERR_CORRUPT_MESSAGE;
        return -1;
    }
    if ((size_t)size > left - PROTO_LEGACY_LOG_OVERHEAD)
        return 0;
    const uint8_t *m = p + PROTO_LEGACY_LOG_OVERHEAD;
    int8_t magic = (int8_t)m[4];
    if (magic == 2) {
        *kerr = KERR_INVALID_RECORD; /* a v2 batch among legacy entries: a magic mismatch to Kafka */
        return -1;
    }
    if ((magic != 0 && magic != 1) || (magic == 1 && size < PROTO_LEGACY_MIN_SIZE_V1) ||
        legacy_crc(m + 4, (size_t)size - 4) != be32(m)) {
        *kerr = KERR_CORRUPT_MESSAGE;
        return -1;
    }
    proto_reader_t body;
    proto_reader_init(&body, m + 5, (size_t)size - 5);
    msg->offset = (int64_t)be64(p);
    msg->size = size;
    msg->magic = magic;
    msg->attributes = proto_rd_i8(&body);
    msg->timestamp = magic == 1 ? proto_rd_i64(&body) : -1;
    /* Bytes after the value are not looked at, as in Kafka. */
    if (legacy_bytes(&body, &msg->key) || legacy_bytes(&body, &msg->value)) {
        *kerr = KERR_CORRUPT_MESSAGE;
        return -1;
    }
    rd->p += PROTO_LEGACY_LOG_OVERHEAD + (size_t)size;
    return 1;
}

/* ---- legacy -> v2 (produce) ------------------------------------------- */

/* What the records of one produced set look like before they are written. */
typedef struct legacy_scan_s {
    const uint8_t *entries; /* the (inner, when compressed) message set */
    size_t len;
    int codec;
    int32_t count;
    int64_t first_ts;
    int64_t max_ts;
    int64_t wrapper_ts; /* magic 1 wrapper claiming LogAppendTime: its timestamp for every inner record */
    bool wrapper_lat;
} legacy_scan_t;

/* Kafka's timestamp rule for a legacy record of the given type bit. */
static int16_t legacy_check_ts(const proto_legacy_limits_t *lim, bool record_lat, int64_t ts)
{
    if (!lim->log_append_time && ts != -1)
        return KERR_NONE; /* CreateTime with a timestamp: eddy checks no range (as the v2 path) */
    return record_lat ? KERR_INVALID_TIMESTAMP : KERR_NONE;
}

static void scan_ts(legacy_scan_t *sc, int64_t ts)
{
    if (sc->count == 0)
        sc->first_ts = ts;
    if (sc->count == 0 || ts > sc->max_ts)
        sc->max_ts = ts;
    sc->count++;
}

/* Opens a wrapper's value into scratch and checks every inner entry. */
static int16_t legacy_open_wrapper(const proto_legacy_msg_t *w, const proto_legacy_limits_t *lim, buf_t *scratch,
                                   legacy_scan_t *sc)
{
    int codec = w->attributes & PROTO_LEGACY_CODEC_MASK;
    if (codec > PROTO_CODEC_LZ4 || w->value.len < 0)
        return KERR_INVALID_RECORD; /* zstd has no legacy form; 5-7 are no codec */
    scratch->len = 0;
    const uint8_t *src = w->value.ptr;
    size_t n = (size_t)w->value.len;
    if (codec == PROTO_CODEC_LZ4 && w->magic == 0 && lz4_hc_pos(src, n)) {
        /* Magic 0 frames carry a checksum over the wrong bytes: Kafka ignores it, LZ4F does not, so fix a copy. */
        if (buf_append(scratch, src, n))
            return KERR_UNKNOWN_SERVER_ERROR;
        lz4_set_hc(scratch->data, n, false);
        src = scratch->data;
    }
    size_t at = scratch->len;
    int rc = proto_decompress((proto_codec_t)codec, src, n, scratch, lim->max_decompressed_bytes);
    if (rc == PROTO_ELIMIT)
        return KERR_MESSAGE_TOO_LARGE;
    if (rc == PROTO_ENOMEM)
        return KERR_UNKNOWN_SERVER_ERROR;
    if (rc != 0)
        return KERR_INVALID_RECORD;
    sc->entries = scratch->data + at;
    sc->len = scratch->len - at;
    sc->codec = codec;
    sc->wrapper_lat = w->magic == 1 && (w->attributes & PROTO_LEGACY_LOG_APPEND_TIME);
    sc->wrapper_ts = w->timestamp;
    proto_reader_t rd;
    proto_reader_init(&rd, sc->entries, sc->len);
    proto_legacy_msg_t in;
    int16_t kerr;
    int got;
    int64_t last_inner = 0;
    while ((got = proto_legacy_next(&rd, &in, &kerr)) == 1) {
        if (in.magic != w->magic || (in.attributes & PROTO_LEGACY_CODEC_MASK) != 0)
            return KERR_INVALID_RECORD;
        int64_t ts = sc->wrapper_lat ? w->timestamp : in.timestamp;
        int16_t e = legacy_check_ts(lim, sc->wrapper_lat, ts);
        if (e != KERR_NONE)
            return e;
        if (sc->count == INT32_MAX)
            return KERR_INVALID_RECORD;
        scan_ts(sc, ts);
        last_inner = in.offset;
    }
    if (got < 0)
        return kerr == KERR_INVALID_RECORD ? KERR_INVALID_RECORD : KERR_CORRUPT_MESSAGE;
    if (sc->count == 0)
        return KERR_INVALID_RECORD;
    /* Some librdkafka versions leave the wrapper offset 0; otherwise it must cover the relative inner ones. */
    if (w->magic == 1 && w->offset != 0 && w->offset < last_inner)
        return KERR_INVALID_RECORD;
    return KERR_NONE;
}

static int16_t legacy_scan(const uint8_t *set, size_t len, const proto_legacy_limits_t *lim, buf_t *scratch,
                           legacy_scan_t *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->entries = set;
    sc->first_ts = sc->max_ts = -1;
    proto_reader_t rd;
    proto_reader_init(&rd, set, len);
    proto_legacy_msg_t msg;
    int16_t kerr;
    int got;
    int8_t magic = -1;
    int32_t outer = 0;
    bool compressed = false;
    while ((got = proto_legacy_next(&rd, &msg, &kerr)) == 1) {
        if (magic >= 0 && msg.magic != magic)
            return KERR_INVALID_RECORD;
        magic = msg.magic;
        if ((size_t)msg.size + PROTO_LEGACY_LOG_OVERHEAD > lim->max_message_bytes)
            return KERR_MESSAGE_TOO_LARGE;
        /* A compressed entry must be the only one (Kafka: "more than one batch"). */
        if (compressed || ((msg.attributes & PROTO_LEGACY_CODEC_MASK) != 0 && outer > 0))
            return KERR_INVALID_RECORD;
        outer++;
        if ((msg.attributes & PROTO_LEGACY_CODEC_MASK) != 0) {
            compressed = true;
            int16_t e = legacy_open_wrapper(&msg, lim, scratch, sc);
            if (e != KERR_NONE)
                return e;
            continue;
        }
        bool lat = msg.magic == 1 && (msg.attributes & PROTO_LEGACY_LOG_APPEND_TIME);
        int16_t e = legacy_check_ts(lim, lat, msg.timestamp);
        if (e != KERR_NONE)
            return e;
        if (sc->count == INT32_MAX)
            return KERR_INVALID_RECORD;
        scan_ts(sc, msg.timestamp);
    }
    if (got < 0)
        return kerr;
    if (!compressed)
        sc->len = (size_t)(rd.p - set); /* a partial tail is dropped */
    return KERR_NONE;
}

int16_t proto_msgset_to_batch(const uint8_t *set, size_t len, const proto_legacy_limits_t *lim, buf_t *out,
                              buf_t *scratch, int32_t *count)
{
    *count = 0;
    legacy_scan_t sc;
    int16_t e = legacy_scan(set, len, lim, scratch, &sc);
    if (e != KERR_NONE || sc.count == 0)
        return e;
    size_t start = out->len;
    buf_t plain;
    buf_init(&plain);
    /* Uncompressed records go straight after the header; compressed ones through plain first. */
    buf_t *recs = sc.codec == PROTO_CODEC_NONE ? out : &plain;
    uint8_t hdr[PROTO_BATCH_HEADER_SIZE] = {0};
    if (buf_append(out, hdr, sizeof(hdr)))
        goto nomem;
    proto_writer_t wr;
    proto_writer_init(&wr, recs);
    proto_reader_t rd;
    proto_reader_init(&rd, sc.entries, sc.len);
    proto_legacy_msg_t msg;
    int16_t kerr;
    int32_t i = 0;
    while (i < sc.count && proto_legacy_next(&rd, &msg, &kerr) == 1) {
        int64_t ts = sc.wrapper_lat ? sc.wrapper_ts : msg.timestamp;
        proto_record_spec_t spec = {.key = msg.key, .value = msg.value, .timestamp_delta = wrap_sub(ts, sc.first_ts)};
        proto_record_write(&wr, &spec, i++);
    }
    if (wr.err || i != sc.count)
        goto nomem;
    if (sc.codec != PROTO_CODEC_NONE && proto_compress((proto_codec_t)sc.codec, plain.data, plain.len, out) != 0)
        goto nomem;
    buf_fini(&plain);
    size_t total = out->len - start;
    if (total - PROTO_BATCH_LOG_OVERHEAD > INT32_MAX) {
        out->len = start;
        return KERR_MESSAGE_TOO_LARGE;
    }
    uint8_t *b = out->data + start;
    put64(b, 0);
    put32(b + 8, (uint32_t)(total - PROTO_BATCH_LOG_OVERHEAD));
    put32(b + 12, UINT32_MAX); /* partition leader epoch -1 */
    b[16] = 2;
    b[21] = 0;
    b[22] = (uint8_t)sc.codec; /* CreateTime: a LogAppendTime topic stamps it later */
    put32(b + 23, (uint32_t)(sc.count - 1));
    put64(b + 27, (uint64_t)sc.first_ts);
    put64(b + 35, (uint64_t)sc.max_ts);
    put64(b + 43, UINT64_MAX); /* producer id -1 */
    b[51] = b[52] = 0xff;      /* producer epoch -1 */
    put32(b + 53, UINT32_MAX); /* base sequence -1 */
    put32(b + 57, (uint32_t)sc.count);
    put32(b + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(b, total));
    *count = sc.count;
    return KERR_NONE;
nomem:
    buf_fini(&plain);
    out->len = start;
    return KERR_UNKNOWN_SERVER_ERROR;
}

/* ---- v2 -> legacy (fetch) --------------------------------------------- */

static size_t legacy_entry_size(int8_t magic, proto_bytes_t key, proto_bytes_t value)
{
    return PROTO_LEGACY_LOG_OVERHEAD + (magic == 1 ? PROTO_LEGACY_MIN_SIZE_V1 : PROTO_LEGACY_MIN_SIZE_V0) +
           (size_t)(key.len > 0 ? key.len : 0) + (size_t)(value.len > 0 ? value.len : 0);
}

/* Appends an entry up to its key; the caller appends the value. Returns the entry's start, for legacy_entry_seal. */
static size_t legacy_entry_begin(proto_writer_t *wr, int8_t magic, int64_t offset, int8_t attributes, int64_t ts,
                                 proto_bytes_t key)
{
    size_t at = wr->buf->len;
    proto_wr_i64(wr, offset);
    proto_wr_i32(wr, 0); /* message_size, sealed below */
    proto_wr_u32(wr, 0); /* crc */
    proto_wr_i8(wr, magic);
    proto_wr_i8(wr, attributes);
    if (magic == 1)
        proto_wr_i64(wr, ts);
    proto_wr_bytes(wr, key);
    return at;
}

/* Fills message_size and the CRC of the entry starting at `at` and ending at the buffer's end. */
static void legacy_entry_seal(buf_t *buf, size_t at)
{
    uint8_t *e = buf->data + at;
    size_t size = buf->len - at - PROTO_LEGACY_LOG_OVERHEAD;
    put32(e + 8, (uint32_t)size);
    put32(e + 12, legacy_crc(e + 16, size - 4));
}

static void legacy_entry(proto_writer_t *wr, int8_t magic, int64_t offset, int8_t attributes, int64_t ts,
                         proto_bytes_t key, proto_bytes_t value)
{
    size_t at = legacy_entry_begin(wr, magic, offset, attributes, ts, key);
    proto_wr_bytes(wr, value);
    if (!wr->err)
        legacy_entry_seal(wr->buf, at);
}

/* One stored record, as a legacy message sees it. */
static int64_t record_ts(const proto_batch_header_t *hdr, const proto_record_t *rec)
{
    if (hdr->attributes & PROTO_BATCH_LOG_APPEND_TIME)
        return hdr->max_timestamp;
    return wrap_add(hdr->base_timestamp, rec->timestamp_delta);
}

/* An uncompressed batch: one entry per record at or past fetch_offset. Returns 0, 1 (limit reached) or -1. */
static int down_plain(const proto_batch_header_t *hdr, proto_reader_t *rd, const proto_downconvert_t *dc, buf_t *out,
                      size_t start, bool first)
{
    proto_writer_t wr;
    proto_writer_init(&wr, out);
    int8_t attr = dc->magic == 1 && (hdr->attributes & PROTO_BATCH_LOG_APPEND_TIME) ? PROTO_LEGACY_LOG_APPEND_TIME : 0;
    proto_record_t rec;
    while (proto_rd_remaining(rd) > 0 && proto_record_next(rd, &rec) == 0) {
        int64_t off = wrap_add(hdr->base_offset, rec.offset_delta);
        if (off < dc->fetch_offset)
            continue;
        size_t sz = legacy_entry_size(dc->magic, rec.key, rec.value);
        if (!first && out->len - start + sz > dc->max_bytes)
            return 1;
        legacy_entry(&wr, dc->magic, off, attr, record_ts(hdr, &rec), rec.key, rec.value);
        if (wr.err)
            return -1;
    }
    return 0;
}

/* A compressed batch: one wrapper of the same codec around all its records. Same returns as down_plain. */
static int down_wrapped(const proto_batch_header_t *hdr, proto_reader_t *rd, int codec, const proto_downconvert_t *dc,
                        buf_t *out, buf_t *inner, size_t start, bool first)
{
    inner->len = 0;
    proto_writer_t wr;
    proto_writer_init(&wr, inner);
    bool lat = hdr->attributes & PROTO_BATCH_LOG_APPEND_TIME;
    int8_t attr = dc->magic == 1 && lat ? PROTO_LEGACY_LOG_APPEND_TIME : 0;
    proto_record_t rec;
    int64_t first_off = -1, last_off = -1, max_ts = -1;
    while (proto_rd_remaining(rd) > 0 && proto_record_next(rd, &rec) == 0) {
        int64_t off = wrap_add(hdr->base_offset, rec.offset_delta);
        if (first_off < 0)
            first_off = off;
        last_off = off;
        int64_t ts = record_ts(hdr, &rec);
        if (ts > max_ts)
            max_ts = ts;
        /* Magic 1 inner offsets count from the wrapper's first record; magic 0 ones are absolute. */
        legacy_entry(&wr, dc->magic, dc->magic == 1 ? wrap_sub(off, first_off) : off, attr, ts, rec.key, rec.value);
        if (wr.err)
            return -1;
    }
    if (first_off < 0)
        return 0; /* no records (an emptied batch): nothing to send */
    size_t before = out->len;
    proto_writer_init(&wr, out);
    size_t at = legacy_entry_begin(&wr, dc->magic, last_off, (int8_t)(codec | attr), lat ? hdr->max_timestamp : max_ts,
                                   (proto_bytes_t){NULL, -1});
    proto_wr_i32(&wr, 0); /* value length, patched after compressing */
    if (wr.err)
        return -1;
    size_t val = out->len;
    if (proto_compress((proto_codec_t)codec, inner->data, inner->len, out) != 0) {
        out->len = before;
        return -1;
    }
    if (codec == PROTO_CODEC_LZ4 && dc->magic == 0)
        lz4_set_hc(out->data + val, out->len - val, true); /* what Kafka writes for magic 0 */
    put32(out->data + val - 4, (uint32_t)(out->len - val));
    legacy_entry_seal(out, at);
    if (!first && out->len - start > dc->max_bytes) {
        out->len = before;
        return 1;
    }
    return 0;
}

int16_t proto_msgset_down_convert(const uint8_t *batches, size_t len, const proto_downconvert_t *dc, buf_t *out,
                                  buf_t *scratch, buf_t *inner)
{
    size_t start = out->len;
    size_t pos = 0;
    proto_batch_header_t hdr;
    while (pos < len && proto_batch_header_parse(batches + pos, len - pos, &hdr) == 0) {
        size_t total = proto_batch_total_size(&hdr);
        if (total > len - pos)
            break;
        const uint8_t *batch = batches + pos;
        pos += total;
        if (hdr.attributes & PROTO_BATCH_CONTROL)
            continue;
        int codec = hdr.attributes & PROTO_BATCH_CODEC_MASK;
        if (codec == PROTO_CODEC_ZSTD)
            return out->len == start ? KERR_UNSUPPORTED_COMPRESSION_TYPE : KERR_NONE;
        proto_reader_t rd;
        if (proto_batch_records(batch, total, &hdr, scratch, dc->max_decompressed_bytes, &rd) != 0)
            break;
        bool first = out->len == start;
        size_t before = out->len;
        int rc = codec == PROTO_CODEC_NONE ? down_plain(&hdr, &rd, dc, out, start, first)
                                           : down_wrapped(&hdr, &rd, codec, dc, out, inner, start, first);
        if (rc < 0) {
            out->len = before; /* no half-written entry */
            return before == start ? KERR_UNKNOWN_SERVER_ERROR : KERR_NONE;
        }
        if (rc > 0)
            break;
    }
    return KERR_NONE;
}
