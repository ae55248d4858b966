#include "log/epoch_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/io.h"

void log_epoch_init(log_epoch_cache_t *ec)
{
    memset(ec, 0, sizeof *ec);
}

void log_epoch_fini(log_epoch_cache_t *ec)
{
    free(ec->entries);
    memset(ec, 0, sizeof *ec);
}

static int reserve(log_epoch_cache_t *ec, size_t need)
{
    if (need <= ec->cap)
        return 0;
    size_t ncap = ec->cap != 0 ? ec->cap * 2 : 4;
    while (ncap < need)
        ncap *= 2;
    log_epoch_entry_t *n = realloc(ec->entries, ncap * sizeof *n);
    if (n == NULL)
        return -ENOMEM;
    ec->entries = n;
    ec->cap = ncap;
    return 0;
}

int log_epoch_copy(log_epoch_cache_t *dst, const log_epoch_cache_t *src)
{
    dst->count = 0;
    if (reserve(dst, src->count) < 0)
        return -ENOMEM;
    if (src->count > 0)
        memcpy(dst->entries, src->entries, src->count * sizeof *src->entries);
    dst->count = src->count;
    return 0;
}

int log_epoch_equal(const log_epoch_cache_t *a, const log_epoch_cache_t *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (a->entries[i].epoch != b->entries[i].epoch || a->entries[i].start_offset != b->entries[i].start_offset)
            return 0;
    return 1;
}

int log_epoch_update_needed(const log_epoch_cache_t *ec, int32_t epoch, int64_t start_offset)
{
    if (ec->count == 0)
        return 1;
    const log_epoch_entry_t *last = &ec->entries[ec->count - 1];
    return epoch != last->epoch || start_offset < last->start_offset;
}

int log_epoch_assign(log_epoch_cache_t *ec, int32_t epoch, int64_t start_offset)
{
    if (epoch < 0 || start_offset < 0)
        return -EINVAL;
    if (!log_epoch_update_needed(ec, epoch, start_offset))
        return 0;
    if (reserve(ec, ec->count + 1) < 0)
        return -ENOMEM;
    /* Entries that would break monotonicity go, newest first. */
    while (ec->count > 0) {
        const log_epoch_entry_t *e = &ec->entries[ec->count - 1];
        if (e->epoch < epoch && e->start_offset < start_offset)
            break;
        ec->count--;
    }
    ec->entries[ec->count++] = (log_epoch_entry_t){epoch, start_offset};
    return 1;
}

int log_epoch_truncate_from_end(log_epoch_cache_t *ec, int64_t end_offset)
{
    size_t before = ec->count;
    if (end_offset < 0)
        return 0;
    while (ec->count > 0 && ec->entries[ec->count - 1].start_offset >= end_offset)
        ec->count--;
    return ec->count != before;
}

int log_epoch_truncate_from_start(log_epoch_cache_t *ec, int64_t start_offset)
{
    size_t k = 0;
    while (k < ec->count && ec->entries[k].start_offset <= start_offset)
        k++;
    if (k == 0)
        return 0;
    log_epoch_entry_t first = {ec->entries[k - 1].epoch, start_offset};
    int changed = k > 1 || ec->entries[k - 1].start_offset != start_offset;
    memmove(ec->entries + 1, ec->entries + k, (ec->count - k) * sizeof *ec->entries);
    ec->count -= k - 1;
    ec->entries[0] = first;
    return changed;
}

int32_t log_epoch_latest(const log_epoch_cache_t *ec)
{
    return ec->count > 0 ? ec->entries[ec->count - 1].epoch : -1;
}

void log_epoch_end_offset_for(const log_epoch_cache_t *ec, int32_t requested, int64_t log_end_offset,
                              int32_t *epoch_out, int64_t *end_offset_out)
{
    *epoch_out = -1;
    *end_offset_out = -1;
    if (requested == -1 || ec->count == 0)
        return;
    if (ec->entries[ec->count - 1].epoch == requested) {
        *epoch_out = requested;
        *end_offset_out = log_end_offset;
        return;
    }
    /* The first entry above the requested epoch; none: the epoch is newer than any we know. */
    size_t hi = 0;
    while (hi < ec->count && ec->entries[hi].epoch <= requested)
        hi++;
    if (hi == ec->count)
        return;
    *end_offset_out = ec->entries[hi].start_offset;
    *epoch_out = hi > 0 ? ec->entries[hi - 1].epoch : requested;
}

/* ---- the checkpoint file ---- */

int log_epoch_encode(const log_epoch_cache_t *ec, char **out, size_t *len)
{
    /* "0\n" + count + per entry an int32, a space, an int64 and a newline. */
    size_t cap = 32 + ec->count * 34;
    char *b = malloc(cap);
    if (b == NULL)
        return -ENOMEM;
    size_t n = (size_t)snprintf(b, cap, "0\n%zu\n", ec->count);
    for (size_t i = 0; i < ec->count; i++)
        n += (size_t)snprintf(b + n, cap - n, "%" PRId32 " %" PRId64 "\n", ec->entries[i].epoch,
                              ec->entries[i].start_offset);
    *out = b;
    *len = n;
    return 0;
}

/* Java's Long.parseLong on [p, end): optional sign, digits only, in range. */
static int parse_i64(const char *p, const char *end, int64_t min, int64_t max, int64_t *out)
{
    int neg = 0;
    uint64_t v = 0, limit;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p == end)
        return -1;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    int64_t r = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (r < min || r > max)
        return -1;
    *out = r;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r' || c == '\n';
}

/* Next line of [*p, end) as Java's readLine sees it (\n, \r or \r\n end a line); 0 at the end. */
static int next_line(const char **p, const char *end, const char **ls, const char **le)
{
    if (*p >= end)
        return 0;
    const char *s = *p, *q = s;
    while (q < end && *q != '\n' && *q != '\r')
        q++;
    *ls = s;
    *le = q;
    if (q < end && *q == '\r')
        q++;
    if (q < end && q[-1] == '\r' && *q == '\n')
        q++;
    else if (q < end && *q == '\n')
        q++;
    *p = q;
    return 1;
}

int log_epoch_parse(log_epoch_cache_t *ec, const char *data, size_t len)
{
    const char *p = data, *end = data + len, *ls, *le;
    int64_t version, count, n = 0;
    ec->count = 0;
    if (!next_line(&p, end, &ls, &le))
        return 0; /* an empty file: no entries (Kafka creates it so) */
    if (parse_i64(ls, le, INT32_MIN, INT32_MAX, &version) < 0 || version != 0)
        return LOG_ECORRUPT;
    if (!next_line(&p, end, &ls, &le))
        return 0;
    if (parse_i64(ls, le, INT32_MIN, INT32_MAX, &count) < 0)
        return LOG_ECORRUPT;
    while (next_line(&p, end, &ls, &le)) {
        /* Exactly two tokens split on whitespace; a leading blank makes an empty first token. */
        const char *a = ls, *ae = a;
        while (ae < le && !is_space(*ae))
            ae++;
        const char *b = ae;
        while (b < le && is_space(*b))
            b++;
        const char *be = b;
        while (be < le && !is_space(*be))
            be++;
        const char *rest = be;
        while (rest < le && is_space(*rest))
            rest++;
        int64_t epoch, start;
        if (ae == a || b == be || rest != le || parse_i64(a, ae, INT32_MIN, INT32_MAX, &epoch) < 0 ||
            parse_i64(b, be, INT64_MIN, INT64_MAX, &start) < 0)
            goto corrupt;
        int rc = log_epoch_assign(ec, (int32_t)epoch, start);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0)
            goto corrupt; /* Kafka refuses a negative epoch or offset */
        n++;
    }
    if (n != count)
        goto corrupt;
    return 0;
corrupt:
    ec->count = 0;
    return LOG_ECORRUPT;
}

static int file_path(char *out, size_t outlen, const char *dir, const char *suffix)
{
    int n = snprintf(out, outlen, "%s/%s%s", dir, LOG_EPOCH_CHECKPOINT_NAME, suffix);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int log_epoch_store(const log_epoch_cache_t *ec, const char *dir)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    char *text;
    size_t len;
    int rc = file_path(tmp, sizeof tmp, dir, ".tmp");
    if (rc == 0)
        rc = file_path(path, sizeof path, dir, "");
    if (rc == 0)
        rc = log_epoch_encode(ec, &text, &len);
    if (rc < 0)
        return rc;
    int fd = log_io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        free(text);
        return fd;
    }
    rc = log_io_pwrite(fd, text, len, 0);
    if (rc == 0)
        rc = log_io_fsync(fd);
    int crc = log_io_close(fd);
    if (rc == 0)
        rc = crc;
    if (rc == 0)
        rc = log_io_rename(tmp, path);
    if (rc == 0)
        rc = log_io_fsync_dir(dir);
    else
        (void)log_io_unlink(tmp);
    free(text);
    return rc;
}

int log_epoch_load(log_epoch_cache_t *ec, const char *dir)
{
    char path[PATH_MAX];
    int64_t size;
    ec->count = 0;
    int rc = file_path(path, sizeof path, dir, "");
    if (rc < 0)
        return rc;
    int fd = log_io_open(path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    rc = log_io_fsize(fd, &size);
    if (rc == 0 && size > (int64_t)LOG_EPOCH_CHECKPOINT_MAX_BYTES)
        rc = LOG_ECORRUPT;
    char *data = rc == 0 ? malloc(size > 0 ? (size_t)size : 1) : NULL;
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
        rc = log_epoch_parse(ec, data, (size_t)size);
    free(data);
    return rc;
}
