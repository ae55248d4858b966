/*
 * broker/config_table: the one table of every config eddy knows, broker
 * properties and topic configs, by Kafka's names.
 *
 * The rows are generated (broker/gen/configs_table.c) from
 * broker/configs.def, the single source that also produces README.md's
 * configuration tables. A broker row holds every fact about a property:
 * its DescribeConfigs type, built-in default, validator, Kafka's update
 * mode, whether eddy may change it at run time, whether eddy acts on it, and
 * the broker_config_t field it lands in (kind + offset; no field: the value
 * is kept as text, see broker_config_t.extra). A topic row adds the broker
 * properties that supply its default. This module looks rows up and checks
 * a value against a row; parsing values into broker_config_t is
 * broker/config.c's job, resolving them through the dynamic layers is
 * broker/topic_configs.c's. It depends on nothing but broker/config.h.
 */
#ifndef EDDY_BROKER_CONFIG_TABLE_H
#define EDDY_BROKER_CONFIG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/config.h"

/* DescribeConfigs config_type (Kafka's ConfigType ids). */
typedef enum broker_cfg_type_e {
    BROKER_CFG_UNKNOWN = 0,
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

/* Kafka's update modes (DynamicBrokerConfig); topic rows are BROKER_CFG_TOPIC. */
typedef enum broker_cfg_mode_e {
    BROKER_CFG_READ_ONLY = 0,
    BROKER_CFG_PER_BROKER,   /* BROKER <node.id> only */
    BROKER_CFG_CLUSTER_WIDE, /* BROKER "" or <node.id> */
    BROKER_CFG_LISTENER,     /* only as listener.name.<name>.<property> */
    BROKER_CFG_TOPIC,
} broker_cfg_mode_t;

/* Where a broker row's value lives in broker_config_t. */
typedef enum broker_cfg_kind_e {
    BROKER_CFG_K_NONE = 0, /* no field: text in broker_config_t.extra */
    BROKER_CFG_K_STR,
    BROKER_CFG_K_I32,
    BROKER_CFG_K_I64,
    BROKER_CFG_K_BOOL,
    BROKER_CFG_K_DOUBLE,
} broker_cfg_kind_t;

#define BROKER_CFG_KIND_OF(field)                                                                                      \
    _Generic(((broker_config_t *)0)->field,                                                                            \
        char *: BROKER_CFG_K_STR,                                                                                      \
        int32_t: BROKER_CFG_K_I32,                                                                                     \
        int64_t: BROKER_CFG_K_I64,                                                                                     \
        bool: BROKER_CFG_K_BOOL,                                                                                       \
        double: BROKER_CFG_K_DOUBLE)
#define BROKER_CFG_FIELD(field) .kind = BROKER_CFG_KIND_OF(field), .offset = offsetof(broker_config_t, field)

#define BROKER_CFG_MAX_SYNONYMS 3
#define BROKER_CFG_VALUE_MAX    256 /* longest value accepted, terminator included */

typedef struct broker_cfg_def_s {
    const char *name;
    broker_cfg_type_t type;
    const char *default_value; /* NULL: none (described as a null value) */
    /* INT, SHORT, LONG: the value must fall in one of nranges [min, max]. */
    int nranges;
    int64_t min[2], max[2];
    double dmin, dmax;   /* DOUBLE */
    const char *allowed; /* STRING / LIST: comma-separated allowed values; NULL: any */
    broker_cfg_mode_t mode;
    broker_cfg_kind_t kind; /* broker rows */
    size_t offset;          /* in broker_config_t, when kind is not K_NONE */
    bool honoured;          /* false: accepted and stored, no effect */
    bool alterable;         /* eddy takes it in AlterConfigs (topic rows: always) */
    /* Topic rows: the broker properties supplying the default, highest
     * precedence first, and the factor each is multiplied by (hours -> ms). */
    const char *broker[BROKER_CFG_MAX_SYNONYMS];
    int64_t scale[BROKER_CFG_MAX_SYNONYMS];
    const char *doc;
} broker_cfg_def_t;

/* Both sorted by name (strcmp order), no duplicates; generated. */
extern const broker_cfg_def_t broker_cfg_broker_defs[];
extern const size_t broker_cfg_broker_count;
extern const broker_cfg_def_t broker_cfg_topic_defs[];
extern const size_t broker_cfg_topic_count;

const broker_cfg_def_t *broker_cfg_find_broker(const char *name);
const broker_cfg_def_t *broker_cfg_find_topic(const char *name);

/*
 * Checks a value against a row: its type, range and allowed values. true,
 * or false with a sentence saying why in why (size len).
 */
bool broker_cfg_check(const broker_cfg_def_t *def, const char *value, char *why, size_t len);

/* Parses an integer the way the checks do (surrounding blanks allowed); false when it is not one. */
bool broker_cfg_parse_i64(const char *value, int64_t *out);

#endif
