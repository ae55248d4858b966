/*
 * log/index: a segment's sparse offset index and time index.
 *
 * Each index is an in-memory array of entries mirrored by an append-only file
 * holding exactly those entries (no preallocation, so a file's size is always
 * count * entry size). This module owns the file formats, loading with sanity
 * checks, appending, truncating, rewriting after a rebuild, and the binary
 * searches. Deciding when an entry is due, and rebuilding from the segment's
 * batches, belong to log/segment. All I/O goes through log/io.
 *
 * Offset index entry (8 bytes, big-endian):
 *   off  field            type   note
 *   0    relative_offset  int32  last offset of the batch - segment base offset
 *   4    position         int32  byte position of that batch in the .log file
 *
 * Time index entry (12 bytes, big-endian):
 *   off  field            type   note
 *   0    timestamp        int64  largest batch max timestamp in the segment so far
 *   8    relative_offset  int32  last offset of the first batch that reached it
 *
 * Loaded files are checked: whole entries only, offsets strictly increasing
 * from the base, positions strictly increasing and below the segment size,
 * timestamps strictly increasing. A file failing a check is reported as
 * LOG_ECORRUPT and the caller rebuilds it.
 *
 * The descriptor is opened on demand: an index given a reopen_prefix may have
 * fd -1 (log_*_index_release), and the next write opens prefix + ".index" or
 * ".timeindex" again. Lookups never need it, since every entry is in memory,
 * so a broker with thousands of quiet partitions holds one descriptor per
 * partition (its .log), not three.
 */
#ifndef EDDY_LOG_INDEX_H
#define EDDY_LOG_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define LOG_OFFSET_INDEX_ENTRY_SIZE 8
#define LOG_TIME_INDEX_ENTRY_SIZE   12

typedef struct log_offset_entry_s {
    int32_t rel_offset;
    int32_t position;
} log_offset_entry_t;

typedef struct log_time_entry_s {
    int64_t timestamp;
    int32_t rel_offset;
} log_time_entry_t;

typedef struct log_offset_index_s {
    int fd;                    /* -1 while released */
    const char *reopen_prefix; /* borrowed; NULL: fd is never reopened */
    int reopen_trunc;          /* the next reopen empties the file first */
    int64_t base_offset;
    size_t max_entries; /* "full" from here on: the segment rolls */
    size_t count;
    size_t cap;
    log_offset_entry_t *entries;
} log_offset_index_t;

typedef struct log_time_index_s {
    int fd;
    const char *reopen_prefix;
    int reopen_trunc;
    int64_t base_offset;
    size_t max_entries;
    size_t count;
    size_t cap;
    log_time_entry_t *entries;
} log_time_index_t;

/* Takes ownership of fd (closed by _fini). max_bytes is log.index.size.max.bytes. */
void log_offset_index_init(log_offset_index_t *idx, int fd, int64_t base_offset, int32_t max_bytes);
void log_offset_index_fini(log_offset_index_t *idx);
/* Closes the descriptor when the index can reopen it; the entries stay. */
void log_offset_index_release(log_offset_index_t *idx);
/*
 * Reads and checks the whole file against a segment of seg_size bytes whose
 * offsets are below next_offset (-1: not known yet). 0, LOG_ECORRUPT (the
 * caller rebuilds), -ENOMEM or an I/O error.
 */
int log_offset_index_load(log_offset_index_t *idx, int64_t seg_size, int64_t next_offset);
/* Writes the entry to the file, then keeps it; on failure neither changes. */
int log_offset_index_append(log_offset_index_t *idx, int64_t offset, int64_t position);
/* Drops entries from count on, in memory and in the file. */
int log_offset_index_truncate(log_offset_index_t *idx, size_t count);
/* In-memory only, for rebuilds; the file is written by _store. */
int log_offset_index_push(log_offset_index_t *idx, int64_t offset, int64_t position);
void log_offset_index_clear(log_offset_index_t *idx);
/* Rewrites the file to hold exactly the in-memory entries. */
int log_offset_index_store(log_offset_index_t *idx);
/*
 * Position of the indexed batch with the largest offset <= offset, and that
 * offset in *found (base offset and 0 when no entry is <= offset).
 */
int64_t log_offset_index_lookup(const log_offset_index_t *idx, int64_t offset, int64_t *found);
static inline int log_offset_index_full(const log_offset_index_t *idx)
{
    return idx->count >= idx->max_entries;
}

void log_time_index_init(log_time_index_t *idx, int fd, int64_t base_offset, int32_t max_bytes);
void log_time_index_fini(log_time_index_t *idx);
void log_time_index_release(log_time_index_t *idx);
/* As log_offset_index_load, for the time index. */
int log_time_index_load(log_time_index_t *idx, int64_t seg_size, int64_t next_offset);
/* Appends only if ts is larger than the last entry's (Kafka's maybeAppend). */
int log_time_index_maybe_append(log_time_index_t *idx, int64_t ts, int64_t offset);
int log_time_index_truncate(log_time_index_t *idx, size_t count);
int log_time_index_maybe_push(log_time_index_t *idx, int64_t ts, int64_t offset);
void log_time_index_clear(log_time_index_t *idx);
int log_time_index_store(log_time_index_t *idx);
/*
 * Offset of the entry with the largest timestamp < ts: every batch before
 * that offset's batch has a smaller max timestamp, so a search for ts can
 * start there. The base offset when no entry qualifies.
 */
int64_t log_time_index_lookup(const log_time_index_t *idx, int64_t ts);
static inline int log_time_index_full(const log_time_index_t *idx)
{
    return idx->count >= idx->max_entries;
}
/* Last entry, or 0 when empty. */
int log_time_index_last(const log_time_index_t *idx, int64_t *ts, int64_t *offset);

#endif
