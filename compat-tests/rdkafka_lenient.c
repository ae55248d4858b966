/*
 * compat_rdkafka_lenient: the librdkafka calls whose requests carry bytes
 * after their known fields, the client half of test_rdkafka_lenient.py. Each
 * mode makes one call and checks what came back; run under Debian's
 * librdkafka 2.0.2 and (through LD_LIBRARY_PATH) under 2.15.1.
 *
 *   list-topics BOOTSTRAP TOPIC...     rd_kafka_metadata for all topics (2.15: Metadata v12
 *                                      whose topic array leaves 3 bytes); every TOPIC listed
 *   regex BOOTSTRAP GROUP REGEX N      a cooperative-sticky consumer subscribed to REGEX reads
 *                                      N messages from the topics it matches
 *   list-groups BOOTSTRAP GROUP        rd_kafka_ListConsumerGroups (ListGroups v4); GROUP listed
 *   group-offsets BOOTSTRAP GROUP TOPIC PARTITION OFFSET
 *                                      rd_kafka_ListConsumerGroupOffsets (OffsetFetch v7); the
 *                                      committed offset of TOPIC/PARTITION is OFFSET
 *
 * Exit status: 0 the check passed, 1 it failed or the client reported an
 * error, 2 bad usage.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TIMEOUT_MS 10000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, const char *group)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        (group && rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) != RD_KAFKA_CONF_OK) ||
        (group && rd_kafka_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err,
                                    sizeof(err)) != RD_KAFKA_CONF_OK) ||
        (group && rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err)) != RD_KAFKA_CONF_OK) ||
        (group && rd_kafka_conf_set(conf, "topic.metadata.refresh.interval.ms", "1000", err, sizeof(err)) !=
                      RD_KAFKA_CONF_OK)) {
        fprintf(stderr, "config: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "rd_kafka_new: %s\n", err);
    return rk;
}

static int list_topics(const char *bootstrap, int ntopics, char **topics)
{
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstrap, NULL);
    if (!rk)
        return 1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, TIMEOUT_MS);
    int rc = 0;
    if (err) {
        fprintf(stderr, "FAIL rd_kafka_metadata(all topics): %s\n", rd_kafka_err2str(err));
        rc = 1;
    } else {
        for (int i = 0; i < ntopics; i++) {
            int found = 0;
            for (int t = 0; t < md->topic_cnt; t++)
                if (!strcmp(md->topics[t].topic, topics[i]) && md->topics[t].err == 0)
                    found = md->topics[t].partition_cnt;
            printf("%s %s (%d partitions)\n", found ? "ok  " : "FAIL", topics[i], found);
            if (!found)
                rc = 1;
        }
        printf("%d topics listed\n", md->topic_cnt);
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return rc;
}

static int regex_consume(const char *bootstrap, const char *group, const char *regex, int want)
{
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, bootstrap, group);
    if (!rk)
        return 1;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, regex, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        fprintf(stderr, "FAIL subscribe %s: %s\n", regex, rd_kafka_err2str(err));
        rd_kafka_destroy(rk);
        return 1;
    }
    int got = 0, errors = 0;
    double deadline = now_s() + 40.0;
    while (got < want && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "consumer error: %s\n", rd_kafka_message_errstr(m));
                errors++;
            }
        } else {
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    printf("%s regex %s: %d of %d messages, %d errors\n", got == want && !errors ? "ok  " : "FAIL", regex, got,
           want, errors);
    return got == want && !errors ? 0 : 1;
}

/* Waits for the admin result of the given type on q. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t type)
{
    double deadline = now_s() + TIMEOUT_MS / 1000.0;
    while (now_s() < deadline) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 500);
        if (!ev)
            continue;
        if (rd_kafka_event_type(ev) == type)
            return ev;
        rd_kafka_event_destroy(ev);
    }
    return NULL;
}

static int list_groups(const char *bootstrap, const char *group)
{
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstrap, NULL);
    if (!rk)
        return 1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ListConsumerGroups(rk, NULL, q);
    rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT);
    int rc = 1;
    if (!ev) {
        fprintf(stderr, "FAIL ListConsumerGroups: no result\n");
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "FAIL ListConsumerGroups: %s\n", rd_kafka_event_error_string(ev));
    } else {
        const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
        size_t n = 0, nerr = 0;
        const rd_kafka_ConsumerGroupListing_t **groups = rd_kafka_ListConsumerGroups_result_valid(res, &n);
        const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &nerr);
        for (size_t i = 0; i < nerr; i++)
            fprintf(stderr, "ListConsumerGroups error: %s\n", rd_kafka_error_string(errs[i]));
        for (size_t i = 0; i < n; i++)
            if (!strcmp(rd_kafka_ConsumerGroupListing_group_id(groups[i]), group))
                rc = 0;
        if (nerr)
            rc = 1;
        printf("%s ListConsumerGroups: %zu groups, %zu errors, %s %s\n", rc ? "FAIL" : "ok  ", n, nerr, group,
               rc ? "missing" : "listed");
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

static int group_offsets(const char *bootstrap, const char *group, const char *topic, int32_t partition,
                         int64_t offset)
{
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstrap, NULL);
    if (!rk)
        return 1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, partition);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, NULL, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT);
    int rc = 1;
    if (!ev) {
        fprintf(stderr, "FAIL ListConsumerGroupOffsets: no result\n");
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "FAIL ListConsumerGroupOffsets: %s\n", rd_kafka_event_error_string(ev));
    } else {
        const rd_kafka_ListConsumerGroupOffsets_result_t *res = rd_kafka_event_ListConsumerGroupOffsets_result(ev);
        size_t n = 0;
        const rd_kafka_group_result_t **groups = rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n);
        for (size_t i = 0; i < n; i++) {
            const rd_kafka_error_t *gerr = rd_kafka_group_result_error(groups[i]);
            if (gerr) {
                fprintf(stderr, "group %s: %s\n", rd_kafka_group_result_name(groups[i]), rd_kafka_error_string(gerr));
                continue;
            }
            const rd_kafka_topic_partition_list_t *got = rd_kafka_group_result_partitions(groups[i]);
            for (int j = 0; got && j < got->cnt; j++) {
                const rd_kafka_topic_partition_t *p = &got->elems[j];
                printf("%s/%" PRId32 ": offset %" PRId64 " (%s)\n", p->topic, p->partition, p->offset,
                       rd_kafka_err2str(p->err));
                if (!strcmp(p->topic, topic) && p->partition == partition && p->offset == offset && !p->err)
                    rc = 0;
            }
        }
        printf("%s ListConsumerGroupOffsets %s %s/%" PRId32 " = %" PRId64 "\n", rc ? "FAIL" : "ok  ", group, topic,
               partition, offset);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

int main(int argc, char **argv)
{
    printf("librdkafka %s\n", rd_kafka_version_str());
    if (argc >= 3 && !strcmp(argv[1], "list-topics"))
        return list_topics(argv[2], argc - 3, argv + 3);
    if (argc == 6 && !strcmp(argv[1], "regex"))
        return regex_consume(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (argc == 4 && !strcmp(argv[1], "list-groups"))
        return list_groups(argv[2], argv[3]);
    if (argc == 7 && !strcmp(argv[1], "group-offsets"))
        return group_offsets(argv[2], argv[3], argv[4], atoi(argv[5]), strtoll(argv[6], NULL, 10));
    fprintf(stderr, "usage: see the comment at the top of rdkafka_lenient.c\n");
    return 2;
}
