/*
 * The single broker's metadata store (broker/mstore_local.c): every change
 * is reported to the listener before done, with the store's error codes
 * (-EEXIST, -ENOENT); what was written is replayed by load() on a new store
 * over the same directory, unreadable files skipped; and the registry
 * (broker/topics.c) applies what the store reports, including a topic
 * recreated under the same name with a new id.
 */
#include <errno.h>
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
#include "broker/mstore.h"
#include "broker/topics.h"
#include "protocol/kafka_errors.h"

typedef struct seen_s {
    int puts, removes, brokers;
    char last_name[256];
    int32_t last_nparts;
    int last_nconfigs;
    char last_value[64];
    int nnode, ndef;
} seen_t;

static void on_put(void *arg, const broker_mstore_topic_t *t)
{
    seen_t *s = arg;
    s->puts++;
    snprintf(s->last_name, sizeof(s->last_name), "%s", t->name);
    s->last_nparts = t->nparts;
    s->last_nconfigs = t->nconfigs;
    snprintf(s->last_value, sizeof(s->last_value), "%s", t->nconfigs ? t->configs[0].value : "");
}

static void on_removed(void *arg, const char *name)
{
    seen_t *s = arg;
    s->removes++;
    snprintf(s->last_name, sizeof(s->last_name), "%s", name);
}

static void on_broker(void *arg, const broker_topic_config_t *node, int nnode, const broker_topic_config_t *def,
                      int ndef)
{
    seen_t *s = arg;
    s->brokers++;
    s->nnode = nnode;
    s->ndef = ndef;
}

static void done_rc(void *arg, int rc)
{
    *(int *)arg = rc;
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/eddy-mstore-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void remove_dir(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static broker_mstore_t *open_store(const char *dir, seen_t *seen)
{
    broker_mstore_listener_t l = {seen, on_put, on_removed, on_broker};
    broker_mstore_t *s = NULL;
    assert_int_equal(broker_mstore_local_open(dir, &l, &s), 0);
    return s;
}

static void local_store_reports_changes_and_replays_them(void **state)
{
    (void)state;
    char *dir = make_dir();
    seen_t seen = {0};
    broker_mstore_t *s = open_store(dir, &seen);
    broker_topic_config_t cfg[] = {{"retention.ms", "1000"}};
    broker_mstore_topic_t t = {.name = "orders", .nparts = 3, .configs = cfg, .nconfigs = 1};
    t.id.b[0] = 7;
    int rc = 1;
    s->ops->create_topic(s, &t, done_rc, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(seen.puts, 1);
    assert_string_equal(seen.last_name, "orders");

    rc = 1;
    s->ops->create_topic(s, &t, done_rc, &rc);
    assert_int_equal(rc, -EEXIST);
    assert_int_equal(seen.puts, 1); /* a failed change is not reported */

    broker_mstore_topic_t missing = {.name = "nope", .nparts = 1};
    rc = 1;
    s->ops->update_topic(s, &missing, done_rc, &rc);
    assert_int_equal(rc, -ENOENT);

    t.nparts = 5;
    cfg[0].value = "2000";
    rc = 1;
    s->ops->update_topic(s, &t, done_rc, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(seen.last_nparts, 5);

    broker_mstore_topic_t other = {.name = "gone", .nparts = 1};
    s->ops->create_topic(s, &other, done_rc, &rc);
    s->ops->delete_topic(s, "gone", done_rc, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(seen.removes, 1);

    broker_topic_config_t node[] = {{"log.retention.ms", "5000"}};
    s->ops->put_broker_configs(s, node, 1, NULL, 0, done_rc, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(seen.brokers, 1);
    s->ops->close(s);

    /* An unreadable file is skipped; everything else comes back. */
    char bad[600];
    snprintf(bad, sizeof(bad), "%s/eddy-meta/topics/broken", dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("name=broken\npartitions=zero\n", f);
    fclose(f);
    seen_t again = {0};
    s = open_store(dir, &again);
    assert_int_equal(s->ops->load(s), 0);
    assert_int_equal(again.puts, 1);
    assert_string_equal(again.last_name, "orders");
    assert_int_equal(again.last_nparts, 5);
    assert_int_equal(again.last_nconfigs, 1);
    assert_string_equal(again.last_value, "2000");
    assert_int_equal(again.brokers, 1);
    assert_int_equal(again.nnode, 1);
    assert_int_equal(again.ndef, 0);
    s->ops->close(s);
    remove_dir(dir);
    free(dir);
}

static void result_into(void *arg, int16_t err, const char *errmsg)
{
    *(int16_t *)arg = err;
}

static void registry_applies_what_the_store_reports(void **state)
{
    (void)state;
    char *dir = make_dir();
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    free(cfg.log_dirs);
    cfg.log_dirs = strdup(dir);
    broker_topics_t topics;
    assert_int_equal(broker_topics_init(&topics, &cfg, NULL, NULL, NULL, false, NULL), 0);
    int16_t err = -1;
    broker_topics_create(&topics, "t", 1, 2, NULL, 0, false, result_into, &err);
    assert_int_equal(err, KERR_NONE);
    broker_topic_t *t = broker_topics_get(&topics, "t", 1);
    assert_non_null(t);
    assert_int_equal(t->nparts, 2);
    assert_non_null(t->parts[1].log);

    /* The same name with a new id (recreated elsewhere): the old topic goes, the new one is opened. */
    broker_mstore_listener_t l = broker_topics_listener(&topics);
    broker_mstore_topic_t rec = {.name = "t", .nparts = 3};
    rec.id = t->id;
    rec.id.b[15] ^= 0xff;
    l.topic_put(l.arg, &rec);
    broker_topic_t *t2 = broker_topics_get(&topics, "t", 1);
    assert_non_null(t2);
    assert_int_equal(t2->nparts, 3);
    assert_memory_equal(t2->id.b, rec.id.b, 16);
    assert_ptr_equal(broker_topics_get_by_id(&topics, &rec.id), t2);

    err = -1;
    broker_topics_create(&topics, "bad name!", 9, 1, NULL, 0, false, result_into, &err);
    assert_int_equal(err, KERR_INVALID_TOPIC_EXCEPTION);
    err = -1;
    broker_topics_add_partitions(&topics, t2, 2, false, result_into, &err);
    assert_int_equal(err, KERR_INVALID_PARTITIONS);
    err = -1;
    broker_topics_delete(&topics, t2, result_into, &err);
    assert_int_equal(err, KERR_NONE);
    assert_null(broker_topics_get(&topics, "t", 1));
    broker_topics_fini(&topics);
    broker_config_free(&cfg);
    remove_dir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_store_reports_changes_and_replays_them),
        cmocka_unit_test(registry_applies_what_the_store_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
