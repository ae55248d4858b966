/*
 * broker/api_floor: under kafka-3.9 every API is served and advertised
 * from its schema's lowest version; under kafka-4.0 from Kafka 4.0's
 * minimums (KIP-896), with Produce still advertised from its schema's
 * floor; and eddy.min.api.versions parses only the two policy names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "broker/broker.h"

static int16_t served(int16_t key, int policy)
{
    return broker_api_min_served(proto_api_find(key), policy);
}

static int16_t advertised(int16_t key, int policy)
{
    return broker_api_min_advertised(proto_api_find(key), policy);
}

static void kafka_3_9_serves_every_schema_version_and_advertises_what_it_serves(void **state)
{
    (void)state;
    for (size_t i = 0; i < broker_apis_len; i++) {
        const proto_api_desc_t *api = proto_api_find(broker_apis[i].key);
        assert_non_null(api);
        assert_int_equal(broker_api_min_served(api, BROKER_API_FLOOR_KAFKA_3_9), api->min_version);
        /* Only a schema's own "advertise N" (Produce, for librdkafka's probes) lists less than is served. */
        assert_int_equal(broker_api_min_advertised(api, BROKER_API_FLOOR_KAFKA_3_9), api->adv_min_version);
        if (api->key != PROTO_API_PRODUCE)
            assert_int_equal(api->adv_min_version, api->min_version);
    }
    /* The old versions Kafka 3.9 still serves and clients still send. */
    assert_int_equal(served(PROTO_API_OFFSET_COMMIT, BROKER_API_FLOOR_KAFKA_3_9), 0);
    assert_int_equal(served(PROTO_API_OFFSET_FETCH, BROKER_API_FLOOR_KAFKA_3_9), 0);
    assert_int_equal(served(PROTO_API_CREATE_TOPICS, BROKER_API_FLOOR_KAFKA_3_9), 0);
    assert_int_equal(served(PROTO_API_DELETE_TOPICS, BROKER_API_FLOOR_KAFKA_3_9), 0);
    assert_int_equal(served(PROTO_API_DESCRIBE_CONFIGS, BROKER_API_FLOOR_KAFKA_3_9), 0);
    assert_int_equal(proto_api_find(PROTO_API_ADD_OFFSETS_TO_TXN)->max_version, 4);
    assert_int_equal(proto_api_find(PROTO_API_TXN_OFFSET_COMMIT)->max_version, 4);
    assert_int_equal(proto_api_find(PROTO_API_ADD_PARTITIONS_TO_TXN)->max_version, 5);
}

static void kafka_4_0_raises_the_kip_896_minimums(void **state)
{
    (void)state;
    const int p = BROKER_API_FLOOR_KAFKA_4_0;
    static const struct {
        int16_t key, min;
    } want[] = {
        {PROTO_API_PRODUCE, 3},
        {PROTO_API_FETCH, 4},
        {PROTO_API_LIST_OFFSETS, 1},
        {PROTO_API_OFFSET_COMMIT, 2},
        {PROTO_API_OFFSET_FETCH, 1},
        {PROTO_API_CREATE_TOPICS, 2},
        {PROTO_API_DELETE_TOPICS, 1},
        {PROTO_API_DESCRIBE_CONFIGS, 1},
        {PROTO_API_DESCRIBE_LOG_DIRS, 1},
        {PROTO_API_OFFSET_FOR_LEADER_EPOCH, 2},
        /* Kept at 0 by Kafka 4.0 (JoinGroup again from 4.0.1). */
        {PROTO_API_METADATA, 0},
        {PROTO_API_FIND_COORDINATOR, 0},
        {PROTO_API_JOIN_GROUP, 0},
        {PROTO_API_DELETE_GROUPS, 0},
        {PROTO_API_API_VERSIONS, 0},
        {PROTO_API_HEARTBEAT, 0},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const proto_api_desc_t *api = proto_api_find(want[i].key);
        int16_t expect = want[i].min > api->min_version ? want[i].min : api->min_version;
        assert_int_equal(broker_api_min_served(api, p), expect);
        if (want[i].key != PROTO_API_PRODUCE)
            assert_int_equal(broker_api_min_advertised(api, p), expect);
    }
    /* KAFKA-18659: Produce stays listed from the schema's floor although v0-2 close the connection. */
    assert_int_equal(advertised(PROTO_API_PRODUCE, p), proto_api_find(PROTO_API_PRODUCE)->adv_min_version);
    assert_int_equal(advertised(PROTO_API_PRODUCE, p), 0);
    /* A floor never goes above the maximum, and no API loses its newest version. */
    for (size_t i = 0; i < broker_apis_len; i++) {
        const proto_api_desc_t *api = proto_api_find(broker_apis[i].key);
        assert_true(broker_api_min_served(api, p) <= api->max_version);
        assert_true(broker_api_min_served(api, p) >= broker_api_min_served(api, BROKER_API_FLOOR_KAFKA_3_9));
    }
}

static void the_property_takes_only_the_two_policy_names(void **state)
{
    (void)state;
    assert_int_equal(broker_api_floor_parse("kafka-3.9"), BROKER_API_FLOOR_KAFKA_3_9);
    assert_int_equal(broker_api_floor_parse("kafka-4.0"), BROKER_API_FLOOR_KAFKA_4_0);
    assert_int_equal(broker_api_floor_parse("4.0"), -1);
    assert_int_equal(broker_api_floor_parse(""), -1);
    assert_int_equal(broker_api_floor_parse(NULL), -1);

    broker_config_t cfg;
    char err[256];
    broker_config_defaults(&cfg);
    assert_int_equal(broker_config_finish(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.api_floor, BROKER_API_FLOOR_KAFKA_3_9);
    assert_int_equal(broker_config_set(&cfg, "eddy.min.api.versions", "kafka-4.0", err, sizeof(err)), 0);
    assert_int_equal(broker_config_finish(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.api_floor, BROKER_API_FLOOR_KAFKA_4_0);
    /* The config table refuses other values when they are set. */
    assert_int_not_equal(broker_config_set(&cfg, "eddy.min.api.versions", "kafka-2.1", err, sizeof(err)), 0);
    assert_non_null(strstr(err, "eddy.min.api.versions"));
    assert_int_equal(cfg.api_floor, BROKER_API_FLOOR_KAFKA_4_0);
    broker_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kafka_3_9_serves_every_schema_version_and_advertises_what_it_serves),
        cmocka_unit_test(kafka_4_0_raises_the_kip_896_minimums),
        cmocka_unit_test(the_property_takes_only_the_two_policy_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
