#include "broker/config.h"

#include "base/diag.h"
#include "broker/api_floor.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { CFG_STR, CFG_I32, CFG_I64, CFG_BOOL, CFG_RATIO } cfg_type_t;

typedef struct cfg_prop_s {
    const char *name;
    cfg_type_t type;
    size_t offset;
    const char *def;
    int64_t min, max; /* integers only */
} cfg_prop_t;

#define P(name, type, field, def, min, max)                                                                            \
    {                                                                                                                  \
        name, type, offsetof(broker_config_t, field), def, min, max                                                    \
    }

/* The properties eddy understands; Kafka's names and defaults. */
static const cfg_prop_t cfg_props[] = {
    P("listeners", CFG_STR, listeners, "PLAINTEXT://127.0.0.1:9092", 0, 0),
    P("advertised.listeners", CFG_STR, advertised_listeners, "", 0, 0),
    P("log.dirs", CFG_STR, log_dirs, "./data", 0, 0),
    P("node.id", CFG_I32, node_id, "1", 0, INT32_MAX),
    P("broker.id", CFG_I32, node_id, "1", 0, INT32_MAX),
    P("num.partitions", CFG_I32, num_partitions, "1", 1, 1000000),
    P("default.replication.factor", CFG_I32, default_replication_factor, "1", 1, 1),
    P("auto.create.topics.enable", CFG_BOOL, auto_create_topics_enable, "true", 0, 0),
    P("message.max.bytes", CFG_I32, message_max_bytes, "1048588", 0, INT32_MAX),
    P("socket.request.max.bytes", CFG_I32, socket_request_max_bytes, "104857600", 64, INT32_MAX),
    P("log.segment.bytes", CFG_I64, log_segment_bytes, "1073741824", 1024, INT32_MAX),
    P("log.roll.ms", CFG_I64, log_roll_ms, "604800000", 1, INT64_MAX),
    P("log.index.interval.bytes", CFG_I32, log_index_interval_bytes, "4096", 0, INT32_MAX),
    P("log.index.size.max.bytes", CFG_I32, log_index_size_max_bytes, "10485760", 64, INT32_MAX),
    P("fetch.max.bytes", CFG_I32, fetch_max_bytes, "57671680", 1024, INT32_MAX),
    P("log.message.timestamp.type", CFG_STR, log_message_timestamp_type, "CreateTime", 0, 0),
    P("max.connections", CFG_I32, max_connections, "10000", 1, INT32_MAX),
    P("log.level", CFG_STR, log_level, "info", 0, 0),
    P("delete.topic.enable", CFG_BOOL, delete_topic_enable, "true", 0, 0),
    P("log.flush.interval.messages", CFG_I64, log_flush_interval_messages, "9223372036854775807", 1, INT64_MAX),
    P("log.flush.interval.ms", CFG_I64, log_flush_interval_ms, "9223372036854775807", 0, INT64_MAX),
    P("log.flush.scheduler.interval.ms", CFG_I64, log_flush_scheduler_interval_ms, "1000", 10, INT64_MAX),
    P("log.flush.offset.checkpoint.interval.ms", CFG_I64, log_flush_offset_checkpoint_interval_ms, "60000", 100,
      INT32_MAX),
    P("log.retention.hours", CFG_I64, log_retention_hours, "168", -1, INT32_MAX),
    P("log.retention.minutes", CFG_I64, log_retention_minutes, "-2", -2, INT32_MAX),
    P("log.retention.ms", CFG_I64, log_retention_ms, "-2", -2, INT64_MAX),
    P("log.retention.bytes", CFG_I64, log_retention_bytes, "-1", -1, INT64_MAX),
    P("log.cleaner.enable", CFG_BOOL, log_cleaner_enable, "true", 0, 0),
    P("log.cleaner.backoff.ms", CFG_I64, log_cleaner_backoff_ms, "15000", 10, INT64_MAX),
    P("log.cleaner.delete.retention.ms", CFG_I64, log_cleaner_delete_retention_ms, "86400000", 0, INT64_MAX),
    P("log.cleaner.min.cleanable.ratio", CFG_RATIO, log_cleaner_min_cleanable_ratio, "0.5", 0, 0),
    P("log.cleaner.min.compaction.lag.ms", CFG_I64, log_cleaner_min_compaction_lag_ms, "0", 0, INT64_MAX),
    P("log.cleaner.max.compaction.lag.ms", CFG_I64, log_cleaner_max_compaction_lag_ms, "9223372036854775807", 1,
      INT64_MAX),
    P("log.cleanup.policy", CFG_STR, log_cleanup_policy, "delete", 0, 0),
    P("producer.id.expiration.ms", CFG_I64, producer_id_expiration_ms, "86400000", 1, INT64_MAX),
    P("producer.id.expiration.check.interval.ms", CFG_I64, producer_id_expiration_check_interval_ms, "600000", 1,
      INT64_MAX),
    P("eddy.test.drop.produce.response.rate", CFG_RATIO, test_drop_produce_response_rate, "0", 0, 0),
    P("transaction.state.log.num.partitions", CFG_I32, transaction_state_log_num_partitions, "50", 1, 1000),
    P("transaction.state.log.segment.bytes", CFG_I64, transaction_state_log_segment_bytes, "104857600", 1024,
      INT32_MAX),
    P("transaction.max.timeout.ms", CFG_I64, transaction_max_timeout_ms, "900000", 1, INT32_MAX),
    P("transactional.id.expiration.ms", CFG_I64, transactional_id_expiration_ms, "604800000", 1, INT64_MAX),
    P("offsets.topic.num.partitions", CFG_I32, offsets_topic_num_partitions, "50", 1, 1000),
    P("offsets.topic.segment.bytes", CFG_I64, offsets_topic_segment_bytes, "104857600", 1024, INT32_MAX),
    P("group.initial.rebalance.delay.ms", CFG_I64, group_initial_rebalance_delay_ms, "3000", 0, INT32_MAX),
    P("group.min.session.timeout.ms", CFG_I64, group_min_session_timeout_ms, "6000", 0, INT32_MAX),
    P("group.max.session.timeout.ms", CFG_I64, group_max_session_timeout_ms, "1800000", 0, INT32_MAX),
    P("group.max.size", CFG_I32, group_max_size, "2147483647", 1, INT32_MAX),
    P("offsets.retention.minutes", CFG_I64, offsets_retention_minutes, "10080", 1, INT32_MAX),
    P("offsets.retention.check.interval.ms", CFG_I64, offsets_retention_check_interval_ms, "600000", 1, INT64_MAX),
    P("log.retention.check.interval.ms", CFG_I64, log_retention_check_interval_ms, "300000", 10, INT64_MAX),
    /* Kafka's default is -1 (no bound); eddy bounds request buffers at 500 MiB. */
    P("queued.max.request.bytes", CFG_I64, queued_max_request_bytes, "524288000", -1, INT64_MAX),
    P("connections.max.idle.ms", CFG_I64, connections_max_idle_ms, "600000", 100, INT64_MAX),
    P("max.connections.per.ip", CFG_I32, max_connections_per_ip, "2147483647", 0, INT32_MAX),
    P("max.connections.per.ip.overrides", CFG_STR, max_connections_per_ip_overrides, "", 0, 0),
    P("eddy.max.parked.fetches", CFG_I32, max_parked_fetches, "10000", 0, INT32_MAX),
    P("eddy.queued.max.response.bytes", CFG_I64, queued_max_response_bytes, "536870912", -1, INT64_MAX),
    /* false: Fetch copies records through memory (for comparison, or a filesystem without sendfile). */
    P("eddy.fetch.zero.copy", CFG_BOOL, fetch_zero_copy, "true", 0, 0),
    /* kafka-4.0: serve and advertise only Kafka 4.0's minimum versions (KIP-896); see broker/api_floor.h. */
    P("eddy.min.api.versions", CFG_STR, min_api_versions, "kafka-3.9", 0, 0),
};
#define CFG_NPROPS (sizeof(cfg_props) / sizeof(cfg_props[0]))

__attribute__((format(printf, 3, 4))) static int cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int cfg_apply(broker_config_t *cfg, const cfg_prop_t *p, const char *value, char *err, size_t errlen)
{
    void *slot = (char *)cfg + p->offset;
    switch (p->type) {
    case CFG_STR: {
        char *copy = strdup(value);
        if (!copy)
            return cfg_err(err, errlen, "%s%s: out of memory", p->name, "");
        free(*(char **)slot);
        *(char **)slot = copy;
        return 0;
    }
    case CFG_RATIO: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !(v >= 0.0 && v <= 1.0))
            return cfg_err(err, errlen, "%s: expected a ratio between 0 and 1, got '%s'", p->name, value);
        *(double *)slot = v;
        return 0;
    }
    case CFG_BOOL:
        if (strcmp(value, "true") == 0)
            *(bool *)slot = true;
        else if (strcmp(value, "false") == 0)
            *(bool *)slot = false;
        else
            return cfg_err(err, errlen, "%s: expected true or false, got '%s'", p->name, value);
        return 0;
    case CFG_I32:
    case CFG_I64: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < p->min || v > p->max)
            return cfg_err(err, errlen, "%s: invalid or out-of-range value '%s'", p->name, value);
        if (p->type == CFG_I32)
            *(int32_t *)slot = (int32_t)v;
        else
            *(int64_t *)slot = v;
        return 0;
    }
    }
    return -1;
}

void broker_config_defaults(broker_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    char err[256];
    for (size_t i = 0; i < CFG_NPROPS; i++)
        (void)cfg_apply(cfg, &cfg_props[i], cfg_props[i].def, err, sizeof(err));
}

void broker_config_free(broker_config_t *cfg)
{
    for (size_t i = 0; i < CFG_NPROPS; i++)
        if (cfg_props[i].type == CFG_STR) {
            char **slot = (char **)((char *)cfg + cfg_props[i].offset);
            free(*slot);
            *slot = NULL;
        }
}

int broker_config_set(broker_config_t *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < CFG_NPROPS; i++)
        if (strcmp(cfg_props[i].name, key) == 0)
            return cfg_apply(cfg, &cfg_props[i], value, err, errlen);
    return cfg_err(err, errlen, "unknown property '%s'%s", key, "");
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int broker_config_load_file(broker_config_t *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cfg_err(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
    char line[4096];
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line);
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = cfg_err(err, errlen, "%s: line without '=': %s", path, s);
            break;
        }
        *eq = 0;
        char *key = trim(s);
        char *val = trim(eq + 1);
        /* Properties eddy does not know are Kafka settings it has no use for: warn, don't fail. */
        if (broker_config_set(cfg, key, val, err, errlen) != 0) {
            if (strncmp(err, "unknown property", 16) == 0) {
                fprintf(stderr, "eddy: %s: ignoring %s\n", path, err);
                continue;
            }
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int broker_config_load_env(broker_config_t *cfg, char *const *envp, char *err, size_t errlen)
{
    for (size_t i = 0; i < CFG_NPROPS; i++) {
        char name[128] = "EDDY_";
        size_t n = 5;
        for (const char *p = cfg_props[i].name; *p && n < sizeof(name) - 1; p++)
            name[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
        name[n] = 0;
        for (char *const *e = envp; e && *e; e++) {
            size_t len = strlen(name);
            if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
                if (cfg_apply(cfg, &cfg_props[i], *e + len + 1, err, errlen) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

int broker_config_from_args(broker_config_t *cfg, int argc, char **argv, char *const *envp, char *err, size_t errlen)
{
    const char *file = NULL;
    int first_flag = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        file = argv[1];
        first_flag = 2;
    }
    for (int i = first_flag; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
    if (file && broker_config_load_file(cfg, file, err, errlen) != 0)
        return -1;
    if (broker_config_load_env(cfg, envp, err, errlen) != 0)
        return -1;
    for (int i = first_flag; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return cfg_err(err, errlen, "unexpected argument '%s'%s", a, "");
        a += 2;
        if (strcmp(a, "config") == 0) {
            i++;
            continue;
        }
        char key[256];
        const char *val;
        const char *eq = strchr(a, '=');
        if (eq) {
            size_t kl = (size_t)(eq - a);
            if (kl >= sizeof(key))
                return cfg_err(err, errlen, "option too long: %s%s", a, "");
            memcpy(key, a, kl);
            key[kl] = 0;
            val = eq + 1;
        } else {
            if (i + 1 >= argc)
                return cfg_err(err, errlen, "--%s needs a value%s", a, "");
            snprintf(key, sizeof(key), "%s", a);
            val = argv[++i];
        }
        if (broker_config_set(cfg, key, val, err, errlen) != 0)
            return -1;
    }
    return broker_config_finish(cfg, err, errlen);
}

int broker_config_cleanup_policy(const char *value)
{
    if (strcmp(value, "delete") == 0)
        return BROKER_CLEANUP_DELETE;
    if (strcmp(value, "compact") == 0)
        return BROKER_CLEANUP_COMPACT;
    if (strcmp(value, "compact,delete") == 0 || strcmp(value, "delete,compact") == 0)
        return BROKER_CLEANUP_COMPACT | BROKER_CLEANUP_DELETE;
    return -1;
}

int64_t broker_config_retention_ms(const broker_config_t *cfg)
{
    if (cfg->log_retention_ms != -2)
        return cfg->log_retention_ms < 0 ? -1 : cfg->log_retention_ms;
    if (cfg->log_retention_minutes != -2)
        return cfg->log_retention_minutes < 0 ? -1 : cfg->log_retention_minutes * 60000;
    return cfg->log_retention_hours < 0 ? -1 : cfg->log_retention_hours * 3600000;
}

/* Parses the first "NAME://host:port" of a comma-separated listener list. */
static int parse_listener(const char *spec, char *host, size_t hostlen, int *port)
{
    const char *p = strstr(spec, "://");
    p = p ? p + 3 : spec;
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (p[i] == ':')
            colon = p + i;
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - p);
    if (hl >= hostlen)
        return -1;
    memcpy(host, p, hl);
    host[hl] = 0;
    /* [::1] style literals */
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    char portbuf[16];
    size_t pl = len - hl - 1;
    if (pl == 0 || pl >= sizeof(portbuf))
        return -1;
    memcpy(portbuf, colon + 1, pl);
    portbuf[pl] = 0;
    char *e;
    long v = strtol(portbuf, &e, 10);
    if (*e || v < 0 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

int broker_config_finish(broker_config_t *cfg, char *err, size_t errlen)
{
    if (parse_listener(cfg->listeners, cfg->listen_host, sizeof(cfg->listen_host), &cfg->listen_port) != 0)
        return cfg_err(err, errlen, "listeners: cannot parse '%s'%s", cfg->listeners, "");
    if (cfg->advertised_listeners && *cfg->advertised_listeners) {
        if (parse_listener(cfg->advertised_listeners, cfg->advertised_host, sizeof(cfg->advertised_host),
                           &cfg->advertised_port) != 0)
            return cfg_err(err, errlen, "advertised.listeners: cannot parse '%s'%s", cfg->advertised_listeners, "");
    } else {
        snprintf(cfg->advertised_host, sizeof(cfg->advertised_host), "%s",
                 cfg->listen_host[0] && strcmp(cfg->listen_host, "0.0.0.0") != 0 ? cfg->listen_host : "127.0.0.1");
        cfg->advertised_port = cfg->listen_port; /* 0 is replaced by the bound port at listen time */
    }
    if (strcmp(cfg->log_message_timestamp_type, "CreateTime") != 0 &&
        strcmp(cfg->log_message_timestamp_type, "LogAppendTime") != 0)
        return cfg_err(err, errlen, "log.message.timestamp.type: expected CreateTime or LogAppendTime, got '%s'%s",
                       cfg->log_message_timestamp_type, "");
    if (diag_parse_level(cfg->log_level) < 0)
        return cfg_err(err, errlen, "log.level: expected error, warn, info or debug, got '%s'%s", cfg->log_level, "");
    if (broker_config_cleanup_policy(cfg->log_cleanup_policy) < 0)
        return cfg_err(err, errlen, "log.cleanup.policy: expected delete, compact or compact,delete, got '%s'",
                       cfg->log_cleanup_policy);
    if ((cfg->api_floor = broker_api_floor_parse(cfg->min_api_versions)) < 0)
        return cfg_err(err, errlen, "eddy.min.api.versions: expected kafka-3.9 or kafka-4.0, got '%s'",
                       cfg->min_api_versions);
    if (strchr(cfg->log_dirs, ','))
        return cfg_err(err, errlen, "log.dirs: eddy uses one data directory, got '%s'%s", cfg->log_dirs, "");
    return 0;
}
