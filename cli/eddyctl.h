/*
 * cli/eddyctl: what eddyctl's commands share — the invocation context,
 * argument helpers, error reporting and the few requests several commands
 * make (Metadata, ListOffsets, OffsetFetch, DescribeGroups).
 *
 * Each command family (cmd_topic.c, cmd_group.c, cmd_config.c,
 * cmd_cluster.c) parses its own arguments, makes its requests through
 * cli/client and prints through cli/output. Commands return a process exit
 * code (CLI_EXIT_*); they print their own errors to stderr, results to
 * stdout. Argument errors exit at once with CLI_EXIT_USAGE.
 *
 * APIs whose schemas another part of eddy is still adding (DescribeConfigs,
 * IncrementalAlterConfigs, CreatePartitions) are compiled only when
 * protocol/gen/messages.h has them: CMake defines EDDYCTL_HAVE_<API> after
 * looking at that file.
 */
#ifndef EDDY_CLI_EDDYCTL_H
#define EDDY_CLI_EDDYCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/client.h"
#include "cli/output.h"
#include "protocol/gen/messages.h"

/* API keys by number, so that code for APIs not yet generated still reads the same. */
enum {
    CLI_API_LIST_OFFSETS = 2,
    CLI_API_METADATA = 3,
    CLI_API_OFFSET_COMMIT = 8,
    CLI_API_OFFSET_FETCH = 9,
    CLI_API_DESCRIBE_GROUPS = 15,
    CLI_API_LIST_GROUPS = 16,
    CLI_API_API_VERSIONS = 18,
    CLI_API_CREATE_TOPICS = 19,
    CLI_API_DELETE_TOPICS = 20,
    CLI_API_DESCRIBE_CONFIGS = 32,
    CLI_API_CREATE_PARTITIONS = 37,
    CLI_API_DELETE_GROUPS = 42,
    CLI_API_INCREMENTAL_ALTER_CONFIGS = 44,
};

/* DescribeConfigs / IncrementalAlterConfigs resource types. */
enum { CLI_RESOURCE_TOPIC = 2, CLI_RESOURCE_BROKER = 4 };

typedef struct cli_ctx_s {
    const char *bootstrap;
    int timeout_ms;
    bool json;
    bool verbose;
    bool connected;
    cli_conn_t conn;
} cli_ctx_t;

/* Connects on first use; prints the error and returns its exit code on failure. */
int cli_connect(cli_ctx_t *ctx);

int cli_cmd_topic(cli_ctx_t *ctx, int argc, char **argv);
int cli_cmd_group(cli_ctx_t *ctx, int argc, char **argv);
int cli_cmd_config(cli_ctx_t *ctx, int argc, char **argv);
int cli_cmd_cluster(cli_ctx_t *ctx, int argc, char **argv);

/* --- arguments --------------------------------------------------------- */

/* Prints "eddyctl: <message>" and a pointer to help; exits CLI_EXIT_USAGE. */
__attribute__((noreturn, format(printf, 1, 2))) void cli_usage_error(const char *fmt, ...);
/*
 * Matches argv[*i] against "--name VALUE" or "--name=VALUE". On a match sets
 * *value, advances *i past the value and returns true; a missing value is a
 * usage error.
 */
bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value);
/* A whole decimal int64 in [min, max] or a usage error naming what. */
int64_t cli_parse_int(const char *s, int64_t min, int64_t max, const char *what);
/* Splits "k=v" in place into key and value; a usage error without '='. */
void cli_split_kv(char *s, const char **key, const char **value);

/* --- reporting --------------------------------------------------------- */

/* Prints "eddyctl: ..." to stderr and returns CLI_EXIT_FAILED. */
__attribute__((format(printf, 1, 2))) int cli_fail(const char *fmt, ...);
/* Reports the connection's last error (a failed request); CLI_EXIT_FAILED. */
int cli_request_failed(cli_ctx_t *ctx);
/* Reports that the broker lacks an API; CLI_EXIT_FAILED. */
int cli_unsupported(cli_ctx_t *ctx, int16_t key, const char *what);
/*
 * "NAME" for a Kafka error code, "NAME: message" when the broker sent a
 * message, and a hint of what to do for the errors people meet. Static
 * storage, overwritten by the next call.
 */
const char *cli_kafka_error(int16_t code, proto_str_t message);

/*
 * The answer of a command that acts on several named things (topic delete,
 * group delete): "deleted topic NAME" per success and a failure line per
 * error, or with --json {"topics": [{"topic": NAME, "error_code": N,
 * "error": NAME or null}, ...]}.
 */
typedef struct cli_results_s {
    cli_ctx_t *ctx;
    cli_json_t js;
    const char *kind; /* "topic" */
    const char *verb; /* "delete" */
    int failed;
    int answered;
} cli_results_t;
void cli_results_begin(cli_results_t *r, cli_ctx_t *ctx, const char *list_key, const char *kind, const char *verb);
void cli_results_add(cli_results_t *r, proto_str_t name, int16_t error_code, proto_str_t message);
/* Closes the report; fails when some failed or the broker answered for fewer than asked. */
int cli_results_end(cli_results_t *r, int asked);
/* A wire string equals a C string (a null one equals nothing). */
bool cli_str_eq(proto_str_t a, const char *b);
/* Kafka's text form of a topic id (URL-safe base64, no padding), static storage. */
const char *cli_uuid_str(const proto_uuid_t *id);

/* --- shared requests ----------------------------------------------------- */

/*
 * Metadata for the named topics (ntopics < 0: all topics; 0: none, only
 * brokers). Never creates topics. 0 or CLI_EXIT_FAILED (reported).
 */
int cli_metadata(cli_ctx_t *ctx, const char *const *topics, int ntopics, proto_metadata_resp_t *resp);

/*
 * ListOffsets for partitions of one topic at one timestamp (-2 earliest, -1
 * latest, or milliseconds). offsets[i] gets the answer for parts[i], or -1
 * when the broker had none; errs[i] the partition's error code. 0 or
 * CLI_EXIT_FAILED (reported).
 */
int cli_list_offsets(cli_ctx_t *ctx, const char *topic, const int32_t *parts, int32_t nparts, int64_t timestamp,
                     int64_t *offsets, int16_t *errs);

/* One committed offset of a group. */
typedef struct cli_committed_s {
    const char *topic;
    int32_t partition;
    int64_t offset; /* -1: none */
    int16_t error_code;
} cli_committed_t;

/*
 * The group's committed offsets for every topic (topic NULL) or one. Fills
 * *out (arena memory) and *n. 0 or CLI_EXIT_FAILED (reported, including a
 * group-level Kafka error).
 */
int cli_offset_fetch(cli_ctx_t *ctx, const char *group, const char *topic, cli_committed_t **out, int32_t *n);

/* DescribeGroups for one group. 0 or CLI_EXIT_FAILED (reported). */
int cli_describe_group(cli_ctx_t *ctx, const char *group, proto_describe_groups_resp_group_t **out);

/* One config entry from DescribeConfigs (strings in arena memory). */
typedef struct cli_config_s {
    const char *name;
    const char *value; /* NULL: null (unset or sensitive) */
    int8_t source;     /* Kafka's ConfigSource numbering */
    int8_t type;       /* Kafka's ConfigType numbering; 0 unknown */
    bool read_only;
    bool sensitive;
    const char *documentation; /* NULL when not sent */
} cli_config_t;

/* True when both this eddyctl and the broker have DescribeConfigs. */
bool cli_configs_describable(cli_ctx_t *ctx);
/*
 * DescribeConfigs for one resource, all keys (nkeys 0) or the named ones.
 * 0 or CLI_EXIT_FAILED (reported, including a resource-level Kafka error).
 */
int cli_describe_configs(cli_ctx_t *ctx, int8_t resource_type, const char *resource_name, const char *const *keys,
                         int nkeys, cli_config_t **out, int32_t *n);
/*
 * IncrementalAlterConfigs for one resource: SET each set_keys[i] to
 * set_values[i], DELETE each del_keys[i]. 0 or CLI_EXIT_FAILED (reported).
 */
int cli_alter_configs(cli_ctx_t *ctx, int8_t resource_type, const char *resource_name, const char *const *set_keys,
                      const char *const *set_values, int nset, const char *const *del_keys, int ndel);
/* Kafka's names for config sources ("DYNAMIC_TOPIC_CONFIG") and types ("LONG"). */
const char *cli_config_source_name(int8_t source);
const char *cli_config_type_name(int8_t type);

#endif
