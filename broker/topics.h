/*
 * broker/topics: the topics this broker hosts and their partition logs.
 *
 * A topic is a name, a random topic id, a partition count, and its config
 * overrides; each partition is a log/ partition in <log.dirs>/<topic>-<n>.
 * The metadata lives in a store (broker/mstore.h: files for a single broker,
 * etcd for a cluster member); every change goes to the store, and the
 * registry applies what the store reports through its listener — it opens,
 * reconfigures and deletes partitions there, for its own changes and, in a
 * cluster, other brokers'. So every change completes through a callback,
 * which the file store calls before returning. The registry owns every
 * topic and its logs, and the broker's dynamic configs (defaults for topics
 * without overrides, set with AlterConfigs on the BROKER resource). Which configs exist, their types,
 * validators and precedence live in broker/topic_configs; this module stores
 * the values, computes each topic's effective settings and pushes changes
 * into the open partition logs (and their replica states) at once. Each
 * partition opened starts as the leader of its one replica
 * (broker/replicas.h). It knows nothing of connections or requests; handlers
 * map its results to Kafka error codes.
 */
#ifndef EDDY_BROKER_TOPICS_H
#define EDDY_BROKER_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/map.h"
#include "broker/checkpoint.h"
#include "broker/config.h"
#include "broker/mstore.h"
#include "broker/topic_configs.h"
#include "log/log.h"
#include "protocol/reader.h"
#include "replica/replica.h"

#define BROKER_TOPIC_NAME_MAX       249
#define BROKER_TOPIC_MAX_PARTITIONS 100000

typedef struct broker_partition_s {
    int32_t index;
    log_partition_t *log; /* NULL: offline (its files could not be opened) */
    /* Group commit (broker/storage.c): one fsync job at a time per partition. */
    bool flush_running;
    bool flush_again;          /* appends arrived while the job ran */
    int last_flush_rc;         /* of the last finished job */
    int64_t last_flush_target; /* the offset that job was to cover */
    /* Leader, HW and ISR (broker/replicas.h): on one broker leader of {node.id}, HW = LEO. */
    replica_t replica;
} broker_partition_t;

typedef struct broker_topic_s {
    char *name;
    size_t name_len;
    proto_uuid_t id;
    int32_t nparts;
    broker_partition_t *parts;
    broker_topic_config_t *configs; /* overrides only */
    int nconfigs;
    /* Effective values the hot path reads. */
    bool log_append_time;
    int32_t max_message_bytes;
    int64_t flush_messages; /* flush.messages (1: durable) */
    int64_t flush_ms;       /* flush.ms */
    int64_t retention_ms;   /* -1 unlimited */
    int64_t retention_bytes;
    bool compacted;  /* cleanup.policy includes compact */
    int compression; /* compression.type as a codec (0-4), -1: keep the producer's */
    int64_t timestamp_before_max_ms; /* message.timestamp.before.max.ms (or the deprecated difference) */
    int64_t timestamp_after_max_ms;  /* message.timestamp.after.max.ms (or the deprecated difference) */
    /* message.downconversion.enable: Fetch v0-3 get converted batches */
    bool downconversion;
    int32_t min_insync_replicas; /* min.insync.replicas: acks=all needs this many in the ISR */
    /* A deleted topic whose flush jobs are still running waits here to be freed. */
    int jobs_inflight;
    bool deleted;
} broker_topic_t;

typedef struct broker_topics_s {
    map_t by_name;
    map_t by_id; /* the 16 id bytes (borrowed from the topic) -> topic */
    const broker_config_t *cfg;
    /* Read at start only: offsets and shutdown state from the last run. */
    const broker_checkpoint_t *recovery;
    const broker_checkpoint_t *start;
    const broker_checkpoint_t *cleaner;
    bool clean_shutdown;
    broker_mstore_t *store; /* owned */
    bool loading;           /* replaying the store at start */
    /* Dynamic broker configs: this node's (DYNAMIC_BROKER_CONFIG) and the
     * cluster default (DYNAMIC_DEFAULT_BROKER_CONFIG). */
    broker_topic_config_t *dyn_node;
    int ndyn_node;
    broker_topic_config_t *dyn_default;
    int ndyn_default;
} broker_topics_t;

/*
 * Loads every topic from store (NULL: the single broker's files under
 * log.dirs) and opens its partitions; takes ownership of store.
 */
int broker_topics_init(broker_topics_t *topics, const broker_config_t *cfg, const broker_checkpoint_t *recovery,
                       const broker_checkpoint_t *start, const broker_checkpoint_t *cleaner, bool clean_shutdown,
                       broker_mstore_t *store);
/* The listener a store must report changes to (broker_topics_init installs it). */
broker_mstore_listener_t broker_topics_listener(broker_topics_t *topics);
void broker_topics_fini(broker_topics_t *topics);

broker_topic_t *broker_topics_get(broker_topics_t *topics, const char *name, size_t len);
broker_topic_t *broker_topics_get_by_id(broker_topics_t *topics, const proto_uuid_t *id);
/* Iteration: *pos = 0 first; NULL at the end. */
broker_topic_t *broker_topics_next(broker_topics_t *topics, size_t *pos);
static inline broker_partition_t *broker_topic_partition(broker_topic_t *t, int32_t index)
{
    return index >= 0 && index < t->nparts ? &t->parts[index] : NULL;
}

/* KERR_NONE or KERR_INVALID_TOPIC_EXCEPTION (Kafka's legal-name rule). */
int16_t broker_topics_check_name(const char *name, size_t len);

/*
 * How a change ended: a Kafka error code and, when it failed, a
 * human-readable reason (never NULL; valid during the call). May be called
 * before the change function returns. NULL: nobody waits.
 */
typedef void (*broker_topics_done_fn)(void *arg, int16_t err, const char *errmsg);

/*
 * Creates a topic: TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION,
 * INVALID_PARTITIONS, INVALID_CONFIG, KAFKA_STORAGE_ERROR (the store could
 * not write), REQUEST_TIMED_OUT (the store is unreachable). With
 * validate_only nothing changes. A partition whose files cannot be created
 * is offline (its requests get KAFKA_STORAGE_ERROR); the topic exists.
 */
void broker_topics_create(broker_topics_t *topics, const char *name, size_t len, int32_t nparts,
                          const broker_topic_config_t *configs, int nconfigs, bool validate_only,
                          broker_topics_done_fn done, void *arg);
/*
 * The same without a waiter (Metadata's auto-creation, internal topics): the
 * result when the store finished before returning, else KERR_NONE (under
 * way; a later failure is logged).
 */
int16_t broker_topics_create_detached(broker_topics_t *topics, const char *name, size_t len, int32_t nparts,
                                      const broker_topic_config_t *configs, int nconfigs);
/*
 * Deletes the topic: its metadata first, then, when the store reports it,
 * its data and memory, now or, when flush jobs still hold it, when the last
 * one ends (broker_topics_destroy). t may be freed before this returns.
 */
void broker_topics_delete(broker_topics_t *topics, broker_topic_t *t, broker_topics_done_fn done, void *arg);

/* Removes a topic already taken out of the registry: its partition directories and its memory. */
void broker_topics_destroy(broker_topic_t *topic);

/* The layers a config value is resolved through (views into topics; valid until the next change). */
void broker_topics_layers(const broker_topics_t *topics, broker_cfg_layers_t *layers);
/*
 * Replaces the topic's whole set of overrides (AlterConfigs; the
 * incremental API computes the new set first). Every entry is validated
 * first (INVALID_CONFIG and the reason for the first bad one: nothing
 * changes); with validate_only nothing else happens. Otherwise the store
 * writes the new record and the new effective values reach every partition
 * log when it is applied. KAFKA_STORAGE_ERROR when the store cannot write
 * (the old overrides stay).
 */
void broker_topics_alter(broker_topics_t *topics, broker_topic_t *topic, const broker_topic_config_t *configs,
                         int nconfigs, bool validate_only, broker_topics_done_fn done, void *arg);
/*
 * The same for the broker's dynamic configs: node selects this node's set
 * (resource name = node id) rather than the cluster default (name ""). Only
 * properties that are defaults of topic configs may be set. Every topic is
 * re-resolved when the store applies it.
 */
void broker_topics_alter_broker(broker_topics_t *topics, bool node, const broker_topic_config_t *configs,
                                int nconfigs, bool validate_only, broker_topics_done_fn done, void *arg);
/*
 * CreatePartitions: grows the topic to count partitions (INVALID_PARTITIONS
 * when not larger). The store first, then the new partition logs are opened
 * (one that cannot be is offline). Topic id unchanged.
 */
void broker_topics_add_partitions(broker_topics_t *topics, broker_topic_t *topic, int32_t count, bool validate_only,
                                  broker_topics_done_fn done, void *arg);
/* ConfigResource types of the config APIs (Kafka's ids). */
enum { BROKER_RESOURCE_TOPIC = 2, BROKER_RESOURCE_BROKER = 4 };
/*
 * Finds the resource a config request names: a TOPIC (*topic set, or
 * UNKNOWN_TOPIC_OR_PARTITION) or the BROKER, whose name must be this node's
 * id (*node = true) or "" for the cluster default (*node = false), else
 * INVALID_REQUEST; other types are INVALID_REQUEST too. errmsg says why.
 */
int16_t broker_topics_config_resource(broker_topics_t *topics, int8_t type, const char *name, size_t len,
                                      broker_topic_t **topic, bool *node, char *errmsg, size_t errlen);

#endif
