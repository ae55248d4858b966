#include "log/compact.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/diag.h"
#include "log/io.h"
#include "log/partition.h"
#include "log/producer_state.h"
#include "protocol/compress.h"
#include "protocol/record.h"
#include "protocol/record_batch.h"
#include "protocol/writer.h"

#define SUBSYS "log"

/* Bound on one batch's decompressed records (as produce validation allows). */
#define COMPACT_MAX_DECOMPRESSED (256u * 1024u * 1024u)

static const char *const file_suffixes[] = {".log", ".index", ".timeindex"};
#define NSUFFIXES (sizeof file_suffixes / sizeof file_suffixes[0])

enum seg_action { SEG_UNCHANGED, SEG_REPLACED, SEG_EMPTIED };

typedef struct cseg_s {
    log_segment_t *seg; /* reference held from prepare to complete */
    int64_t base;
    int64_t next; /* the following segment's base: this one's offsets are below */
    int fd;       /* captured so that run reads no segment field */
    int64_t size;
    char *path; /* "<dir>/<base>" */
    int first;  /* the partition's first segment: never emptied (see keep_empty) */
    int action; /* enum seg_action, set by run */
    int files;  /* .cleaned files may exist on disk */
} cseg_t;

/* An active producer's last record, which the cleaner keeps (Kafka's LastRecord). */
typedef struct cprod_s {
    int64_t producer_id;
    int64_t last_data_offset; /* last offset of its last retained data batch; -1: none */
    int16_t epoch;
} cprod_t;

struct log_compact_work_s {
    char *dir;
    int64_t delete_retention_ms;
    int32_t index_interval_bytes;
    int32_t index_max_bytes;
    size_t count;
    cseg_t *segs;
    /* Captured by prepare so that run reads no partition state: */
    log_aborted_txn_t *aborted; /* overlapping the range, sorted by (producer_id, first_offset) */
    size_t naborted;
    cprod_t *producers; /* sorted by producer_id */
    size_t nproducers;
    /* Set by run: the largest offset of a marker dropped, -1 when none (complete fixes snapshots). */
    int64_t last_dropped_marker;
    uint64_t trunc_gen; /* the partition's truncation count at prepare */
};

/* ---- the key map: key bytes -> latest offset, exact (keys are copied) ---- */

typedef struct kslot_s {
    uint64_t hash;
    size_t koff; /* into keys */
    uint32_t klen;
    int64_t offset; /* -1: empty slot */
} kslot_t;

typedef struct kmap_s {
    kslot_t *slots;
    size_t cap; /* power of two */
    size_t count;
    buf_t keys;
} kmap_t;

static uint64_t key_hash(const uint8_t *k, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= k[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void kmap_init(kmap_t *m)
{
    memset(m, 0, sizeof *m);
    buf_init(&m->keys);
}

static void kmap_fini(kmap_t *m)
{
    free(m->slots);
    buf_fini(&m->keys);
}

static kslot_t *kmap_find(const kmap_t *m, const uint8_t *k, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        kslot_t *s = &m->slots[i];
        if (s->offset < 0)
            return s;
        if (s->hash == h && s->klen == len && (len == 0 || memcmp(m->keys.data + s->koff, k, len) == 0))
            return s;
    }
}

static int kmap_grow(kmap_t *m)
{
    size_t ncap = m->cap != 0 ? m->cap * 2 : 1024;
    kslot_t *old = m->slots;
    size_t ocap = m->cap;
    m->slots = malloc(ncap * sizeof *m->slots);
    if (m->slots == NULL) {
        m->slots = old;
        return -ENOMEM;
    }
    for (size_t i = 0; i < ncap; i++)
        m->slots[i].offset = -1;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].offset < 0)
            continue;
        const uint8_t *k = old[i].klen > 0 ? m->keys.data + old[i].koff : NULL;
        *kmap_find(m, k, old[i].klen, old[i].hash) = old[i];
    }
    free(old);
    return 0;
}

static int kmap_put(kmap_t *m, const uint8_t *k, size_t len, int64_t offset)
{
    if ((m->count + 1) * 10 > m->cap * 7) {
        int rc = kmap_grow(m);
        if (rc < 0)
            return rc;
    }
    uint64_t h = key_hash(k, len);
    kslot_t *s = kmap_find(m, k, len, h);
    if (s->offset < 0) {
        size_t koff = m->keys.len;
        if (len > 0 && buf_append(&m->keys, k, len) < 0)
            return -ENOMEM;
        s->hash = h;
        s->koff = koff;
        s->klen = (uint32_t)len;
        m->count++;
    }
    s->offset = offset;
    return 0;
}

/* The latest offset of the key, or -1 when it was never seen. */
static int64_t kmap_get(const kmap_t *m, const uint8_t *k, size_t len)
{
    if (m->cap == 0)
        return -1;
    return kmap_find(m, k, len, key_hash(k, len))->offset;
}

/* ---- small helpers ---- */

static int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b); /* untrusted inputs: no UB on overflow */
}

static int64_t wrap_sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int suffixed(char *out, size_t len, const char *prefix, const char *s1, const char *s2)
{
    int n = snprintf(out, len, "%s%s%s", prefix, s1, s2);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void unlink_cleaned(cseg_t *cs)
{
    for (size_t i = 0; i < NSUFFIXES; i++) {
        char path[PATH_MAX];
        if (suffixed(path, sizeof path, cs->path, file_suffixes[i], LOG_COMPACT_CLEANED_SUFFIX) < 0)
            continue;
        int rc = log_io_unlink(path);
        if (rc < 0 && rc != -ENOENT)
            LOG_WARN(SUBSYS, "%s: cannot unlink: %s", path, log_strerror(rc));
        if (suffixed(path, sizeof path, cs->path, file_suffixes[i], LOG_COMPACT_SWAP_SUFFIX) < 0)
            continue;
        rc = log_io_unlink(path);
        if (rc < 0 && rc != -ENOENT)
            LOG_WARN(SUBSYS, "%s: cannot unlink: %s", path, log_strerror(rc));
    }
    cs->files = 0;
}

static void work_free(struct log_compact_work_s *w, int unref)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->count; i++) {
        if (w->segs[i].files)
            unlink_cleaned(&w->segs[i]);
        if (unref)
            log_segment_unref(w->segs[i].seg);
        free(w->segs[i].path);
    }
    free(w->segs);
    free(w->aborted);
    free(w->producers);
    free(w->dir);
    free(w);
}

/* The first batch's max timestamp (Kafka's measure of how old dirty data is), cached in rolling_ts. */
static int64_t first_batch_ts(log_segment_t *seg)
{
    if (seg->rolling_ts < 0 && seg->size >= PROTO_BATCH_HEADER_SIZE) {
        uint8_t raw[PROTO_BATCH_HEADER_SIZE];
        proto_batch_header_t hdr;
        if (log_io_pread(seg->fd, raw, sizeof raw, 0) == (ssize_t)sizeof raw &&
            proto_batch_header_parse(raw, sizeof raw, &hdr) == 0)
            seg->rolling_ts = hdr.max_timestamp;
    }
    return seg->rolling_ts >= 0 ? seg->rolling_ts : seg->created_ms;
}

/* ---- transactions ---- */

static int cmp_aborted(const void *a, const void *b)
{
    const log_aborted_txn_t *x = a, *y = b;
    if (x->producer_id != y->producer_id)
        return x->producer_id < y->producer_id ? -1 : 1;
    return x->first_offset < y->first_offset ? -1 : x->first_offset > y->first_offset;
}

static int cmp_prod(const void *a, const void *b)
{
    const cprod_t *x = a, *y = b;
    return x->producer_id < y->producer_id ? -1 : x->producer_id > y->producer_id;
}

/*
 * Copies into the job what run needs from the partition: the aborted
 * transactions overlapping [first, end) (their markers may lie past the
 * range: the index is looked up by offset, not by segment) and the last
 * record of every producer the partition still tracks.
 */
static int capture_txns(log_partition_t *p, struct log_compact_work_s *w, int64_t first, int64_t end)
{
    int rc = log_partition_aborted_txns(p, first, end, &w->aborted, &w->naborted);
    if (rc < 0)
        return rc;
    if (w->naborted > 1)
        qsort(w->aborted, w->naborted, sizeof *w->aborted, cmp_aborted);
    size_t n = log_pstate_count(&p->pstate);
    if (n == 0)
        return 0;
    w->producers = malloc(n * sizeof *w->producers);
    if (w->producers == NULL)
        return -ENOMEM;
    size_t pos = 0;
    const log_producer_t *e;
    while (w->nproducers < n && (e = map_next(&p->pstate.producers, &pos)) != NULL) {
        cprod_t *c = &w->producers[w->nproducers++];
        c->producer_id = e->producer_id;
        c->epoch = e->epoch;
        c->last_data_offset = e->nbatches > 0 ? e->batches[e->nbatches - 1].last_offset : -1;
    }
    qsort(w->producers, w->nproducers, sizeof *w->producers, cmp_prod);
    return 0;
}

/* Whether a transactional batch of producer_id at base_offset belongs to an aborted transaction. */
static int txn_aborted(const struct log_compact_work_s *w, int64_t producer_id, int64_t base_offset)
{
    /* The last entry of the producer starting at or before the batch: a
     * producer has one transaction at a time, so only it can hold the batch. */
    size_t lo = 0, hi = w->naborted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const log_aborted_txn_t *a = &w->aborted[mid];
        if (a->producer_id < producer_id || (a->producer_id == producer_id && a->first_offset <= base_offset))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    const log_aborted_txn_t *a = &w->aborted[lo - 1];
    return a->producer_id == producer_id && base_offset <= a->last_offset;
}

/*
 * Kafka's isBatchLastRecordOfProducer: the batch holding an active
 * producer's last sequence (or, when it has no data batch left in its
 * state, a marker of its current epoch) is kept, emptied if need be, so
 * that a rebuild from the log still knows the producer's sequence and epoch.
 */
static int producer_last(const struct log_compact_work_s *w, const proto_batch_header_t *hdr, int control)
{
    if (hdr->producer_id < 0 || w->nproducers == 0)
        return 0;
    cprod_t key = {.producer_id = hdr->producer_id};
    const cprod_t *c = bsearch(&key, w->producers, w->nproducers, sizeof *w->producers, cmp_prod);
    if (c == NULL)
        return 0;
    if (c->last_data_offset >= 0)
        return !control && proto_batch_last_offset(hdr) == c->last_data_offset;
    return control && hdr->producer_epoch == c->epoch;
}

/* ---- prepare ---- */

int log_partition_compact_prepare(log_partition_t *p, int64_t now_ms, log_compact_job_t *job)
{
    memset(job, 0, sizeof *job);
    job->now_ms = now_ms;
    if (!p->cfg.compact)
        return 0;
    if (p->compacting)
        return -EBUSY;
    /*
     * The cleanable range: sealed segments up to the first one holding data
     * newer than the minimum lag, or holding the last stable offset (Kafka's
     * first uncleanable offset): the data of an open transaction may still
     * be aborted, so the cleaner never decides about it, and every
     * transaction it sees has its outcome in the aborted-transaction index.
     */
    int64_t lso = log_partition_last_stable_offset(p);
    size_t k = 0;
    while (k + 1 < p->nsegs) {
        const log_segment_t *seg = p->segs[k];
        int64_t newest = seg->max_timestamp >= 0 ? seg->max_timestamp : seg->created_ms;
        if (p->cfg.min_compaction_lag_ms > 0 && wrap_sub(now_ms, newest) < p->cfg.min_compaction_lag_ms)
            break;
        if (p->segs[k + 1]->base_offset > lso)
            break;
        k++;
    }
    if (k == 0)
        return 0;
    int64_t cp = p->cleaner_point > p->segs[0]->base_offset ? p->cleaner_point : p->segs[0]->base_offset;
    int64_t total = 0, dirty = 0;
    size_t first_dirty = k;
    for (size_t i = 0; i < k; i++) {
        total += p->segs[i]->size;
        if (p->segs[i + 1]->base_offset > cp) {
            dirty += p->segs[i]->size;
            if (first_dirty == k)
                first_dirty = i;
        }
    }
    if (dirty == 0 || total == 0)
        return 0;
    int need_now = 0;
    if (p->cfg.max_compaction_lag_ms < INT64_MAX &&
        wrap_sub(now_ms, first_batch_ts(p->segs[first_dirty])) > p->cfg.max_compaction_lag_ms)
        need_now = 1;
    double ratio = (double)dirty / (double)total;
    if (!need_now && ratio < p->cfg.min_cleanable_dirty_ratio)
        return 0;

    struct log_compact_work_s *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -ENOMEM;
    w->dir = strdup(p->dir);
    w->segs = calloc(k, sizeof *w->segs);
    if (w->dir == NULL || w->segs == NULL) {
        work_free(w, 0);
        return -ENOMEM;
    }
    w->delete_retention_ms = p->cfg.delete_retention_ms;
    w->index_interval_bytes = p->cfg.index_interval_bytes;
    w->index_max_bytes = p->cfg.index_max_bytes;
    for (size_t i = 0; i < k; i++) {
        cseg_t *cs = &w->segs[i];
        log_segment_t *seg = p->segs[i];
        cs->path = strdup(seg->path);
        if (cs->path == NULL) {
            work_free(w, 1);
            return -ENOMEM;
        }
        log_segment_ref(seg);
        w->count = i + 1;
        cs->seg = seg;
        cs->base = seg->base_offset;
        cs->next = p->segs[i + 1]->base_offset;
        cs->fd = seg->fd;
        cs->size = seg->size;
        cs->first = i == 0;
    }
    job->first_offset = w->segs[0].base;
    job->end_offset = w->segs[k - 1].next;
    w->last_dropped_marker = -1;
    int rc = capture_txns(p, w, job->first_offset, job->end_offset);
    if (rc < 0) {
        work_free(w, 1);
        return rc;
    }
    w->trunc_gen = p->trunc_gen;
    job->work = w;
    p->compacting = 1;
    LOG_DEBUG(SUBSYS, "%s: compacting [%" PRId64 ", %" PRId64 "): %zu segment(s), dirty ratio %.3f%s", p->dir,
              job->first_offset, job->end_offset, k, ratio, need_now ? ", max.compaction.lag.ms reached" : "");
    return 1;
}

/* ---- run ---- */

/* Reads the whole batch at pos into raw and checks its CRC: the cleaner never copies damage. */
static int read_batch(int fd, int64_t pos, const proto_batch_header_t *hdr, buf_t *raw)
{
    size_t total = proto_batch_total_size(hdr);
    raw->len = 0;
    int rc = buf_reserve(raw, total);
    if (rc < 0)
        return rc;
    ssize_t n = log_io_pread(fd, raw->data, total, pos);
    if (n < 0)
        return (int)n;
    if ((size_t)n != total || !proto_batch_crc_ok(raw->data, total))
        return LOG_ECORRUPT;
    raw->len = total;
    return 0;
}

static int batch_is_control(const proto_batch_header_t *hdr)
{
    return (hdr->attributes & PROTO_BATCH_CONTROL) != 0;
}

static int batch_is_aborted(const struct log_compact_work_s *w, const proto_batch_header_t *hdr)
{
    return (hdr->attributes & PROTO_BATCH_TRANSACTIONAL) != 0 && hdr->producer_id >= 0 &&
           txn_aborted(w, hdr->producer_id, hdr->base_offset);
}

/* Offset of a record, checked against its batch's span. */
static int record_offset(const proto_batch_header_t *hdr, const proto_record_t *rec, int64_t *off)
{
    if (rec->offset_delta < 0 || rec->offset_delta > hdr->last_offset_delta)
        return LOG_ECORRUPT;
    *off = hdr->base_offset + rec->offset_delta;
    return 0;
}

static int build_map(struct log_compact_work_s *w, kmap_t *map, buf_t *raw, buf_t *scratch)
{
    for (size_t i = 0; i < w->count; i++) {
        cseg_t *cs = &w->segs[i];
        log_scan_t *sc = malloc(sizeof *sc);
        if (sc == NULL)
            return -ENOMEM;
        log_scan_init(sc, cs->fd, 0, cs->size);
        int rc;
        for (;;) {
            proto_batch_header_t hdr;
            int64_t pos;
            rc = log_scan_next(sc, &hdr, &pos);
            if (rc <= 0)
                break;
            /* Control records carry no data key; records of aborted
             * transactions are dropped and must never supersede anything. */
            if (batch_is_control(&hdr) || batch_is_aborted(w, &hdr))
                continue;
            rc = read_batch(cs->fd, pos, &hdr, raw);
            if (rc < 0)
                break;
            proto_reader_t rd;
            if (proto_batch_records(raw->data, raw->len, &hdr, scratch, COMPACT_MAX_DECOMPRESSED, &rd) != 0) {
                rc = LOG_ECORRUPT;
                break;
            }
            while (rc == 0 && proto_rd_remaining(&rd) > 0) {
                proto_record_t rec;
                int64_t off;
                if (proto_record_next(&rd, &rec) != 0 || record_offset(&hdr, &rec, &off) < 0)
                    rc = LOG_ECORRUPT;
                else if (rec.key.len >= 0)
                    rc = kmap_put(map, rec.key.ptr, (size_t)rec.key.len, off);
            }
            if (rc < 0)
                break;
        }
        free(sc);
        if (rc < 0) {
            LOG_WARN(SUBSYS, "%s.log: compaction cannot read the segment: %s", cs->path, log_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static void write_record(proto_writer_t *wr, const proto_record_t *rec, int64_t ts_delta)
{
    proto_wr_i8(wr, rec->attributes);
    proto_wr_varlong(wr, ts_delta);
    proto_wr_varint(wr, rec->offset_delta);
    proto_wr_varint(wr, rec->key.len);
    if (rec->key.len > 0)
        proto_wr_raw(wr, rec->key.ptr, (size_t)rec->key.len);
    proto_wr_varint(wr, rec->value.len);
    if (rec->value.len > 0)
        proto_wr_raw(wr, rec->value.ptr, (size_t)rec->value.len);
    proto_wr_varint(wr, rec->headers_count);
    if (rec->headers_len > 0)
        proto_wr_raw(wr, rec->headers, rec->headers_len);
}

/*
 * Writes a batch holding the n kept records of the batch hdr describes, the
 * way Kafka's cleaner does: base offset, last offset delta, partition leader
 * epoch, producer id, epoch and base sequence stay (so the producer's last
 * sequence survives); records keep their offset deltas; records_count is n;
 * the codec and timestamp type stay. The base timestamp becomes the first
 * kept record's timestamp, or the delete horizon (attribute 0x40) when one
 * is set; the max timestamp is recomputed from the kept records, except for
 * LogAppendTime, where it is the append time and stays. n == 0 writes
 * Kafka's empty batch: header only, no codec, both timestamps the old max.
 */
static int write_batch(const proto_batch_header_t *hdr, const proto_record_t *recs, size_t n, int64_t horizon,
                       buf_t *plain, buf_t *out)
{
    int append_time = (hdr->attributes & PROTO_BATCH_LOG_APPEND_TIME) != 0;
    int16_t attrs = hdr->attributes;
    int64_t base_ts, max_ts = -1;
    int codec = attrs & PROTO_BATCH_CODEC_MASK;

    if (n == 0) {
        attrs = (int16_t)(attrs & ~PROTO_BATCH_CODEC_MASK & ~PROTO_BATCH_DELETE_HORIZON);
        base_ts = max_ts = hdr->max_timestamp;
    } else {
        if (horizon >= 0) {
            attrs = (int16_t)(attrs | PROTO_BATCH_DELETE_HORIZON);
            base_ts = horizon;
        } else {
            base_ts = wrap_add(hdr->base_timestamp, recs[0].timestamp_delta);
        }
        for (size_t i = 0; i < n; i++) {
            int64_t ts = wrap_add(hdr->base_timestamp, recs[i].timestamp_delta);
            if (i == 0 || ts > max_ts)
                max_ts = ts;
        }
        if (append_time)
            max_ts = hdr->max_timestamp;
    }
    out->len = 0;
    proto_writer_t wr;
    proto_writer_init(&wr, out);
    proto_wr_i64(&wr, hdr->base_offset);
    proto_wr_i32(&wr, 0); /* batch_length, patched below */
    proto_wr_i32(&wr, hdr->partition_leader_epoch);
    proto_wr_i8(&wr, 2);
    proto_wr_u32(&wr, 0); /* crc, patched below */
    proto_wr_i16(&wr, attrs);
    proto_wr_i32(&wr, hdr->last_offset_delta);
    proto_wr_i64(&wr, base_ts);
    proto_wr_i64(&wr, max_ts);
    proto_wr_i64(&wr, hdr->producer_id);
    proto_wr_i16(&wr, hdr->producer_epoch);
    proto_wr_i32(&wr, hdr->base_sequence);
    proto_wr_i32(&wr, (int32_t)n);

    plain->len = 0;
    proto_writer_t pw;
    proto_writer_init(&pw, codec != PROTO_CODEC_NONE && n > 0 ? plain : out);
    for (size_t i = 0; i < n; i++) {
        int64_t ts_delta = wrap_sub(wrap_add(hdr->base_timestamp, recs[i].timestamp_delta), base_ts);
        proto_writer_t sz;
        proto_writer_init(&sz, NULL);
        write_record(&sz, &recs[i], ts_delta);
        if (sz.count > INT32_MAX)
            return LOG_ETOOLARGE;
        proto_wr_varint(&pw, (int32_t)sz.count);
        write_record(&pw, &recs[i], ts_delta);
    }
    if (wr.err || pw.err)
        return -ENOMEM;
    if (codec != PROTO_CODEC_NONE && n > 0) {
        int rc = proto_compress((proto_codec_t)codec, plain->data, plain->len, out);
        if (rc != 0)
            return rc == PROTO_ENOMEM ? -ENOMEM : LOG_ECORRUPT;
    }
    if (out->len - PROTO_BATCH_LOG_OVERHEAD > INT32_MAX)
        return LOG_ETOOLARGE;
    uint8_t *b = out->data;
    uint32_t blen = (uint32_t)(out->len - PROTO_BATCH_LOG_OVERHEAD);
    b[8] = (uint8_t)(blen >> 24);
    b[9] = (uint8_t)(blen >> 16);
    b[10] = (uint8_t)(blen >> 8);
    b[11] = (uint8_t)blen;
    uint32_t crc = proto_batch_compute_crc(b, out->len);
    b[PROTO_BATCH_CRC_OFFSET] = (uint8_t)(crc >> 24);
    b[PROTO_BATCH_CRC_OFFSET + 1] = (uint8_t)(crc >> 16);
    b[PROTO_BATCH_CRC_OFFSET + 2] = (uint8_t)(crc >> 8);
    b[PROTO_BATCH_CRC_OFFSET + 3] = (uint8_t)crc;
    return 0;
}

/* The cleaned copy of one segment being written. */
typedef struct out_seg_s {
    int fd;
    log_offset_index_t oidx;
    log_time_index_t tidx;
    int64_t pos;
    int64_t last_index_pos;
    int64_t ts, ts_offset;
} out_seg_t;

/* Appends one batch to the cleaned copy, with index entries by Kafka's interval rule (as recovery builds them). */
static int out_append(out_seg_t *o, const uint8_t *batch, size_t len, const proto_batch_header_t *hdr, int32_t interval)
{
    int64_t last = proto_batch_last_offset(hdr);
    if (o->pos + (int64_t)len > INT32_MAX)
        return LOG_ETOOLARGE;
    int rc = log_io_pwrite(o->fd, batch, len, o->pos);
    if (rc < 0)
        return rc;
    if (hdr->max_timestamp > o->ts) {
        o->ts = hdr->max_timestamp;
        o->ts_offset = last;
    }
    if (o->pos - o->last_index_pos > interval) {
        rc = log_offset_index_push(&o->oidx, last, o->pos);
        if (rc == 0)
            rc = log_time_index_maybe_push(&o->tidx, o->ts, o->ts_offset);
        if (rc < 0)
            return rc;
        o->last_index_pos = o->pos;
    }
    o->pos += (int64_t)len;
    return 0;
}

typedef struct filter_ctx_s {
    const kmap_t *map;
    const struct log_compact_work_s *w;
    /*
     * Kafka's CleanedTransactionMetadata, reduced to what the marker rule
     * needs: producer id (8 bytes big-endian) -> 1 when this pass read a
     * batch of the producer's current transaction (kept or not), 0 after its
     * marker. A marker whose transaction showed no batch is "for an empty
     * transaction" and may go once its delete horizon has passed.
     */
    kmap_t seen;
    int64_t now_ms;
    int64_t delete_retention_ms;
    int64_t last_dropped_marker; /* -1: none */
    buf_t raw, scratch, plain, out;
    proto_record_t *recs;
    size_t recs_cap;
    log_compact_stats_t *stats;
} filter_ctx_t;

static void pid_key(int64_t producer_id, uint8_t k[8])
{
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)((uint64_t)producer_id >> (56 - 8 * i));
}

static int seen_set(filter_ctx_t *ctx, int64_t producer_id, int64_t v)
{
    uint8_t k[8];
    pid_key(producer_id, k);
    return kmap_put(&ctx->seen, k, sizeof k, v);
}

static int seen_get(const filter_ctx_t *ctx, int64_t producer_id)
{
    uint8_t k[8];
    pid_key(producer_id, k);
    return kmap_get(&ctx->seen, k, sizeof k) == 1;
}

/* now + delete.retention.ms, saturating: the delete horizon a batch gets at its first clean. */
static int64_t new_horizon(const filter_ctx_t *ctx)
{
    return ctx->now_ms > INT64_MAX - ctx->delete_retention_ms ? INT64_MAX : ctx->now_ms + ctx->delete_retention_ms;
}

static int push_rec(filter_ctx_t *ctx, size_t n, const proto_record_t *rec)
{
    if (n == ctx->recs_cap) {
        size_t ncap = ctx->recs_cap != 0 ? ctx->recs_cap * 2 : 64;
        proto_record_t *nr = realloc(ctx->recs, ncap * sizeof *nr);
        if (nr == NULL)
            return -ENOMEM;
        ctx->recs = nr;
        ctx->recs_cap = ncap;
    }
    ctx->recs[n] = *rec;
    return 0;
}

/*
 * A control batch. Kafka's rule: a COMMIT or ABORT marker stays while this
 * pass saw any batch of its transaction (the batches go first, the marker
 * in a later pass, so a log cut anywhere in between still pairs every
 * transactional batch with its marker); once none was seen it is given a
 * delete horizon like a tombstone's, and dropped in the first pass after the
 * horizon: a consumer that read the transaction's data has had
 * delete.retention.ms to read the marker too. An emptied control batch goes
 * at once. Unknown or unreadable control batches stay as they are. The
 * marker of an active producer that has no data batch left stays whole: it
 * is what tells a rebuild the producer's epoch.
 */
static int filter_control(filter_ctx_t *ctx, const proto_batch_header_t *hdr, int *keep)
{
    log_marker_t m;
    int discardable = 0;
    int rc = log_marker_parse(ctx->raw.data, ctx->raw.len, hdr, &ctx->scratch, &m);
    *keep = 1;
    if (rc == 0) {
        discardable = 1;
    } else if (rc == 1 && (m.type == LOG_MARKER_ABORT || m.type == LOG_MARKER_COMMIT)) {
        discardable = !seen_get(ctx, hdr->producer_id);
        rc = seen_set(ctx, hdr->producer_id, 0);
        if (rc < 0)
            return rc;
    }
    if (!discardable || producer_last(ctx->w, hdr, 1))
        return 0;
    int horizon_set = (hdr->attributes & PROTO_BATCH_DELETE_HORIZON) != 0;
    if (hdr->records_count <= 0 || (horizon_set && ctx->now_ms >= hdr->base_timestamp)) {
        *keep = 0;
        ctx->stats->markers_removed++;
        if (proto_batch_last_offset(hdr) > ctx->last_dropped_marker)
            ctx->last_dropped_marker = proto_batch_last_offset(hdr);
        return 0;
    }
    if (horizon_set)
        return 0;
    /* First seen without data: rewritten whole with its delete horizon. */
    proto_reader_t rd;
    size_t n = 0;
    if (proto_batch_records(ctx->raw.data, ctx->raw.len, hdr, &ctx->scratch, COMPACT_MAX_DECOMPRESSED, &rd) != 0)
        return 0; /* unreadable: kept as is */
    while (proto_rd_remaining(&rd) > 0) {
        proto_record_t rec;
        int64_t off;
        if (proto_record_next(&rd, &rec) != 0 || record_offset(hdr, &rec, &off) < 0)
            return 0;
        rc = push_rec(ctx, n, &rec);
        if (rc < 0)
            return rc;
        n++;
    }
    if (n == 0)
        return 0;
    rc = write_batch(hdr, ctx->recs, n, new_horizon(ctx), &ctx->plain, &ctx->out);
    if (rc < 0)
        return rc;
    *keep = 2;
    return 0;
}

/* An emptied copy of a data batch kept only for its producer fields (Kafka's RETAIN_EMPTY). */
static int keep_empty(filter_ctx_t *ctx, const proto_batch_header_t *hdr, int *keep)
{
    if (hdr->records_count == 0) {
        *keep = 1;
        return 0;
    }
    int rc = write_batch(hdr, NULL, 0, -1, &ctx->plain, &ctx->out);
    if (rc < 0)
        return rc;
    *keep = 2;
    return 0;
}

/*
 * Decides about one batch (in ctx->raw): sets *keep to 0 (drop), 1 (copy
 * as is) or 2 (rewritten into ctx->out), and *n_kept.
 */
static int filter_batch(filter_ctx_t *ctx, const proto_batch_header_t *hdr, int *keep, size_t *n_kept)
{
    *n_kept = 0;
    if (batch_is_control(hdr))
        return filter_control(ctx, hdr, keep);
    int is_last = producer_last(ctx->w, hdr, 0);
    if ((hdr->attributes & PROTO_BATCH_TRANSACTIONAL) && hdr->producer_id >= 0) {
        int rc = seen_set(ctx, hdr->producer_id, 1);
        if (rc < 0)
            return rc;
    }
    /* Aborted data goes whole, whatever its keys (it never entered the map). */
    if (batch_is_aborted(ctx->w, hdr)) {
        int64_t n = hdr->records_count > 0 ? hdr->records_count : 0;
        ctx->stats->records_read += n;
        ctx->stats->records_removed += n;
        ctx->stats->aborted_records_removed += n;
        if (is_last)
            return keep_empty(ctx, hdr, keep);
        *keep = 0;
        return 0;
    }
    proto_reader_t rd;
    if (proto_batch_records(ctx->raw.data, ctx->raw.len, hdr, &ctx->scratch, COMPACT_MAX_DECOMPRESSED, &rd) != 0)
        return LOG_ECORRUPT;
    int horizon_set = (hdr->attributes & PROTO_BATCH_DELETE_HORIZON) != 0;
    int tombstones_expire = horizon_set && ctx->now_ms >= hdr->base_timestamp;
    size_t total = 0, n = 0;
    int kept_tombstone = 0;
    while (proto_rd_remaining(&rd) > 0) {
        proto_record_t rec;
        int64_t off;
        if (proto_record_next(&rd, &rec) != 0 || record_offset(hdr, &rec, &off) < 0)
            return LOG_ECORRUPT;
        total++;
        int keep_rec = 1;
        if (rec.key.len >= 0) {
            int64_t latest = kmap_get(ctx->map, rec.key.ptr, (size_t)rec.key.len);
            keep_rec = off >= latest;
        }
        /* Null keys are kept: the broker refuses them for compacted topics,
         * so any here predate the policy. */
        if (keep_rec && rec.value.len < 0) {
            if (tombstones_expire) {
                keep_rec = 0;
                ctx->stats->tombstones_removed++;
            } else {
                kept_tombstone = 1;
            }
        }
        if (!keep_rec)
            continue;
        int rc = push_rec(ctx, n, &rec);
        if (rc < 0)
            return rc;
        n++;
    }
    ctx->stats->records_read += (int64_t)total;
    ctx->stats->records_removed += (int64_t)(total - n);
    *n_kept = n;
    if (n == 0) {
        /*
         * Nothing left: dropped (Kafka's DELETE_EMPTY), unless it holds an
         * active producer's last sequence. An empty batch without a producer
         * is the first segment's placeholder (clean_segment) and stays.
         */
        if (is_last)
            return keep_empty(ctx, hdr, keep);
        *keep = total == 0 && hdr->producer_id < 0;
        return 0;
    }
    /* A batch first cleaned with a tombstone in it gets its delete horizon. */
    int set_horizon = kept_tombstone && !horizon_set;
    if (n == total && !set_horizon) {
        *keep = 1;
        return 0;
    }
    int64_t horizon = -1;
    if (set_horizon)
        horizon = new_horizon(ctx);
    else if (horizon_set)
        horizon = hdr->base_timestamp;
    int rc = write_batch(hdr, ctx->recs, n, horizon, &ctx->plain, &ctx->out);
    if (rc < 0)
        return rc;
    *keep = 2;
    return 0;
}

static int open_out(const cseg_t *cs, const char *suffix)
{
    char path[PATH_MAX];
    int rc = suffixed(path, sizeof path, cs->path, suffix, LOG_COMPACT_CLEANED_SUFFIX);
    if (rc < 0)
        return rc;
    return log_io_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
}

static int clean_segment(struct log_compact_work_s *w, cseg_t *cs, filter_ctx_t *ctx)
{
    out_seg_t o;
    int changed = 0, rc;
    int64_t last_pos = -1; /* position of the last batch read, for the placeholder */
    proto_batch_header_t last_hdr = {0};
    size_t nread = 0;

    memset(&o, 0, sizeof o);
    o.ts = o.ts_offset = -1;
    log_offset_index_init(&o.oidx, -1, cs->base, w->index_max_bytes);
    log_time_index_init(&o.tidx, -1, cs->base, w->index_max_bytes);
    cs->files = 1;
    o.fd = open_out(cs, ".log");
    rc = o.fd < 0 ? o.fd : 0;
    if (rc == 0) {
        rc = open_out(cs, ".index");
        if (rc >= 0) {
            o.oidx.fd = rc;
            rc = open_out(cs, ".timeindex");
            if (rc >= 0) {
                o.tidx.fd = rc;
                rc = 0;
            }
        }
    }
    log_scan_t *sc = rc == 0 ? malloc(sizeof *sc) : NULL;
    if (rc == 0 && sc == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        log_scan_init(sc, cs->fd, 0, cs->size);
    while (rc == 0) {
        proto_batch_header_t hdr;
        int64_t pos;
        int keep = 0;
        size_t n_kept;
        rc = log_scan_next(sc, &hdr, &pos);
        if (rc <= 0)
            break;
        rc = read_batch(cs->fd, pos, &hdr, &ctx->raw);
        if (rc == 0)
            rc = filter_batch(ctx, &hdr, &keep, &n_kept);
        if (rc < 0)
            break;
        last_pos = pos;
        last_hdr = hdr;
        nread++;
        if (keep == 0) {
            changed = 1;
            ctx->stats->batches_removed++;
            continue;
        }
        if (keep == 1) {
            rc = out_append(&o, ctx->raw.data, ctx->raw.len, &hdr, w->index_interval_bytes);
        } else {
            proto_batch_header_t nh;
            changed = 1;
            rc = proto_batch_header_parse(ctx->out.data, ctx->out.len, &nh) == 0 ? 0 : LOG_ECORRUPT;
            if (rc == 0)
                rc = out_append(&o, ctx->out.data, ctx->out.len, &nh, w->index_interval_bytes);
        }
    }
    /*
     * The partition's first segment is never emptied: were it removed, a
     * restart would take the next segment's base for the log start offset and
     * a consumer positioned in the gap would get OFFSET_OUT_OF_RANGE instead
     * of the next record. Its last batch stays as Kafka's empty batch
     * (records_count 0, offsets and producer fields intact). Emptying the
     * last batch of an active producer never happens: filter_batch keeps
     * it as an empty batch. A segment that held nothing but the placeholder
     * of an earlier pass is left as it is.
     */
    if (rc == 0 && o.pos == 0 && cs->first && last_pos >= 0) {
        proto_batch_header_t nh;
        if (nread == 1 && last_hdr.records_count == 0)
            changed = 0;
        rc = write_batch(&last_hdr, NULL, 0, -1, &ctx->plain, &ctx->out);
        if (rc == 0)
            rc = proto_batch_header_parse(ctx->out.data, ctx->out.len, &nh) == 0 ? 0 : LOG_ECORRUPT;
        if (rc == 0)
            rc = out_append(&o, ctx->out.data, ctx->out.len, &nh, w->index_interval_bytes);
        ctx->stats->batches_removed--;
    }
    free(sc);
    if (rc == 0 && changed && o.pos > 0) {
        /* Sealed, like a rolled segment: the last time entry is the max timestamp. */
        rc = log_time_index_maybe_push(&o.tidx, o.ts, o.ts_offset);
        if (rc == 0)
            rc = log_offset_index_store(&o.oidx);
        if (rc == 0)
            rc = log_time_index_store(&o.tidx);
        if (rc == 0)
            rc = log_io_fsync(o.fd);
        if (rc == 0)
            rc = log_io_fsync(o.oidx.fd);
        if (rc == 0)
            rc = log_io_fsync(o.tidx.fd);
    }
    if (o.fd >= 0)
        (void)log_io_close(o.fd);
    log_offset_index_fini(&o.oidx);
    log_time_index_fini(&o.tidx);
    if (rc < 0) {
        LOG_WARN(SUBSYS, "%s: compaction of the segment failed: %s", cs->path, log_strerror(rc));
        unlink_cleaned(cs);
        return rc;
    }
    if (!changed) {
        cs->action = SEG_UNCHANGED;
        unlink_cleaned(cs);
    } else if (o.pos == 0) {
        cs->action = SEG_EMPTIED;
        unlink_cleaned(cs);
    } else {
        cs->action = SEG_REPLACED;
    }
    ctx->stats->bytes_after += cs->action == SEG_UNCHANGED ? cs->size : o.pos;
    return 0;
}

int log_compact_job_run(log_compact_job_t *job)
{
    struct log_compact_work_s *w = job->work;
    kmap_t map;
    filter_ctx_t ctx;
    int rc = 0;

    if (w == NULL)
        return 0;
    memset(&job->stats, 0, sizeof job->stats);
    memset(&ctx, 0, sizeof ctx);
    kmap_init(&map);
    buf_init(&ctx.raw);
    buf_init(&ctx.scratch);
    buf_init(&ctx.plain);
    buf_init(&ctx.out);
    ctx.map = &map;
    ctx.w = w;
    kmap_init(&ctx.seen);
    ctx.last_dropped_marker = -1;
    ctx.now_ms = job->now_ms;
    ctx.delete_retention_ms = w->delete_retention_ms;
    ctx.stats = &job->stats;
    job->stats.segments = w->count;
    for (size_t i = 0; i < w->count; i++)
        job->stats.bytes_before += w->segs[i].size;

    /*
     * The map covers the whole range, cleaned part included: it costs a
     * second read of data already clean, but needs no trust in the cleaner
     * checkpoint. Kafka bounds the map (log.cleaner.dedupe.buffer.size) and
     * then cleans only a prefix of the dirty range; this one grows as needed.
     */
    rc = build_map(w, &map, &ctx.raw, &ctx.scratch);
    for (size_t i = 0; rc == 0 && i < w->count; i++) {
        rc = clean_segment(w, &w->segs[i], &ctx);
        if (rc == 0 && w->segs[i].action == SEG_REPLACED)
            job->stats.segments_rewritten++;
        if (rc == 0 && w->segs[i].action == SEG_EMPTIED)
            job->stats.segments_emptied++;
    }
    w->last_dropped_marker = rc == 0 ? ctx.last_dropped_marker : -1;
    kmap_fini(&map);
    kmap_fini(&ctx.seen);
    buf_fini(&ctx.raw);
    buf_fini(&ctx.scratch);
    buf_fini(&ctx.plain);
    buf_fini(&ctx.out);
    free(ctx.recs);
    return rc;
}

/* ---- complete ---- */

/* Index of seg in the partition, or -1 when it is gone (or became the active segment, which cannot happen today). */
static ssize_t find_segment(const log_partition_t *p, const log_segment_t *seg)
{
    size_t i = log_partition_segment_for(p, seg->base_offset);
    if (i + 1 < p->nsegs && p->segs[i] == seg)
        return (ssize_t)i;
    return -1;
}

static int rename_suffix(const char *prefix, const char *file, const char *from_sfx, const char *to_sfx)
{
    char from[PATH_MAX], to[PATH_MAX];
    int rc = suffixed(from, sizeof from, prefix, file, from_sfx);
    if (rc == 0)
        rc = suffixed(to, sizeof to, prefix, file, to_sfx);
    if (rc == 0)
        rc = log_io_rename(from, to);
    if (rc < 0)
        LOG_WARN(SUBSYS, "%s%s%s: cannot rename to %s: %s", prefix, file, from_sfx,
                 to_sfx[0] ? to_sfx : "its final name", log_strerror(rc));
    return rc;
}

/* Swaps one segment's cleaned files in (the order in log/compact.h) and replaces its object. */
static int swap_in(log_partition_t *p, size_t idx, cseg_t *cs)
{
    int rc = rename_suffix(cs->path, ".index", LOG_COMPACT_CLEANED_SUFFIX, LOG_COMPACT_SWAP_SUFFIX);
    if (rc == 0)
        rc = rename_suffix(cs->path, ".timeindex", LOG_COMPACT_CLEANED_SUFFIX, LOG_COMPACT_SWAP_SUFFIX);
    if (rc == 0)
        rc = rename_suffix(cs->path, ".log", LOG_COMPACT_CLEANED_SUFFIX, LOG_COMPACT_SWAP_SUFFIX);
    if (rc < 0)
        return rc; /* not committed: the caller unlinks what is left */
    cs->files = 0; /* committed: from here on a restart finishes the swap */
    rc = rename_suffix(cs->path, ".index", LOG_COMPACT_SWAP_SUFFIX, "");
    if (rc == 0)
        rc = rename_suffix(cs->path, ".timeindex", LOG_COMPACT_SWAP_SUFFIX, "");
    if (rc == 0)
        rc = rename_suffix(cs->path, ".log", LOG_COMPACT_SWAP_SUFFIX, "");
    if (rc < 0) {
        /* The old object still reads the old inodes consistently; the next open finishes the swap. */
        LOG_ERROR(SUBSYS, "%s: compaction swap stopped after its commit; it is finished at the next open", cs->path);
        return rc;
    }
    log_segment_t *old = p->segs[idx], *seg;
    /* created_ms is what open stamps as the creation time: keep the old one for retention. */
    rc = log_segment_open(p->dir, cs->base, &p->cfg, cs->next, old->created_ms, 0, NULL, &seg);
    if (rc < 0) {
        LOG_ERROR(SUBSYS, "%s: cannot open the compacted segment (%s); serving the old one until restart", cs->path,
                  log_strerror(rc));
        return rc;
    }
    /*
     * The .txnindex is not rewritten: markers keep their offsets, and an
     * entry whose transaction lost its data only makes readers skip nothing.
     * The old object's entries carry over: they are complete even when the
     * file is stale (an append to it failed; the next open rebuilds it).
     */
    log_aborted_txn_t *entries = seg->txi.entries;
    size_t count = seg->txi.count, cap = seg->txi.cap;
    seg->txi.entries = old->txi.entries;
    seg->txi.count = old->txi.count;
    seg->txi.cap = old->txi.cap;
    seg->txi.stale = seg->txi.stale || old->txi.stale;
    old->txi.entries = entries;
    old->txi.count = count;
    old->txi.cap = cap;
    p->segs[idx] = seg;
    /* Not mark_deleted: the names now belong to the new files; the old inodes go with the last close. */
    log_segment_unref(old);
    return 0;
}

static void remove_segment(log_partition_t *p, size_t idx)
{
    log_segment_t *seg = p->segs[idx];
    LOG_INFO(SUBSYS, "%s: removing segment %" PRId64 ": compaction left nothing in it", p->dir, seg->base_offset);
    (void)log_segment_mark_deleted(seg); /* warns itself */
    log_segment_unref(seg);
    memmove(p->segs + idx, p->segs + idx + 1, (p->nsegs - idx - 1) * sizeof *p->segs);
    p->nsegs--;
}

/*
 * A producer-state snapshot at or below a marker the job dropped may hold
 * that marker's transaction as open; a restart replaying the log from it
 * would never see the transaction end, and the last stable offset would
 * stay stuck. Such snapshots go before the swap (so that no crash leaves
 * them next to the cleaned log), after a fresh one at the log end, which
 * keeps the state of producers whose batches are gone. Failures only cost a
 * longer scan at the next open, except a snapshot that cannot be unlinked:
 * then it is worth a warning.
 */
static void drop_snapshots_before(log_partition_t *p, int64_t marker_offset)
{
    int64_t *offs = NULL;
    size_t n = 0;
    (void)log_partition_snapshot_producers(p, 0); /* warns itself */
    if (log_pstate_list_snapshots(p->dir, &offs, &n) < 0)
        return;
    int removed = 0;
    for (size_t i = 0; i < n && offs[i] <= marker_offset; i++) {
        int rc = log_pstate_remove_snapshot(p->dir, offs[i]);
        if (rc < 0 && rc != -ENOENT)
            LOG_WARN(SUBSYS, "%s: cannot delete producer snapshot %" PRId64 " older than a dropped marker: %s", p->dir,
                     offs[i], log_strerror(rc));
        else
            removed = 1;
    }
    free(offs);
    if (removed) {
        p->dir_gen++;
        int rc = log_io_fsync_dir(p->dir);
        if (rc < 0)
            LOG_WARN(SUBSYS, "%s: cannot fsync the directory: %s", p->dir, log_strerror(rc));
    }
}

int log_partition_compact_complete(log_partition_t *p, log_compact_job_t *job, int rc)
{
    struct log_compact_work_s *w = job->work;
    if (w == NULL)
        return rc;
    job->work = NULL;
    if (p == NULL) {
        work_free(w, 1);
        return rc < 0 ? rc : -ESTALE;
    }
    p->compacting = 0;
    if (rc < 0) {
        LOG_WARN(SUBSYS, "%s: compaction of [%" PRId64 ", %" PRId64 ") failed: %s", p->dir, job->first_offset,
                 job->end_offset, log_strerror(rc));
        work_free(w, 1);
        return rc;
    }
    if (w->trunc_gen != p->trunc_gen) {
        /* A truncation may have cut a captured segment: the cleaned copy would bring data back. */
        LOG_INFO(SUBSYS, "%s: compaction of [%" PRId64 ", %" PRId64 ") discarded: the log was truncated meanwhile",
                 p->dir, job->first_offset, job->end_offset);
        work_free(w, 1);
        return -ESTALE;
    }
    for (size_t i = 0; i < w->count; i++) {
        if (find_segment(p, w->segs[i].seg) < 0) {
            LOG_INFO(SUBSYS,
                     "%s: compaction of [%" PRId64 ", %" PRId64 ") discarded: segment %" PRId64
                     " was deleted meanwhile",
                     p->dir, job->first_offset, job->end_offset, w->segs[i].base);
            work_free(w, 1);
            return -ESTALE;
        }
    }
    if (w->last_dropped_marker >= 0)
        drop_snapshots_before(p, w->last_dropped_marker);
    /* Oldest first: an interrupted sequence leaves a valid log (see log/compact.h). */
    for (size_t i = 0; rc == 0 && i < w->count; i++) {
        cseg_t *cs = &w->segs[i];
        ssize_t idx = find_segment(p, cs->seg);
        if (cs->action == SEG_REPLACED)
            rc = swap_in(p, (size_t)idx, cs);
        else if (cs->action == SEG_EMPTIED)
            remove_segment(p, (size_t)idx);
    }
    p->dir_gen++;
    p->max_timestamp = -1;
    p->max_timestamp_offset = -1;
    for (size_t i = 0; i < p->nsegs; i++) {
        if (p->segs[i]->max_timestamp > p->max_timestamp) {
            p->max_timestamp = p->segs[i]->max_timestamp;
            p->max_timestamp_offset = p->segs[i]->max_timestamp_offset;
        }
    }
    if (rc == 0) {
        if (job->end_offset > p->cleaner_point)
            p->cleaner_point = job->end_offset;
        LOG_INFO(SUBSYS,
                 "%s: compacted [%" PRId64 ", %" PRId64 "): %" PRId64 " -> %" PRId64 " bytes, %" PRId64 " of %" PRId64
                 " records removed (%" PRId64 " aborted), %" PRId64 " marker(s) removed",
                 p->dir, job->first_offset, job->end_offset, job->stats.bytes_before, job->stats.bytes_after,
                 job->stats.records_removed, job->stats.records_read, job->stats.aborted_records_removed,
                 job->stats.markers_removed);
    }
    work_free(w, 1); /* unlinks the .cleaned files of segments not reached */
    return rc;
}

int log_partition_compact(log_partition_t *p, int64_t now_ms, log_compact_stats_t *stats)
{
    log_compact_job_t job;
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    int rc = log_partition_compact_prepare(p, now_ms, &job);
    if (rc <= 0)
        return rc;
    rc = log_compact_job_run(&job);
    rc = log_partition_compact_complete(p, &job, rc);
    if (stats != NULL)
        *stats = job.stats;
    return rc;
}

int64_t log_partition_cleaner_point(const log_partition_t *p)
{
    return p->cleaner_point;
}

/* ---- repair at open ---- */

typedef struct recover_ctx_s {
    const char *dir;
    int64_t *bases; /* of <base>.log.swap files */
    size_t count, cap;
    int changed;
    int err;
} recover_ctx_t;

/* Length of the "<20 digits>" + one of our suffixes prefix of name matching sfx, or 0. */
static int match_name(const char *name, const char *file, const char *sfx, int64_t *base)
{
    size_t flen = strlen(file), slen = strlen(sfx);
    if (strlen(name) != LOG_SEGMENT_NAME_DIGITS + flen + slen)
        return 0;
    if (memcmp(name + LOG_SEGMENT_NAME_DIGITS, file, flen) != 0 ||
        memcmp(name + LOG_SEGMENT_NAME_DIGITS + flen, sfx, slen) != 0)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < LOG_SEGMENT_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (base != NULL)
        *base = (int64_t)v;
    return 1;
}

static void recover_unlink(recover_ctx_t *ctx, const char *name, const char *why)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", ctx->dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return;
    int rc = log_io_unlink(path);
    if (rc < 0 && rc != -ENOENT) {
        LOG_WARN(SUBSYS, "%s: cannot unlink: %s", path, log_strerror(rc));
        if (ctx->err == 0)
            ctx->err = rc;
        return;
    }
    LOG_WARN(SUBSYS, "%s: %s, removed", path, why);
    ctx->changed = 1;
}

/* Pass 1: unlink *.cleaned, remember committed swaps. */
static int recover_pass1(void *arg, const char *name)
{
    recover_ctx_t *ctx = arg;
    int64_t base;
    for (size_t i = 0; i < NSUFFIXES; i++) {
        if (match_name(name, file_suffixes[i], LOG_COMPACT_CLEANED_SUFFIX, NULL)) {
            recover_unlink(ctx, name, "left by an unfinished compaction");
            return 0;
        }
    }
    if (!match_name(name, ".log", LOG_COMPACT_SWAP_SUFFIX, &base))
        return 0;
    if (ctx->count == ctx->cap) {
        size_t ncap = ctx->cap != 0 ? ctx->cap * 2 : 8;
        int64_t *nb = realloc(ctx->bases, ncap * sizeof *nb);
        if (nb == NULL)
            return -ENOMEM;
        ctx->bases = nb;
        ctx->cap = ncap;
    }
    ctx->bases[ctx->count++] = base;
    return 0;
}

/* Pass 3: any .swap left is one whose log never got its .swap: not committed. */
static int recover_pass3(void *arg, const char *name)
{
    recover_ctx_t *ctx = arg;
    for (size_t i = 0; i < NSUFFIXES; i++) {
        if (match_name(name, file_suffixes[i], LOG_COMPACT_SWAP_SUFFIX, NULL))
            recover_unlink(ctx, name, "left by an uncommitted compaction swap");
    }
    return 0;
}

static int cmp_base(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int log_compact_recover_dir(const char *dir)
{
    recover_ctx_t ctx = {.dir = dir};
    int rc = log_io_list_dir(dir, recover_pass1, &ctx);
    if (rc == 0 && ctx.count > 1)
        qsort(ctx.bases, ctx.count, sizeof *ctx.bases, cmp_base);
    for (size_t i = 0; rc == 0 && i < ctx.count; i++) {
        char prefix[PATH_MAX];
        int n = snprintf(prefix, sizeof prefix, "%s/%0*" PRId64, dir, LOG_SEGMENT_NAME_DIGITS, ctx.bases[i]);
        if (n < 0 || (size_t)n + LOG_SEGMENT_MAX_SUFFIX >= sizeof prefix) {
            rc = -ENAMETOOLONG;
            break;
        }
        /* Indexes first, the log last: the .log.swap marks the swap unfinished until the end. */
        for (size_t f = NSUFFIXES; rc == 0 && f-- > 0;) {
            char from[PATH_MAX], to[PATH_MAX];
            rc = suffixed(from, sizeof from, prefix, file_suffixes[f], LOG_COMPACT_SWAP_SUFFIX);
            if (rc == 0)
                rc = suffixed(to, sizeof to, prefix, file_suffixes[f], "");
            if (rc == 0) {
                rc = log_io_rename(from, to);
                if (rc == -ENOENT && f != 0)
                    rc = 0; /* that index was swapped already */
            }
        }
        if (rc < 0) {
            LOG_ERROR(SUBSYS, "%s: cannot finish an interrupted compaction swap: %s", prefix, log_strerror(rc));
            break;
        }
        LOG_WARN(SUBSYS, "%s: finished an interrupted compaction swap", prefix);
        ctx.changed = 1;
    }
    if (rc == 0)
        rc = log_io_list_dir(dir, recover_pass3, &ctx);
    if (rc == 0)
        rc = ctx.err;
    if (rc == 0 && ctx.changed)
        rc = log_io_fsync_dir(dir);
    free(ctx.bases);
    return rc;
}
