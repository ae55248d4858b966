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
 * lookups, and finds the end of the log again after a restart.
 *
 * It does not validate batches (the broker checks CRC, sizes and records
 * before calling append), know about requests, topics or replication, or
 * touch the event loop: it is a plain synchronous library that the loop
 * thread calls, and every call on one partition must come from that thread.
 * All file I/O goes through log/io.h. Errors are 0 or a negative code: a
 * negative errno, or one of the LOG_E* codes below.
 *
 * Not yet here (next storage issue): CRC scan on recovery, flush policies with
 * group-commit fsync off the loop thread, retention and DeleteRecords (the
 * log start offset), compaction, checkpoint files, a clean-shutdown marker.
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
    X(LOG_ETOOLARGE, -9003, "batch cannot be stored (offset span or size out of range)")

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
} log_config_t;

/* Kafka's defaults: 1 GiB segments, 4 KiB index interval, 10 MiB indexes, 7 days. */
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

/* Offsets below this are gone (retention, DeleteRecords: next issue). */
int64_t log_partition_start_offset(const log_partition_t *p);
/* Offset the next batch will get (LEO; the high watermark on one broker). */
int64_t log_partition_end_offset(const log_partition_t *p);
/*
 * Largest batch max timestamp in the log and the last offset of the first
 * batch that reached it (Kafka's "shallow" offset; the broker may decode that
 * batch to find the exact record). -1/-1 on an empty log.
 */
void log_partition_max_timestamp(const log_partition_t *p, int64_t *ts, int64_t *offset);
/* Number of segments (for tests and metrics). */
size_t log_partition_segment_count(const log_partition_t *p);

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

/* fsyncs every segment written since the last flush, their indexes and the directory. */
int log_partition_flush(log_partition_t *p);

#endif
