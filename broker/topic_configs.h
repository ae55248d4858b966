/*
 * broker/topic_configs: how config values resolve, and which changes the
 * config APIs may make, over the rows of broker/config_table.
 *
 * Resolving a topic config walks the layers Kafka walks: the topic's
 * override, then for each broker property supplying its default (highest
 * precedence first, scaled from hours or minutes to milliseconds) the
 * dynamic per-broker value, the dynamic cluster default and the static value
 * (file, environment, flags), then the built-in default; the same walk
 * yields the synonyms DescribeConfigs lists. A broker property resolves the
 * same way without the topic layer. Checks answer with Kafka's error codes:
 * INVALID_CONFIG for topic configs, and for the BROKER resource what Kafka's
 * broker-side validation gives (INVALID_REQUEST for a property that cannot
 * change at run time, or not at that level, or a value that does not parse;
 * names Kafka does not know are custom configs, accepted and stored).
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
#include "broker/config_table.h"

/* DescribeConfigs config_source (Kafka's ConfigSource ids). */
typedef enum broker_cfg_source_e {
    BROKER_CFG_SRC_TOPIC = 1,           /* DYNAMIC_TOPIC_CONFIG */
    BROKER_CFG_SRC_DYNAMIC_BROKER = 2,  /* DYNAMIC_BROKER_CONFIG (this node) */
    BROKER_CFG_SRC_DYNAMIC_DEFAULT = 3, /* DYNAMIC_DEFAULT_BROKER_CONFIG (cluster default) */
    BROKER_CFG_SRC_STATIC = 4,          /* STATIC_BROKER_CONFIG (file, env, flags) */
    BROKER_CFG_SRC_DEFAULT = 5,         /* DEFAULT_CONFIG */
} broker_cfg_source_t;

/* Rows of broker/config_table: topic configs and broker properties share one shape. */
typedef broker_cfg_def_t broker_tcfg_def_t;
typedef broker_cfg_def_t broker_bcfg_def_t;

const broker_tcfg_def_t *broker_tcfg_find(const char *name);
/*
 * Checks one topic config: known name, value of the right type, in range,
 * allowed. KERR_NONE, or KERR_INVALID_CONFIG with a sentence in errmsg.
 */
int16_t broker_tcfg_validate(const char *name, const char *value, char *errmsg, size_t errlen);

/* The broker properties DescribeConfigs (resource BROKER) lists: every broker row. */
size_t broker_bcfg_count(void);
const broker_bcfg_def_t *broker_bcfg_at(size_t i);
const broker_bcfg_def_t *broker_bcfg_find(const char *name);
/*
 * Checks one dynamic broker config for this node (node) or the cluster
 * default: the property may change at run time at that level, and the value
 * fits its row. Names in no row are custom configs and pass, as in Kafka.
 * KERR_NONE, or KERR_INVALID_REQUEST with Kafka's sentence in errmsg.
 */
int16_t broker_bcfg_validate_dynamic(const char *name, const char *value, bool node, char *errmsg, size_t errlen);
/*
 * Writes the static value of the property into out as text; returns true
 * when it was set (differs from the built-in default, or was given for a
 * property without a field). Otherwise writes the default ("" for none).
 */
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
    bool is_null; /* a default of none: described as a null value */
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
