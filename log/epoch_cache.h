/*
 * log/epoch_cache (internal): a partition's leader-epoch cache, Kafka's
 * LeaderEpochFileCache, prefix log_epoch_.
 *
 * An ordered list of (leader epoch, start offset): the first offset written
 * under each epoch. Both fields strictly increase along the list. It answers
 * OffsetForLeaderEpoch (log_epoch_end_offset_for) and is cut when the log is
 * truncated from either end. It is persisted as Kafka's
 * `leader-epoch-checkpoint` in the partition directory:
 *
 *   0                    version line
 *   2                    count line
 *   0 100                one line per entry: epoch, space, start offset
 *   3 250
 *
 * replaced atomically (`leader-epoch-checkpoint.tmp`, fsync, rename, fsync
 * of the directory). Parsing follows Kafka's CheckpointFile: version 0, the
 * count must match the lines, each line exactly two whitespace-separated
 * integers, epochs and offsets >= 0; entries are added through the same
 * assign rule, so an out-of-order file is made monotonic as Kafka does.
 * Anything else is LOG_ECORRUPT, never a crash. It does not decide when to
 * assign or truncate (log/partition does), and reads no log data.
 */
#ifndef EDDY_LOG_EPOCH_CACHE_H
#define EDDY_LOG_EPOCH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "log/log.h"

#define LOG_EPOCH_CHECKPOINT_NAME "leader-epoch-checkpoint"
/* A checkpoint larger than this is not ours (about a million entries). */
#define LOG_EPOCH_CHECKPOINT_MAX_BYTES (32u * 1024u * 1024u)

typedef struct log_epoch_entry_s {
    int32_t epoch;
    int64_t start_offset;
} log_epoch_entry_t;

typedef struct log_epoch_cache_s {
    log_epoch_entry_t *entries;
    size_t count;
    size_t cap;
} log_epoch_cache_t;

void log_epoch_init(log_epoch_cache_t *ec);
void log_epoch_fini(log_epoch_cache_t *ec);
/* dst becomes a copy of src (dst initialised or empty). 0 or -ENOMEM. */
int log_epoch_copy(log_epoch_cache_t *dst, const log_epoch_cache_t *src);
int log_epoch_equal(const log_epoch_cache_t *a, const log_epoch_cache_t *b);

/* Whether assign(epoch, start) would change anything (Kafka's isUpdateNeeded). */
int log_epoch_update_needed(const log_epoch_cache_t *ec, int32_t epoch, int64_t start_offset);
/*
 * Kafka's assign: when the epoch differs from the latest entry's, or its
 * start offset is below the latest's, every entry from the end whose epoch is
 * >= epoch or whose start offset is >= start_offset goes, and the new entry
 * is added. 1 when changed, 0 when not, -EINVAL for a negative epoch or
 * offset, -ENOMEM.
 */
int log_epoch_assign(log_epoch_cache_t *ec, int32_t epoch, int64_t start_offset);
/* Removes the entries with start offset >= end_offset; 1 when any went. */
int log_epoch_truncate_from_end(log_epoch_cache_t *ec, int64_t end_offset);
/*
 * Removes the entries with start offset <= start_offset and puts the last of
 * them back with start_offset as its start (Kafka: exclusive, an entry at
 * start_offset itself stays as it is). 1 when changed.
 */
int log_epoch_truncate_from_start(log_epoch_cache_t *ec, int64_t start_offset);
/* The latest epoch, or -1 when the cache is empty. */
int32_t log_epoch_latest(const log_epoch_cache_t *ec);
/*
 * Kafka's endOffsetFor: requested -1, an empty cache or an epoch above every
 * entry: -1/-1. The latest epoch: itself and log_end_offset. Otherwise the
 * start offset of the first entry above the requested epoch, with the largest
 * epoch <= requested, or the requested epoch itself when it is below every
 * entry (Kafka 3.9 answers so; the data before the first entry is gone).
 */
void log_epoch_end_offset_for(const log_epoch_cache_t *ec, int32_t requested, int64_t log_end_offset,
                              int32_t *epoch_out, int64_t *end_offset_out);

/* Kafka's text form into a malloc'd buffer (*out, *len). 0 or -ENOMEM. */
int log_epoch_encode(const log_epoch_cache_t *ec, char **out, size_t *len);
/* Parses the text form into ec (emptied first). 0, LOG_ECORRUPT or -ENOMEM. */
int log_epoch_parse(log_epoch_cache_t *ec, const char *data, size_t len);
/* Writes dir/leader-epoch-checkpoint atomically. */
int log_epoch_store(const log_epoch_cache_t *ec, const char *dir);
/* Loads dir/leader-epoch-checkpoint: 0, -ENOENT when missing, LOG_ECORRUPT, or an I/O error. */
int log_epoch_load(log_epoch_cache_t *ec, const char *dir);

#endif
