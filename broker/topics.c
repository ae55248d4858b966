#include "broker/topics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "broker/broker.h"
#include "broker/meta.h"
#include "broker/mstore.h"
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

/* Makes a topic findable by name and by id; both or neither. */
static int topic_register(broker_topics_t *topics, broker_topic_t *t)
{
    int rc = map_put(&topics->by_name, t->name, t->name_len, t);
    if (rc == 0 && (rc = map_put(&topics->by_id, (const char *)t->id.b, sizeof(t->id.b), t)) != 0)
        map_del(&topics->by_name, t->name, t->name_len);
    return rc;
}

/* Takes the topic out of the registry and frees it, now or when its last flush job ends. */
static void topic_unregister(broker_topics_t *topics, broker_topic_t *t)
{
    map_del(&topics->by_name, t->name, t->name_len);
    map_del(&topics->by_id, (const char *)t->id.b, sizeof(t->id.b));
    LOG_INFO("topics", "deleted topic %s", t->name);
    if (t->jobs_inflight > 0) {
        /* A flush job still holds this topic: broker/storage.c destroys it when the job ends. */
        t->deleted = true;
        return;
    }
    broker_topics_destroy(t);
}

/*
 * The store's listener: every change the store makes or learns of is applied
 * here — partitions opened, configs pushed into the logs, topics deleted.
 */
static void apply_new_topic(broker_topics_t *topics, const broker_mstore_topic_t *rec)
{
    broker_topic_t *t = topic_new(rec->name, strlen(rec->name), rec->nparts);
    if (!t || pairs_dup(rec->configs, rec->nconfigs, &t->configs) != 0) {
        LOG_ERROR("topics", "out of memory applying topic %s", rec->name);
        topic_free(t);
        return;
    }
    t->id = rec->id;
    t->nconfigs = rec->nconfigs;
    topic_apply_configs(topics, t);
    (void)topic_open_logs(topics, t); /* offline partitions stay NULL: KAFKA_STORAGE_ERROR */
    if (topic_register(topics, t) != 0) {
        LOG_ERROR("topics", "out of memory registering topic %s", rec->name);
        topic_free(t);
        return;
    }
    LOG_INFO("topics", "%s topic %s with %d partitions", topics->loading ? "loaded" : "created", t->name, t->nparts);
}

static void apply_changed_topic(broker_topics_t *topics, broker_topic_t *t, const broker_mstore_topic_t *rec)
{
    broker_topic_config_t *fresh;
    if (pairs_dup(rec->configs, rec->nconfigs, &fresh) == 0) {
        pairs_free(t->configs, t->nconfigs);
        t->configs = fresh;
        t->nconfigs = rec->nconfigs;
        topic_reconfigure(topics, t);
    } else {
        LOG_ERROR("topics", "out of memory: %s keeps its old configs", t->name);
    }
    if (rec->nparts > t->nparts) {
        broker_partition_t *parts = realloc(t->parts, sizeof(*parts) * (size_t)rec->nparts);
        if (!parts) {
            LOG_ERROR("topics", "out of memory: %s keeps %d partitions", t->name, t->nparts);
            return;
        }
        /* Flush and compaction jobs name a partition by (topic, index), never by address, so moving the array is
         * safe. */
        t->parts = parts;
        memset(parts + t->nparts, 0, sizeof(*parts) * (size_t)(rec->nparts - t->nparts));
        int32_t old = t->nparts;
        t->nparts = rec->nparts;
        (void)topic_open_range(topics, t, old, rec->nparts); /* offline ones stay NULL */
        LOG_INFO("topics", "topic %s grew from %d to %d partitions", t->name, old, t->nparts);
    }
}

static void on_topic_put(void *arg, const broker_mstore_topic_t *rec)
{
    broker_topics_t *topics = arg;
    broker_topic_t *t = broker_topics_get(topics, rec->name, strlen(rec->name));
    if (t && memcmp(t->id.b, rec->id.b, sizeof(rec->id.b)) != 0) {
        /* Deleted and created again while this broker was not watching: the old data goes. */
        topic_unregister(topics, t);
        t = NULL;
    }
    if (t)
        apply_changed_topic(topics, t, rec);
    else
        apply_new_topic(topics, rec);
}

static void on_topic_removed(void *arg, const char *name)
{
    broker_topics_t *topics = arg;
    broker_topic_t *t = broker_topics_get(topics, name, strlen(name));
    if (t)
        topic_unregister(topics, t);
}

static void on_broker_configs(void *arg, const broker_topic_config_t *node, int nnode, const broker_topic_config_t *def,
                              int ndef)
{
    broker_topics_t *topics = arg;
    broker_topic_config_t *fnode, *fdef;
    if (pairs_dup(node, nnode, &fnode) != 0)
        return;
    if (pairs_dup(def, ndef, &fdef) != 0) {
        pairs_free(fnode, nnode);
        return;
    }
    pairs_free(topics->dyn_node, topics->ndyn_node);
    pairs_free(topics->dyn_default, topics->ndyn_default);
    topics->dyn_node = fnode;
    topics->ndyn_node = nnode;
    topics->dyn_default = fdef;
    topics->ndyn_default = ndef;
    size_t pos = 0;
    broker_topic_t *t;
    while ((t = map_next(&topics->by_name, &pos)))
        topic_reconfigure(topics, t);
    if (!topics->loading)
        LOG_INFO("topics", "dynamic broker configs: %d per-node, %d cluster-default", nnode, ndef);
}

broker_mstore_listener_t broker_topics_listener(broker_topics_t *topics)
{
    return (broker_mstore_listener_t){
        .arg = topics,
        .topic_put = on_topic_put,
        .topic_removed = on_topic_removed,
        .broker_configs = on_broker_configs,
    };
}

int broker_topics_init(broker_topics_t *topics, const broker_config_t *cfg, const broker_checkpoint_t *recovery,
                       const broker_checkpoint_t *start, const broker_checkpoint_t *cleaner, bool clean_shutdown,
                       broker_mstore_t *store)
{
    memset(topics, 0, sizeof(*topics));
    map_init(&topics->by_name);
    map_init(&topics->by_id);
    topics->cfg = cfg;
    topics->recovery = recovery;
    topics->start = start;
    topics->cleaner = cleaner;
    topics->clean_shutdown = clean_shutdown;
    int rc = 0;
    if (store) {
        store->listener = broker_topics_listener(topics);
    } else {
        broker_mstore_listener_t l = broker_topics_listener(topics);
        rc = broker_mstore_local_open(cfg->log_dirs, &l, &store);
    }
    if (rc != 0)
        return rc;
    topics->store = store;
    topics->loading = true;
    rc = store->ops->load(store);
    topics->loading = false;
    /* Checkpoints only matter for the logs opened at start. */
    topics->recovery = topics->start = topics->cleaner = NULL;
    topics->clean_shutdown = false;
    return rc;
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
    if (topics->store)
        topics->store->ops->close(topics->store);
    topics->store = NULL;
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

/* One change on its way through the store: what to tell the caller when the store is done. */
typedef struct topics_op_s {
    broker_topics_done_fn done;
    void *arg;
    const char *what; /* "create topic", ...: the start of a failure's message */
    char name[BROKER_TOPIC_NAME_MAX + 1];
} topics_op_t;

static void done_now(broker_topics_done_fn done, void *arg, int16_t err, const char *errmsg)
{
    if (done)
        done(arg, err, errmsg);
}

static topics_op_t *op_new(broker_topics_done_fn done, void *arg, const char *what, const char *name, size_t len)
{
    topics_op_t *op = calloc(1, sizeof(*op));
    if (!op) {
        done_now(done, arg, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
        return NULL;
    }
    op->done = done;
    op->arg = arg;
    op->what = what;
    snprintf(op->name, sizeof(op->name), "%.*s", (int)len, name);
    return op;
}

static void op_done(void *arg, int rc)
{
    topics_op_t *op = arg;
    char msg[320] = "";
    int16_t err = KERR_NONE;
    if (rc == -EEXIST) {
        err = KERR_TOPIC_ALREADY_EXISTS;
        snprintf(msg, sizeof(msg), "Topic '%s' already exists.", op->name);
    } else if (rc == -ENOENT) {
        err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        snprintf(msg, sizeof(msg), "Topic '%s' does not exist.", op->name);
    } else if (rc == -EAGAIN) {
        /* The store could not be reached and nothing changed: Kafka's answer when the controller does not answer. */
        err = KERR_REQUEST_TIMED_OUT;
        snprintf(msg, sizeof(msg), "cannot %s: the metadata store is unavailable", op->what);
    } else if (rc != 0) {
        err = KERR_KAFKA_STORAGE_ERROR;
        snprintf(msg, sizeof(msg), "cannot %s: %s", op->what, log_strerror(rc));
        LOG_ERROR("topics", "%s %s: %s", op->what, op->name, log_strerror(rc));
    }
    done_now(op->done, op->arg, err, msg);
    free(op);
}

void broker_topics_create(broker_topics_t *topics, const char *name, size_t len, int32_t nparts,
                          const broker_topic_config_t *configs, int nconfigs, bool validate_only,
                          broker_topics_done_fn done, void *arg)
{
    char errmsg[320] = "";
    if (broker_topics_check_name(name, len) != KERR_NONE) {
        done_now(done, arg, KERR_INVALID_TOPIC_EXCEPTION, "Topic name is illegal");
        return;
    }
    if (broker_topics_get(topics, name, len)) {
        snprintf(errmsg, sizeof(errmsg), "Topic '%.*s' already exists.", (int)len, name);
        done_now(done, arg, KERR_TOPIC_ALREADY_EXISTS, errmsg);
        return;
    }
    if (nparts < 1 || nparts > BROKER_TOPIC_MAX_PARTITIONS) {
        done_now(done, arg, KERR_INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
        return;
    }
    int16_t verr = topic_validate_configs(configs, nconfigs, errmsg, sizeof(errmsg));
    if (verr != KERR_NONE || validate_only) {
        done_now(done, arg, verr, errmsg);
        return;
    }
    topics_op_t *op = op_new(done, arg, "create topic", name, len);
    if (!op)
        return;
    broker_mstore_topic_t rec = {.name = op->name, .nparts = nparts, .configs = configs, .nconfigs = nconfigs};
    (void)broker_meta_random(rec.id.b, sizeof(rec.id.b));
    rec.id.b[6] = (uint8_t)((rec.id.b[6] & 0x0f) | 0x40); /* a version-4 UUID, never all zero */
    rec.id.b[8] = (uint8_t)((rec.id.b[8] & 0x3f) | 0x80);
    /* The store first, the partitions when it applies the record: a crash between them leaves a topic with empty
     * partitions, never orphan data. */
    topics->store->ops->create_topic(topics->store, &rec, op_done, op);
}

/* A create nobody waits for: the caller learns an inline result, a later one is only logged. */
typedef struct detached_s {
    int16_t err;
    bool finished;
    bool detached;
    char name[BROKER_TOPIC_NAME_MAX + 1];
} detached_t;

static void detached_done(void *arg, int16_t err, const char *errmsg)
{
    detached_t *d = arg;
    if (!d->detached) {
        d->err = err;
        d->finished = true;
        return;
    }
    if (err != KERR_NONE && err != KERR_TOPIC_ALREADY_EXISTS)
        LOG_WARN("topics", "creating %s: %s", d->name, errmsg);
    free(d);
}

int16_t broker_topics_create_detached(broker_topics_t *topics, const char *name, size_t len, int32_t nparts,
                                      const broker_topic_config_t *configs, int nconfigs)
{
    detached_t *d = calloc(1, sizeof(*d));
    if (!d)
        return KERR_UNKNOWN_SERVER_ERROR;
    snprintf(d->name, sizeof(d->name), "%.*s", (int)(len < BROKER_TOPIC_NAME_MAX ? len : BROKER_TOPIC_NAME_MAX), name);
    broker_topics_create(topics, name, len, nparts, configs, nconfigs, false, detached_done, d);
    if (!d->finished) {
        d->detached = true;
        return KERR_NONE;
    }
    int16_t err = d->err;
    free(d);
    return err;
}

void broker_topics_delete(broker_topics_t *topics, broker_topic_t *t, broker_topics_done_fn done, void *arg)
{
    topics_op_t *op = op_new(done, arg, "delete topic", t->name, t->name_len);
    if (op) /* t may be gone when this returns */
        topics->store->ops->delete_topic(topics->store, op->name, op_done, op);
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

void broker_topics_alter(broker_topics_t *topics, broker_topic_t *t, const broker_topic_config_t *configs,
                         int nconfigs, bool validate_only, broker_topics_done_fn done, void *arg)
{
    char errmsg[320] = "";
    int16_t err = topic_validate_configs(configs, nconfigs, errmsg, sizeof(errmsg));
    if (err != KERR_NONE || validate_only) {
        done_now(done, arg, err, errmsg);
        return;
    }
    topics_op_t *op = op_new(done, arg, "write the topic's metadata", t->name, t->name_len);
    if (!op)
        return;
    broker_mstore_topic_t rec = {
        .name = op->name, .id = t->id, .nparts = t->nparts, .configs = configs, .nconfigs = nconfigs};
    topics->store->ops->update_topic(topics->store, &rec, op_done, op);
}

void broker_topics_alter_broker(broker_topics_t *topics, bool node, const broker_topic_config_t *configs, int nconfigs,
                                bool validate_only, broker_topics_done_fn done, void *arg)
{
    char errmsg[320] = "";
    for (int i = 0; i < nconfigs; i++) {
        int16_t e = broker_bcfg_validate_dynamic(configs[i].key, configs[i].value, node, errmsg, sizeof(errmsg));
        if (e != KERR_NONE) {
            done_now(done, arg, e, errmsg);
            return;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(configs[i].key, configs[j].key) == 0) {
                snprintf(errmsg, sizeof(errmsg), "Config %s is given more than once", configs[i].key);
                done_now(done, arg, KERR_INVALID_CONFIG, errmsg);
                return;
            }
    }
    if (validate_only) {
        done_now(done, arg, KERR_NONE, "");
        return;
    }
    topics_op_t *op = op_new(done, arg, "write the dynamic broker configs", "", 0);
    if (!op)
        return;
    if (node)
        topics->store->ops->put_broker_configs(topics->store, configs, nconfigs, topics->dyn_default,
                                               topics->ndyn_default, op_done, op);
    else
        topics->store->ops->put_broker_configs(topics->store, topics->dyn_node, topics->ndyn_node, configs, nconfigs,
                                               op_done, op);
}

void broker_topics_add_partitions(broker_topics_t *topics, broker_topic_t *t, int32_t count, bool validate_only,
                                  broker_topics_done_fn done, void *arg)
{
    char errmsg[320] = "";
    int16_t err = KERR_NONE;
    if (count < t->nparts) {
        snprintf(errmsg, sizeof(errmsg), "Topic currently has %d partitions, which is higher than the requested %d.",
                 t->nparts, count);
        err = KERR_INVALID_PARTITIONS;
    } else if (count == t->nparts) {
        snprintf(errmsg, sizeof(errmsg), "Topic already has %d partitions.", t->nparts);
        err = KERR_INVALID_PARTITIONS;
    } else if (count > BROKER_TOPIC_MAX_PARTITIONS) {
        snprintf(errmsg, sizeof(errmsg), "A topic may have at most %d partitions.", BROKER_TOPIC_MAX_PARTITIONS);
        err = KERR_INVALID_PARTITIONS;
    }
    if (err != KERR_NONE || validate_only) {
        done_now(done, arg, err, errmsg);
        return;
    }
    topics_op_t *op = op_new(done, arg, "add partitions", t->name, t->name_len);
    if (!op)
        return;
    /* The store first, as at creation: a crash then leaves empty new partitions, never unlisted data. */
    broker_mstore_topic_t rec = {
        .name = op->name, .id = t->id, .nparts = count, .configs = t->configs, .nconfigs = t->nconfigs};
    topics->store->ops->update_topic(topics->store, &rec, op_done, op);
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
