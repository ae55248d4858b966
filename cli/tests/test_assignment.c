/*
 * The consumer protocol's assignment bytes as DescribeGroups returns them:
 * topics, partitions and user data come back intact; empty bytes are a
 * member with nothing assigned; every truncation and every impossible count
 * is an error, never a read past the end (the input sits in a buffer of
 * exactly its size, so ASan sees any over-read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/assignment.h"
#include "protocol/writer.h"

/* version 1; topics "orders" [0, 2] and "b" []; user data "xy" (or none). */
static size_t build(uint8_t **out, int with_user_data)
{
    buf_t buf;
    buf_init(&buf);
    proto_writer_t wr;
    proto_writer_init(&wr, &buf);
    proto_wr_i16(&wr, 1);
    proto_wr_i32(&wr, 2);
    proto_wr_string(&wr, proto_str_c("orders"));
    proto_wr_i32(&wr, 2);
    proto_wr_i32(&wr, 0);
    proto_wr_i32(&wr, 2);
    proto_wr_string(&wr, proto_str_c("b"));
    proto_wr_i32(&wr, 0);
    if (with_user_data) {
        proto_bytes_t ud = {(const uint8_t *)"xy", 2};
        proto_wr_bytes(&wr, ud);
    }
    assert_int_equal(wr.err, 0);
    *out = malloc(buf.len);
    memcpy(*out, buf.data, buf.len);
    size_t len = buf.len;
    buf_fini(&buf);
    return len;
}

static void assignment_decodes_topics_partitions_and_user_data(void **state)
{
    uint8_t *data;
    size_t len = build(&data, 1);
    arena_t arena;
    arena_init(&arena, 0);
    cli_assignment_t a;
    assert_int_equal(cli_assignment_decode(data, len, &arena, &a), 0);
    assert_int_equal(a.version, 1);
    assert_int_equal(a.ntopics, 2);
    assert_int_equal(a.topics[0].topic.len, 6);
    assert_memory_equal(a.topics[0].topic.ptr, "orders", 6);
    assert_int_equal(a.topics[0].npartitions, 2);
    assert_int_equal(a.topics[0].partitions[0], 0);
    assert_int_equal(a.topics[0].partitions[1], 2);
    assert_int_equal(a.topics[1].npartitions, 0);
    assert_int_equal(a.user_data.len, 2);
    assert_memory_equal(a.user_data.ptr, "xy", 2);
    arena_fini(&arena);
    free(data);
}

static void assignment_of_no_bytes_is_nothing_assigned(void **state)
{
    arena_t arena;
    arena_init(&arena, 0);
    cli_assignment_t a;
    assert_int_equal(cli_assignment_decode(NULL, 0, &arena, &a), 0);
    assert_int_equal(a.ntopics, 0);
    assert_int_equal(a.user_data.len, -1);
    arena_fini(&arena);
}

static void assignment_without_user_data_is_accepted(void **state)
{
    uint8_t *data;
    size_t len = build(&data, 0);
    arena_t arena;
    arena_init(&arena, 0);
    cli_assignment_t a;
    assert_int_equal(cli_assignment_decode(data, len, &arena, &a), 0);
    assert_int_equal(a.ntopics, 2);
    assert_int_equal(a.user_data.len, -1);
    arena_fini(&arena);
    free(data);
}

static void assignment_rejects_every_truncation_inside_a_field(void **state)
{
    uint8_t *full;
    size_t len = build(&full, 1);
    size_t topics_end = len - 6; /* user data: int32 length + 2 bytes */
    for (size_t cut = 1; cut < len; cut++) {
        uint8_t *data = malloc(cut);
        memcpy(data, full, cut);
        arena_t arena;
        arena_init(&arena, 0);
        cli_assignment_t a;
        int rc = cli_assignment_decode(data, cut, &arena, &a);
        if (cut == topics_end)
            assert_int_equal(rc, 0); /* user data absent: allowed */
        else
            assert_int_not_equal(rc, 0);
        arena_fini(&arena);
        free(data);
    }
    free(full);
}

static void assignment_rejects_counts_larger_than_the_bytes(void **state)
{
    /* version 0, 1000000 topics, then nothing */
    static const uint8_t topics[] = {0, 0, 0, 0x0F, 0x42, 0x40};
    /* version 0, one topic "t" claiming 1000 partitions with one given */
    static const uint8_t parts[] = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0x03, 0xE8, 0, 0, 0, 1};
    arena_t arena;
    arena_init(&arena, 0);
    cli_assignment_t a;
    assert_int_equal(cli_assignment_decode(topics, sizeof(topics), &arena, &a), PROTO_ECOUNT);
    assert_int_equal(cli_assignment_decode(parts, sizeof(parts), &arena, &a), PROTO_ECOUNT);
    arena_fini(&arena);
}

static void assignment_rejects_a_negative_version(void **state)
{
    static const uint8_t data[] = {0xFF, 0xFF, 0, 0, 0, 0};
    arena_t arena;
    arena_init(&arena, 0);
    cli_assignment_t a;
    assert_int_not_equal(cli_assignment_decode(data, sizeof(data), &arena, &a), 0);
    arena_fini(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(assignment_decodes_topics_partitions_and_user_data),
        cmocka_unit_test(assignment_of_no_bytes_is_nothing_assigned),
        cmocka_unit_test(assignment_without_user_data_is_accepted),
        cmocka_unit_test(assignment_rejects_every_truncation_inside_a_field),
        cmocka_unit_test(assignment_rejects_counts_larger_than_the_bytes),
        cmocka_unit_test(assignment_rejects_a_negative_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
