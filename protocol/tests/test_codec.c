/*
 * The message codec against every API, version and direction we describe:
 * randomly filled messages survive encode -> decode -> encode unchanged,
 * unknown tagged fields are skipped, and every truncation of a valid
 * message fails cleanly without reading past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/codec.h"
#include "protocol/gen/messages.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static bool present(const proto_field_t *f, int16_t v)
{
    return v >= f->ver_min && v <= f->ver_max;
}
static bool nullable(const proto_field_t *f, int16_t v)
{
    return f->null_min >= 0 && v >= f->null_min && v <= f->null_max;
}

static void fill_struct(const proto_struct_desc_t *desc, int16_t v, arena_t *arena, void *out, int depth);

static void fill_value(const proto_field_t *f, int16_t v, arena_t *arena, void *p, int depth)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: *(bool *)p = rnd() & 1; break;
    case PROTO_T_INT8: *(int8_t *)p = (int8_t)rnd(); break;
    case PROTO_T_INT16: *(int16_t *)p = (int16_t)rnd(); break;
    case PROTO_T_INT32: *(int32_t *)p = (int32_t)rnd(); break;
    case PROTO_T_INT64: *(int64_t *)p = (int64_t)rnd(); break;
    case PROTO_T_UINT16: *(uint16_t *)p = (uint16_t)rnd(); break;
    case PROTO_T_FLOAT64: *(double *)p = (double)(rnd() % 100000) / 7.0; break;
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: {
        proto_bytes_t *b = p;
        if (nullable(f, v) && rnd() % 4 == 0) {
            *b = (proto_bytes_t){NULL, -1};
            break;
        }
        int32_t n = (int32_t)(rnd() % 12);
        uint8_t *d = arena_alloc(arena, (size_t)n + 1);
        for (int32_t i = 0; i < n; i++)
            d[i] = (uint8_t)('a' + rnd() % 26);
        *b = (proto_bytes_t){d, n};
        break;
    }
    case PROTO_T_UUID:
        for (int i = 0; i < 16; i++)
            ((proto_uuid_t *)p)->b[i] = (uint8_t)rnd();
        break;
    case PROTO_T_STRUCT: fill_struct(f->sub, v, arena, p, depth + 1); break;
    }
}

static void fill_struct(const proto_struct_desc_t *desc, int16_t v, arena_t *arena, void *out, int depth)
{
    proto_msg_init(desc, v, out);
    for (uint32_t i = 0; i < desc->nfields; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (!present(f, v))
            continue;
        /* Tagged fields are left at their default now and then, so both shapes are covered. */
        if (f->tag >= 0 && rnd() % 3 == 0)
            continue;
        void *p = (char *)out + f->offset;
        if (!f->is_array) {
            fill_value(f, v, arena, p, depth);
            continue;
        }
        proto_array_t *a = p;
        if (nullable(f, v) && rnd() % 4 == 0) {
            a->n = -1;
            a->items = NULL;
            continue;
        }
        a->n = depth > 3 ? 0 : (int32_t)(rnd() % 4);
        a->items = a->n ? arena_alloc(arena, (size_t)a->n * f->elem_size) : NULL;
        for (int32_t k = 0; k < a->n; k++)
            fill_value(f, v, arena, (char *)a->items + (size_t)k * f->elem_size, depth);
    }
}

static void encode(const proto_struct_desc_t *desc, int16_t v, bool flex, const void *msg, buf_t *out, int inject)
{
    proto_writer_t wr;
    out->len = 0;
    proto_writer_init(&wr, out);
    wr.inject_unknown_tags = inject;
    assert_int_equal(proto_msg_encode(desc, &wr, v, flex, msg), 0);
}

static bool same_bytes(const buf_t *x, const buf_t *y)
{
    return x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
}

static void roundtrip_one(const proto_api_desc_t *api, const proto_struct_desc_t *desc, int16_t v)
{
    bool flex = proto_api_flexible(api, v);
    arena_t arena;
    arena_init(&arena, 0);
    buf_t a, b, c;
    buf_init(&a);
    buf_init(&b);
    buf_init(&c);
    for (int iter = 0; iter < 20; iter++) {
        void *msg = arena_alloc(&arena, desc->size);
        fill_struct(desc, v, &arena, msg, 0);
        encode(desc, v, flex, msg, &a, 0);

        /* decode(encode(x)) encodes to the same bytes */
        void *back = arena_alloc(&arena, desc->size);
        proto_reader_t rd;
        proto_reader_init(&rd, a.data, a.len);
        if (proto_msg_decode(desc, &rd, v, flex, &arena, back) != 0)
            fail_msg("%s %s v%d: decode failed at reader line %d", api->name, desc->name, v, rd.line);
        assert_int_equal(proto_rd_remaining(&rd), 0);
        encode(desc, v, flex, back, &b, 0);
        if (!same_bytes(&a, &b))
            fail_msg("%s %s v%d: re-encoding differs", api->name, desc->name, v);

        /* unknown tags (flexible versions) are skipped on decode */
        if (flex) {
            encode(desc, v, flex, msg, &c, 1);
            assert_true(c.len > a.len);
            proto_reader_init(&rd, c.data, c.len);
            if (proto_msg_decode(desc, &rd, v, flex, &arena, back) != 0)
                fail_msg("%s %s v%d: decode with unknown tags failed (line %d)", api->name, desc->name, v, rd.line);
            assert_int_equal(proto_rd_remaining(&rd), 0);
            encode(desc, v, flex, back, &b, 0);
            if (!same_bytes(&a, &b))
                fail_msg("%s %s v%d: unknown tags changed the message", api->name, desc->name, v);
        }

        /* every strict prefix fails, reading nothing past its end (ASan checks the exact-size copy) */
        for (size_t cut = 0; cut < a.len; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            if (cut)
                memcpy(copy, a.data, cut);
            proto_reader_init(&rd, copy, cut);
            int rc = proto_msg_decode(desc, &rd, v, flex, &arena, back);
            free(copy);
            if (rc == 0)
                fail_msg("%s %s v%d: a %zu-byte prefix of %zu decoded", api->name, desc->name, v, cut, a.len);
        }
        arena_reset(&arena);
    }
    buf_fini(&a);
    buf_fini(&b);
    buf_fini(&c);
    arena_fini(&arena);
}

static void every_api_version_and_direction_round_trips(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t i = 0; i < proto_api_table_len; i++) {
        const proto_api_desc_t *api = &proto_api_table[i];
        for (int16_t v = api->min_version; v <= api->max_version; v++) {
            roundtrip_one(api, api->request, v);
            roundtrip_one(api, api->response, v);
            checked += 2;
        }
    }
    assert_true(checked >= 2 * 60);
}

static void defaults_apply_to_fields_absent_from_a_version(void **state)
{
    (void)state;
    /* Fetch v4 has no log_start_offset in the answer: decoding keeps the schema default of -1. */
    proto_fetch_resp_partition_t part;
    proto_msg_init(&proto_fetch_resp_partition_desc, 4, &part);
    assert_int_equal(part.log_start_offset, -1);
    assert_int_equal(part.preferred_read_replica, -1);
    assert_int_equal(part.records.len, 0); /* records have no null default */
}

static void array_count_beyond_remaining_bytes_is_rejected_before_allocating(void **state)
{
    (void)state;
    /* Metadata v1 request: topics array claiming 2^31-1 entries in a 4-byte body. */
    const uint8_t body[] = {0x7f, 0xff, 0xff, 0xff};
    arena_t arena;
    arena_init(&arena, 1024); /* an allocation of the claimed size would fail with ENOMEM instead */
    proto_metadata_req_t req;
    proto_reader_t rd;
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_not_equal(proto_msg_decode(&proto_metadata_req_desc, &rd, 1, false, &arena, &req), 0);
    assert_int_equal(rd.err, PROTO_ECOUNT);
    arena_fini(&arena);
}

static void null_array_where_not_nullable_is_rejected(void **state)
{
    (void)state;
    /* Metadata v0 topics are not nullable. */
    const uint8_t body[] = {0xff, 0xff, 0xff, 0xff};
    arena_t arena;
    arena_init(&arena, 0);
    proto_metadata_req_t req;
    proto_reader_t rd;
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_not_equal(proto_msg_decode(&proto_metadata_req_desc, &rd, 0, false, &arena, &req), 0);
    /* ... while v1 allows null (all topics) */
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_equal(proto_msg_decode(&proto_metadata_req_desc, &rd, 1, false, &arena, &req), 0);
    assert_int_equal(req.topics.n, -1);
    arena_fini(&arena);
}

/* Kafka's readers take tagged fields in any order: so do we. */
static void out_of_order_tags_are_read_as_kafka_reads_them(void **state)
{
    (void)state;
    /* ApiVersions v3 response with tags 1 then 0. */
    const uint8_t body[] = {0, 0,       /* error */
                            1,          /* api_keys: empty compact array */
                            0, 0, 0, 0, /* throttle */
                            2,          /* two tags */
                            1, 8, 0, 0, 0, 0, 0, 0, 0, 7, /* tag 1: finalized_features_epoch = 7 */
                            0, 1, 1 /* tag 0: supported_features, empty */};
    arena_t arena;
    arena_init(&arena, 0);
    proto_api_versions_resp_t resp;
    proto_reader_t rd;
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_equal(proto_msg_decode(&proto_api_versions_resp_desc, &rd, 3, true, &arena, &resp), 0);
    assert_int_equal(resp.finalized_features_epoch, 7);
    assert_int_equal(resp.supported_features.n, 0);
    assert_int_equal(proto_rd_remaining(&rd), 0);
    arena_fini(&arena);
}

/* A known tag's value is read from the stream; its size is not consulted (as in Kafka's readers). */
static void known_tag_values_are_read_whatever_their_size_says(void **state)
{
    (void)state;
    const uint8_t body[] = {0, 0, 1, 0, 0, 0, 0, /* error, api_keys, throttle */
                            1,                   /* one tag */
                            1, 0, 0, 0, 0, 0, 0, 0, 0, 9 /* tag 1 claiming size 0, then its 8 bytes */};
    arena_t arena;
    arena_init(&arena, 0);
    proto_api_versions_resp_t resp;
    proto_reader_t rd;
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_equal(proto_msg_decode(&proto_api_versions_resp_desc, &rd, 3, true, &arena, &resp), 0);
    assert_int_equal(resp.finalized_features_epoch, 9);
    arena_fini(&arena);
}

/* A tag the schema defines from a later version is an error, as Kafka throws "Tag N is not valid for version". */
static void a_known_tag_before_its_version_is_rejected(void **state)
{
    (void)state;
    /* Produce v9 response: one topic, one partition, and tag 0 (current_leader, v10+) on the partition. */
    const uint8_t body[] = {2, 2, 't',      /* responses: 1 topic "t" */
                            2, 0, 0, 0, 0,  /* partitions: 1, index 0 */
                            0, 0,           /* error */
                            0, 0, 0, 0, 0, 0, 0, 0,   /* base_offset */
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log_append_time */
                            0, 0, 0, 0, 0, 0, 0, 0,   /* log_start_offset */
                            1,              /* record_errors: empty */
                            0,              /* error_message: null */
                            1, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0, /* tag 0: leader 1, epoch 1 */
                            0,              /* topic tags */
                            0, 0, 0, 0,     /* throttle */
                            0};
    arena_t arena;
    arena_init(&arena, 0);
    proto_produce_resp_t resp;
    proto_reader_t rd;
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_not_equal(proto_msg_decode(&proto_produce_resp_desc, &rd, 9, true, &arena, &resp), 0);
    /* ... and at v10 the same bytes are a current_leader. */
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_equal(proto_msg_decode(&proto_produce_resp_desc, &rd, 10, true, &arena, &resp), 0);
    proto_produce_resp_topic_t *t = resp.responses.items;
    proto_produce_resp_partition_t *p = t->partition_responses.items;
    assert_int_equal(p->current_leader.leader_id, 1);
    assert_int_equal(p->current_leader.leader_epoch, 1);
    arena_fini(&arena);
}

/*
 * librdkafka 2.15's all-topics Metadata v12 request: Kafka reads null topics
 * (all of them), allow_auto_topic_creation false, include_topic_authorized_operations
 * false, no tags, and leaves three bytes, which it ignores.
 */
static void librdkafka_2_15_metadata_v12_reads_as_all_topics_with_bytes_left(void **state)
{
    (void)state;
    const uint8_t body[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
    arena_t arena;
    arena_init(&arena, 0);
    proto_metadata_req_t req;
    proto_reader_t rd;
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_equal(proto_msg_decode(&proto_metadata_req_desc, &rd, 12, true, &arena, &req), 0);
    assert_int_equal(req.topics.n, -1);
    assert_false(req.allow_auto_topic_creation);
    assert_false(req.include_topic_authorized_operations);
    assert_int_equal(proto_rd_remaining(&rd), 3);
    arena_fini(&arena);
}

/* Kafka reads a boolean as "byte != 0". */
static void any_nonzero_byte_is_a_true_boolean(void **state)
{
    (void)state;
    /* Metadata v9: no topics, allow_auto_topic_creation 0x07, include_cluster 0x80, include_topic 0x02, no tags */
    const uint8_t body[] = {0x01, 0x07, 0x80, 0x02, 0x00};
    arena_t arena;
    arena_init(&arena, 0);
    proto_metadata_req_t req;
    proto_reader_t rd;
    proto_reader_init(&rd, body, sizeof(body));
    assert_int_equal(proto_msg_decode(&proto_metadata_req_desc, &rd, 9, true, &arena, &req), 0);
    assert_true(req.allow_auto_topic_creation);
    assert_true(req.include_cluster_authorized_operations);
    assert_true(req.include_topic_authorized_operations);
    assert_int_equal(proto_rd_remaining(&rd), 0);
    arena_fini(&arena);
}

static void every_advertised_api_has_a_description(void **state)
{
    (void)state;
    assert_non_null(proto_api_find(PROTO_API_API_VERSIONS));
    assert_null(proto_api_find(9999));
    for (size_t i = 0; i < proto_api_table_len; i++) {
        const proto_api_desc_t *api = &proto_api_table[i];
        assert_true(api->adv_min_version <= api->min_version);
        assert_true(api->min_version <= api->max_version);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_api_version_and_direction_round_trips),
        cmocka_unit_test(defaults_apply_to_fields_absent_from_a_version),
        cmocka_unit_test(array_count_beyond_remaining_bytes_is_rejected_before_allocating),
        cmocka_unit_test(null_array_where_not_nullable_is_rejected),
        cmocka_unit_test(out_of_order_tags_are_read_as_kafka_reads_them),
        cmocka_unit_test(known_tag_values_are_read_whatever_their_size_says),
        cmocka_unit_test(a_known_tag_before_its_version_is_rejected),
        cmocka_unit_test(librdkafka_2_15_metadata_v12_reads_as_all_topics_with_bytes_left),
        cmocka_unit_test(any_nonzero_byte_is_a_true_boolean),
        cmocka_unit_test(every_advertised_api_has_a_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
