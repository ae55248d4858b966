/*
 * log/partition (internal): the state behind log_partition_t, shared by
 * partition.c (open, close, append, roll, flush, remove), read.c (reads and
 * offset-for-time) and compact.c (compaction jobs); partition.c also keeps
 * the producer state, its snapshots and the aborted-transaction indexes.
 * The segment array is sorted by base offset and never empty; the last
 * segment is the active one, the only one appended to.
 * Nothing outside log/ includes this header.
 */
#ifndef EDDY_LOG_PARTITION_H
#define EDDY_LOG_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "log/epoch_cache.h"
#include "log/log.h"
#include "log/producer_state.h"
#include "log/segment.h"

struct log_partition_s {
    char *dir;
    log_config_t cfg;
    log_segment_t **segs; /* each holds one reference for the partition */
    size_t nsegs;
    size_t cap;
    int64_t start_offset;   /* log start offset: retention and DeleteRecords move it */
    int64_t end_offset;     /* LEO */
    int64_t recovery_point; /* everything below was fsynced (flush) */
    int64_t last_flush_ms;
    int64_t max_timestamp;
    int64_t max_timestamp_offset;
    uint64_t dir_gen;         /* bumped when a segment is created or deleted */
    uint64_t dir_synced_gen;  /* dir_gen covered by the last directory fsync */
    int64_t cleaner_point;    /* compaction: offsets below were cleaned (log/compact.c) */
    int compacting;           /* a compaction job is between prepare and complete */
    log_pstate_t pstate;      /* producers, open transactions (log/producer_state.h) */
    buf_t scratch;            /* decompressing a transaction marker */
    log_epoch_cache_t epochs; /* leader epochs (log/epoch_cache.h), persisted before the data they cover */
    int epochs_dirty;         /* the checkpoint file may differ from epochs: rewrite before the next data */
    uint64_t trunc_gen;       /* bumped by every truncation: flush and compaction jobs started before it are stale */
};

/* Index of the segment with the largest base offset <= offset (0 if none is). */
size_t log_partition_segment_for(const log_partition_t *p, int64_t offset);

/*
 * Internals shared by partition.c and truncate.c (double underscore: not
 * part of log.h's API).
 */
int64_t log_partition__now(const log_partition_t *p);
void log_partition__recompute_max_timestamp(log_partition_t *p);
/* Writes `<end offset>.snapshot` (fsynced when sync); failures only warn. */
int log_partition__snapshot(log_partition_t *p, int sync);
/*
 * Reloads the producer state: the newest valid snapshot at or below limit
 * (and not past a stale txnindex), then a header scan to the end; snapshots
 * past the end are deleted. Used at open and after truncation.
 */
int log_partition__reload_producers(log_partition_t *p, int64_t limit, int64_t now);
/* Rewrites the leader-epoch checkpoint from memory; a failure marks it dirty. */
int log_partition__epochs_save(log_partition_t *p);

#endif
