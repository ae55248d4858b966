#include "broker/txns.h"

#include <errno.h>
#include <string.h>

#include "base/clock.h"
#include "base/diag.h"
#include "broker/broker.h"
#include "broker/internal_topics.h"

int broker_txns_topic(broker_t *broker)
{
    broker_txns_t *x = &broker->txns;
    if (x->state_topic)
        return 0;
    broker_topic_t *t;
    int rc = broker_internal_topic(broker, BROKER_TXN_STATE_TOPIC, broker->cfg->transaction_state_log_num_partitions,
                                   broker->cfg->transaction_state_log_segment_bytes, &t);
    if (rc != 0)
        return rc;
    if (t->nparts != broker->cfg->transaction_state_log_num_partitions) {
        LOG_ERROR("txns", "%s has %d partitions, transaction.state.log.num.partitions is %d: not used",
                  BROKER_TXN_STATE_TOPIC, t->nparts, broker->cfg->transaction_state_log_num_partitions);
        return -EINVAL;
    }
    x->state_topic = t;
    return 0;
}

static int16_t txns_append(void *arg, int32_t partition, const proto_record_spec_t *records, int n, int64_t now_ms)
{
    broker_t *broker = arg;
    if (broker_txns_topic(broker) != 0)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.base_timestamp = now_ms;
    return broker_internal_append(broker, broker->txns.state_topic, partition, &spec, records, n);
}

static void txns_replay_record(void *arg, int32_t partition, const proto_batch_header_t *hdr, const proto_record_t *rec)
{
    broker_t *broker = arg;
    (void)hdr;
    if (rec->key.len >= 0 &&
        txn_coordinator_replay(broker->txns.coord, partition, rec->key, rec->value, clock_wall_ms()) != 0)
        LOG_WARN("txns", "skipping an unreadable record in %s-%d", BROKER_TXN_STATE_TOPIC, partition);
}

/* One marker into one partition. 0, or a Kafka error code. */
static int16_t txns_write_marker(broker_t *broker, const txn_marker_job_t *job, const txn_topic_partition_t *tp,
                                 int64_t now)
{
    broker_topic_t *t = broker_topics_get(&broker->topics, (const char *)tp->topic.ptr, (size_t)tp->topic.len);
    broker_partition_t *part = t ? broker_topic_partition(t, tp->partition) : NULL;
    if (!part)
        return KERR_NONE; /* the topic was deleted: nothing left to mark */
    if (!part->log)
        return KERR_KAFKA_STORAGE_ERROR;
    buf_t batch;
    buf_init(&batch);
    int rc =
        proto_batch_build_marker(&batch, job->producer_id, job->producer_epoch,
                                 job->commit ? PROTO_MARKER_COMMIT : PROTO_MARKER_ABORT, job->coordinator_epoch, now);
    int64_t base = -1;
    if (rc == 0)
        rc = log_partition_append(part->log, batch.data, batch.len, part->replica.leader_epoch, &base);
    buf_fini(&batch);
    if (rc != 0) {
        LOG_ERROR("txns", "writing a %s marker to %s-%d: %s", job->commit ? "COMMIT" : "ABORT", t->name, tp->partition,
                  log_strerror(rc));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    broker_storage_appended(broker, t, tp->partition);
    /* Transactional offsets in __consumer_offsets become visible (or vanish) with the marker. */
    if (t == broker->groups.offsets_topic)
        group_txn_complete(broker->groups.coord, tp->partition, job->producer_id, job->commit, now);
    return KERR_NONE;
}

void broker_txns_write_markers(broker_t *broker, const txn_marker_job_t *job)
{
    int64_t now = clock_wall_ms();
    int16_t err = KERR_NONE;
    for (int32_t i = 0; i < job->partitions_count && err == KERR_NONE; i++)
        err = txns_write_marker(broker, job, &job->partitions[i], now);
    if (err == KERR_NONE)
        (void)txn_markers_written(broker->txns.coord, job->transactional_id, job->producer_id, job->producer_epoch,
                                  now);
    else
        txn_markers_failed(broker->txns.coord, job->transactional_id, job->producer_id, job->producer_epoch, now);
    /* read_committed fetches waiting on the last stable offset can go on */
    broker_wake_parked(broker);
}

static void txns_schedule(broker_t *broker);

void broker_txns_run(broker_t *broker)
{
    broker_txns_t *x = &broker->txns;
    if (!x->coord)
        return;
    int64_t now = clock_wall_ms();
    if (txn_has_pending_markers(x->coord, now)) {
        arena_t arena;
        arena_init(&arena, 0);
        txn_marker_job_t *jobs = NULL;
        int32_t n = 0;
        txn_take_pending_markers(x->coord, &arena, &jobs, &n, now);
        for (int32_t i = 0; i < n; i++)
            broker_txns_write_markers(broker, &jobs[i]);
        arena_fini(&arena);
    }
    txns_schedule(broker);
}

static void txns_on_timer(uv_timer_t *t)
{
    broker_t *broker = t->data;
    broker->txns.timer_due = INT64_MAX;
    txn_coordinator_tick(broker->txns.coord, clock_wall_ms());
    broker_txns_run(broker);
}

static void txns_schedule(broker_t *broker)
{
    broker_txns_t *x = &broker->txns;
    if (!x->coord || broker->stopping)
        return;
    int64_t due = txn_coordinator_next_deadline(x->coord);
    if (due == x->timer_due)
        return;
    x->timer_due = due;
    if (due == INT64_MAX) {
        uv_timer_stop(&x->timer);
        return;
    }
    int64_t wait = due - clock_wall_ms();
    uv_timer_start(&x->timer, txns_on_timer, wait > 0 ? (uint64_t)wait : 0, 0);
}

int broker_txns_init(broker_t *broker)
{
    broker_txns_t *x = &broker->txns;
    const broker_config_t *cfg = broker->cfg;
    /* Created by the first write or FindCoordinator (broker_txns_topic); loaded here when it is on disk. */
    broker_topic_t *t = broker_topics_get(&broker->topics, BROKER_TXN_STATE_TOPIC, strlen(BROKER_TXN_STATE_TOPIC));
    x->state_topic = t;
    txn_config_t tc;
    txn_config_default(&tc);
    tc.max_timeout_ms = (int32_t)cfg->transaction_max_timeout_ms;
    tc.num_partitions = t ? t->nparts : cfg->transaction_state_log_num_partitions;
    tc.transactional_id_expiration_ms = cfg->transactional_id_expiration_ms;
    static const txn_callbacks_t cb = {txns_append};
    int64_t now = clock_wall_ms();
    x->coord = txn_coordinator_new(&tc, &cb, broker, now);
    if (!x->coord)
        return -ENOMEM;
    const broker_replay_t rp = {txns_replay_record, NULL, broker};
    for (int32_t i = 0; t && i < t->nparts; i++) {
        txn_coordinator_load_begin(x->coord, i, now);
        broker_internal_replay(broker, t, i, &rp);
        txn_coordinator_load_end(x->coord, i, now);
    }
    if (t)
        LOG_INFO("txns", "loaded %d transactional ids from %s", txn_count(x->coord), BROKER_TXN_STATE_TOPIC);
    uv_timer_init(broker->loop, &x->timer);
    x->timer.data = broker;
    x->timer_due = INT64_MAX;
    /* Transactions a restart interrupted are finished now: aborted (fenced) or their commit completed. */
    broker_txns_run(broker);
    return 0;
}

static void txns_timer_closed(uv_handle_t *h)
{
    (void)h;
}

void broker_txns_stop(broker_t *broker)
{
    if (broker->txns.coord && !uv_is_closing((uv_handle_t *)&broker->txns.timer))
        uv_close((uv_handle_t *)&broker->txns.timer, txns_timer_closed);
}

void broker_txns_fini(broker_t *broker)
{
    txn_coordinator_free(broker->txns.coord);
    broker->txns.coord = NULL;
}
