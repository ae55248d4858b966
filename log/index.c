#include "log/index.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "log/io.h"
#include "log/log.h"
#include "protocol/record_batch.h"

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/*
 * The descriptor for a write: the open one, or prefix + suffix opened again
 * (created if an outside hand removed it; the entries in memory are the truth).
 */
static int index_fd(int *fd, const char *prefix, int *trunc, const char *suffix)
{
    if (*fd >= 0 || prefix == NULL)
        return *fd >= 0 ? 0 : -EBADF;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s%s", prefix, suffix);
    if (n < 0 || (size_t)n >= sizeof path)
        return -ENAMETOOLONG;
    int rc = log_io_open(path, O_RDWR | O_CREAT | (*trunc ? O_TRUNC : 0), 0644);
    if (rc < 0)
        return rc;
    *fd = rc;
    *trunc = 0;
    return 0;
}

static void index_release(int *fd, const char *prefix)
{
    if (*fd >= 0 && prefix != NULL) {
        (void)log_io_close(*fd);
        *fd = -1;
    }
}

static int grow(void **entries, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    /* Small first: most segments of a broker with many partitions index little. */
    size_t ncap = *cap != 0 ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*entries, ncap * size);
    if (n == NULL)
        return -ENOMEM;
    *entries = n;
    *cap = ncap;
    return 0;
}

/*
 * Each entry names a distinct batch start below the segment size, so a file
 * with more entries than batches could fit is corrupt; checking this before
 * allocating keeps a garbage multi-gigabyte index from exhausting memory.
 */
static size_t max_plausible_entries(int64_t seg_size)
{
    return (size_t)(seg_size / PROTO_BATCH_HEADER_SIZE) + 2;
}

/* Reads the whole file: *out is malloc'd (NULL when empty). */
static int read_file(int fd, size_t entry_size, int64_t seg_size, uint8_t **out, size_t *count)
{
    int64_t size;
    int rc = log_io_fsize(fd, &size);
    *out = NULL;
    *count = 0;
    if (rc < 0)
        return rc;
    if (size % (int64_t)entry_size != 0)
        return LOG_ECORRUPT;
    size_t n = (size_t)(size / (int64_t)entry_size);
    if (n == 0)
        return 0;
    if (n > max_plausible_entries(seg_size))
        return LOG_ECORRUPT;
    uint8_t *raw = malloc((size_t)size);
    if (raw == NULL)
        return -ENOMEM;
    ssize_t got = log_io_pread(fd, raw, (size_t)size, 0);
    if (got < 0) {
        free(raw);
        return (int)got;
    }
    if ((size_t)got != (size_t)size) {
        free(raw);
        return LOG_ECORRUPT;
    }
    *out = raw;
    *count = n;
    return 0;
}

static int store_file(int fd, const uint8_t *raw, size_t len)
{
    int rc = log_io_ftruncate(fd, 0);
    if (rc == 0 && len > 0)
        rc = log_io_pwrite(fd, raw, len, 0);
    return rc;
}

static int rel_ok(int64_t base, int64_t offset)
{
    return offset >= base && offset - base <= INT32_MAX;
}

/* ---- offset index ---- */

#define OFFSET_SUFFIX ".index"
#define TIME_SUFFIX   ".timeindex"

void log_offset_index_release(log_offset_index_t *idx)
{
    index_release(&idx->fd, idx->reopen_prefix);
}

void log_time_index_release(log_time_index_t *idx)
{
    index_release(&idx->fd, idx->reopen_prefix);
}

void log_offset_index_init(log_offset_index_t *idx, int fd, int64_t base_offset, int32_t max_bytes)
{
    idx->fd = fd;
    idx->reopen_prefix = NULL;
    idx->reopen_trunc = 0;
    idx->base_offset = base_offset;
    idx->max_entries = max_bytes > 0 ? (size_t)max_bytes / LOG_OFFSET_INDEX_ENTRY_SIZE : 0;
    idx->count = 0;
    idx->cap = 0;
    idx->entries = NULL;
}

void log_offset_index_fini(log_offset_index_t *idx)
{
    if (idx->fd >= 0)
        (void)log_io_close(idx->fd);
    idx->fd = -1;
    free(idx->entries);
    idx->entries = NULL;
    idx->count = idx->cap = 0;
}

int log_offset_index_load(log_offset_index_t *idx, int64_t seg_size, int64_t next_offset)
{
    uint8_t *raw;
    size_t n;
    int rc = index_fd(&idx->fd, idx->reopen_prefix, &idx->reopen_trunc, OFFSET_SUFFIX);
    if (rc < 0)
        return rc;
    rc = read_file(idx->fd, LOG_OFFSET_INDEX_ENTRY_SIZE, seg_size, &raw, &n);
    idx->count = 0;
    if (rc < 0 || n == 0)
        return rc;
    rc = grow((void **)&idx->entries, &idx->cap, n, sizeof(log_offset_entry_t));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const uint8_t *e = raw + i * LOG_OFFSET_INDEX_ENTRY_SIZE;
        int32_t rel = (int32_t)get32(e);
        int32_t pos = (int32_t)get32(e + 4);
        if (rel < 0 || pos < 0 || pos >= seg_size)
            rc = LOG_ECORRUPT;
        else if (next_offset >= 0 && idx->base_offset + rel >= next_offset)
            rc = LOG_ECORRUPT;
        else if (i > 0 && (rel <= idx->entries[i - 1].rel_offset || pos <= idx->entries[i - 1].position))
            rc = LOG_ECORRUPT;
        else
            idx->entries[i] = (log_offset_entry_t){rel, pos};
    }
    free(raw);
    idx->count = rc == 0 ? n : 0;
    return rc;
}

int log_offset_index_push(log_offset_index_t *idx, int64_t offset, int64_t position)
{
    if (!rel_ok(idx->base_offset, offset) || position < 0 || position > INT32_MAX)
        return LOG_ETOOLARGE;
    int rc = grow((void **)&idx->entries, &idx->cap, idx->count + 1, sizeof(log_offset_entry_t));
    if (rc < 0)
        return rc;
    idx->entries[idx->count++] = (log_offset_entry_t){(int32_t)(offset - idx->base_offset), (int32_t)position};
    return 0;
}

int log_offset_index_append(log_offset_index_t *idx, int64_t offset, int64_t position)
{
    uint8_t e[LOG_OFFSET_INDEX_ENTRY_SIZE];
    int rc = grow((void **)&idx->entries, &idx->cap, idx->count + 1, sizeof(log_offset_entry_t));
    if (rc < 0)
        return rc;
    if (!rel_ok(idx->base_offset, offset) || position < 0 || position > INT32_MAX)
        return LOG_ETOOLARGE;
    rc = index_fd(&idx->fd, idx->reopen_prefix, &idx->reopen_trunc, OFFSET_SUFFIX);
    if (rc < 0)
        return rc;
    put32(e, (uint32_t)(offset - idx->base_offset));
    put32(e + 4, (uint32_t)position);
    int64_t at = (int64_t)idx->count * LOG_OFFSET_INDEX_ENTRY_SIZE;
    rc = log_io_pwrite(idx->fd, e, sizeof e, at);
    if (rc < 0) {
        /* A torn entry would make the file fail its load check; cut it off. */
        (void)log_io_ftruncate(idx->fd, at);
        return rc;
    }
    idx->entries[idx->count++] = (log_offset_entry_t){(int32_t)(offset - idx->base_offset), (int32_t)position};
    return 0;
}

int log_offset_index_truncate(log_offset_index_t *idx, size_t count)
{
    if (count >= idx->count)
        return 0;
    idx->count = count;
    int rc = index_fd(&idx->fd, idx->reopen_prefix, &idx->reopen_trunc, OFFSET_SUFFIX);
    return rc < 0 ? rc : log_io_ftruncate(idx->fd, (int64_t)count * LOG_OFFSET_INDEX_ENTRY_SIZE);
}

void log_offset_index_clear(log_offset_index_t *idx)
{
    idx->count = 0;
}

int log_offset_index_store(log_offset_index_t *idx)
{
    size_t len = idx->count * LOG_OFFSET_INDEX_ENTRY_SIZE;
    uint8_t *raw = len > 0 ? malloc(len) : NULL;
    if (len > 0 && raw == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < idx->count; i++) {
        put32(raw + i * LOG_OFFSET_INDEX_ENTRY_SIZE, (uint32_t)idx->entries[i].rel_offset);
        put32(raw + i * LOG_OFFSET_INDEX_ENTRY_SIZE + 4, (uint32_t)idx->entries[i].position);
    }
    int rc = index_fd(&idx->fd, idx->reopen_prefix, &idx->reopen_trunc, OFFSET_SUFFIX);
    if (rc == 0)
        rc = store_file(idx->fd, raw, len);
    free(raw);
    return rc;
}

int64_t log_offset_index_lookup(const log_offset_index_t *idx, int64_t offset, int64_t *found)
{
    /* Largest i with base + rel <= offset: lo ends as the count of such entries. */
    size_t lo = 0, hi = idx->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->base_offset + idx->entries[mid].rel_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) {
        if (found != NULL)
            *found = idx->base_offset;
        return 0;
    }
    if (found != NULL)
        *found = idx->base_offset + idx->entries[lo - 1].rel_offset;
    return idx->entries[lo - 1].position;
}

/* ---- time index ---- */

void log_time_index_init(log_time_index_t *idx, int fd, int64_t base_offset, int32_t max_bytes)
{
    idx->fd = fd;
    idx->reopen_prefix = NULL;
    idx->reopen_trunc = 0;
    idx->base_offset = base_offset;
    idx->max_entries = max_bytes > 0 ? (size_t)max_bytes / LOG_TIME_INDEX_ENTRY_SIZE : 0;
    idx->count = 0;
    idx->cap = 0;
    idx->entries = NULL;
}

void log_time_index_fini(log_time_index_t *idx)
{
    if (idx->fd >= 0)
        (void)log_io_close(idx->fd);
    idx->fd = -1;
    free(idx->entries);
    idx->entries = NULL;
    idx->count = idx->cap = 0;
}

int log_time_index_load(log_time_index_t *idx, int64_t seg_size, int64_t next_offset)
{
    uint8_t *raw;
    size_t n;
    int rc = index_fd(&idx->fd, idx->reopen_prefix, &idx->reopen_trunc, TIME_SUFFIX);
    if (rc < 0)
        return rc;
    rc = read_file(idx->fd, LOG_TIME_INDEX_ENTRY_SIZE, seg_size, &raw, &n);
    idx->count = 0;
    if (rc < 0 || n == 0)
        return rc;
    rc = grow((void **)&idx->entries, &idx->cap, n, sizeof(log_time_entry_t));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const uint8_t *e = raw + i * LOG_TIME_INDEX_ENTRY_SIZE;
        int64_t ts = (int64_t)get64(e);
        int32_t rel = (int32_t)get32(e + 8);
        if (rel < 0)
            rc = LOG_ECORRUPT;
        else if (next_offset >= 0 && idx->base_offset + rel >= next_offset)
            rc = LOG_ECORRUPT;
        else if (i > 0 && (ts <= idx->entries[i - 1].timestamp || rel < idx->entries[i - 1].rel_offset))
            rc = LOG_ECORRUPT;
        else
            idx->entries[i] = (log_time_entry_t){ts, rel};
    }
    free(raw);
    idx->count = rc == 0 ? n : 0;
    return rc;
}

/* Kafka's maybeAppend: an empty index acts as if it held -1 (no timestamp). */
static int time_due(const log_time_index_t *idx, int64_t ts)
{
    int64_t last = idx->count > 0 ? idx->entries[idx->count - 1].timestamp : -1;
    return ts > last;
}

int log_time_index_maybe_push(log_time_index_t *idx, int64_t ts, int64_t offset)
{
    if (!time_due(idx, ts))
        return 0;
    if (!rel_ok(idx->base_offset, offset))
        return LOG_ETOOLARGE;
    int rc = grow((void **)&idx->entries, &idx->cap, idx->count + 1, sizeof(log_time_entry_t));
    if (rc < 0)
        return rc;
    idx->entries[idx->count++] = (log_time_entry_t){ts, (int32_t)(offset - idx->base_offset)};
    return 0;
}

int log_time_index_maybe_append(log_time_index_t *idx, int64_t ts, int64_t offset)
{
    uint8_t e[LOG_TIME_INDEX_ENTRY_SIZE];
    if (!time_due(idx, ts))
        return 0;
    if (!rel_ok(idx->base_offset, offset))
        return LOG_ETOOLARGE;
    int rc = grow((void **)&idx->entries, &idx->cap, idx->count + 1, sizeof(log_time_entry_t));
    if (rc < 0)
        return rc;
    rc = index_fd(&idx->fd, idx->reopen_prefix, &idx->reopen_trunc, TIME_SUFFIX);
    if (rc < 0)
        return rc;
    put64(e, (uint64_t)ts);
    put32(e + 8, (uint32_t)(offset - idx->base_offset));
    int64_t at = (int64_t)idx->count * LOG_TIME_INDEX_ENTRY_SIZE;
    rc = log_io_pwrite(idx->fd, e, sizeof e, at);
    if (rc < 0) {
        (void)log_io_ftruncate(idx->fd, at);
        return rc;
    }
    idx->entries[idx->count++] = (log_time_entry_t){ts, (int32_t)(offset - idx->base_offset)};
    return 0;
}

int log_time_index_truncate(log_time_index_t *idx, size_t count)
{
    if (count >= idx->count)
        return 0;
    idx->count = count;
    int rc = index_fd(&idx->fd, idx->reopen_prefix, &idx->reopen_trunc, TIME_SUFFIX);
    return rc < 0 ? rc : log_io_ftruncate(idx->fd, (int64_t)count * LOG_TIME_INDEX_ENTRY_SIZE);
}

void log_time_index_clear(log_time_index_t *idx)
{
    idx->count = 0;
}

int log_time_index_store(log_time_index_t *idx)
{
    size_t len = idx->count * LOG_TIME_INDEX_ENTRY_SIZE;
    uint8_t *raw = len > 0 ? malloc(len) : NULL;
    if (len > 0 && raw == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < idx->count; i++) {
        put64(raw + i * LOG_TIME_INDEX_ENTRY_SIZE, (uint64_t)idx->entries[i].timestamp);
        put32(raw + i * LOG_TIME_INDEX_ENTRY_SIZE + 8, (uint32_t)idx->entries[i].rel_offset);
    }
    int rc = index_fd(&idx->fd, idx->reopen_prefix, &idx->reopen_trunc, TIME_SUFFIX);
    if (rc == 0)
        rc = store_file(idx->fd, raw, len);
    free(raw);
    return rc;
}

int64_t log_time_index_lookup(const log_time_index_t *idx, int64_t ts)
{
    /* Count of entries with timestamp < ts (timestamps strictly increase). */
    size_t lo = 0, hi = idx->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->entries[mid].timestamp < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return idx->base_offset;
    return idx->base_offset + idx->entries[lo - 1].rel_offset;
}

int log_time_index_last(const log_time_index_t *idx, int64_t *ts, int64_t *offset)
{
    if (idx->count == 0)
        return 0;
    *ts = idx->entries[idx->count - 1].timestamp;
    *offset = idx->base_offset + idx->entries[idx->count - 1].rel_offset;
    return 1;
}
