/* Tests for protocol/record_batch and protocol/record: validation, records, builder. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/compress.h"
#include "protocol/record.h"
#include "protocol/record_batch.h"
#include "protocol/writer.h"

/* Kafka error codes, from Errors.java. */
enum {
    NONE = 0,
    CORRUPT_MESSAGE = 2,
    MESSAGE_TOO_LARGE = 10,
    UNSUPPORTED_COMPRESSION_TYPE = 76,
    INVALID_RECORD = 87,
};

static const proto_codec_t all_codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4,
                                           PROTO_CODEC_ZSTD};
#define NCODECS (sizeof(all_codecs) / sizeof(all_codecs[0]))

static const proto_batch_limits_t lim = {1 << 20, 8 << 20, 1};

static proto_bytes_t bs(const char *s)
{
    proto_bytes_t b = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    return b;
}

static const proto_header_spec_t hdrs[] = {
    {{(const uint8_t *)"trace", 5}, {(const uint8_t *)"abc", 3}},
    {{(const uint8_t *)"", 0}, {NULL, -1}},
};

/* Three records: keyed with headers, null key with empty value, null value. */
static void sample_records(proto_record_spec_t recs[3])
{
    memset(recs, 0, 3 * sizeof(recs[0]));
    recs[0].key = bs("k0");
    recs[0].value = bs("value zero");
    recs[0].timestamp_delta = 0;
    recs[0].headers = hdrs;
    recs[0].headers_count = 2;
    recs[1].key = bs(NULL);
    recs[1].value = bs("");
    recs[1].timestamp_delta = 7;
    recs[2].key = bs("k2");
    recs[2].value = bs(NULL);
    recs[2].timestamp_delta = 3;
}

static void build(buf_t *out, proto_codec_t codec)
{
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.codec = codec;
    spec.base_timestamp = 1700000000000;
    proto_record_spec_t recs[3];
    sample_records(recs);
    assert_int_equal(proto_batch_build(out, &spec, recs, 3), 0);
}

/* Rewrites the CRC after a test edits covered bytes on purpose. */
static void fix_crc(uint8_t *b, size_t total)
{
    uint32_t crc = proto_batch_compute_crc(b, total);
    b[17] = (uint8_t)(crc >> 24);
    b[18] = (uint8_t)(crc >> 16);
    b[19] = (uint8_t)(crc >> 8);
    b[20] = (uint8_t)crc;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/*
 * Wraps an arbitrary records section (stored as given, even when codec says
 * it is compressed) in a header with a consistent length and CRC.
 */
static void wrap(buf_t *out, const uint8_t *section, size_t n, int16_t attributes, int32_t count)
{
    out->len = 0;
    proto_writer_t wr;
    proto_writer_init(&wr, out);
    proto_wr_i64(&wr, 0);
    proto_wr_i32(&wr, (int32_t)(n + 49));
    proto_wr_i32(&wr, -1);
    proto_wr_i8(&wr, 2);
    proto_wr_u32(&wr, 0);
    proto_wr_i16(&wr, attributes);
    proto_wr_i32(&wr, count - 1);
    proto_wr_i64(&wr, 0);
    proto_wr_i64(&wr, 0);
    proto_wr_i64(&wr, -1);
    proto_wr_i16(&wr, -1);
    proto_wr_i32(&wr, -1);
    proto_wr_i32(&wr, count);
    proto_wr_raw(&wr, section, n);
    assert_int_equal(wr.err, 0);
    fix_crc(out->data, out->len);
}

static int16_t validate_copy(const uint8_t *b, size_t len, const proto_batch_limits_t *l, buf_t *scratch)
{
    /* An exact-size heap copy so ASan flags any read past len. */
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, b, len);
    proto_batch_header_t hdr;
    int16_t err = proto_batch_validate(copy, len, l, scratch, &hdr);
    free(copy);
    return err;
}

/* ---- accepting ---------------------------------------------------------- */

static void validate_accepts_builder_batches_of_every_codec(void **state)
{
    buf_t b, scratch;
    buf_init(&b);
    buf_init(&scratch);
    for (size_t c = 0; c < NCODECS; c++) {
        b.len = 0;
        build(&b, all_codecs[c]);
        proto_batch_header_t hdr;
        assert_int_equal(proto_batch_validate(b.data, b.len, &lim, &scratch, &hdr), NONE);
        assert_int_equal(hdr.magic, 2);
        assert_int_equal(hdr.records_count, 3);
        assert_int_equal(hdr.last_offset_delta, 2);
        assert_int_equal(hdr.attributes & PROTO_BATCH_CODEC_MASK, (int)all_codecs[c]);
        assert_int_equal(hdr.base_offset, 0);
        assert_int_equal(hdr.producer_id, -1);
        assert_int_equal(hdr.producer_epoch, -1);
        assert_int_equal(hdr.base_sequence, -1);
        assert_int_equal(hdr.base_timestamp, 1700000000000);
        assert_int_equal(hdr.max_timestamp, 1700000000007);
        assert_int_equal(proto_batch_total_size(&hdr), b.len);
        /* Without a scratch buffer too. */
        assert_int_equal(proto_batch_validate(b.data, b.len, &lim, NULL, NULL), NONE);
    }
    buf_fini(&b);
    buf_fini(&scratch);
}

static void records_read_back_through_every_codec(void **state)
{
    buf_t b, scratch;
    buf_init(&b);
    buf_init(&scratch);
    for (size_t c = 0; c < NCODECS; c++) {
        b.len = 0;
        build(&b, all_codecs[c]);
        proto_batch_header_t hdr;
        assert_int_equal(proto_batch_header_parse(b.data, b.len, &hdr), 0);
        proto_reader_t rd;
        assert_int_equal(proto_batch_records(b.data, b.len, &hdr, &scratch, 1 << 20, &rd), 0);
        proto_record_t rec;

        assert_int_equal(proto_record_next(&rd, &rec), 0);
        assert_int_equal(rec.offset_delta, 0);
        assert_int_equal(rec.key.len, 2);
        assert_memory_equal(rec.key.ptr, "k0", 2);
        assert_int_equal(rec.value.len, 10);
        assert_memory_equal(rec.value.ptr, "value zero", 10);
        assert_int_equal(rec.headers_count, 2);
        proto_header_iter_t it;
        proto_header_iter_init(&it, &rec);
        proto_bytes_t hk, hv;
        assert_int_equal(proto_header_next(&it, &hk, &hv), 1);
        assert_int_equal(hk.len, 5);
        assert_memory_equal(hk.ptr, "trace", 5);
        assert_int_equal(hv.len, 3);
        assert_memory_equal(hv.ptr, "abc", 3);
        assert_int_equal(proto_header_next(&it, &hk, &hv), 1);
        assert_int_equal(hk.len, 0);
        assert_int_equal(hv.len, -1);
        assert_int_equal(proto_header_next(&it, &hk, &hv), 0);

        assert_int_equal(proto_record_next(&rd, &rec), 0);
        assert_int_equal(rec.offset_delta, 1);
        assert_int_equal(rec.timestamp_delta, 7);
        assert_int_equal(rec.key.len, -1);
        assert_int_equal(rec.value.len, 0);
        assert_int_equal(rec.headers_count, 0);
        assert_int_equal(rec.headers_len, 0);

        assert_int_equal(proto_record_next(&rd, &rec), 0);
        assert_int_equal(rec.offset_delta, 2);
        assert_int_equal(rec.value.len, -1);
        assert_int_equal(proto_rd_remaining(&rd), 0);
        assert_int_equal(rd.err, 0);
        /* Reading past the end is an error, not a record. */
        assert_int_equal(proto_record_next(&rd, &rec), PROTO_ESHORT);
    }
    buf_fini(&b);
    buf_fini(&scratch);
}

static void builder_writes_producer_fields_and_extra_attributes(void **state)
{
    buf_t b;
    buf_init(&b);
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.codec = PROTO_CODEC_LZ4;
    spec.attributes = PROTO_BATCH_TRANSACTIONAL | PROTO_BATCH_CODEC_MASK; /* codec bits in extras are ignored */
    spec.producer_id = 4242;
    spec.producer_epoch = 3;
    spec.base_sequence = 17;
    spec.partition_leader_epoch = 9;
    proto_record_spec_t rec = {bs("k"), bs("v"), 0, NULL, 0};
    assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), 0);
    proto_batch_header_t hdr;
    assert_int_equal(proto_batch_validate(b.data, b.len, &lim, NULL, &hdr), NONE);
    assert_int_equal(hdr.attributes, PROTO_BATCH_TRANSACTIONAL | PROTO_CODEC_LZ4);
    assert_int_equal(hdr.producer_id, 4242);
    assert_int_equal(hdr.producer_epoch, 3);
    assert_int_equal(hdr.base_sequence, 17);
    assert_int_equal(hdr.partition_leader_epoch, 9);
    assert_true(proto_batch_crc_ok(b.data, b.len));
    buf_fini(&b);
}

static void builder_writes_a_transaction_marker_that_validation_refuses_from_clients(void **state)
{
    /* COMMIT marker: key = version 0, type 1; value = version 0, coordinator epoch 5. */
    static const uint8_t key[4] = {0, 0, 0, 1};
    static const uint8_t value[6] = {0, 0, 0, 0, 0, 5};
    proto_record_spec_t rec = {{key, 4}, {value, 6}, 0, NULL, 0};
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.attributes = PROTO_BATCH_CONTROL | PROTO_BATCH_TRANSACTIONAL;
    spec.producer_id = 1;
    spec.producer_epoch = 0;
    buf_t b;
    buf_init(&b);
    assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), 0);
    assert_true(proto_batch_crc_ok(b.data, b.len));
    proto_batch_header_t hdr;
    assert_int_equal(proto_batch_validate(b.data, b.len, &lim, NULL, &hdr), INVALID_RECORD);
    assert_int_equal(hdr.attributes, PROTO_BATCH_CONTROL | PROTO_BATCH_TRANSACTIONAL);
    buf_fini(&b);
}

static void builder_rejects_null_header_key_and_leaves_output_unchanged(void **state)
{
    static const proto_header_spec_t bad[] = {{{NULL, -1}, {(const uint8_t *)"v", 1}}};
    proto_record_spec_t rec = {bs("k"), bs("v"), 0, bad, 1};
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    buf_t b;
    buf_init(&b);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    for (size_t c = 0; c < NCODECS; c++) {
        spec.codec = all_codecs[c];
        assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), PROTO_EINVALID);
        assert_int_equal(b.len, 3);
    }
    assert_int_equal(proto_batch_build(&b, &spec, &rec, -1), PROTO_EINVALID);
    spec.codec = (proto_codec_t)6;
    assert_int_equal(proto_batch_build(&b, &spec, &rec, 0), PROTO_EINVALID);
    assert_int_equal(b.len, 3);
    buf_fini(&b);
}

static void idempotent_batch_with_sequence_is_accepted(void **state)
{
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.producer_id = 7;
    spec.producer_epoch = 0;
    spec.base_sequence = 0;
    proto_record_spec_t rec = {bs(NULL), bs("x"), 0, NULL, 0};
    buf_t b;
    buf_init(&b);
    assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), 0);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), NONE);
    buf_fini(&b);
}

static void many_records_validate(void **state)
{
    enum { N = 5000 };
    proto_record_spec_t *recs = calloc(N, sizeof(*recs));
    assert_non_null(recs);
    char *vals = malloc((size_t)N * 16);
    assert_non_null(vals);
    for (int i = 0; i < N; i++) {
        int n = snprintf(vals + i * 16, 16, "value-%d", i);
        recs[i].key = bs(NULL);
        recs[i].value = (proto_bytes_t){(const uint8_t *)vals + i * 16, n};
        recs[i].timestamp_delta = i;
    }
    buf_t b, scratch;
    buf_init(&b);
    buf_init(&scratch);
    for (size_t c = 0; c < NCODECS; c++) {
        proto_batch_build_t spec;
        proto_batch_build_init(&spec);
        spec.codec = all_codecs[c];
        b.len = 0;
        assert_int_equal(proto_batch_build(&b, &spec, recs, N), 0);
        proto_batch_header_t hdr;
        assert_int_equal(proto_batch_validate(b.data, b.len, &lim, &scratch, &hdr), NONE);
        assert_int_equal(hdr.records_count, N);
        assert_int_equal(hdr.max_timestamp, N - 1);
    }
    buf_fini(&b);
    buf_fini(&scratch);
    free(vals);
    free(recs);
}

/* ---- rejecting ---------------------------------------------------------- */

static void every_flipped_byte_in_the_crc_range_is_corrupt(void **state)
{
    buf_t b, scratch;
    buf_init(&b);
    buf_init(&scratch);
    for (size_t c = 0; c < NCODECS; c++) {
        b.len = 0;
        build(&b, all_codecs[c]);
        for (size_t i = PROTO_BATCH_CRC_OFFSET; i < b.len; i++) {
            static const uint8_t masks[] = {0x01, 0x80, 0xff};
            for (size_t m = 0; m < sizeof(masks); m++) {
                b.data[i] ^= masks[m];
                int16_t err = proto_batch_validate(b.data, b.len, &lim, &scratch, NULL);
                b.data[i] ^= masks[m];
                if (err != CORRUPT_MESSAGE)
                    fail_msg("%s: flipping byte %zu with %#x gave %d", proto_codec_name(all_codecs[c]), i, masks[m],
                             err);
            }
        }
        assert_int_equal(proto_batch_validate(b.data, b.len, &lim, &scratch, NULL), NONE);
    }
    buf_fini(&b);
    buf_fini(&scratch);
}

static void fields_outside_the_crc_are_not_its_business(void **state)
{
    buf_t b;
    buf_init(&b);
    build(&b, PROTO_CODEC_NONE);
    proto_batch_set_base_offset(b.data, 123456789);
    proto_batch_set_leader_epoch(b.data, 77);
    proto_batch_header_t hdr;
    assert_int_equal(proto_batch_validate(b.data, b.len, &lim, NULL, &hdr), NONE);
    assert_int_equal(hdr.base_offset, 123456789);
    assert_int_equal(hdr.partition_leader_epoch, 77);
    buf_fini(&b);
}

static void wrong_batch_length_is_corrupt(void **state)
{
    buf_t b;
    buf_init(&b);
    build(&b, PROTO_CODEC_GZIP);
    static const int32_t deltas[] = {-1, 1, -1000, 1000000};
    for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
        put_be32(b.data + 8, (uint32_t)((int32_t)b.len - 12 + deltas[i]));
        assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), CORRUPT_MESSAGE);
    }
    put_be32(b.data + 8, 0x80000000u);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), CORRUPT_MESSAGE);
    buf_fini(&b);
}

static void truncation_at_every_length_is_rejected(void **state)
{
    buf_t b;
    buf_init(&b);
    for (size_t c = 0; c < NCODECS; c++) {
        b.len = 0;
        build(&b, all_codecs[c]);
        for (size_t len = 0; len < b.len; len++) {
            /* Short of a header, or batch_length no longer matches. */
            assert_int_equal(validate_copy(b.data, len, &lim, NULL), CORRUPT_MESSAGE);
        }
    }
    buf_fini(&b);
}

static void truncated_records_with_a_consistent_header_are_invalid(void **state)
{
    buf_t b, cut;
    buf_init(&b);
    buf_init(&cut);
    for (size_t c = 0; c < NCODECS; c++) {
        b.len = 0;
        build(&b, all_codecs[c]);
        for (size_t len = PROTO_BATCH_HEADER_SIZE; len < b.len; len++) {
            cut.len = 0;
            assert_int_equal(buf_append(&cut, b.data, len), 0);
            put_be32(cut.data + 8, (uint32_t)(len - 12));
            fix_crc(cut.data, len);
            int16_t err = validate_copy(cut.data, len, &lim, NULL);
            if (err != INVALID_RECORD)
                fail_msg("%s cut at %zu of %zu gave %d", proto_codec_name(all_codecs[c]), len, b.len, err);
        }
    }
    buf_fini(&b);
    buf_fini(&cut);
}

static void oversize_batch_is_message_too_large(void **state)
{
    buf_t b;
    buf_init(&b);
    build(&b, PROTO_CODEC_NONE);
    proto_batch_limits_t small = lim;
    small.max_batch_bytes = b.len - 1;
    proto_batch_header_t hdr;
    memset(&hdr, 0, sizeof(hdr));
    assert_int_equal(proto_batch_validate(b.data, b.len, &small, NULL, &hdr), MESSAGE_TOO_LARGE);
    assert_int_equal(hdr.records_count, 3); /* still filled, for the log line */
    small.max_batch_bytes = b.len;
    assert_int_equal(validate_copy(b.data, b.len, &small, NULL), NONE);
    buf_fini(&b);
}

static void decompressed_size_over_the_limit_is_message_too_large(void **state)
{
    static uint8_t big[200000];
    proto_record_spec_t rec = {bs(NULL), {big, sizeof(big)}, 0, NULL, 0};
    buf_t b;
    buf_init(&b);
    for (size_t c = 1; c < NCODECS; c++) {
        proto_batch_build_t spec;
        proto_batch_build_init(&spec);
        spec.codec = all_codecs[c];
        b.len = 0;
        assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), 0);
        proto_batch_limits_t small = lim;
        small.max_decompressed_bytes = 100000;
        buf_t scratch;
        buf_init(&scratch);
        assert_int_equal(proto_batch_validate(b.data, b.len, &small, &scratch, NULL), MESSAGE_TOO_LARGE);
        assert_true(scratch.cap <= 100000);
        assert_int_equal(proto_batch_validate(b.data, b.len, &lim, &scratch, NULL), NONE);
        /* 3-byte length, attributes, ts, offset, key, 3-byte value length, headers */
        assert_int_equal(scratch.len, sizeof(big) + 11);
        buf_fini(&scratch);
    }
    buf_fini(&b);
}

static void magic_other_than_2_is_invalid(void **state)
{
    buf_t b;
    buf_init(&b);
    build(&b, PROTO_CODEC_NONE);
    for (int magic = 0; magic < 4; magic++) {
        if (magic == 2)
            continue;
        b.data[16] = (uint8_t)magic;
        assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
    }
    buf_fini(&b);
}

/* Edits the header field at off (covered by the CRC) and re-signs the batch. */
static int16_t validate_with_i32(buf_t *b, size_t off, int32_t v)
{
    put_be32(b->data + off, (uint32_t)v);
    fix_crc(b->data, b->len);
    return validate_copy(b->data, b->len, &lim, NULL);
}

static void records_count_must_match_last_offset_delta(void **state)
{
    buf_t b;
    buf_init(&b);
    build(&b, PROTO_CODEC_NONE);
    assert_int_equal(validate_with_i32(&b, 23, 3), INVALID_RECORD); /* last_offset_delta 3, count 3 */
    assert_int_equal(validate_with_i32(&b, 23, 1), INVALID_RECORD);
    assert_int_equal(validate_with_i32(&b, 23, INT32_MAX), INVALID_RECORD);
    assert_int_equal(validate_with_i32(&b, 23, 2), NONE);
    /* count 0 with last_offset_delta -1, and negative counts */
    put_be32(b.data + 23, 0xffffffffu);
    assert_int_equal(validate_with_i32(&b, 57, 0), INVALID_RECORD);
    put_be32(b.data + 23, 0xfffffffdu);
    assert_int_equal(validate_with_i32(&b, 57, -2), INVALID_RECORD);
    buf_fini(&b);
}

static void record_count_in_data_must_match_the_header(void **state)
{
    buf_t b;
    buf_init(&b);
    for (size_t c = 0; c < NCODECS; c++) {
        /* Header says 2 (consistently), data holds 3. */
        b.len = 0;
        build(&b, all_codecs[c]);
        put_be32(b.data + 23, 1);
        assert_int_equal(validate_with_i32(&b, 57, 2), INVALID_RECORD);
        /* Header says 4, data holds 3. */
        put_be32(b.data + 23, 3);
        assert_int_equal(validate_with_i32(&b, 57, 4), INVALID_RECORD);
    }
    buf_fini(&b);
}

/* Encodes records with the given offset deltas as a plain records section. */
static void section_with_deltas(buf_t *sec, const int32_t *deltas, int n)
{
    sec->len = 0;
    proto_writer_t wr;
    proto_writer_init(&wr, sec);
    proto_record_spec_t rec = {bs("k"), bs("v"), 0, NULL, 0};
    for (int i = 0; i < n; i++)
        proto_record_write(&wr, &rec, deltas[i]);
    assert_int_equal(wr.err, 0);
}

static void offset_deltas_must_run_from_zero_in_order(void **state)
{
    static const int32_t good[] = {0, 1, 2};
    static const int32_t gap[] = {0, 2, 3};
    static const int32_t swapped[] = {1, 0, 2};
    static const int32_t late[] = {1, 2, 3};
    static const int32_t dup[] = {0, 0, 1};
    buf_t sec, b;
    buf_init(&sec);
    buf_init(&b);
    section_with_deltas(&sec, good, 3);
    wrap(&b, sec.data, sec.len, 0, 3);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), NONE);
    const int32_t *bad[] = {gap, swapped, late, dup};
    for (int i = 0; i < 4; i++) {
        section_with_deltas(&sec, bad[i], 3);
        wrap(&b, sec.data, sec.len, 0, 3);
        assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
    }
    buf_fini(&sec);
    buf_fini(&b);
}

static void trailing_bytes_after_the_last_record_are_invalid(void **state)
{
    static const int32_t deltas[] = {0, 1};
    buf_t sec, b, comp;
    buf_init(&sec);
    buf_init(&b);
    buf_init(&comp);
    section_with_deltas(&sec, deltas, 2);
    assert_int_equal(buf_append(&sec, "\0", 1), 0);
    wrap(&b, sec.data, sec.len, 0, 2);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
    /* The same inside a compressed payload. */
    assert_int_equal(proto_compress(PROTO_CODEC_ZSTD, sec.data, sec.len, &comp), 0);
    wrap(&b, comp.data, comp.len, PROTO_CODEC_ZSTD, 2);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
    comp.len = 0;
    assert_int_equal(proto_compress(PROTO_CODEC_ZSTD, sec.data, sec.len - 1, &comp), 0);
    wrap(&b, comp.data, comp.len, PROTO_CODEC_ZSTD, 2);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), NONE);
    buf_fini(&sec);
    buf_fini(&b);
    buf_fini(&comp);
}

static void control_bit_from_a_client_is_invalid(void **state)
{
    buf_t b;
    buf_init(&b);
    build(&b, PROTO_CODEC_NONE);
    put_be16(b.data + 21, PROTO_BATCH_CONTROL);
    fix_crc(b.data, b.len);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
    put_be16(b.data + 21, PROTO_BATCH_TRANSACTIONAL);
    fix_crc(b.data, b.len);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), NONE);
    buf_fini(&b);
}

static void producer_id_without_sequence_is_invalid(void **state)
{
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.producer_id = 7;
    spec.producer_epoch = 0;
    spec.base_sequence = -1;
    proto_record_spec_t rec = {bs("k"), bs("v"), 0, NULL, 0};
    buf_t b;
    buf_init(&b);
    assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), 0);
    assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
    buf_fini(&b);
}

static void unknown_codecs_are_invalid(void **state)
{
    buf_t b;
    buf_init(&b);
    build(&b, PROTO_CODEC_NONE);
    for (int codec = 5; codec <= 7; codec++) {
        put_be16(b.data + 21, (uint16_t)codec);
        fix_crc(b.data, b.len);
        assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
    }
    buf_fini(&b);
}

static void garbage_compressed_payload_is_invalid_for_every_codec(void **state)
{
    static const uint8_t junk[] = "this is not compressed by anything at all, honestly";
    buf_t b;
    buf_init(&b);
    for (size_t c = 1; c < NCODECS; c++) {
        wrap(&b, junk, sizeof(junk), (int16_t)all_codecs[c], 1);
        assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
        /* An empty payload is not a valid stream either. */
        wrap(&b, junk, 0, (int16_t)all_codecs[c], 1);
        assert_int_equal(validate_copy(b.data, b.len, &lim, NULL), INVALID_RECORD);
    }
    buf_fini(&b);
}

static void zstd_is_refused_when_not_allowed(void **state)
{
    buf_t b;
    buf_init(&b);
    build(&b, PROTO_CODEC_ZSTD);
    proto_batch_limits_t old = lim;
    old.allow_zstd = 0;
    assert_int_equal(validate_copy(b.data, b.len, &old, NULL), UNSUPPORTED_COMPRESSION_TYPE);
    b.len = 0;
    build(&b, PROTO_CODEC_LZ4);
    assert_int_equal(validate_copy(b.data, b.len, &old, NULL), NONE);
    buf_fini(&b);
}

static void set_log_append_time_keeps_the_crc_valid(void **state)
{
    buf_t b;
    buf_init(&b);
    for (size_t c = 0; c < NCODECS; c++) {
        b.len = 0;
        build(&b, all_codecs[c]);
        proto_batch_set_log_append_time(b.data, b.len, 1800000000123);
        assert_true(proto_batch_crc_ok(b.data, b.len));
        proto_batch_header_t hdr;
        assert_int_equal(proto_batch_validate(b.data, b.len, &lim, NULL, &hdr), NONE);
        assert_int_equal(hdr.max_timestamp, 1800000000123);
        assert_int_equal(hdr.attributes, PROTO_BATCH_LOG_APPEND_TIME | (int)all_codecs[c]);
        assert_int_equal(hdr.base_timestamp, 1700000000000);
    }
    /* Too short to be a batch: left alone. */
    uint8_t tiny[10] = {0};
    proto_batch_set_log_append_time(tiny, sizeof(tiny), 5);
    for (size_t i = 0; i < sizeof(tiny); i++)
        assert_int_equal(tiny[i], 0);
    buf_fini(&b);
}

/* ---- the record reader on hand-made bytes -------------------------------- */

static int read_one(const uint8_t *p, size_t n, proto_record_t *rec)
{
    proto_reader_t rd;
    proto_reader_init(&rd, p, n);
    int rc = proto_record_next(&rd, rec);
    assert_int_equal(rc, rd.err);
    return rc;
}

static void record_reader_handles_null_key_empty_value_and_headers(void **state)
{
    /* Zig-zag varints: 0 -> 0, -1 -> 1, 1 -> 2, 2 -> 4. */
    uint8_t buf[32];
    size_t n = 0;
    buf[n++] = 0; /* length, patched */
    buf[n++] = 0; /* attributes */
    buf[n++] = 4; /* timestamp_delta 2 */
    buf[n++] = 0; /* offset_delta 0 */
    buf[n++] = 1; /* key null */
    buf[n++] = 0; /* value empty */
    buf[n++] = 4; /* 2 headers */
    buf[n++] = 2; /* "h" */
    buf[n++] = 'h';
    buf[n++] = 1; /* null value */
    buf[n++] = 4; /* "ab" */
    buf[n++] = 'a';
    buf[n++] = 'b';
    buf[n++] = 2; /* "x" */
    buf[n++] = 'x';
    buf[0] = (uint8_t)((n - 1) * 2);

    proto_record_t rec;
    assert_int_equal(read_one(buf, n, &rec), 0);
    assert_int_equal(rec.timestamp_delta, 2);
    assert_int_equal(rec.key.len, -1);
    assert_null(rec.key.ptr);
    assert_int_equal(rec.value.len, 0);
    assert_int_equal(rec.headers_count, 2);
    assert_int_equal(rec.headers_len, 8);
    proto_header_iter_t it;
    proto_header_iter_init(&it, &rec);
    proto_bytes_t k, v;
    assert_int_equal(proto_header_next(&it, &k, &v), 1);
    assert_int_equal(k.len, 1);
    assert_int_equal(v.len, -1);
    assert_int_equal(proto_header_next(&it, &k, &v), 1);
    assert_memory_equal(k.ptr, "ab", 2);
    assert_memory_equal(v.ptr, "x", 1);
    assert_int_equal(proto_header_next(&it, &k, &v), 0);

    /* Declared length one longer or shorter than the fields. */
    buf[0] = (uint8_t)(n * 2);
    buf[n] = 0;
    assert_int_equal(read_one(buf, n + 1, &rec), PROTO_ETRAILING);
    buf[0] = (uint8_t)((n - 2) * 2);
    assert_int_not_equal(read_one(buf, n, &rec), 0);
    buf[0] = (uint8_t)((n - 1) * 2);

    /* A null header key. */
    buf[7] = 1;
    assert_int_equal(read_one(buf, n, &rec), PROTO_ENEGATIVE);
    buf[7] = 2;
    /* A key length below -1. */
    buf[4] = 3;
    assert_int_equal(read_one(buf, n, &rec), PROTO_ENEGATIVE);
    buf[4] = 1;
    /* A negative header count. */
    buf[6] = 1;
    assert_int_equal(read_one(buf, n, &rec), PROTO_ENEGATIVE);
    buf[6] = 4;
    /* A negative record length, and one past the end. */
    buf[0] = 1;
    assert_int_equal(read_one(buf, n, &rec), PROTO_ENEGATIVE);
    buf[0] = (uint8_t)(n * 2);
    assert_int_equal(read_one(buf, n, &rec), PROTO_ESHORT);
    buf[0] = (uint8_t)((n - 1) * 2);
    assert_int_equal(read_one(buf, n, &rec), 0);
}

static void record_reader_rejects_every_prefix(void **state)
{
    buf_t sec;
    buf_init(&sec);
    proto_writer_t wr;
    proto_writer_init(&wr, &sec);
    proto_record_spec_t spec = {bs("key"), bs("value"), -5, hdrs, 2};
    proto_record_write(&wr, &spec, 0);
    assert_int_equal(wr.err, 0);
    proto_record_t rec;
    for (size_t len = 0; len < sec.len; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        assert_non_null(cut);
        memcpy(cut, sec.data, len);
        assert_int_not_equal(read_one(cut, len, &rec), 0);
        free(cut);
    }
    assert_int_equal(read_one(sec.data, sec.len, &rec), 0);
    assert_int_equal(rec.timestamp_delta, -5);
    buf_fini(&sec);
}

/* ---- fuzz corpus replay --------------------------------------------------- */

/*
 * Replays fuzz/corpus/record_batch through the validator so CI exercises the
 * fuzz finds without clang. Files named valid_* must validate cleanly.
 */
static void fuzz_corpus_replays_cleanly(void **state)
{
    const char *src = getenv("EDDY_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/fuzz/corpus/record_batch", src ? src : ".");
    DIR *d = opendir(dir);
    if (!d) {
        if (src)
            fail_msg("no corpus at %s", dir);
        skip();
    }
    int files = 0;
    buf_t data, scratch;
    buf_init(&data);
    buf_init(&scratch);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        data.len = 0;
        uint8_t chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            assert_int_equal(buf_append(&data, chunk, n), 0);
        fclose(f);
        int16_t err = validate_copy(data.data, data.len, &lim, &scratch);
        if (strncmp(de->d_name, "valid_", 6) == 0 && err != NONE)
            fail_msg("%s: %d", de->d_name, err);
        if (strncmp(de->d_name, "invalid_", 8) == 0 && err == NONE)
            fail_msg("%s was accepted", de->d_name);
        files++;
    }
    closedir(d);
    assert_true(files >= 5);
    buf_fini(&data);
    buf_fini(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validate_accepts_builder_batches_of_every_codec),
        cmocka_unit_test(records_read_back_through_every_codec),
        cmocka_unit_test(builder_writes_producer_fields_and_extra_attributes),
        cmocka_unit_test(builder_writes_a_transaction_marker_that_validation_refuses_from_clients),
        cmocka_unit_test(builder_rejects_null_header_key_and_leaves_output_unchanged),
        cmocka_unit_test(idempotent_batch_with_sequence_is_accepted),
        cmocka_unit_test(many_records_validate),
        cmocka_unit_test(every_flipped_byte_in_the_crc_range_is_corrupt),
        cmocka_unit_test(fields_outside_the_crc_are_not_its_business),
        cmocka_unit_test(wrong_batch_length_is_corrupt),
        cmocka_unit_test(truncation_at_every_length_is_rejected),
        cmocka_unit_test(truncated_records_with_a_consistent_header_are_invalid),
        cmocka_unit_test(oversize_batch_is_message_too_large),
        cmocka_unit_test(decompressed_size_over_the_limit_is_message_too_large),
        cmocka_unit_test(magic_other_than_2_is_invalid),
        cmocka_unit_test(records_count_must_match_last_offset_delta),
        cmocka_unit_test(record_count_in_data_must_match_the_header),
        cmocka_unit_test(offset_deltas_must_run_from_zero_in_order),
        cmocka_unit_test(trailing_bytes_after_the_last_record_are_invalid),
        cmocka_unit_test(control_bit_from_a_client_is_invalid),
        cmocka_unit_test(producer_id_without_sequence_is_invalid),
        cmocka_unit_test(unknown_codecs_are_invalid),
        cmocka_unit_test(garbage_compressed_payload_is_invalid_for_every_codec),
        cmocka_unit_test(zstd_is_refused_when_not_allowed),
        cmocka_unit_test(set_log_append_time_keeps_the_crc_valid),
        cmocka_unit_test(record_reader_handles_null_key_empty_value_and_headers),
        cmocka_unit_test(record_reader_rejects_every_prefix),
        cmocka_unit_test(fuzz_corpus_replays_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
