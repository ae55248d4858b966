/* Tests for protocol/message_set: reading legacy sets, converting them to v2, down-converting v2 to them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "protocol/compress.h"
#include "protocol/message_set.h"
#include "protocol/record.h"
#include "protocol/record_batch.h"
#include "protocol/writer.h"

/* Kafka error codes, from Errors.java. */
enum {
    NONE = 0,
    CORRUPT_MESSAGE = 2,
    MESSAGE_TOO_LARGE = 10,
    INVALID_TIMESTAMP = 32,
    UNSUPPORTED_COMPRESSION_TYPE = 76,
    INVALID_RECORD = 87,
};

static const proto_legacy_limits_t lim = {1 << 20, 8 << 20, false};

static proto_bytes_t bs(const char *s)
{
    proto_bytes_t b = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    return b;
}

/* Appends one legacy entry with a correct CRC (or crc_xor flipped into it). */
static void put_msg(buf_t *out, int8_t magic, int64_t offset, int8_t attributes, int64_t ts, proto_bytes_t key,
                    proto_bytes_t value, uint32_t crc_xor)
{
    buf_t body;
    buf_init(&body);
    proto_writer_t wr;
    proto_writer_init(&wr, &body);
    proto_wr_i8(&wr, magic);
    proto_wr_i8(&wr, attributes);
    if (magic == 1)
        proto_wr_i64(&wr, ts);
    proto_wr_bytes(&wr, key);
    proto_wr_bytes(&wr, value);
    assert_int_equal(wr.err, 0);
    uint32_t crc = (uint32_t)crc32(0, body.data, (uInt)body.len) ^ crc_xor;
    proto_writer_init(&wr, out);
    proto_wr_i64(&wr, offset);
    proto_wr_i32(&wr, (int32_t)(body.len + 4));
    proto_wr_u32(&wr, crc);
    proto_wr_raw(&wr, body.data, body.len);
    assert_int_equal(wr.err, 0);
    buf_fini(&body);
}

/* A wrapper of codec around n inner messages "k<i>"/"v<i>" at timestamps 100+i. */
static void put_wrapper(buf_t *out, int8_t magic, proto_codec_t codec, int n, int64_t wrapper_offset)
{
    buf_t inner, packed;
    buf_init(&inner);
    buf_init(&packed);
    char k[16], v[16];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        put_msg(&inner, magic, i, 0, 100 + i, bs(k), bs(v), 0);
    }
    assert_int_equal(proto_compress(codec, inner.data, inner.len, &packed), 0);
    put_msg(out, magic, wrapper_offset, (int8_t)codec, 100 + n - 1, bs(NULL),
            (proto_bytes_t){packed.data, (int32_t)packed.len}, 0);
    buf_fini(&inner);
    buf_fini(&packed);
}

/* Three plain messages: keyed, null key, null value. */
static void put_plain3(buf_t *out, int8_t magic)
{
    put_msg(out, magic, 0, 0, 1000, bs("a"), bs("one"), 0);
    put_msg(out, magic, 1, 0, 1001, bs(NULL), bs("two"), 0);
    put_msg(out, magic, 2, 0, 999, bs("c"), bs(NULL), 0);
}

static int bytes_eq(proto_bytes_t a, proto_bytes_t b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

/* Validates the v2 batch in out and checks record i against keys/values/timestamps. */
static void expect_batch(const buf_t *out, int n, const char *const *keys, const char *const *values,
                         const int64_t *ts, proto_codec_t codec)
{
    proto_batch_limits_t blim = {1 << 20, 8 << 20, 1};
    buf_t scratch;
    buf_init(&scratch);
    proto_batch_header_t hdr;
    assert_int_equal(proto_batch_validate(out->data, out->len, &blim, &scratch, &hdr), NONE);
    assert_int_equal(hdr.records_count, n);
    assert_int_equal(hdr.attributes & PROTO_BATCH_CODEC_MASK, codec);
    assert_int_equal(hdr.producer_id, -1);
    assert_int_equal(hdr.base_sequence, -1);
    proto_reader_t rd;
    assert_int_equal(proto_batch_records(out->data, out->len, &hdr, &scratch, 8 << 20, &rd), 0);
    int64_t max_ts = -1;
    for (int i = 0; i < n; i++) {
        proto_record_t rec;
        assert_int_equal(proto_record_next(&rd, &rec), 0);
        assert_int_equal(rec.offset_delta, i);
        assert_true(bytes_eq(rec.key, bs(keys[i])));
        assert_true(bytes_eq(rec.value, bs(values[i])));
        assert_int_equal(hdr.base_timestamp + rec.timestamp_delta, ts[i]);
        assert_int_equal(rec.headers_count, 0);
        if (ts[i] > max_ts)
            max_ts = ts[i];
    }
    assert_int_equal(hdr.max_timestamp, max_ts);
    buf_fini(&scratch);
}

/* ---- reading ---------------------------------------------------------- */

static void legacy_next_reads_magic_0_and_1_fields(void **state)
{
    (void)state;
    buf_t set;
    buf_init(&set);
    put_msg(&set, 0, 7, 0, 0, bs("key"), bs("value"), 0);
    put_msg(&set, 1, 8, 0x08, 12345, bs(NULL), bs(""), 0);
    proto_reader_t rd;
    proto_reader_init(&rd, set.data, set.len);
    proto_legacy_msg_t m;
    int16_t kerr;
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), 1);
    assert_int_equal(m.offset, 7);
    assert_int_equal(m.magic, 0);
    assert_int_equal(m.timestamp, -1);
    assert_true(bytes_eq(m.key, bs("key")) && bytes_eq(m.value, bs("value")));
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), 1);
    assert_int_equal(m.magic, 1);
    assert_int_equal(m.attributes, 0x08);
    assert_int_equal(m.timestamp, 12345);
    assert_int_equal(m.key.len, -1);
    assert_int_equal(m.value.len, 0);
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), 0);
    assert_int_equal(kerr, NONE);
    buf_fini(&set);
}

static void legacy_next_rejects_a_crc_mismatch(void **state)
{
    (void)state;
    buf_t set;
    buf_init(&set);
    put_msg(&set, 1, 0, 0, 5, bs("k"), bs("v"), 0x1);
    proto_reader_t rd;
    proto_reader_init(&rd, set.data, set.len);
    proto_legacy_msg_t m;
    int16_t kerr;
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), -1);
    assert_int_equal(kerr, CORRUPT_MESSAGE);
    assert_ptr_equal(rd.p, set.data); /* left where it was */
    buf_t out, scratch;
    buf_init(&out);
    buf_init(&scratch);
    int32_t n;
    assert_int_equal(proto_msgset_to_batch(set.data, set.len, &lim, &out, &scratch, &n), CORRUPT_MESSAGE);
    assert_int_equal(out.len, 0);
    buf_fini(&set);
    buf_fini(&out);
    buf_fini(&scratch);
}

static void legacy_next_rejects_bad_sizes_magic_and_lengths(void **state)
{
    (void)state;
    buf_t set;
    buf_init(&set);
    put_msg(&set, 0, 0, 0, 0, bs("k"), bs("v"), 0);
    proto_legacy_msg_t m;
    int16_t kerr;
    proto_reader_t rd;
    /* size below the v0 minimum */
    uint8_t small[12 + 13] = {0};
    small[11] = 13;
    proto_reader_init(&rd, small, sizeof(small));
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), -1);
    assert_int_equal(kerr, CORRUPT_MESSAGE);
    /* magic 3 (CRC made right for it) */
    buf_t b;
    buf_init(&b);
    put_msg(&b, 3, 0, 0, 0, bs("k"), bs("v"), 0);
    proto_reader_init(&rd, b.data, b.len);
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), -1);
    assert_int_equal(kerr, CORRUPT_MESSAGE);
    /* magic 2: a v2 batch among legacy entries */
    b.len = 0;
    put_msg(&b, 2, 0, 0, 0, bs("k"), bs("v"), 0);
    proto_reader_init(&rd, b.data, b.len);
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), -1);
    assert_int_equal(kerr, INVALID_RECORD);
    /* a key length running past the message (CRC recomputed) */
    b.len = 0;
    put_msg(&b, 0, 0, 0, 0, bs("k"), bs("v"), 0);
    b.data[18 + 3] = 50;
    uint32_t crc = (uint32_t)crc32(0, b.data + 16, (uInt)(b.len - 16));
    b.data[12] = (uint8_t)(crc >> 24), b.data[13] = (uint8_t)(crc >> 16), b.data[14] = (uint8_t)(crc >> 8),
    b.data[15] = (uint8_t)crc;
    proto_reader_init(&rd, b.data, b.len);
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), -1);
    assert_int_equal(kerr, CORRUPT_MESSAGE);
    assert_true(proto_legacy_magic(set.data, set.len));
    assert_false(proto_legacy_magic(set.data, 16));
    buf_fini(&b);
    buf_fini(&set);
}

/* Every prefix of a valid set gives the complete entries before the cut and nothing else. */
static void every_prefix_of_a_set_fails_cleanly(void **state)
{
    (void)state;
    buf_t set, out, scratch;
    buf_init(&set);
    buf_init(&out);
    buf_init(&scratch);
    size_t ends[3];
    put_msg(&set, 1, 0, 0, 1000, bs("a"), bs("one"), 0);
    ends[0] = set.len;
    put_msg(&set, 1, 1, 0, 1001, bs(NULL), bs("two"), 0);
    ends[1] = set.len;
    put_wrapper(&set, 1, PROTO_CODEC_GZIP, 3, 2);
    ends[2] = set.len;
    for (size_t cut = 0; cut <= set.len; cut++) {
        /* A copy of exactly cut bytes, so ASan sees any over-read. */
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, set.data, cut);
        int complete = cut >= ends[0] ? cut >= ends[1] ? 2 : 1 : 0;
        proto_reader_t rd;
        proto_reader_init(&rd, p, cut);
        proto_legacy_msg_t m;
        int16_t kerr;
        int got = 0, rc;
        while ((rc = proto_legacy_next(&rd, &m, &kerr)) == 1)
            got++;
        assert_int_equal(rc, 0);
        assert_int_equal(got, cut == ends[2] ? 3 : complete);
        out.len = 0;
        int32_t n = -1;
        int16_t e = proto_msgset_to_batch(p, cut, &lim, &out, &scratch, &n);
        if (cut == ends[2]) {
            assert_int_equal(e, INVALID_RECORD); /* a wrapper after plain entries */
        } else {
            assert_int_equal(e, NONE);
            assert_int_equal(n, complete);
            assert_int_equal(out.len > 0, complete > 0);
        }
        free(p);
    }
    /* The wrapper alone, cut anywhere: nothing until it is whole. */
    size_t wlen = ends[2] - ends[1];
    for (size_t cut = 0; cut <= wlen; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, set.data + ends[1], cut);
        out.len = 0;
        int32_t n = -1;
        assert_int_equal(proto_msgset_to_batch(p, cut, &lim, &out, &scratch, &n), NONE);
        assert_int_equal(n, cut == wlen ? 3 : 0);
        free(p);
    }
    buf_fini(&set);
    buf_fini(&out);
    buf_fini(&scratch);
}

/* Any one flipped byte gives an error or a valid batch, never a crash. */
static void flipped_bytes_never_crash(void **state)
{
    (void)state;
    buf_t set, out, scratch;
    buf_init(&set);
    buf_init(&out);
    buf_init(&scratch);
    put_wrapper(&set, 1, PROTO_CODEC_GZIP, 4, 3);
    for (size_t i = 0; i < set.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            set.data[i] ^= (uint8_t)(1u << bit);
            out.len = 0;
            int32_t n;
            int16_t e = proto_msgset_to_batch(set.data, set.len, &lim, &out, &scratch, &n);
            if (e == NONE && n > 0)
                expect_batch(&out, n, (const char *const[]){"k0", "k1", "k2", "k3"},
                             (const char *const[]){"v0", "v1", "v2", "v3"}, (const int64_t[]){100, 101, 102, 103},
                             PROTO_CODEC_GZIP);
            set.data[i] ^= (uint8_t)(1u << bit);
        }
    }
    buf_fini(&set);
    buf_fini(&out);
    buf_fini(&scratch);
}

/* ---- legacy -> v2 ------------------------------------------------------ */

static void plain_sets_convert_with_their_timestamps(void **state)
{
    (void)state;
    static const char *const keys[] = {"a", NULL, "c"};
    static const char *const values[] = {"one", "two", NULL};
    for (int8_t magic = 0; magic <= 1; magic++) {
        buf_t set, out, scratch;
        buf_init(&set);
        buf_init(&out);
        buf_init(&scratch);
        put_plain3(&set, magic);
        int32_t n;
        assert_int_equal(proto_msgset_to_batch(set.data, set.len, &lim, &out, &scratch, &n), NONE);
        assert_int_equal(n, 3);
        const int64_t ts1[] = {1000, 1001, 999}, ts0[] = {-1, -1, -1};
        expect_batch(&out, 3, keys, values, magic ? ts1 : ts0, PROTO_CODEC_NONE);
        buf_fini(&set);
        buf_fini(&out);
        buf_fini(&scratch);
    }
}

static void wrappers_keep_their_codec(void **state)
{
    (void)state;
    static const proto_codec_t codecs[] = {PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4};
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4"};
    static const char *const values[] = {"v0", "v1", "v2", "v3", "v4"};
    for (size_t c = 0; c < 3; c++) {
        for (int8_t magic = 0; magic <= 1; magic++) {
            buf_t set, out, scratch;
            buf_init(&set);
            buf_init(&out);
            buf_init(&scratch);
            put_wrapper(&set, magic, codecs[c], 5, magic ? 4 : 0);
            int32_t n;
            assert_int_equal(proto_msgset_to_batch(set.data, set.len, &lim, &out, &scratch, &n), NONE);
            assert_int_equal(n, 5);
            const int64_t ts1[] = {100, 101, 102, 103, 104}, ts0[] = {-1, -1, -1, -1, -1};
            expect_batch(&out, 5, keys, values, magic ? ts1 : ts0, codecs[c]);
            buf_fini(&set);
            buf_fini(&out);
            buf_fini(&scratch);
        }
    }
}

/* XXH32 as lz4 frames use it: the known empty-input value, and the header checksum LZ4F writes. */
static void xxh32_matches_lz4_frames(void **state)
{
    (void)state;
    assert_int_equal(proto_xxh32((const uint8_t *)"", 0), 0x02CC5D05u);
    buf_t f;
    buf_init(&f);
    assert_int_equal(proto_compress(PROTO_CODEC_LZ4, (const uint8_t *)"hello hello hello", 17, &f), 0);
    size_t hc = 6 + ((f.data[4] & 0x08) ? 8 : 0) + ((f.data[4] & 0x01) ? 4 : 0);
    assert_int_equal(f.data[hc], (uint8_t)(proto_xxh32(f.data + 4, hc - 4) >> 8));
    /* The 16-byte stripe path, against the value xxHash's Python binding documents. */
    const char *spam = "Nobody inspects the spammish repetition";
    assert_int_equal(proto_xxh32((const uint8_t *)spam, strlen(spam)), 0xe2293b2fu);
    buf_fini(&f);
}

/* Magic 0 lz4 frames carry Kafka's broken header checksum; magic 1 ones must be right. */
static void lz4_header_checksum_per_magic(void **state)
{
    (void)state;
    for (int8_t magic = 0; magic <= 1; magic++) {
        buf_t inner, packed, set, out, scratch;
        buf_init(&inner);
        buf_init(&packed);
        buf_init(&set);
        buf_init(&out);
        buf_init(&scratch);
        put_msg(&inner, magic, 0, 0, 7, bs("k"), bs("v"), 0);
        assert_int_equal(proto_compress(PROTO_CODEC_LZ4, inner.data, inner.len, &packed), 0);
        size_t hc = 6 + ((packed.data[4] & 0x08) ? 8 : 0) + ((packed.data[4] & 0x01) ? 4 : 0);
        packed.data[hc] = (uint8_t)(proto_xxh32(packed.data, hc) >> 8); /* over magic + descriptor */
        put_msg(&set, magic, 0, PROTO_CODEC_LZ4, 7, bs(NULL), (proto_bytes_t){packed.data, (int32_t)packed.len}, 0);
        int32_t n;
        int16_t e = proto_msgset_to_batch(set.data, set.len, &lim, &out, &scratch, &n);
        assert_int_equal(e, magic == 0 ? NONE : INVALID_RECORD);
        buf_fini(&inner);
        buf_fini(&packed);
        buf_fini(&set);
        buf_fini(&out);
        buf_fini(&scratch);
    }
}

static void bad_sets_get_kafkas_errors(void **state)
{
    (void)state;
    buf_t set, out, scratch, inner, packed;
    buf_init(&set);
    buf_init(&out);
    buf_init(&scratch);
    buf_init(&inner);
    buf_init(&packed);
    int32_t n;
#define EXPECT(err)                                                                                                    \
    do {                                                                                                               \
        out.len = 0;                                                                                                   \
        assert_int_equal(proto_msgset_to_batch(set.data, set.len, &lim, &out, &scratch, &n), (err));                   \
        if ((err) != NONE)                                                                                             \
            assert_int_equal(out.len, 0);                                                                              \
        set.len = 0;                                                                                                   \
    } while (0)
    /* two magics */
    put_msg(&set, 0, 0, 0, 0, bs("a"), bs("b"), 0);
    put_msg(&set, 1, 0, 0, 0, bs("a"), bs("b"), 0);
    EXPECT(INVALID_RECORD);
    /* a wrapper followed by a plain entry */
    put_wrapper(&set, 1, PROTO_CODEC_GZIP, 2, 1);
    put_msg(&set, 1, 0, 0, 0, bs("a"), bs("b"), 0);
    EXPECT(INVALID_RECORD);
    /* zstd and codec 5 wrappers */
    put_msg(&set, 1, 0, PROTO_CODEC_ZSTD, 0, bs(NULL), bs("xx"), 0);
    EXPECT(INVALID_RECORD);
    put_msg(&set, 1, 0, 5, 0, bs(NULL), bs("xx"), 0);
    EXPECT(INVALID_RECORD);
    /* a null wrapper value, and one that does not decompress */
    put_msg(&set, 1, 0, PROTO_CODEC_GZIP, 0, bs(NULL), bs(NULL), 0);
    EXPECT(INVALID_RECORD);
    put_msg(&set, 1, 0, PROTO_CODEC_GZIP, 0, bs(NULL), bs("not gzip at all"), 0);
    EXPECT(INVALID_RECORD);
    /* a wrapper with no inner entries */
    assert_int_equal(proto_compress(PROTO_CODEC_GZIP, (const uint8_t *)"", 0, &packed), 0);
    put_msg(&set, 1, 0, PROTO_CODEC_GZIP, 0, bs(NULL), (proto_bytes_t){packed.data, (int32_t)packed.len}, 0);
    EXPECT(INVALID_RECORD);
    /* inner entries of another magic, compressed ones, and a bad inner CRC */
    const struct {
        int8_t magic;
        int8_t attr;
        uint32_t crc_xor;
        int16_t want;
    } inner_cases[] = {{0, 0, 0, INVALID_RECORD}, {1, PROTO_CODEC_GZIP, 0, INVALID_RECORD}, {1, 0, 4, CORRUPT_MESSAGE}};
    for (size_t i = 0; i < sizeof(inner_cases) / sizeof(inner_cases[0]); i++) {
        inner.len = packed.len = 0;
        put_msg(&inner, inner_cases[i].magic, 0, inner_cases[i].attr, 0, bs("a"), bs("b"), inner_cases[i].crc_xor);
        assert_int_equal(proto_compress(PROTO_CODEC_GZIP, inner.data, inner.len, &packed), 0);
        put_msg(&set, 1, 0, PROTO_CODEC_GZIP, 0, bs(NULL), (proto_bytes_t){packed.data, (int32_t)packed.len}, 0);
        EXPECT(inner_cases[i].want);
    }
    /* magic 1 wrapper offset below its last inner offset (and not 0), then 0 (old librdkafka) */
    put_wrapper(&set, 1, PROTO_CODEC_GZIP, 3, 1);
    EXPECT(INVALID_RECORD);
    put_wrapper(&set, 1, PROTO_CODEC_GZIP, 3, 0);
    EXPECT(NONE);
    /* an entry over max.message.bytes */
    proto_legacy_limits_t small = lim;
    small.max_message_bytes = 30;
    put_msg(&set, 0, 0, 0, 0, bs("a"), bs("a value long enough"), 0);
    out.len = 0;
    assert_int_equal(proto_msgset_to_batch(set.data, set.len, &small, &out, &scratch, &n), MESSAGE_TOO_LARGE);
    set.len = 0;
    /* a wrapper decompressing past the limit */
    small = lim;
    small.max_decompressed_bytes = 10;
    put_wrapper(&set, 1, PROTO_CODEC_GZIP, 3, 2);
    out.len = 0;
    assert_int_equal(proto_msgset_to_batch(set.data, set.len, &small, &out, &scratch, &n), MESSAGE_TOO_LARGE);
    set.len = 0;
    /* LogAppendTime claimed: refused without a timestamp, taken on CreateTime with one; refused on LogAppendTime */
    put_msg(&set, 1, 0, PROTO_LEGACY_LOG_APPEND_TIME, -1, bs("a"), bs("b"), 0);
    EXPECT(INVALID_TIMESTAMP);
    put_msg(&set, 1, 0, PROTO_LEGACY_LOG_APPEND_TIME, 5, bs("a"), bs("b"), 0);
    EXPECT(NONE);
    small = lim;
    small.log_append_time = true;
    put_msg(&set, 1, 0, PROTO_LEGACY_LOG_APPEND_TIME, 5, bs("a"), bs("b"), 0);
    out.len = 0;
    assert_int_equal(proto_msgset_to_batch(set.data, set.len, &small, &out, &scratch, &n), INVALID_TIMESTAMP);
    set.len = 0;
    /* nothing at all: NONE, no batch */
    out.len = 0;
    assert_int_equal(proto_msgset_to_batch(set.data, 0, &lim, &out, &scratch, &n), NONE);
    assert_int_equal(n, 0);
    assert_int_equal(out.len, 0);
#undef EXPECT
    buf_fini(&set);
    buf_fini(&out);
    buf_fini(&scratch);
    buf_fini(&inner);
    buf_fini(&packed);
}

/* ---- v2 -> legacy ----------------------------------------------------- */

typedef struct got_s {
    int64_t offset[64];
    int64_t ts[64];
    char kv[64][16];
    int n;
    int wrappers;
    int codec;
} got_t;

/* Parses a down-converted set, opening wrappers; checks magic, CRCs, relative offsets. */
static void parse_down(const buf_t *set, int8_t magic, got_t *g)
{
    memset(g, 0, sizeof(*g));
    proto_reader_t rd;
    proto_reader_init(&rd, set->data, set->len);
    proto_legacy_msg_t m;
    int16_t kerr;
    int rc;
    while ((rc = proto_legacy_next(&rd, &m, &kerr)) == 1) {
        assert_int_equal(m.magic, magic);
        int codec = m.attributes & PROTO_LEGACY_CODEC_MASK;
        if (codec == 0) {
            g->offset[g->n] = m.offset;
            g->ts[g->n] = m.timestamp;
            snprintf(g->kv[g->n], sizeof(g->kv[0]), "%.*s=%.*s", m.key.len > 0 ? m.key.len : 0,
                     m.key.len > 0 ? (const char *)m.key.ptr : "", m.value.len > 0 ? m.value.len : 0,
                     m.value.len > 0 ? (const char *)m.value.ptr : "");
            g->n++;
            continue;
        }
        g->wrappers++;
        g->codec = codec;
        const uint8_t *src = m.value.ptr;
        uint8_t *fixed = NULL;
        if (codec == PROTO_CODEC_LZ4) {
            size_t hc = 6 + ((src[4] & 0x08) ? 8 : 0) + ((src[4] & 0x01) ? 4 : 0);
            uint8_t want = magic == 0 ? (uint8_t)(proto_xxh32(src, hc) >> 8) : (uint8_t)(proto_xxh32(src + 4, hc - 4) >> 8);
            assert_int_equal(src[hc], want); /* Kafka's broken checksum for magic 0 */
            fixed = malloc((size_t)m.value.len);
            memcpy(fixed, src, (size_t)m.value.len);
            fixed[hc] = (uint8_t)(proto_xxh32(src + 4, hc - 4) >> 8);
            src = fixed;
        }
        buf_t plain;
        buf_init(&plain);
        assert_int_equal(proto_decompress((proto_codec_t)codec, src, (size_t)m.value.len, &plain, 1 << 20), 0);
        free(fixed);
        proto_reader_t ird;
        proto_reader_init(&ird, plain.data, plain.len);
        proto_legacy_msg_t im;
        int first = g->n;
        while (proto_legacy_next(&ird, &im, &kerr) == 1) {
            assert_int_equal(im.magic, magic);
            assert_int_equal(im.attributes & PROTO_LEGACY_CODEC_MASK, 0);
            g->offset[g->n] = im.offset;
            g->ts[g->n] = im.timestamp;
            snprintf(g->kv[g->n], sizeof(g->kv[0]), "%.*s=%.*s", im.key.len > 0 ? im.key.len : 0,
                     im.key.len > 0 ? (const char *)im.key.ptr : "", im.value.len > 0 ? im.value.len : 0,
                     im.value.len > 0 ? (const char *)im.value.ptr : "");
            g->n++;
        }
        if (magic == 1) {
            /* relative inner offsets: the wrapper's offset is the last one */
            int64_t last = g->offset[g->n - 1];
            for (int i = first; i < g->n; i++)
                g->offset[i] = m.offset - last + g->offset[i];
            int64_t max_ts = -1;
            for (int i = first; i < g->n; i++)
                max_ts = g->ts[i] > max_ts ? g->ts[i] : max_ts;
            assert_int_equal(m.timestamp, max_ts);
        } else {
            assert_int_equal(m.offset, g->offset[g->n - 1]);
        }
        buf_fini(&plain);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rd.p, rd.end); /* whole entries only */
}

static void append_batch(buf_t *log, proto_codec_t codec, int64_t base_offset, int64_t base_ts, int n, int first_key)
{
    proto_record_spec_t recs[8];
    char keys[8][8], vals[8][8];
    static const proto_header_spec_t hdr = {{(const uint8_t *)"h", 1}, {(const uint8_t *)"x", 1}};
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", first_key + i);
        snprintf(vals[i], sizeof(vals[i]), "v%d", first_key + i);
        recs[i] = (proto_record_spec_t){bs(keys[i]), bs(vals[i]), i, &hdr, 1};
    }
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.codec = codec;
    spec.base_timestamp = base_ts;
    size_t at = log->len;
    assert_int_equal(proto_batch_build(log, &spec, recs, n), 0);
    proto_batch_set_base_offset(log->data + at, base_offset);
}

static void down_conversion_per_codec_and_magic(void **state)
{
    (void)state;
    static const proto_codec_t codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4};
    for (size_t c = 0; c < 4; c++) {
        for (int8_t magic = 0; magic <= 1; magic++) {
            buf_t log, out, scratch, inner;
            buf_init(&log);
            buf_init(&out);
            buf_init(&scratch);
            buf_init(&inner);
            append_batch(&log, codecs[c], 10, 5000, 3, 0);
            size_t at = log.len;
            assert_int_equal(proto_batch_build_marker(&log, 1, 0, PROTO_MARKER_COMMIT, 0, 6000), 0);
            proto_batch_set_base_offset(log.data + at, 13);
            append_batch(&log, codecs[c], 14, 7000, 2, 3);
            proto_downconvert_t dc = {magic, 10, 1 << 20, 1 << 20};
            assert_int_equal(proto_msgset_down_convert(log.data, log.len, &dc, &out, &scratch, &inner), NONE);
            got_t g;
            parse_down(&out, magic, &g);
            assert_int_equal(g.n, 5); /* the marker is skipped */
            static const int64_t offs[] = {10, 11, 12, 14, 15};
            static const int64_t ts[] = {5000, 5001, 5002, 7000, 7001};
            for (int i = 0; i < 5; i++) {
                char want[16];
                snprintf(want, sizeof(want), "k%d=v%d", i, i);
                assert_string_equal(g.kv[i], want);
                assert_int_equal(g.offset[i], offs[i]);
                assert_int_equal(g.ts[i], magic ? ts[i] : -1);
            }
            assert_int_equal(g.wrappers, codecs[c] == PROTO_CODEC_NONE ? 0 : 2);
            if (codecs[c] != PROTO_CODEC_NONE)
                assert_int_equal(g.codec, codecs[c]);
            /* From the middle: plain batches drop the records before it, compressed ones keep them. */
            out.len = 0;
            dc.fetch_offset = 11;
            assert_int_equal(proto_msgset_down_convert(log.data, log.len, &dc, &out, &scratch, &inner), NONE);
            parse_down(&out, magic, &g);
            assert_int_equal(g.offset[0], codecs[c] == PROTO_CODEC_NONE ? 11 : 10);
            /* max_bytes: the first batch comes whole, the second not at all. */
            out.len = 0;
            dc.fetch_offset = 10;
            dc.max_bytes = 1;
            assert_int_equal(proto_msgset_down_convert(log.data, log.len, &dc, &out, &scratch, &inner), NONE);
            parse_down(&out, magic, &g);
            assert_int_equal(g.n, 3);
            buf_fini(&log);
            buf_fini(&out);
            buf_fini(&scratch);
            buf_fini(&inner);
        }
    }
}

static void down_conversion_of_zstd_and_log_append_time(void **state)
{
    (void)state;
    buf_t log, out, scratch, inner;
    buf_init(&log);
    buf_init(&out);
    buf_init(&scratch);
    buf_init(&inner);
    append_batch(&log, PROTO_CODEC_ZSTD, 0, 100, 2, 0);
    proto_downconvert_t dc = {1, 0, 1 << 20, 1 << 20};
    assert_int_equal(proto_msgset_down_convert(log.data, log.len, &dc, &out, &scratch, &inner),
                     UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(out.len, 0);
    /* After a convertible batch a zstd one just ends the answer. */
    log.len = 0;
    append_batch(&log, PROTO_CODEC_NONE, 0, 100, 2, 0);
    proto_batch_set_log_append_time(log.data, log.len, 99999);
    append_batch(&log, PROTO_CODEC_ZSTD, 2, 100, 2, 2);
    assert_int_equal(proto_msgset_down_convert(log.data, log.len, &dc, &out, &scratch, &inner), NONE);
    got_t g;
    parse_down(&out, 1, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.ts[0], 99999); /* LogAppendTime: the batch's max timestamp for every message */
    assert_int_equal(g.ts[1], 99999);
    proto_reader_t rd;
    proto_reader_init(&rd, out.data, out.len);
    proto_legacy_msg_t m;
    int16_t kerr;
    assert_int_equal(proto_legacy_next(&rd, &m, &kerr), 1);
    assert_int_equal(m.attributes & PROTO_LEGACY_LOG_APPEND_TIME, PROTO_LEGACY_LOG_APPEND_TIME);
    /* Garbage after a batch is where conversion stops. */
    out.len = 0;
    log.len = 0;
    append_batch(&log, PROTO_CODEC_NONE, 0, 100, 1, 0);
    buf_append(&log, "garbage-garbage-garbage", 23);
    assert_int_equal(proto_msgset_down_convert(log.data, log.len, &dc, &out, &scratch, &inner), NONE);
    parse_down(&out, 1, &g);
    assert_int_equal(g.n, 1);
    buf_fini(&log);
    buf_fini(&out);
    buf_fini(&scratch);
    buf_fini(&inner);
}

/* legacy -> v2 -> legacy gives the messages back. */
static void round_trip_through_v2(void **state)
{
    (void)state;
    buf_t set, batch, back, scratch, inner;
    buf_init(&set);
    buf_init(&batch);
    buf_init(&back);
    buf_init(&scratch);
    buf_init(&inner);
    put_wrapper(&set, 1, PROTO_CODEC_SNAPPY, 6, 5);
    int32_t n;
    assert_int_equal(proto_msgset_to_batch(set.data, set.len, &lim, &batch, &scratch, &n), NONE);
    proto_batch_set_base_offset(batch.data, 40);
    proto_downconvert_t dc = {1, 40, 1 << 20, 1 << 20};
    assert_int_equal(proto_msgset_down_convert(batch.data, batch.len, &dc, &back, &scratch, &inner), NONE);
    got_t g;
    parse_down(&back, 1, &g);
    assert_int_equal(g.n, 6);
    assert_int_equal(g.wrappers, 1);
    assert_int_equal(g.codec, PROTO_CODEC_SNAPPY);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(g.offset[i], 40 + i);
        assert_int_equal(g.ts[i], 100 + i);
    }
    buf_fini(&set);
    buf_fini(&batch);
    buf_fini(&back);
    buf_fini(&scratch);
    buf_fini(&inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(legacy_next_reads_magic_0_and_1_fields),
        cmocka_unit_test(legacy_next_rejects_a_crc_mismatch),
        cmocka_unit_test(legacy_next_rejects_bad_sizes_magic_and_lengths),
        cmocka_unit_test(every_prefix_of_a_set_fails_cleanly),
        cmocka_unit_test(flipped_bytes_never_crash),
        cmocka_unit_test(plain_sets_convert_with_their_timestamps),
        cmocka_unit_test(wrappers_keep_their_codec),
        cmocka_unit_test(xxh32_matches_lz4_frames),
        cmocka_unit_test(lz4_header_checksum_per_magic),
        cmocka_unit_test(bad_sets_get_kafkas_errors),
        cmocka_unit_test(down_conversion_per_codec_and_magic),
        cmocka_unit_test(down_conversion_of_zstd_and_log_append_time),
        cmocka_unit_test(round_trip_through_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
