/*
 * broker/topic_configs: the registry of every topic config eddy knows and of
 * the broker properties DescribeConfigs shows, by Kafka's names.
 *
 * One table describes each topic config: its type (DescribeConfigs'
 * config_type numbering), the broker properties that supply its default (in
 * Kafka's order of precedence, with the factor that turns hours or minutes
 * into milliseconds), its validator (type, range, allowed values), a short
 * documentation string, and whether eddy acts on it or only accepts and
 * stores it. A second table lists the broker's own properties (the ones
 * broker/config.c parses) so that the static values can be read back as
 * text. Resolving a value walks the layers Kafka walks: the topic's
 * override, the dynamic per-broker value, the dynamic cluster default, the
 * static property file / flags, then the built-in default; the same walk
 * yields the synonyms DescribeConfigs lists.
 *
 * This module owns no state: the topic overrides and the dynamic broker
 * configs belong to broker/topics, which passes them in. It knows nothing of
 * requests, files or logs.
 */
#ifndef EDDY_BROKER_TOPIC_CONFIGS_H
#define EDDY_BROKER_TOPIC_CONFIGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/config.h"

/* A key=value pair: a topic override or a dynamic broker config. */
typedef struct broker_topic_config_s {
    char *key;
    char *value;
} broker_topic_config_t;

/* DescribeConfigs config_type (Kafka's ConfigType ids). */
typedef enum broker_cfg_type_e {
    BROKER_CFG_BOOLEAN = 1,
    BROKER_CFG_STRING = 2,
    BROKER_CFG_INT = 3,
    BROKER_CFG_SHORT = 4,
    BROKER_CFG_LONG = 5,
    BROKER_CFG_DOUBLE = 6,
    BROKER_CFG_LIST = 7,
    BROKER_CFG_CLASS = 8,
    BROKER_CFG_PASSWORD = 9,
} broker_cfg_type_t;

/* DescribeConfigs config_source (Kafka's ConfigSource ids). */
typedef enum broker_cfg_source_e {
    BROKER_CFG_SRC_TOPIC = 1,           /* DYNAMIC_TOPIC_CONFIG */
    BROKER_CFG_SRC_DYNAMIC_BROKER = 2,  /* DYNAMIC_BROKER_CONFIG (this node) */
    BROKER_CFG_SRC_DYNAMIC_DEFAULT = 3, /* DYNAMIC_DEFAULT_BROKER_CONFIG (cluster default) */
    BROKER_CFG_SRC_STATIC = 4,          /* STATIC_BROKER_CONFIG (file, env, flags) */
    BROKER_CFG_SRC_DEFAULT = 5,         /* DEFAULT_CONFIG */
} broker_cfg_source_t;

#define BROKER_CFG_MAX_SYNONYMS 3
#define BROKER_CFG_VALUE_MAX    256 /* longest value accepted, terminator included */

typedef struct broker_tcfg_def_s {
    const char *name;
    broker_cfg_type_t type;
    const char *default_value; /* when no broker property supplies one */
    int64_t min, max;          /* INT, SHORT, LONG */
    double dmin, dmax;         /* DOUBLE */
    const char *allowed;       /* STRING / LIST: comma-separated allowed values; NULL: any */
    /* Broker properties supplying the default, highest precedence first, and
     * the factor each is multiplied by (hours -> ms); NULL-terminated. */
    const char *broker[BROKER_CFG_MAX_SYNONYMS];
    int64_t scale[BROKER_CFG_MAX_SYNONYMS];
    bool honoured; /* false: accepted and stored, no effect on one broker */
    const char *doc;
} broker_tcfg_def_t;

extern const broker_tcfg_def_t broker_tcfg_defs[];
extern const size_t broker_tcfg_count;

const broker_tcfg_def_t *broker_tcfg_find(const char *name);
/*
 * Checks one topic config: known name, value of the right type, in range,
 * allowed. KERR_NONE, or KERR_INVALID_CONFIG with a sentence in errmsg.
 */
int16_t broker_tcfg_validate(const char *name, const char *value, char *errmsg, size_t errlen);

/* The broker properties DescribeConfigs (resource BROKER) lists. */
typedef struct broker_bcfg_def_s {
    const char *name;
    broker_cfg_type_t type;
    int kind;      /* storage in broker_config_t (topic_configs.c); 0: not in it (dynamic-only) */
    size_t offset; /* in broker_config_t */
    const char *default_value;
    const char *doc;
} broker_bcfg_def_t;

/* Every broker property, then the topic defaults eddy has no static property for. */
size_t broker_bcfg_count(void);
const broker_bcfg_def_t *broker_bcfg_at(size_t i);
const broker_bcfg_def_t *broker_bcfg_find(const char *name);
/*
 * The topic config a dynamic broker property is the default of (the first
 * synonym of that topic config), or NULL when the property cannot be
 * changed at run time.
 */
const broker_tcfg_def_t *broker_bcfg_dynamic_topic_def(const char *name);
/*
 * Writes the static value of the property into out as text; returns true
 * when it was set (differs from the built-in default). Dynamic-only
 * properties give their default and false.
 */
/* Checks a value for a dynamic broker property (as the topic config it feeds); KERR_INVALID_CONFIG otherwise. */
int16_t broker_bcfg_validate_dynamic(const char *name, const char *value, char *errmsg, size_t errlen);
bool broker_bcfg_static(const broker_config_t *cfg, const broker_bcfg_def_t *def, char *out, size_t len);

/* Where values come from, besides a topic's own overrides. */
typedef struct broker_cfg_layers_s {
    const broker_config_t *cfg;
    const broker_topic_config_t *dyn_node; /* DYNAMIC_BROKER_CONFIG */
    int ndyn_node;
    const broker_topic_config_t *dyn_default; /* DYNAMIC_DEFAULT_BROKER_CONFIG */
    int ndyn_default;
} broker_cfg_layers_t;

typedef struct broker_cfg_synonym_s {
    const char *name;
    char value[BROKER_CFG_VALUE_MAX];
    broker_cfg_source_t source;
    int64_t scale; /* factor from this synonym's unit to the config's */
} broker_cfg_synonym_t;

/* The value of key in a list of pairs, or NULL. */
const char *broker_cfg_pairs_get(const broker_topic_config_t *pairs, int n, const char *key);

/*
 * The synonyms of a topic config as Kafka lists them, highest precedence
 * first: the topic's override, then for each broker property in order its
 * dynamic per-broker, dynamic default and static (when set) values, then the
 * built-in default. Returns how many were written (at most max, at least 1
 * when max > 0); the first one is the one in effect.
 */
int broker_tcfg_synonyms(const broker_cfg_layers_t *layers, const broker_topic_config_t *overrides, int noverrides,
                         const broker_tcfg_def_t *def, broker_cfg_synonym_t *out, int max);
/* The effective value (first synonym, scaled to the config's unit) and its source. */
void broker_tcfg_value(const broker_cfg_layers_t *layers, const broker_topic_config_t *overrides, int noverrides,
                       const broker_tcfg_def_t *def, char *out, size_t len, broker_cfg_source_t *source);
/*
 * The synonyms of a broker property: dynamic per-broker, dynamic default,
 * static (when set), built-in default. Returns the count written.
 */
int broker_bcfg_synonyms(const broker_cfg_layers_t *layers, const broker_bcfg_def_t *def, broker_cfg_synonym_t *out,
                         int max);

/* LIST helpers for IncrementalAlterConfigs APPEND / SUBTRACT: 0 or -1 (too long). */
int broker_cfg_list_append(const char *list, const char *items, char *out, size_t len);
int broker_cfg_list_subtract(const char *list, const char *items, char *out, size_t len);

/* compression.type as a codec (0-4), or -1 for "producer" (keep what was sent); -2 when unknown. */
int broker_cfg_compression_codec(const char *value);

#endif
