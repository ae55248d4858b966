#include "broker/config_table.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int row_cmp(const void *key, const void *row)
{
    return strcmp(key, ((const broker_cfg_def_t *)row)->name);
}

const broker_cfg_def_t *broker_cfg_find_broker(const char *name)
{
    return bsearch(name, broker_cfg_broker_defs, broker_cfg_broker_count, sizeof(broker_cfg_def_t), row_cmp);
}

const broker_cfg_def_t *broker_cfg_find_topic(const char *name)
{
    return bsearch(name, broker_cfg_topic_defs, broker_cfg_topic_count, sizeof(broker_cfg_def_t), row_cmp);
}

bool broker_cfg_parse_i64(const char *value, int64_t *out)
{
    const char *s = value;
    while (isspace((unsigned char)*s))
        s++;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    while (end != s && isspace((unsigned char)*end))
        end++;
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

/* true when item (n bytes) is one of the comma-separated words in allowed. */
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

__attribute__((format(printf, 3, 4))) static bool why_not(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return false;
}

static bool check_int(const broker_cfg_def_t *def, const char *value, char *why, size_t len)
{
    int64_t v;
    if (!broker_cfg_parse_i64(value, &v))
        return why_not(why, len, "expected %s", def->type == BROKER_CFG_LONG ? "a 64-bit integer" : "an integer");
    for (int i = 0; i < def->nranges; i++)
        if (v >= def->min[i] && v <= def->max[i])
            return true;
    int64_t top = def->type == BROKER_CFG_LONG ? INT64_MAX : def->type == BROKER_CFG_SHORT ? INT16_MAX : INT32_MAX;
    if (def->nranges == 2 && def->min[1] == def->max[1])
        return why_not(why, len, "must be %lld or between %lld and %lld", (long long)def->min[1],
                       (long long)def->min[0], (long long)def->max[0]);
    if (def->max[0] == top)
        return why_not(why, len, "must be at least %lld", (long long)def->min[0]);
    return why_not(why, len, "must be between %lld and %lld", (long long)def->min[0], (long long)def->max[0]);
}

static bool check_list(const broker_cfg_def_t *def, const char *value, char *why, size_t len)
{
    const char *p = value;
    int items = 0;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, ",");
        size_t n = w;
        while (n && p[n - 1] == ' ')
            n--;
        if (n == 0 || (def->allowed && !word_in(def->allowed, p, n)))
            return why_not(why, len, "every item must be one of %s", def->allowed ? def->allowed : "(any non-empty)");
        items++;
        p += w;
        if (*p == ',')
            p++;
    }
    /* Free lists (listener names, class names) may be empty, as in Kafka; a choice among values may not
     * unless its default is the empty list (process.roles). */
    if (items == 0 && def->allowed && !(def->default_value && !*def->default_value))
        return why_not(why, len, "the list must not be empty");
    return true;
}

bool broker_cfg_check(const broker_cfg_def_t *def, const char *value, char *why, size_t len)
{
    if (strlen(value) >= BROKER_CFG_VALUE_MAX)
        return why_not(why, len, "values are limited to %d characters", BROKER_CFG_VALUE_MAX - 1);
    switch (def->type) {
    case BROKER_CFG_BOOLEAN:
        if (strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0)
            return why_not(why, len, "expected true or false");
        return true;
    case BROKER_CFG_INT:
    case BROKER_CFG_SHORT:
    case BROKER_CFG_LONG: return check_int(def, value, why, len);
    case BROKER_CFG_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return why_not(why, len, "expected a number");
        if (v < def->dmin || v > def->dmax)
            return why_not(why, len, "must be between %g and %g", def->dmin, def->dmax);
        return true;
    }
    case BROKER_CFG_STRING:
        if (def->allowed && !word_in(def->allowed, value, strlen(value)))
            return why_not(why, len, "must be one of %s", def->allowed);
        /* The one free-text topic config (message.format.version) names a version: never empty. */
        if (!def->allowed && def->mode == BROKER_CFG_TOPIC && !*value)
            return why_not(why, len, "must not be empty");
        return true;
    case BROKER_CFG_LIST: return check_list(def, value, why, len);
    default: return true; /* CLASS, PASSWORD, UNKNOWN: any text */
    }
}
