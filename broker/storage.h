/*
 * broker/storage: the broker's side of durability and disk housekeeping.
 *
 * The log is a synchronous library; this module decides when its work runs
 * and where. fsync runs on libuv's thread pool, never on the loop: a
 * partition has at most one flush job at a time, and appends that arrive
 * while it runs are covered by the next job (group commit), so durable mode
 * costs one fsync per round, not one per batch. An append does not start a
 * job in the middle of the loop's I/O: the partition is queued, and the
 * queue starts at the beginning of the next loop iteration (an idle handle,
 * which also keeps the loop from sleeping meanwhile), so that one job covers
 * the appends of every request read in the same iteration. The job that
 * follows a completed one starts at once, before the completed one's
 * answers are written, so that its fsync overlaps that work. A periodic
 * tick applies
 * Kafka's flush.ms / log.flush.interval.ms, retention (retention.ms,
 * retention.bytes), runs the log cleaner for compacted topics (one job at a
 * time on the pool), and writes the recovery-point, log-start-offset and
 * cleaner-offset checkpoints. At start it reads the checkpoints and the clean-shutdown
 * marker; at a clean stop it writes them last.
 */
#ifndef EDDY_BROKER_STORAGE_H
#define EDDY_BROKER_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "broker/checkpoint.h"

typedef struct broker_s broker_t;
typedef struct broker_topic_s broker_topic_t;

/* A partition waiting for its flush job to start (see above). */
typedef struct broker_storage_queued_s {
    broker_topic_t *topic;
    int32_t partition;
} broker_storage_queued_t;

typedef struct broker_storage_s {
    broker_checkpoint_t recovery; /* as read at start */
    broker_checkpoint_t start;
    broker_checkpoint_t cleaner;
    bool clean_shutdown; /* the marker was there at start */
    int64_t last_checkpoint_ms;
    int64_t last_retention_ms;
    int64_t last_cleaner_ms;
    int64_t last_expiry_ms;
    bool compact_running; /* one cleaner job at a time, like Kafka's single cleaner thread */
    int jobs_inflight;
    uint64_t flushes_done; /* fsync jobs finished, reported at shutdown (benchmarks read it) */
    /* Flush jobs to start at the next iteration. A queued partition has
     * flush_again set while flush_running is not, and holds a topic
     * reference (jobs_inflight) so that a deletion waits for it. */
    broker_storage_queued_t *queue;
    size_t queued;
    size_t queue_cap;
    uv_idle_t queue_idle;
    bool queue_open; /* queue_idle initialised and not yet closed */
} broker_storage_t;

/* Reads the checkpoints and consumes the clean-shutdown marker (before topics load). */
int broker_storage_open(broker_t *broker);
/* Starts the periodic tick (after topics load). */
void broker_storage_start(broker_t *broker);
/* After an append to topic/partition: queue a flush if the topic's policy says so. */
void broker_storage_appended(broker_t *broker, broker_topic_t *topic, int32_t partition);
/* Writes both checkpoint files from the open logs. */
int broker_storage_checkpoint(broker_t *broker);
/* Stops the tick; flush jobs still running keep the loop alive until they end. */
void broker_storage_stop(broker_t *broker);
/* Last step of a stop, after the logs are closed: the marker when the stop was clean
 * (everything flushed and checkpointed). */
void broker_storage_close(broker_t *broker, bool clean);
/* Whether offset `target` of a partition is on disk (1), failed to get there (-1), or not yet (0). */
int broker_storage_durable(broker_topic_t *topic, int32_t partition, int64_t target);

#endif
