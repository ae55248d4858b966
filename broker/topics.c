#include "broker/topics.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/diag.h"
#include "broker/broker.h"
#include "broker/meta.h"

/* Topic-level configs eddy accepts at creation (Kafka's names). */
static const char *const topic_config_names[] = {
    "cleanup.policy",
    "compression.type",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "index.interval.bytes",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.type",
    "message.timestamp.difference.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.after.max.ms",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
    "message.downconversion.enable",
};

static bool topic_config_known(const char *key)
{
    for (size_t i = 0; i < sizeof(topic_config_names) / sizeof(topic_config_names[0]); i++)
        if (strcmp(key, topic_config_names[i]) == 0)
            return true;
    return false;
}

static const char *topic_config_get(const broker_topic_t *t, const char *key)
{
    for (int i = 0; i < t->nconfigs; i++)
        if (strcmp(t->configs[i].key, key) == 0)
            return t->configs[i].value;
    return NULL;
}

int16_t broker_topics_check_name(const char *name, size_t len)
{
    if (len == 0 || len > BROKER_TOPIC_NAME_MAX)
        return KERR_INVALID_TOPIC_EXCEPTION;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return KERR_INVALID_TOPIC_EXCEPTION;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return KERR_INVALID_TOPIC_EXCEPTION;
    }
    return KERR_NONE;
}

static void topic_free(broker_topic_t *t)
{
    if (!t)
        return;
    for (int32_t i = 0; i < t->nparts; i++)
        log_partition_close(t->parts[i].log);
    for (int i = 0; i < t->nconfigs; i++) {
        free(t->configs[i].key);
        free(t->configs[i].value);
    }
    free(t->configs);
    free(t->parts);
    free(t->name);
    free(t);
}

static void topic_apply_configs(broker_topics_t *topics, broker_topic_t *t)
{
    const char *ts = topic_config_get(t, "message.timestamp.type");
    if (!ts)
        ts = topics->cfg->log_message_timestamp_type;
    t->log_append_time = strcmp(ts, "LogAppendTime") == 0;
    const char *mmb = topic_config_get(t, "max.message.bytes");
    t->max_message_bytes = mmb ? (int32_t)strtol(mmb, NULL, 10) : topics->cfg->message_max_bytes;
    const char *v;
    t->flush_messages =
        (v = topic_config_get(t, "flush.messages")) ? strtoll(v, NULL, 10) : topics->cfg->log_flush_interval_messages;
    t->flush_ms = (v = topic_config_get(t, "flush.ms")) ? strtoll(v, NULL, 10) : topics->cfg->log_flush_interval_ms;
    t->retention_ms =
        (v = topic_config_get(t, "retention.ms")) ? strtoll(v, NULL, 10) : broker_config_retention_ms(topics->cfg);
    t->retention_bytes =
        (v = topic_config_get(t, "retention.bytes")) ? strtoll(v, NULL, 10) : topics->cfg->log_retention_bytes;
    v = topic_config_get(t, "cleanup.policy");
    int policy = broker_config_cleanup_policy(v ? v : topics->cfg->log_cleanup_policy);
    t->compacted = policy > 0 && (policy & BROKER_CLEANUP_COMPACT);
    if (policy > 0 && !(policy & BROKER_CLEANUP_DELETE)) {
        /* compact alone: keep the latest value of every key forever */
        t->retention_ms = -1;
        t->retention_bytes = -1;
    }
}

static void topic_log_config(broker_topics_t *topics, const broker_topic_t *t, log_config_t *lc)
{
    log_config_defaults(lc);
    lc->segment_bytes = topics->cfg->log_segment_bytes;
    lc->index_interval_bytes = topics->cfg->log_index_interval_bytes;
    lc->index_max_bytes = topics->cfg->log_index_size_max_bytes;
    lc->roll_ms = topics->cfg->log_roll_ms;
    const char *v;
    if ((v = topic_config_get(t, "segment.bytes")))
        lc->segment_bytes = strtoll(v, NULL, 10);
    if ((v = topic_config_get(t, "segment.ms")))
        lc->roll_ms = strtoll(v, NULL, 10);
    if ((v = topic_config_get(t, "index.interval.bytes")))
        lc->index_interval_bytes = (int32_t)strtol(v, NULL, 10);
    if ((v = topic_config_get(t, "segment.index.bytes")))
        lc->index_max_bytes = (int32_t)strtol(v, NULL, 10);
    lc->retention_ms = t->retention_ms;
    lc->retention_bytes = t->retention_bytes;
    const broker_config_t *cfg = topics->cfg;
    lc->compact = t->compacted;
    lc->producer_id_expiration_ms = topics->cfg->producer_id_expiration_ms;
    lc->delete_retention_ms =
        (v = topic_config_get(t, "delete.retention.ms")) ? strtoll(v, NULL, 10) : cfg->log_cleaner_delete_retention_ms;
    lc->min_cleanable_dirty_ratio =
        (v = topic_config_get(t, "min.cleanable.dirty.ratio")) ? strtod(v, NULL) : cfg->log_cleaner_min_cleanable_ratio;
    lc->min_compaction_lag_ms = (v = topic_config_get(t, "min.compaction.lag.ms"))
                                    ? strtoll(v, NULL, 10)
                                    : cfg->log_cleaner_min_compaction_lag_ms;
    lc->max_compaction_lag_ms = (v = topic_config_get(t, "max.compaction.lag.ms"))
                                    ? strtoll(v, NULL, 10)
                                    : cfg->log_cleaner_max_compaction_lag_ms;
}

static int partition_dir(const broker_topics_t *topics, const broker_topic_t *t, int32_t i, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s-%d", topics->cfg->log_dirs, t->name, i);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Opens every partition; one that fails stays offline (NULL) and the first error is returned. */
static int topic_open_logs(broker_topics_t *topics, broker_topic_t *t)
{
    log_config_t lc;
    topic_log_config(topics, t, &lc);
    int first_err = 0;
    for (int32_t i = 0; i < t->nparts; i++) {
        char dir[4096];
        t->parts[i].index = i;
        int rc = partition_dir(topics, t, i, dir, sizeof(dir));
        if (rc == 0) {
            lc.clean_shutdown = topics->clean_shutdown;
            lc.recovery_point = topics->recovery ? broker_checkpoint_get(topics->recovery, t->name, i) : -1;
            lc.log_start_offset = topics->start ? broker_checkpoint_get(topics->start, t->name, i) : -1;
            lc.cleaner_point = topics->cleaner ? broker_checkpoint_get(topics->cleaner, t->name, i) : -1;
            /* A partition missing from the recovery checkpoint is scanned whole. */
            if (lc.recovery_point < 0)
                lc.clean_shutdown = 0;
            rc = log_partition_open(dir, &lc, &t->parts[i].log);
        }
        if (rc != 0) {
            LOG_ERROR("topics", "partition %s-%d is offline: %s", t->name, i, log_strerror(rc));
            t->parts[i].log = NULL;
            if (!first_err)
                first_err = rc;
        }
    }
    return first_err;
}

static void uuid_hex(const proto_uuid_t *u, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[u->b[i] >> 4];
        out[2 * i + 1] = hex[u->b[i] & 15];
    }
    out[32] = 0;
}

static int uuid_parse(const char *s, proto_uuid_t *u)
{
    if (strlen(s) != 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        u->b[i] = (uint8_t)v;
    }
    return 0;
}

static int topic_meta_path(const broker_topics_t *topics, const char *name, char *out, size_t len)
{
    /* Named exactly like the topic: a 249-character name plus any suffix would pass NAME_MAX. */
    int n = snprintf(out, len, "%s/%s", topics->meta_dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int topic_save(broker_topics_t *topics, const broker_topic_t *t)
{
    buf_t b;
    buf_init(&b);
    char line[1024], hex[33];
    uuid_hex(&t->id, hex);
    int n = snprintf(line, sizeof(line), "# eddy topic metadata\nname=%s\ntopic.id=%s\npartitions=%d\n", t->name, hex,
                     t->nparts);
    int rc = buf_append(&b, line, (size_t)n);
    for (int i = 0; i < t->nconfigs && rc == 0; i++) {
        n = snprintf(line, sizeof(line), "config.%s=%s\n", t->configs[i].key, t->configs[i].value);
        if (n < 0 || (size_t)n >= sizeof(line))
            rc = -EINVAL;
        else
            rc = buf_append(&b, line, (size_t)n);
    }
    char path[4200];
    if (rc == 0)
        rc = topic_meta_path(topics, t->name, path, sizeof(path));
    if (rc == 0)
        rc = broker_meta_write_atomic(path, b.data, b.len);
    buf_fini(&b);
    return rc;
}

static int topic_add_config(broker_topic_t *t, const char *key, const char *value)
{
    broker_topic_config_t *c = realloc(t->configs, sizeof(*c) * (size_t)(t->nconfigs + 1));
    if (!c)
        return -ENOMEM;
    t->configs = c;
    c[t->nconfigs].key = strdup(key);
    c[t->nconfigs].value = strdup(value);
    if (!c[t->nconfigs].key || !c[t->nconfigs].value) {
        free(c[t->nconfigs].key);
        free(c[t->nconfigs].value);
        return -ENOMEM;
    }
    t->nconfigs++;
    return 0;
}

static broker_topic_t *topic_new(const char *name, size_t len, int32_t nparts)
{
    broker_topic_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->name = strndup(name, len);
    t->name_len = len;
    t->nparts = nparts;
    t->parts = calloc((size_t)nparts, sizeof(*t->parts));
    if (!t->name || !t->parts) {
        topic_free(t);
        return NULL;
    }
    return t;
}

static broker_topic_t *topic_load(broker_topics_t *topics, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[2048], name[BROKER_TOPIC_NAME_MAX + 1] = "";
    proto_uuid_t id;
    bool have_id = false;
    long nparts = -1;
    broker_topic_t tmp = {0};
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = 0;
        const char *val = eq + 1;
        if (strcmp(line, "name") == 0)
            snprintf(name, sizeof(name), "%s", val);
        else if (strcmp(line, "topic.id") == 0)
            have_id = uuid_parse(val, &id) == 0;
        else if (strcmp(line, "partitions") == 0)
            nparts = strtol(val, NULL, 10);
        else if (strncmp(line, "config.", 7) == 0)
            (void)topic_add_config(&tmp, line + 7, val);
    }
    fclose(f);
    broker_topic_t *t = NULL;
    if (broker_topics_check_name(name, strlen(name)) != KERR_NONE || !have_id || nparts < 1 || nparts > 1000000) {
        LOG_ERROR("topics", "ignoring unreadable topic metadata %s", path);
    } else if ((t = topic_new(name, strlen(name), (int32_t)nparts))) {
        t->id = id;
        t->configs = tmp.configs;
        t->nconfigs = tmp.nconfigs;
        tmp.configs = NULL;
        tmp.nconfigs = 0;
    }
    for (int i = 0; i < tmp.nconfigs; i++) {
        free(tmp.configs[i].key);
        free(tmp.configs[i].value);
    }
    free(tmp.configs);
    return t;
}

int broker_topics_init(broker_topics_t *topics, const broker_config_t *cfg, const broker_checkpoint_t *recovery,
                       const broker_checkpoint_t *start, const broker_checkpoint_t *cleaner, bool clean_shutdown)
{
    memset(topics, 0, sizeof(*topics));
    map_init(&topics->by_name);
    topics->cfg = cfg;
    topics->recovery = recovery;
    topics->start = start;
    topics->cleaner = cleaner;
    topics->clean_shutdown = clean_shutdown;
    if (snprintf(topics->meta_dir, sizeof(topics->meta_dir), "%s/eddy-meta/topics", cfg->log_dirs) >=
        (int)sizeof(topics->meta_dir))
        return -ENAMETOOLONG;
    int rc = broker_meta_mkdirs(topics->meta_dir);
    if (rc != 0)
        return rc;
    DIR *d = opendir(topics->meta_dir);
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        /* Leftover temp files start with '~', which no topic name can. */
        if (broker_topics_check_name(de->d_name, strlen(de->d_name)) != KERR_NONE)
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", topics->meta_dir, de->d_name);
        broker_topic_t *t = topic_load(topics, path);
        if (!t)
            continue;
        topic_apply_configs(topics, t);
        (void)topic_open_logs(topics, t); /* offline partitions stay NULL */
        if (map_put(&topics->by_name, t->name, t->name_len, t) != 0) {
            topic_free(t);
            closedir(d);
            return -ENOMEM;
        }
        LOG_INFO("topics", "loaded topic %s with %d partitions", t->name, t->nparts);
    }
    closedir(d);
    /* Checkpoints only matter for the logs opened at start. */
    topics->recovery = topics->start = topics->cleaner = NULL;
    topics->clean_shutdown = false;
    return 0;
}

void broker_topics_fini(broker_topics_t *topics)
{
    size_t pos = 0;
    broker_topic_t *t;
    while ((t = map_next(&topics->by_name, &pos)))
        topic_free(t);
    map_fini(&topics->by_name);
}

broker_topic_t *broker_topics_get(broker_topics_t *topics, const char *name, size_t len)
{
    return map_get(&topics->by_name, name, len);
}

broker_topic_t *broker_topics_get_by_id(broker_topics_t *topics, const proto_uuid_t *id)
{
    size_t pos = 0;
    broker_topic_t *t;
    while ((t = map_next(&topics->by_name, &pos)))
        if (memcmp(&t->id, id, sizeof(*id)) == 0)
            return t;
    return NULL;
}

broker_topic_t *broker_topics_next(broker_topics_t *topics, size_t *pos)
{
    return map_next(&topics->by_name, pos);
}

static bool valid_ratio(const char *value)
{
    char *end;
    double v = strtod(value, &end);
    return end != value && !*end && v >= 0.0 && v <= 1.0;
}

static int16_t topic_validate_config(const char *key, const char *value, char *errmsg, size_t errlen)
{
    if (!topic_config_known(key)) {
        snprintf(errmsg, errlen, "Unknown topic config name: %s", key);
        return KERR_INVALID_CONFIG;
    }
    if ((strcmp(key, "cleanup.policy") == 0 && broker_config_cleanup_policy(value) < 0) ||
        (strcmp(key, "min.cleanable.dirty.ratio") == 0 && !valid_ratio(value))) {
        snprintf(errmsg, errlen, "Invalid value %s for configuration %s", value, key);
        return KERR_INVALID_CONFIG;
    }
    if (strcmp(key, "message.timestamp.type") == 0 && strcmp(value, "CreateTime") != 0 &&
        strcmp(value, "LogAppendTime") != 0) {
        snprintf(errmsg, errlen, "Invalid value %s for configuration %s", value, key);
        return KERR_INVALID_CONFIG;
    }
    /* Numeric configs: {name, min, max}. retention.* take -1 for "unlimited". */
    static const struct {
        const char *key;
        long long min, max;
    } ranges[] = {
        {"max.message.bytes", 0, INT32_MAX},    {"segment.bytes", 1024, INT32_MAX}, {"segment.ms", 1, INT64_MAX},
        {"index.interval.bytes", 0, INT32_MAX}, {"retention.ms", -1, INT64_MAX},    {"retention.bytes", -1, INT64_MAX},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        if (strcmp(key, ranges[i].key) != 0)
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < ranges[i].min || v > ranges[i].max) {
            snprintf(errmsg, errlen, "Invalid value %s for configuration %s", value, key);
            return KERR_INVALID_CONFIG;
        }
    }
    return KERR_NONE;
}

int16_t broker_topics_create(broker_topics_t *topics, const char *name, size_t len, int32_t nparts,
                             const broker_topic_config_t *configs, int nconfigs, bool validate_only,
                             broker_topic_t **out, char *errmsg, size_t errlen)
{
    errmsg[0] = 0;
    if (out)
        *out = NULL;
    if (broker_topics_check_name(name, len) != KERR_NONE) {
        snprintf(errmsg, errlen, "Topic name is illegal");
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (broker_topics_get(topics, name, len)) {
        snprintf(errmsg, errlen, "Topic '%.*s' already exists.", (int)len, name);
        return KERR_TOPIC_ALREADY_EXISTS;
    }
    if (nparts < 1 || nparts > 100000) {
        snprintf(errmsg, errlen, "Number of partitions must be larger than 0.");
        return KERR_INVALID_PARTITIONS;
    }
    for (int i = 0; i < nconfigs; i++) {
        int16_t e = topic_validate_config(configs[i].key, configs[i].value, errmsg, errlen);
        if (e != KERR_NONE)
            return e;
    }
    if (validate_only)
        return KERR_NONE;
    broker_topic_t *t = topic_new(name, len, nparts);
    if (!t)
        return KERR_UNKNOWN_SERVER_ERROR;
    (void)broker_meta_random(t->id.b, sizeof(t->id.b));
    t->id.b[6] = (uint8_t)((t->id.b[6] & 0x0f) | 0x40); /* a version-4 UUID, never all zero */
    t->id.b[8] = (uint8_t)((t->id.b[8] & 0x3f) | 0x80);
    for (int i = 0; i < nconfigs; i++)
        if (topic_add_config(t, configs[i].key, configs[i].value) != 0) {
            topic_free(t);
            return KERR_UNKNOWN_SERVER_ERROR;
        }
    topic_apply_configs(topics, t);
    /* Metadata first: a crash after it leaves a topic with empty partitions, never orphan data. */
    int rc = topic_save(topics, t);
    if (rc == 0)
        rc = topic_open_logs(topics, t);
    if (rc == 0)
        rc = map_put(&topics->by_name, t->name, t->name_len, t);
    if (rc != 0) {
        snprintf(errmsg, errlen, "cannot create topic: %s", log_strerror(rc));
        LOG_ERROR("topics", "creating %s: %s", t->name, log_strerror(rc));
        char path[4200];
        if (topic_meta_path(topics, t->name, path, sizeof(path)) == 0)
            unlink(path);
        for (int32_t i = 0; i < t->nparts; i++)
            if (t->parts[i].log) {
                log_partition_remove(t->parts[i].log);
                t->parts[i].log = NULL;
            }
        topic_free(t);
        return KERR_KAFKA_STORAGE_ERROR;
    }
    LOG_INFO("topics", "created topic %s with %d partitions", t->name, t->nparts);
    if (out)
        *out = t;
    return KERR_NONE;
}

int16_t broker_topics_delete(broker_topics_t *topics, broker_topic_t *t)
{
    char path[4200];
    if (topic_meta_path(topics, t->name, path, sizeof(path)) == 0 && unlink(path) != 0 && errno != ENOENT) {
        LOG_ERROR("topics", "cannot delete %s: %s", path, strerror(errno));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    map_del(&topics->by_name, t->name, t->name_len);
    LOG_INFO("topics", "deleted topic %s", t->name);
    if (t->jobs_inflight > 0) {
        /* A flush job still holds this topic: broker/storage.c destroys it when the job ends. */
        t->deleted = true;
        return KERR_NONE;
    }
    broker_topics_destroy(t);
    return KERR_NONE;
}

void broker_topics_destroy(broker_topic_t *t)
{
    for (int32_t i = 0; i < t->nparts; i++) {
        if (t->parts[i].log) {
            int rc = log_partition_remove(t->parts[i].log);
            if (rc != 0)
                LOG_WARN("topics", "removing data of %s-%d: %s", t->name, i, log_strerror(rc));
            t->parts[i].log = NULL;
        }
    }
    topic_free(t);
}
