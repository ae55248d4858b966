/*
 * cluster/meta_records: how cluster metadata is written in etcd (prefix
 * cluster_rec_), the one place that knows the keys and the JSON values.
 *
 * Kafka's KRaft log keeps a TopicRecord per topic and a PartitionRecord
 * per partition, and an ISR change rewrites only its partition's record;
 * eddy keeps the same split so each change is a compare-and-swap on one
 * small key (its mod_revision):
 *
 *   <prefix>/topics/<name>             {"id":"<32 hex>","partitions":N,"configs":{"k":"v",...}}
 *   <prefix>/partitions/<name>/<index> {"replicas":[..],"isr":[..],"leader":L,
 *                                       "leader_epoch":E,"partition_epoch":P}
 *
 * A leader of -1 means none (offline). Decoding treats the value as
 * untrusted — anyone with access to etcd can write it — and refuses
 * anything that is not exactly this shape: unknown or duplicate fields
 * are ignored or refused as jansson reports them, numbers out of range,
 * more than CLUSTER_REC_MAX_REPLICAS replicas, an ISR member or leader that
 * is not a replica, duplicate replicas, a topic name Kafka would refuse.
 */
#ifndef EDDY_CLUSTER_META_RECORDS_H
#define EDDY_CLUSTER_META_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_REC_MAX_REPLICAS   16
#define CLUSTER_REC_MAX_PARTITIONS 100000
#define CLUSTER_REC_MAX_CONFIGS    256

typedef struct cluster_rec_config_s {
    char *key;
    char *value;
} cluster_rec_config_t;

typedef struct cluster_rec_topic_s {
    uint8_t id[16];
    int32_t nparts;
    cluster_rec_config_t *configs; /* owned after a decode */
    int nconfigs;
} cluster_rec_topic_t;

typedef struct cluster_rec_partition_s {
    int32_t replicas[CLUSTER_REC_MAX_REPLICAS];
    int nreplicas;
    int32_t isr[CLUSTER_REC_MAX_REPLICAS];
    int nisr;
    int32_t leader; /* -1: none */
    int32_t leader_epoch;
    int32_t partition_epoch;
} cluster_rec_partition_t;

/* Keys: 0, or -ENAMETOOLONG when out is too small. */
int cluster_rec_topic_key(const char *prefix, const char *topic, char *out, size_t len);
int cluster_rec_partition_key(const char *prefix, const char *topic, int32_t index, char *out, size_t len);
/* The prefix every topic's key (or every partition key of one topic, topic non-NULL) starts with. */
int cluster_rec_topics_prefix(const char *prefix, char *out, size_t len);
int cluster_rec_partitions_prefix(const char *prefix, const char *topic, char *out, size_t len);
/* Parses a topic key back to its name (copied into name, NUL-terminated): 0 or -EINVAL. */
int cluster_rec_topic_name(const char *prefix, const char *key, size_t key_len, char *name, size_t len);

/* Encodes to a heap string (the caller frees it): 0, -EINVAL (record out of bounds) or -ENOMEM. */
int cluster_rec_topic_encode(const cluster_rec_topic_t *t, char **out);
int cluster_rec_partition_encode(const cluster_rec_partition_t *p, char **out);
/* Decodes len bytes: 0, or -EINVAL for anything but a valid record. A topic's configs are the caller's
 * (cluster_rec_topic_fini). */
int cluster_rec_topic_decode(const char *json, size_t len, cluster_rec_topic_t *t);
int cluster_rec_partition_decode(const char *json, size_t len, cluster_rec_partition_t *p);
void cluster_rec_topic_fini(cluster_rec_topic_t *t);

#endif
