/*
 * The config table generated from broker/configs.def: rows sorted and
 * unique, every default passing its own row's check and loading into
 * broker_config_t, lookups by name and by topic synonym, type checks, and
 * properties without a field kept as text and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/config.h"
#include "broker/config_table.h"
#include "broker/topic_configs.h"

static void rows_are_sorted_unique_and_complete(void **state)
{
    (void)state;
    const broker_cfg_def_t *tables[] = {broker_cfg_broker_defs, broker_cfg_topic_defs};
    size_t counts[] = {broker_cfg_broker_count, broker_cfg_topic_count};
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < counts[t]; i++) {
            const broker_cfg_def_t *def = &tables[t][i];
            assert_non_null(def->name);
            assert_true(def->doc && *def->doc);
            assert_true(def->type >= BROKER_CFG_BOOLEAN && def->type <= BROKER_CFG_PASSWORD);
            if (i > 0 && strcmp(tables[t][i - 1].name, def->name) >= 0)
                fail_msg("%s after %s: rows must be sorted, without duplicates", def->name, tables[t][i - 1].name);
            if (def->type == BROKER_CFG_INT || def->type == BROKER_CFG_SHORT || def->type == BROKER_CFG_LONG)
                assert_true(def->nranges >= 1 && def->nranges <= 2);
            assert_int_equal(def->mode == BROKER_CFG_TOPIC, t == 1);
        }
    /* Kafka 3.9 documents 314 broker configs (its internal ones left out); eddy adds its own. */
    assert_true(broker_cfg_broker_count >= 314);
    assert_non_null(broker_cfg_find_broker("listener.security.protocol.map"));
    assert_non_null(broker_cfg_find_broker("group.consumer.assignors"));
}

static void every_default_passes_its_own_check(void **state)
{
    (void)state;
    const broker_cfg_def_t *tables[] = {broker_cfg_broker_defs, broker_cfg_topic_defs};
    size_t counts[] = {broker_cfg_broker_count, broker_cfg_topic_count};
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < counts[t]; i++) {
            const broker_cfg_def_t *def = &tables[t][i];
            char why[192];
            if (def->default_value && !broker_cfg_check(def, def->default_value, why, sizeof(why)))
                fail_msg("%s: default '%s' rejected: %s", def->name, def->default_value, why);
        }
}

static void every_broker_default_loads_through_the_setter(void **state)
{
    (void)state;
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    char err[256], text[BROKER_CFG_VALUE_MAX];
    for (size_t i = 0; i < broker_cfg_broker_count; i++) {
        const broker_cfg_def_t *def = &broker_cfg_broker_defs[i];
        if (!def->default_value)
            continue;
        if (broker_config_set(&cfg, def->name, def->default_value, err, sizeof(err)) != 0)
            fail_msg("%s=%s: %s", def->name, def->default_value, err);
        /* A field holding its default reads back as not set; a text property given is set. */
        bool set = broker_bcfg_static(&cfg, def, text, sizeof(text));
        assert_int_equal(set, def->kind == BROKER_CFG_K_NONE);
        if (def->kind == BROKER_CFG_K_NONE)
            assert_string_equal(text, def->default_value);
    }
    broker_config_free(&cfg);
}

static void lookups_by_name_and_by_synonym(void **state)
{
    (void)state;
    const broker_cfg_def_t *def = broker_cfg_find_broker("sasl.kerberos.min.time.before.relogin");
    assert_non_null(def);
    assert_int_equal(def->type, BROKER_CFG_LONG);
    assert_string_equal(def->default_value, "60000");
    assert_int_equal(def->mode, BROKER_CFG_PER_BROKER);
    assert_false(def->honoured);
    assert_true(def->alterable);
    assert_null(broker_cfg_find_broker("retention.ms")); /* a topic config, not a broker property */
    assert_null(broker_cfg_find_broker("no.such.property"));
    assert_null(broker_cfg_find_broker(""));

    def = broker_cfg_find_topic("retention.ms");
    assert_non_null(def);
    assert_string_equal(def->broker[0], "log.retention.ms");
    assert_string_equal(def->broker[2], "log.retention.hours");
    assert_int_equal(def->scale[2], 3600000);
    for (int k = 0; k < BROKER_CFG_MAX_SYNONYMS && def->broker[k]; k++)
        assert_non_null(broker_cfg_find_broker(def->broker[k]));

    /* Every synonym of every topic config is a broker row. */
    for (size_t i = 0; i < broker_cfg_topic_count; i++)
        for (int k = 0; k < BROKER_CFG_MAX_SYNONYMS && broker_cfg_topic_defs[i].broker[k]; k++)
            if (!broker_cfg_find_broker(broker_cfg_topic_defs[i].broker[k]))
                fail_msg("%s: synonym %s has no row", broker_cfg_topic_defs[i].name, broker_cfg_topic_defs[i].broker[k]);

    /* The honoured rows land in fields; sensitive ones are passwords. */
    assert_int_equal(broker_cfg_find_broker("log.retention.hours")->kind, BROKER_CFG_K_I64);
    assert_int_equal(broker_cfg_find_broker("node.id")->kind, BROKER_CFG_K_I32);
    assert_int_equal(broker_cfg_find_broker("eddy.fetch.zero.copy")->kind, BROKER_CFG_K_BOOL);
    assert_int_equal(broker_cfg_find_broker("ssl.keystore.password")->type, BROKER_CFG_PASSWORD);
    assert_false(broker_cfg_find_broker("ssl.keystore.password")->honoured);
    assert_false(broker_cfg_find_broker("log.dirs")->alterable);
}

static bool ok(const char *name, const char *value)
{
    char why[192];
    const broker_cfg_def_t *def = broker_cfg_find_broker(name);
    assert_non_null(def);
    return broker_cfg_check(def, value, why, sizeof(why));
}

static void values_are_checked_by_type(void **state)
{
    (void)state;
    assert_true(ok("auto.leader.rebalance.enable", "FALSE"));
    assert_false(ok("auto.leader.rebalance.enable", "no"));
    assert_true(ok("num.io.threads", " 16 "));
    assert_false(ok("num.io.threads", "0"));            /* at least 1 */
    assert_false(ok("num.io.threads", "2147483648"));   /* not an int */
    assert_false(ok("sasl.login.refresh.buffer.seconds", "40000")); /* a short */
    assert_true(ok("sasl.kerberos.min.time.before.relogin", "9223372036854775807"));
    assert_false(ok("sasl.kerberos.min.time.before.relogin", "9223372036854775808"));
    assert_true(ok("sasl.kerberos.ticket.renew.jitter", "0.1"));
    assert_false(ok("sasl.kerberos.ticket.renew.jitter", "lots"));
    assert_true(ok("compression.gzip.level", "-1")); /* 1..9 or -1 */
    assert_true(ok("compression.gzip.level", "9"));
    assert_false(ok("compression.gzip.level", "0"));
    assert_true(ok("ssl.client.auth", "required"));
    assert_false(ok("ssl.client.auth", "sometimes"));
    assert_true(ok("log.cleanup.policy", "compact,delete"));
    assert_false(ok("log.cleanup.policy", "shred"));
    assert_true(ok("ssl.cipher.suites", ""));     /* a free list may be empty */
    assert_true(ok("process.roles", "broker"));
    assert_false(ok("process.roles", "broker,gardener"));
    assert_true(ok("ssl.keystore.password", "secret"));
    char big[400];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_false(ok("broker.rack", big));
}

static void accepted_properties_are_kept_as_text(void **state)
{
    (void)state;
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    char err[256], text[BROKER_CFG_VALUE_MAX];
    const broker_cfg_def_t *def = broker_cfg_find_broker("num.network.threads");
    assert_false(broker_bcfg_static(&cfg, def, text, sizeof(text)));
    assert_string_equal(text, "3");
    assert_int_equal(broker_config_set(&cfg, "num.network.threads", "6", err, sizeof(err)), 0);
    assert_int_equal(broker_config_set(&cfg, "num.network.threads", "7", err, sizeof(err)), 0);
    assert_true(broker_bcfg_static(&cfg, def, text, sizeof(text)));
    assert_string_equal(text, "7");
    assert_string_equal(broker_config_extra(&cfg, "num.network.threads"), "7");
    assert_int_equal(cfg.nextra, 1);
    assert_int_equal(broker_config_set(&cfg, "num.network.threads", "0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "num.network.threads"));
    assert_int_equal(broker_config_set(&cfg, "some.plugin.setting", "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown property"));
    /* A static compression.type (no field) is the default of the topic config. */
    assert_int_equal(broker_config_set(&cfg, "compression.type", "zstd", err, sizeof(err)), 0);
    broker_cfg_layers_t layers = {.cfg = &cfg};
    broker_cfg_source_t src;
    broker_tcfg_value(&layers, NULL, 0, broker_tcfg_find("compression.type"), text, sizeof(text), &src);
    assert_string_equal(text, "zstd");
    assert_int_equal(src, BROKER_CFG_SRC_STATIC);
    broker_config_free(&cfg);
    assert_null(cfg.extra);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_are_sorted_unique_and_complete),
        cmocka_unit_test(every_default_passes_its_own_check),
        cmocka_unit_test(every_broker_default_loads_through_the_setter),
        cmocka_unit_test(lookups_by_name_and_by_synonym),
        cmocka_unit_test(values_are_checked_by_type),
        cmocka_unit_test(accepted_properties_are_kept_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
