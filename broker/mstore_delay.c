/*
 * broker/mstore_delay: a store that hands every change to another store
 * only after eddy.test.metadata.delay.ms, on a libuv timer.
 *
 * A test hook: a single broker's file store finishes each change before
 * returning, so the admin handlers' waiting path (broker/store_wait.c) —
 * which an etcd-backed store takes for every change — would otherwise only
 * run in cluster mode. With a delay, CreateTopics and the rest wait for
 * their changes as they will on etcd, and tests can close the connection
 * or pipeline requests meanwhile. Records are copied, as the interface
 * only lends them for the call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/diag.h"
#include "broker/mstore.h"

typedef struct delay_store_s {
    broker_mstore_t base;
    broker_mstore_t *inner;
    uv_loop_t *loop;
    uint64_t delay_ms;
    int jobs; /* timers not yet fired */
} delay_store_t;

typedef enum { JOB_CREATE, JOB_UPDATE, JOB_DELETE, JOB_BROKER } job_kind_t;

typedef struct delay_job_s {
    uv_timer_t timer;
    delay_store_t *ds;
    job_kind_t kind;
    broker_mstore_done_fn done;
    void *arg;
    char *name;
    proto_uuid_t id;
    int32_t nparts;
    broker_topic_config_t *a, *b; /* topic configs, or node and default broker configs */
    int na, nb;
} delay_job_t;

static void pairs_release(broker_topic_config_t *p, int n)
{
    for (int i = 0; i < n; i++) {
        free(p[i].key);
        free(p[i].value);
    }
    free(p);
}

static int pairs_copy(const broker_topic_config_t *src, int n, broker_topic_config_t **out)
{
    *out = n > 0 ? calloc((size_t)n, sizeof(**out)) : NULL;
    if (n > 0 && !*out)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        (*out)[i].key = strdup(src[i].key);
        (*out)[i].value = strdup(src[i].value);
        if (!(*out)[i].key || !(*out)[i].value) {
            pairs_release(*out, n);
            *out = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

static void job_closed(uv_handle_t *h)
{
    delay_job_t *j = h->data;
    free(j->name);
    pairs_release(j->a, j->na);
    pairs_release(j->b, j->nb);
    free(j);
}

static void job_fire(uv_timer_t *t)
{
    delay_job_t *j = t->data;
    broker_mstore_t *in = j->ds->inner;
    broker_mstore_topic_t rec = {
        .name = j->name, .id = j->id, .nparts = j->nparts, .configs = j->a, .nconfigs = j->na};
    j->ds->jobs--;
    switch (j->kind) {
    case JOB_CREATE: in->ops->create_topic(in, &rec, j->done, j->arg); break;
    case JOB_UPDATE: in->ops->update_topic(in, &rec, j->done, j->arg); break;
    case JOB_DELETE: in->ops->delete_topic(in, j->name, j->done, j->arg); break;
    case JOB_BROKER: in->ops->put_broker_configs(in, j->a, j->na, j->b, j->nb, j->done, j->arg); break;
    }
    uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void job_start(delay_store_t *ds, delay_job_t *j, int rc)
{
    if (rc != 0) {
        j->done(j->arg, rc);
        free(j->name);
        pairs_release(j->a, j->na);
        pairs_release(j->b, j->nb);
        free(j);
        return;
    }
    uv_timer_init(ds->loop, &j->timer);
    j->timer.data = j;
    ds->jobs++;
    uv_timer_start(&j->timer, job_fire, ds->delay_ms, 0);
}

static delay_job_t *job_new(delay_store_t *ds, job_kind_t kind, broker_mstore_done_fn done, void *arg)
{
    delay_job_t *j = calloc(1, sizeof(*j));
    if (!j) {
        done(arg, -ENOMEM);
        return NULL;
    }
    j->ds = ds;
    j->kind = kind;
    j->done = done;
    j->arg = arg;
    return j;
}

static void delay_topic(broker_mstore_t *s, job_kind_t kind, const broker_mstore_topic_t *t,
                        broker_mstore_done_fn done, void *arg)
{
    delay_store_t *ds = (delay_store_t *)s;
    delay_job_t *j = job_new(ds, kind, done, arg);
    if (!j)
        return;
    j->name = strdup(t->name);
    j->id = t->id;
    j->nparts = t->nparts;
    j->na = t->nconfigs;
    int rc = j->name ? pairs_copy(t->configs, t->nconfigs, &j->a) : -ENOMEM;
    job_start(ds, j, rc);
}

static void delay_create(broker_mstore_t *s, const broker_mstore_topic_t *t, broker_mstore_done_fn done, void *arg)
{
    delay_topic(s, JOB_CREATE, t, done, arg);
}

static void delay_update(broker_mstore_t *s, const broker_mstore_topic_t *t, broker_mstore_done_fn done, void *arg)
{
    delay_topic(s, JOB_UPDATE, t, done, arg);
}

static void delay_delete(broker_mstore_t *s, const char *name, broker_mstore_done_fn done, void *arg)
{
    delay_store_t *ds = (delay_store_t *)s;
    delay_job_t *j = job_new(ds, JOB_DELETE, done, arg);
    if (j) {
        j->name = strdup(name);
        job_start(ds, j, j->name ? 0 : -ENOMEM);
    }
}

static void delay_broker(broker_mstore_t *s, const broker_topic_config_t *node, int nnode,
                         const broker_topic_config_t *def, int ndef, broker_mstore_done_fn done, void *arg)
{
    delay_store_t *ds = (delay_store_t *)s;
    delay_job_t *j = job_new(ds, JOB_BROKER, done, arg);
    if (!j)
        return;
    j->na = nnode;
    j->nb = ndef;
    int rc = pairs_copy(node, nnode, &j->a);
    if (rc == 0)
        rc = pairs_copy(def, ndef, &j->b);
    job_start(ds, j, rc);
}

static int delay_load(broker_mstore_t *s)
{
    delay_store_t *ds = (delay_store_t *)s;
    ds->inner->listener = s->listener; /* the inner store applies, so it reports to our listener */
    return ds->inner->ops->load(ds->inner);
}

static void delay_close(broker_mstore_t *s)
{
    delay_store_t *ds = (delay_store_t *)s;
    /* Changes still waiting are dropped unapplied, as an unreachable store would drop them. */
    if (ds->jobs > 0)
        LOG_WARN("topics", "%d delayed metadata changes dropped at shutdown", ds->jobs);
    ds->inner->ops->close(ds->inner);
    free(ds);
}

static const broker_mstore_ops_t delay_ops = {
    .load = delay_load,
    .create_topic = delay_create,
    .update_topic = delay_update,
    .delete_topic = delay_delete,
    .put_broker_configs = delay_broker,
    .close = delay_close,
};

int broker_mstore_delay_open(uv_loop_t *loop, broker_mstore_t *inner, int64_t delay_ms, broker_mstore_t **out)
{
    delay_store_t *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return -ENOMEM;
    ds->base.ops = &delay_ops;
    ds->base.listener = inner->listener;
    snprintf(ds->base.where, sizeof(ds->base.where), "%.40s, delayed", inner->where);
    ds->inner = inner;
    ds->loop = loop;
    ds->delay_ms = delay_ms > 0 ? (uint64_t)delay_ms : 0;
    *out = &ds->base;
    return 0;
}
