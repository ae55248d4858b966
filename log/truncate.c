/*
 * log/truncate: cutting a partition from its end, as a follower does when
 * its log diverged from the leader's (Kafka's UnifiedLog.truncateTo and
 * truncateFullyAndStartAt). Rules in log/log.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "base/diag.h"
#include "log/partition.h"

#define SUBSYS "log"

static void drop_all_snapshots(log_partition_t *p)
{
    int64_t *offs;
    size_t n;
    if (log_pstate_list_snapshots(p->dir, &offs, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        (void)log_pstate_remove_snapshot(p->dir, offs[i]);
    free(offs);
}

int log_partition_truncate_fully_and_start_at(log_partition_t *p, int64_t offset)
{
    log_segment_t *seg;
    if (offset < 0)
        return -EINVAL;
    int64_t now = log_partition__now(p);
    p->trunc_gen++;
    LOG_INFO(SUBSYS, "%s: truncating fully, the log starts again at %" PRId64 " (was [%" PRId64 ", %" PRId64 "))",
             p->dir, offset, p->start_offset, p->end_offset);
    /* Renamed first: the new segment may have the name of an old one. Reads in flight keep theirs. */
    for (size_t i = 0; i < p->nsegs; i++)
        (void)log_segment_mark_deleted(p->segs[i]); /* warns itself */
    p->dir_gen++;
    int rc = log_segment_create(p->dir, offset, &p->cfg, now, &seg);
    if (rc < 0) {
        LOG_ERROR(SUBSYS, "%s: cannot create the segment at %" PRId64 ": %s", p->dir, offset, log_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < p->nsegs; i++)
        log_segment_unref(p->segs[i]);
    p->segs[0] = seg;
    p->nsegs = 1;
    p->start_offset = p->end_offset = offset;
    if (p->recovery_point > offset)
        p->recovery_point = offset;
    p->cleaner_point = offset;
    p->max_timestamp = p->max_timestamp_offset = -1;
    p->epochs.count = 0;
    rc = log_partition__epochs_save(p);
    log_pstate_clear(&p->pstate);
    drop_all_snapshots(p);
    (void)log_partition__snapshot(p, 0);
    return rc;
}

int log_partition_truncate_to(log_partition_t *p, int64_t offset)
{
    if (offset < 0)
        return -EINVAL;
    if (offset >= p->end_offset) {
        /* Kafka: an entry a new leader recorded past its data may conflict with the leader's log. */
        if (log_epoch_truncate_from_end(&p->epochs, p->end_offset))
            (void)log_partition__epochs_save(p);
        return 0;
    }
    if (p->segs[0]->base_offset > offset) {
        int rc = log_partition_truncate_fully_and_start_at(p, offset);
        return rc < 0 ? rc : 1;
    }
    int64_t now = log_partition__now(p);
    LOG_INFO(SUBSYS, "%s: truncating to offset %" PRId64 " (log end was %" PRId64 ")", p->dir, offset, p->end_offset);
    p->trunc_gen++;
    /* Later segments go first (renamed away), so a crash cannot bring them back after the cut. */
    size_t t = log_partition_segment_for(p, offset);
    for (size_t i = p->nsegs; i-- > t + 1;) {
        log_segment_t *seg = p->segs[i];
        LOG_INFO(SUBSYS, "%s: deleting segment %" PRId64 " (%" PRId64 " bytes): truncation to %" PRId64, p->dir,
                 seg->base_offset, seg->size, offset);
        (void)log_segment_mark_deleted(seg);
        log_segment_unref(seg);
    }
    if (p->nsegs > t + 1)
        p->dir_gen++;
    p->nsegs = t + 1;
    log_segment_t *seg = p->segs[t];
    int64_t cut = log_segment_truncate(seg, offset, now);
    if (cut < 0) {
        LOG_ERROR(SUBSYS, "%s: cannot cut segment %" PRId64 " at offset %" PRId64 ": %s", p->dir, seg->base_offset,
                  offset, log_strerror((int)cut));
        p->end_offset = seg->next_offset < p->end_offset ? seg->next_offset : p->end_offset;
        log_partition__recompute_max_timestamp(p);
        return (int)cut;
    }
    seg->next_offset = offset;
    p->end_offset = offset;
    if (p->start_offset > offset)
        p->start_offset = offset;
    if (p->recovery_point > offset)
        p->recovery_point = offset;
    if (p->cleaner_point > seg->base_offset)
        p->cleaner_point = seg->base_offset;
    log_partition__recompute_max_timestamp(p);
    if (log_epoch_truncate_from_end(&p->epochs, offset))
        (void)log_partition__epochs_save(p);
    /* Kafka reloads from the newest snapshot at or below the new end and replays the rest. */
    int rc = log_partition__reload_producers(p, offset, now);
    if (rc < 0)
        return rc;
    (void)log_partition__snapshot(p, 0);
    return 1;
}
