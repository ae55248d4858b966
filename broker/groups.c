#include "broker/groups.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/diag.h"
#include "broker/broker.h"
#include "broker/internal_topics.h"
#include "broker/meta.h"
#include "protocol/record.h"
#include "protocol/record_batch.h"

int broker_groups_topic(broker_t *broker)
{
    broker_groups_t *g = &broker->groups;
    if (g->offsets_topic)
        return 0;
    broker_topic_t *t;
    int rc = broker_internal_topic(broker, BROKER_OFFSETS_TOPIC, broker->cfg->offsets_topic_num_partitions,
                                   broker->cfg->offsets_topic_segment_bytes, &t);
    if (rc != 0)
        return rc;
    if (t->nparts != broker->cfg->offsets_topic_num_partitions) {
        /* Made by a client's CreateTopics before any group: the coordinator's
         * partitioning is fixed, so it cannot use it. */
        LOG_ERROR("groups", "%s has %d partitions, offsets.topic.num.partitions is %d: not used", BROKER_OFFSETS_TOPIC,
                  t->nparts, broker->cfg->offsets_topic_num_partitions);
        return -EINVAL;
    }
    g->offsets_topic = t;
    return 0;
}

/* The coordinator's writes: one batch of records into its __consumer_offsets partition. */
static int16_t groups_append(void *arg, int32_t partition, const proto_record_spec_t *records, int n, int64_t now_ms)
{
    broker_t *broker = arg;
    if (broker_groups_topic(broker) != 0)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.base_timestamp = now_ms;
    return broker_internal_append(broker, broker->groups.offsets_topic, partition, &spec, records, n);
}

/* TxnOffsetCommit: the offsets go in as a transactional batch of the producer, pending until its marker. */
static int16_t groups_append_txn(void *arg, int32_t partition, int64_t producer_id, int16_t producer_epoch,
                                 const proto_record_spec_t *records, int n, int64_t now_ms)
{
    broker_t *broker = arg;
    if (broker_groups_topic(broker) != 0)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.base_timestamp = now_ms;
    spec.attributes = PROTO_BATCH_TRANSACTIONAL;
    spec.producer_id = producer_id;
    spec.producer_epoch = producer_epoch;
    spec.base_sequence = -1;
    return broker_internal_append(broker, broker->groups.offsets_topic, partition, &spec, records, n);
}

static void groups_replay_record(void *arg, int32_t partition, const proto_batch_header_t *hdr,
                                 const proto_record_t *rec)
{
    broker_t *broker = arg;
    int64_t now = clock_wall_ms();
    if (rec->key.len < 0)
        return;
    int rc =
        (hdr->attributes & PROTO_BATCH_TRANSACTIONAL)
            ? group_coordinator_replay_txn(broker->groups.coord, partition, hdr->producer_id, rec->key, rec->value, now)
            : group_coordinator_replay(broker->groups.coord, partition, rec->key, rec->value, now);
    if (rc != 0)
        LOG_WARN("groups", "skipping an unreadable record in %s-%d", BROKER_OFFSETS_TOPIC, partition);
}

static void groups_replay_marker(void *arg, int32_t partition, const proto_batch_header_t *hdr, int16_t type)
{
    broker_t *broker = arg;
    group_txn_complete(broker->groups.coord, partition, hdr->producer_id, type == PROTO_MARKER_COMMIT, clock_wall_ms());
}

static void groups_on_timer(uv_timer_t *t)
{
    broker_t *broker = t->data;
    broker->groups.timer_due = INT64_MAX;
    group_coordinator_tick(broker->groups.coord, clock_wall_ms());
    broker_groups_schedule(broker);
}

/* The connection of a waiting JoinGroup or SyncGroup closed (broker_req_cancel). */
static void groups_cancel_wait(broker_req_t *req)
{
    if (!req->group_waiting)
        return;
    group_waiter_cancel(req->broker->groups.coord, &req->waiter);
    req->group_waiting = false;
    broker_groups_schedule(req->broker);
}

void broker_groups_wait(broker_req_t *req)
{
    req->group_waiting = true;
    req->cancel = groups_cancel_wait;
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
    /* Created by the first write or FindCoordinator (broker_groups_topic); loaded here when it is on disk. */
    broker_topic_t *t = broker_topics_get(&broker->topics, BROKER_OFFSETS_TOPIC, strlen(BROKER_OFFSETS_TOPIC));
    g->offsets_topic = t;
    group_config_t gc;
    group_config_default(&gc);
    gc.initial_rebalance_delay_ms = (int32_t)cfg->group_initial_rebalance_delay_ms;
    gc.min_session_timeout_ms = (int32_t)cfg->group_min_session_timeout_ms;
    gc.max_session_timeout_ms = (int32_t)cfg->group_max_session_timeout_ms;
    gc.max_size = cfg->group_max_size;
    gc.offsets_retention_ms = cfg->offsets_retention_minutes * 60000;
    gc.offsets_retention_check_interval_ms = cfg->offsets_retention_check_interval_ms;
    gc.offsets_topic_num_partitions = t ? t->nparts : cfg->offsets_topic_num_partitions;
    uint64_t seed = 0;
    (void)broker_meta_random(&seed, sizeof(seed));
    gc.seed = seed;
    static const group_callbacks_t cb = {groups_append};
    int64_t now = clock_wall_ms();
    g->coord = group_coordinator_new(&gc, &cb, broker, now);
    if (!g->coord)
        return -ENOMEM;
    group_coordinator_set_append_txn(g->coord, groups_append_txn);
    const broker_replay_t rp = {groups_replay_record, groups_replay_marker, broker};
    for (int32_t i = 0; t && i < t->nparts; i++) {
        group_coordinator_load_begin(g->coord, i, now);
        broker_internal_replay(broker, t, i, &rp);
        group_coordinator_load_end(g->coord, i, now);
    }
    if (t)
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
