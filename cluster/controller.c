/*
 * cluster/controller: the controller election on <prefix>/controller — a
 * create-if-absent txn under the member's lease, then a watch of the key
 * (see membership.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/diag.h"
#include "cluster/membership.h"

#define RETRY_MS 500

struct cluster_election_s {
    etcd_client_t *cli;
    char key[256];
    char value[16]; /* our node id, decimal */
    int32_t node_id;
    int64_t lease;
    cluster_controller_cb changed;
    void *arg;
    etcd_watch_t *watch;
    uv_timer_t retry;
    int in_txn; /* a txn in flight: it frees after resign */
    int resigned;
    int closed; /* the timer's close callback ran */
    int32_t controller;
    int64_t epoch;
};

static void maybe_free(cluster_election_t *e)
{
    if (e->resigned && e->closed && !e->in_txn)
        free(e);
}

static void timer_closed(uv_handle_t *h)
{
    cluster_election_t *e = h->data;
    e->closed = 1;
    maybe_free(e);
}

static void report(cluster_election_t *e, int rc, int32_t controller, int64_t epoch)
{
    if (rc == 0 && controller == e->controller && epoch == e->epoch)
        return;
    e->controller = controller;
    e->epoch = epoch;
    e->changed(e->arg, rc, controller, epoch);
}

/* The holder named by a controller key's value; -1 if unreadable. */
static int32_t holder_of(const etcd_kv_t *kv)
{
    char v[16];
    if (kv->value_len == 0 || kv->value_len >= sizeof v)
        return -1;
    memcpy(v, kv->value, kv->value_len);
    v[kv->value_len] = 0;
    char *end;
    long x = strtol(v, &end, 10);
    return *end || x < 0 || x > INT32_MAX ? -1 : (int32_t)x;
}

static void campaign(cluster_election_t *e);

static void on_retry(uv_timer_t *t)
{
    campaign(t->data);
}

static void on_watch(void *arg, int rc, const etcd_event_t *evs, size_t n, int64_t revision)
{
    cluster_election_t *e = arg;
    if (rc) {
        /* compacted or broken: the txn tells the state afresh */
        etcd_watch_stop(e->watch);
        e->watch = NULL;
        campaign(e);
        return;
    }
    for (size_t i = 0; i < n && !e->resigned; i++) {
        if (evs[i].type == ETCD_EVENT_DELETE) {
            etcd_watch_stop(e->watch);
            e->watch = NULL;
            report(e, 0, -1, e->epoch);
            if (!e->resigned)
                campaign(e);
            return;
        }
        report(e, 0, holder_of(&evs[i].kv), evs[i].kv.create_revision);
    }
}

static void on_txn(void *arg, int rc, const etcd_txn_result_t *res)
{
    cluster_election_t *e = arg;
    e->in_txn = 0;
    if (e->resigned) {
        maybe_free(e);
        return;
    }
    if (rc) {
        report(e, rc, -1, e->epoch);
        if (!e->resigned)
            uv_timer_start(&e->retry, on_retry, RETRY_MS, 0);
        return;
    }
    if (res->succeeded) {
        report(e, 0, e->node_id, res->revision);
    } else if (res->n_ops == 1 && res->ops[0].range.n_kvs == 1) {
        const etcd_kv_t *kv = &res->ops[0].range.kvs[0];
        report(e, 0, holder_of(kv), kv->create_revision);
    } else {
        /* deleted between the compare and the read cannot happen in one
         * txn; an empty read means a reply we do not understand */
        report(e, ETCD_EMALFORMED, -1, e->epoch);
    }
    if (e->resigned)
        return;
    e->watch = etcd_watch_start(e->cli, e->key, strlen(e->key), 0, res->revision + 1, on_watch, e);
    if (!e->watch)
        uv_timer_start(&e->retry, on_retry, RETRY_MS, 0);
}

static void campaign(cluster_election_t *e)
{
    etcd_cmp_t absent = {.key = e->key, .key_len = strlen(e->key), .target = ETCD_CMP_CREATE, .result = ETCD_CMP_EQUAL};
    etcd_op_t put = {.kind = ETCD_OP_PUT,
                     .key = e->key,
                     .key_len = strlen(e->key),
                     .value = e->value,
                     .value_len = strlen(e->value),
                     .lease = e->lease};
    etcd_op_t read = {.kind = ETCD_OP_RANGE, .key = e->key, .key_len = strlen(e->key)};
    e->in_txn = 1;
    if (etcd_txn(e->cli, &absent, 1, &put, 1, &read, 1, clock_mono_ms() + 5000, on_txn, e) != 0) {
        e->in_txn = 0;
        uv_timer_start(&e->retry, on_retry, RETRY_MS, 0);
    }
}

cluster_election_t *cluster_controller_campaign(etcd_client_t *cli, const char *prefix, int32_t node_id, int64_t lease,
                                                cluster_controller_cb changed, void *arg)
{
    if (!cli || !prefix || node_id < 0 || lease == 0 || !changed)
        return NULL;
    cluster_election_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    int n = snprintf(e->key, sizeof e->key, "%s/controller", prefix);
    if (n < 0 || (size_t)n >= sizeof e->key) {
        free(e);
        return NULL;
    }
    snprintf(e->value, sizeof e->value, "%" PRId32, node_id);
    e->cli = cli;
    e->node_id = node_id;
    e->lease = lease;
    e->changed = changed;
    e->arg = arg;
    e->controller = -1;
    uv_timer_init(etcd_client_loop(cli), &e->retry);
    e->retry.data = e;
    uv_timer_start(&e->retry, on_retry, 0, 0); /* from the loop, never inside this call */
    return e;
}

static void resign_done(void *arg, int rc, const etcd_txn_result_t *res)
{
    if (rc)
        LOG_WARN("cluster", "deleting the controller key: %s (it goes with the lease)", etcd_strerror(rc));
}

void cluster_controller_resign(cluster_election_t *e)
{
    if (!e)
        return;
    e->resigned = 1;
    if (e->watch)
        etcd_watch_stop(e->watch);
    e->watch = NULL;
    if (e->controller == e->node_id) {
        /* only our own: compare the value and the lease-bound create */
        etcd_cmp_t mine[] = {
            {.key = e->key,
             .key_len = strlen(e->key),
             .target = ETCD_CMP_VALUE,
             .result = ETCD_CMP_EQUAL,
             .value = e->value,
             .value_len = strlen(e->value)},
            {.key = e->key,
             .key_len = strlen(e->key),
             .target = ETCD_CMP_CREATE,
             .result = ETCD_CMP_EQUAL,
             .number = e->epoch},
        };
        etcd_op_t del = {.kind = ETCD_OP_DELETE, .key = e->key, .key_len = strlen(e->key)};
        (void)etcd_txn(e->cli, mine, 2, &del, 1, NULL, 0, clock_mono_ms() + 2000, resign_done, NULL);
    }
    uv_close((uv_handle_t *)&e->retry, timer_closed);
}
