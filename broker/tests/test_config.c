/*
 * Broker configuration: Kafka property names, precedence file < environment
 * < flags, validation of values, and listener parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/config.h"

static void defaults_are_kafkas(void **state)
{
    (void)state;
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    char err[256];
    assert_int_equal(broker_config_finish(&cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.node_id, 1);
    assert_int_equal(cfg.num_partitions, 1);
    assert_int_equal(cfg.message_max_bytes, 1048588);
    assert_int_equal(cfg.socket_request_max_bytes, 104857600);
    assert_true(cfg.log_segment_bytes == 1073741824);
    assert_true(cfg.auto_create_topics_enable);
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 9092);
    assert_string_equal(cfg.advertised_host, "127.0.0.1");
    broker_config_free(&cfg);
}

static void file_then_environment_then_flags(void **state)
{
    (void)state;
    char path[] = "/tmp/eddy-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\nnum.partitions = 3\nlog.dirs=/from/file\nnode.id=7\n"
                       "some.kafka.only.setting=x\nlisteners=PLAINTEXT://0.0.0.0:0\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *argv[] = {"eddy", path, "--node.id", "9", "--auto.create.topics.enable=false", NULL};
    char *envp[] = {"EDDY_LOG_DIRS=/from/env", "EDDY_NUM_PARTITIONS=4", "OTHER=1", NULL};
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    char err[256];
    assert_int_equal(broker_config_from_args(&cfg, 5, argv, envp, err, sizeof(err)), 0);
    assert_int_equal(cfg.num_partitions, 4);        /* env beats file */
    assert_string_equal(cfg.log_dirs, "/from/env"); /* env beats file */
    assert_int_equal(cfg.node_id, 9);               /* flag beats file */
    assert_false(cfg.auto_create_topics_enable);
    assert_int_equal(cfg.listen_port, 0);
    assert_string_equal(cfg.advertised_host, "127.0.0.1"); /* 0.0.0.0 is not advertised */
    broker_config_free(&cfg);
    unlink(path);
}

static void bad_values_are_rejected_with_a_message(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"num.partitions", "0"},
        {"num.partitions", "abc"},
        {"message.max.bytes", "-1"},
        {"auto.create.topics.enable", "yes"},
        {"socket.request.max.bytes", "99999999999"},
        {"no.such.property", "1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        broker_config_t cfg;
        broker_config_defaults(&cfg);
        char err[256] = "";
        assert_int_equal(broker_config_set(&cfg, bad[i][0], bad[i][1], err, sizeof(err)), -1);
        assert_non_null(strstr(err, bad[i][0]));
        broker_config_free(&cfg);
    }
}

static void listeners_must_parse(void **state)
{
    (void)state;
    static const char *const bad[] = {"PLAINTEXT://nohost", "PLAINTEXT://h:99999", "PLAINTEXT://h:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        broker_config_t cfg;
        broker_config_defaults(&cfg);
        char err[256];
        assert_int_equal(broker_config_set(&cfg, "listeners", bad[i], err, sizeof(err)), 0);
        assert_int_equal(broker_config_finish(&cfg, err, sizeof(err)), -1);
        broker_config_free(&cfg);
    }
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    char err[256];
    assert_int_equal(broker_config_set(&cfg, "listeners", "PLAINTEXT://[::1]:19092", err, sizeof(err)), 0);
    assert_int_equal(
        broker_config_set(&cfg, "advertised.listeners", "PLAINTEXT://kafka.example:9093", err, sizeof(err)), 0);
    assert_int_equal(broker_config_finish(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 19092);
    assert_string_equal(cfg.advertised_host, "kafka.example");
    assert_int_equal(cfg.advertised_port, 9093);
    broker_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_kafkas),
        cmocka_unit_test(file_then_environment_then_flags),
        cmocka_unit_test(bad_values_are_rejected_with_a_message),
        cmocka_unit_test(listeners_must_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
