/*
 * log/validate: one test per rule Kafka applies to a client's batch, and the
 * bytes it leaves alone. Batches are real (proto_batch_build); a test that
 * changes a header field fixes the CRC itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log/validate.h"
#include "protocol/compress.h"
#include "protocol/kafka_errors.h"
#include "protocol/record.h"

#define NOW  1700000000000LL
#define BASE (NOW - 1000)

static void put64(uint8_t *p, int64_t v)
{
    for (int i = 7; i >= 0; i--, v = (int64_t)((uint64_t)v >> 8))
        p[i] = (uint8_t)v;
}

static void fix_crc(buf_t *b)
{
    uint32_t crc = proto_batch_compute_crc(b->data, b->len);
    b->data[17] = (uint8_t)(crc >> 24);
    b->data[18] = (uint8_t)(crc >> 16);
    b->data[19] = (uint8_t)(crc >> 8);
    b->data[20] = (uint8_t)crc;
}

/* n records with keys (unless keyless) and timestamps BASE + 10*i; codec given. */
static void build(buf_t *out, int n, int codec, bool keyless, int16_t attributes)
{
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.codec = (proto_codec_t)codec;
    spec.base_timestamp = BASE;
    spec.attributes = attributes;
    proto_record_spec_t recs[16];
    static char vals[16][40];
    for (int i = 0; i < n; i++) {
        snprintf(vals[i], sizeof(vals[i]), "value-%d-xxxxxxxxxx", i);
        recs[i] = (proto_record_spec_t){keyless ? (proto_bytes_t){NULL, -1} : (proto_bytes_t){(const uint8_t *)"k", 1},
                                        {(const uint8_t *)vals[i], (int32_t)strlen(vals[i])},
                                        10 * i,
                                        NULL,
                                        0};
    }
    out->len = 0;
    assert_int_equal(proto_batch_build(out, &spec, recs, n), 0);
}

typedef struct fx_s {
    log_validate_rules_t rules;
    buf_t in, scratch, out;
    log_validated_t v;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    log_validate_rules_init(&fx->rules, 1u << 20, NOW);
    buf_init(&fx->in);
    buf_init(&fx->scratch);
    buf_init(&fx->out);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    buf_fini(&fx->in);
    buf_fini(&fx->scratch);
    buf_fini(&fx->out);
    free(fx);
    return 0;
}

static int16_t run(fx_t *fx)
{
    return log_validate_batch(&fx->rules, fx->in.data, fx->in.len, &fx->scratch, &fx->out, &fx->v);
}

static void a_correct_batch_is_stored_as_sent_in_place(void **state)
{
    fx_t *fx = *state;
    build(&fx->in, 3, PROTO_CODEC_NONE, false, 0);
    uint8_t *copy = malloc(fx->in.len);
    memcpy(copy, fx->in.data, fx->in.len);
    assert_int_equal(run(fx), KERR_NONE);
    assert_ptr_equal(fx->v.batch, fx->in.data); /* no copy */
    assert_int_equal(fx->v.len, fx->in.len);
    assert_false(fx->v.rewritten);
    assert_false(fx->v.rebuilt);
    assert_memory_equal(fx->in.data, copy, fx->in.len); /* not a byte changed */
    assert_int_equal(fx->v.log_append_time, -1);
    assert_int_equal(fx->out.len, 0);
    free(copy);
}

/* sarama writes max_timestamp -1: Kafka recomputes it from the records (and the CRC). */
static void the_max_timestamp_is_recomputed_from_the_records(void **state)
{
    fx_t *fx = *state;
    build(&fx->in, 4, PROTO_CODEC_NONE, false, 0);
    put64(fx->in.data + 35, -1);
    fix_crc(&fx->in);
    uint8_t *copy = malloc(fx->in.len);
    memcpy(copy, fx->in.data, fx->in.len);
    assert_int_equal(run(fx), KERR_NONE);
    assert_ptr_equal(fx->v.batch, fx->in.data);
    assert_true(fx->v.rewritten);
    assert_int_equal(fx->v.hdr.max_timestamp, BASE + 30);
    proto_batch_header_t hdr;
    assert_int_equal(proto_batch_header_parse(fx->in.data, fx->in.len, &hdr), 0);
    assert_int_equal(hdr.max_timestamp, BASE + 30);
    assert_true(proto_batch_crc_ok(fx->in.data, fx->in.len));
    /* Only the max timestamp and the CRC changed. */
    for (size_t i = 0; i < fx->in.len; i++)
        if ((i < 17 || i > 20) && (i < 35 || i > 42))
            assert_int_equal(fx->in.data[i], copy[i]);
    free(copy);
    /* The same holds for a compressed batch kept in place. */
    build(&fx->in, 4, PROTO_CODEC_LZ4, false, 0);
    put64(fx->in.data + 35, -1);
    fix_crc(&fx->in);
    assert_int_equal(run(fx), KERR_NONE);
    assert_false(fx->v.rebuilt);
    assert_int_equal(fx->v.hdr.max_timestamp, BASE + 30);
    assert_true(proto_batch_crc_ok(fx->in.data, fx->in.len));
}

static void a_log_append_time_topic_stamps_now(void **state)
{
    fx_t *fx = *state;
    fx->rules.log_append_time = true;
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    assert_int_equal(run(fx), KERR_NONE);
    assert_int_equal(fx->v.log_append_time, NOW);
    assert_true(fx->v.rewritten);
    proto_batch_header_t hdr;
    assert_int_equal(proto_batch_header_parse(fx->in.data, fx->in.len, &hdr), 0);
    assert_int_equal(hdr.max_timestamp, NOW);
    assert_true(hdr.attributes & PROTO_BATCH_LOG_APPEND_TIME);
    assert_true(proto_batch_crc_ok(fx->in.data, fx->in.len));
}

/* A producer does not set LogAppendTime: refused on a LogAppendTime topic, cleared on a CreateTime one. */
static void a_client_set_log_append_time_is_refused_or_cleared(void **state)
{
    fx_t *fx = *state;
    fx->rules.log_append_time = true;
    build(&fx->in, 2, PROTO_CODEC_NONE, false, PROTO_BATCH_LOG_APPEND_TIME);
    assert_int_equal(run(fx), KERR_INVALID_TIMESTAMP);
    assert_int_equal(fx->v.nrecord_errors, 2);
    fx->rules.log_append_time = false;
    build(&fx->in, 2, PROTO_CODEC_NONE, false, PROTO_BATCH_LOG_APPEND_TIME);
    assert_int_equal(run(fx), KERR_NONE);
    assert_false(fx->v.hdr.attributes & PROTO_BATCH_LOG_APPEND_TIME);
    assert_int_equal(fx->v.hdr.max_timestamp, BASE + 10); /* records of a LogAppendTime batch carry its max */
    assert_true(proto_batch_crc_ok(fx->in.data, fx->in.len));
}

static void timestamps_outside_the_bounds_are_invalid(void **state)
{
    fx_t *fx = *state;
    build(&fx->in, 3, PROTO_CODEC_NONE, false, 0); /* BASE, BASE+10, BASE+20 = now-1000 .. now-980 */
    fx->rules.timestamp_before_max_ms = 985;        /* the first two are too old */
    assert_int_equal(run(fx), KERR_INVALID_TIMESTAMP);
    assert_int_equal(fx->v.nrecord_errors, 2);
    assert_int_equal(fx->v.record_errors[0], 0);
    assert_int_equal(fx->v.record_errors[1], 1);
    assert_non_null(fx->v.message);
    fx->rules.timestamp_before_max_ms = INT64_MAX;
    fx->rules.now_ms = BASE - 100; /* all in the future by 100..120 */
    fx->rules.timestamp_after_max_ms = 110;
    build(&fx->in, 3, PROTO_CODEC_NONE, false, 0);
    assert_int_equal(run(fx), KERR_INVALID_TIMESTAMP);
    assert_int_equal(fx->v.nrecord_errors, 1);
    assert_int_equal(fx->v.record_errors[0], 2);
    /* -1 (no timestamp) is never out of range. */
    fx->rules.timestamp_after_max_ms = 0;
    fx->rules.timestamp_before_max_ms = 0;
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.base_timestamp = -1;
    proto_record_spec_t rec = {{(const uint8_t *)"k", 1}, {(const uint8_t *)"v", 1}, 0, NULL, 0};
    fx->in.len = 0;
    assert_int_equal(proto_batch_build(&fx->in, &spec, &rec, 1), 0);
    assert_int_equal(run(fx), KERR_NONE);
}

static void a_compacted_topic_needs_a_key_in_every_record(void **state)
{
    fx_t *fx = *state;
    fx->rules.compacted = true;
    build(&fx->in, 2, PROTO_CODEC_GZIP, true, 0);
    assert_int_equal(run(fx), KERR_INVALID_RECORD);
    assert_int_equal(fx->v.nrecord_errors, 2);
    assert_non_null(fx->v.message);
    build(&fx->in, 2, PROTO_CODEC_GZIP, false, 0);
    assert_int_equal(run(fx), KERR_NONE);
}

static void another_codec_rebuilds_with_every_header_field_kept(void **state)
{
    fx_t *fx = *state;
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.codec = PROTO_CODEC_GZIP;
    spec.producer_id = 77;
    spec.producer_epoch = 3;
    spec.base_sequence = 10;
    spec.base_timestamp = BASE;
    spec.attributes = PROTO_BATCH_TRANSACTIONAL;
    proto_record_spec_t recs[3];
    for (int i = 0; i < 3; i++)
        recs[i] = (proto_record_spec_t){{(const uint8_t *)"k", 1}, {(const uint8_t *)"value-xxxxxxxx", 14}, i * 5,
                                        NULL, 0};
    fx->in.len = 0;
    assert_int_equal(proto_batch_build(&fx->in, &spec, recs, 3), 0);
    proto_batch_header_t before;
    assert_int_equal(proto_batch_header_parse(fx->in.data, fx->in.len, &before), 0);
    for (int codec = PROTO_CODEC_NONE; codec <= PROTO_CODEC_ZSTD; codec++) {
        fx->rules.target_codec = codec;
        buf_t copy;
        buf_init(&copy);
        assert_int_equal(buf_append(&copy, fx->in.data, fx->in.len), 0);
        assert_int_equal(log_validate_batch(&fx->rules, copy.data, copy.len, &fx->scratch, &fx->out, &fx->v),
                         KERR_NONE);
        const proto_batch_header_t *after = &fx->v.hdr;
        assert_int_equal(after->attributes & PROTO_BATCH_CODEC_MASK, codec);
        assert_int_equal(fx->v.rebuilt, codec != PROTO_CODEC_GZIP);
        assert_int_equal(after->attributes & ~PROTO_BATCH_CODEC_MASK, before.attributes & ~PROTO_BATCH_CODEC_MASK);
        assert_true(after->base_timestamp == before.base_timestamp && after->max_timestamp == before.max_timestamp);
        assert_true(after->producer_id == 77 && after->producer_epoch == 3 && after->base_sequence == 10);
        assert_int_equal(after->records_count, 3);
        assert_true(proto_batch_crc_ok(fx->v.batch, fx->v.len));
        /* What was rebuilt passes the same rules again, unchanged. */
        buf_t again;
        buf_init(&again);
        assert_int_equal(buf_append(&again, fx->v.batch, fx->v.len), 0);
        log_validated_t v2;
        buf_t out2;
        buf_init(&out2);
        assert_int_equal(log_validate_batch(&fx->rules, again.data, again.len, &fx->scratch, &out2, &v2), KERR_NONE);
        assert_false(v2.rebuilt);
        assert_false(v2.rewritten);
        buf_fini(&out2);
        buf_fini(&again);
        buf_fini(&copy);
    }
}

/* Kafka rebuilds a batch whose records' offset deltas are not 0..n-1 (older clients' inner offsets). */
static void out_of_order_offset_deltas_are_renumbered(void **state)
{
    fx_t *fx = *state;
    build(&fx->in, 3, PROTO_CODEC_NONE, false, 0);
    /* Records start right after the header: length varint, attributes, ts delta, then the offset delta. */
    proto_reader_t rd;
    proto_reader_init(&rd, fx->in.data + PROTO_BATCH_HEADER_SIZE, fx->in.len - PROTO_BATCH_HEADER_SIZE);
    proto_record_t rec;
    assert_int_equal(proto_record_next(&rd, &rec), 0);
    size_t second = (size_t)(rd.p - fx->in.data);
    /* second record: length(1) attributes(1) ts delta 10 -> zigzag 20 (1 byte), offset delta 1 -> 2 */
    assert_int_equal(fx->in.data[second + 3], 2);
    fx->in.data[second + 3] = 6; /* delta 3 */
    fix_crc(&fx->in);
    assert_int_equal(run(fx), KERR_NONE);
    assert_true(fx->v.rebuilt);
    proto_reader_init(&rd, fx->v.batch + PROTO_BATCH_HEADER_SIZE, fx->v.len - PROTO_BATCH_HEADER_SIZE);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(proto_record_next(&rd, &rec), 0);
        assert_int_equal(rec.offset_delta, i);
        assert_int_equal(rec.timestamp_delta, 10 * i);
    }
}

static void framing_follows_kafka(void **state)
{
    fx_t *fx = *state;
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    size_t one = fx->in.len;
    /* A few bytes after the batch: dropped. */
    assert_int_equal(buf_append(&fx->in, "\0\0\0\0\0", 5), 0);
    assert_int_equal(run(fx), KERR_NONE);
    assert_int_equal(fx->v.len, one);
    assert_int_equal(fx->v.ignored, 5);
    /* The start of a second batch that does not fit: dropped too. */
    fx->in.len = one;
    assert_int_equal(buf_append(&fx->in, fx->in.data, 30), 0);
    assert_int_equal(run(fx), KERR_NONE);
    assert_int_equal(fx->v.ignored, 30);
    /* A complete second batch: INVALID_RECORD. */
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    assert_int_equal(buf_append(&fx->in, fx->in.data, one), 0);
    assert_int_equal(run(fx), KERR_INVALID_RECORD);
    /* A size below 14 after the batch: CORRUPT_MESSAGE. */
    fx->in.len = one;
    static const uint8_t tiny[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
    assert_int_equal(buf_append(&fx->in, tiny, sizeof(tiny)), 0);
    assert_int_equal(run(fx), KERR_CORRUPT_MESSAGE);
    /* No complete batch at all: INVALID_RECORD. */
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    fx->in.len = one - 1;
    assert_int_equal(run(fx), KERR_INVALID_RECORD);
    fx->in.len = 11;
    assert_int_equal(run(fx), KERR_INVALID_RECORD);
    /* Magic 1 in a v3+ Produce: INVALID_RECORD. */
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    fx->in.data[16] = 1;
    assert_int_equal(run(fx), KERR_INVALID_RECORD);
    /* zstd before Produce v7. */
    build(&fx->in, 2, PROTO_CODEC_ZSTD, false, 0);
    fx->rules.allow_zstd = false;
    assert_int_equal(run(fx), KERR_UNSUPPORTED_COMPRESSION_TYPE);
}

static void batch_rules_follow_kafka(void **state)
{
    fx_t *fx = *state;
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    fx->in.data[fx->in.len - 1] ^= 1;
    assert_int_equal(run(fx), KERR_CORRUPT_MESSAGE);
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    fx->rules.max_batch_bytes = fx->in.len - 1;
    assert_int_equal(run(fx), KERR_MESSAGE_TOO_LARGE);
    fx->rules.max_batch_bytes = 1u << 20;
    build(&fx->in, 2, PROTO_CODEC_NONE, false, PROTO_BATCH_CONTROL);
    assert_int_equal(run(fx), KERR_INVALID_RECORD);
    /* records_count that disagrees with last_offset_delta */
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    fx->in.data[60] = 3;
    fix_crc(&fx->in);
    assert_int_equal(run(fx), KERR_INVALID_RECORD);
    /* a producer id with no sequence */
    build(&fx->in, 2, PROTO_CODEC_NONE, false, 0);
    put64(fx->in.data + 43, 5);
    fix_crc(&fx->in);
    assert_int_equal(run(fx), KERR_INVALID_RECORD);
}

/* Every strict prefix and every single-byte corruption is refused or accepted cleanly (ASan checks the reads). */
static void no_input_crashes(void **state)
{
    fx_t *fx = *state;
    for (int codec = PROTO_CODEC_NONE; codec <= PROTO_CODEC_LZ4; codec += 3) {
        build(&fx->in, 3, codec, false, 0);
        size_t len = fx->in.len;
        uint8_t *orig = malloc(len);
        memcpy(orig, fx->in.data, len);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, orig, cut);
            assert_int_not_equal(log_validate_batch(&fx->rules, copy, cut, &fx->scratch, &fx->out, &fx->v), KERR_NONE);
            free(copy);
        }
        for (size_t i = 0; i < len; i++) {
            uint8_t *copy = malloc(len);
            memcpy(copy, orig, len);
            copy[i] ^= 0x5a;
            (void)log_validate_batch(&fx->rules, copy, len, &fx->scratch, &fx->out, &fx->v);
            free(copy);
        }
        free(orig);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_correct_batch_is_stored_as_sent_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(the_max_timestamp_is_recomputed_from_the_records, setup, teardown),
        cmocka_unit_test_setup_teardown(a_log_append_time_topic_stamps_now, setup, teardown),
        cmocka_unit_test_setup_teardown(a_client_set_log_append_time_is_refused_or_cleared, setup, teardown),
        cmocka_unit_test_setup_teardown(timestamps_outside_the_bounds_are_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(a_compacted_topic_needs_a_key_in_every_record, setup, teardown),
        cmocka_unit_test_setup_teardown(another_codec_rebuilds_with_every_header_field_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_order_offset_deltas_are_renumbered, setup, teardown),
        cmocka_unit_test_setup_teardown(framing_follows_kafka, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_rules_follow_kafka, setup, teardown),
        cmocka_unit_test_setup_teardown(no_input_crashes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
