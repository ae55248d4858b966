#include "log/producer_state.h"

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
#include "log/segment.h"
#include "protocol/reader.h"
#include "protocol/record.h"

#define SUBSYS "log"

/* A marker's records section is one tiny record; anything bigger is not ours. */
#define MARKER_MAX_DECOMPRESSED 4096
/* A snapshot holds at most this many bytes (about 2 million producers). */
#define SNAPSHOT_MAX_BYTES (512u * 1024u * 1024u)

static const uint8_t snapshot_magic[4] = {'E', 'P', 'S', '1'};

void log_pstate_init(log_pstate_t *ps)
{
    map_init(&ps->producers);
    ps->ongoing = 0;
    ps->first_unstable = -1;
}

void log_pstate_clear(log_pstate_t *ps)
{
    size_t pos = 0;
    log_producer_t *e;
    while ((e = map_next(&ps->producers, &pos)) != NULL)
        free(e);
    map_fini(&ps->producers);
    map_init(&ps->producers);
    ps->ongoing = 0;
    ps->first_unstable = -1;
}

void log_pstate_fini(log_pstate_t *ps)
{
    log_pstate_clear(ps);
    map_fini(&ps->producers);
}

log_producer_t *log_pstate_get(const log_pstate_t *ps, int64_t producer_id)
{
    return map_get(&ps->producers, (const char *)&producer_id, sizeof producer_id);
}

size_t log_pstate_count(const log_pstate_t *ps)
{
    return ps->producers.count;
}

static void recompute_first_unstable(log_pstate_t *ps)
{
    size_t pos = 0;
    const log_producer_t *e;
    ps->first_unstable = -1;
    if (ps->ongoing == 0)
        return;
    while ((e = map_next(&ps->producers, &pos)) != NULL) {
        if (e->txn_first_offset >= 0 && (ps->first_unstable < 0 || e->txn_first_offset < ps->first_unstable))
            ps->first_unstable = e->txn_first_offset;
    }
}

int64_t log_pstate_first_unstable(const log_pstate_t *ps)
{
    return ps->first_unstable;
}

int64_t log_pstate_first_unstable_except(const log_pstate_t *ps, int64_t producer_id)
{
    size_t pos = 0;
    const log_producer_t *e;
    int64_t min = -1;
    while ((e = map_next(&ps->producers, &pos)) != NULL) {
        if (e->producer_id != producer_id && e->txn_first_offset >= 0 && (min < 0 || e->txn_first_offset < min))
            min = e->txn_first_offset;
    }
    return min;
}

/* Kafka's sequence arithmetic: sequences wrap from INT32_MAX to 0. */
static int32_t seq_add(int32_t seq, int32_t delta)
{
    if (seq > INT32_MAX - delta)
        return delta - (INT32_MAX - seq) - 1;
    return seq + delta;
}

static int in_sequence(int32_t last_seq, int32_t next_seq)
{
    return (int64_t)next_seq == (int64_t)last_seq + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

int log_pstate_check_data(const log_pstate_t *ps, const proto_batch_header_t *hdr, log_pstate_batch_t *dup)
{
    const log_producer_t *e = log_pstate_get(ps, hdr->producer_id);
    if (e == NULL)
        return 0; /* unknown (or expired) producer: any sequence starts it */
    int32_t last_seq = seq_add(hdr->base_sequence, hdr->last_offset_delta);
    if (hdr->producer_epoch == e->epoch) {
        for (unsigned i = 0; i < e->nbatches; i++) {
            const log_pstate_batch_t *b = &e->batches[i];
            if (b->first_seq == hdr->base_sequence && b->last_seq == last_seq) {
                if (dup != NULL)
                    *dup = *b;
                return 1;
            }
        }
    }
    if (hdr->producer_epoch < e->epoch)
        return LOG_EINVALID_PRODUCER_EPOCH;
    if (hdr->producer_epoch != e->epoch) {
        /* A bumped epoch restarts the sequence, unless we never knew an epoch. */
        if (hdr->base_sequence != 0 && e->epoch != -1)
            return LOG_EOUT_OF_ORDER_SEQUENCE;
    } else {
        int32_t cur = e->nbatches > 0 ? e->batches[e->nbatches - 1].last_seq : -1;
        if (!in_sequence(cur, hdr->base_sequence))
            return LOG_EOUT_OF_ORDER_SEQUENCE;
    }
    if (e->txn_first_offset >= 0 && !(hdr->attributes & PROTO_BATCH_TRANSACTIONAL))
        return LOG_EINVALID_TXN_STATE;
    return 0;
}

int log_pstate_check_marker(const log_pstate_t *ps, const proto_batch_header_t *hdr, const log_marker_t *m)
{
    const log_producer_t *e = log_pstate_get(ps, hdr->producer_id);
    if (e == NULL)
        return 0;
    if (hdr->producer_epoch < e->epoch)
        return LOG_EINVALID_PRODUCER_EPOCH;
    if (m != NULL && (m->type == LOG_MARKER_ABORT || m->type == LOG_MARKER_COMMIT) &&
        e->coordinator_epoch > m->coordinator_epoch)
        return LOG_ECOORDINATOR_FENCED;
    return 0;
}

static log_producer_t *producer_new(int64_t producer_id)
{
    log_producer_t *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->producer_id = producer_id;
    e->epoch = -1;
    e->coordinator_epoch = -1;
    e->last_timestamp = -1;
    e->txn_first_offset = -1;
    return e;
}

int log_pstate_reserve(log_pstate_t *ps, int64_t producer_id, int *created)
{
    *created = 0;
    if (log_pstate_get(ps, producer_id) != NULL)
        return 0;
    log_producer_t *e = producer_new(producer_id);
    if (e == NULL)
        return -ENOMEM;
    if (map_put(&ps->producers, (const char *)&e->producer_id, sizeof e->producer_id, e) != 0) {
        free(e);
        return -ENOMEM;
    }
    *created = 1;
    return 0;
}

static void producer_drop(log_pstate_t *ps, log_producer_t *e)
{
    int had_txn = e->txn_first_offset >= 0;
    (void)map_del(&ps->producers, (const char *)&e->producer_id, sizeof e->producer_id);
    free(e);
    if (had_txn) {
        ps->ongoing--;
        recompute_first_unstable(ps);
    }
}

void log_pstate_remove(log_pstate_t *ps, int64_t producer_id)
{
    log_producer_t *e = log_pstate_get(ps, producer_id);
    if (e != NULL)
        producer_drop(ps, e);
}

static void set_epoch(log_producer_t *e, int16_t epoch)
{
    if (e->epoch != epoch) {
        e->nbatches = 0; /* sequences of an older epoch say nothing about the new one */
        e->epoch = epoch;
    }
}

static void txn_start(log_pstate_t *ps, log_producer_t *e, int64_t first_offset)
{
    e->txn_first_offset = first_offset;
    ps->ongoing++;
    if (ps->first_unstable < 0 || first_offset < ps->first_unstable)
        ps->first_unstable = first_offset;
}

static void txn_end(log_pstate_t *ps, log_producer_t *e)
{
    int64_t first = e->txn_first_offset;
    e->txn_first_offset = -1;
    ps->ongoing--;
    if (first == ps->first_unstable)
        recompute_first_unstable(ps);
}

int log_pstate_update(log_pstate_t *ps, const proto_batch_header_t *hdr, const log_marker_t *m, int64_t active_ms,
                      log_completed_txn_t *done)
{
    log_producer_t *e = log_pstate_get(ps, hdr->producer_id);
    DIAG_ASSERT(e != NULL);
    if (hdr->attributes & PROTO_BATCH_CONTROL) {
        if (m == NULL || (m->type != LOG_MARKER_ABORT && m->type != LOG_MARKER_COMMIT))
            return 0; /* an emptied control batch or a type that is not ours: nothing changes */
        int ended = 0;
        if (e->txn_first_offset >= 0) {
            if (done != NULL) {
                done->producer_id = e->producer_id;
                done->first_offset = e->txn_first_offset;
                done->last_offset = hdr->base_offset;
                done->aborted = m->type == LOG_MARKER_ABORT;
            }
            txn_end(ps, e);
            ended = 1;
        }
        set_epoch(e, hdr->producer_epoch);
        e->coordinator_epoch = m->coordinator_epoch;
        e->last_timestamp = active_ms;
        return ended;
    }
    set_epoch(e, hdr->producer_epoch);
    if (e->nbatches == LOG_PSTATE_BATCHES) {
        memmove(&e->batches[0], &e->batches[1], (LOG_PSTATE_BATCHES - 1) * sizeof e->batches[0]);
        e->nbatches--;
    }
    log_pstate_batch_t *b = &e->batches[e->nbatches++];
    b->first_seq = hdr->base_sequence;
    b->last_seq = seq_add(hdr->base_sequence, hdr->last_offset_delta);
    b->first_offset = hdr->base_offset;
    b->last_offset = proto_batch_last_offset(hdr);
    b->max_timestamp = hdr->max_timestamp;
    e->last_timestamp = active_ms;
    if ((hdr->attributes & PROTO_BATCH_TRANSACTIONAL) && e->txn_first_offset < 0)
        txn_start(ps, e, hdr->base_offset);
    return 0;
}

size_t log_pstate_expire(log_pstate_t *ps, int64_t now_ms, int64_t expiration_ms)
{
    size_t pos = 0, n = 0;
    log_producer_t *e;
    if (expiration_ms < 0)
        return 0;
    while ((e = map_next(&ps->producers, &pos)) != NULL) {
        /* An open transaction keeps its producer: the LSO depends on it. */
        if (e->txn_first_offset < 0 && now_ms - e->last_timestamp >= expiration_ms) {
            producer_drop(ps, e); /* deleting leaves a tombstone: the walk goes on safely */
            n++;
        }
    }
    return n;
}

int log_marker_parse(const uint8_t *batch, size_t total, const proto_batch_header_t *hdr, buf_t *scratch,
                     log_marker_t *m)
{
    proto_reader_t rd, key, val;
    proto_record_t rec;
    if (hdr->records_count <= 0 || total <= PROTO_BATCH_HEADER_SIZE)
        return 0;
    if (proto_batch_records(batch, total, hdr, scratch, MARKER_MAX_DECOMPRESSED, &rd) != 0)
        return LOG_ECORRUPT;
    if (proto_record_next(&rd, &rec) != 0 || rec.key.len < 4)
        return LOG_ECORRUPT;
    proto_reader_init(&key, rec.key.ptr, (size_t)rec.key.len);
    (void)proto_rd_i16(&key); /* version: 0 today; newer versions keep the type here */
    m->type = proto_rd_i16(&key);
    m->coordinator_epoch = -1;
    if (rec.value.len >= 6) {
        proto_reader_init(&val, rec.value.ptr, (size_t)rec.value.len);
        (void)proto_rd_i16(&val);
        m->coordinator_epoch = proto_rd_i32(&val);
    }
    return 1;
}

/* ---- snapshot image ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

int log_pstate_encode(const log_pstate_t *ps, int64_t offset, buf_t *out)
{
    size_t pos = 0, size = LOG_PSTATE_SNAPSHOT_HEADER;
    const log_producer_t *e;
    while ((e = map_next(&ps->producers, &pos)) != NULL)
        size += LOG_PSTATE_SNAPSHOT_ENTRY + (size_t)e->nbatches * LOG_PSTATE_SNAPSHOT_BATCH;
    if (size > SNAPSHOT_MAX_BYTES || ps->producers.count > INT32_MAX)
        return LOG_ETOOLARGE;
    if (buf_reserve(out, size) != 0)
        return -ENOMEM;
    uint8_t *start = out->data + out->len, *p = start;
    memcpy(p, snapshot_magic, 4);
    put16(p + 4, LOG_PSTATE_SNAPSHOT_VERSION);
    put64(p + 10, (uint64_t)offset);
    put32(p + 18, (uint32_t)ps->producers.count);
    p += LOG_PSTATE_SNAPSHOT_HEADER;
    pos = 0;
    while ((e = map_next(&ps->producers, &pos)) != NULL) {
        put64(p, (uint64_t)e->producer_id);
        put16(p + 8, (uint16_t)e->epoch);
        put32(p + 10, (uint32_t)e->coordinator_epoch);
        put64(p + 14, (uint64_t)e->last_timestamp);
        put64(p + 22, (uint64_t)e->txn_first_offset);
        p[30] = e->nbatches;
        p += LOG_PSTATE_SNAPSHOT_ENTRY;
        for (unsigned i = 0; i < e->nbatches; i++) {
            const log_pstate_batch_t *b = &e->batches[i];
            put32(p, (uint32_t)b->first_seq);
            put32(p + 4, (uint32_t)b->last_seq);
            put64(p + 8, (uint64_t)b->first_offset);
            put64(p + 16, (uint64_t)b->last_offset);
            put64(p + 24, (uint64_t)b->max_timestamp);
            p += LOG_PSTATE_SNAPSHOT_BATCH;
        }
    }
    DIAG_ASSERT((size_t)(p - start) == size);
    put32(start + 6, crc32c(start + 10, size - 10));
    out->len += size;
    return 0;
}

/* Checks one decoded producer against what the log could have produced. */
static int producer_plausible(const log_producer_t *e, int64_t offset)
{
    if (e->producer_id < 0 || e->epoch < -1 || e->nbatches > LOG_PSTATE_BATCHES)
        return 0;
    if (e->txn_first_offset < -1 || e->txn_first_offset >= offset)
        return 0;
    for (unsigned i = 0; i < e->nbatches; i++) {
        const log_pstate_batch_t *b = &e->batches[i];
        if (b->first_seq < 0 || b->last_seq < 0 || b->first_offset < 0 || b->last_offset < b->first_offset ||
            b->last_offset >= offset)
            return 0;
        if (i > 0 && b->first_offset <= e->batches[i - 1].last_offset)
            return 0;
    }
    return 1;
}

int log_pstate_decode(log_pstate_t *ps, const uint8_t *data, size_t len, int64_t expect_offset)
{
    proto_reader_t rd;
    log_pstate_clear(ps);
    if (len < LOG_PSTATE_SNAPSHOT_HEADER || memcmp(data, snapshot_magic, 4) != 0)
        return LOG_ECORRUPT;
    proto_reader_init(&rd, data + 4, len - 4);
    int16_t version = proto_rd_i16(&rd);
    uint32_t crc = proto_rd_u32(&rd);
    if (version != LOG_PSTATE_SNAPSHOT_VERSION || crc != crc32c(data + 10, len - 10))
        return LOG_ECORRUPT;
    int64_t offset = proto_rd_i64(&rd);
    int32_t count = proto_rd_i32(&rd);
    if (offset < 0 || (expect_offset >= 0 && offset != expect_offset) || count < 0 ||
        (size_t)count > proto_rd_remaining(&rd) / LOG_PSTATE_SNAPSHOT_ENTRY)
        return LOG_ECORRUPT;
    for (int32_t i = 0; i < count; i++) {
        log_producer_t *e = producer_new(0);
        if (e == NULL) {
            log_pstate_clear(ps);
            return -ENOMEM;
        }
        e->producer_id = proto_rd_i64(&rd);
        e->epoch = proto_rd_i16(&rd);
        e->coordinator_epoch = proto_rd_i32(&rd);
        e->last_timestamp = proto_rd_i64(&rd);
        e->txn_first_offset = proto_rd_i64(&rd);
        int8_t nb = proto_rd_i8(&rd);
        e->nbatches = nb >= 0 && nb <= LOG_PSTATE_BATCHES ? (uint8_t)nb : UINT8_MAX;
        for (unsigned j = 0; e->nbatches != UINT8_MAX && j < e->nbatches; j++) {
            log_pstate_batch_t *b = &e->batches[j];
            b->first_seq = proto_rd_i32(&rd);
            b->last_seq = proto_rd_i32(&rd);
            b->first_offset = proto_rd_i64(&rd);
            b->last_offset = proto_rd_i64(&rd);
            b->max_timestamp = proto_rd_i64(&rd);
        }
        int rc = 0;
        if (rd.err != 0 || !producer_plausible(e, offset) || log_pstate_get(ps, e->producer_id) != NULL)
            rc = LOG_ECORRUPT;
        else if (map_put(&ps->producers, (const char *)&e->producer_id, sizeof e->producer_id, e) != 0)
            rc = -ENOMEM;
        if (rc < 0) {
            free(e);
            log_pstate_clear(ps);
            return rc;
        }
        if (e->txn_first_offset >= 0)
            txn_start(ps, e, e->txn_first_offset);
    }
    if (rd.err != 0 || proto_rd_remaining(&rd) != 0) {
        log_pstate_clear(ps);
        return LOG_ECORRUPT;
    }
    return 0;
}

/* ---- snapshot files ---- */

static int snapshot_path(char *out, size_t outlen, const char *dir, int64_t offset, const char *extra)
{
    int n = snprintf(out, outlen, "%s/%0*" PRId64 "%s%s", dir, LOG_SEGMENT_NAME_DIGITS, offset,
                     LOG_PSTATE_SNAPSHOT_SUFFIX, extra);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int log_pstate_write_snapshot(const char *dir, int64_t offset, const log_pstate_t *ps, int sync)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    buf_t img;
    int rc = snapshot_path(tmp, sizeof tmp, dir, offset, ".tmp");
    if (rc == 0)
        rc = snapshot_path(path, sizeof path, dir, offset, "");
    if (rc < 0)
        return rc;
    buf_init(&img);
    rc = log_pstate_encode(ps, offset, &img);
    if (rc < 0) {
        buf_fini(&img);
        return rc;
    }
    int fd = log_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        buf_fini(&img);
        return fd;
    }
    rc = log_io_pwrite(fd, img.data, img.len, 0);
    if (rc == 0 && sync)
        rc = log_io_fsync(fd);
    int crc = log_io_close(fd);
    if (rc == 0)
        rc = crc;
    if (rc == 0)
        rc = log_io_rename(tmp, path);
    if (rc < 0)
        (void)log_io_unlink(tmp);
    buf_fini(&img);
    return rc;
}

int log_pstate_load_snapshot(const char *dir, int64_t offset, log_pstate_t *ps)
{
    char path[PATH_MAX];
    int64_t size;
    int rc = snapshot_path(path, sizeof path, dir, offset, "");
    if (rc < 0)
        return rc;
    int fd = log_io_open(path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    rc = log_io_fsize(fd, &size);
    if (rc == 0 && (size < LOG_PSTATE_SNAPSHOT_HEADER || size > (int64_t)SNAPSHOT_MAX_BYTES))
        rc = LOG_ECORRUPT;
    uint8_t *data = rc == 0 ? malloc((size_t)size) : NULL;
    if (rc == 0 && data == NULL)
        rc = -ENOMEM;
    if (rc == 0) {
        ssize_t n = log_io_pread(fd, data, (size_t)size, 0);
        if (n < 0)
            rc = (int)n;
        else if (n != size)
            rc = LOG_ECORRUPT;
    }
    (void)log_io_close(fd);
    if (rc == 0)
        rc = log_pstate_decode(ps, data, (size_t)size, offset);
    free(data);
    return rc;
}

typedef struct snap_list_s {
    const char *dir;
    int64_t *offsets;
    size_t count;
    size_t cap;
} snap_list_t;

static int collect_snapshot(void *arg, const char *name)
{
    snap_list_t *sl = arg;
    size_t sfx = strlen(LOG_PSTATE_SNAPSHOT_SUFFIX), nlen = strlen(name);
    uint64_t v = 0;
    if (nlen == LOG_SEGMENT_NAME_DIGITS + sfx + 4 && strcmp(name + nlen - 4, ".tmp") == 0) {
        /* A snapshot write a crash interrupted: never renamed, never used. */
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", sl->dir, name) < (int)sizeof path)
            (void)log_io_unlink(path);
        return 0;
    }
    if (strlen(name) != LOG_SEGMENT_NAME_DIGITS + sfx ||
        strcmp(name + LOG_SEGMENT_NAME_DIGITS, LOG_PSTATE_SNAPSHOT_SUFFIX) != 0)
        return 0;
    for (int i = 0; i < LOG_SEGMENT_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (sl->count == sl->cap) {
        size_t ncap = sl->cap != 0 ? sl->cap * 2 : 8;
        int64_t *n = realloc(sl->offsets, ncap * sizeof *n);
        if (n == NULL)
            return -ENOMEM;
        sl->offsets = n;
        sl->cap = ncap;
    }
    sl->offsets[sl->count++] = (int64_t)v;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int log_pstate_list_snapshots(const char *dir, int64_t **offsets, size_t *count)
{
    snap_list_t sl = {dir, NULL, 0, 0};
    int rc = log_io_list_dir(dir, collect_snapshot, &sl);
    if (rc < 0) {
        free(sl.offsets);
        *offsets = NULL;
        *count = 0;
        return rc;
    }
    if (sl.count > 1)
        qsort(sl.offsets, sl.count, sizeof *sl.offsets, cmp_i64);
    *offsets = sl.offsets;
    *count = sl.count;
    return 0;
}

int log_pstate_remove_snapshot(const char *dir, int64_t offset)
{
    char path[PATH_MAX];
    int rc = snapshot_path(path, sizeof path, dir, offset, "");
    if (rc < 0)
        return rc;
    rc = log_io_unlink(path);
    return rc == -ENOENT ? 0 : rc;
}
