/*
 * log/log: the partition log, the broker's storage engine.
 *
 * A partition is one directory `<log.dirs>/<topic>-<partition>/` holding an
 * ordered list of segments, each a `<20-digit base offset>.log` file of
 * RecordBatch v2 batches stored byte-for-byte as the producer sent them (only
 * the base offset and the partition leader epoch rewritten), with a sparse
 * `.index` (offset -> file position) and `.timeindex` (timestamp -> offset)
 * beside it: Kafka's own layout, so Kafka's tools can read it. This layer
 * assigns offsets, appends, rolls segments, answers reads as byte ranges of
 * whole batches (so the broker can later sendfile them) and offset-for-time
 * lookups; keeps the log start offset (DeleteRecords, retention by time and
 * size, deleting whole segments a read in flight may still hold); tracks the
 * recovery point (everything below it was fsynced) and offers flush jobs in
 * three steps so the fsync can run on a thread pool; and on open recovers
 * after an unclean stop: every batch from the recovery point on is checked
 * (length, magic, CRC-32C, offsets) and the log cut at the first bad byte.
 *
 * It does not validate batches on append (the broker checks CRC, sizes and
 * records before calling append), know about requests, topics or
 * replication, decide when to flush or run retention (the broker's timers and
 * flush policy do), write checkpoint files or the clean-shutdown marker (the
 * broker persists the recovery point and log start offset and passes them
 * back in log_config_t), or touch the event loop: it is a plain synchronous
 * library that the loop thread calls, and every call on one partition must
 * come from that thread, except log_flush_job_run, which may run anywhere.
 * All file I/O goes through log/io.h. Errors are 0 or a negative code: a
 * negative errno, or one of the LOG_E* codes below.
 *
 * Compaction (log/compact.c) runs in three steps like a flush, below.
 * Producer state (log/producer_state.h) makes idempotent appends exactly-once
 * and tracks transactions: log_partition_append_checked, the last stable
 * offset and the aborted-transaction index, below. Replication: the
 * leader-epoch cache and its `leader-epoch-checkpoint`, the follower's
 * append of fetched batches at their own offsets, and truncation from the
 * end, below.
 */
#ifndef EDDY_LOG_LOG_H
#define EDDY_LOG_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

/* Status codes of our own, outside the errno range. */
#define LOG_ERRNO_MAP(X)                                                                                               \
    X(LOG_EOUT_OF_RANGE, -9001, "offset outside the log's [start, end] range")                                         \
    X(LOG_ECORRUPT, -9002, "log data on disk failed a consistency check")                                              \
    X(LOG_ETOOLARGE, -9003, "batch cannot be stored (offset span or size out of range)")                               \
    X(LOG_EOUT_OF_ORDER_SEQUENCE, -9004, "producer sequence number out of order")                                      \
    X(LOG_EINVALID_PRODUCER_EPOCH, -9005, "producer epoch older than the partition has seen")                          \
    X(LOG_EINVALID_TXN_STATE, -9006, "non-transactional batch from a producer with an open transaction")               \
    X(LOG_ECOORDINATOR_FENCED, -9007, "transaction marker from an older coordinator epoch")                            \
    X(LOG_ECORRUPT_BATCH, -9008, "a batch to append failed its length, magic or CRC-32C check")                        \
    X(LOG_EUNEXPECTED_OFFSET, -9009, "a replicated batch starts below the log end offset")                             \
    X(LOG_EOFFSETS_OUT_OF_ORDER, -9010, "replicated batches whose offsets do not increase")

enum {
#define LOG_ERRNO_ENUM(name, value, text) name = value,
    LOG_ERRNO_MAP(LOG_ERRNO_ENUM)
#undef LOG_ERRNO_ENUM
};

/* Text for any code this layer returns (LOG_E* or a negative errno). */
const char *log_strerror(int err);

typedef struct log_config_s {
    int64_t segment_bytes;        /* log.segment.bytes: roll when the next batch would exceed it */
    int32_t index_interval_bytes; /* log.index.interval.bytes: log bytes between index entries */
    int32_t index_max_bytes;      /* log.index.size.max.bytes: roll when an index reaches it */
    int64_t roll_ms;              /* log.roll.ms: roll once the segment spans this long; <= 0 off */
    /* Wall clock for time-based rolling of segments without timestamps;
     * NULL means base/clock.h's clock_wall_ms. Tests pass their own. */
    int64_t (*now_ms)(void *arg);
    void *now_arg;
    /* Retention, applied by log_partition_retention; < 0 is unlimited. */
    int64_t retention_ms;    /* retention.ms: segments whose newest batch is older go */
    int64_t retention_bytes; /* retention.bytes: oldest segments go while the log is larger */
    /*
     * Inputs read only by log_partition_open (the broker's checkpoints):
     *   recovery_point    the recovery-point checkpoint; -1 = unknown, scan all
     *   log_start_offset  the log-start-offset checkpoint; -1 = the first
     *                     segment's base offset
     *   clean_shutdown    1 when the broker found its clean-shutdown marker:
     *                     no CRC scan, the files are trusted (a torn tail is
     *                     still cut)
     */
    int64_t recovery_point;
    int64_t log_start_offset;
    int clean_shutdown;
    /*
     * Compaction (cleanup.policy=compact or compact,delete; see
     * log_partition_compact_prepare). Retention above still applies when set:
     * for policy=compact alone the broker passes -1 for both.
     */
    int compact;                      /* 1: the topic is compacted */
    int64_t delete_retention_ms;      /* delete.retention.ms: tombstone lifetime after its first clean */
    double min_cleanable_dirty_ratio; /* min.cleanable.dirty.ratio, in [0, 1] */
    int64_t min_compaction_lag_ms;    /* min.compaction.lag.ms: newer segments are not cleaned yet */
    int64_t max_compaction_lag_ms;    /* max.compaction.lag.ms: older dirty data is cleaned regardless */
    /*
     * Open-only input, like recovery_point: the cleaner checkpoint (first
     * offset not yet cleaned); -1 = unknown, everything counts as dirty.
     */
    int64_t cleaner_point;
    /*
     * producer.id.expiration.ms: log_partition_expire_producers drops the
     * state of producers idle this long (and without an open transaction).
     */
    int64_t producer_id_expiration_ms;
} log_config_t;

/*
 * Kafka's defaults: 1 GiB segments, 4 KiB index interval, 10 MiB indexes,
 * 7 day roll. Retention unlimited (the broker passes its own
 * log.retention.* values), recovery point and log start offset unknown, no
 * clean shutdown: open scans everything. Not compacted; when it is, Kafka's
 * defaults: delete.retention.ms 1 day, dirty ratio 0.5, lags 0 and unlimited.
 * Producer ids expire after 1 day (86400000 ms).
 */
void log_config_defaults(log_config_t *cfg);

typedef struct log_partition_s log_partition_t;
typedef struct log_segment_s log_segment_t;

/*
 * Opens the partition in directory dir (created if missing, parents too),
 * loading its segments, loading or rebuilding their indexes, and finding the
 * log end offset by scanning the last segment from its last index entry. A
 * torn or invalid tail is cut off with a warning. cfg is copied. On success
 * *out owns the partition until log_partition_close or _remove.
 */
int log_partition_open(const char *dir, const log_config_t *cfg, log_partition_t **out);
/* Flushes and frees the partition; NULL is a no-op. Outstanding reads stay valid. */
void log_partition_close(log_partition_t *p);
/* Closes the partition and deletes its directory recursively (DeleteTopics). */
int log_partition_remove(log_partition_t *p);

/*
 * Appends one whole RecordBatch v2 of len bytes, already validated by the
 * caller. The batch is given base offset = log end offset and the leader
 * epoch, both written into the caller's buffer, and written with one write;
 * the log end offset then advances by last_offset_delta + 1. On any failure
 * nothing of the batch stays visible and the log is as before.
 */
int log_partition_append(log_partition_t *p, uint8_t *batch, size_t len, int32_t leader_epoch,
                         int64_t *base_offset_out);

/*
 * Idempotence and transactions. Both appends keep the partition's producer
 * state: per producer id (batches with producer_id -1 are not tracked) its
 * epoch and its last 5 batches' sequence and offset ranges, and its open
 * transaction. Kafka's rules (PROTOCOL.md §2.4), checked before writing:
 *
 *   same epoch, (base_sequence, last sequence) equal to a retained batch
 *       -> duplicate: nothing is written, 0 is returned with res->duplicate
 *          set and the ORIGINAL batch's offsets (and max timestamp);
 *   epoch < the producer's           -> LOG_EINVALID_PRODUCER_EPOCH;
 *   same epoch, base_sequence != last sequence + 1 (INT32_MAX wraps to 0)
 *                                    -> LOG_EOUT_OF_ORDER_SEQUENCE;
 *   higher epoch, base_sequence != 0 -> LOG_EOUT_OF_ORDER_SEQUENCE (unless
 *                                       the known epoch is -1);
 *   unknown (or expired) producer    -> any sequence is accepted;
 *   a non-transactional batch while the producer's transaction is open
 *                                    -> LOG_EINVALID_TXN_STATE.
 *
 * A control batch (attributes 0x20, written by the broker: transaction
 * markers, PROTOCOL.md §2.5) is checked for its epoch (lower:
 * LOG_EINVALID_PRODUCER_EPOCH) and coordinator epoch (lower than the last
 * marker's: LOG_ECOORDINATOR_FENCED); a COMMIT or ABORT ends the producer's
 * transaction, and an ABORT adds {producer, first offset, marker offset} to
 * the aborted-transaction index of the segment the marker lands in. A
 * control batch whose record does not parse is -EINVAL (nothing written).
 *
 * log_partition_append checks nothing (as before producer state existed,
 * and as Kafka appends replicated data): every batch is written and then
 * recorded in the producer state, so that the state always matches the log.
 * The broker's produce path must move to log_partition_append_checked; the
 * broker's own records (offsets, markers it already decided on) may stay on
 * log_partition_append.
 */
typedef struct log_append_result_s {
    int64_t base_offset;     /* where the batch is (the original batch's, for a duplicate) */
    int64_t last_offset;     /* its last offset */
    int64_t log_append_time; /* max timestamp when the batch has the LogAppendTime bit, else -1 */
    int duplicate;           /* 1: not written, an exact retry of a stored batch */
} log_append_result_t;

int log_partition_append_checked(log_partition_t *p, uint8_t *batch, size_t len, int32_t leader_epoch,
                                 log_append_result_t *res);

/*
 * Leader epochs (Kafka's LeaderEpochFileCache): the first offset written
 * under each leader epoch, persisted in `<dir>/leader-epoch-checkpoint`
 * (Kafka's text format) and written before the data it covers. An append
 * with leader_epoch >= 0 adds an entry when the epoch differs from the
 * latest one (Kafka's assign: entries with an epoch or start offset at or
 * above the new one go); -1 records nothing. Truncation from the end drops
 * entries starting at or past the new end; a moving log start offset moves
 * the first entry up to it. At open the file is made consistent with the
 * recovered log; a missing file means no epochs, a corrupt one is rebuilt
 * from the batches' partition leader epochs.
 */
/* The latest epoch in the cache, -1 when it is empty. */
int32_t log_partition_latest_epoch(const log_partition_t *p);
/*
 * OffsetForLeaderEpoch (Kafka's endOffsetFor): requested -1, no entries, or
 * an epoch above the latest: -1/-1. The latest epoch: it and the log end
 * offset. Else the start offset of the first epoch above requested, with the
 * largest epoch <= requested (requested itself when it is below the first
 * entry, as Kafka 3.9 answers).
 */
void log_partition_end_offset_for_epoch(const log_partition_t *p, int32_t requested_epoch, int32_t *epoch_out,
                                        int64_t *end_offset_out);
/* Kafka's maybeAssignEpochStartOffset (a new leader records its epoch at its LEO). 0, -EINVAL or an I/O error. */
int log_partition_assign_epoch(log_partition_t *p, int32_t epoch, int64_t start_offset);
/* Up to max entries, oldest first; returns how many there are. */
size_t log_partition_epoch_entries(const log_partition_t *p, int32_t *epochs, int64_t *start_offsets, size_t max);

/*
 * Follower append (Kafka's appendAsFollower): records holds one or more
 * whole RecordBatch v2 as fetched from the leader; a partial batch at the
 * end is ignored (a fetch response cut at its size limit). Each batch is
 * stored byte for byte at its own base offset and leader epoch. Checked
 * first, before anything is written: length, magic 2 and CRC-32C
 * (LOG_ECORRUPT_BATCH), the first base offset >= the log end
 * (LOG_EUNEXPECTED_OFFSET; gaps left by compaction are fine) and each next
 * one >= the previous batch's end (LOG_EOFFSETS_OUT_OF_ORDER). Producer
 * state, transaction markers and the aborted-transaction index are updated
 * as log_partition_append does; the epoch cache gets the batches' epochs.
 * On any failure nothing of the call stays visible. Nothing to append (an
 * empty or only partial set) is 0 with batches 0.
 */
typedef struct log_replica_append_result_s {
    int64_t first_offset; /* base offset of the first batch appended, -1 when none */
    int64_t last_offset;  /* last offset appended, -1 when none */
    int64_t end_offset;   /* the log end offset afterwards */
    size_t bytes;         /* bytes appended (the partial tail not counted) */
    size_t batches;
} log_replica_append_result_t;

int log_partition_append_replica(log_partition_t *p, const uint8_t *records, size_t len,
                                 log_replica_append_result_t *res);

/*
 * Truncation (Kafka's UnifiedLog.truncateTo): makes offset the log end
 * offset when it is below it. Segments with a base offset above it are
 * deleted (renamed *.deleted, unlinked when reads in flight are done); the
 * segment holding it is cut before the first batch whose last offset is >=
 * offset, so a batch that offset falls inside goes whole and the log end is
 * still offset, as Kafka does (the follower then fetches from there).
 * Indexes, the txnindex, max timestamp, recovery point (at most offset),
 * cleaner point (at most the active segment's base), the epoch cache and
 * producer state (newest snapshot at or below the end, then a replay) follow.
 * When offset is below the first segment's base the log is truncated fully
 * and starts at offset; a log start offset above offset comes down to it.
 * offset >= the end only drops epoch entries past the end (Kafka). Returns
 * 1 when truncated, 0 when not, -EINVAL for offset < 0, or an I/O error
 * (the partition should then be taken offline, as Kafka takes its dir).
 * Compaction and flush jobs started before are made stale.
 */
int log_partition_truncate_to(log_partition_t *p, int64_t offset);
/*
 * Kafka's truncateFullyAndStartAt: every segment deleted, one empty segment
 * at offset, log start = end = offset, producer state and epoch cache
 * emptied (their files too). 0 or an I/O error.
 */
int log_partition_truncate_fully_and_start_at(log_partition_t *p, int64_t offset);

/*
 * Drops the state of producers idle for cfg.producer_id_expiration_ms at
 * now_ms (the broker calls it periodically, Kafka:
 * producer.id.expiration.check.interval.ms, 10 min). A producer with an open
 * transaction never expires. Activity is the wall clock (cfg clock) of its
 * last append, or its last batch's max timestamp for state rebuilt from the
 * log. Returns how many expired.
 */
size_t log_partition_expire_producers(log_partition_t *p, int64_t now_ms);

/* What the partition knows of one producer (tests, tools, DescribeProducers). */
typedef struct log_producer_info_s {
    int16_t producer_epoch;
    int32_t last_sequence;     /* -1 when no batch is retained */
    int64_t last_offset;       /* of its last retained batch, -1 when none */
    int64_t last_timestamp;    /* activity time used for expiry */
    int32_t coordinator_epoch; /* -1 when no marker was seen */
    int64_t txn_first_offset;  /* first offset of its open transaction, -1 when none */
    int batches;               /* retained batches (at most 5) */
} log_producer_info_t;

/* Up to max known producer ids into ids (any order); returns how many there are in all. */
size_t log_partition_producer_ids(const log_partition_t *p, int64_t *ids, size_t max);
/* 1 with *out when the producer is known, 0 when not. */
int log_partition_producer(const log_partition_t *p, int64_t producer_id, log_producer_info_t *out);
size_t log_partition_producer_count(const log_partition_t *p);

/*
 * The last stable offset: the smallest first offset of an open transaction,
 * or the high watermark (the log end offset on one broker) when none is
 * open; never below the log start offset. read_committed fetches read below
 * it; ListOffsets latest answers it under read_committed.
 */
int64_t log_partition_last_stable_offset(const log_partition_t *p);

/* An aborted transaction, as the `.txnindex` stores it. */
typedef struct log_aborted_txn_s {
    int64_t producer_id;
    int64_t first_offset;
    int64_t last_offset;        /* the ABORT marker's offset */
    int64_t last_stable_offset; /* the partition's LSO right after the abort */
} log_aborted_txn_t;

/*
 * The aborted transactions a read_committed fetch from fetch_offset up to
 * upper_bound_offset (exclusive; the LSO or the end of the data returned)
 * must report: those with last_offset >= fetch_offset and first_offset <
 * upper_bound_offset, in marker order (Kafka's collectAbortedTxns). *out is
 * malloc'd (free it; NULL when *count is 0). 0 or -ENOMEM.
 */
int log_partition_aborted_txns(log_partition_t *p, int64_t fetch_offset, int64_t upper_bound_offset,
                               log_aborted_txn_t **out, size_t *count);

/*
 * Writes a producer-state snapshot `<log end offset>.snapshot` now (open,
 * roll and close do it themselves; for tools and tests). sync fsyncs it.
 */
int log_partition_snapshot_producers(log_partition_t *p, int sync);

/*
 * Applies changed topic config (segment, index, roll and retention fields; the
 * open-only inputs are ignored) from the next append or retention pass on.
 * Index size changes reach new segments only. -EINVAL leaves the old config.
 */
int log_partition_set_config(log_partition_t *p, const log_config_t *cfg);

/* Offsets below this are gone (retention, DeleteRecords); persist it in a checkpoint. */
int64_t log_partition_start_offset(const log_partition_t *p);
/* Offset the next batch will get (LEO; the high watermark on one broker). */
int64_t log_partition_end_offset(const log_partition_t *p);
/*
 * Largest batch max timestamp in the log and the last offset of the first
 * batch that reached it (Kafka's "shallow" offset; the broker may decode that
 * batch to find the exact record). -1/-1 on an empty log.
 */
void log_partition_max_timestamp(const log_partition_t *p, int64_t *ts, int64_t *offset);
/*
 * Heap bytes the partition holds: its struct, segment objects, the in-memory
 * copies of their offset, time and aborted-transaction indexes, and producer
 * state. Computed on demand (SIGUSR1), not tracked.
 */
size_t log_partition_memory(const log_partition_t *p);
/* Number of segments (for tests and metrics). */
size_t log_partition_segment_count(const log_partition_t *p);
/*
 * Segment i (oldest first, i < log_partition_segment_count): its base
 * offset, bytes of batches, and its .log file's modification time in ms
 * (-1 when it cannot be read; mtime_ms NULL: not asked, no stat). ListOffsets v0 answers from these, as Kafka
 * does. Returns 0 or -ERANGE.
 */
int log_partition_segment_info(const log_partition_t *p, size_t i, int64_t *base_offset, int64_t *size,
                               int64_t *mtime_ms);
/* Bytes of batches in all segments (retention.bytes counts these). */
int64_t log_partition_size_bytes(const log_partition_t *p);

/*
 * A read result: len bytes of whole batches at pos in fd. It holds a
 * reference on its segment, so the descriptor stays open (even if retention
 * deletes the segment) until log_read_release.
 */
typedef struct log_read_s {
    int fd;
    off_t pos;
    size_t len;
    log_segment_t *seg; /* reference held, NULL when len is 0 */
} log_read_t;

/*
 * Reads whole batches starting with the batch that holds offset, at most
 * max_bytes in total, from one segment. When min_one_batch is set and the
 * first batch alone is larger than max_bytes, it is returned whole (KIP-74);
 * otherwise such a read is empty. offset == end offset gives an empty read;
 * offset below the start or above the end gives LOG_EOUT_OF_RANGE.
 */
int log_partition_read(log_partition_t *p, int64_t offset, size_t max_bytes, int min_one_batch, log_read_t *out);
/* Appends the bytes the read describes to dst. */
int log_read_copy(const log_read_t *rd, buf_t *dst);
/* Drops the read's segment reference; safe on an empty or released read. */
void log_read_release(log_read_t *rd);

/*
 * ListOffsets by timestamp: the base offset (never below the start offset) of
 * the first batch whose max timestamp is >= ts, and that batch's max
 * timestamp. Batch granularity: the broker may decode the batch to find the
 * exact record. When no batch qualifies, *offset_out and *ts_out are -1 and
 * the return is 0. ts must be >= 0 (Kafka's -1/-2/-3 are the caller's).
 */
int log_partition_offset_for_time(log_partition_t *p, int64_t ts, int64_t *offset_out, int64_t *ts_out);

/*
 * DeleteRecords: moves the log start offset up to offset (-1: the high
 * watermark, which is the log end offset on one broker; never backwards) and
 * deletes the segments wholly below it. Offset above the end, or negative
 * other than -1: LOG_EOUT_OF_RANGE and nothing changes. *low_watermark_out
 * (may be NULL) gets the start offset after the call.
 */
int log_partition_delete_records(log_partition_t *p, int64_t offset, int64_t *low_watermark_out);

typedef struct log_retention_result_s {
    size_t segments_deleted;
    int64_t bytes_deleted;
    int64_t start_offset; /* the log start offset afterwards */
} log_retention_result_t;

/*
 * One retention pass, Kafka's rules, oldest segments first and only whole
 * segments: those whose newest batch timestamp (segment creation time when
 * none has one) is more than retention_ms before now_ms; then while the log
 * exceeds retention_bytes by at least the oldest segment's size; then those
 * wholly below the log start offset. The active segment goes only when
 * everything is expired and it is not empty: a new empty segment is rolled
 * first so the partition always has one. The start offset advances to the
 * first remaining segment. A deleted segment leaves the list at once; reads
 * in flight keep reading it (see log/segment.h). out may be NULL. Returns 0,
 * or the roll's error (the older segments are still deleted).
 */
int log_partition_retention(log_partition_t *p, int64_t now_ms, log_retention_result_t *out);

/*
 * Durability. The recovery point is the offset below which the log has been
 * fsynced, and the indexes of every segment wholly below it (the active
 * segment's offset and time indexes are rebuilt by the recovery scan after
 * an unclean stop); the broker checkpoints it and passes it back at open. A flush runs in three steps so the fsync
 * stays off the loop thread:
 *
 *   prepare (loop thread)  captures the descriptors of every segment with
 *                          unsynced writes (holding references) and, when a
 *                          segment was created or deleted since, the
 *                          directory; job->offset = the log end offset now.
 *   run (any thread)       fsyncs them; touches nothing but the job.
 *   complete (loop thread) publishes: on rc == 0 the recovery point moves to
 *                          job->offset and the captured writes count as
 *                          synced; on failure nothing is marked. Always
 *                          releases the job.
 *
 * Appends may continue between prepare and complete; they are the next
 * job's. Run at most one job per partition at a time (group commit: start the
 * next when this one completes); a job may hold the recovery point below a
 * segment that rolled while it ran, until the next job has synced it. A failed fsync may have dropped the dirty
 * pages (Linux), so a later successful flush does not prove the data is on
 * disk: the broker should treat a flush failure as a storage error for the
 * partition. If the partition was closed or removed while the job ran, call
 * complete with p == NULL, which only releases the job.
 */
typedef struct log_flush_job_s {
    int64_t offset;       /* the recovery point once the job succeeds */
    size_t count;         /* segments captured */
    log_segment_t **segs; /* references held until complete */
    uint64_t *gens;       /* each segment's write generation at prepare */
    int *fds;             /* 4 per segment: .log, .index, .timeindex, .txnindex */
    char *dir;            /* fsync this directory too when non-NULL */
    uint64_t dir_gen;     /* the directory's generation at prepare */
    uint64_t trunc_gen;   /* the partition's truncation count at prepare */
} log_flush_job_t;

int log_partition_flush_prepare(log_partition_t *p, log_flush_job_t *job);
/* Thread-safe: fsyncs what the job captured; 0 or the first error. */
int log_flush_job_run(log_flush_job_t *job);
void log_partition_flush_complete(log_partition_t *p, log_flush_job_t *job, int rc);
/* The three steps in a row on the calling thread (close, tests, tools). */
int log_partition_flush(log_partition_t *p);

int64_t log_partition_recovery_point(const log_partition_t *p);
/* Log end offset - recovery point: for log.flush.interval.messages. */
int64_t log_partition_unflushed_messages(const log_partition_t *p);
/* Wall time (config clock) of the last successful flush, or of open: for log.flush.interval.ms. */
int64_t log_partition_last_flush_ms(const log_partition_t *p);

/*
 * Compaction (Kafka's log cleaner) for topics with cfg.compact set: keeps at
 * least the latest record of every key. Three steps, like a flush, so that
 * the reading and rewriting stay off the loop thread:
 *
 *   prepare (loop thread)  decides whether there is work: the cleanable
 *                          range is the sealed segments before the first one
 *                          holding data newer than min_compaction_lag_ms or
 *                          reaching the last stable offset (the active
 *                          segment and open transactions are never
 *                          cleaned); it copies the aborted transactions
 *                          overlapping the range and every tracked
 *                          producer's last offset and epoch into the job;
 *                          its dirty part
 *                          is what lies at or above the cleaner point. It
 *                          runs when dirty/total bytes of that range >=
 *                          min_cleanable_dirty_ratio, or when the oldest
 *                          dirty segment began more than
 *                          max_compaction_lag_ms ago. Then it takes a
 *                          reference on every segment of the range and
 *                          returns 1; 0 when there is nothing to do (the job
 *                          is then empty and needs no complete), or an error
 *                          (-EBUSY while another job of the partition runs).
 *                          It always resets *job first: never pass the job
 *                          in flight.
 *   run (any thread)       builds the key -> latest offset map over the
 *                          whole range and writes the segments that change
 *                          as `<base>.log.cleaned` (+ `.index.cleaned`,
 *                          `.timeindex.cleaned`), fsynced; touches no
 *                          partition state. Returns 0 or an error.
 *   complete (loop thread) if every captured segment is still in the
 *                          partition, swaps the cleaned files in (oldest
 *                          first, crash-safe, see log/compact.h), removes
 *                          segments left empty, and moves the cleaner point
 *                          to the end of the range. If retention or
 *                          DeleteRecords removed one meanwhile, or rc < 0,
 *                          the cleaned files are discarded: -ESTALE or rc.
 *                          Always releases the job. p == NULL (partition
 *                          closed or removed meanwhile) only discards.
 *
 * Appends and reads go on while a job runs: appends only touch the active
 * segment, and reads holding an old segment keep reading its (replaced,
 * still open) files. What is kept: a record whose offset is the latest of
 * its key in the range, or past the range; records with a null key;
 * tombstones (null value) until their batch's delete horizon (set to
 * now + delete_retention_ms the first time a batch holding one is cleaned,
 * Kafka's KIP-534 rule: the horizon is stored as the batch's base
 * timestamp with attribute bit 0x40). Transactions, Kafka's cleaner rules:
 * records of aborted transactions (a transactional batch of producer P
 * inside an aborted [first_offset, last_offset] of P in the
 * aborted-transaction index) are dropped whatever their keys and never enter
 * the key map; committed transactional records are ordinary records; a
 * COMMIT/ABORT marker stays while the pass saw any batch of its transaction,
 * then gets a delete horizon (now + delete_retention_ms, bit 0x40) and is
 * dropped in the first pass after it; the batch holding an active producer's
 * last sequence stays (emptied if all its records go), and so does the marker
 * of a producer whose state holds no data batch, so a rebuild from the log
 * finds the same producer state and last stable offset. The `.txnindex`
 * files are not rewritten: entries of transactions whose data is gone stay.
 * A job that drops markers first writes a producer snapshot at the log end
 * and deletes the snapshots at or below the newest dropped marker (a restart
 * replaying from one would never see that transaction end).
 * Kept records keep their offsets; a batch losing records is rewritten with
 * the same base offset, last offset delta, producer fields, codec and
 * timestamp type, as Kafka does; a batch losing all of them is dropped,
 * except that the partition's first segment keeps its last batch as an empty
 * batch (records_count 0), so that no segment file is ever empty and the log
 * start offset survives a restart. Segments left empty are removed.
 */
typedef struct log_compact_stats_s {
    size_t segments;           /* segments in the cleaned range */
    size_t segments_rewritten; /* replaced by a cleaned copy */
    size_t segments_emptied;   /* removed: nothing left in them */
    int64_t bytes_before;      /* size of the range before */
    int64_t bytes_after;       /* and after */
    int64_t records_read;
    int64_t records_removed; /* superseded records and expired tombstones */
    int64_t tombstones_removed;
    int64_t batches_removed;
    int64_t aborted_records_removed; /* records of aborted transactions (counted in records_removed too) */
    int64_t markers_removed;         /* transaction markers (control batches) dropped */
} log_compact_stats_t;

typedef struct log_compact_job_s {
    int64_t first_offset;            /* base offset of the first captured segment */
    int64_t end_offset;              /* end of the cleaned range: the cleaner point afterwards */
    int64_t now_ms;                  /* the clock prepare was given (delete horizons) */
    log_compact_stats_t stats;       /* filled in by run */
    struct log_compact_work_s *work; /* private to log/compact.c */
} log_compact_job_t;

int log_partition_compact_prepare(log_partition_t *p, int64_t now_ms, log_compact_job_t *job);
/* Thread-safe: reads the captured segments and writes the cleaned files. */
int log_compact_job_run(log_compact_job_t *job);
int log_partition_compact_complete(log_partition_t *p, log_compact_job_t *job, int rc);
/*
 * The three steps in a row on the calling thread (tests, tools). 0 when
 * there was nothing to do or the job was applied; stats (may be NULL) get the
 * job's figures.
 */
int log_partition_compact(log_partition_t *p, int64_t now_ms, log_compact_stats_t *stats);
/*
 * The cleaner checkpoint: offsets below it have been cleaned. The broker
 * persists it (like the recovery point) and passes it back as
 * cfg->cleaner_point at open; losing it only makes the next job clean
 * everything again.
 */
int64_t log_partition_cleaner_point(const log_partition_t *p);

#endif
