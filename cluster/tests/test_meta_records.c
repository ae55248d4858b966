/*
 * cluster/meta_records: topic and partition records round-trip through
 * their etcd JSON; every malformed or inconsistent value is refused (each
 * prefix of a good one, wrong types, out-of-range numbers, an ISR member or
 * leader that is not a replica, duplicates, too many replicas); keys are
 * built and parsed back, illegal topic names refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/meta_records.h"

static void topic_round_trip_and_bad_values(void **state)
{
    (void)state;
    cluster_rec_config_t cfg[] = {{"retention.ms", "1000"}, {"cleanup.policy", "compact"}};
    cluster_rec_topic_t t = {.nparts = 3, .configs = cfg, .nconfigs = 2};
    for (int i = 0; i < 16; i++)
        t.id[i] = (uint8_t)(i * 17);
    char *js = NULL;
    assert_int_equal(cluster_rec_topic_encode(&t, &js), 0);
    cluster_rec_topic_t back;
    assert_int_equal(cluster_rec_topic_decode(js, strlen(js), &back), 0);
    assert_memory_equal(back.id, t.id, 16);
    assert_int_equal(back.nparts, 3);
    assert_int_equal(back.nconfigs, 2);
    int found = 0;
    for (int i = 0; i < back.nconfigs; i++)
        found += strcmp(back.configs[i].key, "retention.ms") == 0 && strcmp(back.configs[i].value, "1000") == 0;
    assert_int_equal(found, 1);
    cluster_rec_topic_fini(&back);
    for (size_t n = 0; n < strlen(js); n++)
        assert_int_equal(cluster_rec_topic_decode(js, n, &back), -EINVAL);
    free(js);

    static const char *bad[] = {
        "[]",
        "{\"id\":\"00\",\"partitions\":1,\"configs\":{}}",
        "{\"id\":\"zz0102030405060708090a0b0c0d0e0f\",\"partitions\":1,\"configs\":{}}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"partitions\":0,\"configs\":{}}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"partitions\":\"1\",\"configs\":{}}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"partitions\":100001,\"configs\":{}}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"partitions\":1,\"configs\":{\"a\":1}}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"partitions\":1,\"configs\":[]}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"partitions\":1,\"partitions\":2,\"configs\":{}}",
        "{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"partitions\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cluster_rec_topic_decode(bad[i], strlen(bad[i]), &back), -EINVAL);
    t.nparts = 0;
    assert_int_equal(cluster_rec_topic_encode(&t, &js), -EINVAL);
}

static void partition_round_trip_and_inconsistent_values(void **state)
{
    (void)state;
    cluster_rec_partition_t p = {.replicas = {1, 2, 3}, .nreplicas = 3, .isr = {1, 3}, .nisr = 2, .leader = 3,
                                 .leader_epoch = 7, .partition_epoch = 12};
    char *js = NULL;
    assert_int_equal(cluster_rec_partition_encode(&p, &js), 0);
    cluster_rec_partition_t back;
    assert_int_equal(cluster_rec_partition_decode(js, strlen(js), &back), 0);
    assert_int_equal(back.nreplicas, 3);
    assert_int_equal(back.replicas[2], 3);
    assert_int_equal(back.nisr, 2);
    assert_int_equal(back.isr[1], 3);
    assert_int_equal(back.leader, 3);
    assert_int_equal(back.leader_epoch, 7);
    assert_int_equal(back.partition_epoch, 12);
    for (size_t n = 0; n < strlen(js); n++)
        assert_int_equal(cluster_rec_partition_decode(js, n, &back), -EINVAL);
    free(js);

    static const char *bad[] = {
        /* leader not in the ISR */
        "{\"replicas\":[1,2],\"isr\":[1],\"leader\":2,\"leader_epoch\":0,\"partition_epoch\":0}",
        /* ISR member not a replica */
        "{\"replicas\":[1,2],\"isr\":[1,5],\"leader\":1,\"leader_epoch\":0,\"partition_epoch\":0}",
        /* duplicate replica, duplicate ISR member */
        "{\"replicas\":[1,1],\"isr\":[1],\"leader\":1,\"leader_epoch\":0,\"partition_epoch\":0}",
        "{\"replicas\":[1,2],\"isr\":[1,1],\"leader\":1,\"leader_epoch\":0,\"partition_epoch\":0}",
        /* no replicas, too many, negative ids */
        "{\"replicas\":[],\"isr\":[],\"leader\":-1,\"leader_epoch\":0,\"partition_epoch\":0}",
        "{\"replicas\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],\"isr\":[1],\"leader\":1,\"leader_epoch\":0,"
        "\"partition_epoch\":0}",
        "{\"replicas\":[-3],\"isr\":[],\"leader\":-1,\"leader_epoch\":0,\"partition_epoch\":0}",
        /* numbers out of range or of the wrong type */
        "{\"replicas\":[1],\"isr\":[1],\"leader\":1,\"leader_epoch\":-1,\"partition_epoch\":0}",
        "{\"replicas\":[1],\"isr\":[1],\"leader\":1,\"leader_epoch\":2147483648,\"partition_epoch\":0}",
        "{\"replicas\":[1],\"isr\":[1],\"leader\":\"1\",\"leader_epoch\":0,\"partition_epoch\":0}",
        "{\"replicas\":[1.5],\"isr\":[],\"leader\":-1,\"leader_epoch\":0,\"partition_epoch\":0}",
        "{\"replicas\":[1],\"isr\":[1],\"leader\":1,\"leader_epoch\":0}",
        "null",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cluster_rec_partition_decode(bad[i], strlen(bad[i]), &back), -EINVAL);
    /* An offline partition (no leader, empty ISR) is a valid record. */
    const char *offline = "{\"replicas\":[4],\"isr\":[],\"leader\":-1,\"leader_epoch\":3,\"partition_epoch\":9}";
    assert_int_equal(cluster_rec_partition_decode(offline, strlen(offline), &back), 0);
    assert_int_equal(back.leader, -1);
    p.leader = 2; /* not in the ISR */
    assert_int_equal(cluster_rec_partition_encode(&p, &js), -EINVAL);
}

static void keys_are_built_and_parsed_back(void **state)
{
    (void)state;
    char key[512], name[256];
    assert_int_equal(cluster_rec_topic_key("/eddy", "orders", key, sizeof(key)), 0);
    assert_string_equal(key, "/eddy/topics/orders");
    assert_int_equal(cluster_rec_topic_name("/eddy", key, strlen(key), name, sizeof(name)), 0);
    assert_string_equal(name, "orders");
    assert_int_equal(cluster_rec_partition_key("/eddy", "orders", 12, key, sizeof(key)), 0);
    assert_string_equal(key, "/eddy/partitions/orders/12");
    assert_int_equal(cluster_rec_partitions_prefix("/eddy", "orders", key, sizeof(key)), 0);
    assert_string_equal(key, "/eddy/partitions/orders/");
    static const char *bad[] = {"/eddy/topics/", "/eddy/topics/a/b", "/eddy/topics/..", "/other/topics/x",
                                "/eddy/topics/sp ace"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cluster_rec_topic_name("/eddy", bad[i], strlen(bad[i]), name, sizeof(name)), -EINVAL);
    char small[8];
    assert_int_equal(cluster_rec_topic_key("/eddy", "orders", small, sizeof(small)), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topic_round_trip_and_bad_values),
        cmocka_unit_test(partition_round_trip_and_inconsistent_values),
        cmocka_unit_test(keys_are_built_and_parsed_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
