#include "broker/api_floor.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "protocol/gen/messages.h"

/*
 * Kafka 4.0's minimum versions where they are above 0, read from its
 * *Request.json files ("Version N is the new baseline"). JoinGroup is not
 * listed: 4.0.0 raised it to v2, and 4.0.1 put v0-1 back for librdkafka's
 * GSSAPI check (KAFKA-19444); eddy follows the current 4.0 line. Metadata,
 * FindCoordinator and DeleteGroups kept v0 in 4.0. APIs eddy does not
 * implement (ACLs, SaslHandshake, ...) are left out.
 */
typedef struct {
    int16_t key;
    int16_t served;       /* Kafka 4.0's lowest version */
    bool advertise_older; /* still listed from the schema's floor (Produce only) */
} floor_t;

static const floor_t kafka_4_0[] = {
    {PROTO_API_PRODUCE, 3, true},
    {PROTO_API_FETCH, 4, false},
    {PROTO_API_LIST_OFFSETS, 1, false},
    {PROTO_API_OFFSET_COMMIT, 2, false},
    {PROTO_API_OFFSET_FETCH, 1, false},
    {PROTO_API_CREATE_TOPICS, 2, false},
    {PROTO_API_DELETE_TOPICS, 1, false},
    {PROTO_API_DESCRIBE_CONFIGS, 1, false},
    {PROTO_API_DESCRIBE_LOG_DIRS, 1, false},
    {PROTO_API_OFFSET_FOR_LEADER_EPOCH, 2, false},
};

int broker_api_floor_parse(const char *value)
{
    if (value && strcmp(value, "kafka-3.9") == 0)
        return BROKER_API_FLOOR_KAFKA_3_9;
    if (value && strcmp(value, "kafka-4.0") == 0)
        return BROKER_API_FLOOR_KAFKA_4_0;
    return -1;
}

static const floor_t *floor_of(int16_t key, int policy)
{
    if (policy != BROKER_API_FLOOR_KAFKA_4_0)
        return NULL;
    for (size_t i = 0; i < sizeof(kafka_4_0) / sizeof(kafka_4_0[0]); i++)
        if (kafka_4_0[i].key == key)
            return &kafka_4_0[i];
    return NULL;
}

int16_t broker_api_min_served(const proto_api_desc_t *api, int policy)
{
    const floor_t *f = floor_of(api->key, policy);
    return f && f->served > api->min_version ? f->served : api->min_version;
}

int16_t broker_api_min_advertised(const proto_api_desc_t *api, int policy)
{
    const floor_t *f = floor_of(api->key, policy);
    if (!f || f->advertise_older)
        return api->adv_min_version;
    return broker_api_min_served(api, policy);
}
