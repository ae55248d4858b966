/*
 * Topic and broker config registry: validators, how defaults resolve
 * through the layers (topic override, dynamic per-broker, dynamic default,
 * static, built-in), the order synonyms are listed in, and list operations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/topic_configs.h"
#include "broker/topics.h"
#include "protocol/kafka_errors.h"
#include "protocol/record_batch.h"

static int16_t check(const char *name, const char *value)
{
    char err[256];
    return broker_tcfg_validate(name, value, err, sizeof(err));
}

static void validators_check_type_range_and_allowed_values(void **state)
{
    (void)state;
    assert_int_equal(check("retention.ms", "1000"), KERR_NONE);
    assert_int_equal(check("retention.ms", "-1"), KERR_NONE);
    assert_int_equal(check("retention.ms", "-2"), KERR_INVALID_CONFIG);
    assert_int_equal(check("retention.ms", "12abc"), KERR_INVALID_CONFIG);
    assert_int_equal(check("retention.ms", ""), KERR_INVALID_CONFIG);
    assert_int_equal(check("retention.ms", "99999999999999999999"), KERR_INVALID_CONFIG);
    assert_int_equal(check("max.message.bytes", "2147483648"), KERR_INVALID_CONFIG);
    assert_int_equal(check("max.message.bytes", "0"), KERR_NONE);
    assert_int_equal(check("segment.bytes", "13"), KERR_INVALID_CONFIG);
    assert_int_equal(check("segment.bytes", "1024"), KERR_NONE);
    assert_int_equal(check("min.insync.replicas", "0"), KERR_INVALID_CONFIG);
    assert_int_equal(check("preallocate", "TRUE"), KERR_NONE);
    assert_int_equal(check("preallocate", "yes"), KERR_INVALID_CONFIG);
    assert_int_equal(check("min.cleanable.dirty.ratio", "0.25"), KERR_NONE);
    assert_int_equal(check("min.cleanable.dirty.ratio", "1.5"), KERR_INVALID_CONFIG);
    assert_int_equal(check("min.cleanable.dirty.ratio", "nan"), KERR_INVALID_CONFIG);
    assert_int_equal(check("compression.type", "zstd"), KERR_NONE);
    assert_int_equal(check("compression.type", "brotli"), KERR_INVALID_CONFIG);
    assert_int_equal(check("message.timestamp.type", "LogAppendTime"), KERR_NONE);
    assert_int_equal(check("message.timestamp.type", "logappendtime"), KERR_INVALID_CONFIG);
    assert_int_equal(check("cleanup.policy", "compact, delete"), KERR_NONE);
    assert_int_equal(check("cleanup.policy", "delete,compact"), KERR_NONE);
    assert_int_equal(check("cleanup.policy", "compact,shred"), KERR_INVALID_CONFIG);
    assert_int_equal(check("cleanup.policy", ""), KERR_INVALID_CONFIG);
    assert_int_equal(check("cleanup.policy", "compact,,delete"), KERR_INVALID_CONFIG);
    assert_int_equal(check("no.such.config", "1"), KERR_INVALID_CONFIG);
    char big[400];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(check("message.format.version", big), KERR_INVALID_CONFIG);
}

static void error_messages_name_the_config_and_the_problem(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(broker_tcfg_validate("retention.ms", "-5", err, sizeof(err)), KERR_INVALID_CONFIG);
    assert_non_null(strstr(err, "retention.ms"));
    assert_non_null(strstr(err, "at least -1"));
    assert_int_equal(broker_tcfg_validate("bogus.thing", "1", err, sizeof(err)), KERR_INVALID_CONFIG);
    assert_non_null(strstr(err, "Unknown topic config name: bogus.thing"));
    assert_int_equal(broker_tcfg_validate("compression.type", "brotli", err, sizeof(err)), KERR_INVALID_CONFIG);
    assert_non_null(strstr(err, "must be one of"));
}

static void every_default_passes_its_own_validator(void **state)
{
    (void)state;
    for (size_t i = 0; i < broker_cfg_topic_count; i++) {
        const broker_tcfg_def_t *def = &broker_cfg_topic_defs[i];
        char err[256];
        if (broker_tcfg_validate(def->name, def->default_value, err, sizeof(err)) != KERR_NONE)
            fail_msg("%s: default %s rejected: %s", def->name, def->default_value, err);
        assert_non_null(def->doc);
        /* Every broker default of a topic config is describable on the BROKER resource. */
        for (int k = 0; k < BROKER_CFG_MAX_SYNONYMS && def->broker[k]; k++)
            assert_non_null(broker_bcfg_find(def->broker[k]));
    }
    for (size_t i = 0; i < broker_bcfg_count(); i++)
        assert_ptr_not_equal(broker_bcfg_at(i)->doc, NULL);
}

static void defaults_resolve_through_the_layers(void **state)
{
    (void)state;
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    broker_cfg_layers_t layers = {.cfg = &cfg};
    const broker_tcfg_def_t *ret = broker_tcfg_find("retention.ms");
    char v[BROKER_CFG_VALUE_MAX];
    broker_cfg_source_t src;

    broker_tcfg_value(&layers, NULL, 0, ret, v, sizeof(v), &src);
    assert_string_equal(v, "604800000"); /* log.retention.hours=168 */
    assert_int_equal(src, BROKER_CFG_SRC_DEFAULT);

    cfg.log_retention_minutes = 10;
    broker_tcfg_value(&layers, NULL, 0, ret, v, sizeof(v), &src);
    assert_string_equal(v, "600000");
    assert_int_equal(src, BROKER_CFG_SRC_STATIC);

    broker_topic_config_t dyn_default[] = {{"log.retention.ms", "5000"}};
    layers.dyn_default = dyn_default;
    layers.ndyn_default = 1;
    broker_tcfg_value(&layers, NULL, 0, ret, v, sizeof(v), &src);
    assert_string_equal(v, "5000");
    assert_int_equal(src, BROKER_CFG_SRC_DYNAMIC_DEFAULT);

    broker_topic_config_t dyn_node[] = {{"log.retention.ms", "7000"}};
    layers.dyn_node = dyn_node;
    layers.ndyn_node = 1;
    broker_tcfg_value(&layers, NULL, 0, ret, v, sizeof(v), &src);
    assert_string_equal(v, "7000");
    assert_int_equal(src, BROKER_CFG_SRC_DYNAMIC_BROKER);

    broker_topic_config_t over[] = {{"segment.bytes", "4096"}, {"retention.ms", "42"}};
    broker_tcfg_value(&layers, over, 2, ret, v, sizeof(v), &src);
    assert_string_equal(v, "42");
    assert_int_equal(src, BROKER_CFG_SRC_TOPIC);

    /* A topic default without a static broker property: compression.type=producer. */
    broker_tcfg_value(&layers, NULL, 0, broker_tcfg_find("compression.type"), v, sizeof(v), &src);
    assert_string_equal(v, "producer");
    assert_int_equal(src, BROKER_CFG_SRC_DEFAULT);
    /* max.message.bytes comes from message.max.bytes. */
    cfg.message_max_bytes = 5000;
    broker_tcfg_value(&layers, NULL, 0, broker_tcfg_find("max.message.bytes"), v, sizeof(v), &src);
    assert_string_equal(v, "5000");
    assert_int_equal(src, BROKER_CFG_SRC_STATIC);
    broker_config_free(&cfg);
}

static void synonyms_are_listed_override_first_then_broker_layers_then_default(void **state)
{
    (void)state;
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    cfg.log_retention_hours = 24;
    broker_topic_config_t dyn_default[] = {{"log.retention.ms", "5000"}};
    broker_cfg_layers_t layers = {.cfg = &cfg, .dyn_default = dyn_default, .ndyn_default = 1};
    broker_topic_config_t over[] = {{"retention.ms", "42"}};
    broker_cfg_synonym_t syn[10];
    int n = broker_tcfg_synonyms(&layers, over, 1, broker_tcfg_find("retention.ms"), syn, 10);
    assert_int_equal(n, 4);
    assert_string_equal(syn[0].name, "retention.ms");
    assert_string_equal(syn[0].value, "42");
    assert_int_equal(syn[0].source, BROKER_CFG_SRC_TOPIC);
    assert_string_equal(syn[1].name, "log.retention.ms");
    assert_string_equal(syn[1].value, "5000");
    assert_int_equal(syn[1].source, BROKER_CFG_SRC_DYNAMIC_DEFAULT);
    assert_string_equal(syn[2].name, "log.retention.hours");
    assert_string_equal(syn[2].value, "24");
    assert_int_equal(syn[2].source, BROKER_CFG_SRC_STATIC);
    assert_string_equal(syn[3].name, "log.retention.hours");
    assert_string_equal(syn[3].value, "168");
    assert_int_equal(syn[3].source, BROKER_CFG_SRC_DEFAULT);
    /* A short output array keeps the most important ones. */
    assert_int_equal(broker_tcfg_synonyms(&layers, over, 1, broker_tcfg_find("retention.ms"), syn, 1), 1);
    assert_int_equal(syn[0].source, BROKER_CFG_SRC_TOPIC);

    /* Broker properties: dynamic node, dynamic default, static, default. */
    broker_topic_config_t dyn_node[] = {{"message.max.bytes", "300"}};
    broker_topic_config_t dyn_def2[] = {{"message.max.bytes", "200"}};
    cfg.message_max_bytes = 100;
    broker_cfg_layers_t bl = {
        .cfg = &cfg, .dyn_node = dyn_node, .ndyn_node = 1, .dyn_default = dyn_def2, .ndyn_default = 1};
    n = broker_bcfg_synonyms(&bl, broker_bcfg_find("message.max.bytes"), syn, 10);
    assert_int_equal(n, 4);
    assert_int_equal(syn[0].source, BROKER_CFG_SRC_DYNAMIC_BROKER);
    assert_string_equal(syn[0].value, "300");
    assert_int_equal(syn[1].source, BROKER_CFG_SRC_DYNAMIC_DEFAULT);
    assert_int_equal(syn[2].source, BROKER_CFG_SRC_STATIC);
    assert_string_equal(syn[2].value, "100");
    assert_int_equal(syn[3].source, BROKER_CFG_SRC_DEFAULT);
    assert_string_equal(syn[3].value, "1048588");
    broker_config_free(&cfg);
}

static int16_t dyn(const char *name, const char *value, bool node, char *err)
{
    return broker_bcfg_validate_dynamic(name, value, node, err, 256);
}

static void dynamic_broker_configs_follow_kafkas_update_modes(void **state)
{
    (void)state;
    char err[256];
    /* Topic defaults, live. */
    assert_int_equal(dyn("log.retention.ms", "1000", false, err), KERR_NONE);
    assert_int_equal(dyn("compression.type", "lz4", true, err), KERR_NONE);
    assert_int_equal(dyn("log.cleaner.min.cleanable.ratio", "0.1", false, err), KERR_NONE);
    /* Accepted-only properties Kafka can change at run time: sasl.* per broker only. */
    assert_int_equal(dyn("sasl.kerberos.min.time.before.relogin", "58000", true, err), KERR_NONE);
    assert_int_equal(dyn("sasl.kerberos.min.time.before.relogin", "58000", false, err), KERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "broker id must be specified"));
    assert_int_equal(dyn("sasl.kerberos.min.time.before.relogin", "soon", true, err), KERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "sasl.kerberos.min.time.before.relogin"));
    assert_int_equal(dyn("log.cleaner.threads", "2", false, err), KERR_NONE);
    assert_int_equal(dyn("log.cleaner.threads", "-1", false, err), KERR_INVALID_REQUEST);
    /* Bad values, read-only properties, listener-only security configs: INVALID_REQUEST as in Kafka. */
    assert_int_equal(dyn("message.max.bytes", "-3", false, err), KERR_INVALID_REQUEST);
    assert_int_equal(dyn("log.dirs", "/elsewhere", true, err), KERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "Cannot update these configs dynamically: Set(log.dirs)"));
    assert_int_equal(dyn("log.retention.hours", "5", true, err), KERR_INVALID_REQUEST);
    /* Kafka may change listeners at run time; eddy only reads them at start, so it says no. */
    assert_int_equal(dyn("listeners", "PLAINTEXT://:1", true, err), KERR_INVALID_REQUEST);
    assert_int_equal(dyn("ssl.keystore.location", "/k", true, err), KERR_INVALID_REQUEST);
    assert_non_null(strstr(err, "per-listener"));
    /* Names no row has are custom configs, kept as Kafka keeps them. */
    assert_int_equal(dyn("no.such", "1", true, err), KERR_NONE);
    assert_int_equal(dyn("listener.name.internal.ssl.keystore.location", "/k", true, err), KERR_NONE);
    assert_int_equal(dyn("log.retention.ms", NULL, true, err), KERR_INVALID_REQUEST);
}

static void static_values_read_back_as_text(void **state)
{
    (void)state;
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    char v[64];
    assert_false(broker_bcfg_static(&cfg, broker_bcfg_find("log.segment.bytes"), v, sizeof(v)));
    assert_string_equal(v, "1073741824");
    cfg.log_segment_bytes = 4096;
    assert_true(broker_bcfg_static(&cfg, broker_bcfg_find("log.segment.bytes"), v, sizeof(v)));
    assert_string_equal(v, "4096");
    assert_false(broker_bcfg_static(&cfg, broker_bcfg_find("log.cleaner.min.cleanable.ratio"), v, sizeof(v)));
    assert_string_equal(v, "0.5");
    assert_false(broker_bcfg_static(&cfg, broker_bcfg_find("auto.create.topics.enable"), v, sizeof(v)));
    assert_string_equal(v, "true");
    assert_false(broker_bcfg_static(&cfg, broker_bcfg_find("log.cleanup.policy"), v, sizeof(v)));
    assert_string_equal(v, "delete");
    broker_config_free(&cfg);
}

static void list_append_and_subtract_keep_items_unique(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(broker_cfg_list_append("delete", "compact", out, sizeof(out)), 0);
    assert_string_equal(out, "delete,compact");
    assert_int_equal(broker_cfg_list_append("delete,compact", "compact", out, sizeof(out)), 0);
    assert_string_equal(out, "delete,compact");
    assert_int_equal(broker_cfg_list_subtract("delete, compact", "delete", out, sizeof(out)), 0);
    assert_string_equal(out, "compact");
    assert_int_equal(broker_cfg_list_subtract("compact", "compact", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(broker_cfg_list_append("aaaaaaaa", "bbbbbbbb", out, 10), -1);
}

static void compression_names_map_to_codecs(void **state)
{
    (void)state;
    assert_int_equal(broker_cfg_compression_codec("producer"), -1);
    assert_int_equal(broker_cfg_compression_codec("uncompressed"), PROTO_CODEC_NONE);
    assert_int_equal(broker_cfg_compression_codec("gzip"), PROTO_CODEC_GZIP);
    assert_int_equal(broker_cfg_compression_codec("snappy"), PROTO_CODEC_SNAPPY);
    assert_int_equal(broker_cfg_compression_codec("lz4"), PROTO_CODEC_LZ4);
    assert_int_equal(broker_cfg_compression_codec("zstd"), PROTO_CODEC_ZSTD);
    assert_int_equal(broker_cfg_compression_codec("none"), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validators_check_type_range_and_allowed_values),
        cmocka_unit_test(error_messages_name_the_config_and_the_problem),
        cmocka_unit_test(every_default_passes_its_own_validator),
        cmocka_unit_test(defaults_resolve_through_the_layers),
        cmocka_unit_test(synonyms_are_listed_override_first_then_broker_layers_then_default),
        cmocka_unit_test(dynamic_broker_configs_follow_kafkas_update_modes),
        cmocka_unit_test(static_values_read_back_as_text),
        cmocka_unit_test(list_append_and_subtract_keep_items_unique),
        cmocka_unit_test(compression_names_map_to_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
