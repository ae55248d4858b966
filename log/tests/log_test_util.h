/*
 * log/tests/log_test_util: helpers shared by the log's cmocka tests.
 *
 * Hand-built RecordBatch v2 batches (a correct 61-byte header, opaque record
 * bytes and a correct CRC: the log never looks inside records), a private
 * temporary directory per test, an injectable I/O fault, and small configs.
 * Header-only (static inline) because each test is one executable.
 */
#ifndef EDDY_LOG_TEST_UTIL_H
#define EDDY_LOG_TEST_UTIL_H

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/diag.h"
#include "log/io.h"
#include "log/log.h"
#include "protocol/record_batch.h"

static inline void tu_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void tu_put64(uint8_t *p, uint64_t v)
{
    tu_put32(p, (uint32_t)(v >> 32));
    tu_put32(p + 4, (uint32_t)v);
}

/*
 * A batch of `records` records whose body is body_len opaque bytes filled
 * with `fill`, timestamps base_ts and max_ts; malloc'd, size in *len.
 */
static inline uint8_t *tu_batch(int32_t records, int64_t base_ts, int64_t max_ts, size_t body_len, uint8_t fill,
                                size_t *len)
{
    size_t total = PROTO_BATCH_HEADER_SIZE + body_len;
    uint8_t *b = calloc(1, total);
    assert_non_null(b);
    tu_put64(b + 0, 0);
    tu_put32(b + 8, (uint32_t)(total - PROTO_BATCH_LOG_OVERHEAD));
    tu_put32(b + 12, 0);
    b[16] = 2;
    b[21] = 0;
    b[22] = 0;
    tu_put32(b + 23, (uint32_t)(records - 1));
    tu_put64(b + 27, (uint64_t)base_ts);
    tu_put64(b + 35, (uint64_t)max_ts);
    tu_put64(b + 43, (uint64_t)-1);
    b[51] = 0xff;
    b[52] = 0xff;
    tu_put32(b + 53, (uint32_t)-1);
    tu_put32(b + 57, (uint32_t)records);
    for (size_t i = 0; i < body_len; i++)
        b[PROTO_BATCH_HEADER_SIZE + i] = (uint8_t)(fill + i);
    tu_put32(b + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(b, total));
    *len = total;
    return b;
}

/* Appends a fresh batch and returns its base offset; the bytes as written go to *copy if non-NULL. */
static inline int64_t tu_append(log_partition_t *p, int32_t records, int64_t max_ts, size_t body_len, uint8_t fill,
                                uint8_t **copy, size_t *len_out)
{
    size_t len;
    int64_t base = -1;
    uint8_t *b = tu_batch(records, max_ts, max_ts, body_len, fill, &len);
    assert_int_equal(log_partition_append(p, b, len, 7, &base), 0);
    if (copy != NULL)
        *copy = b;
    else
        free(b);
    if (len_out != NULL)
        *len_out = len;
    return base;
}

/* Reads [offset...] into dst (cleared first); returns the log_partition_read status. */
static inline int tu_read(log_partition_t *p, int64_t offset, size_t max_bytes, int min_one, buf_t *dst)
{
    log_read_t rd;
    dst->len = 0;
    int rc = log_partition_read(p, offset, max_bytes, min_one, &rd);
    if (rc == 0 && rd.len > 0)
        assert_int_equal(log_read_copy(&rd, dst), 0);
    log_read_release(&rd);
    return rc;
}

static inline int64_t tu_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

static inline int32_t tu_be32(const uint8_t *p)
{
    return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]);
}

/* ---- temporary directories ---- */

typedef struct tu_dir_s {
    char root[64];  /* mkdtemp result */
    char part[128]; /* root/topic-0 */
} tu_dir_t;

static inline void tu_dir_make(tu_dir_t *d)
{
    strcpy(d->root, "/tmp/eddy-log-test-XXXXXX");
    assert_non_null(mkdtemp(d->root));
    snprintf(d->part, sizeof d->part, "%s/topic-0", d->root);
}

static inline int tu_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void tu_dir_remove(tu_dir_t *d)
{
    (void)nftw(d->root, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void tu_seg_path(const tu_dir_t *d, int64_t base, const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%020lld%s", d->part, (long long)base, suffix);
}

static inline int64_t tu_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    return (int64_t)st.st_size;
}

/* Whole file into a malloc'd buffer (NULL and *len 0 when missing or empty). */
static inline uint8_t *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(b);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static inline log_config_t tu_config(int64_t segment_bytes, int32_t interval)
{
    log_config_t cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = segment_bytes;
    cfg.index_interval_bytes = interval;
    return cfg;
}

/* ---- I/O faults ---- */

typedef struct tu_fault_s {
    log_io_op_t op;
    int skip;       /* let this many matching calls through first */
    int err;        /* then fail with this (negative errno) */
    size_t partial; /* for writes: bytes really written before failing */
    int times;      /* how many calls to fail (then pass again) */
    int hits;
} tu_fault_t;

static inline int tu_fault_fn(void *arg, log_io_op_t op, const char *path, int fd, size_t *partial)
{
    tu_fault_t *f = arg;
    (void)path;
    (void)fd;
    if (op != f->op || f->times <= 0)
        return 0;
    if (f->skip > 0) {
        f->skip--;
        return 0;
    }
    f->times--;
    f->hits++;
    *partial = f->partial;
    return f->err;
}

/* Warnings are expected in these tests; EDDY_TEST_VERBOSE=1 shows them. */
/* Several faults at once: the first entry matching the operation decides. */
#define TU_MAX_FAULTS 4
typedef struct tu_faults_s {
    tu_fault_t f[TU_MAX_FAULTS];
} tu_faults_t;

static inline int tu_faults_fn(void *arg, log_io_op_t op, const char *path, int fd, size_t *partial)
{
    tu_faults_t *fs = arg;
    for (int i = 0; i < TU_MAX_FAULTS; i++) {
        if (fs->f[i].times > 0 && fs->f[i].op == op)
            return tu_fault_fn(&fs->f[i], op, path, fd, partial);
    }
    return 0;
}

static inline void tu_quiet(void)
{
    if (getenv("EDDY_TEST_VERBOSE") == NULL)
        diag_set_level(DIAG_ERROR);
}

#endif
