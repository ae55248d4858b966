/*
 * broker/internal_topics: the topics the coordinators keep their state in
 * (__consumer_offsets, __transaction_state): creating them, appending the
 * coordinators' records, and replaying them at start. Clients may read
 * these topics but not write or delete them.
 */
#ifndef EDDY_BROKER_INTERNAL_TOPICS_H
#define EDDY_BROKER_INTERNAL_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/record.h"
#include "protocol/record_batch.h"

typedef struct broker_s broker_t;
typedef struct broker_topic_s broker_topic_t;

/* Opens the compacted internal topic `name`, creating it with nparts partitions if missing. */
int broker_internal_topic(broker_t *broker, const char *name, int32_t nparts, int64_t segment_bytes,
                          broker_topic_t **out);
/* Appends one batch built from spec and records; a Kafka error code. */
int16_t broker_internal_append(broker_t *broker, broker_topic_t *t, int32_t partition, const proto_batch_build_t *spec,
                               const proto_record_spec_t *records, int n);

/* What a replay hands back: each data record, and each transaction marker. */
typedef struct broker_replay_s {
    void (*record)(void *arg, int32_t partition, const proto_batch_header_t *hdr, const proto_record_t *rec);
    void (*marker)(void *arg, int32_t partition, const proto_batch_header_t *hdr, int16_t type);
    void *arg;
} broker_replay_t;
/* Walks every batch of a partition in offset order. */
void broker_internal_replay(broker_t *broker, broker_topic_t *t, int32_t partition, const broker_replay_t *rp);

bool broker_topic_is_internal(const char *name, size_t len);

#endif
