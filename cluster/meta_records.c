/* cluster/meta_records: see meta_records.h. */
#include "cluster/meta_records.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_NAME_MAX 249

static int put_key(char *out, size_t len, int n)
{
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cluster_rec_topic_key(const char *prefix, const char *topic, char *out, size_t len)
{
    return put_key(out, len, snprintf(out, len, "%s/topics/%s", prefix, topic));
}

int cluster_rec_partition_key(const char *prefix, const char *topic, int32_t index, char *out, size_t len)
{
    return put_key(out, len, snprintf(out, len, "%s/partitions/%s/%d", prefix, topic, index));
}

int cluster_rec_topics_prefix(const char *prefix, char *out, size_t len)
{
    return put_key(out, len, snprintf(out, len, "%s/topics/", prefix));
}

int cluster_rec_partitions_prefix(const char *prefix, const char *topic, char *out, size_t len)
{
    return put_key(out, len, snprintf(out, len, "%s/partitions/%s/", prefix, topic));
}

/* Kafka's legal topic names: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
static bool legal_name(const char *s, size_t n)
{
    if (n == 0 || n > TOPIC_NAME_MAX || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

int cluster_rec_topic_name(const char *prefix, const char *key, size_t key_len, char *name, size_t len)
{
    char head[512];
    if (cluster_rec_topics_prefix(prefix, head, sizeof(head)) != 0)
        return -EINVAL;
    size_t h = strlen(head);
    if (key_len <= h || memcmp(key, head, h) != 0 || !legal_name(key + h, key_len - h) || key_len - h >= len)
        return -EINVAL;
    memcpy(name, key + h, key_len - h);
    name[key_len - h] = 0;
    return 0;
}

static int dump(json_t *root, char **out)
{
    if (!root)
        return -ENOMEM;
    *out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    return *out ? 0 : -ENOMEM;
}

int cluster_rec_topic_encode(const cluster_rec_topic_t *t, char **out)
{
    if (t->nparts < 1 || t->nparts > CLUSTER_REC_MAX_PARTITIONS || t->nconfigs < 0 ||
        t->nconfigs > CLUSTER_REC_MAX_CONFIGS)
        return -EINVAL;
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", t->id[i]);
    json_t *configs = json_object();
    for (int i = 0; configs && i < t->nconfigs; i++)
        if (json_object_set_new(configs, t->configs[i].key, json_string(t->configs[i].value)) != 0) {
            json_decref(configs);
            configs = NULL;
        }
    if (!configs)
        return -ENOMEM;
    return dump(json_pack("{s:s, s:i, s:o}", "id", hex, "partitions", (json_int_t)t->nparts, "configs", configs), out);
}

static json_t *int_array(const int32_t *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

static bool contains(const int32_t *v, int n, int32_t x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* The rules a partition record must follow, for encode and decode alike. */
static bool partition_valid(const cluster_rec_partition_t *p)
{
    if (p->nreplicas < 1 || p->nreplicas > CLUSTER_REC_MAX_REPLICAS || p->nisr < 0 || p->nisr > p->nreplicas)
        return false;
    for (int i = 0; i < p->nreplicas; i++)
        if (p->replicas[i] < 0 || contains(p->replicas, i, p->replicas[i]))
            return false;
    for (int i = 0; i < p->nisr; i++)
        if (!contains(p->replicas, p->nreplicas, p->isr[i]) || contains(p->isr, i, p->isr[i]))
            return false;
    if (p->leader != -1 && !contains(p->isr, p->nisr, p->leader))
        return false;
    return p->leader_epoch >= 0 && p->partition_epoch >= 0;
}

int cluster_rec_partition_encode(const cluster_rec_partition_t *p, char **out)
{
    if (!partition_valid(p))
        return -EINVAL;
    json_t *r = int_array(p->replicas, p->nreplicas), *i = int_array(p->isr, p->nisr);
    if (!r || !i) {
        json_decref(r);
        json_decref(i);
        return -ENOMEM;
    }
    return dump(json_pack("{s:o, s:o, s:i, s:i, s:i}", "replicas", r, "isr", i, "leader", (json_int_t)p->leader,
                          "leader_epoch", (json_int_t)p->leader_epoch, "partition_epoch",
                          (json_int_t)p->partition_epoch),
                out);
}

static json_t *load(const char *json, size_t len)
{
    json_error_t err;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    if (root && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static bool get_i32(json_t *obj, const char *name, int64_t lo, int64_t hi, int32_t *out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return false;
    *out = (int32_t)x;
    return true;
}

static bool get_ids(json_t *obj, const char *name, int32_t *out, int *n)
{
    json_t *a = json_object_get(obj, name);
    if (!json_is_array(a) || json_array_size(a) > CLUSTER_REC_MAX_REPLICAS)
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return false;
        out[i] = (int32_t)json_integer_value(v);
    }
    *n = (int)json_array_size(a);
    return true;
}

int cluster_rec_partition_decode(const char *json, size_t len, cluster_rec_partition_t *p)
{
    memset(p, 0, sizeof(*p));
    json_t *root = load(json, len);
    bool ok = root && get_ids(root, "replicas", p->replicas, &p->nreplicas) && get_ids(root, "isr", p->isr, &p->nisr) &&
              get_i32(root, "leader", -1, INT32_MAX, &p->leader) &&
              get_i32(root, "leader_epoch", 0, INT32_MAX, &p->leader_epoch) &&
              get_i32(root, "partition_epoch", 0, INT32_MAX, &p->partition_epoch) && partition_valid(p);
    json_decref(root);
    return ok ? 0 : -EINVAL;
}

void cluster_rec_topic_fini(cluster_rec_topic_t *t)
{
    for (int i = 0; i < t->nconfigs; i++) {
        free(t->configs[i].key);
        free(t->configs[i].value);
    }
    free(t->configs);
    t->configs = NULL;
    t->nconfigs = 0;
}

static int hex_nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int cluster_rec_topic_decode(const char *json, size_t len, cluster_rec_topic_t *t)
{
    memset(t, 0, sizeof(*t));
    json_t *root = load(json, len);
    json_t *id = root ? json_object_get(root, "id") : NULL;
    json_t *configs = root ? json_object_get(root, "configs") : NULL;
    bool ok = json_is_string(id) && json_string_length(id) == 32 &&
              get_i32(root, "partitions", 1, CLUSTER_REC_MAX_PARTITIONS, &t->nparts) && json_is_object(configs) &&
              json_object_size(configs) <= CLUSTER_REC_MAX_CONFIGS;
    for (int i = 0; ok && i < 16; i++) {
        int hi = hex_nibble(json_string_value(id)[2 * i]), lo = hex_nibble(json_string_value(id)[2 * i + 1]);
        ok = hi >= 0 && lo >= 0;
        if (ok)
            t->id[i] = (uint8_t)(hi << 4 | lo);
    }
    if (ok && json_object_size(configs) > 0) {
        t->configs = calloc(json_object_size(configs), sizeof(*t->configs));
        ok = t->configs != NULL;
        const char *k;
        json_t *v;
        json_object_foreach(configs, k, v)
        {
            if (!ok)
                break;
            if (!json_is_string(v) || !k[0]) {
                ok = false;
                break;
            }
            t->configs[t->nconfigs].key = strdup(k);
            t->configs[t->nconfigs].value = strdup(json_string_value(v));
            t->nconfigs++;
            ok = t->configs[t->nconfigs - 1].key && t->configs[t->nconfigs - 1].value;
        }
    }
    json_decref(root);
    if (!ok) {
        cluster_rec_topic_fini(t);
        return -EINVAL;
    }
    return 0;
}
