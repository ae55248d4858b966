/*
 * broker/api_floor: the lowest version of each API this broker answers and
 * the lowest it advertises, under the eddy.min.api.versions policy.
 *
 * The schemas (protocol/gen) say what the codec can decode; this module
 * only raises that floor. kafka-3.9 (the default) serves every version the
 * schema has, as Kafka 3.9 does. kafka-4.0 serves from Kafka 4.0's
 * minimums (KIP-896: the 2.1 baseline) and the connection is closed on an
 * older version, as Kafka 4.0 closes it. Kafka 4.0 still advertises
 * Produce from v0 (KAFKA-18659: librdkafka up to 2.11 gates compression on
 * Produce v0 being listed), so advertised and served minimums may differ.
 * Pure: no broker state, no I/O.
 */
#ifndef EDDY_BROKER_API_FLOOR_H
#define EDDY_BROKER_API_FLOOR_H

#include "protocol/codec.h"

typedef enum {
    BROKER_API_FLOOR_KAFKA_3_9 = 0,
    BROKER_API_FLOOR_KAFKA_4_0 = 1,
} broker_api_floor_t;

/* "kafka-3.9" or "kafka-4.0" as a policy; -1 for anything else. */
int broker_api_floor_parse(const char *value);
/* The lowest version of api answered under policy. */
int16_t broker_api_min_served(const proto_api_desc_t *api, int policy);
/* The lowest version of api put in ApiVersions under policy. */
int16_t broker_api_min_advertised(const proto_api_desc_t *api, int policy);

#endif
