#include "log/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "base/diag.h"
#include "log/io.h"

#define SUBSYS "log"

int log_segment_path(char *out, size_t outlen, const char *prefix, const char *suffix)
{
    int n = snprintf(out, outlen, "%s%s", prefix, suffix);
    if (n < 0 || (size_t)n >= outlen)
        return -ENAMETOOLONG;
    return 0;
}

static int open_suffix(const log_segment_t *seg, const char *suffix, int flags)
{
    char path[PATH_MAX];
    int rc = log_segment_path(path, sizeof path, seg->path, suffix);
    if (rc < 0)
        return rc;
    return log_io_open(path, flags, 0644);
}

static int unlink_suffix(const log_segment_t *seg, const char *suffix)
{
    char path[PATH_MAX];
    int rc = log_segment_path(path, sizeof path, seg->path, suffix);
    if (rc < 0)
        return rc;
    rc = log_io_unlink(path);
    return rc == -ENOENT ? 0 : rc;
}

static int segment_alloc(const char *dir, int64_t base_offset, const log_config_t *cfg, log_segment_t **out)
{
    char prefix[PATH_MAX];
    int n = snprintf(prefix, sizeof prefix, "%s/%0*" PRId64, dir, LOG_SEGMENT_NAME_DIGITS, base_offset);
    if (n < 0 || (size_t)n + LOG_SEGMENT_MAX_SUFFIX >= sizeof prefix)
        return -ENAMETOOLONG;
    log_segment_t *seg = calloc(1, sizeof *seg);
    if (seg == NULL)
        return -ENOMEM;
    seg->path = strdup(prefix);
    if (seg->path == NULL) {
        free(seg);
        return -ENOMEM;
    }
    seg->base_offset = base_offset;
    seg->next_offset = base_offset;
    seg->fd = -1;
    log_offset_index_init(&seg->oidx, -1, base_offset, cfg->index_max_bytes);
    log_time_index_init(&seg->tidx, -1, base_offset, cfg->index_max_bytes);
    seg->oidx.reopen_prefix = seg->tidx.reopen_prefix = seg->path;
    log_txn_index_init(&seg->txi, -1, base_offset);
    seg->max_timestamp = -1;
    seg->max_timestamp_offset = -1;
    seg->rolling_ts = -1;
    seg->refs = 1;
    *out = seg;
    return 0;
}

int log_segment_txn_index_fd(log_segment_t *seg)
{
    if (seg->txi.fd >= 0)
        return 0;
    int fd = open_suffix(seg, ".txnindex", O_RDWR | O_CREAT | (seg->txi_reopen_trunc ? O_TRUNC : 0));
    if (fd < 0)
        return fd;
    seg->txi.fd = fd;
    seg->txi_reopen_trunc = 0;
    return 0;
}

/*
 * Index descriptors are opened again by the first write that needs them
 * (log/index.h): every entry is in memory, so an idle segment needs only its
 * .log open. A flush job skips a released descriptor, which has nothing
 * unsynced: the write that reopens it also advances the segment's gen.
 */
static void segment_release_indexes(log_segment_t *seg)
{
    log_offset_index_release(&seg->oidx);
    log_time_index_release(&seg->tidx);
    if (seg->txi.fd >= 0) {
        (void)log_io_close(seg->txi.fd);
        seg->txi.fd = -1;
    }
}

/*
 * Makes the three index files of a segment whose .log is still empty, before
 * its first batch is written: from then on a restart finds them, so a
 * missing one means damage (and a rebuild), not a quiet partition.
 */
static int segment_make_indexes(log_segment_t *seg)
{
    int trunc[3] = {seg->oidx.reopen_trunc, seg->tidx.reopen_trunc, seg->txi_reopen_trunc};
    const char *sfx[3] = {".index", ".timeindex", ".txnindex"};
    const int have[3] = {seg->oidx.fd >= 0, seg->tidx.fd >= 0, seg->txi.fd >= 0};
    for (int i = 0; i < 3; i++) {
        if (have[i])
            continue;
        int fd = open_suffix(seg, sfx[i], O_RDWR | O_CREAT | (trunc[i] ? O_TRUNC : 0));
        if (fd < 0)
            return fd;
        (void)log_io_close(fd);
    }
    seg->oidx.reopen_trunc = seg->tidx.reopen_trunc = 0;
    seg->txi_reopen_trunc = 0;
    seg->index_files_pending = 0;
    return 0;
}

static const char *const segment_suffixes[] = {".log", ".index", ".timeindex", ".txnindex"};
#define DELETED_SUFFIX ".deleted"

static void segment_free(log_segment_t *seg)
{
    /* Close first: with a name still linked that is cheap, and the unlink that
     * frees the blocks can then run off the loop thread (log_io_unlink_later). */
    if (seg->fd >= 0)
        (void)log_io_close(seg->fd);
    log_offset_index_fini(&seg->oidx);
    log_time_index_fini(&seg->tidx);
    log_txn_index_fini(&seg->txi);
    if (seg->deleted) {
        for (size_t i = 0; i < sizeof segment_suffixes / sizeof segment_suffixes[0]; i++) {
            char path[PATH_MAX];
            int n = snprintf(path, sizeof path, "%s%s%s", seg->path, segment_suffixes[i], DELETED_SUFFIX);
            int rc = n > 0 && (size_t)n < sizeof path ? log_io_unlink_later(path) : -ENAMETOOLONG;
            if (rc < 0 && rc != -ENOENT)
                LOG_WARN(SUBSYS, "%s%s%s: cannot unlink: %s", seg->path, segment_suffixes[i], DELETED_SUFFIX,
                         log_strerror(rc));
        }
    }
    free(seg->path);
    free(seg);
}

int log_segment_create(const char *dir, int64_t base_offset, const log_config_t *cfg, int64_t now_ms,
                       log_segment_t **out)
{
    log_segment_t *seg;
    int rc = segment_alloc(dir, base_offset, cfg, &seg);
    if (rc < 0)
        return rc;
    rc = open_suffix(seg, ".log", O_RDWR | O_CREAT | O_EXCL);
    if (rc < 0) {
        segment_free(seg);
        return rc;
    }
    seg->fd = rc;
    /*
     * The index files wait for the first append (segment_make_indexes): a
     * restart ignores the indexes of an empty .log, and a broker creating
     * thousands of partitions makes one file for each, not four. Stale index
     * files of that name (an interrupted roll) are emptied then.
     */
    seg->oidx.reopen_trunc = seg->tidx.reopen_trunc = 1;
    seg->txi_reopen_trunc = 1;
    seg->index_files_pending = 1;
    seg->created_ms = now_ms;
    log_segment_touch(seg);
    *out = seg;
    return 0;
}

/* Opens an index file, creating it if missing; *missing says which happened. */
static int open_index(log_segment_t *seg, const char *suffix, int *missing)
{
    int fd = open_suffix(seg, suffix, O_RDWR);
    if (fd == -ENOENT) {
        *missing = 1;
        fd = open_suffix(seg, suffix, O_RDWR | O_CREAT);
    }
    return fd;
}

/*
 * Finds the end of the active segment by walking the batches after its last
 * offset-index entry, cutting a torn tail (a crash mid-write) at the last
 * whole batch. Returns 1 when the tail is consistent with the indexes (state
 * filled in), 0 when it is not (the caller runs a full recovery), or an I/O
 * error.
 */
static int tail_scan(log_segment_t *seg)
{
    log_scan_t sc;
    proto_batch_header_t hdr;
    int64_t batch_pos, start = 0, entry_offset = -1;
    int64_t ts = -1, ts_offset = -1, bytes = 0, next = seg->base_offset;
    int first = 1, rc;

    if (seg->oidx.count > 0) {
        const log_offset_entry_t *e = &seg->oidx.entries[seg->oidx.count - 1];
        start = e->position;
        entry_offset = seg->base_offset + e->rel_offset;
    }
    (void)log_time_index_last(&seg->tidx, &ts, &ts_offset);
    log_scan_init(&sc, seg->fd, start, seg->size);
    for (;;) {
        rc = log_scan_next(&sc, &hdr, &batch_pos);
        if (rc == 0)
            break;
        if (rc == LOG_ECORRUPT) {
            /* A bad batch where the index entry points means the index, not
             * the tail, is wrong: let a full scan decide. */
            if (first && entry_offset >= 0)
                return 0;
            break;
        }
        if (rc < 0)
            return rc;
        int64_t last = proto_batch_last_offset(&hdr);
        if (first && entry_offset >= 0) {
            /* The entry must name exactly the batch it points at. */
            if (last != entry_offset)
                return 0;
        } else if (hdr.base_offset < next || last - seg->base_offset > INT32_MAX) {
            break; /* treated like a torn batch: the log ends before it */
        }
        first = 0;
        if (hdr.max_timestamp > ts) {
            ts = hdr.max_timestamp;
            ts_offset = last;
        }
        bytes += (int64_t)proto_batch_total_size(&hdr);
        next = last + 1;
    }
    if (ts_offset >= next)
        return 0; /* the time index points past the data */
    if (start + bytes < seg->size) {
        LOG_WARN(SUBSYS,
                 "%s.log: cutting %" PRId64 " bytes of a partial or invalid batch at position %" PRId64
                 " (next offset %" PRId64 ")",
                 seg->path, seg->size - (start + bytes), start + bytes, next);
        rc = log_io_ftruncate(seg->fd, start + bytes);
        if (rc < 0)
            return rc;
        seg->size = start + bytes;
        log_segment_touch(seg);
    }
    seg->next_offset = next;
    seg->max_timestamp = ts;
    seg->max_timestamp_offset = ts_offset;
    seg->bytes_since_index = bytes;
    return 1;
}

/* The first batch's max timestamp, the base for log.roll.ms. */
static int load_rolling_ts(log_segment_t *seg)
{
    uint8_t raw[PROTO_BATCH_HEADER_SIZE];
    proto_batch_header_t hdr;
    seg->rolling_ts = -1;
    if (seg->size < PROTO_BATCH_HEADER_SIZE)
        return 0;
    ssize_t n = log_io_pread(seg->fd, raw, sizeof raw, 0);
    if (n < 0)
        return (int)n;
    if (n == (ssize_t)sizeof raw && proto_batch_header_parse(raw, sizeof raw, &hdr) == 0)
        seg->rolling_ts = hdr.max_timestamp;
    return 0;
}

int log_segment_open(const char *dir, int64_t base_offset, const log_config_t *cfg, int64_t next_offset, int64_t now_ms,
                     int full_scan, int64_t *cut_bytes, log_segment_t **out)
{
    log_segment_t *seg;
    int missing = 0, need_recover = 0;
    if (cut_bytes != NULL)
        *cut_bytes = 0;
    int rc = segment_alloc(dir, base_offset, cfg, &seg);
    if (rc < 0)
        return rc;
    seg->created_ms = now_ms;
    rc = open_suffix(seg, ".log", O_RDWR);
    if (rc < 0)
        goto fail;
    seg->fd = rc;
    rc = log_io_fsize(seg->fd, &seg->size);
    if (rc < 0)
        goto fail;
    if (seg->size > INT32_MAX) {
        /* Index positions are int32, as in Kafka; such a file is not ours. */
        LOG_ERROR(SUBSYS, "%s.log: %" PRId64 " bytes, larger than a segment can be", seg->path, seg->size);
        rc = LOG_ECORRUPT;
        goto fail;
    }
    if (seg->size == 0) {
        /*
         * An empty .log leaves its indexes nothing to point at, whatever
         * their files hold: they are neither opened nor loaded (three opens
         * saved per quiet partition at every start) and are emptied when a
         * write first reopens them. A missing one is created then.
         */
        seg->oidx.reopen_trunc = seg->tidx.reopen_trunc = 1;
        seg->txi_reopen_trunc = 1;
        seg->index_files_pending = 1;
        seg->next_offset = next_offset >= 0 ? next_offset : base_offset;
        *out = seg;
        return 0;
    }
    rc = open_index(seg, ".index", &missing);
    if (rc < 0)
        goto fail;
    seg->oidx.fd = rc;
    rc = open_index(seg, ".timeindex", &missing);
    if (rc < 0)
        goto fail;
    seg->tidx.fd = rc;
    /* A lost .txnindex needs no log recovery, only a rebuild by the partition. */
    int txn_missing = 0;
    rc = open_index(seg, ".txnindex", &txn_missing);
    if (rc < 0)
        goto fail;
    seg->txi.fd = rc;
    if (txn_missing) {
        seg->txi.stale = 1;
    } else {
        rc = log_txn_index_load(&seg->txi, next_offset);
        if (rc == LOG_ECORRUPT)
            LOG_WARN(SUBSYS, "%s.txnindex: fails its checks, to be rebuilt", seg->path);
        else if (rc < 0)
            goto fail;
    }
    need_recover = missing || full_scan;
    if (missing)
        LOG_WARN(SUBSYS, "%s: index file missing, rebuilding", seg->path);
    if (!need_recover) {
        rc = log_offset_index_load(&seg->oidx, seg->size, next_offset);
        if (rc == 0)
            rc = log_time_index_load(&seg->tidx, seg->size, next_offset);
        if (rc == LOG_ECORRUPT) {
            LOG_WARN(SUBSYS, "%s: index files fail their checks, rebuilding", seg->path);
            need_recover = 1;
        } else if (rc < 0) {
            goto fail;
        }
    }
    if (!need_recover && next_offset < 0) {
        rc = tail_scan(seg);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            LOG_WARN(SUBSYS, "%s.log: tail does not match its index or ends in a partial batch, recovering", seg->path);
            need_recover = 1;
        }
    }
    if (need_recover) {
        rc = log_segment_recover(seg, cfg->index_interval_bytes, next_offset, cut_bytes);
        if (rc < 0)
            goto fail;
    } else if (next_offset >= 0) {
        int64_t ts, off;
        if (log_time_index_last(&seg->tidx, &ts, &off)) {
            seg->max_timestamp = ts;
            seg->max_timestamp_offset = off;
        }
        seg->next_offset = next_offset;
    }
    /* Markers past the end (cut, or the active segment's torn tail) are gone. */
    rc = log_txn_index_truncate(&seg->txi, seg->next_offset);
    if (rc < 0)
        goto fail;
    if (next_offset < 0) {
        rc = load_rolling_ts(seg);
        if (rc < 0)
            goto fail;
    }
    segment_release_indexes(seg);
    *out = seg;
    return 0;
fail:
    segment_free(seg);
    return rc;
}

/* Bytes read at a time when a batch's CRC is checked outside the scan buffer. */
#define CRC_CHUNK (64 * 1024)

/*
 * 1 when the CRC-32C stored in hdr matches bytes [21, total) of the batch at
 * pos, 0 when not, or an I/O error. Small batches are usually already in the
 * scan buffer; bigger ones are read in chunks into tmp, so a garbled length
 * never makes us allocate what it claims.
 */
static int batch_crc_ok(const log_scan_t *sc, const proto_batch_header_t *hdr, int64_t pos, uint8_t *tmp)
{
    int64_t total = (int64_t)proto_batch_total_size(hdr);
    if (pos >= sc->buf_pos && pos + total <= sc->buf_pos + (int64_t)sc->buf_len)
        return proto_batch_crc_ok(sc->buf + (pos - sc->buf_pos), (size_t)total);
    uint32_t crc = 0;
    for (int64_t at = pos + PROTO_BATCH_ATTR_OFFSET; at < pos + total;) {
        size_t want = pos + total - at < CRC_CHUNK ? (size_t)(pos + total - at) : CRC_CHUNK;
        ssize_t n = log_io_pread(sc->fd, tmp, want, at);
        if (n < 0)
            return (int)n;
        if ((size_t)n != want)
            return 0; /* the file ended early: not a whole batch */
        crc = crc32c_update(crc, tmp, want);
        at += (int64_t)want;
    }
    return crc == hdr->crc;
}

int log_segment_recover(log_segment_t *seg, int32_t index_interval_bytes, int64_t limit_offset, int64_t *cut_bytes)
{
    log_scan_t *sc;
    proto_batch_header_t hdr;
    int64_t file_size, batch_pos = 0, valid = 0, last_index_pos = 0;
    int64_t next = seg->base_offset, ts = -1, ts_offset = -1, first_ts = -1;
    const char *why = "end of file";
    uint8_t *tmp;
    int rc;

    if (cut_bytes != NULL)
        *cut_bytes = 0;
    rc = log_io_fsize(seg->fd, &file_size);
    if (rc < 0)
        return rc;
    sc = malloc(sizeof *sc);
    tmp = malloc(CRC_CHUNK);
    if (sc == NULL || tmp == NULL) {
        free(sc);
        free(tmp);
        return -ENOMEM;
    }
    log_offset_index_clear(&seg->oidx);
    log_time_index_clear(&seg->tidx);
    log_scan_init(sc, seg->fd, 0, file_size);
    for (;;) {
        rc = log_scan_next(sc, &hdr, &batch_pos);
        if (rc == 0)
            break;
        if (rc == LOG_ECORRUPT) {
            why = "a partial batch or an invalid header";
            break;
        }
        if (rc < 0)
            goto out;
        int64_t last = proto_batch_last_offset(&hdr);
        int64_t total = (int64_t)proto_batch_total_size(&hdr);
        if (hdr.base_offset < next || last - seg->base_offset > INT32_MAX || batch_pos + total > INT32_MAX ||
            (limit_offset >= 0 && last >= limit_offset)) {
            why = "offsets out of order or outside the segment";
            break;
        }
        rc = batch_crc_ok(sc, &hdr, batch_pos, tmp);
        if (rc < 0)
            goto out;
        if (rc == 0) {
            why = "a CRC-32C mismatch";
            break;
        }
        if (hdr.max_timestamp > ts) {
            ts = hdr.max_timestamp;
            ts_offset = last;
        }
        if (valid - last_index_pos > index_interval_bytes) {
            rc = log_offset_index_push(&seg->oidx, last, valid);
            if (rc == 0)
                rc = log_time_index_maybe_push(&seg->tidx, ts, ts_offset);
            if (rc < 0)
                goto out;
            last_index_pos = valid;
        }
        if (valid == 0)
            first_ts = hdr.max_timestamp;
        valid += total;
        next = last + 1;
    }
    if (valid < file_size) {
        LOG_WARN(SUBSYS,
                 "%s.log: %s at position %" PRId64 ": cutting %" PRId64 " bytes (offsets from %" PRId64 " on are gone)",
                 seg->path, why, valid, file_size - valid, next);
        rc = log_io_ftruncate(seg->fd, valid);
        if (rc < 0)
            goto out;
        if (cut_bytes != NULL)
            *cut_bytes = file_size - valid;
    }
    rc = log_time_index_maybe_push(&seg->tidx, ts, ts_offset);
    if (rc == 0)
        rc = log_segment_txn_index_fd(seg);
    if (rc == 0)
        rc = log_txn_index_truncate(&seg->txi, next);
    if (rc == 0)
        rc = log_offset_index_store(&seg->oidx);
    if (rc == 0)
        rc = log_time_index_store(&seg->tidx);
    if (rc < 0)
        goto out;
    seg->size = valid;
    seg->next_offset = next;
    seg->max_timestamp = ts;
    seg->max_timestamp_offset = ts_offset;
    seg->rolling_ts = first_ts;
    seg->bytes_since_index = valid - last_index_pos;
    log_segment_touch(seg);
out:
    free(sc);
    free(tmp);
    return rc;
}

int log_segment_append(log_segment_t *seg, const uint8_t *batch, size_t len, const proto_batch_header_t *hdr,
                       int32_t index_interval_bytes)
{
    return log_segment_append_run(seg, batch, len, hdr, 1, index_interval_bytes);
}

int log_segment_append_run(log_segment_t *seg, const uint8_t *data, size_t len, const proto_batch_header_t *hdrs,
                           size_t n, int32_t index_interval_bytes)
{
    int64_t pos = seg->size;
    int64_t ts = seg->max_timestamp, ts_offset = seg->max_timestamp_offset;
    int64_t bsi = seg->bytes_since_index, next = seg->next_offset;
    size_t old_oidx = seg->oidx.count, old_tidx = seg->tidx.count;
    int rc = 0;

    if (n == 0)
        return -EINVAL;
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (hdrs[i].base_offset < next)
            return -EINVAL;
        next = proto_batch_last_offset(&hdrs[i]) + 1;
        sum += proto_batch_total_size(&hdrs[i]);
    }
    if (sum != len)
        return -EINVAL;
    if (pos + (int64_t)len > INT32_MAX || proto_batch_last_offset(&hdrs[n - 1]) - seg->base_offset > INT32_MAX)
        return LOG_ETOOLARGE;
    if (seg->index_files_pending) {
        int mrc = segment_make_indexes(seg);
        if (mrc < 0)
            return mrc;
    }
    rc = log_io_pwrite(seg->fd, data, len, pos);
    /* Index entries as if the batches came one at a time (Kafka's rule per batch). */
    int64_t at = pos;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const proto_batch_header_t *hdr = &hdrs[i];
        int64_t last = proto_batch_last_offset(hdr);
        if (hdr->max_timestamp > ts) {
            ts = hdr->max_timestamp;
            ts_offset = last;
        }
        if (bsi > index_interval_bytes) {
            rc = log_offset_index_append(&seg->oidx, last, at);
            if (rc == 0)
                rc = log_time_index_maybe_append(&seg->tidx, ts, ts_offset);
            bsi = 0;
        }
        bsi += (int64_t)proto_batch_total_size(hdr);
        at += (int64_t)proto_batch_total_size(hdr);
    }
    if (rc < 0) {
        /* Undo everything, so that neither a reader nor a restart ever sees
         * part of these batches or an index entry pointing into them. */
        (void)log_offset_index_truncate(&seg->oidx, old_oidx);
        (void)log_time_index_truncate(&seg->tidx, old_tidx);
        int trc = log_io_ftruncate(seg->fd, pos);
        if (trc < 0)
            LOG_WARN(SUBSYS, "%s.log: cannot cut a failed append back to %" PRId64 ": %s", seg->path, pos,
                     log_strerror(trc));
        log_segment_touch(seg);
        return rc;
    }
    seg->bytes_since_index = bsi;
    if (pos == 0)
        seg->rolling_ts = hdrs[0].max_timestamp;
    seg->size = pos + (int64_t)len;
    seg->next_offset = next;
    seg->max_timestamp = ts;
    seg->max_timestamp_offset = ts_offset;
    log_segment_touch(seg);
    return 0;
}

int64_t log_segment_truncate(log_segment_t *seg, int64_t offset, int64_t now_ms)
{
    log_scan_t *sc = malloc(sizeof *sc);
    proto_batch_header_t hdr;
    int64_t pos = 0, cut = seg->size, cut_base = -1;
    int rc;
    if (sc == NULL)
        return -ENOMEM;
    int64_t start = offset > seg->base_offset ? log_offset_index_lookup(&seg->oidx, offset, NULL) : 0;
    log_scan_init(sc, seg->fd, start, seg->size);
    while ((rc = log_scan_next(sc, &hdr, &pos)) == 1) {
        if (proto_batch_last_offset(&hdr) >= offset) {
            cut = pos;
            cut_base = hdr.base_offset;
            break;
        }
    }
    if (rc < 0 && rc != LOG_ECORRUPT) {
        free(sc);
        return rc;
    }
    if (rc == LOG_ECORRUPT) {
        /* Bytes that are no batch end the data: cut there too. */
        cut = sc->pos;
        cut_base = offset;
    }
    if (cut == seg->size) {
        free(sc);
        return 0;
    }
    rc = log_io_ftruncate(seg->fd, cut);
    if (rc < 0) {
        free(sc);
        return rc;
    }
    log_segment_touch(seg);
    size_t k = seg->oidx.count;
    while (k > 0 && seg->oidx.entries[k - 1].position >= cut)
        k--;
    int irc = log_offset_index_truncate(&seg->oidx, k);
    k = seg->tidx.count;
    while (k > 0 && seg->base_offset + seg->tidx.entries[k - 1].rel_offset >= cut_base)
        k--;
    if (irc == 0)
        irc = log_time_index_truncate(&seg->tidx, k);
    size_t tk = seg->txi.count;
    while (tk > 0 && seg->txi.entries[tk - 1].last_offset >= cut_base)
        tk--;
    if (irc == 0 && tk < seg->txi.count) {
        irc = log_segment_txn_index_fd(seg);
        if (irc == 0)
            irc = log_txn_index_truncate(&seg->txi, cut_base);
    }
    if (irc < 0) {
        /* The files keep entries past the data: a restart finds them failing their checks and rebuilds. */
        LOG_WARN(SUBSYS, "%s: index files not truncated: %s", seg->path, log_strerror(irc));
        seg->txi.count = tk;
    }
    /* Max timestamp: the last time entry, then the batches after the one it points at. */
    int64_t ts = -1, ts_off = -1, from = 0;
    if (log_time_index_last(&seg->tidx, &ts, &ts_off))
        from = log_offset_index_lookup(&seg->oidx, ts_off, NULL);
    log_scan_init(sc, seg->fd, from, cut);
    while (log_scan_next(sc, &hdr, &pos) == 1) {
        if (hdr.max_timestamp > ts) {
            ts = hdr.max_timestamp;
            ts_off = proto_batch_last_offset(&hdr);
        }
    }
    free(sc);
    seg->max_timestamp = ts;
    seg->max_timestamp_offset = ts >= 0 ? ts_off : -1;
    seg->bytes_since_index = cut - (seg->oidx.count > 0 ? seg->oidx.entries[seg->oidx.count - 1].position : 0);
    int64_t bytes = seg->size - cut;
    seg->size = cut;
    if (cut == 0) {
        seg->rolling_ts = -1;
        seg->created_ms = now_ms;
    }
    return bytes;
}

int log_segment_seal(log_segment_t *seg)
{
    if (seg->max_timestamp < 0)
        return 0;
    log_segment_touch(seg);
    return log_time_index_maybe_append(&seg->tidx, seg->max_timestamp, seg->max_timestamp_offset);
}

int log_segment_sync(log_segment_t *seg)
{
    /* fdatasync, as a flush job does: mtimes are not worth a journal commit.
     * A released (-1) index descriptor has nothing unsynced. */
    const int fds[] = {seg->fd, seg->oidx.fd, seg->tidx.fd, seg->txi.fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (fds[i] < 0)
            continue;
        int rc = log_io_fdatasync(fds[i]);
        if (rc < 0)
            return rc;
    }
    seg->synced_gen = seg->gen;
    return 0;
}

int log_segment_unlink(log_segment_t *seg)
{
    int rc = unlink_suffix(seg, ".log");
    int rc2 = unlink_suffix(seg, ".index");
    int rc3 = unlink_suffix(seg, ".timeindex");
    int rc4 = unlink_suffix(seg, ".txnindex");
    return rc < 0 ? rc : rc2 < 0 ? rc2 : rc3 < 0 ? rc3 : rc4;
}

int log_segment_mark_deleted(log_segment_t *seg)
{
    int first_err = 0;
    if (seg->deleted)
        return 0;
    for (size_t i = 0; i < sizeof segment_suffixes / sizeof segment_suffixes[0]; i++) {
        char from[PATH_MAX], to[PATH_MAX];
        int rc = log_segment_path(from, sizeof from, seg->path, segment_suffixes[i]);
        if (rc == 0)
            rc = snprintf(to, sizeof to, "%s%s", from, DELETED_SUFFIX) < (int)sizeof to ? 0 : -ENAMETOOLONG;
        if (rc == 0)
            rc = log_io_rename(from, to);
        if (rc < 0 && rc != -ENOENT) {
            /* Without the rename a restart would take the file for a live
             * segment; unlinking it now is the next best thing, and an open
             * descriptor still reads it. */
            int urc = unlink_suffix(seg, segment_suffixes[i]);
            LOG_WARN(SUBSYS, "%s%s: cannot rename for deletion (%s), unlinking now%s", seg->path, segment_suffixes[i],
                     log_strerror(rc), urc < 0 ? " failed too" : "");
            if (first_err == 0)
                first_err = urc < 0 ? urc : rc;
        }
    }
    seg->deleted = 1;
    return first_err;
}

int log_segment_delete_files(const char *dir, int64_t base_offset, int64_t *bytes)
{
    char prefix[PATH_MAX], path[PATH_MAX];
    int first_err = 0;
    *bytes = -1;
    int n = snprintf(prefix, sizeof prefix, "%s/%0*" PRId64, dir, LOG_SEGMENT_NAME_DIGITS, base_offset);
    if (n < 0 || (size_t)n + LOG_SEGMENT_MAX_SUFFIX >= sizeof prefix)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < sizeof segment_suffixes / sizeof segment_suffixes[0]; i++) {
        (void)log_segment_path(path, sizeof path, prefix, segment_suffixes[i]);
        if (i == 0) {
            int fd = log_io_open(path, O_RDONLY, 0);
            if (fd >= 0) {
                (void)log_io_fsize(fd, bytes);
                (void)log_io_close(fd);
            }
        }
        int rc = log_io_unlink(path);
        if (rc < 0 && rc != -ENOENT && first_err == 0)
            first_err = rc;
    }
    return first_err;
}

int log_segment_read(log_segment_t *seg, int64_t offset, size_t max_bytes, int min_one_batch, int64_t *pos, size_t *len)
{
    log_scan_t sc;
    proto_batch_header_t hdr;
    int64_t batch_pos = 0;
    int64_t start = offset > seg->base_offset ? log_offset_index_lookup(&seg->oidx, offset, NULL) : 0;
    int rc;

    log_scan_init(&sc, seg->fd, start, seg->size);
    for (;;) {
        rc = log_scan_next(&sc, &hdr, &batch_pos);
        if (rc <= 0)
            goto end;
        if (proto_batch_last_offset(&hdr) >= offset)
            break;
    }
    *pos = batch_pos;
    *len = proto_batch_total_size(&hdr);
    if (*len > max_bytes) {
        if (!min_one_batch)
            *len = 0;
        return 1;
    }
    for (;;) {
        rc = log_scan_next(&sc, &hdr, &batch_pos);
        if (rc <= 0 || *len + proto_batch_total_size(&hdr) > max_bytes)
            break;
        *len += proto_batch_total_size(&hdr);
    }
    if (rc < 0)
        LOG_WARN(SUBSYS, "%s.log: bad batch at position %" PRId64 " while reading: %s", seg->path, sc.pos,
                 log_strerror(rc));
    return 1;
end:
    if (rc < 0)
        LOG_WARN(SUBSYS, "%s.log: bad batch at position %" PRId64 " while reading offset %" PRId64 ": %s", seg->path,
                 sc.pos, offset, log_strerror(rc));
    return rc;
}

int log_segment_find_time(log_segment_t *seg, int64_t ts, int64_t min_offset, int64_t *offset, int64_t *batch_ts)
{
    log_scan_t sc;
    proto_batch_header_t hdr;
    int64_t batch_pos;
    int64_t from = log_time_index_lookup(&seg->tidx, ts);
    int64_t start = log_offset_index_lookup(&seg->oidx, from, NULL);

    log_scan_init(&sc, seg->fd, start, seg->size);
    for (;;) {
        int rc = log_scan_next(&sc, &hdr, &batch_pos);
        if (rc < 0)
            LOG_WARN(SUBSYS, "%s.log: bad batch at position %" PRId64 " in a time search: %s", seg->path, sc.pos,
                     log_strerror(rc));
        if (rc <= 0)
            return rc;
        if (hdr.max_timestamp >= ts && proto_batch_last_offset(&hdr) >= min_offset) {
            *offset = hdr.base_offset;
            *batch_ts = hdr.max_timestamp;
            return 1;
        }
    }
}

void log_segment_ref(log_segment_t *seg)
{
    seg->refs++;
}

void log_segment_unref(log_segment_t *seg)
{
    if (seg == NULL)
        return;
    DIAG_ASSERT(seg->refs > 0);
    if (--seg->refs == 0)
        segment_free(seg);
}

void log_scan_init(log_scan_t *sc, int fd, int64_t pos, int64_t end)
{
    sc->fd = fd;
    sc->pos = pos;
    sc->end = end;
    sc->buf_pos = pos;
    sc->buf_len = 0;
}

int log_scan_next(log_scan_t *sc, proto_batch_header_t *hdr, int64_t *batch_pos)
{
    if (sc->pos == sc->end)
        return 0;
    if (sc->pos > sc->end || sc->end - sc->pos < PROTO_BATCH_HEADER_SIZE)
        return LOG_ECORRUPT;
    int64_t avail = sc->end - sc->pos;
    if (sc->pos < sc->buf_pos || sc->pos + PROTO_BATCH_HEADER_SIZE > sc->buf_pos + (int64_t)sc->buf_len) {
        size_t want = avail < (int64_t)sizeof sc->buf ? (size_t)avail : sizeof sc->buf;
        ssize_t n = log_io_pread(sc->fd, sc->buf, want, sc->pos);
        if (n < 0)
            return (int)n;
        sc->buf_pos = sc->pos;
        sc->buf_len = (size_t)n;
        if (n < PROTO_BATCH_HEADER_SIZE)
            return LOG_ECORRUPT; /* the file is shorter than we were told */
    }
    const uint8_t *p = sc->buf + (sc->pos - sc->buf_pos);
    if (proto_batch_header_parse(p, PROTO_BATCH_HEADER_SIZE, hdr) != 0)
        return LOG_ECORRUPT;
    if (hdr->base_offset < 0 || hdr->last_offset_delta < 0 || hdr->base_offset > INT64_MAX - hdr->last_offset_delta)
        return LOG_ECORRUPT;
    if ((int64_t)proto_batch_total_size(hdr) > avail)
        return LOG_ECORRUPT;
    *batch_pos = sc->pos;
    sc->pos += (int64_t)proto_batch_total_size(hdr);
    return 1;
}
