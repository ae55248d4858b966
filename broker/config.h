/*
 * broker/config: the broker's settings, by Kafka's own property names.
 *
 * The rows of broker/config_table (generated from broker/configs.def) list
 * every property with its type, default, validator and place in
 * broker_config_t; one generic setter checks a value against its row and
 * parses it into that place, or, for a property eddy only accepts, keeps it
 * as text in `extra` so DescribeConfigs can show it. Values come, lowest
 * precedence first, from the defaults, a `key=value` file,
 * `EDDY_<KEY_WITH_UNDERSCORES>` environment variables, then `--key value`
 * command-line flags. The config owns its strings.
 */
#ifndef EDDY_BROKER_CONFIG_H
#define EDDY_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key=value pair: a topic override, a dynamic broker config, a property kept as text. */
typedef struct broker_topic_config_s {
    char *key;
    char *value;
} broker_topic_config_t;

typedef struct broker_config_s {
    char *listeners;            /* PLAINTEXT://host:port */
    char *advertised_listeners; /* empty: same as listeners */
    char *log_dirs;
    int32_t node_id;
    int32_t num_partitions;
    int32_t default_replication_factor;
    bool auto_create_topics_enable;
    int32_t message_max_bytes;
    int32_t socket_request_max_bytes;
    int64_t log_segment_bytes;
    int64_t log_roll_ms;
    int32_t log_index_interval_bytes;
    int32_t log_index_size_max_bytes;
    int32_t fetch_max_bytes;
    char *log_message_timestamp_type; /* CreateTime or LogAppendTime */
    int32_t max_connections;
    char *log_level; /* eddy's own: error, warn, info, debug */
    bool delete_topic_enable;
    /* Storage: Kafka's flush and retention properties. */
    int64_t log_flush_interval_messages; /* 1 = durable: acks wait for the fsync */
    int64_t log_flush_interval_ms;
    int64_t log_flush_scheduler_interval_ms;
    int64_t log_flush_offset_checkpoint_interval_ms;
    int64_t log_retention_hours;
    int64_t log_retention_minutes; /* -2: not set */
    int64_t log_retention_ms;      /* -2: not set; -1 unlimited */
    int64_t log_retention_bytes;
    int64_t log_retention_check_interval_ms;
    /* Compaction (log cleaner). */
    bool log_cleaner_enable;
    int64_t log_cleaner_backoff_ms;
    int64_t log_cleaner_delete_retention_ms;
    double log_cleaner_min_cleanable_ratio;
    int64_t log_cleaner_min_compaction_lag_ms;
    int64_t log_cleaner_max_compaction_lag_ms;
    char *log_cleanup_policy;
    int64_t producer_id_expiration_ms;
    int64_t producer_id_expiration_check_interval_ms;
    /* Test hook: this fraction of Produce answers is dropped with the connection (after the append). */
    double test_drop_produce_response_rate;
    int64_t test_metadata_delay_ms; /* test hook: metadata changes finish this late (broker/mstore_delay.c) */
    /* Transactions. */
    int32_t transaction_state_log_num_partitions;
    int64_t transaction_state_log_segment_bytes;
    int64_t transaction_max_timeout_ms;
    int64_t transactional_id_expiration_ms;
    /* Consumer groups. */
    int32_t offsets_topic_num_partitions;
    int64_t offsets_topic_segment_bytes;
    int64_t group_initial_rebalance_delay_ms;
    int64_t group_min_session_timeout_ms;
    int64_t group_max_session_timeout_ms;
    int32_t group_max_size;
    int64_t offsets_retention_minutes;
    int64_t offsets_retention_check_interval_ms;
    /* Connection limits (broker/conn.c). */
    int64_t queued_max_request_bytes; /* all input buffers together; -1: no bound */
    int64_t connections_max_idle_ms;
    int32_t max_connections_per_ip;
    char *max_connections_per_ip_overrides; /* "host:count,host:count" */
    bool fetch_zero_copy;                   /* eddy.fetch.zero.copy: Fetch records go out with sendfile */
    int32_t max_parked_fetches;             /* eddy's own: beyond it a Fetch answers at once */
    int64_t queued_max_response_bytes;      /* eddy's own: all unread responses together; -1: no bound */
    char *min_api_versions;                 /* eddy.min.api.versions: kafka-3.9 or kafka-4.0 */
    /* Cluster mode (issue 12): membership, replication, internal topics. */
    char *cluster_etcd_endpoints; /* empty: single broker, no etcd */
    char *cluster_etcd_prefix;
    char *broker_rack; /* NULL: none */
    int32_t broker_session_timeout_ms;
    int32_t broker_heartbeat_interval_ms;
    int32_t offsets_topic_replication_factor; /* short in Kafka */
    int32_t transaction_state_log_replication_factor;
    int32_t transaction_state_log_min_isr;
    int64_t replica_lag_time_max_ms;
    int32_t replica_fetch_backoff_ms;
    int32_t replica_fetch_max_bytes;
    int32_t replica_fetch_min_bytes;
    int32_t replica_fetch_response_max_bytes;
    int32_t replica_fetch_wait_max_ms;
    int32_t replica_socket_timeout_ms;

    /* Properties without a field above (accepted only), as set: name -> text. */
    broker_topic_config_t *extra;
    int nextra;

    /* Derived from listeners / advertised.listeners by broker_config_finish. */
    char listen_host[256];
    int listen_port;
    char advertised_host[256];
    int advertised_port;
    int api_floor; /* broker_api_floor_t parsed from min_api_versions */
} broker_config_t;

void broker_config_defaults(broker_config_t *cfg);
void broker_config_free(broker_config_t *cfg);
/* Sets one property by name; 0, or -1 with a message in err (size errlen) that starts
 * "unknown property" when no row has that name. */
int broker_config_set(broker_config_t *cfg, const char *key, const char *value, char *err, size_t errlen);
int broker_config_load_file(broker_config_t *cfg, const char *path, char *err, size_t errlen);
int broker_config_load_env(broker_config_t *cfg, char *const *envp, char *err, size_t errlen);
/*
 * Parses argv: an optional properties file as the first argument or after
 * --config, then --key value pairs (also --key=value). Applies file, env,
 * flags in that order, then broker_config_finish.
 */
int broker_config_from_args(broker_config_t *cfg, int argc, char **argv, char *const *envp, char *err, size_t errlen);
enum { BROKER_CLEANUP_DELETE = 1, BROKER_CLEANUP_COMPACT = 2 };
/* cleanup.policy as flags (BROKER_CLEANUP_*), or -1 when it is not a policy Kafka knows. */
int broker_config_cleanup_policy(const char *value);
/* log.retention.ms, else .minutes, else .hours, as Kafka resolves them (-1: unlimited). */
int64_t broker_config_retention_ms(const broker_config_t *cfg);
/* Validates and derives the listener fields. */
int broker_config_finish(broker_config_t *cfg, char *err, size_t errlen);
/* The text of a property kept in extra (set statically), or NULL. */
const char *broker_config_extra(const broker_config_t *cfg, const char *name);

#endif
