/*
 * The bounds-checked reader and the writer: every primitive round-trips,
 * errors stick, lengths and counts are checked against the bytes left, and
 * overlong varints are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/reader.h"
#include "protocol/writer.h"

static void primitives_round_trip_through_writer_and_reader(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    proto_writer_t wr;
    proto_writer_init(&wr, &b);
    proto_wr_i8(&wr, -5);
    proto_wr_i16(&wr, -12345);
    proto_wr_i32(&wr, INT32_MIN);
    proto_wr_i64(&wr, INT64_MIN + 7);
    proto_wr_uvarint(&wr, UINT32_MAX);
    proto_wr_varint(&wr, INT32_MIN);
    proto_wr_varlong(&wr, INT64_MIN);
    proto_wr_varlong(&wr, INT64_MAX);
    proto_wr_uvarlong(&wr, UINT64_MAX);
    proto_wr_string(&wr, proto_str_c("abc"));
    proto_wr_string(&wr, (proto_str_t){NULL, -1});
    proto_wr_compact_string(&wr, proto_str_c("xyz"));
    proto_wr_compact_bytes(&wr, (proto_bytes_t){NULL, -1});
    proto_wr_f64(&wr, 2.5);
    assert_int_equal(wr.err, 0);
    assert_int_equal(wr.count, b.len);

    proto_reader_t rd;
    proto_reader_init(&rd, b.data, b.len);
    assert_int_equal(proto_rd_i8(&rd), -5);
    assert_int_equal(proto_rd_i16(&rd), -12345);
    assert_int_equal(proto_rd_i32(&rd), INT32_MIN);
    assert_true(proto_rd_i64(&rd) == INT64_MIN + 7);
    assert_true(proto_rd_uvarint(&rd) == UINT32_MAX);
    assert_int_equal(proto_rd_varint(&rd), INT32_MIN);
    assert_true(proto_rd_varlong(&rd) == INT64_MIN);
    assert_true(proto_rd_varlong(&rd) == INT64_MAX);
    assert_true(proto_rd_uvarlong(&rd) == UINT64_MAX);
    proto_str_t s = proto_rd_string(&rd, 0);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.ptr, "abc", 3);
    assert_int_equal(proto_rd_string(&rd, 1).len, -1);
    s = proto_rd_compact_string(&rd, 0);
    assert_int_equal(s.len, 3);
    assert_int_equal(proto_rd_compact_bytes(&rd, 1).len, -1);
    assert_true(proto_rd_f64(&rd) == 2.5);
    assert_int_equal(rd.err, 0);
    assert_int_equal(proto_rd_remaining(&rd), 0);
    buf_fini(&b);
}

static void reading_past_the_end_fails_and_the_error_sticks(void **state)
{
    (void)state;
    const uint8_t data[] = {0, 1, 2};
    proto_reader_t rd;
    proto_reader_init(&rd, data, sizeof(data));
    assert_int_equal(proto_rd_i32(&rd), 0);
    assert_int_equal(rd.err, PROTO_ESHORT);
    assert_true(rd.line > 0);
    /* later reads return zero even though bytes were there */
    assert_int_equal(proto_rd_i8(&rd), 0);
    assert_int_equal(rd.err, PROTO_ESHORT);
}

static void overlong_varints_are_rejected(void **state)
{
    (void)state;
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01}; /* 6 bytes for a 32-bit varint */
    proto_reader_t rd;
    proto_reader_init(&rd, six, sizeof(six));
    (void)proto_rd_uvarint(&rd);
    assert_int_equal(rd.err, PROTO_EVARINT);
    const uint8_t big5[] = {0xff, 0xff, 0xff, 0xff, 0x1f}; /* 35 bits */
    proto_reader_init(&rd, big5, sizeof(big5));
    (void)proto_rd_uvarint(&rd);
    assert_int_equal(rd.err, PROTO_EVARINT);
    uint8_t eleven[11];
    memset(eleven, 0x80, sizeof(eleven));
    eleven[10] = 0;
    proto_reader_init(&rd, eleven, sizeof(eleven));
    (void)proto_rd_uvarlong(&rd);
    assert_int_equal(rd.err, PROTO_EVARINT);
}

static void string_longer_than_remaining_bytes_is_rejected(void **state)
{
    (void)state;
    const uint8_t data[] = {0x00, 0x10, 'a', 'b'};
    proto_reader_t rd;
    proto_reader_init(&rd, data, sizeof(data));
    proto_str_t s = proto_rd_string(&rd, 0);
    assert_int_equal(s.len, -1);
    assert_int_equal(rd.err, PROTO_ESHORT);
}

/* Kafka reads any negative length as null: refused only where null is not allowed. */
static void negative_lengths_read_as_null(void **state)
{
    (void)state;
    const uint8_t str[] = {0xff, 0xfe};
    proto_reader_t rd;
    proto_reader_init(&rd, str, sizeof(str));
    proto_str_t s = proto_rd_string(&rd, 1);
    assert_int_equal(rd.err, 0);
    assert_int_equal(s.len, -1);
    assert_null(s.ptr);
    proto_reader_init(&rd, str, sizeof(str));
    (void)proto_rd_string(&rd, 0); /* null where not allowed */
    assert_int_equal(rd.err, PROTO_ENEGATIVE);
    const uint8_t bytes[] = {0x80, 0x00, 0x00, 0x00};
    proto_reader_init(&rd, bytes, sizeof(bytes));
    proto_bytes_t b = proto_rd_bytes(&rd, 1);
    assert_int_equal(rd.err, 0);
    assert_int_equal(b.len, -1);
    proto_reader_init(&rd, bytes, sizeof(bytes));
    (void)proto_rd_bytes(&rd, 0);
    assert_int_equal(rd.err, PROTO_ENEGATIVE);
    const uint8_t arr[] = {0xff, 0xff, 0xff, 0xfe};
    proto_reader_init(&rd, arr, sizeof(arr));
    assert_int_equal(proto_rd_array_len(&rd, 0, 1), -1);
    assert_int_equal(rd.err, 0);
}

static void array_count_larger_than_remaining_bytes_is_rejected(void **state)
{
    (void)state;
    const uint8_t data[] = {0x00, 0x00, 0x00, 0x03, 1, 2, 3, 4, 5, 6, 7, 8};
    proto_reader_t rd;
    proto_reader_init(&rd, data, sizeof(data));
    /* three int32s need 12 bytes; only 8 remain */
    (void)proto_rd_array_len(&rd, 0, 4);
    assert_int_equal(rd.err, PROTO_ECOUNT);
    proto_reader_init(&rd, data, sizeof(data));
    assert_int_equal(proto_rd_array_len(&rd, 0, 2), 3);
    assert_int_equal(rd.err, 0);
}

static void compact_string_over_int16_length_is_rejected(void **state)
{
    (void)state;
    const uint8_t data[] = {0x82, 0x80, 0x02}; /* 32770 -> length 32769 */
    proto_reader_t rd;
    proto_reader_init(&rd, data, sizeof(data));
    (void)proto_rd_compact_string(&rd, 0);
    assert_int_equal(rd.err, PROTO_ECOUNT);
}

static void tag_sections_are_skipped_whole(void **state)
{
    (void)state;
    const uint8_t data[] = {2, 0, 2, 'h', 'i', 7, 1, 'x', 0x42};
    proto_reader_t rd;
    proto_reader_init(&rd, data, sizeof(data));
    proto_rd_skip_tags(&rd);
    assert_int_equal(rd.err, 0);
    assert_int_equal(proto_rd_i8(&rd), 0x42);
    const uint8_t bad[] = {1, 0, 9, 'h'};
    proto_reader_init(&rd, bad, sizeof(bad));
    proto_rd_skip_tags(&rd);
    assert_int_equal(rd.err, PROTO_ESHORT);
}

static void sizing_writer_counts_without_a_buffer(void **state)
{
    (void)state;
    proto_writer_t wr;
    proto_writer_init(&wr, NULL);
    proto_wr_i32(&wr, 1);
    proto_wr_uvarint(&wr, 300);
    proto_wr_compact_string(&wr, proto_str_c("abcd"));
    assert_int_equal(wr.count, 4 + 2 + 1 + 4);
    assert_int_equal(proto_uvarint_size(300), 2);
    assert_int_equal(proto_uvarint_size(0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(primitives_round_trip_through_writer_and_reader),
        cmocka_unit_test(reading_past_the_end_fails_and_the_error_sticks),
        cmocka_unit_test(overlong_varints_are_rejected),
        cmocka_unit_test(string_longer_than_remaining_bytes_is_rejected),
        cmocka_unit_test(negative_lengths_read_as_null),
        cmocka_unit_test(array_count_larger_than_remaining_bytes_is_rejected),
        cmocka_unit_test(compact_string_over_int16_length_is_rejected),
        cmocka_unit_test(tag_sections_are_skipped_whole),
        cmocka_unit_test(sizing_writer_counts_without_a_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
