#include "broker/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/diag.h"
#include "broker/broker.h"
#include "broker/meta.h"
#include "log/io.h"

#define STORAGE_CLEAN_MARKER  "/.eddy-clean-shutdown"
#define STORAGE_RECOVERY_FILE "/recovery-point-offset-checkpoint"
#define STORAGE_START_FILE    "/log-start-offset-checkpoint"
#define STORAGE_CLEANER_FILE  "/cleaner-offset-checkpoint"

typedef struct storage_compact_s {
    uv_work_t work;
    broker_t *broker;
    broker_topic_t *topic;
    int32_t partition;
    log_compact_job_t job;
    int rc;
} storage_compact_t;

typedef struct storage_job_s {
    uv_work_t work;
    broker_t *broker;
    broker_topic_t *topic;
    int32_t partition;
    log_flush_job_t job;
    int rc;
} storage_job_t;

static int storage_path(const broker_t *broker, const char *file, char *out, size_t len)
{
    int n = snprintf(out, len, "%s%s", broker->cfg->log_dirs, file);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int broker_storage_open(broker_t *broker)
{
    broker_storage_t *st = &broker->storage;
    st->queue = NULL;
    st->queued = st->queue_cap = 0;
    st->queue_open = false; /* until broker_storage_start: jobs start at once */
    broker_checkpoint_init(&st->recovery);
    broker_checkpoint_init(&st->start);
    broker_checkpoint_init(&st->cleaner);
    char path[4096];
    int rc = storage_path(broker, STORAGE_CLEAN_MARKER, path, sizeof(path));
    if (rc != 0)
        return rc;
    st->clean_shutdown = access(path, F_OK) == 0;
    /* Gone before anything is written: a crash from here on is an unclean stop. */
    if (st->clean_shutdown && unlink(path) != 0)
        return -errno;
    if ((rc = storage_path(broker, STORAGE_RECOVERY_FILE, path, sizeof(path))) != 0 ||
        (rc = broker_checkpoint_read(&st->recovery, path)) != 0)
        return rc;
    if ((rc = storage_path(broker, STORAGE_START_FILE, path, sizeof(path))) != 0 ||
        (rc = broker_checkpoint_read(&st->start, path)) != 0)
        return rc;
    if ((rc = storage_path(broker, STORAGE_CLEANER_FILE, path, sizeof(path))) != 0 ||
        (rc = broker_checkpoint_read(&st->cleaner, path)) != 0)
        return rc;
    LOG_INFO("storage", "%s; %zu recovery points, %zu start offsets checkpointed",
             st->clean_shutdown ? "clean shutdown last time: logs are trusted"
                                : "no clean-shutdown marker: logs after their recovery points will be checked",
             st->recovery.count, st->start.count);
    return 0;
}

static void storage_job_run(uv_work_t *w)
{
    storage_job_t *sj = w->data;
    sj->rc = log_flush_job_run(&sj->job);
}

static void storage_flush_now(broker_t *broker, broker_topic_t *t, int32_t index);

static void storage_job_done(uv_work_t *w, int status)
{
    storage_job_t *sj = w->data;
    broker_t *broker = sj->broker;
    broker_topic_t *t = sj->topic;
    broker_partition_t *part = &t->parts[sj->partition];
    int rc = status < 0 ? status : sj->rc;
    log_partition_flush_complete(part->log, &sj->job, rc); /* a NULL log only releases the job */
    part->flush_running = false;
    part->last_flush_rc = rc;
    part->last_flush_target = sj->job.offset;
    if (rc != 0)
        LOG_ERROR("storage", "fsync of %s-%d failed: %s", t->name, sj->partition, log_strerror(rc));
    free(sj);
    broker->storage.jobs_inflight--;
    broker->storage.flushes_done++;
    t->jobs_inflight--;
    if (t->deleted) {
        if (t->jobs_inflight == 0)
            broker_topics_destroy(t);
    } else if (part->flush_again || (rc == 0 && part->log && t->flush_messages > 0 &&
                                     log_partition_unflushed_messages(part->log) >= t->flush_messages)) {
        /* Appends that came while this job ran, or a segment that rolled
         * meanwhile and held the recovery point back: the next round starts
         * at once, before the answers below go out, so that its fsync runs
         * while they are written (not queued: with 100 producers that was
         * ~15% fewer acknowledged messages/s). */
        part->flush_again = false;
        storage_flush_now(broker, t, part->index);
    }
    /* Durable produces and commits waiting for this fsync can now answer. */
    broker_wake_flushed(broker);
}

/* Starts a flush job for one partition now, or notes that one more is needed. */
static void storage_flush_now(broker_t *broker, broker_topic_t *t, int32_t index)
{
    broker_partition_t *part = &t->parts[index];
    if (!part->log)
        return;
    if (part->flush_running) {
        part->flush_again = true;
        return;
    }
    storage_job_t *sj = calloc(1, sizeof(*sj));
    if (!sj) {
        part->last_flush_rc = -ENOMEM;
        part->last_flush_target = log_partition_end_offset(part->log);
        return;
    }
    int rc = log_partition_flush_prepare(part->log, &sj->job);
    if (rc != 0) {
        free(sj);
        part->last_flush_rc = rc;
        part->last_flush_target = log_partition_end_offset(part->log);
        return;
    }
    sj->broker = broker;
    sj->topic = t;
    sj->partition = index;
    sj->work.data = sj;
    part->flush_running = true;
    t->jobs_inflight++;
    broker->storage.jobs_inflight++;
    rc = uv_queue_work(broker->loop, &sj->work, storage_job_run, storage_job_done);
    if (rc != 0) {
        /* No pool: do it here rather than lose durability. */
        sj->rc = log_flush_job_run(&sj->job);
        storage_job_done(&sj->work, 0);
    }
}

/* Starts the queued jobs: the first thing of a loop iteration after the one that queued them. */
static void storage_queue_run(uv_idle_t *idle)
{
    broker_t *broker = idle->data;
    broker_storage_t *st = &broker->storage;
    uv_idle_stop(idle);
    /* A job that cannot go to the pool ends synchronously, and its
     * completion may queue again: take the list first. */
    broker_storage_queued_t *q = st->queue;
    size_t n = st->queued;
    st->queue = NULL;
    st->queued = st->queue_cap = 0;
    for (size_t i = 0; i < n; i++) {
        broker_topic_t *t = q[i].topic;
        t->jobs_inflight--;
        t->parts[q[i].partition].flush_again = false;
        if (t->deleted) {
            if (t->jobs_inflight == 0)
                broker_topics_destroy(t);
            continue;
        }
        storage_flush_now(broker, t, q[i].partition);
    }
    free(q);
}

/* Queues a flush job for the next loop iteration (see storage.h), or notes one more is needed. */
static void storage_flush_soon(broker_t *broker, broker_topic_t *t, int32_t index)
{
    broker_storage_t *st = &broker->storage;
    broker_partition_t *part = &t->parts[index];
    if (!part->log)
        return;
    if (part->flush_running || part->flush_again) {
        part->flush_again = true; /* running: once more after it; queued: already */
        return;
    }
    if (!st->queue_open || broker->stopping) {
        storage_flush_now(broker, t, index);
        return;
    }
    if (st->queued == st->queue_cap) {
        size_t cap = st->queue_cap ? 2 * st->queue_cap : 16;
        broker_storage_queued_t *q = realloc(st->queue, cap * sizeof(*q));
        if (!q) {
            storage_flush_now(broker, t, index);
            return;
        }
        st->queue = q;
        st->queue_cap = cap;
    }
    st->queue[st->queued++] = (broker_storage_queued_t){t, index};
    part->flush_again = true;
    t->jobs_inflight++;
    if (st->queued == 1)
        uv_idle_start(&st->queue_idle, storage_queue_run);
}

void broker_storage_appended(broker_t *broker, broker_topic_t *t, int32_t index)
{
    broker_partition_t *part = &t->parts[index];
    if (!part->log || t->flush_messages <= 0)
        return;
    if (log_partition_unflushed_messages(part->log) >= t->flush_messages)
        storage_flush_soon(broker, t, index);
}

int broker_storage_durable(broker_topic_t *t, int32_t index, int64_t target)
{
    broker_partition_t *part = &t->parts[index];
    if (!part->log)
        return -1;
    if (log_partition_recovery_point(part->log) >= target)
        return 1;
    if (!part->flush_running && part->last_flush_rc != 0 && part->last_flush_target >= target)
        return -1;
    return 0;
}

static int storage_collect(broker_t *broker, broker_checkpoint_t *rec, broker_checkpoint_t *start,
                           broker_checkpoint_t *cleaner)
{
    size_t pos = 0;
    broker_topic_t *t;
    int rc = 0;
    while (rc == 0 && (t = broker_topics_next(&broker->topics, &pos))) {
        for (int32_t i = 0; rc == 0 && i < t->nparts; i++) {
            log_partition_t *log = t->parts[i].log;
            if (!log)
                continue;
            rc = broker_checkpoint_add(rec, t->name, i, log_partition_recovery_point(log));
            if (rc == 0)
                rc = broker_checkpoint_add(start, t->name, i, log_partition_start_offset(log));
            if (rc == 0 && t->compacted)
                rc = broker_checkpoint_add(cleaner, t->name, i, log_partition_cleaner_point(log));
        }
    }
    return rc;
}

int broker_storage_checkpoint(broker_t *broker)
{
    broker_checkpoint_t rec, start, cleaner;
    broker_checkpoint_init(&rec);
    broker_checkpoint_init(&start);
    broker_checkpoint_init(&cleaner);
    char path[4096];
    int rc = storage_collect(broker, &rec, &start, &cleaner);
    if (rc == 0 && (rc = storage_path(broker, STORAGE_RECOVERY_FILE, path, sizeof(path))) == 0)
        rc = broker_checkpoint_write(&rec, path);
    if (rc == 0 && (rc = storage_path(broker, STORAGE_START_FILE, path, sizeof(path))) == 0)
        rc = broker_checkpoint_write(&start, path);
    if (rc == 0 && (rc = storage_path(broker, STORAGE_CLEANER_FILE, path, sizeof(path))) == 0)
        rc = broker_checkpoint_write(&cleaner, path);
    if (rc != 0)
        LOG_ERROR("storage", "writing checkpoints: %s", log_strerror(rc));
    broker_checkpoint_fini(&rec);
    broker_checkpoint_fini(&start);
    broker_checkpoint_fini(&cleaner);
    return rc;
}

static void storage_retention(broker_t *broker, int64_t now)
{
    size_t pos = 0;
    broker_topic_t *t;
    while ((t = broker_topics_next(&broker->topics, &pos))) {
        for (int32_t i = 0; i < t->nparts; i++) {
            if (!t->parts[i].log)
                continue;
            log_retention_result_t res;
            int rc = log_partition_retention(t->parts[i].log, now, &res);
            if (rc != 0)
                LOG_WARN("storage", "retention of %s-%d: %s", t->name, i, log_strerror(rc));
            else if (res.segments_deleted)
                LOG_INFO("storage", "retention removed %zu segments (%lld bytes) of %s-%d; log start offset %lld",
                         res.segments_deleted, (long long)res.bytes_deleted, t->name, i, (long long)res.start_offset);
        }
    }
}

static void storage_compact_next(broker_t *broker, int64_t now);

static void storage_compact_run(uv_work_t *w)
{
    storage_compact_t *sc = w->data;
    sc->rc = log_compact_job_run(&sc->job);
}

static void storage_compact_done(uv_work_t *w, int status)
{
    storage_compact_t *sc = w->data;
    broker_t *broker = sc->broker;
    broker_topic_t *t = sc->topic;
    int rc = status < 0 ? status : sc->rc;
    log_partition_t *log = t->deleted ? NULL : t->parts[sc->partition].log;
    rc = log_partition_compact_complete(log, &sc->job, rc);
    const log_compact_stats_t *cs = &sc->job.stats;
    if (rc == 0 && log)
        LOG_INFO("cleaner", "compacted %s-%d: %zu segments, %lld -> %lld bytes, %lld of %lld records removed", t->name,
                 sc->partition, cs->segments, (long long)cs->bytes_before, (long long)cs->bytes_after,
                 (long long)cs->records_removed, (long long)cs->records_read);
    else if (rc != 0 && rc != -ESTALE)
        LOG_WARN("cleaner", "compaction of %s-%d failed: %s", t->name, sc->partition, log_strerror(rc));
    free(sc);
    broker->storage.compact_running = false;
    broker->storage.jobs_inflight--;
    t->jobs_inflight--;
    if (t->deleted && t->jobs_inflight == 0)
        broker_topics_destroy(t);
    /* More partitions may be dirty: go on while there is work, one job at a time. */
    if (!broker->stopping)
        storage_compact_next(broker, clock_wall_ms());
}

static void storage_compact_next(broker_t *broker, int64_t now)
{
    broker_storage_t *st = &broker->storage;
    if (st->compact_running || !broker->cfg->log_cleaner_enable)
        return;
    size_t pos = 0;
    broker_topic_t *t;
    while ((t = broker_topics_next(&broker->topics, &pos))) {
        if (!t->compacted)
            continue;
        for (int32_t i = 0; i < t->nparts; i++) {
            if (!t->parts[i].log)
                continue;
            storage_compact_t *sc = calloc(1, sizeof(*sc));
            if (!sc)
                return;
            int rc = log_partition_compact_prepare(t->parts[i].log, now, &sc->job);
            if (rc != 1) {
                if (rc < 0 && rc != -EBUSY)
                    LOG_WARN("cleaner", "cannot plan compaction of %s-%d: %s", t->name, i, log_strerror(rc));
                free(sc);
                continue;
            }
            sc->broker = broker;
            sc->topic = t;
            sc->partition = i;
            sc->work.data = sc;
            st->compact_running = true;
            st->jobs_inflight++;
            t->jobs_inflight++;
            if (uv_queue_work(broker->loop, &sc->work, storage_compact_run, storage_compact_done) != 0) {
                sc->rc = -EAGAIN;
                storage_compact_done(&sc->work, 0);
            }
            return;
        }
    }
}

static void storage_tick(uv_timer_t *timer)
{
    broker_t *broker = timer->data;
    broker_storage_t *st = &broker->storage;
    const broker_config_t *cfg = broker->cfg;
    int64_t now = clock_wall_ms();
    size_t pos = 0;
    broker_topic_t *t;
    /* flush.ms: partitions whose oldest unflushed data waited long enough. */
    while ((t = broker_topics_next(&broker->topics, &pos))) {
        if (t->flush_ms <= 0 || t->flush_ms == INT64_MAX)
            continue;
        for (int32_t i = 0; i < t->nparts; i++) {
            log_partition_t *log = t->parts[i].log;
            if (log && log_partition_unflushed_messages(log) > 0 &&
                now - log_partition_last_flush_ms(log) >= t->flush_ms)
                storage_flush_soon(broker, t, i);
        }
    }
    if (now - st->last_retention_ms >= cfg->log_retention_check_interval_ms) {
        st->last_retention_ms = now;
        storage_retention(broker, now);
    }
    if (now - st->last_expiry_ms >= cfg->producer_id_expiration_check_interval_ms) {
        st->last_expiry_ms = now;
        pos = 0;
        while ((t = broker_topics_next(&broker->topics, &pos)))
            for (int32_t i = 0; i < t->nparts; i++)
                if (t->parts[i].log)
                    (void)log_partition_expire_producers(t->parts[i].log, now);
    }
    if (now - st->last_cleaner_ms >= cfg->log_cleaner_backoff_ms) {
        st->last_cleaner_ms = now;
        storage_compact_next(broker, now);
    }
    if (now - st->last_checkpoint_ms >= cfg->log_flush_offset_checkpoint_interval_ms) {
        st->last_checkpoint_ms = now;
        (void)broker_storage_checkpoint(broker);
    }
}

typedef struct storage_unlink_s {
    uv_work_t work;
    char *path;
    int rc;
} storage_unlink_t;

static void storage_unlink_run(uv_work_t *w)
{
    storage_unlink_t *u = w->data;
    u->rc = log_io_unlink(u->path);
}

static void storage_unlink_done(uv_work_t *w, int status)
{
    storage_unlink_t *u = w->data;
    if (status == 0 && u->rc < 0 && u->rc != -ENOENT)
        LOG_WARN("storage", "cannot unlink %s: %s", u->path, log_strerror(u->rc));
    free(u->path);
    free(u);
}

/* Deleted segments' files are unlinked on the pool: freeing a gigabyte of blocks is not loop work. */
static void storage_unlinker(char *path, void *arg)
{
    broker_t *broker = arg;
    storage_unlink_t *u = calloc(1, sizeof(*u));
    if (u) {
        u->path = path;
        u->work.data = u;
        if (uv_queue_work(broker->loop, &u->work, storage_unlink_run, storage_unlink_done) == 0)
            return;
        free(u);
    }
    (void)log_io_unlink(path);
    free(path);
}

void broker_storage_start(broker_t *broker)
{
    log_io_set_unlinker(storage_unlinker, broker);
    broker_storage_t *st = &broker->storage;
    /* The checkpoints read at start have served their purpose. */
    broker_checkpoint_fini(&st->recovery);
    broker_checkpoint_fini(&st->start);
    broker_checkpoint_fini(&st->cleaner);
    st->last_checkpoint_ms = st->last_retention_ms = st->last_cleaner_ms = st->last_expiry_ms = clock_wall_ms();
    uint64_t tick = (uint64_t)broker->cfg->log_flush_scheduler_interval_ms;
    if ((uint64_t)broker->cfg->log_retention_check_interval_ms < tick)
        tick = (uint64_t)broker->cfg->log_retention_check_interval_ms;
    if ((uint64_t)broker->cfg->log_cleaner_backoff_ms < tick)
        tick = (uint64_t)broker->cfg->log_cleaner_backoff_ms;
    if ((uint64_t)broker->cfg->log_flush_offset_checkpoint_interval_ms < tick)
        tick = (uint64_t)broker->cfg->log_flush_offset_checkpoint_interval_ms;
    uv_idle_init(broker->loop, &st->queue_idle);
    st->queue_idle.data = broker;
    st->queue_open = true;
    uv_timer_init(broker->loop, &broker->storage_timer);
    broker->storage_timer.data = broker;
    uv_timer_start(&broker->storage_timer, storage_tick, tick, tick);
}

static void storage_timer_closed(uv_handle_t *h)
{
    (void)h;
}

void broker_storage_stop(broker_t *broker)
{
    broker_storage_t *st = &broker->storage;
    if (st->queue_open) {
        /* What is queued starts now; from here on jobs start at once. */
        st->queue_open = false;
        storage_queue_run(&st->queue_idle);
        uv_close((uv_handle_t *)&st->queue_idle, storage_timer_closed);
    }
    if (uv_is_active((uv_handle_t *)&broker->storage_timer) || !uv_is_closing((uv_handle_t *)&broker->storage_timer))
        uv_close((uv_handle_t *)&broker->storage_timer, storage_timer_closed);
}

void broker_storage_close(broker_t *broker, bool clean)
{
    log_io_set_unlinker(NULL, NULL);
    broker_storage_t *st = &broker->storage;
    free(st->queue); /* empty after a stop; jobs the queue held were never started */
    st->queue = NULL;
    st->queued = st->queue_cap = 0;
    broker_checkpoint_fini(&st->recovery);
    broker_checkpoint_fini(&st->start);
    broker_checkpoint_fini(&st->cleaner);
    LOG_INFO("storage", "%llu flush jobs ran", (unsigned long long)st->flushes_done);
    if (!clean)
        return;
    char path[4096];
    if (storage_path(broker, STORAGE_CLEAN_MARKER, path, sizeof(path)) == 0 &&
        broker_meta_write_atomic(path, "", 0) != 0)
        LOG_WARN("storage", "cannot write the clean-shutdown marker; the next start will scan the logs");
}
