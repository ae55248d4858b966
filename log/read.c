#include <errno.h>

#include "log/io.h"
#include "log/partition.h"

int log_partition_read(log_partition_t *p, int64_t offset, size_t max_bytes, int min_one_batch, log_read_t *out)
{
    *out = (log_read_t){.fd = -1, .pos = 0, .len = 0, .seg = NULL};
    if (offset < p->start_offset || offset > p->end_offset)
        return LOG_EOUT_OF_RANGE;
    if (offset == p->end_offset)
        return 0;
    /* A segment may hold no batch reaching offset (a gap left by compaction
     * or an emptied segment); the answer is then in a later one. */
    for (size_t i = log_partition_segment_for(p, offset); i < p->nsegs; i++) {
        log_segment_t *seg = p->segs[i];
        int64_t pos;
        size_t len;
        int rc = log_segment_read(seg, offset, max_bytes, min_one_batch, &pos, &len);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        if (len > 0) {
            log_segment_ref(seg);
            out->fd = seg->fd;
            out->pos = (off_t)pos;
            out->len = len;
            out->seg = seg;
        }
        return 0;
    }
    return 0;
}

int log_read_copy(const log_read_t *rd, buf_t *dst)
{
    if (rd->len == 0)
        return 0;
    int rc = buf_reserve(dst, rd->len);
    if (rc < 0)
        return rc;
    ssize_t n = log_io_pread(rd->fd, dst->data + dst->len, rd->len, (int64_t)rd->pos);
    if (n < 0)
        return (int)n;
    if ((size_t)n != rd->len)
        return LOG_ECORRUPT; /* the file shrank under us */
    dst->len += rd->len;
    return 0;
}

void log_read_release(log_read_t *rd)
{
    if (rd == NULL || rd->seg == NULL)
        return;
    log_segment_unref(rd->seg);
    *rd = (log_read_t){.fd = -1, .pos = 0, .len = 0, .seg = NULL};
}

int log_partition_offset_for_time(log_partition_t *p, int64_t ts, int64_t *offset_out, int64_t *ts_out)
{
    *offset_out = -1;
    *ts_out = -1;
    if (ts < 0)
        return -EINVAL;
    for (size_t i = log_partition_segment_for(p, p->start_offset); i < p->nsegs; i++) {
        log_segment_t *seg = p->segs[i];
        int64_t offset, batch_ts;
        if (seg->max_timestamp < ts)
            continue;
        int rc = log_segment_find_time(seg, ts, p->start_offset, &offset, &batch_ts);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *offset_out = offset > p->start_offset ? offset : p->start_offset;
            *ts_out = batch_ts;
            return 0;
        }
    }
    return 0;
}
