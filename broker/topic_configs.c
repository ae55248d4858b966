#include "broker/topic_configs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/kafka_errors.h"

const broker_tcfg_def_t *broker_tcfg_find(const char *name)
{
    return broker_cfg_find_topic(name);
}

size_t broker_bcfg_count(void)
{
    return broker_cfg_broker_count;
}

const broker_bcfg_def_t *broker_bcfg_at(size_t i)
{
    return i < broker_cfg_broker_count ? &broker_cfg_broker_defs[i] : NULL;
}

const broker_bcfg_def_t *broker_bcfg_find(const char *name)
{
    return broker_cfg_find_broker(name);
}

bool broker_bcfg_static(const broker_config_t *cfg, const broker_bcfg_def_t *def, char *out, size_t len)
{
    const char *dflt = def->default_value ? def->default_value : "";
    const void *slot = (const char *)cfg + def->offset;
    switch (def->kind) {
    case BROKER_CFG_K_STR: {
        const char *s = *(char *const *)slot;
        snprintf(out, len, "%s", s ? s : "");
        break;
    }
    case BROKER_CFG_K_I32: snprintf(out, len, "%d", *(const int32_t *)slot); break;
    case BROKER_CFG_K_I64: snprintf(out, len, "%lld", (long long)*(const int64_t *)slot); break;
    case BROKER_CFG_K_BOOL: snprintf(out, len, "%s", *(const bool *)slot ? "true" : "false"); break;
    case BROKER_CFG_K_DOUBLE: {
        double v = *(const double *)slot;
        /* Set when it differs from the default's value, whatever its spelling. */
        snprintf(out, len, "%g", v);
        return v != strtod(dflt, NULL);
    }
    default: {
        /* No field: set when the file, environment or flags gave it. */
        const char *text = broker_config_extra(cfg, def->name);
        snprintf(out, len, "%s", text ? text : dflt);
        return text != NULL;
    }
    }
    return strcmp(out, dflt) != 0;
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

/* value NULL: a default of none. */
static int add_syn(broker_cfg_synonym_t *out, int n, int max, const char *name, const char *value,
                   broker_cfg_source_t src, int64_t scale)
{
    if (n >= max)
        return n;
    out[n].name = name;
    snprintf(out[n].value, sizeof(out[n].value), "%s", value ? value : "");
    out[n].is_null = value == NULL;
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
        if (bd) {
            if (layers->cfg && broker_bcfg_static(layers->cfg, bd, text, sizeof(text)))
                n = add_syn(out, n, max, b, text, BROKER_CFG_SRC_STATIC, def->scale[i]);
            /* The built-in default is the lowest synonym's that has one (log.roll.jitter.hours, not .ms). */
            if (bd->default_value) {
                last = bd;
                last_scale = def->scale[i];
            }
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
    if (layers->cfg && broker_bcfg_static(layers->cfg, def, text, sizeof(text)))
        n = add_syn(out, n, max, def->name, text, BROKER_CFG_SRC_STATIC, 1);
    return add_syn(out, n, max, def->name, def->default_value, BROKER_CFG_SRC_DEFAULT, 1);
}

/* ---- validation -------------------------------------------------------- */

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
    char why[192];
    if (!broker_cfg_check(def, value, why, sizeof(why))) {
        snprintf(errmsg, errlen, "Invalid value %s for configuration %s: %s",
                 strlen(value) >= BROKER_CFG_VALUE_MAX ? "(too long)" : value, name, why);
        return KERR_INVALID_CONFIG;
    }
    return KERR_NONE;
}

int16_t broker_bcfg_validate_dynamic(const char *name, const char *value, bool node, char *errmsg, size_t errlen)
{
    if (!value) {
        snprintf(errmsg, errlen, "Null value not supported for : %s", name);
        return KERR_INVALID_REQUEST;
    }
    const broker_bcfg_def_t *def = broker_bcfg_find(name);
    if (!def) {
        /* Kafka keeps names it does not know as custom configs (for plugins, listener prefixes). */
        if (strlen(value) >= BROKER_CFG_VALUE_MAX || strlen(name) >= BROKER_CFG_VALUE_MAX) {
            snprintf(errmsg, errlen, "Config %s is too long", name);
            return KERR_INVALID_REQUEST;
        }
        return KERR_NONE;
    }
    /* Kafka's sentences (DynamicBrokerConfig.validateConfigs), with its Set(...) spelling. */
    if (def->mode == BROKER_CFG_LISTENER) {
        snprintf(errmsg, errlen,
                 "These security configs can be dynamically updated only per-listener using the listener prefix: "
                 "Set(%s)",
                 name);
        return KERR_INVALID_REQUEST;
    }
    if (!def->alterable) {
        if (def->mode == BROKER_CFG_READ_ONLY)
            snprintf(errmsg, errlen, "Cannot update these configs dynamically: Set(%s)", name);
        else
            snprintf(errmsg, errlen, "Cannot update these configs dynamically: Set(%s) (eddy reads %s only at start)",
                     name, name);
        return KERR_INVALID_REQUEST;
    }
    char why[192];
    if (!broker_cfg_check(def, value, why, sizeof(why))) {
        snprintf(errmsg, errlen, "Invalid value %s for configuration %s: %s",
                 strlen(value) >= BROKER_CFG_VALUE_MAX ? "(too long)" : value, name, why);
        return KERR_INVALID_REQUEST;
    }
    if (!node && def->mode == BROKER_CFG_PER_BROKER) {
        snprintf(errmsg, errlen,
                 "Cannot update these configs at default cluster level, broker id must be specified: Set(%s)", name);
        return KERR_INVALID_REQUEST;
    }
    return KERR_NONE;
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
