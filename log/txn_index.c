#include "log/txn_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log/io.h"

/* A segment's index beyond this is not ours (about 30 million aborts). */
#define TXN_INDEX_MAX_BYTES (1024LL * 1024 * 1024)

void log_txn_index_init(log_txn_index_t *idx, int fd, int64_t base_offset)
{
    memset(idx, 0, sizeof *idx);
    idx->fd = fd;
    idx->base_offset = base_offset;
}

void log_txn_index_fini(log_txn_index_t *idx)
{
    if (idx->fd >= 0)
        (void)log_io_close(idx->fd);
    idx->fd = -1;
    free(idx->entries);
    idx->entries = NULL;
    idx->count = idx->cap = 0;
}

static int reserve(log_txn_index_t *idx, size_t need)
{
    if (need <= idx->cap)
        return 0;
    size_t ncap = idx->cap != 0 ? idx->cap * 2 : 4;
    while (ncap < need)
        ncap *= 2;
    log_aborted_txn_t *n = realloc(idx->entries, ncap * sizeof *n);
    if (n == NULL)
        return -ENOMEM;
    idx->entries = n;
    idx->cap = ncap;
    return 0;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void encode(uint8_t *p, const log_aborted_txn_t *t)
{
    p[0] = 0;
    p[1] = LOG_TXN_INDEX_VERSION;
    put64(p + 2, (uint64_t)t->producer_id);
    put64(p + 10, (uint64_t)t->first_offset);
    put64(p + 18, (uint64_t)t->last_offset);
    put64(p + 26, (uint64_t)t->last_stable_offset);
}

int log_txn_index_load(log_txn_index_t *idx, int64_t next_offset)
{
    int64_t size;
    idx->count = 0;
    int rc = log_io_fsize(idx->fd, &size);
    if (rc < 0)
        return rc;
    if (size == 0)
        return 0;
    if (size % LOG_TXN_INDEX_ENTRY_SIZE != 0 || size > TXN_INDEX_MAX_BYTES)
        goto corrupt;
    uint8_t *raw = malloc((size_t)size);
    if (raw == NULL)
        return -ENOMEM;
    ssize_t n = log_io_pread(idx->fd, raw, (size_t)size, 0);
    if (n < 0) {
        free(raw);
        return (int)n;
    }
    size_t count = (size_t)size / LOG_TXN_INDEX_ENTRY_SIZE;
    if (n != size || reserve(idx, count) < 0) {
        free(raw);
        if (n != size)
            goto corrupt;
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = raw + i * LOG_TXN_INDEX_ENTRY_SIZE;
        log_aborted_txn_t t = {
            .producer_id = (int64_t)get64(p + 2),
            .first_offset = (int64_t)get64(p + 10),
            .last_offset = (int64_t)get64(p + 18),
            .last_stable_offset = (int64_t)get64(p + 26),
        };
        int16_t version = (int16_t)((p[0] << 8) | p[1]);
        if (version != LOG_TXN_INDEX_VERSION || t.producer_id < 0 || t.first_offset < 0 ||
            t.first_offset > t.last_offset || t.last_offset < idx->base_offset ||
            (next_offset >= 0 && t.last_offset >= next_offset) ||
            (i > 0 && t.last_offset <= idx->entries[i - 1].last_offset)) {
            free(raw);
            goto corrupt;
        }
        idx->entries[i] = t;
    }
    idx->count = count;
    free(raw);
    return 0;
corrupt:
    idx->count = 0;
    idx->stale = 1;
    return LOG_ECORRUPT;
}

int log_txn_index_push(log_txn_index_t *idx, const log_aborted_txn_t *txn)
{
    if (idx->count > 0 && txn->last_offset <= idx->entries[idx->count - 1].last_offset)
        return -EINVAL;
    int rc = reserve(idx, idx->count + 1);
    if (rc < 0)
        return rc;
    idx->entries[idx->count++] = *txn;
    return 0;
}

int log_txn_index_append(log_txn_index_t *idx, const log_aborted_txn_t *txn)
{
    uint8_t raw[LOG_TXN_INDEX_ENTRY_SIZE];
    int64_t pos = (int64_t)idx->count * LOG_TXN_INDEX_ENTRY_SIZE;
    int rc = log_txn_index_push(idx, txn);
    if (rc < 0)
        return rc;
    encode(raw, txn);
    rc = log_io_pwrite(idx->fd, raw, sizeof raw, pos);
    if (rc < 0) {
        idx->count--;
        (void)log_io_ftruncate(idx->fd, pos);
    }
    return rc;
}

int log_txn_index_truncate(log_txn_index_t *idx, int64_t offset)
{
    size_t keep = idx->count;
    while (keep > 0 && idx->entries[keep - 1].last_offset >= offset)
        keep--;
    if (keep == idx->count)
        return 0;
    idx->count = keep;
    return log_io_ftruncate(idx->fd, (int64_t)keep * LOG_TXN_INDEX_ENTRY_SIZE);
}

int log_txn_index_store(log_txn_index_t *idx)
{
    size_t len = idx->count * LOG_TXN_INDEX_ENTRY_SIZE;
    int rc = log_io_ftruncate(idx->fd, 0);
    if (rc == 0 && len > 0) {
        uint8_t *raw = malloc(len);
        if (raw == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < idx->count; i++)
            encode(raw + i * LOG_TXN_INDEX_ENTRY_SIZE, &idx->entries[i]);
        rc = log_io_pwrite(idx->fd, raw, len, 0);
        free(raw);
    }
    if (rc == 0)
        idx->stale = 0;
    return rc;
}

int log_txn_index_collect(const log_txn_index_t *idx, int64_t fetch_offset, int64_t upper_bound,
                          log_aborted_txn_t **out, size_t *count, size_t *cap)
{
    for (size_t i = 0; i < idx->count; i++) {
        const log_aborted_txn_t *t = &idx->entries[i];
        if (t->last_offset >= fetch_offset && t->first_offset < upper_bound) {
            if (*count == *cap) {
                size_t ncap = *cap != 0 ? *cap * 2 : 8;
                log_aborted_txn_t *n = realloc(*out, ncap * sizeof *n);
                if (n == NULL)
                    return -ENOMEM;
                *out = n;
                *cap = ncap;
            }
            (*out)[(*count)++] = *t;
        }
        if (t->last_stable_offset >= upper_bound)
            return 1;
    }
    return 0;
}
