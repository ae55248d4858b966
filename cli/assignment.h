/*
 * cli/assignment: the consumer protocol's member assignment bytes.
 *
 * Groups of protocol type "consumer" carry, in SyncGroup and DescribeGroups,
 * an opaque assignment that the clients agree on; eddyctl decodes it to show
 * which partitions each member owns. The bytes come from the broker and,
 * before it, from whichever client led the group, so every length is checked
 * and any malformation is a returned error. Decoding borrows: topic names
 * point into the input bytes; arrays are allocated from the caller's arena.
 */
#ifndef EDDY_CLI_ASSIGNMENT_H
#define EDDY_CLI_ASSIGNMENT_H

#include <stdint.h>

#include "base/arena.h"
#include "protocol/reader.h"

typedef struct cli_assigned_topic_s {
    proto_str_t topic;
    int32_t npartitions;
    int32_t *partitions;
} cli_assigned_topic_t;

typedef struct cli_assignment_s {
    int16_t version;
    int32_t ntopics;
    cli_assigned_topic_t *topics;
    proto_bytes_t user_data; /* len -1: null or absent */
} cli_assignment_t;

/*
 * Decodes an assignment. Empty input (a member not yet assigned) gives zero
 * topics. Returns 0 or a PROTO_E* code.
 */
int cli_assignment_decode(const uint8_t *data, size_t len, arena_t *arena, cli_assignment_t *out);

#endif
