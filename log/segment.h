/*
 * log/segment: one segment of a partition: `<base>.log` and its two indexes.
 *
 * This module owns a segment's files and descriptors, appending one batch at
 * a time (with the index entries it calls for), scanning batch headers, the
 * recovery scan that finds the last whole batch and rebuilds the indexes, and
 * the segment's lifetime: a reference count, so that a read result keeps the
 * descriptor open even after the partition dropped (or retention deleted) the
 * segment. It does not decide when to roll or which segment holds an offset;
 * that is log/partition. It never trusts the file: every header is checked
 * and a bad one ends the scan with LOG_ECORRUPT, never a crash or an
 * over-read.
 *
 * The `.txnindex` (log/txn_index.h) is created with the segment and loaded
 * and checked at open; a missing or bad one, or one of a segment that a
 * recovery scan cut, is marked stale: only the partition can rebuild it,
 * because an aborted transaction may have started in an earlier segment.
 *
 * Index entries follow Kafka's rule: when more than index_interval_bytes of
 * batches were written since the last entry, the batch now being written gets
 * an offset-index entry (its last offset, its position) and the time index
 * gets (max timestamp so far, last offset of the first batch reaching it) if
 * that timestamp grew. Sealing a segment (roll, close) adds a final time
 * entry so that its last time entry is always its max timestamp.
 *
 * Deleting a segment (retention, DeleteRecords, recovery) renames its files
 * to `<name>.deleted` at once, so that a restart never takes them for live
 * segments, and unlinks them when the last reference goes: a read or flush
 * job in flight keeps the bytes readable through its descriptor. A restart
 * unlinks any `.deleted` file it finds.
 *
 * Durability is tracked with generations rather than a dirty bit: every
 * change to a segment's files bumps gen, and a flush job records the gen it
 * captured, so that a job completing late (or failing) never marks newer
 * writes as synced.
 *
 * Single-threaded like the rest of the log: references are taken and dropped
 * on the loop thread only. The one exception is a flush job's run step, which
 * only fsyncs descriptors the job captured (with references held) and reads
 * no segment field.
 */
#ifndef EDDY_LOG_SEGMENT_H
#define EDDY_LOG_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "log/index.h"
#include "log/log.h"
#include "log/txn_index.h"
#include "protocol/record_batch.h"

/* "<dir>/" + 20 digits + the longest suffix we use, below PATH_MAX. */
#define LOG_SEGMENT_NAME_DIGITS 20
#define LOG_SEGMENT_MAX_SUFFIX  24

struct log_segment_s {
    int64_t base_offset;
    int64_t next_offset; /* exact for the active segment and after a recovery scan */
    int64_t size;        /* bytes of whole batches; the file may be longer only
                            for the moment a failed append is being undone */
    int fd;              /* the .log file */
    char *path;          /* "<dir>/<20-digit base>", suffixes added on use */
    log_offset_index_t oidx;
    log_time_index_t tidx;
    log_txn_index_t txi;          /* aborted transactions whose marker is here (.txnindex) */
    int64_t max_timestamp;        /* -1 when no batch has a timestamp */
    int64_t max_timestamp_offset; /* last offset of the first batch reaching it */
    int64_t rolling_ts;           /* first batch's max timestamp (-1: none) for log.roll.ms */
    int64_t created_ms;           /* when opened or created: roll fallback */
    int64_t bytes_since_index;
    int refs;
    uint64_t gen;                     /* bumped by every change to the files */
    uint64_t synced_gen;              /* gen covered by the last successful fsync */
    unsigned deleted : 1;             /* files renamed to *.deleted; unlinked on the last unref */
    unsigned txi_reopen_trunc : 1;    /* the .txnindex is emptied when first reopened */
    unsigned index_files_pending : 1; /* .log empty: the index files are made by the first append */
};

static inline void log_segment_touch(log_segment_t *seg)
{
    seg->gen++;
}

static inline int log_segment_dirty(const log_segment_t *seg)
{
    return seg->gen != seg->synced_gen;
}

/*
 * Builds "<prefix><suffix>" into out (size outlen); -ENAMETOOLONG if it does
 * not fit.
 */
int log_segment_path(char *out, size_t outlen, const char *prefix, const char *suffix);

/* Creates a new empty segment (its .log must not exist yet); refs = 1. */
int log_segment_create(const char *dir, int64_t base_offset, const log_config_t *cfg, int64_t now_ms,
                       log_segment_t **out);
/*
 * Opens an existing segment. next_offset is the next segment's base offset,
 * or -1 for the last (active) segment. With full_scan set, every batch is
 * checked (header, CRC-32C, offsets increasing and below next_offset) and
 * the indexes rebuilt: log_segment_recover. Otherwise (a clean shutdown, or
 * a segment below the recovery point) the files are trusted: the indexes are
 * loaded and checked, and rebuilt by a recovery scan if missing or bad; the
 * active segment's tail is scanned (headers only) from its last index entry
 * to find the end, falling back to a recovery scan if anything there is
 * unexpected. *cut_bytes (may be NULL) receives the bytes a recovery scan
 * cut off the .log. refs = 1.
 */
int log_segment_open(const char *dir, int64_t base_offset, const log_config_t *cfg, int64_t next_offset, int64_t now_ms,
                     int full_scan, int64_t *cut_bytes, log_segment_t **out);
/*
 * Scans the whole segment checking every batch (length, magic, CRC-32C,
 * offsets increasing from the base and below limit_offset when that is >= 0),
 * truncates the .log at the first invalid byte (with a warning naming the
 * bytes and offsets cut) and rewrites both indexes from the batches. The
 * bytes cut go to *cut_bytes (may be NULL).
 */
int log_segment_recover(log_segment_t *seg, int32_t index_interval_bytes, int64_t limit_offset, int64_t *cut_bytes);

/*
 * Writes batch (len bytes, hdr its parsed header with the final base offset)
 * at the end. On failure the file is cut back and nothing changes.
 */
int log_segment_append(log_segment_t *seg, const uint8_t *batch, size_t len, const proto_batch_header_t *hdr,
                       int32_t index_interval_bytes);
/*
 * The same for n batches lying back to back in data (len bytes in all,
 * hdrs their headers at their final offsets): one write, then the index
 * entries each batch calls for. All or nothing.
 */
int log_segment_append_run(log_segment_t *seg, const uint8_t *data, size_t len, const proto_batch_header_t *hdrs,
                           size_t n, int32_t index_interval_bytes);
/*
 * Kafka's LogSegment.truncateTo: cuts the .log before the first batch whose
 * last offset is >= offset (nothing when none is), and drops the index,
 * time-index and txnindex entries of what was cut; the max timestamp is
 * recomputed from what is left (the last time entry, then a scan after it).
 * next_offset is left to the caller (the partition's new end). An emptied
 * segment ages from now_ms again. Returns the bytes cut, or an error (the
 * .log is then as before).
 */
int64_t log_segment_truncate(log_segment_t *seg, int64_t offset, int64_t now_ms);
/* Opens the .txnindex descriptor if it was released (creating the file); 0 or an error. Call before writing it. */
int log_segment_txn_index_fd(log_segment_t *seg);
/* Adds the final time-index entry (on roll and close). */
int log_segment_seal(log_segment_t *seg);
/* fdatasyncs the .log and the open index files. */
int log_segment_sync(log_segment_t *seg);
/* Unlinks the segment's four files (descriptors stay valid until the last unref). */
int log_segment_unlink(log_segment_t *seg);
/*
 * Schedules the segment's deletion: renames its files to *.deleted now and
 * unlinks them on the last unref. A failed rename falls back to unlinking
 * that file at once (an open descriptor still reads it). Idempotent.
 */
int log_segment_mark_deleted(log_segment_t *seg);
/* Unlinks the four files of the segment at base_offset in dir by name; *bytes gets the .log size (-1 unknown). */
int log_segment_delete_files(const char *dir, int64_t base_offset, int64_t *bytes);

/*
 * The byte range of whole batches starting with the first batch whose last
 * offset is >= offset: at most max_bytes, or the first batch whole when it is
 * bigger and min_one_batch is set (else length 0). Returns 1 with *pos and *len,
 * 0 when no batch of this segment reaches offset, or an error.
 */
int log_segment_read(log_segment_t *seg, int64_t offset, size_t max_bytes, int min_one_batch, int64_t *pos,
                     size_t *len);
/*
 * First batch with max timestamp >= ts and last offset >= min_offset: 1 with
 * its base offset and max timestamp, 0 when none, or an error.
 */
int log_segment_find_time(log_segment_t *seg, int64_t ts, int64_t min_offset, int64_t *offset, int64_t *batch_ts);

void log_segment_ref(log_segment_t *seg);
/* Drops a reference; the last one closes the files and frees the segment. */
void log_segment_unref(log_segment_t *seg);

/*
 * A forward scan over batch headers in [pos, end) of a .log file, reading
 * through a small buffer so that walking many small batches costs few
 * syscalls. Not tied to a segment so that recovery and tools can use it.
 */
#define LOG_SCAN_BUF_SIZE 16384

typedef struct log_scan_s {
    int fd;
    int64_t pos; /* start of the next batch; on LOG_ECORRUPT, of the bad one */
    int64_t end;
    int64_t buf_pos;
    size_t buf_len;
    uint8_t buf[LOG_SCAN_BUF_SIZE];
} log_scan_t;

void log_scan_init(log_scan_t *sc, int fd, int64_t pos, int64_t end);
/*
 * 1 with the next batch's header and position, 0 at exactly end, LOG_ECORRUPT
 * when the bytes at pos are not a whole batch with a plausible header (too
 * short, magic != 2, length too small or past end, negative offsets), or an
 * I/O error.
 */
int log_scan_next(log_scan_t *sc, proto_batch_header_t *hdr, int64_t *batch_pos);

#endif
