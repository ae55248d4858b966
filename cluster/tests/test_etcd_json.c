/* Replies of etcd's JSON gateway, good and bad, through cluster/etcd_json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/etcd_json.h"

static void b64_round_trips_every_length(void **state)
{
    const char src[] = "\x00\xff"
                       "abcdefg";
    for (size_t len = 0; len <= 9; len++) {
        char *enc, *dec;
        size_t dlen;
        assert_int_equal(etcd_b64_encode(src, len, &enc), 0);
        assert_int_equal(strlen(enc) % 4, 0);
        assert_int_equal(etcd_b64_decode(enc, strlen(enc), &dec, &dlen), 0);
        assert_int_equal(dlen, len);
        assert_memory_equal(dec, src, len);
        free(enc);
        free(dec);
    }
}

static void b64_rejects_bad_input(void **state)
{
    const char *bad[] = {"YQ=", "Y===", "YQ=a", "Y!==", "=YQ=", "YQ==YQ=="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *dec = NULL;
        size_t dlen;
        assert_int_equal(etcd_b64_decode(bad[i], strlen(bad[i]), &dec, &dlen), ETCD_EMALFORMED);
        assert_null(dec);
    }
}

static const char range_reply[] =
    "{\"header\":{\"cluster_id\":\"3249\",\"revision\":\"7\"},"
    "\"kvs\":[{\"key\":\"YQ==\",\"create_revision\":\"2\",\"mod_revision\":\"5\",\"version\":\"3\",\"value\":\"Yg==\"},"
    "{\"key\":\"YWI=\",\"create_revision\":\"6\",\"mod_revision\":\"6\",\"version\":\"1\",\"lease\":\"99\"}],"
    "\"count\":\"2\"}";

static void range_reply_is_parsed(void **state)
{
    etcd_range_t rng;
    assert_int_equal(etcd_json_parse_range(range_reply, strlen(range_reply), &rng), 0);
    assert_int_equal(rng.revision, 7);
    assert_int_equal(rng.count, 2);
    assert_int_equal(rng.n_kvs, 2);
    assert_memory_equal(rng.kvs[0].key, "a", 1);
    assert_int_equal(rng.kvs[0].key_len, 1);
    assert_memory_equal(rng.kvs[0].value, "b", 1);
    assert_int_equal(rng.kvs[0].create_revision, 2);
    assert_int_equal(rng.kvs[0].mod_revision, 5);
    assert_int_equal(rng.kvs[0].version, 3);
    assert_int_equal(rng.kvs[1].key_len, 2);
    assert_int_equal(rng.kvs[1].value_len, 0); /* absent value: empty */
    assert_int_equal(rng.kvs[1].lease, 99);
    etcd_range_fini(&rng);
}

static void empty_range_has_zero_count(void **state)
{
    const char body[] = "{\"header\":{\"revision\":\"2\"}}";
    etcd_range_t rng;
    assert_int_equal(etcd_json_parse_range(body, strlen(body), &rng), 0);
    assert_int_equal(rng.n_kvs, 0);
    assert_int_equal(rng.count, 0);
    assert_int_equal(rng.revision, 2);
    etcd_range_fini(&rng);
}

/* Every prefix of a good reply is truncated JSON: an error, no leak. */
static void truncated_range_reply_is_malformed(void **state)
{
    for (size_t len = 0; len < strlen(range_reply); len++) {
        etcd_range_t rng;
        assert_int_equal(etcd_json_parse_range(range_reply, len, &rng), ETCD_EMALFORMED);
        assert_int_equal(rng.n_kvs, 0);
        assert_null(rng.kvs);
    }
}

static void wrong_shapes_are_malformed(void **state)
{
    const char *bad[] = {
        "garbage",
        "[]",
        "42",
        "{}",
        "{\"header\":7}",
        "{\"header\":{},\"kvs\":{}}",
        "{\"header\":{\"revision\":\"x\"}}",
        "{\"header\":{},\"kvs\":[7]}",
        "{\"header\":{},\"kvs\":[{\"key\":\"!!!!\"}]}",
        "{\"header\":{},\"kvs\":[{\"key\":\"YQ==\",\"version\":true}]}",
        "{\"header\":{},\"header\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        etcd_range_t rng;
        assert_int_equal(etcd_json_parse_range(bad[i], strlen(bad[i]), &rng), ETCD_EMALFORMED);
    }
}

static void error_bodies_are_classified(void **state)
{
    const char lease[] = "{\"error\":\"etcdserver: requested lease not found\",\"message\":\"x\",\"code\":5}";
    const char other[] = "{\"error\":\"etcdserver: too many requests\",\"code\":14}";
    assert_int_equal(etcd_json_parse_error(lease, strlen(lease)), ETCD_ELEASE);
    assert_int_equal(etcd_json_parse_error(other, strlen(other)), ETCD_ESERVER);
    assert_int_equal(etcd_json_parse_error("Not Found", 9), ETCD_EMALFORMED);
    assert_string_equal(etcd_strerror(ETCD_ECOMPARE), "compare failed");
}

/* A txn reply with all three kinds; every prefix of it and wrong shapes are errors. */
static void txn_reply_is_parsed_and_prefixes_are_malformed(void **state)
{
    const char *good = "{\"header\":{\"revision\":\"9\"},\"succeeded\":true,\"responses\":["
                       "{\"response_put\":{\"header\":{\"revision\":\"9\"}}},"
                       "{\"response_delete_range\":{\"header\":{},\"deleted\":\"2\"}},"
                       "{\"response_range\":{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"Yg==\","
                       "\"mod_revision\":\"9\"}],\"count\":\"1\"}}]}";
    etcd_txn_result_t res;
    assert_int_equal(etcd_json_parse_txn(good, strlen(good), &res), 0);
    assert_true(res.succeeded);
    assert_int_equal(res.revision, 9);
    assert_int_equal(res.n_ops, 3);
    assert_int_equal(res.ops[0].kind, ETCD_OP_PUT);
    assert_int_equal(res.ops[1].kind, ETCD_OP_DELETE);
    assert_int_equal(res.ops[1].deleted, 2);
    assert_int_equal(res.ops[2].kind, ETCD_OP_RANGE);
    assert_int_equal(res.ops[2].range.n_kvs, 1);
    assert_int_equal(res.ops[2].range.revision, 9);
    assert_memory_equal(res.ops[2].range.kvs[0].value, "b", 1);
    etcd_json_txn_fini(&res);
    for (size_t len = 0; len < strlen(good); len++) {
        assert_int_equal(etcd_json_parse_txn(good, len, &res), ETCD_EMALFORMED);
        etcd_json_txn_fini(&res);
    }
    const char *bad[] = {
        "{\"succeeded\":true}",                                                        /* no header */
        "{\"header\":{},\"succeeded\":\"yes\"}",                                       /* not a bool */
        "{\"header\":{},\"responses\":{}}",                                            /* not an array */
        "{\"header\":{},\"responses\":[{\"response_watch\":{}}]}",                     /* unknown kind */
        "{\"header\":{},\"responses\":[{\"response_put\":{},\"response_range\":{}}]}", /* two kinds */
        "{\"header\":{},\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"!\"}]}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(etcd_json_parse_txn(bad[i], strlen(bad[i]), &res), ETCD_EMALFORMED);
        etcd_json_txn_fini(&res);
    }
}

/* Watch stream objects: events with and without "type", errors, bad shapes. */
static void watch_objects_are_parsed_or_malformed(void **state)
{
    const char *good = "{\"result\":{\"header\":{\"revision\":\"8\"},\"events\":["
                       "{\"kv\":{\"key\":\"YQ==\",\"value\":\"Yg==\",\"mod_revision\":\"7\",\"version\":\"1\"}},"
                       "{\"type\":\"DELETE\",\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"8\"}}]}}";
    etcd_watch_msg_t msg;
    assert_int_equal(etcd_json_parse_watch(good, strlen(good), &msg), 0);
    assert_int_equal(msg.revision, 8);
    assert_int_equal(msg.n_events, 2);
    assert_int_equal(msg.events[0].type, ETCD_EVENT_PUT);
    assert_memory_equal(msg.events[0].kv.value, "b", 1);
    assert_int_equal(msg.events[1].type, ETCD_EVENT_DELETE);
    assert_int_equal(msg.events[1].kv.mod_revision, 8);
    etcd_json_watch_fini(&msg);
    for (size_t len = 0; len < strlen(good); len++) {
        assert_int_equal(etcd_json_parse_watch(good, len, &msg), ETCD_EMALFORMED);
        etcd_json_watch_fini(&msg);
    }
    const char *compacted = "{\"result\":{\"header\":{},\"canceled\":true,\"compact_revision\":\"3\"}}";
    assert_int_equal(etcd_json_parse_watch(compacted, strlen(compacted), &msg), 0);
    assert_true(msg.canceled);
    assert_int_equal(msg.compact_revision, 3);
    etcd_json_watch_fini(&msg);
    const char *err = "{\"error\":{\"grpc_code\":14,\"message\":\"transport is closing\"}}";
    assert_int_equal(etcd_json_parse_watch(err, strlen(err), &msg), ETCD_ESERVER);
    const char *bad[] = {
        "{\"result\":{}}",                                                       /* no header */
        "{\"result\":{\"header\":{},\"created\":\"yes\"}}",                      /* not a bool */
        "{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}", /* no revision */
        "{\"result\":{\"header\":{},\"events\":[{\"type\":2,\"kv\":{\"mod_revision\":\"1\"}}]}}",
        "{\"result\":{\"header\":{},\"events\":[{\"type\":\"PUT\"}]}}", /* no kv */
        "[1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(etcd_json_parse_watch(bad[i], strlen(bad[i]), &msg), ETCD_EMALFORMED);
        etcd_json_watch_fini(&msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64_round_trips_every_length),
        cmocka_unit_test(b64_rejects_bad_input),
        cmocka_unit_test(range_reply_is_parsed),
        cmocka_unit_test(empty_range_has_zero_count),
        cmocka_unit_test(truncated_range_reply_is_malformed),
        cmocka_unit_test(wrong_shapes_are_malformed),
        cmocka_unit_test(error_bodies_are_classified),
        cmocka_unit_test(txn_reply_is_parsed_and_prefixes_are_malformed),
        cmocka_unit_test(watch_objects_are_parsed_or_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
