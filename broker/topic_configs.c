#include "broker/topic_configs.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocol/kafka_errors.h"

#define I64_MAX INT64_MAX
#define I32_MAX INT32_MAX
#define HOURS   3600000
#define MINUTES 60000

/* Every topic config eddy knows (Kafka 3.9's set), sorted by name. Fields: name, type, default, min, max,
 * double min, double max, allowed values, broker synonyms, their scales, honoured, documentation. */
// clang-format off
const broker_tcfg_def_t broker_tcfg_defs[] = {
    {"cleanup.policy", BROKER_CFG_LIST, "delete", 0, 0, 0, 0, "delete,compact", {"log.cleanup.policy"}, {1}, true,
     "What happens to old data: delete removes whole segments past retention; compact keeps the latest record of "
     "every key; both may be listed."},
    {"compression.gzip.level", BROKER_CFG_INT, "-1", -1, 9, 0, 0, NULL, {"compression.gzip.level"}, {1}, false,
     "Level for gzip when the broker compresses (accepted; eddy always uses the codec's default level)."},
    {"compression.lz4.level", BROKER_CFG_INT, "9", 1, 17, 0, 0, NULL, {"compression.lz4.level"}, {1}, false,
     "Level for lz4 when the broker compresses (accepted; eddy always uses the codec's default level)."},
    {"compression.type", BROKER_CFG_STRING, "producer", 0, 0, 0, 0, "uncompressed,zstd,lz4,snappy,gzip,producer",
     {"compression.type"}, {1}, true,
     "Codec of the stored batches: producer keeps each batch as it was sent; any other value makes the broker "
     "recompress batches that use a different codec."},
    {"compression.zstd.level", BROKER_CFG_INT, "3", -131072, 22, 0, 0, NULL, {"compression.zstd.level"}, {1}, false,
     "Level for zstd when the broker compresses (accepted; eddy always uses level 3)."},
    {"delete.retention.ms", BROKER_CFG_LONG, "86400000", 0, I64_MAX, 0, 0, NULL, {"log.cleaner.delete.retention.ms"},
     {1}, true, "How long a tombstone of a compacted topic survives after the cleaner first saw it."},
    {"file.delete.delay.ms", BROKER_CFG_LONG, "60000", 0, I64_MAX, 0, 0, NULL, {"log.segment.delete.delay.ms"}, {1},
     false, "Delay before a deleted segment's file is removed (eddy removes it when its last reader is done)."},
    {"flush.messages", BROKER_CFG_LONG, "9223372036854775807", 1, I64_MAX, 0, 0, NULL,
     {"log.flush.interval.messages"}, {1}, true,
     "Unflushed messages per partition that trigger an fsync; 1 makes every acknowledged write durable."},
    {"flush.ms", BROKER_CFG_LONG, "9223372036854775807", 0, I64_MAX, 0, 0, NULL, {"log.flush.interval.ms"}, {1},
     true, "Longest time written data may stay unflushed."},
    {"index.interval.bytes", BROKER_CFG_INT, "4096", 0, I32_MAX, 0, 0, NULL, {"log.index.interval.bytes"}, {1}, true,
     "Log bytes between two entries of the offset index."},
    {"local.retention.bytes", BROKER_CFG_LONG, "-2", -2, I64_MAX, 0, 0, NULL, {"log.local.retention.bytes"}, {1},
     false, "Tiered storage: local size limit (accepted; eddy has no tiered storage)."},
    {"local.retention.ms", BROKER_CFG_LONG, "-2", -2, I64_MAX, 0, 0, NULL, {"log.local.retention.ms"}, {1}, false,
     "Tiered storage: local time limit (accepted; eddy has no tiered storage)."},
    {"max.compaction.lag.ms", BROKER_CFG_LONG, "9223372036854775807", 1, I64_MAX, 0, 0, NULL,
     {"log.cleaner.max.compaction.lag.ms"}, {1}, true,
     "Dirty data older than this is compacted even below the dirty ratio."},
    {"max.message.bytes", BROKER_CFG_INT, "1048588", 0, I32_MAX, 0, 0, NULL, {"message.max.bytes"}, {1}, true,
     "Largest record batch a producer may send to this topic."},
    {"message.downconversion.enable", BROKER_CFG_BOOLEAN, "true", 0, 0, 0, 0, NULL,
     {"log.message.downconversion.enable"}, {1}, true,
     "Whether Fetch v0-3 (old consumers) get the stored batches down-converted to message sets of magic 0/1; "
     "false answers them UNSUPPORTED_VERSION."},
    {"message.format.version", BROKER_CFG_STRING, "3.0-IV1", 0, 0, 0, 0, NULL, {"log.message.format.version"}, {1},
     false, "Deprecated message format version (accepted; eddy always stores v2 batches)."},
    {"message.timestamp.after.max.ms", BROKER_CFG_LONG, "9223372036854775807", 0, I64_MAX, 0, 0, NULL,
     {"log.message.timestamp.after.max.ms"}, {1}, false,
     "How far in the future a CreateTime timestamp may be (accepted, not enforced)."},
    {"message.timestamp.before.max.ms", BROKER_CFG_LONG, "9223372036854775807", 0, I64_MAX, 0, 0, NULL,
     {"log.message.timestamp.before.max.ms"}, {1}, false,
     "How far in the past a CreateTime timestamp may be (accepted, not enforced)."},
    {"message.timestamp.difference.max.ms", BROKER_CFG_LONG, "9223372036854775807", 0, I64_MAX, 0, 0, NULL,
     {"log.message.timestamp.difference.max.ms"}, {1}, false,
     "Deprecated bound on timestamp skew (accepted, not enforced)."},
    {"message.timestamp.type", BROKER_CFG_STRING, "CreateTime", 0, 0, 0, 0, "CreateTime,LogAppendTime",
     {"log.message.timestamp.type"}, {1}, true,
     "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock."},
    {"min.cleanable.dirty.ratio", BROKER_CFG_DOUBLE, "0.5", 0, 0, 0.0, 1.0, NULL,
     {"log.cleaner.min.cleanable.ratio"}, {1}, true,
     "Share of not-yet-compacted bytes that makes the cleaner compact a partition."},
    {"min.compaction.lag.ms", BROKER_CFG_LONG, "0", 0, I64_MAX, 0, 0, NULL, {"log.cleaner.min.compaction.lag.ms"},
     {1}, true, "Records younger than this are not compacted."},
    {"min.insync.replicas", BROKER_CFG_INT, "1", 1, I32_MAX, 0, 0, NULL, {"min.insync.replicas"}, {1}, false,
     "Replicas that must have a write for acks=all (accepted; one broker is always the whole ISR)."},
    {"preallocate", BROKER_CFG_BOOLEAN, "false", 0, 0, 0, 0, NULL, {"log.preallocate"}, {1}, false,
     "Preallocate segment files (accepted; eddy grows files as it writes)."},
    {"remote.storage.enable", BROKER_CFG_BOOLEAN, "false", 0, 0, 0, 0, NULL, {NULL}, {1}, false,
     "Tiered storage switch (accepted; eddy has no tiered storage)."},
    {"retention.bytes", BROKER_CFG_LONG, "-1", INT64_MIN, I64_MAX, 0, 0, NULL, {"log.retention.bytes"}, {1}, true,
     "Largest size of a partition before its oldest segments are deleted; negative: no limit."},
    {"retention.ms", BROKER_CFG_LONG, "604800000", -1, I64_MAX, 0, 0, NULL,
     {"log.retention.ms", "log.retention.minutes", "log.retention.hours"}, {1, MINUTES, HOURS}, true,
     "Age after which whole segments are deleted; -1 keeps data forever."},
    {"segment.bytes", BROKER_CFG_INT, "1073741824", 14, I32_MAX, 0, 0, NULL, {"log.segment.bytes"}, {1}, true,
     "Size of a segment file before a new one is started."},
    {"segment.index.bytes", BROKER_CFG_INT, "10485760", 12, I32_MAX, 0, 0, NULL, {"log.index.size.max.bytes"}, {1},
     true, "Size an index may reach before the segment rolls."},
    {"segment.jitter.ms", BROKER_CFG_LONG, "0", 0, I64_MAX, 0, 0, NULL, {"log.roll.jitter.ms"}, {1}, false,
     "Random jitter subtracted from segment.ms (accepted, not applied)."},
    {"segment.ms", BROKER_CFG_LONG, "604800000", 1, I64_MAX, 0, 0, NULL, {"log.roll.ms"}, {1}, true,
     "Age of a segment after which a new one is started, so retention can delete old data."},
    {"unclean.leader.election.enable", BROKER_CFG_BOOLEAN, "false", 0, 0, 0, 0, NULL,
     {"unclean.leader.election.enable"}, {1}, false,
     "Whether an out-of-sync replica may become leader (accepted; one broker has no election)."},
};
// clang-format on
const size_t broker_tcfg_count = sizeof(broker_tcfg_defs) / sizeof(broker_tcfg_defs[0]);

/* How a broker property is stored in broker_config_t. */
enum { K_NONE = 0, K_STR, K_I32, K_I64, K_BOOL, K_DOUBLE };

#define B(name, type, kind, field, def, doc)                                                                           \
    {                                                                                                                  \
        name, type, kind, offsetof(broker_config_t, field), def, doc                                                   \
    }
#define D(name, type, def, doc)                                                                                        \
    {                                                                                                                  \
        name, type, K_NONE, 0, def, doc                                                                                \
    }

static const broker_bcfg_def_t bcfg_defs[] = {
    B("listeners", BROKER_CFG_STRING, K_STR, listeners, "PLAINTEXT://127.0.0.1:9092", "Where the broker listens."),
    B("advertised.listeners", BROKER_CFG_STRING, K_STR, advertised_listeners, "",
      "Address clients are told to connect to; empty: the listener's."),
    B("log.dirs", BROKER_CFG_STRING, K_STR, log_dirs, "./data", "The data directory."),
    B("node.id", BROKER_CFG_INT, K_I32, node_id, "1", "This broker's id."),
    B("broker.id", BROKER_CFG_INT, K_I32, node_id, "1", "This broker's id (older name of node.id)."),
    B("num.partitions", BROKER_CFG_INT, K_I32, num_partitions, "1", "Partitions of topics created without a count."),
    B("default.replication.factor", BROKER_CFG_SHORT, K_I32, default_replication_factor, "1",
      "Replication factor of topics created without one."),
    B("auto.create.topics.enable", BROKER_CFG_BOOLEAN, K_BOOL, auto_create_topics_enable, "true",
      "Create unknown topics when a Metadata request allows it."),
    B("message.max.bytes", BROKER_CFG_INT, K_I32, message_max_bytes, "1048588",
      "Largest record batch accepted; default of max.message.bytes."),
    B("socket.request.max.bytes", BROKER_CFG_INT, K_I32, socket_request_max_bytes, "104857600",
      "Largest request frame."),
    B("log.segment.bytes", BROKER_CFG_INT, K_I64, log_segment_bytes, "1073741824", "Default of segment.bytes."),
    B("log.roll.ms", BROKER_CFG_LONG, K_I64, log_roll_ms, "604800000", "Default of segment.ms."),
    B("log.index.interval.bytes", BROKER_CFG_INT, K_I32, log_index_interval_bytes, "4096",
      "Default of index.interval.bytes."),
    B("log.index.size.max.bytes", BROKER_CFG_INT, K_I32, log_index_size_max_bytes, "10485760",
      "Default of segment.index.bytes."),
    B("fetch.max.bytes", BROKER_CFG_INT, K_I32, fetch_max_bytes, "57671680", "Cap on one Fetch response."),
    B("log.message.timestamp.type", BROKER_CFG_STRING, K_STR, log_message_timestamp_type, "CreateTime",
      "Default of message.timestamp.type."),
    B("max.connections", BROKER_CFG_INT, K_I32, max_connections, "10000", "Most client connections at once."),
    B("log.level", BROKER_CFG_STRING, K_STR, log_level, "info", "eddy's log verbosity."),
    B("delete.topic.enable", BROKER_CFG_BOOLEAN, K_BOOL, delete_topic_enable, "true", "Allow DeleteTopics."),
    B("log.flush.interval.messages", BROKER_CFG_LONG, K_I64, log_flush_interval_messages, "9223372036854775807",
      "Default of flush.messages."),
    B("log.flush.interval.ms", BROKER_CFG_LONG, K_I64, log_flush_interval_ms, "9223372036854775807",
      "Default of flush.ms."),
    B("log.flush.scheduler.interval.ms", BROKER_CFG_LONG, K_I64, log_flush_scheduler_interval_ms, "1000",
      "How often the flush.ms check runs."),
    B("log.flush.offset.checkpoint.interval.ms", BROKER_CFG_INT, K_I64, log_flush_offset_checkpoint_interval_ms,
      "60000", "How often recovery points are checkpointed."),
    B("log.retention.hours", BROKER_CFG_INT, K_I64, log_retention_hours, "168",
      "Default of retention.ms, in hours (lowest precedence)."),
    B("log.retention.minutes", BROKER_CFG_INT, K_I64, log_retention_minutes, "-2",
      "Default of retention.ms, in minutes; -2: not set."),
    B("log.retention.ms", BROKER_CFG_LONG, K_I64, log_retention_ms, "-2",
      "Default of retention.ms (highest precedence); -2: not set."),
    B("log.retention.bytes", BROKER_CFG_LONG, K_I64, log_retention_bytes, "-1", "Default of retention.bytes."),
    B("log.retention.check.interval.ms", BROKER_CFG_LONG, K_I64, log_retention_check_interval_ms, "300000",
      "How often retention runs."),
    B("log.cleaner.enable", BROKER_CFG_BOOLEAN, K_BOOL, log_cleaner_enable, "true", "Run the log cleaner."),
    B("log.cleaner.backoff.ms", BROKER_CFG_LONG, K_I64, log_cleaner_backoff_ms, "15000",
      "Pause between cleaner checks."),
    B("log.cleaner.delete.retention.ms", BROKER_CFG_LONG, K_I64, log_cleaner_delete_retention_ms, "86400000",
      "Default of delete.retention.ms."),
    B("log.cleaner.min.cleanable.ratio", BROKER_CFG_DOUBLE, K_DOUBLE, log_cleaner_min_cleanable_ratio, "0.5",
      "Default of min.cleanable.dirty.ratio."),
    B("log.cleaner.min.compaction.lag.ms", BROKER_CFG_LONG, K_I64, log_cleaner_min_compaction_lag_ms, "0",
      "Default of min.compaction.lag.ms."),
    B("log.cleaner.max.compaction.lag.ms", BROKER_CFG_LONG, K_I64, log_cleaner_max_compaction_lag_ms,
      "9223372036854775807", "Default of max.compaction.lag.ms."),
    B("log.cleanup.policy", BROKER_CFG_LIST, K_STR, log_cleanup_policy, "delete", "Default of cleanup.policy."),
    B("producer.id.expiration.ms", BROKER_CFG_INT, K_I64, producer_id_expiration_ms, "86400000",
      "Idle time after which a producer's idempotence state is dropped."),
    B("producer.id.expiration.check.interval.ms", BROKER_CFG_INT, K_I64, producer_id_expiration_check_interval_ms,
      "600000", "How often idle producers are looked for."),
    B("transaction.state.log.num.partitions", BROKER_CFG_INT, K_I32, transaction_state_log_num_partitions, "50",
      "Partitions of __transaction_state."),
    B("transaction.state.log.segment.bytes", BROKER_CFG_INT, K_I64, transaction_state_log_segment_bytes, "104857600",
      "Segment size of __transaction_state."),
    B("transaction.max.timeout.ms", BROKER_CFG_INT, K_I64, transaction_max_timeout_ms, "900000",
      "Longest transaction timeout a producer may ask for."),
    B("transactional.id.expiration.ms", BROKER_CFG_INT, K_I64, transactional_id_expiration_ms, "604800000",
      "Idle time after which a transactional id is forgotten."),
    B("offsets.topic.num.partitions", BROKER_CFG_INT, K_I32, offsets_topic_num_partitions, "50",
      "Partitions of __consumer_offsets."),
    B("offsets.topic.segment.bytes", BROKER_CFG_INT, K_I64, offsets_topic_segment_bytes, "104857600",
      "Segment size of __consumer_offsets."),
    B("group.initial.rebalance.delay.ms", BROKER_CFG_INT, K_I64, group_initial_rebalance_delay_ms, "3000",
      "Wait for more members before the first rebalance of an empty group."),
    B("group.min.session.timeout.ms", BROKER_CFG_INT, K_I64, group_min_session_timeout_ms, "6000",
      "Shortest consumer session timeout allowed."),
    B("group.max.session.timeout.ms", BROKER_CFG_INT, K_I64, group_max_session_timeout_ms, "1800000",
      "Longest consumer session timeout allowed."),
    B("group.max.size", BROKER_CFG_INT, K_I32, group_max_size, "2147483647", "Most members of one group."),
    B("offsets.retention.minutes", BROKER_CFG_INT, K_I64, offsets_retention_minutes, "10080",
      "Committed offsets of empty groups expire after this."),
    B("offsets.retention.check.interval.ms", BROKER_CFG_LONG, K_I64, offsets_retention_check_interval_ms, "600000",
      "How often expired offsets are looked for."),
    /* Topic defaults without a static property in eddy: settable at run time only. */
    D("compression.type", BROKER_CFG_STRING, "producer", "Default of the topic config compression.type."),
    D("compression.gzip.level", BROKER_CFG_INT, "-1", "Default of compression.gzip.level (accepted, ignored)."),
    D("compression.lz4.level", BROKER_CFG_INT, "9", "Default of compression.lz4.level (accepted, ignored)."),
    D("compression.zstd.level", BROKER_CFG_INT, "3", "Default of compression.zstd.level (accepted, ignored)."),
    D("log.segment.delete.delay.ms", BROKER_CFG_LONG, "60000", "Default of file.delete.delay.ms (ignored)."),
    D("log.local.retention.bytes", BROKER_CFG_LONG, "-2", "Default of local.retention.bytes (ignored)."),
    D("log.local.retention.ms", BROKER_CFG_LONG, "-2", "Default of local.retention.ms (ignored)."),
    D("log.message.downconversion.enable", BROKER_CFG_BOOLEAN, "true",
      "Default of message.downconversion.enable."),
    D("log.message.format.version", BROKER_CFG_STRING, "3.0-IV1", "Default of message.format.version (ignored)."),
    D("log.message.timestamp.after.max.ms", BROKER_CFG_LONG, "9223372036854775807",
      "Default of message.timestamp.after.max.ms (ignored)."),
    D("log.message.timestamp.before.max.ms", BROKER_CFG_LONG, "9223372036854775807",
      "Default of message.timestamp.before.max.ms (ignored)."),
    D("log.message.timestamp.difference.max.ms", BROKER_CFG_LONG, "9223372036854775807",
      "Default of message.timestamp.difference.max.ms (ignored)."),
    D("min.insync.replicas", BROKER_CFG_INT, "1", "Default of min.insync.replicas (ignored on one broker)."),
    D("log.preallocate", BROKER_CFG_BOOLEAN, "false", "Default of preallocate (ignored)."),
    D("log.roll.jitter.ms", BROKER_CFG_LONG, "0", "Default of segment.jitter.ms (ignored)."),
    D("unclean.leader.election.enable", BROKER_CFG_BOOLEAN, "false",
      "Default of unclean.leader.election.enable (ignored on one broker)."),
};
#define BCFG_COUNT (sizeof(bcfg_defs) / sizeof(bcfg_defs[0]))

const broker_tcfg_def_t *broker_tcfg_find(const char *name)
{
    for (size_t i = 0; i < broker_tcfg_count; i++)
        if (strcmp(broker_tcfg_defs[i].name, name) == 0)
            return &broker_tcfg_defs[i];
    return NULL;
}

size_t broker_bcfg_count(void)
{
    return BCFG_COUNT;
}

const broker_bcfg_def_t *broker_bcfg_at(size_t i)
{
    return i < BCFG_COUNT ? &bcfg_defs[i] : NULL;
}

const broker_bcfg_def_t *broker_bcfg_find(const char *name)
{
    for (size_t i = 0; i < BCFG_COUNT; i++)
        if (strcmp(bcfg_defs[i].name, name) == 0)
            return &bcfg_defs[i];
    return NULL;
}

const broker_tcfg_def_t *broker_bcfg_dynamic_topic_def(const char *name)
{
    for (size_t i = 0; i < broker_tcfg_count; i++)
        if (broker_tcfg_defs[i].broker[0] && strcmp(broker_tcfg_defs[i].broker[0], name) == 0)
            return &broker_tcfg_defs[i];
    return NULL;
}

bool broker_bcfg_static(const broker_config_t *cfg, const broker_bcfg_def_t *def, char *out, size_t len)
{
    const void *slot = (const char *)cfg + def->offset;
    switch (def->kind) {
    case K_STR: {
        const char *s = *(char *const *)slot;
        snprintf(out, len, "%s", s ? s : "");
        break;
    }
    case K_I32: snprintf(out, len, "%d", *(const int32_t *)slot); break;
    case K_I64: snprintf(out, len, "%lld", (long long)*(const int64_t *)slot); break;
    case K_BOOL: snprintf(out, len, "%s", *(const bool *)slot ? "true" : "false"); break;
    case K_DOUBLE: {
        double v = *(const double *)slot;
        char *end;
        /* Set when it differs from the default's value, whatever its spelling. */
        snprintf(out, len, "%g", v);
        return v != strtod(def->default_value, &end);
    }
    default: snprintf(out, len, "%s", def->default_value); return false;
    }
    return strcmp(out, def->default_value) != 0;
}

const char *broker_cfg_pairs_get(const broker_topic_config_t *pairs, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(pairs[i].key, key) == 0)
            return pairs[i].value;
    return NULL;
}

static int64_t scaled(int64_t v, int64_t scale)
{
    if (scale == 1)
        return v;
    if (v < 0)
        return -1;
    return v > INT64_MAX / scale ? INT64_MAX : v * scale;
}

static int add_syn(broker_cfg_synonym_t *out, int n, int max, const char *name, const char *value,
                   broker_cfg_source_t src, int64_t scale)
{
    if (n >= max)
        return n;
    out[n].name = name;
    snprintf(out[n].value, sizeof(out[n].value), "%s", value);
    out[n].source = src;
    out[n].scale = scale;
    return n + 1;
}

int broker_tcfg_synonyms(const broker_cfg_layers_t *layers, const broker_topic_config_t *overrides, int noverrides,
                         const broker_tcfg_def_t *def, broker_cfg_synonym_t *out, int max)
{
    int n = 0;
    const char *v = overrides ? broker_cfg_pairs_get(overrides, noverrides, def->name) : NULL;
    if (v)
        n = add_syn(out, n, max, def->name, v, BROKER_CFG_SRC_TOPIC, 1);
    const broker_bcfg_def_t *last = NULL;
    int64_t last_scale = 1;
    char text[BROKER_CFG_VALUE_MAX];
    for (int i = 0; i < BROKER_CFG_MAX_SYNONYMS && def->broker[i]; i++) {
        const char *b = def->broker[i];
        if ((v = broker_cfg_pairs_get(layers->dyn_node, layers->ndyn_node, b)))
            n = add_syn(out, n, max, b, v, BROKER_CFG_SRC_DYNAMIC_BROKER, def->scale[i]);
        if ((v = broker_cfg_pairs_get(layers->dyn_default, layers->ndyn_default, b)))
            n = add_syn(out, n, max, b, v, BROKER_CFG_SRC_DYNAMIC_DEFAULT, def->scale[i]);
        const broker_bcfg_def_t *bd = broker_bcfg_find(b);
        if (bd && bd->kind != K_NONE) {
            if (layers->cfg && broker_bcfg_static(layers->cfg, bd, text, sizeof(text)))
                n = add_syn(out, n, max, b, text, BROKER_CFG_SRC_STATIC, def->scale[i]);
            last = bd;
            last_scale = def->scale[i];
        }
    }
    if (last)
        n = add_syn(out, n, max, last->name, last->default_value, BROKER_CFG_SRC_DEFAULT, last_scale);
    else
        n = add_syn(out, n, max, def->broker[0] ? def->broker[0] : def->name, def->default_value,
                    BROKER_CFG_SRC_DEFAULT, 1);
    return n;
}

void broker_tcfg_value(const broker_cfg_layers_t *layers, const broker_topic_config_t *overrides, int noverrides,
                       const broker_tcfg_def_t *def, char *out, size_t len, broker_cfg_source_t *source)
{
    broker_cfg_synonym_t syn[1];
    broker_tcfg_synonyms(layers, overrides, noverrides, def, syn, 1);
    if (source)
        *source = syn[0].source;
    if (syn[0].scale != 1) {
        char *end;
        errno = 0;
        long long v = strtoll(syn[0].value, &end, 10);
        if (!errno && end != syn[0].value && !*end) {
            snprintf(out, len, "%lld", (long long)scaled(v, syn[0].scale));
            return;
        }
    }
    snprintf(out, len, "%s", syn[0].value);
}

int broker_bcfg_synonyms(const broker_cfg_layers_t *layers, const broker_bcfg_def_t *def, broker_cfg_synonym_t *out,
                         int max)
{
    int n = 0;
    const char *v;
    char text[BROKER_CFG_VALUE_MAX];
    if ((v = broker_cfg_pairs_get(layers->dyn_node, layers->ndyn_node, def->name)))
        n = add_syn(out, n, max, def->name, v, BROKER_CFG_SRC_DYNAMIC_BROKER, 1);
    if ((v = broker_cfg_pairs_get(layers->dyn_default, layers->ndyn_default, def->name)))
        n = add_syn(out, n, max, def->name, v, BROKER_CFG_SRC_DYNAMIC_DEFAULT, 1);
    if (def->kind != K_NONE && layers->cfg && broker_bcfg_static(layers->cfg, def, text, sizeof(text)))
        n = add_syn(out, n, max, def->name, text, BROKER_CFG_SRC_STATIC, 1);
    return add_syn(out, n, max, def->name, def->default_value, BROKER_CFG_SRC_DEFAULT, 1);
}

/* ---- validation -------------------------------------------------------- */

static int16_t invalid(char *errmsg, size_t errlen, const char *name, const char *value, const char *why)
{
    snprintf(errmsg, errlen, "Invalid value %s for configuration %s: %s", value, name, why);
    return KERR_INVALID_CONFIG;
}

/* 1 when item (n bytes) is one of the comma-separated words in allowed. */
static bool word_in(const char *allowed, const char *item, size_t n)
{
    const char *p = allowed;
    while (*p) {
        size_t w = strcspn(p, ",");
        if (w == n && memcmp(p, item, n) == 0)
            return true;
        p += w;
        if (*p == ',')
            p++;
    }
    return false;
}

static int16_t validate_as(const broker_tcfg_def_t *def, const char *name, const char *value, char *errmsg,
                           size_t errlen)
{
    char why[192];
    if (strlen(value) >= BROKER_CFG_VALUE_MAX)
        return invalid(errmsg, errlen, name, "(too long)", "values are limited to 255 characters");
    switch (def->type) {
    case BROKER_CFG_BOOLEAN:
        if (strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0)
            return invalid(errmsg, errlen, name, value, "expected true or false");
        return KERR_NONE;
    case BROKER_CFG_INT:
    case BROKER_CFG_SHORT:
    case BROKER_CFG_LONG: {
        const char *s = value;
        while (isspace((unsigned char)*s))
            s++;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        while (end != s && isspace((unsigned char)*end))
            end++;
        if (errno || end == s || *end) {
            snprintf(why, sizeof(why), "expected %s", def->type == BROKER_CFG_LONG ? "a 64-bit integer" : "an integer");
            return invalid(errmsg, errlen, name, value, why);
        }
        if (v < def->min || v > def->max) {
            if (def->max == I64_MAX || def->max == I32_MAX)
                snprintf(why, sizeof(why), "must be at least %lld", (long long)def->min);
            else
                snprintf(why, sizeof(why), "must be between %lld and %lld", (long long)def->min, (long long)def->max);
            return invalid(errmsg, errlen, name, value, why);
        }
        return KERR_NONE;
    }
    case BROKER_CFG_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return invalid(errmsg, errlen, name, value, "expected a number");
        if (v < def->dmin || v > def->dmax) {
            snprintf(why, sizeof(why), "must be between %g and %g", def->dmin, def->dmax);
            return invalid(errmsg, errlen, name, value, why);
        }
        return KERR_NONE;
    }
    case BROKER_CFG_STRING:
        if (def->allowed && !word_in(def->allowed, value, strlen(value))) {
            snprintf(why, sizeof(why), "must be one of %s", def->allowed);
            return invalid(errmsg, errlen, name, value, why);
        }
        if (!def->allowed && !*value)
            return invalid(errmsg, errlen, name, value, "must not be empty");
        return KERR_NONE;
    case BROKER_CFG_LIST: {
        const char *p = value;
        int items = 0;
        while (*p) {
            while (*p == ' ')
                p++;
            size_t w = strcspn(p, ",");
            size_t n = w;
            while (n && p[n - 1] == ' ')
                n--;
            if (n == 0 || (def->allowed && !word_in(def->allowed, p, n))) {
                snprintf(why, sizeof(why), "every item must be one of %s", def->allowed ? def->allowed : "(any)");
                return invalid(errmsg, errlen, name, value, why);
            }
            items++;
            p += w;
            if (*p == ',')
                p++;
        }
        if (items == 0)
            return invalid(errmsg, errlen, name, value, "the list must not be empty");
        return KERR_NONE;
    }
    default: return KERR_NONE;
    }
}

int16_t broker_tcfg_validate(const char *name, const char *value, char *errmsg, size_t errlen)
{
    const broker_tcfg_def_t *def = broker_tcfg_find(name);
    if (!def) {
        snprintf(errmsg, errlen, "Unknown topic config name: %s", name);
        return KERR_INVALID_CONFIG;
    }
    if (!value) {
        snprintf(errmsg, errlen, "Null value not supported for topic config %s", name);
        return KERR_INVALID_CONFIG;
    }
    return validate_as(def, name, value, errmsg, errlen);
}

int16_t broker_bcfg_validate_dynamic(const char *name, const char *value, char *errmsg, size_t errlen)
{
    const broker_tcfg_def_t *def = broker_bcfg_dynamic_topic_def(name);
    if (!def) {
        if (broker_bcfg_find(name))
            snprintf(errmsg, errlen, "Cannot update broker config %s at run time: set it in the properties file", name);
        else
            snprintf(errmsg, errlen, "Unknown broker config name: %s", name);
        return KERR_INVALID_CONFIG;
    }
    if (!value) {
        snprintf(errmsg, errlen, "Null value not supported for broker config %s", name);
        return KERR_INVALID_CONFIG;
    }
    return validate_as(def, name, value, errmsg, errlen);
}

/* ---- lists ------------------------------------------------------------- */

static bool list_has(const char *list, const char *item, size_t n)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, ",");
        size_t m = w;
        while (m && p[m - 1] == ' ')
            m--;
        if (m == n && memcmp(p, item, n) == 0)
            return true;
        p += w;
        if (*p == ',')
            p++;
    }
    return false;
}

/* Calls fn for every trimmed, non-empty item of list. */
static int list_each(const char *list, int (*fn)(const char *item, size_t n, void *arg), void *arg)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, ",");
        size_t m = w;
        while (m && p[m - 1] == ' ')
            m--;
        if (m && fn(p, m, arg) != 0)
            return -1;
        p += w;
        if (*p == ',')
            p++;
    }
    return 0;
}

typedef struct list_out_s {
    char *out;
    size_t len, used;
    const char *filter; /* subtract: items to drop */
} list_out_t;

static int list_put(const char *item, size_t n, void *arg)
{
    list_out_t *lo = arg;
    if (lo->filter && list_has(lo->filter, item, n))
        return 0;
    if (list_has(lo->out, item, n))
        return 0; /* no duplicates */
    size_t need = (lo->used ? 1 : 0) + n;
    if (lo->used + need + 1 > lo->len)
        return -1;
    if (lo->used)
        lo->out[lo->used++] = ',';
    memcpy(lo->out + lo->used, item, n);
    lo->used += n;
    lo->out[lo->used] = 0;
    return 0;
}

int broker_cfg_list_append(const char *list, const char *items, char *out, size_t len)
{
    if (len == 0)
        return -1;
    out[0] = 0;
    list_out_t lo = {out, len, 0, NULL};
    if (list_each(list ? list : "", list_put, &lo) != 0 || list_each(items, list_put, &lo) != 0)
        return -1;
    return 0;
}

int broker_cfg_list_subtract(const char *list, const char *items, char *out, size_t len)
{
    if (len == 0)
        return -1;
    out[0] = 0;
    list_out_t lo = {out, len, 0, items};
    return list_each(list ? list : "", list_put, &lo);
}

int broker_cfg_compression_codec(const char *value)
{
    static const char *const names[] = {"uncompressed", "gzip", "snappy", "lz4", "zstd"};
    if (strcmp(value, "producer") == 0)
        return -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    return -2;
}
