#include "broker/config.h"

#include "base/diag.h"
#include "broker/api_floor.h"
#include "broker/config_table.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

__attribute__((format(printf, 3, 4))) static int cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Keeps the text of a property that has no field, replacing an earlier value. */
static int cfg_keep_text(broker_config_t *cfg, const char *name, const char *value)
{
    for (int i = 0; i < cfg->nextra; i++)
        if (strcmp(cfg->extra[i].key, name) == 0) {
            char *copy = strdup(value);
            if (!copy)
                return -1;
            free(cfg->extra[i].value);
            cfg->extra[i].value = copy;
            return 0;
        }
    broker_topic_config_t *grown = realloc(cfg->extra, sizeof(*grown) * (size_t)(cfg->nextra + 1));
    if (!grown)
        return -1;
    cfg->extra = grown;
    char *k = strdup(name), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    cfg->extra[cfg->nextra++] = (broker_topic_config_t){k, v};
    return 0;
}

/* The one setter: checks value against its row, then stores it in the row's field (or as text). */
static int cfg_apply(broker_config_t *cfg, const broker_cfg_def_t *def, const char *value, char *err, size_t errlen)
{
    char why[192];
    if (!broker_cfg_check(def, value, why, sizeof(why)))
        return cfg_err(err, errlen, "%s: invalid value '%s': %s", def->name, value, why);
    void *slot = (char *)cfg + def->offset;
    int64_t v = 0;
    switch (def->kind) {
    case BROKER_CFG_K_NONE:
        if (cfg_keep_text(cfg, def->name, value) != 0)
            return cfg_err(err, errlen, "%s: out of memory%s", def->name, "");
        return 0;
    case BROKER_CFG_K_STR: {
        char *copy = strdup(value);
        if (!copy)
            return cfg_err(err, errlen, "%s: out of memory%s", def->name, "");
        free(*(char **)slot);
        *(char **)slot = copy;
        return 0;
    }
    case BROKER_CFG_K_DOUBLE: *(double *)slot = strtod(value, NULL); return 0;
    case BROKER_CFG_K_BOOL: *(bool *)slot = strcasecmp(value, "true") == 0; return 0;
    case BROKER_CFG_K_I32:
    case BROKER_CFG_K_I64:
        (void)broker_cfg_parse_i64(value, &v); /* checked above */
        if (def->kind == BROKER_CFG_K_I32) {
            if (v < INT32_MIN || v > INT32_MAX)
                return cfg_err(err, errlen, "%s: invalid or out-of-range value '%s'", def->name, value);
            *(int32_t *)slot = (int32_t)v;
        } else {
            *(int64_t *)slot = v;
        }
        return 0;
    }
    return -1;
}

void broker_config_defaults(broker_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    char err[256];
    /* Only rows with a field: the others stay unset (their default is the row's). */
    for (size_t i = 0; i < broker_cfg_broker_count; i++) {
        const broker_cfg_def_t *def = &broker_cfg_broker_defs[i];
        if (def->kind != BROKER_CFG_K_NONE)
            (void)cfg_apply(cfg, def, def->default_value ? def->default_value : "", err, sizeof(err));
    }
}

void broker_config_free(broker_config_t *cfg)
{
    for (size_t i = 0; i < broker_cfg_broker_count; i++)
        if (broker_cfg_broker_defs[i].kind == BROKER_CFG_K_STR) {
            char **slot = (char **)((char *)cfg + broker_cfg_broker_defs[i].offset);
            free(*slot);
            *slot = NULL;
        }
    for (int i = 0; i < cfg->nextra; i++) {
        free(cfg->extra[i].key);
        free(cfg->extra[i].value);
    }
    free(cfg->extra);
    cfg->extra = NULL;
    cfg->nextra = 0;
}

const char *broker_config_extra(const broker_config_t *cfg, const char *name)
{
    for (int i = 0; i < cfg->nextra; i++)
        if (strcmp(cfg->extra[i].key, name) == 0)
            return cfg->extra[i].value;
    return NULL;
}

int broker_config_set(broker_config_t *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    const broker_cfg_def_t *def = broker_cfg_find_broker(key);
    if (!def)
        return cfg_err(err, errlen, "unknown property '%s'%s", key, "");
    return cfg_apply(cfg, def, value, err, errlen);
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
    for (size_t i = 0; i < broker_cfg_broker_count; i++) {
        char name[128] = "EDDY_";
        size_t n = 5;
        for (const char *p = broker_cfg_broker_defs[i].name; *p && n < sizeof(name) - 1; p++)
            name[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
        name[n] = 0;
        for (char *const *e = envp; e && *e; e++) {
            size_t len = strlen(name);
            if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
                if (cfg_apply(cfg, &broker_cfg_broker_defs[i], *e + len + 1, err, errlen) != 0)
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
    /* Until cluster mode can serve, starting as a single broker would
     * silently ignore the operator's intent: refuse instead. */
    if (cfg->cluster_etcd_endpoints && *cfg->cluster_etcd_endpoints)
        return cfg_err(err, errlen, "cluster.etcd.endpoints: cluster mode is not available in this build yet ('%s')%s",
                       cfg->cluster_etcd_endpoints, "");
    return 0;
}
