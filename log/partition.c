#include "log/partition.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/diag.h"
#include "log/compact.h"
#include "log/io.h"
#include "protocol/record_batch.h"

#define SUBSYS "log"

/* Removing a partition recurses at most this deep (Kafka's have no subdirectories). */
#define REMOVE_MAX_DEPTH 4
/* Descriptors a flush job fsyncs per segment: .log, .index, .timeindex, .txnindex. */
#define FLUSH_FDS 4
/* Producer-state snapshots kept (the newest ones); older ones are deleted. */
#define SNAPSHOTS_KEPT 3
/* A control batch bigger than this is not a transaction marker we wrote. */
#define MARKER_MAX_BYTES 65536

static int64_t now_ms(const log_config_t *cfg)
{
    return cfg->now_ms != NULL ? cfg->now_ms(cfg->now_arg) : clock_wall_ms();
}

static int config_check(const log_config_t *cfg)
{
    /* Positions in the index are int32, so no segment may pass 2 GiB. */
    if (cfg->segment_bytes <= 0 || cfg->segment_bytes > INT32_MAX)
        return -EINVAL;
    if (cfg->index_interval_bytes < 0)
        return -EINVAL;
    if (cfg->index_max_bytes < LOG_TIME_INDEX_ENTRY_SIZE)
        return -EINVAL;
    if (cfg->compact &&
        (cfg->delete_retention_ms < 0 || !(cfg->min_cleanable_dirty_ratio >= 0.0) ||
         cfg->min_cleanable_dirty_ratio > 1.0 || cfg->min_compaction_lag_ms < 0 || cfg->max_compaction_lag_ms < 0))
        return -EINVAL;
    return 0;
}

size_t log_partition_segment_for(const log_partition_t *p, int64_t offset)
{
    size_t lo = 0, hi = p->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->segs[mid]->base_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 ? lo - 1 : 0;
}

static int segs_reserve(log_partition_t *p, size_t need)
{
    if (need <= p->cap)
        return 0;
    size_t ncap = p->cap != 0 ? p->cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    log_segment_t **n = realloc(p->segs, ncap * sizeof *n);
    if (n == NULL)
        return -ENOMEM;
    p->segs = n;
    p->cap = ncap;
    return 0;
}

/* mkdir -p, each component through the I/O shim. */
static int make_dirs(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0)
        return -EINVAL;
    if (len >= sizeof path)
        return -ENAMETOOLONG;
    /* Usually the directory or at least its parent exists: one call, not one per level. */
    int rc = log_io_mkdir(dir, 0755);
    if (rc != -ENOENT)
        return rc;
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i < len; i++) {
        if (path[i] != '/')
            continue;
        path[i] = '\0';
        rc = log_io_mkdir(path, 0755);
        path[i] = '/';
        if (rc < 0)
            return rc;
    }
    return log_io_mkdir(path, 0755);
}

typedef struct base_list_s {
    int64_t *bases;
    size_t count;
    size_t cap;
    const char *dir;
} base_list_t;

#define DELETED_SUFFIX ".deleted"

/*
 * Accepts exactly "<20 digits>.log"; other files (indexes, future .swap) are
 * skipped, and "*.deleted" leftovers of a deletion a crash interrupted are
 * unlinked.
 */
static int collect_segment(void *arg, const char *name)
{
    base_list_t *bl = arg;
    uint64_t v = 0;
    size_t nlen = strlen(name);
    if (nlen > strlen(DELETED_SUFFIX) && strcmp(name + nlen - strlen(DELETED_SUFFIX), DELETED_SUFFIX) == 0) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", bl->dir, name);
        if (n > 0 && (size_t)n < sizeof path) {
            int rc = log_io_unlink(path);
            if (rc < 0 && rc != -ENOENT)
                LOG_WARN(SUBSYS, "%s: cannot unlink: %s", path, log_strerror(rc));
        }
        return 0;
    }
    if (strlen(name) != LOG_SEGMENT_NAME_DIGITS + 4 || strcmp(name + LOG_SEGMENT_NAME_DIGITS, ".log") != 0)
        return 0;
    for (int i = 0; i < LOG_SEGMENT_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10) {
            LOG_WARN(SUBSYS, "%s/%s: base offset out of range, ignored", bl->dir, name);
            return 0;
        }
        v = v * 10 + d;
    }
    if (bl->count == bl->cap) {
        size_t ncap = bl->cap != 0 ? bl->cap * 2 : 16;
        int64_t *n = realloc(bl->bases, ncap * sizeof *n);
        if (n == NULL)
            return -ENOMEM;
        bl->bases = n;
        bl->cap = ncap;
    }
    bl->bases[bl->count++] = (int64_t)v;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void partition_free(log_partition_t *p)
{
    for (size_t i = 0; i < p->nsegs; i++)
        log_segment_unref(p->segs[i]);
    log_pstate_fini(&p->pstate);
    log_epoch_fini(&p->epochs);
    buf_fini(&p->scratch);
    free(p->segs);
    free(p->dir);
    free(p);
}

static void update_max_timestamp(log_partition_t *p, int64_t ts, int64_t offset)
{
    if (ts > p->max_timestamp) {
        p->max_timestamp = ts;
        p->max_timestamp_offset = offset;
    }
}

void log_partition__recompute_max_timestamp(log_partition_t *p)
{
    p->max_timestamp = -1;
    p->max_timestamp_offset = -1;
    for (size_t i = 0; i < p->nsegs; i++)
        update_max_timestamp(p, p->segs[i]->max_timestamp, p->segs[i]->max_timestamp_offset);
}

/*
 * Takes segs[0, k) out of the partition (k < nsegs) and schedules their
 * files' deletion; reads holding one keep it alive. The start offset moves up
 * to the first remaining segment.
 */
static void drop_oldest(log_partition_t *p, size_t k, const char *why, log_retention_result_t *res)
{
    if (k == 0)
        return;
    DIAG_ASSERT(k < p->nsegs);
    for (size_t i = 0; i < k; i++) {
        log_segment_t *seg = p->segs[i];
        LOG_INFO(SUBSYS, "%s: deleting segment %" PRId64 " (%" PRId64 " bytes, offsets [%" PRId64 ", %" PRId64 ")): %s",
                 p->dir, seg->base_offset, seg->size, seg->base_offset, seg->next_offset, why);
        (void)log_segment_mark_deleted(seg); /* warns itself */
        if (res != NULL) {
            res->segments_deleted++;
            res->bytes_deleted += seg->size;
        }
        log_segment_unref(seg);
    }
    memmove(p->segs, p->segs + k, (p->nsegs - k) * sizeof *p->segs);
    p->nsegs -= k;
    p->dir_gen++;
    if (p->segs[0]->base_offset > p->start_offset)
        p->start_offset = p->segs[0]->base_offset;
    log_partition__recompute_max_timestamp(p);
}

/* How many of the oldest segments lie wholly below the start offset. */
static size_t below_start(const log_partition_t *p)
{
    size_t k = 0;
    while (k + 1 < p->nsegs && p->segs[k + 1]->base_offset <= p->start_offset)
        k++;
    return k;
}

/* After a cut during recovery, the log ends there: later segments go. */
static void delete_later_segments(const log_partition_t *p, const int64_t *bases, size_t count, int64_t cut_at)
{
    for (size_t i = 0; i < count; i++) {
        int64_t bytes;
        int rc = log_segment_delete_files(p->dir, bases[i], &bytes);
        LOG_WARN(SUBSYS,
                 "%s: deleting segment %" PRId64 " (%" PRId64 " bytes) after the log was cut at offset %" PRId64 "%s%s",
                 p->dir, bases[i], bytes, cut_at, rc < 0 ? ": " : "", rc < 0 ? log_strerror(rc) : "");
    }
}

/* Index of the segment holding offset among sorted bases (0 if none starts at or below it). */
static size_t base_index_for(const int64_t *bases, size_t count, int64_t offset)
{
    size_t i = 0;
    while (i + 1 < count && bases[i + 1] <= offset)
        i++;
    return i;
}

/* ---- producer state: snapshots and rebuild ---- */

/*
 * Deletes snapshots a restart can no longer use: beyond the SNAPSHOTS_KEPT
 * newest, and those below the first segment (the batches between them and
 * the log are gone, so they would need a scan that cannot happen). The
 * newest is always kept: it holds producers whose batches retention removed,
 * which Kafka keeps until they expire.
 */
static void snapshots_prune(log_partition_t *p)
{
    int64_t *offs;
    size_t n;
    if (log_pstate_list_snapshots(p->dir, &offs, &n) < 0)
        return;
    for (size_t i = 0; i + 1 < n; i++) {
        if (i + SNAPSHOTS_KEPT < n || offs[i] < p->segs[0]->base_offset) {
            int rc = log_pstate_remove_snapshot(p->dir, offs[i]);
            if (rc < 0)
                LOG_WARN(SUBSYS, "%s: cannot delete snapshot %" PRId64 ": %s", p->dir, offs[i], log_strerror(rc));
        }
    }
    free(offs);
}

/* Writes `<end offset>.snapshot`; a failure only costs a longer scan at the next open. */
static int snapshot_take(log_partition_t *p, int sync)
{
    int rc = log_pstate_write_snapshot(p->dir, p->end_offset, &p->pstate, sync);
    if (rc == 0 && sync)
        rc = log_io_fsync_dir(p->dir);
    if (rc < 0) {
        LOG_WARN(SUBSYS, "%s: producer state snapshot at %" PRId64 " not written: %s", p->dir, p->end_offset,
                 log_strerror(rc));
        return rc;
    }
    p->dir_gen++;
    snapshots_prune(p);
    return 0;
}

/*
 * A txnindex entry could not be written: the entry stays in memory (queries
 * stay right), and the file is unlinked so that the next open finds it
 * missing and rebuilds it rather than trusting a file that lacks it.
 */
static void txn_index_failed(log_partition_t *p, log_segment_t *seg, int err)
{
    char path[PATH_MAX];
    LOG_ERROR(SUBSYS, "%s.txnindex: cannot record an aborted transaction (%s); rebuilt at the next open", seg->path,
              log_strerror(err));
    seg->txi.stale = 1;
    if (log_segment_path(path, sizeof path, seg->path, ".txnindex") == 0)
        (void)log_io_unlink(path);
    p->dir_gen++;
}

/*
 * Applies one stored batch to the producer state; an ABORT that ends a
 * transaction goes to seg's txnindex (memory only when to_file is 0: a
 * rebuild stores the whole index afterwards). raw holds the whole batch for a
 * control batch (NULL when not read). active_ms is the activity time.
 */
static int pstate_apply(log_partition_t *p, log_segment_t *seg, const proto_batch_header_t *hdr, const log_marker_t *m,
                        int64_t active_ms, int to_file)
{
    log_completed_txn_t done;
    int created;
    if (hdr->producer_id < 0)
        return 0;
    int rc = log_pstate_reserve(&p->pstate, hdr->producer_id, &created);
    if (rc < 0)
        return rc;
    if (log_pstate_update(&p->pstate, hdr, m, active_ms, &done) != 1 || !done.aborted)
        return 0;
    /* Kafka's LSO after the abort: the first open transaction left, else the offset after the marker. */
    int64_t lso = log_pstate_first_unstable(&p->pstate);
    log_aborted_txn_t txn = {done.producer_id, done.first_offset, done.last_offset,
                             lso >= 0 ? lso : done.last_offset + 1};
    if (!to_file || seg->txi.stale) {
        rc = log_txn_index_push(&seg->txi, &txn);
    } else {
        rc = log_segment_txn_index_fd(seg);
        if (rc == 0)
            rc = log_txn_index_append(&seg->txi, &txn);
        if (rc < 0 && rc != -ENOMEM && rc != -EINVAL) {
            txn_index_failed(p, seg, rc);
            rc = log_txn_index_push(&seg->txi, &txn);
        }
    }
    if (rc < 0)
        LOG_WARN(SUBSYS, "%s: aborted transaction of producer %" PRId64 " at %" PRId64 " not indexed: %s", p->dir,
                 txn.producer_id, txn.last_offset, log_strerror(rc));
    return rc == -ENOMEM ? rc : 0;
}

/* Reads the marker of the control batch at pos (hdr its header); 1, 0 (none) or an error. */
static int read_marker(log_partition_t *p, const log_segment_t *seg, int64_t pos, const proto_batch_header_t *hdr,
                       uint8_t *raw, log_marker_t *m)
{
    size_t total = proto_batch_total_size(hdr);
    if (total > MARKER_MAX_BYTES)
        return 0;
    ssize_t n = log_io_pread(seg->fd, raw, total, pos);
    if (n < 0)
        return (int)n;
    if ((size_t)n != total)
        return 0;
    int rc = log_marker_parse(raw, total, hdr, &p->scratch, m);
    return rc < 0 ? 0 : rc;
}

/*
 * Replays the batch headers from offset `from` (a batch boundary) to the log
 * end into the producer state, rebuilding the txnindex of every segment
 * touched: entries below `from` are kept, the rest come from the scan.
 * Rewrites an index file only when it changed.
 */
static int pstate_scan(log_partition_t *p, int64_t from, int64_t now)
{
    log_scan_t *sc = malloc(sizeof *sc);
    uint8_t *raw = malloc(MARKER_MAX_BYTES);
    log_aborted_txn_t *old = NULL;
    int rc = 0;
    if (sc == NULL || raw == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = log_partition_segment_for(p, from); i < p->nsegs && rc == 0; i++) {
        log_segment_t *seg = p->segs[i];
        proto_batch_header_t hdr;
        int64_t pos, start = 0;
        size_t old_count = seg->txi.count;
        int was_stale = seg->txi.stale;
        free(old);
        old = old_count > 0 ? malloc(old_count * sizeof *old) : NULL;
        if (old_count > 0 && old == NULL) {
            rc = -ENOMEM;
            break;
        }
        if (old_count > 0)
            memcpy(old, seg->txi.entries, old_count * sizeof *old);
        while (seg->txi.count > 0 && seg->txi.entries[seg->txi.count - 1].last_offset >= from)
            seg->txi.count--;
        if (from > seg->base_offset)
            start = log_offset_index_lookup(&seg->oidx, from, NULL);
        log_scan_init(sc, seg->fd, start, seg->size);
        for (;;) {
            rc = log_scan_next(sc, &hdr, &pos);
            if (rc <= 0)
                break;
            if (hdr.base_offset < from || hdr.producer_id < 0)
                continue;
            log_marker_t m;
            int has_marker = 0;
            if (hdr.attributes & PROTO_BATCH_CONTROL) {
                rc = read_marker(p, seg, pos, &hdr, raw, &m);
                if (rc < 0)
                    break;
                has_marker = rc;
            }
            rc =
                pstate_apply(p, seg, &hdr, has_marker ? &m : NULL, hdr.max_timestamp >= 0 ? hdr.max_timestamp : now, 0);
            if (rc < 0)
                break;
        }
        if (rc == LOG_ECORRUPT) {
            /* Recovery checked the log already; trust what was read and go on. */
            LOG_WARN(SUBSYS, "%s.log: bad batch at position %" PRId64 " while rebuilding producer state", seg->path,
                     sc->pos);
            rc = 0;
        }
        if (rc < 0)
            break;
        if (was_stale || seg->txi.count != old_count ||
            (old_count > 0 && memcmp(old, seg->txi.entries, old_count * sizeof *old) != 0)) {
            int src = log_segment_txn_index_fd(seg);
            if (src == 0)
                src = log_txn_index_store(&seg->txi);
            if (src < 0) {
                LOG_WARN(SUBSYS, "%s.txnindex: cannot rewrite: %s", seg->path, log_strerror(src));
                txn_index_failed(p, seg, src);
            } else {
                log_segment_touch(seg);
            }
        }
    }
out:
    free(old);
    free(sc);
    free(raw);
    return rc;
}

/*
 * Open: the latest valid snapshot at or below what may be trusted (the log
 * end after a clean stop, else the recovery point: later data was scanned
 * and may have been cut, and its txnindex entries may be missing; and never
 * past a segment whose txnindex is stale), then a scan of the headers from
 * there to the end. Snapshots past the end describe data that is gone and
 * are deleted; corrupt ones are deleted and an older one tried. Without a
 * usable snapshot the scan starts at the first segment.
 */
int log_partition__reload_producers(log_partition_t *p, int64_t limit, int64_t now)
{
    int64_t first_base = p->segs[0]->base_offset;
    int64_t *offs = NULL, from = -1;
    size_t n = 0;
    for (size_t i = 0; i < p->nsegs; i++) {
        if (p->segs[i]->txi.stale) {
            if (p->segs[i]->base_offset < limit)
                limit = p->segs[i]->base_offset;
            break;
        }
    }
    int rc = log_pstate_list_snapshots(p->dir, &offs, &n);
    if (rc < 0)
        return rc;
    for (size_t k = n; k-- > 0;) {
        if (offs[k] > p->end_offset) {
            LOG_WARN(SUBSYS, "%s: deleting producer snapshot %" PRId64 " past the log end %" PRId64, p->dir, offs[k],
                     p->end_offset);
            (void)log_pstate_remove_snapshot(p->dir, offs[k]);
            continue;
        }
        if (from >= 0 || offs[k] > limit || offs[k] < first_base)
            continue;
        rc = log_pstate_load_snapshot(p->dir, offs[k], &p->pstate);
        if (rc == 0) {
            from = offs[k];
        } else if (rc == LOG_ECORRUPT) {
            LOG_WARN(SUBSYS, "%s: producer snapshot %" PRId64 " is corrupt, deleting it", p->dir, offs[k]);
            (void)log_pstate_remove_snapshot(p->dir, offs[k]);
        } else {
            free(offs);
            return rc;
        }
    }
    free(offs);
    if (from < 0) {
        log_pstate_clear(&p->pstate);
        from = first_base;
    }
    if (from < p->end_offset || p->segs[p->nsegs - 1]->txi.stale) {
        rc = pstate_scan(p, from, now);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < p->nsegs; i++) {
        /* Below the scan and stale: only possible when nothing could be scanned; say so. */
        if (p->segs[i]->txi.stale)
            LOG_WARN(SUBSYS, "%s.txnindex: could not be rebuilt", p->segs[i]->path);
    }
    if (from < p->end_offset) {
        LOG_INFO(SUBSYS, "%s: producer state rebuilt from offset %" PRId64 " to %" PRId64 ", %zu producer(s)", p->dir,
                 from, p->end_offset, log_pstate_count(&p->pstate));
        (void)snapshot_take(p, 0);
    }
    return 0;
}

/* ---- the leader-epoch cache ---- */

int log_partition__epochs_save(log_partition_t *p)
{
    int rc = log_epoch_store(&p->epochs, p->dir);
    if (rc < 0) {
        LOG_WARN(SUBSYS, "%s/%s: not written: %s", p->dir, LOG_EPOCH_CHECKPOINT_NAME, log_strerror(rc));
        p->epochs_dirty = 1;
        return rc;
    }
    p->epochs_dirty = 0;
    return 0;
}

/* A corrupt checkpoint: the epochs come back from the batches, as Kafka's recovery assigns them. */
static int epochs_rebuild(log_partition_t *p)
{
    log_scan_t *sc = malloc(sizeof *sc);
    int rc = 0;
    if (sc == NULL)
        return -ENOMEM;
    p->epochs.count = 0;
    for (size_t i = 0; i < p->nsegs && rc >= 0; i++) {
        proto_batch_header_t hdr;
        int64_t pos;
        log_scan_init(sc, p->segs[i]->fd, 0, p->segs[i]->size);
        while ((rc = log_scan_next(sc, &hdr, &pos)) == 1) {
            if (hdr.partition_leader_epoch >= 0 && hdr.partition_leader_epoch > log_epoch_latest(&p->epochs) &&
                log_epoch_assign(&p->epochs, hdr.partition_leader_epoch, hdr.base_offset) < 0) {
                rc = -ENOMEM;
                break;
            }
        }
        if (rc == LOG_ECORRUPT)
            rc = 0; /* recovery has checked the log; what could be read is what there is */
    }
    free(sc);
    return rc < 0 ? rc : 0;
}

/*
 * Open: the checkpoint as the recovered log allows it. Missing means no
 * batch with an epoch was ever stored here (the checkpoint is written
 * before such data), so it is not searched for; corrupt means it is rebuilt
 * from the batches' epochs. Entries past the log end go, and the first entry
 * starts at the log start offset at the earliest (Kafka's LogLoader).
 */
static int epochs_open(log_partition_t *p)
{
    int rc = log_epoch_load(&p->epochs, p->dir), store = 0;
    if (rc == -ENOENT) {
        rc = 0;
    } else if (rc == LOG_ECORRUPT) {
        LOG_WARN(SUBSYS, "%s/%s is corrupt, rebuilding it from the batches", p->dir, LOG_EPOCH_CHECKPOINT_NAME);
        rc = epochs_rebuild(p);
        store = 1;
    }
    if (rc < 0)
        return rc;
    store |= log_epoch_truncate_from_end(&p->epochs, p->end_offset);
    store |= log_epoch_truncate_from_start(&p->epochs, p->start_offset);
    if (store)
        (void)log_partition__epochs_save(p); /* warns; retried before the next data with an epoch */
    return 0;
}

/* The log start offset moved (retention, DeleteRecords): Kafka's truncateFromStart. */
static void epochs_start_moved(log_partition_t *p)
{
    if (log_epoch_truncate_from_start(&p->epochs, p->start_offset))
        (void)log_partition__epochs_save(p);
}

/*
 * Before a batch with leader epoch `epoch` is written at base: the cache gets
 * its entry and the checkpoint is written first, so that a checkpoint never
 * lacks an epoch the data has (Kafka assigns before appending). *saved keeps
 * the cache as it was (saved_used set) so that a failed write can undo it.
 */
static int epochs_note(log_partition_t *p, int32_t epoch, int64_t base, log_epoch_cache_t *saved, int *saved_used)
{
    if (epoch < 0 || !log_epoch_update_needed(&p->epochs, epoch, base))
        return 0;
    if (!*saved_used) {
        if (log_epoch_copy(saved, &p->epochs) < 0)
            return -ENOMEM;
        *saved_used = 1;
    }
    return log_epoch_assign(&p->epochs, epoch, base) < 0 ? -ENOMEM : 0;
}

static int epochs_write_before(log_partition_t *p, int saved_used)
{
    if (!saved_used && !p->epochs_dirty)
        return 0;
    return log_partition__epochs_save(p);
}

/* The data was not written: the cache (and the file) go back. */
static void epochs_undo(log_partition_t *p, log_epoch_cache_t *saved, int saved_used)
{
    if (!saved_used)
        return;
    log_epoch_cache_t tmp = p->epochs;
    p->epochs = *saved;
    *saved = tmp;
    (void)log_partition__epochs_save(p);
}

int32_t log_partition_latest_epoch(const log_partition_t *p)
{
    return log_epoch_latest(&p->epochs);
}

void log_partition_end_offset_for_epoch(const log_partition_t *p, int32_t requested_epoch, int32_t *epoch_out,
                                        int64_t *end_offset_out)
{
    log_epoch_end_offset_for(&p->epochs, requested_epoch, p->end_offset, epoch_out, end_offset_out);
}

int log_partition_assign_epoch(log_partition_t *p, int32_t epoch, int64_t start_offset)
{
    log_epoch_cache_t saved;
    int used = 0;
    if (epoch < 0 || start_offset < 0)
        return -EINVAL;
    log_epoch_init(&saved);
    int rc = epochs_note(p, epoch, start_offset, &saved, &used);
    if (rc == 0)
        rc = epochs_write_before(p, used);
    if (rc < 0)
        epochs_undo(p, &saved, used);
    log_epoch_fini(&saved);
    return rc;
}

size_t log_partition_epoch_entries(const log_partition_t *p, int32_t *epochs, int64_t *start_offsets, size_t max)
{
    for (size_t i = 0; i < p->epochs.count && i < max; i++) {
        epochs[i] = p->epochs.entries[i].epoch;
        start_offsets[i] = p->epochs.entries[i].start_offset;
    }
    return p->epochs.count;
}

int log_partition_open(const char *dir, const log_config_t *cfg, log_partition_t **out)
{
    base_list_t bl = {.dir = dir};
    log_partition_t *p;
    int rc;

    *out = NULL;
    if (dir == NULL || cfg == NULL)
        return -EINVAL;
    rc = config_check(cfg);
    if (rc < 0)
        return rc;
    if (strlen(dir) + 1 + LOG_SEGMENT_NAME_DIGITS + LOG_SEGMENT_MAX_SUFFIX >= PATH_MAX)
        return -ENAMETOOLONG;
    rc = make_dirs(dir);
    if (rc < 0)
        return rc;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    log_pstate_init(&p->pstate);
    log_epoch_init(&p->epochs);
    buf_init(&p->scratch);
    p->dir = strdup(dir);
    if (p->dir == NULL) {
        free(p);
        return -ENOMEM;
    }
    p->cfg = *cfg;
    p->max_timestamp = -1;
    p->max_timestamp_offset = -1;

    /* A compaction swap a crash interrupted is finished or rolled back first. */
    rc = log_compact_recover_dir(dir);
    if (rc < 0)
        goto fail;
    rc = log_io_list_dir(dir, collect_segment, &bl);
    if (rc < 0)
        goto fail;
    if (bl.count > 1)
        qsort(bl.bases, bl.count, sizeof *bl.bases, cmp_i64);
    rc = segs_reserve(p, bl.count > 0 ? bl.count : 1);
    if (rc < 0)
        goto fail;
    int64_t now = now_ms(cfg);
    /* After an unclean stop every segment from the one holding the recovery
     * point on may hold unsynced, torn or garbled data: check it all. */
    size_t first_scan = bl.count;
    if (!cfg->clean_shutdown && bl.count > 0)
        first_scan = cfg->recovery_point >= 0 ? base_index_for(bl.bases, bl.count, cfg->recovery_point) : 0;
    size_t nopen = bl.count;
    for (size_t i = 0; i < nopen; i++) {
        int64_t next = i + 1 < nopen ? bl.bases[i + 1] : -1;
        int64_t cut = 0;
        rc = log_segment_open(dir, bl.bases[i], cfg, next, now, i >= first_scan, &cut, &p->segs[i]);
        if (rc < 0) {
            LOG_ERROR(SUBSYS, "%s: cannot open segment %" PRId64 ": %s", dir, bl.bases[i], log_strerror(rc));
            goto fail;
        }
        p->nsegs = i + 1;
        if (cut > 0 && i >= first_scan && i + 1 < nopen) {
            delete_later_segments(p, bl.bases + i + 1, nopen - i - 1, p->segs[i]->next_offset);
            nopen = i + 1;
            p->dir_gen++;
        }
    }
    if (p->nsegs == 0) {
        int64_t base = cfg->log_start_offset > 0 ? cfg->log_start_offset : 0;
        rc = log_segment_create(dir, base, cfg, now, &p->segs[0]);
        if (rc < 0)
            goto fail;
        p->nsegs = 1;
        p->dir_gen++;
    }
    p->end_offset = p->segs[p->nsegs - 1]->next_offset;
    p->start_offset = p->segs[0]->base_offset;
    if (cfg->log_start_offset > p->start_offset)
        p->start_offset = cfg->log_start_offset;
    if (p->start_offset > p->end_offset) {
        /* The checkpoint says more was deleted than the files show (their
         * tail was lost): the log restarts empty at the start offset. */
        log_segment_t *seg;
        LOG_WARN(SUBSYS, "%s: log start offset %" PRId64 " is past the end %" PRId64 ", starting an empty log there",
                 dir, p->start_offset, p->end_offset);
        rc = segs_reserve(p, p->nsegs + 1);
        if (rc == 0)
            rc = log_segment_create(dir, p->start_offset, cfg, now, &seg);
        if (rc < 0)
            goto fail;
        (void)log_segment_seal(p->segs[p->nsegs - 1]);
        p->segs[p->nsegs++] = seg;
        p->dir_gen++;
        p->end_offset = p->start_offset;
        drop_oldest(p, p->nsegs - 1, "below the log start offset", NULL);
    }
    drop_oldest(p, below_start(p), "below the log start offset", NULL);
    log_partition__recompute_max_timestamp(p);
    if (cfg->clean_shutdown) {
        p->recovery_point = p->end_offset;
    } else {
        /* Only a flush may move it up: what was scanned is not yet synced. */
        int64_t rp = cfg->recovery_point >= 0 ? cfg->recovery_point : p->segs[0]->base_offset;
        p->recovery_point = rp < p->end_offset ? rp : p->end_offset;
    }
    p->last_flush_ms = now;
    /* An unknown or impossible checkpoint makes everything dirty (Kafka resets it the same way). */
    p->cleaner_point = cfg->cleaner_point;
    if (p->cleaner_point < p->start_offset || p->cleaner_point > p->end_offset)
        p->cleaner_point = p->start_offset;
    rc = log_partition__reload_producers(p, cfg->clean_shutdown ? p->end_offset : p->recovery_point, now);
    if (rc == 0)
        rc = epochs_open(p);
    if (rc < 0)
        goto fail;
    free(bl.bases);
    LOG_DEBUG(SUBSYS, "%s: opened, %zu segment(s), offsets [%" PRId64 ", %" PRId64 "), recovery point %" PRId64, dir,
              p->nsegs, p->start_offset, p->end_offset, p->recovery_point);
    *out = p;
    return 0;
fail:
    free(bl.bases);
    partition_free(p);
    return rc;
}

void log_partition_close(log_partition_t *p)
{
    if (p == NULL)
        return;
    int rc = log_segment_seal(p->segs[p->nsegs - 1]);
    if (rc == 0)
        rc = log_partition_flush(p);
    if (rc < 0)
        LOG_WARN(SUBSYS, "%s: flush on close failed: %s", p->dir, log_strerror(rc));
    /* After the flush, so the snapshot never claims data that is not on disk;
     * a clean open then loads it and scans nothing. */
    snapshot_take(p, 1);
    if (p->epochs_dirty)
        (void)log_partition__epochs_save(p); /* a write that failed earlier; warns again if it still fails */
    partition_free(p);
}

static int remove_tree(const char *path, int depth);

typedef struct remove_ctx_s {
    const char *dir;
    int depth;
    int err;
} remove_ctx_t;

static int remove_entry(void *arg, const char *name)
{
    remove_ctx_t *ctx = arg;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", ctx->dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        ctx->err = -ENAMETOOLONG;
        return 0;
    }
    int rc = log_io_unlink(path);
    if (rc == -EISDIR || rc == -EPERM)
        rc = remove_tree(path, ctx->depth + 1);
    if (rc < 0 && rc != -ENOENT && ctx->err == 0)
        ctx->err = rc;
    return 0;
}

static int remove_tree(const char *path, int depth)
{
    if (depth > REMOVE_MAX_DEPTH)
        return -ELOOP;
    remove_ctx_t ctx = {path, depth, 0};
    int rc = log_io_list_dir(path, remove_entry, &ctx);
    if (rc < 0)
        return rc;
    if (ctx.err < 0)
        return ctx.err;
    return log_io_rmdir(path);
}

int log_partition_remove(log_partition_t *p)
{
    if (p == NULL)
        return 0;
    char dir[PATH_MAX];
    size_t len = strlen(p->dir);
    memcpy(dir, p->dir, len + 1); /* open checked it fits */
    /* Reads still in flight keep their segments' descriptors; unlinked
     * files stay readable through them. */
    partition_free(p);
    int rc = remove_tree(dir, 0);
    if (rc < 0)
        LOG_WARN(SUBSYS, "%s: cannot remove: %s", dir, log_strerror(rc));
    return rc;
}

static int should_roll(const log_partition_t *p, const log_segment_t *seg, const proto_batch_header_t *hdr, size_t len)
{
    if (seg->size == 0)
        return 0; /* an empty segment takes any batch, even one above segment_bytes */
    if (seg->size > p->cfg.segment_bytes - (int64_t)len)
        return 1;
    if (log_offset_index_full(&seg->oidx) || log_time_index_full(&seg->tidx))
        return 1;
    if (proto_batch_last_offset(hdr) - seg->base_offset > INT32_MAX)
        return 1; /* relative offsets in the indexes are int32 */
    if (p->cfg.roll_ms > 0) {
        int64_t waited =
            seg->rolling_ts >= 0 ? hdr->max_timestamp - seg->rolling_ts : now_ms(&p->cfg) - seg->created_ms;
        if (waited > p->cfg.roll_ms)
            return 1;
    }
    return 0;
}

static int roll(log_partition_t *p)
{
    log_segment_t *old = p->segs[p->nsegs - 1], *seg;
    int rc = segs_reserve(p, p->nsegs + 1);
    if (rc < 0)
        return rc;
    rc = log_segment_create(p->dir, p->end_offset, &p->cfg, now_ms(&p->cfg), &seg);
    if (rc < 0) {
        LOG_WARN(SUBSYS, "%s: cannot roll a new segment at %" PRId64 ": %s", p->dir, p->end_offset, log_strerror(rc));
        return rc;
    }
    rc = log_segment_seal(old);
    if (rc < 0)
        LOG_WARN(SUBSYS, "%s.timeindex: final entry not written: %s", old->path, log_strerror(rc));
    p->segs[p->nsegs++] = seg;
    p->dir_gen++;
    LOG_DEBUG(SUBSYS, "%s: rolled segment %" PRId64, p->dir, seg->base_offset);
    /* Kafka's rule: a snapshot at every new segment's base bounds the scan a
     * restart needs. Not fsynced here (the loop thread): a lost or torn one
     * fails its CRC and an older one or a scan takes over. */
    snapshot_take(p, 0);
    return 0;
}

/* The original batch's answer for a duplicate (Kafka answers its offsets and, for LogAppendTime, its time). */
static void result_from_dup(log_append_result_t *res, const proto_batch_header_t *hdr, const log_pstate_batch_t *dup)
{
    res->base_offset = dup->first_offset;
    res->last_offset = dup->last_offset;
    res->log_append_time = (hdr->attributes & PROTO_BATCH_LOG_APPEND_TIME) ? dup->max_timestamp : -1;
    res->duplicate = 1;
}

/* How append_batch treats the batch. */
enum append_mode_e {
    APPEND_LEADER,  /* offsets and epoch assigned, producer state recorded unchecked */
    APPEND_CHECKED, /* the same after the producer rules (duplicate, out of order, fenced) */
};

/*
 * A leader's appends. APPEND_CHECKED applies the producer rules first;
 * APPEND_LEADER writes the batch and only records it, like Kafka's appends
 * of replicated data. (A follower's append is log_partition_append_replica.)
 */
static int append_batch(log_partition_t *p, uint8_t *batch, size_t len, int32_t leader_epoch, enum append_mode_e mode,
                        log_append_result_t *res)
{
    proto_batch_header_t hdr;
    log_marker_t marker;
    int check = mode == APPEND_CHECKED;
    int has_marker = 0, created = 0, rc;
    if (res == NULL)
        return -EINVAL;
    res->base_offset = res->last_offset = res->log_append_time = -1;
    res->duplicate = 0;
    if (batch == NULL || len < PROTO_BATCH_HEADER_SIZE)
        return -EINVAL;
    if (proto_batch_header_parse(batch, len, &hdr) != 0 || proto_batch_total_size(&hdr) != len ||
        hdr.last_offset_delta < 0)
        return -EINVAL;
    int64_t base = p->end_offset;
    if (base > INT64_MAX - 1 - hdr.last_offset_delta)
        return LOG_ETOOLARGE;
    if (len > INT32_MAX)
        return LOG_ETOOLARGE;
    if (hdr.producer_id >= 0) {
        rc = 0;
        if (hdr.attributes & PROTO_BATCH_CONTROL) {
            rc = log_marker_parse(batch, len, &hdr, &p->scratch, &marker);
            if (rc < 0 && check)
                return -EINVAL; /* markers come from the broker itself: a bad one is a bug there */
            has_marker = rc == 1;
            rc = check ? log_pstate_check_marker(&p->pstate, &hdr, has_marker ? &marker : NULL) : 0;
        } else if (check) {
            log_pstate_batch_t dup;
            rc = log_pstate_check_data(&p->pstate, &hdr, &dup);
            if (rc == 1) {
                result_from_dup(res, &hdr, &dup);
                return 0;
            }
        }
        if (rc < 0)
            return rc;
        /* Allocate before writing, so that recording the batch afterwards cannot fail. */
        rc = log_pstate_reserve(&p->pstate, hdr.producer_id, &created);
        if (rc < 0)
            return rc;
    }
    hdr.base_offset = base;
    hdr.partition_leader_epoch = leader_epoch;
    log_epoch_cache_t saved;
    int saved_used = 0;
    log_epoch_init(&saved);
    rc = epochs_note(p, leader_epoch, base, &saved, &saved_used);
    if (rc == 0 && should_roll(p, p->segs[p->nsegs - 1], &hdr, len))
        rc = roll(p);
    if (rc == 0)
        rc = epochs_write_before(p, saved_used);
    if (rc == 0) {
        proto_batch_set_base_offset(batch, hdr.base_offset);
        proto_batch_set_leader_epoch(batch, leader_epoch);
        rc = log_segment_append(p->segs[p->nsegs - 1], batch, len, &hdr, p->cfg.index_interval_bytes);
        if (rc < 0)
            LOG_WARN(SUBSYS, "%s: append at offset %" PRId64 " failed: %s", p->dir, hdr.base_offset, log_strerror(rc));
    }
    if (rc < 0) {
        epochs_undo(p, &saved, saved_used);
        log_epoch_fini(&saved);
        if (created)
            log_pstate_remove(&p->pstate, hdr.producer_id);
        return rc;
    }
    log_epoch_fini(&saved);
    p->end_offset = proto_batch_last_offset(&hdr) + 1;
    update_max_timestamp(p, hdr.max_timestamp, proto_batch_last_offset(&hdr));
    /* Only -ENOMEM can come back, from a txnindex entry; the batch is stored and stays. */
    (void)pstate_apply(p, p->segs[p->nsegs - 1], &hdr, has_marker ? &marker : NULL, now_ms(&p->cfg), 1);
    res->base_offset = hdr.base_offset;
    res->last_offset = proto_batch_last_offset(&hdr);
    res->log_append_time = (hdr.attributes & PROTO_BATCH_LOG_APPEND_TIME) ? hdr.max_timestamp : -1;
    return 0;
}

int log_partition_append_checked(log_partition_t *p, uint8_t *batch, size_t len, int32_t leader_epoch,
                                 log_append_result_t *res)
{
    return append_batch(p, batch, len, leader_epoch, APPEND_CHECKED, res);
}

int log_partition_append(log_partition_t *p, uint8_t *batch, size_t len, int32_t leader_epoch, int64_t *base_offset_out)
{
    log_append_result_t res;
    int rc = append_batch(p, batch, len, leader_epoch, APPEND_LEADER, &res);
    if (rc == 0 && base_offset_out != NULL)
        *base_offset_out = res.base_offset;
    return rc;
}

/*
 * Checks the next batch of a fetched record set at [at, len): 1 with its
 * header when whole and sound, 0 when what is left is a partial batch (a
 * truncated fetch response: ignored), LOG_ECORRUPT_BATCH when it can never
 * be a batch (length below a header, magic other than 2, CRC-32C mismatch,
 * negative offsets).
 */
static int replica_next(const uint8_t *records, size_t len, size_t at, proto_batch_header_t *hdr)
{
    size_t left = len - at;
    if (left < PROTO_BATCH_LOG_OVERHEAD)
        return 0;
    const uint8_t *b = records + at;
    uint32_t blen = ((uint32_t)b[8] << 24) | ((uint32_t)b[9] << 16) | ((uint32_t)b[10] << 8) | b[11];
    if (blen < PROTO_BATCH_HEADER_SIZE - PROTO_BATCH_LOG_OVERHEAD)
        return LOG_ECORRUPT_BATCH;
    if ((uint64_t)blen + PROTO_BATCH_LOG_OVERHEAD > left)
        return 0;
    size_t total = (size_t)blen + PROTO_BATCH_LOG_OVERHEAD;
    if (proto_batch_header_parse(b, total, hdr) != 0 || proto_batch_total_size(hdr) != total)
        return LOG_ECORRUPT_BATCH;
    if (hdr->base_offset < 0 || hdr->last_offset_delta < 0 || hdr->base_offset > INT64_MAX - 1 - hdr->last_offset_delta)
        return LOG_ECORRUPT_BATCH;
    if (!proto_batch_crc_ok(b, total))
        return LOG_ECORRUPT_BATCH;
    return 1;
}

/* Batches written with one write at most (the stack holds their headers). */
#define REPLICA_RUN_MAX 64

/*
 * Whether batch hdr still goes into seg after a run of `added` batches and
 * `bytes` bytes (first its first): should_roll's rules on the projected
 * segment, counting an index entry per batch so that it never errs towards
 * overfilling an index. A run that stops early only costs another write.
 */
static int run_fits(const log_partition_t *p, const log_segment_t *seg, int64_t bytes, size_t added,
                    const proto_batch_header_t *first, const proto_batch_header_t *hdr)
{
    int64_t size = seg->size + bytes, len = (int64_t)proto_batch_total_size(hdr);
    if (size > p->cfg.segment_bytes - len)
        return 0;
    if (seg->oidx.count + added + 1 >= seg->oidx.max_entries || seg->tidx.count + added + 1 >= seg->tidx.max_entries)
        return 0;
    if (proto_batch_last_offset(hdr) - seg->base_offset > INT32_MAX)
        return 0;
    if (p->cfg.roll_ms > 0) {
        int64_t rts = seg->size > 0 ? seg->rolling_ts : first->max_timestamp;
        int64_t waited = rts >= 0 ? hdr->max_timestamp - rts : now_ms(&p->cfg) - seg->created_ms;
        if (waited > p->cfg.roll_ms)
            return 0;
    }
    return 1;
}

/*
 * Writes n checked batches (len bytes at data, hdrs their headers) into the
 * active segment with one write and records them as an unchecked append
 * does. Producers are reserved first so that recording cannot fail; all or
 * nothing.
 */
static int write_run(log_partition_t *p, const uint8_t *data, size_t len, const proto_batch_header_t *hdrs, size_t n)
{
    uint8_t created[REPLICA_RUN_MAX];
    int rc = 0;
    size_t i;
    for (i = 0; i < n && rc == 0; i++) {
        int c = 0;
        rc = hdrs[i].producer_id >= 0 ? log_pstate_reserve(&p->pstate, hdrs[i].producer_id, &c) : 0;
        created[i] = (uint8_t)c;
    }
    log_segment_t *seg = p->segs[p->nsegs - 1];
    if (rc == 0) {
        rc = log_segment_append_run(seg, data, len, hdrs, n, p->cfg.index_interval_bytes);
        if (rc < 0)
            LOG_WARN(SUBSYS, "%s: follower append at offset %" PRId64 " failed: %s", p->dir, hdrs[0].base_offset,
                     log_strerror(rc));
    }
    if (rc < 0) {
        while (i-- > 0)
            if (created[i])
                log_pstate_remove(&p->pstate, hdrs[i].producer_id);
        return rc;
    }
    int64_t now = now_ms(&p->cfg);
    size_t at = 0;
    for (i = 0; i < n; i++) {
        const proto_batch_header_t *hdr = &hdrs[i];
        size_t total = proto_batch_total_size(hdr);
        log_marker_t marker;
        int has_marker = 0;
        if (hdr->producer_id >= 0 && (hdr->attributes & PROTO_BATCH_CONTROL))
            has_marker = log_marker_parse(data + at, total, hdr, &p->scratch, &marker) == 1;
        p->end_offset = proto_batch_last_offset(hdr) + 1;
        update_max_timestamp(p, hdr->max_timestamp, proto_batch_last_offset(hdr));
        /* Only -ENOMEM can come back, from a txnindex entry; the batch is stored and stays. */
        (void)pstate_apply(p, seg, hdr, has_marker ? &marker : NULL, now, 1);
        at += total;
    }
    return 0;
}

int log_partition_append_replica(log_partition_t *p, const uint8_t *records, size_t len,
                                 log_replica_append_result_t *res)
{
    proto_batch_header_t hdr;
    log_epoch_cache_t saved;
    int saved_used = 0, rc = 0;
    size_t at = 0, valid = 0, nbatches = 0;
    int64_t next = p->end_offset, old_end = p->end_offset;
    if (res == NULL || (records == NULL && len > 0))
        return -EINVAL;
    memset(res, 0, sizeof *res);
    res->first_offset = res->last_offset = -1;
    res->end_offset = p->end_offset;
    /* Everything is checked before anything is written. */
    while (at < len) {
        rc = replica_next(records, len, at, &hdr);
        if (rc < 0) {
            LOG_WARN(SUBSYS, "%s: fetched batch at byte %zu of %zu is corrupt", p->dir, at, len);
            return rc;
        }
        if (rc == 0)
            break;
        if (hdr.base_offset < next) {
            LOG_WARN(SUBSYS, "%s: fetched batch at offset %" PRId64 " is below %s %" PRId64, p->dir, hdr.base_offset,
                     nbatches == 0 ? "the log end" : "the previous batch's end", next);
            return nbatches == 0 ? LOG_EUNEXPECTED_OFFSET : LOG_EOFFSETS_OUT_OF_ORDER;
        }
        if (proto_batch_total_size(&hdr) > INT32_MAX)
            return LOG_ETOOLARGE;
        if (nbatches == 0)
            res->first_offset = hdr.base_offset;
        next = proto_batch_last_offset(&hdr) + 1;
        at += proto_batch_total_size(&hdr);
        nbatches++;
    }
    valid = at;
    if (nbatches == 0)
        return 0;
    /* The leader's epochs, written to the checkpoint before the data (Kafka assigns first). */
    log_epoch_init(&saved);
    for (at = 0; at < valid && rc >= 0; at += proto_batch_total_size(&hdr)) {
        (void)proto_batch_header_parse(records + at, valid - at, &hdr);
        rc = epochs_note(p, hdr.partition_leader_epoch, hdr.base_offset, &saved, &saved_used);
    }
    if (rc >= 0)
        rc = epochs_write_before(p, saved_used);
    size_t done = 0;
    at = 0;
    while (rc >= 0 && done < nbatches) {
        proto_batch_header_t run[REPLICA_RUN_MAX];
        (void)proto_batch_header_parse(records + at, valid - at, &run[0]);
        size_t n = 1, bytes = proto_batch_total_size(&run[0]);
        if (should_roll(p, p->segs[p->nsegs - 1], &run[0], bytes)) {
            rc = roll(p);
            if (rc < 0)
                break;
        }
        while (n < REPLICA_RUN_MAX && done + n < nbatches) {
            (void)proto_batch_header_parse(records + at + bytes, valid - at - bytes, &run[n]);
            if (!run_fits(p, p->segs[p->nsegs - 1], (int64_t)bytes, n, &run[0], &run[n]))
                break;
            bytes += proto_batch_total_size(&run[n]);
            n++;
        }
        rc = write_run(p, records + at, bytes, run, n);
        if (rc == 0) {
            done += n;
            at += bytes;
        }
    }
    if (rc < 0) {
        /* Nothing partial stays: batches already written are truncated away again. */
        if (done > 0) {
            int trc = log_partition_truncate_to(p, old_end);
            if (trc < 0)
                LOG_ERROR(SUBSYS, "%s: cannot undo a failed follower append: %s", p->dir, log_strerror(trc));
        }
        epochs_undo(p, &saved, saved_used);
        log_epoch_fini(&saved);
        return rc;
    }
    log_epoch_fini(&saved);
    res->last_offset = p->end_offset - 1;
    res->end_offset = p->end_offset;
    res->bytes = valid;
    res->batches = nbatches;
    return 0;
}

size_t log_partition_expire_producers(log_partition_t *p, int64_t now)
{
    size_t n = log_pstate_expire(&p->pstate, now, p->cfg.producer_id_expiration_ms);
    if (n > 0)
        LOG_DEBUG(SUBSYS, "%s: %zu idle producer(s) expired", p->dir, n);
    return n;
}

size_t log_partition_producer_ids(const log_partition_t *p, int64_t *ids, size_t max)
{
    size_t pos = 0, n = 0;
    const log_producer_t *e;
    while ((e = map_next(&p->pstate.producers, &pos))) {
        if (n < max)
            ids[n] = e->producer_id;
        n++;
    }
    return n;
}

int log_partition_producer(const log_partition_t *p, int64_t producer_id, log_producer_info_t *out)
{
    const log_producer_t *e = log_pstate_get(&p->pstate, producer_id);
    if (e == NULL)
        return 0;
    out->producer_epoch = e->epoch;
    out->last_sequence = e->nbatches > 0 ? e->batches[e->nbatches - 1].last_seq : -1;
    out->last_offset = e->nbatches > 0 ? e->batches[e->nbatches - 1].last_offset : -1;
    out->last_timestamp = e->last_timestamp;
    out->coordinator_epoch = e->coordinator_epoch;
    out->txn_first_offset = e->txn_first_offset;
    out->batches = e->nbatches;
    return 1;
}

size_t log_partition_producer_count(const log_partition_t *p)
{
    return log_pstate_count(&p->pstate);
}

int64_t log_partition_last_stable_offset(const log_partition_t *p)
{
    int64_t first = log_pstate_first_unstable(&p->pstate);
    if (first < 0 || first > p->end_offset)
        return p->end_offset;
    /* Kafka never lets the first unstable offset fall below the log start. */
    return first < p->start_offset ? p->start_offset : first;
}

int log_partition_aborted_txns(log_partition_t *p, int64_t fetch_offset, int64_t upper_bound_offset,
                               log_aborted_txn_t **out, size_t *count)
{
    size_t cap = 0;
    *out = NULL;
    *count = 0;
    /* A transaction's entry sits with its marker, whose offset is its last:
     * segments before the one holding fetch_offset cannot have a match. */
    for (size_t i = log_partition_segment_for(p, fetch_offset); i < p->nsegs; i++) {
        int rc = log_txn_index_collect(&p->segs[i]->txi, fetch_offset, upper_bound_offset, out, count, &cap);
        if (rc < 0) {
            free(*out);
            *out = NULL;
            *count = 0;
            return rc;
        }
        if (rc == 1)
            break;
    }
    return 0;
}

int log_partition__snapshot(log_partition_t *p, int sync)
{
    return snapshot_take(p, sync);
}

int64_t log_partition__now(const log_partition_t *p)
{
    return now_ms(&p->cfg);
}

int log_partition_snapshot_producers(log_partition_t *p, int sync)
{
    return snapshot_take(p, sync);
}

int64_t log_partition_start_offset(const log_partition_t *p)
{
    return p->start_offset;
}

int64_t log_partition_end_offset(const log_partition_t *p)
{
    return p->end_offset;
}

void log_partition_max_timestamp(const log_partition_t *p, int64_t *ts, int64_t *offset)
{
    if (ts != NULL)
        *ts = p->max_timestamp;
    if (offset != NULL)
        *offset = p->max_timestamp_offset;
}

size_t log_partition_segment_count(const log_partition_t *p)
{
    return p->nsegs;
}

int log_partition_segment_info(const log_partition_t *p, size_t i, int64_t *base_offset, int64_t *size,
                               int64_t *mtime_ms)
{
    if (i >= p->nsegs)
        return -ERANGE;
    const log_segment_t *seg = p->segs[i];
    *base_offset = seg->base_offset;
    *size = seg->size;
    if (!mtime_ms)
        return 0; /* no stat asked for */
    /* Only metadata is read, and a failure is an answer (-1), so this bypasses the I/O shim. */
    char path[PATH_MAX];
    struct stat st;
    *mtime_ms = -1;
    if (snprintf(path, sizeof(path), "%s.log", seg->path) < (int)sizeof(path) && stat(path, &st) == 0)
        *mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return 0;
}

int64_t log_partition_size_bytes(const log_partition_t *p)
{
    int64_t total = 0;
    for (size_t i = 0; i < p->nsegs; i++)
        total += p->segs[i]->size;
    return total;
}

int log_partition_set_config(log_partition_t *p, const log_config_t *cfg)
{
    if (cfg == NULL)
        return -EINVAL;
    int rc = config_check(cfg);
    if (rc < 0)
        return rc;
    p->cfg = *cfg;
    return 0;
}

int log_partition_delete_records(log_partition_t *p, int64_t offset, int64_t *low_watermark_out)
{
    if (offset == -1)
        offset = p->end_offset;
    if (offset < 0 || offset > p->end_offset)
        return LOG_EOUT_OF_RANGE;
    if (offset > p->start_offset) {
        LOG_INFO(SUBSYS, "%s: log start offset %" PRId64 " -> %" PRId64 " (DeleteRecords)", p->dir, p->start_offset,
                 offset);
        p->start_offset = offset;
        drop_oldest(p, below_start(p), "below the log start offset (DeleteRecords)", NULL);
        snapshots_prune(p);
        epochs_start_moved(p);
    }
    if (low_watermark_out != NULL)
        *low_watermark_out = p->start_offset;
    return 0;
}

/* Drops the k oldest segments, rolling first when that would be all of them. */
static int drop_with_roll(log_partition_t *p, size_t k, const char *why, log_retention_result_t *res)
{
    int rc = 0;
    if (k == 0)
        return 0;
    if (k >= p->nsegs) {
        rc = roll(p);
        if (rc < 0)
            k = p->nsegs - 1;
    }
    drop_oldest(p, k, why, res);
    return rc;
}

/* Kafka never deletes an empty active segment: it would only be rolled again. */
static int last_and_empty(const log_partition_t *p, size_t i)
{
    return i + 1 == p->nsegs && p->segs[i]->size == 0;
}

int log_partition_retention(log_partition_t *p, int64_t now, log_retention_result_t *out)
{
    log_retention_result_t local;
    int rc = 0, rc2;
    if (out == NULL)
        out = &local;
    memset(out, 0, sizeof *out);
    if (p->cfg.retention_ms >= 0) {
        size_t k = 0;
        while (k < p->nsegs && !last_and_empty(p, k)) {
            const log_segment_t *seg = p->segs[k];
            /* A segment without timestamps ages from when it was created or opened. */
            int64_t newest = seg->max_timestamp >= 0 ? seg->max_timestamp : seg->created_ms;
            if (now - newest <= p->cfg.retention_ms)
                break;
            k++;
        }
        rc = drop_with_roll(p, k, "retention.ms", out);
    }
    if (p->cfg.retention_bytes >= 0) {
        int64_t size = log_partition_size_bytes(p);
        if (size >= p->cfg.retention_bytes) {
            int64_t diff = size - p->cfg.retention_bytes;
            size_t k = 0;
            while (k < p->nsegs && !last_and_empty(p, k) && diff - p->segs[k]->size >= 0) {
                diff -= p->segs[k]->size;
                k++;
            }
            rc2 = drop_with_roll(p, k, "retention.bytes", out);
            if (rc == 0)
                rc = rc2;
        }
    }
    drop_oldest(p, below_start(p), "below the log start offset", out);
    if (out->segments_deleted > 0) {
        snapshots_prune(p);
        epochs_start_moved(p);
    }
    out->start_offset = p->start_offset;
    return rc;
}

/*
 * What a flush syncs. The .log of every dirty segment. The indexes of a
 * sealed segment (not the last one), since a restart trusts the indexes of
 * every segment wholly below the recovery point. Not those of the active
 * segment in a broker's flush job (full == 0): after an unclean stop the
 * segment holding the recovery point and all after it are scanned and their
 * offset and time indexes rebuilt from the batches (log_partition_open), and
 * the active segment is always among them. Its .txnindex is not rebuilt by
 * that scan, so it is synced whenever it has entries. Such a partly synced
 * segment records gen 0 in the job: it stays dirty, so that once it is sealed
 * the next job syncs its indexes too. full == 1 (close, tools, tests) syncs
 * everything, as the clean-shutdown marker promises.
 */
static int flush_prepare(log_partition_t *p, log_flush_job_t *job, int full)
{
    size_t n = 0, c = 0;
    memset(job, 0, sizeof *job);
    job->offset = p->end_offset;
    job->trunc_gen = p->trunc_gen;
    for (size_t i = 0; i < p->nsegs; i++)
        n += log_segment_dirty(p->segs[i]) ? 1 : 0;
    if (n > 0) {
        job->segs = calloc(n, sizeof *job->segs);
        job->gens = calloc(n, sizeof *job->gens);
        job->fds = calloc(n * FLUSH_FDS, sizeof *job->fds);
        if (job->segs == NULL || job->gens == NULL || job->fds == NULL)
            goto nomem;
        for (size_t i = 0; i < p->nsegs; i++) {
            log_segment_t *seg = p->segs[i];
            if (!log_segment_dirty(seg))
                continue;
            int log_only = !full && i + 1 == p->nsegs;
            log_segment_ref(seg);
            job->segs[c] = seg;
            job->gens[c] = log_only ? 0 : seg->gen;
            job->fds[FLUSH_FDS * c] = seg->fd;
            job->fds[FLUSH_FDS * c + 1] = log_only ? -1 : seg->oidx.fd;
            job->fds[FLUSH_FDS * c + 2] = log_only ? -1 : seg->tidx.fd;
            job->fds[FLUSH_FDS * c + 3] = log_only && seg->txi.count == 0 ? -1 : seg->txi.fd;
            c++;
        }
        job->count = c;
    }
    if (p->dir_gen != p->dir_synced_gen) {
        job->dir = strdup(p->dir);
        if (job->dir == NULL)
            goto nomem;
        job->dir_gen = p->dir_gen;
    }
    return 0;
nomem:
    log_partition_flush_complete(NULL, job, -ENOMEM);
    return -ENOMEM;
}

int log_partition_flush_prepare(log_partition_t *p, log_flush_job_t *job)
{
    return flush_prepare(p, job, 0);
}

int log_flush_job_run(log_flush_job_t *job)
{
    /* fdatasync: sizes and block maps are synced, mtimes need not be, and
     * skipping them spares a journal commit per file. */
    for (size_t i = 0; i < job->count * FLUSH_FDS; i++) {
        if (job->fds[i] < 0)
            continue;
        int rc = log_io_fdatasync(job->fds[i]);
        if (rc < 0)
            return rc;
    }
    if (job->dir != NULL)
        return log_io_fsync_dir(job->dir);
    return 0;
}

/*
 * The recovery point a successful job may publish: job->offset, but never
 * past the base of a sealed segment still dirty (one whose indexes no job
 * synced yet, typically the segment that rolled while this job ran): a
 * restart must scan that segment rather than trust its indexes. The broker
 * then runs another job at once, which syncs it.
 */
static int64_t flush_safe_point(const log_partition_t *p, int64_t offset)
{
    for (size_t i = 0; i + 1 < p->nsegs; i++) {
        const log_segment_t *seg = p->segs[i];
        if (log_segment_dirty(seg) && seg->base_offset < offset)
            offset = seg->base_offset;
    }
    return offset;
}

void log_partition_flush_complete(log_partition_t *p, log_flush_job_t *job, int rc)
{
    if (p != NULL && rc == 0) {
        for (size_t i = 0; i < job->count; i++) {
            if (job->gens[i] > job->segs[i]->synced_gen)
                job->segs[i]->synced_gen = job->gens[i];
        }
        if (job->dir != NULL && job->dir_gen > p->dir_synced_gen)
            p->dir_synced_gen = job->dir_gen;
        int64_t point = flush_safe_point(p, job->offset);
        /* A truncation since prepare may have replaced what the job synced. */
        if (point > p->recovery_point && job->trunc_gen == p->trunc_gen)
            p->recovery_point = point;
        p->last_flush_ms = now_ms(&p->cfg);
    } else if (p != NULL) {
        LOG_WARN(SUBSYS, "%s: flush up to offset %" PRId64 " failed, recovery point stays at %" PRId64 ": %s", p->dir,
                 job->offset, p->recovery_point, log_strerror(rc));
    }
    for (size_t i = 0; i < job->count; i++)
        log_segment_unref(job->segs[i]);
    free(job->segs);
    free(job->gens);
    free(job->fds);
    free(job->dir);
    memset(job, 0, sizeof *job);
}

int log_partition_flush(log_partition_t *p)
{
    log_flush_job_t job;
    int rc = flush_prepare(p, &job, 1);
    if (rc < 0)
        return rc;
    rc = log_flush_job_run(&job);
    log_partition_flush_complete(p, &job, rc);
    return rc;
}

int64_t log_partition_recovery_point(const log_partition_t *p)
{
    return p->recovery_point;
}

int64_t log_partition_unflushed_messages(const log_partition_t *p)
{
    return p->end_offset - p->recovery_point;
}

int64_t log_partition_last_flush_ms(const log_partition_t *p)
{
    return p->last_flush_ms;
}

size_t log_partition_memory(const log_partition_t *p)
{
    size_t bytes = sizeof(*p) + p->nsegs * sizeof(p->segs[0]);
    for (size_t i = 0; i < p->nsegs; i++) {
        const log_segment_t *seg = p->segs[i];
        bytes += sizeof(*seg) + seg->oidx.cap * sizeof(seg->oidx.entries[0]) +
                 seg->tidx.cap * sizeof(seg->tidx.entries[0]) + seg->txi.cap * sizeof(seg->txi.entries[0]);
    }
    bytes += p->epochs.cap * sizeof(p->epochs.entries[0]);
    /* each producer: its entry plus a map slot */
    bytes += log_pstate_count(&p->pstate) * (sizeof(log_producer_t) + 2 * sizeof(map_entry_t));
    return bytes;
}
