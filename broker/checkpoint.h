/*
 * broker/checkpoint: Kafka's per-directory offset checkpoint files.
 *
 *   recovery-point-offset-checkpoint   below this offset a partition's data was fsynced
 *   log-start-offset-checkpoint        the first offset a partition still holds
 *
 * Format (Kafka's): a version line "0", a count line, then one
 * "<topic> <partition> <offset>" line per partition. Files are replaced
 * atomically. A checkpoint that cannot be parsed is ignored with a warning:
 * the log then scans everything, which is slower but never wrong.
 */
#ifndef EDDY_BROKER_CHECKPOINT_H
#define EDDY_BROKER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

typedef struct broker_checkpoint_entry_s {
    char *topic;
    int32_t partition;
    int64_t offset;
} broker_checkpoint_entry_t;

typedef struct broker_checkpoint_s {
    broker_checkpoint_entry_t *entries;
    size_t count;
    size_t cap;
} broker_checkpoint_t;

void broker_checkpoint_init(broker_checkpoint_t *cp);
void broker_checkpoint_fini(broker_checkpoint_t *cp);
/* 0, or -errno; a missing file gives an empty checkpoint and 0. */
int broker_checkpoint_read(broker_checkpoint_t *cp, const char *path);
int broker_checkpoint_add(broker_checkpoint_t *cp, const char *topic, int32_t partition, int64_t offset);
/* -1 when the partition is not listed. */
int64_t broker_checkpoint_get(const broker_checkpoint_t *cp, const char *topic, int32_t partition);
int broker_checkpoint_write(const broker_checkpoint_t *cp, const char *path);

#endif
