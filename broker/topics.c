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
#include "broker/replicas.h"
#include "protocol/compress.h"
#include "protocol/record_batch.h"

static void pairs_free(broker_topic_config_t *pairs, int n)
{
    for (int i = 0; i < n; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
}

/* Deep copy of n pairs; NULL (and *out untouched) when out of memory. n == 0 gives NULL too. */
static int pairs_dup(const broker_topic_config_t *src, int n, broker_topic_config_t **out)
{
    *out = NULL;
    if (n <= 0)
        return 0;
    broker_topic_config_t *c = calloc((size_t)n, sizeof(*c));
    if (!c)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        c[i].key = strdup(src[i].key);
        c[i].value = strdup(src[i].value);
        if (!c[i].key || !c[i].value) {
            pairs_free(c, n);
            return -ENOMEM;
        }
    }
    *out = c;
    return 0;
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
    pairs_free(t->configs, t->nconfigs);
    free(t->parts);
    free(t->name);
    free(t);
}

void broker_topics_layers(const broker_topics_t *topics, broker_cfg_layers_t *layers)
{
    layers->cfg = topics->cfg;
    layers->dyn_node = topics->dyn_node;
    layers->ndyn_node = topics->ndyn_node;
    layers->dyn_default = topics->dyn_default;
    layers->ndyn_default = topics->ndyn_default;
}

/* The effective value of a topic config: override, dynamic broker value, static property, default. */
static void topic_value(const broker_topics_t *topics, const broker_topic_t *t, const char *name, char *out, size_t len)
{
    broker_cfg_layers_t layers;
    broker_topics_layers(topics, &layers);
    const broker_tcfg_def_t *def = broker_tcfg_find(name);
    if (!def) { /* a name missing from the registry is a bug here, not bad input */
        out[0] = 0;
        return;
    }
    broker_tcfg_value(&layers, t->configs, t->nconfigs, def, out, len, NULL);
}

static int64_t topic_i64(const broker_topics_t *topics, const broker_topic_t *t, const char *name)
{
    char v[BROKER_CFG_VALUE_MAX];
    topic_value(topics, t, name, v, sizeof(v));
    return strtoll(v, NULL, 10);
}

static bool list_contains(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, ",");
        size_t m = w;
        while (m && p[m - 1] == ' ')
            m--;
        if (m == n && memcmp(p, word, n) == 0)
            return true;
        p += w;
        if (*p == ',')
            p++;
    }
    return false;
}

static void topic_apply_configs(broker_topics_t *topics, broker_topic_t *t)
{
    char v[BROKER_CFG_VALUE_MAX];
    topic_value(topics, t, "message.timestamp.type", v, sizeof(v));
    t->log_append_time = strcmp(v, "LogAppendTime") == 0;
    /* Kafka 3.9: before/after left at their default fall back to the deprecated difference. */
    int64_t diff = topic_i64(topics, t, "message.timestamp.difference.max.ms");
    t->timestamp_before_max_ms = topic_i64(topics, t, "message.timestamp.before.max.ms");
    t->timestamp_after_max_ms = topic_i64(topics, t, "message.timestamp.after.max.ms");
    if (t->timestamp_before_max_ms == INT64_MAX)
        t->timestamp_before_max_ms = diff;
    if (t->timestamp_after_max_ms == INT64_MAX)
        t->timestamp_after_max_ms = diff;
    int64_t mmb = topic_i64(topics, t, "max.message.bytes");
    t->max_message_bytes = mmb < 0 ? 0 : mmb > INT32_MAX ? INT32_MAX : (int32_t)mmb;
    t->flush_messages = topic_i64(topics, t, "flush.messages");
    t->flush_ms = topic_i64(topics, t, "flush.ms");
    t->retention_ms = topic_i64(topics, t, "retention.ms");
    t->retention_bytes = topic_i64(topics, t, "retention.bytes");
    topic_value(topics, t, "compression.type", v, sizeof(v));
    t->compression = broker_cfg_compression_codec(v);
    if (t->compression < -1)
        t->compression = -1;
    topic_value(topics, t, "message.downconversion.enable", v, sizeof(v));
    t->downconversion = strcasecmp(v, "false") != 0;
    int64_t isr = topic_i64(topics, t, "min.insync.replicas");
    t->min_insync_replicas = isr < 1 ? 1 : isr > INT32_MAX ? INT32_MAX : (int32_t)isr;
    topic_value(topics, t, "cleanup.policy", v, sizeof(v));
    bool del = list_contains(v, "delete");
    t->compacted = list_contains(v, "compact");
    if (t->compacted && !del) {
        /* compact alone: keep the latest value of every key forever */
        t->retention_ms = -1;
        t->retention_bytes = -1;
    }
}

static void topic_log_config(broker_topics_t *topics, const broker_topic_t *t, log_config_t *lc)
{
    log_config_defaults(lc);
    lc->segment_bytes = topic_i64(topics, t, "segment.bytes");
    lc->roll_ms = topic_i64(topics, t, "segment.ms");
    lc->index_interval_bytes = (int32_t)topic_i64(topics, t, "index.interval.bytes");
    lc->index_max_bytes = (int32_t)topic_i64(topics, t, "segment.index.bytes");
    lc->retention_ms = t->retention_ms;
    lc->retention_bytes = t->retention_bytes;
    lc->compact = t->compacted;
    lc->producer_id_expiration_ms = topics->cfg->producer_id_expiration_ms;
    lc->delete_retention_ms = topic_i64(topics, t, "delete.retention.ms");
    char v[BROKER_CFG_VALUE_MAX];
    topic_value(topics, t, "min.cleanable.dirty.ratio", v, sizeof(v));
    lc->min_cleanable_dirty_ratio = strtod(v, NULL);
    lc->min_compaction_lag_ms = topic_i64(topics, t, "min.compaction.lag.ms");
    lc->max_compaction_lag_ms = topic_i64(topics, t, "max.compaction.lag.ms");
}

/* Recomputes the topic's effective settings and hands them to its open logs (takes effect from the next append or
 * retention pass). */
static void topic_reconfigure(broker_topics_t *topics, broker_topic_t *t)
{
    topic_apply_configs(topics, t);
    log_config_t lc;
    topic_log_config(topics, t, &lc);
    for (int32_t i = 0; i < t->nparts; i++) {
        replica_set_min_insync(&t->parts[i].replica, t->min_insync_replicas);
        if (!t->parts[i].log)
            continue;
        int rc = log_partition_set_config(t->parts[i].log, &lc);
        if (rc != 0)
            LOG_WARN("topics", "%s-%d keeps its old config: %s", t->name, i, log_strerror(rc));
    }
}

static int partition_dir(const broker_topics_t *topics, const broker_topic_t *t, int32_t i, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s-%d", topics->cfg->log_dirs, t->name, i);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Opens partitions [from, to); one that fails stays offline (NULL) and the first error is returned. */
static int topic_open_range(broker_topics_t *topics, broker_topic_t *t, int32_t from, int32_t to)
{
    log_config_t lc;
    topic_log_config(topics, t, &lc);
    int first_err = 0;
    for (int32_t i = from; i < to; i++) {
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
        /* One broker: the leader of its only replica. Cluster mode takes it over from the metadata store. */
        broker_replica_init_single(&t->parts[i], topics->cfg, t->min_insync_replicas);
    }
    return first_err;
}

static int topic_open_logs(broker_topics_t *topics, broker_topic_t *t)
{
    return topic_open_range(topics, t, 0, t->nparts);
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
    for (int i = 0; i < t->nconfigs; i++)
        if (strcmp(t->configs[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v)
                return -ENOMEM;
            free(t->configs[i].value);
            t->configs[i].value = v;
            return 0;
        }
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
        else if (strncmp(line, "config.", 7) == 0) {
            char why[256];
            /* A value this version no longer accepts falls back to the default rather than hide the topic. */
            if (broker_tcfg_validate(line + 7, val, why, sizeof(why)) != KERR_NONE)
                LOG_WARN("topics", "%s: ignoring config %s=%s: %s", path, line + 7, val, why);
            else
                (void)topic_add_config(&tmp, line + 7, val);
        }
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
    pairs_free(tmp.configs, tmp.nconfigs);
    return t;
}

/*
 * broker.properties holds the dynamic broker configs, one per line:
 *   default:<property>=<value>   cluster default (resource BROKER, name "")
 *   node:<property>=<value>      this node (resource BROKER, name = node.id)
 * Lines that do not parse or no longer validate are skipped with a warning.
 */
static int dyn_add(broker_topic_config_t **pairs, int *n, const char *key, const char *value)
{
    broker_topic_t tmp = {.configs = *pairs, .nconfigs = *n};
    int rc = topic_add_config(&tmp, key, value);
    *pairs = tmp.configs;
    *n = tmp.nconfigs;
    return rc;
}

static void broker_dyn_load(broker_topics_t *topics)
{
    FILE *f = fopen(topics->broker_props_path, "r");
    if (!f)
        return; /* none yet */
    char line[2048];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !line[0])
            continue;
        bool node = strncmp(line, "node:", 5) == 0;
        bool def = strncmp(line, "default:", 8) == 0;
        if (!eq || (!node && !def)) {
            LOG_WARN("topics", "%s: ignoring line '%s'", topics->broker_props_path, line);
            continue;
        }
        *eq = 0;
        const char *key = line + (node ? 5 : 8), *val = eq + 1;
        char why[256];
        if (broker_bcfg_validate_dynamic(key, val, node, why, sizeof(why)) != KERR_NONE) {
            LOG_WARN("topics", "%s: ignoring %s: %s", topics->broker_props_path, key, why);
            continue;
        }
        if (node)
            (void)dyn_add(&topics->dyn_node, &topics->ndyn_node, key, val);
        else
            (void)dyn_add(&topics->dyn_default, &topics->ndyn_default, key, val);
    }
    fclose(f);
    if (topics->ndyn_node + topics->ndyn_default > 0)
        LOG_INFO("topics", "%d dynamic broker configs from %s", topics->ndyn_node + topics->ndyn_default,
                 topics->broker_props_path);
}

static int broker_dyn_save(const broker_topics_t *topics, const broker_topic_config_t *node, int nnode,
                           const broker_topic_config_t *def, int ndef)
{
    buf_t b;
    buf_init(&b);
    static const char head[] = "# eddy dynamic broker configs (AlterConfigs on the BROKER resource)\n";
    int rc = buf_append(&b, head, sizeof(head) - 1);
    char line[1024];
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const broker_topic_config_t *c = pass ? node : def;
        int n = pass ? nnode : ndef;
        for (int i = 0; i < n && rc == 0; i++) {
            int len = snprintf(line, sizeof(line), "%s:%s=%s\n", pass ? "node" : "default", c[i].key, c[i].value);
            rc = len < 0 || (size_t)len >= sizeof(line) ? -EINVAL : buf_append(&b, line, (size_t)len);
        }
    }
    if (rc == 0)
        rc = broker_meta_write_atomic(topics->broker_props_path, b.data, b.len);
    buf_fini(&b);
    return rc;
}

/* Makes a topic findable by name and by id; both or neither. */
static int topic_register(broker_topics_t *topics, broker_topic_t *t)
{
    int rc = map_put(&topics->by_name, t->name, t->name_len, t);
    if (rc == 0 && (rc = map_put(&topics->by_id, (const char *)t->id.b, sizeof(t->id.b), t)) != 0)
        map_del(&topics->by_name, t->name, t->name_len);
    return rc;
}

int broker_topics_init(broker_topics_t *topics, const broker_config_t *cfg, const broker_checkpoint_t *recovery,
                       const broker_checkpoint_t *start, const broker_checkpoint_t *cleaner, bool clean_shutdown)
{
    memset(topics, 0, sizeof(*topics));
    map_init(&topics->by_name);
    map_init(&topics->by_id);
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
    if (snprintf(topics->broker_props_path, sizeof(topics->broker_props_path), "%s/eddy-meta/broker.properties",
                 cfg->log_dirs) >= (int)sizeof(topics->broker_props_path))
        return -ENAMETOOLONG;
    broker_dyn_load(topics);
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
        if (topic_register(topics, t) != 0) {
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
    map_fini(&topics->by_id);
    pairs_free(topics->dyn_node, topics->ndyn_node);
    pairs_free(topics->dyn_default, topics->ndyn_default);
    topics->dyn_node = topics->dyn_default = NULL;
    topics->ndyn_node = topics->ndyn_default = 0;
}

broker_topic_t *broker_topics_get(broker_topics_t *topics, const char *name, size_t len)
{
    return map_get(&topics->by_name, name, len);
}

broker_topic_t *broker_topics_get_by_id(broker_topics_t *topics, const proto_uuid_t *id)
{
    /* Fetch v13+ names topics by id on every request: a map, not a scan. */
    return map_get(&topics->by_id, (const char *)id->b, sizeof(id->b));
}

broker_topic_t *broker_topics_next(broker_topics_t *topics, size_t *pos)
{
    return map_next(&topics->by_name, pos);
}

/* Validates a whole set of overrides: every entry known and valid, no key twice. */
static int16_t topic_validate_configs(const broker_topic_config_t *configs, int n, char *errmsg, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        int16_t e = broker_tcfg_validate(configs[i].key, configs[i].value, errmsg, errlen);
        if (e != KERR_NONE)
            return e;
        for (int j = 0; j < i; j++)
            if (strcmp(configs[i].key, configs[j].key) == 0) {
                snprintf(errmsg, errlen, "Config %s is given more than once", configs[i].key);
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
    int16_t verr = topic_validate_configs(configs, nconfigs, errmsg, errlen);
    if (verr != KERR_NONE)
        return verr;
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
        rc = topic_register(topics, t);
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
    map_del(&topics->by_id, (const char *)t->id.b, sizeof(t->id.b));
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

int16_t broker_topics_alter(broker_topics_t *topics, broker_topic_t *t, const broker_topic_config_t *configs,
                            int nconfigs, bool validate_only, char *errmsg, size_t errlen)
{
    errmsg[0] = 0;
    int16_t err = topic_validate_configs(configs, nconfigs, errmsg, errlen);
    if (err != KERR_NONE || validate_only)
        return err;
    broker_topic_config_t *fresh;
    if (pairs_dup(configs, nconfigs, &fresh) != 0)
        return KERR_UNKNOWN_SERVER_ERROR;
    broker_topic_config_t *old = t->configs;
    int nold = t->nconfigs;
    t->configs = fresh;
    t->nconfigs = nconfigs;
    int rc = topic_save(topics, t);
    if (rc != 0) {
        t->configs = old;
        t->nconfigs = nold;
        pairs_free(fresh, nconfigs);
        snprintf(errmsg, errlen, "cannot write the topic's metadata: %s", log_strerror(rc));
        LOG_ERROR("topics", "altering configs of %s: %s", t->name, log_strerror(rc));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    pairs_free(old, nold);
    topic_reconfigure(topics, t);
    LOG_INFO("topics", "topic %s now has %d config overrides", t->name, t->nconfigs);
    return KERR_NONE;
}

int16_t broker_topics_alter_broker(broker_topics_t *topics, bool node, const broker_topic_config_t *configs,
                                   int nconfigs, bool validate_only, char *errmsg, size_t errlen)
{
    errmsg[0] = 0;
    for (int i = 0; i < nconfigs; i++) {
        int16_t e = broker_bcfg_validate_dynamic(configs[i].key, configs[i].value, node, errmsg, errlen);
        if (e != KERR_NONE)
            return e;
        for (int j = 0; j < i; j++)
            if (strcmp(configs[i].key, configs[j].key) == 0) {
                snprintf(errmsg, errlen, "Config %s is given more than once", configs[i].key);
                return KERR_INVALID_CONFIG;
            }
    }
    if (validate_only)
        return KERR_NONE;
    broker_topic_config_t *fresh;
    if (pairs_dup(configs, nconfigs, &fresh) != 0)
        return KERR_UNKNOWN_SERVER_ERROR;
    int rc = node ? broker_dyn_save(topics, fresh, nconfigs, topics->dyn_default, topics->ndyn_default)
                  : broker_dyn_save(topics, topics->dyn_node, topics->ndyn_node, fresh, nconfigs);
    if (rc != 0) {
        pairs_free(fresh, nconfigs);
        snprintf(errmsg, errlen, "cannot write %s: %s", topics->broker_props_path, log_strerror(rc));
        LOG_ERROR("topics", "altering broker configs: %s", log_strerror(rc));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    broker_topic_config_t **slot = node ? &topics->dyn_node : &topics->dyn_default;
    int *nslot = node ? &topics->ndyn_node : &topics->ndyn_default;
    pairs_free(*slot, *nslot);
    *slot = fresh;
    *nslot = nconfigs;
    size_t pos = 0;
    broker_topic_t *t;
    while ((t = map_next(&topics->by_name, &pos)))
        topic_reconfigure(topics, t);
    LOG_INFO("topics", "%s dynamic broker configs: %d set", node ? "per-node" : "cluster-default", nconfigs);
    return KERR_NONE;
}

int16_t broker_topics_add_partitions(broker_topics_t *topics, broker_topic_t *t, int32_t count, bool validate_only,
                                     char *errmsg, size_t errlen)
{
    errmsg[0] = 0;
    if (count < t->nparts) {
        snprintf(errmsg, errlen, "Topic currently has %d partitions, which is higher than the requested %d.", t->nparts,
                 count);
        return KERR_INVALID_PARTITIONS;
    }
    if (count == t->nparts) {
        snprintf(errmsg, errlen, "Topic already has %d partitions.", t->nparts);
        return KERR_INVALID_PARTITIONS;
    }
    if (count > BROKER_TOPIC_MAX_PARTITIONS) {
        snprintf(errmsg, errlen, "A topic may have at most %d partitions.", BROKER_TOPIC_MAX_PARTITIONS);
        return KERR_INVALID_PARTITIONS;
    }
    if (validate_only)
        return KERR_NONE;
    broker_partition_t *parts = realloc(t->parts, sizeof(*parts) * (size_t)count);
    if (!parts)
        return KERR_UNKNOWN_SERVER_ERROR;
    /* Flush and compaction jobs name a partition by (topic, index), never by address, so moving the array is safe. */
    t->parts = parts;
    memset(parts + t->nparts, 0, sizeof(*parts) * (size_t)(count - t->nparts));
    int32_t old = t->nparts;
    t->nparts = count;
    /* Metadata first, as at creation: a crash then leaves empty new partitions, never unlisted data. */
    int rc = topic_save(topics, t);
    if (rc == 0)
        rc = topic_open_range(topics, t, old, count);
    if (rc != 0) {
        for (int32_t i = old; i < count; i++)
            if (t->parts[i].log) {
                (void)log_partition_remove(t->parts[i].log);
                t->parts[i].log = NULL;
            }
        t->nparts = old;
        int rc2 = topic_save(topics, t);
        if (rc2 != 0)
            LOG_ERROR("topics", "cannot restore the metadata of %s: %s", t->name, log_strerror(rc2));
        snprintf(errmsg, errlen, "cannot add partitions: %s", log_strerror(rc));
        LOG_ERROR("topics", "adding partitions to %s: %s", t->name, log_strerror(rc));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    LOG_INFO("topics", "topic %s grew from %d to %d partitions", t->name, old, count);
    return KERR_NONE;
}

int16_t broker_topics_config_resource(broker_topics_t *topics, int8_t type, const char *name, size_t len,
                                      broker_topic_t **topic, bool *node, char *errmsg, size_t errlen)
{
    *topic = NULL;
    *node = false;
    errmsg[0] = 0;
    if (type == BROKER_RESOURCE_TOPIC) {
        *topic = name && len ? broker_topics_get(topics, name, len) : NULL;
        if (!*topic) {
            snprintf(errmsg, errlen, "Topic '%.*s' does not exist.", (int)len, name ? name : "");
            return KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        return KERR_NONE;
    }
    if (type == BROKER_RESOURCE_BROKER) {
        if (len == 0)
            return KERR_NONE;
        char id[16];
        int n = snprintf(id, sizeof(id), "%d", topics->cfg->node_id);
        if ((size_t)n == len && memcmp(id, name, len) == 0) {
            *node = true;
            return KERR_NONE;
        }
        snprintf(errmsg, errlen, "Broker resource '%.*s' is not this broker (node id %d) nor the default ''",
                 (int)(len > 64 ? 64 : len), name, topics->cfg->node_id);
        return KERR_INVALID_REQUEST;
    }
    snprintf(errmsg, errlen, "Resource type %d is not supported (only TOPIC 2 and BROKER 4)", type);
    return KERR_INVALID_REQUEST;
}
