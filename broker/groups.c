#include "broker/groups.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/diag.h"
#include "broker/broker.h"
#include "broker/meta.h"
#include "protocol/record.h"
#include "protocol/record_batch.h"

#define GROUPS_REPLAY_MAX_DECOMPRESSED (64u * 1024u * 1024u)

bool broker_topic_is_internal(const char *name, size_t len)
{
    return len == strlen(BROKER_OFFSETS_TOPIC) && memcmp(name, BROKER_OFFSETS_TOPIC, len) == 0;
}

/* The coordinator's writes: one batch of records into its __consumer_offsets partition. */
static int16_t groups_append(void *arg, int32_t partition, const proto_record_spec_t *records, int n, int64_t now_ms)
{
    broker_t *broker = arg;
    broker_topic_t *t = broker->groups.offsets_topic;
    broker_partition_t *part = t ? broker_topic_partition(t, partition) : NULL;
    if (!part || !part->log)
        return KERR_KAFKA_STORAGE_ERROR;
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.base_timestamp = now_ms;
    buf_t batch;
    buf_init(&batch);
    if (proto_batch_build(&batch, &spec, records, n) != 0) {
        buf_fini(&batch);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    int64_t base;
    int rc = log_partition_append(part->log, batch.data, batch.len, -1, &base);
    buf_fini(&batch);
    if (rc != 0) {
        LOG_ERROR("groups", "append to %s-%d failed: %s", BROKER_OFFSETS_TOPIC, partition, log_strerror(rc));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    broker_storage_appended(broker, t, partition);
    return KERR_NONE;
}

/* Feeds one stored batch's records to the coordinator. */
static int groups_replay_batch(broker_t *broker, int32_t partition, const uint8_t *batch, size_t len, buf_t *scratch,
                               int64_t now)
{
    proto_batch_header_t hdr;
    if (proto_batch_header_parse(batch, len, &hdr) != 0 || proto_batch_total_size(&hdr) > len)
        return PROTO_EINVALID;
    /* Transaction markers carry no group data (aborted offsets: the exactly-once issue). */
    if (hdr.attributes & PROTO_BATCH_CONTROL)
        return 0;
    proto_reader_t rd;
    int rc =
        proto_batch_records(batch, proto_batch_total_size(&hdr), &hdr, scratch, GROUPS_REPLAY_MAX_DECOMPRESSED, &rd);
    if (rc != 0)
        return rc;
    proto_record_t rec;
    while (proto_rd_remaining(&rd) > 0 && proto_record_next(&rd, &rec) == 0)
        if (rec.key.len >= 0 && group_coordinator_replay(broker->groups.coord, partition, rec.key, rec.value, now) != 0)
            LOG_WARN("groups", "skipping an unreadable record in %s-%d", BROKER_OFFSETS_TOPIC, partition);
    return 0;
}

static void groups_replay_partition(broker_t *broker, int32_t partition, int64_t now)
{
    log_partition_t *log = broker->groups.offsets_topic->parts[partition].log;
    group_coordinator_load_begin(broker->groups.coord, partition, now);
    if (log) {
        buf_t data, scratch;
        buf_init(&data);
        buf_init(&scratch);
        int64_t offset = log_partition_start_offset(log);
        int64_t end = log_partition_end_offset(log);
        while (offset < end) {
            log_read_t rd;
            if (log_partition_read(log, offset, 1u << 20, 1, &rd) != 0 || rd.len == 0) {
                log_read_release(&rd);
                break;
            }
            data.len = 0;
            int rc = log_read_copy(&rd, &data);
            log_read_release(&rd);
            if (rc != 0)
                break;
            size_t pos = 0;
            int64_t next = offset;
            while (pos + PROTO_BATCH_HEADER_SIZE <= data.len) {
                proto_batch_header_t hdr;
                if (proto_batch_header_parse(data.data + pos, data.len - pos, &hdr) != 0 ||
                    proto_batch_total_size(&hdr) > data.len - pos)
                    break;
                (void)groups_replay_batch(broker, partition, data.data + pos, proto_batch_total_size(&hdr), &scratch,
                                          now);
                next = proto_batch_last_offset(&hdr) + 1;
                pos += proto_batch_total_size(&hdr);
            }
            if (next <= offset)
                break; /* no progress: stop rather than spin */
            offset = next;
        }
        buf_fini(&data);
        buf_fini(&scratch);
    }
    group_coordinator_load_end(broker->groups.coord, partition, now);
}

static void groups_on_timer(uv_timer_t *t)
{
    broker_t *broker = t->data;
    broker->groups.timer_due = INT64_MAX;
    group_coordinator_tick(broker->groups.coord, clock_wall_ms());
    broker_groups_schedule(broker);
}

void broker_groups_schedule(broker_t *broker)
{
    broker_groups_t *g = &broker->groups;
    if (!g->coord || broker->stopping)
        return;
    int64_t due = group_coordinator_next_deadline(g->coord);
    if (due == g->timer_due)
        return;
    g->timer_due = due;
    if (due == INT64_MAX) {
        uv_timer_stop(&g->timer);
        return;
    }
    int64_t wait = due - clock_wall_ms();
    uv_timer_start(&g->timer, groups_on_timer, wait > 0 ? (uint64_t)wait : 0, 0);
}

int broker_groups_init(broker_t *broker)
{
    broker_groups_t *g = &broker->groups;
    const broker_config_t *cfg = broker->cfg;
    broker_topic_t *t = broker_topics_get(&broker->topics, BROKER_OFFSETS_TOPIC, strlen(BROKER_OFFSETS_TOPIC));
    if (!t) {
        char segment[32], errmsg[256];
        snprintf(segment, sizeof(segment), "%lld", (long long)cfg->offsets_topic_segment_bytes);
        broker_topic_config_t configs[] = {{"cleanup.policy", "compact"}, {"segment.bytes", segment}};
        int16_t err =
            broker_topics_create(&broker->topics, BROKER_OFFSETS_TOPIC, strlen(BROKER_OFFSETS_TOPIC),
                                 cfg->offsets_topic_num_partitions, configs, 2, false, &t, errmsg, sizeof(errmsg));
        if (err != KERR_NONE) {
            LOG_ERROR("groups", "cannot create %s: %s", BROKER_OFFSETS_TOPIC, errmsg);
            return -EIO;
        }
    }
    g->offsets_topic = t;
    group_config_t gc;
    group_config_default(&gc);
    gc.initial_rebalance_delay_ms = (int32_t)cfg->group_initial_rebalance_delay_ms;
    gc.min_session_timeout_ms = (int32_t)cfg->group_min_session_timeout_ms;
    gc.max_session_timeout_ms = (int32_t)cfg->group_max_session_timeout_ms;
    gc.max_size = cfg->group_max_size;
    gc.offsets_retention_ms = cfg->offsets_retention_minutes * 60000;
    gc.offsets_retention_check_interval_ms = cfg->offsets_retention_check_interval_ms;
    gc.offsets_topic_num_partitions = t->nparts;
    uint64_t seed = 0;
    (void)broker_meta_random(&seed, sizeof(seed));
    gc.seed = seed;
    static const group_callbacks_t cb = {groups_append};
    int64_t now = clock_wall_ms();
    g->coord = group_coordinator_new(&gc, &cb, broker, now);
    if (!g->coord)
        return -ENOMEM;
    for (int32_t i = 0; i < t->nparts; i++)
        groups_replay_partition(broker, i, now);
    LOG_INFO("groups", "loaded %d groups from %s", group_count(g->coord), BROKER_OFFSETS_TOPIC);
    uv_timer_init(broker->loop, &g->timer);
    g->timer.data = broker;
    g->timer_due = INT64_MAX;
    broker_groups_schedule(broker);
    return 0;
}

static void groups_timer_closed(uv_handle_t *h)
{
    (void)h;
}

void broker_groups_stop(broker_t *broker)
{
    if (broker->groups.coord && !uv_is_closing((uv_handle_t *)&broker->groups.timer))
        uv_close((uv_handle_t *)&broker->groups.timer, groups_timer_closed);
}

void broker_groups_fini(broker_t *broker)
{
    group_coordinator_free(broker->groups.coord);
    broker->groups.coord = NULL;
}
