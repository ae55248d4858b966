/*
 * cluster/member_list: the live brokers from <prefix>/brokers/, a get then a
 * watch, reloaded on compaction (see membership.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/diag.h"
#include "cluster/membership.h"

#define LIST_MAX 1024 /* brokers tracked; more are logged and ignored */

typedef struct known_s {
    char *key;
    size_t key_len;
    cluster_broker_t b;
} known_t;

struct cluster_member_list_s {
    etcd_client_t *cli;
    char dir[256]; /* <prefix>/brokers/ */
    cluster_broker_cb changed;
    cluster_list_error_cb error;
    void *arg;
    etcd_watch_t *watch;
    int busy;    /* a get in flight, or inside a callback: free later */
    int stopped; /* stop ran while busy */
    known_t *known;
    size_t n_known;
};

int cluster_broker_parse(const char *value, size_t len, cluster_broker_t *out)
{
    memset(out, 0, sizeof *out);
    out->node_id = -1;
    int have_host = 0, have_port = 0;
    const char *p = value, *end = value + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(eol - p));
        if (eq) {
            size_t kl = (size_t)(eq - p), vl = (size_t)(eol - eq - 1);
            char v[300];
            if (vl < sizeof v) {
                memcpy(v, eq + 1, vl);
                v[vl] = 0;
                char *e;
                if (kl == 7 && !memcmp(p, "node.id", 7)) {
                    long x = strtol(v, &e, 10);
                    if (*v && !*e && x >= 0 && x <= INT32_MAX)
                        out->node_id = (int32_t)x;
                } else if (kl == 4 && !memcmp(p, "host", 4) && vl < sizeof out->host) {
                    memcpy(out->host, v, vl + 1);
                    have_host = vl > 0;
                } else if (kl == 4 && !memcmp(p, "port", 4)) {
                    long x = strtol(v, &e, 10);
                    if (*v && !*e && x > 0 && x <= 65535) {
                        out->port = (int)x;
                        have_port = 1;
                    }
                } else if (kl == 4 && !memcmp(p, "rack", 4) && vl < sizeof out->rack) {
                    memcpy(out->rack, v, vl + 1);
                } else if (kl == 11 && !memcmp(p, "incarnation", 11) && vl < sizeof out->incarnation) {
                    memcpy(out->incarnation, v, vl + 1);
                }
            }
        }
        p = eol + 1;
    }
    return out->node_id >= 0 && have_host && have_port ? 0 : -1;
}

static known_t *find(cluster_member_list_t *l, const char *key, size_t len)
{
    for (size_t i = 0; i < l->n_known; i++)
        if (l->known[i].key_len == len && !memcmp(l->known[i].key, key, len))
            return &l->known[i];
    return NULL;
}

static void forget(cluster_member_list_t *l, known_t *k)
{
    free(k->key);
    *k = l->known[--l->n_known];
}

/* A put of key=value: joined (or left+joined for a new incarnation). */
static void on_put(cluster_member_list_t *l, const etcd_kv_t *kv)
{
    cluster_broker_t b;
    if (cluster_broker_parse(kv->value, kv->value_len, &b) != 0) {
        LOG_WARN("cluster", "ignoring %.*s: not a broker registration", (int)kv->key_len, kv->key);
        return;
    }
    known_t *k = find(l, kv->key, kv->key_len);
    if (k) {
        if (!strcmp(k->b.incarnation, b.incarnation) && k->b.node_id == b.node_id)
            return; /* the same registration, rewritten */
        cluster_broker_t old = k->b;
        k->b = b;
        l->changed(l->arg, 0, &old);
        l->changed(l->arg, 1, &b);
        return;
    }
    if (l->n_known == LIST_MAX) {
        LOG_WARN("cluster", "more than %d brokers registered; ignoring %.*s", LIST_MAX, (int)kv->key_len, kv->key);
        return;
    }
    char *key = malloc(kv->key_len + 1);
    if (!key)
        return;
    memcpy(key, kv->key, kv->key_len);
    l->known[l->n_known++] = (known_t){.key = key, .key_len = kv->key_len, .b = b};
    l->changed(l->arg, 1, &b);
}

static void on_delete(cluster_member_list_t *l, const etcd_kv_t *kv)
{
    known_t *k = find(l, kv->key, kv->key_len);
    if (!k)
        return;
    cluster_broker_t old = k->b;
    forget(l, k);
    l->changed(l->arg, 0, &old);
}

static void load(cluster_member_list_t *l);

static void list_free(cluster_member_list_t *l)
{
    for (size_t i = 0; i < l->n_known; i++)
        free(l->known[i].key);
    free(l->known);
    free(l);
}

/* Ends a busy stretch; 1 when l was stopped meanwhile and is now freed. */
static int release(cluster_member_list_t *l)
{
    if (--l->busy == 0 && l->stopped) {
        list_free(l);
        return 1;
    }
    return 0;
}

static void on_watch(void *arg, int rc, const etcd_event_t *evs, size_t n, int64_t revision)
{
    cluster_member_list_t *l = arg;
    if (rc == ETCD_ECOMPACTED) {
        etcd_watch_stop(l->watch);
        l->watch = NULL;
        load(l); /* the get reports what changed meanwhile */
        return;
    }
    l->busy++;
    if (rc)
        l->error(l->arg, rc);
    for (size_t i = 0; !rc && i < n && !l->stopped; i++) {
        if (evs[i].type == ETCD_EVENT_PUT)
            on_put(l, &evs[i].kv);
        else
            on_delete(l, &evs[i].kv);
    }
    release(l);
}

static void on_loaded(void *arg, int rc, etcd_range_t *rng)
{
    cluster_member_list_t *l = arg;
    if (l->stopped) {
        if (rc == 0)
            etcd_range_fini(rng);
        release(l);
        return;
    }
    if (rc) {
        l->error(l->arg, rc);
        release(l);
        return;
    }
    /* those known but no longer there left while we were not watching */
    for (size_t i = 0; i < l->n_known;) {
        int there = 0;
        for (size_t j = 0; j < rng->n_kvs && !there; j++)
            there = rng->kvs[j].key_len == l->known[i].key_len &&
                    !memcmp(rng->kvs[j].key, l->known[i].key, rng->kvs[j].key_len);
        if (there) {
            i++;
            continue;
        }
        cluster_broker_t old = l->known[i].b;
        forget(l, &l->known[i]);
        l->changed(l->arg, 0, &old);
        if (l->stopped)
            break;
    }
    for (size_t j = 0; j < rng->n_kvs && !l->stopped; j++)
        on_put(l, &rng->kvs[j]);
    int64_t from = rng->revision + 1;
    etcd_range_fini(rng);
    if (!l->stopped && !(l->watch = etcd_watch_start(l->cli, l->dir, strlen(l->dir), 1, from, on_watch, l)))
        l->error(l->arg, ETCD_ENOMEM);
    release(l);
}

/* A get of the whole list; while it is in flight l is busy. */
static void load(cluster_member_list_t *l)
{
    l->busy++;
    if (etcd_get(l->cli, l->dir, strlen(l->dir), 1, 0, clock_mono_ms() + 10000, on_loaded, l) != 0) {
        l->busy--;
        l->error(l->arg, ETCD_ENOMEM);
    }
}

cluster_member_list_t *cluster_member_list_watch(etcd_client_t *cli, const char *prefix, cluster_broker_cb changed,
                                                 cluster_list_error_cb error, void *arg)
{
    cluster_member_list_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    int n = snprintf(l->dir, sizeof l->dir, "%s/brokers/", prefix);
    l->known = calloc(LIST_MAX, sizeof *l->known);
    if (n < 0 || (size_t)n >= sizeof l->dir || !l->known) {
        free(l->known);
        free(l);
        return NULL;
    }
    l->cli = cli;
    l->changed = changed;
    l->error = error;
    l->arg = arg;
    l->busy = 1;
    if (etcd_get(cli, l->dir, (size_t)n, 1, 0, clock_mono_ms() + 10000, on_loaded, l) != 0) {
        list_free(l);
        return NULL;
    }
    return l;
}

void cluster_member_list_stop(cluster_member_list_t *l)
{
    if (!l)
        return;
    if (l->watch)
        etcd_watch_stop(l->watch);
    l->watch = NULL;
    l->stopped = 1;
    if (!l->busy)
        list_free(l);
}
