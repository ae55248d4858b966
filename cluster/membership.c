/*
 * cluster/membership: joining under a lease, refusing a node id already
 * held, renewing, leaving (see membership.h).
 */
#include "cluster/membership.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/diag.h"

typedef enum { MEMBER_GRANTING, MEMBER_REGISTERING, MEMBER_JOINED, MEMBER_DONE } member_state_t;

struct cluster_member_s {
    etcd_client_t *cli;
    cluster_joined_cb joined;
    cluster_lost_cb lost;
    void *arg;
    member_state_t state;
    bool leaving; /* cluster_member_leave ran while a call was in flight */
    int64_t lease;
    int64_t ttl_s;
    int64_t heartbeat_ms;
    int64_t grant_sent_ms;
    int64_t deadline_ms;
    etcd_keepalive_t *ka;
    char key[256];
    char value[512];
};

static void member_free(cluster_member_t *m)
{
    free(m);
}

static void revoke_done(void *arg, int rc, const char *body, size_t len)
{
    (void)arg;
    (void)body;
    (void)len;
    if (rc != 0)
        LOG_WARN("cluster", "revoking the broker's lease: %s (it expires by itself)", etcd_strerror(rc));
}

static void member_revoke(cluster_member_t *m)
{
    if (m->lease != 0)
        (void)etcd_lease_revoke(m->cli, m->lease, clock_mono_ms() + 2000, revoke_done, NULL);
    m->lease = 0;
}

static void fail_join(cluster_member_t *m, int rc, const char *why)
{
    m->state = MEMBER_DONE;
    member_revoke(m); /* a lease nobody uses would hold nothing, but need not wait out its TTL */
    m->joined(m->arg, rc, why);
}

static void on_lost(void *arg, int rc)
{
    cluster_member_t *m = arg;
    m->state = MEMBER_DONE;
    m->lease = 0; /* gone, or soon: nothing to revoke */
    m->lost(m->arg, rc);
}

/* The holder of a taken node id, from the value it registered: "host:port", or "an unknown broker". */
static void holder_of(const etcd_range_t *existing, char *out, size_t len)
{
    snprintf(out, len, "an unknown broker");
    if (!existing || existing->n_kvs < 1)
        return;
    const etcd_kv_t *kv = &existing->kvs[0];
    char host[256] = "", port[16] = "";
    const char *p = kv->value, *end = kv->value + kv->value_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(eol - p));
        if (eq) {
            size_t klen = (size_t)(eq - p), vlen = (size_t)(eol - eq - 1);
            if (klen == 4 && memcmp(p, "host", 4) == 0 && vlen < sizeof(host))
                snprintf(host, sizeof(host), "%.*s", (int)vlen, eq + 1);
            else if (klen == 4 && memcmp(p, "port", 4) == 0 && vlen < sizeof(port))
                snprintf(port, sizeof(port), "%.*s", (int)vlen, eq + 1);
        }
        p = eol + 1;
    }
    if (host[0] && port[0])
        snprintf(out, len, "%s:%s", host, port);
}

static void on_registered(void *arg, int rc, etcd_range_t *existing)
{
    cluster_member_t *m = arg;
    if (m->leaving) {
        if (rc == ETCD_ECOMPARE && existing)
            etcd_range_fini(existing);
        member_revoke(m);
        member_free(m);
        return;
    }
    char why[600];
    if (rc == ETCD_ECOMPARE) {
        char holder[300];
        holder_of(existing, holder, sizeof(holder));
        if (existing)
            etcd_range_fini(existing);
        snprintf(why, sizeof(why), "%s is already registered by %s", m->key, holder);
        fail_join(m, rc, why);
        return;
    }
    if (rc != 0) {
        snprintf(why, sizeof(why), "registering %s in etcd: %s", m->key, etcd_strerror(rc));
        fail_join(m, rc, why);
        return;
    }
    m->ka = etcd_keepalive_start(m->cli, m->lease, m->ttl_s, m->grant_sent_ms, m->heartbeat_ms, on_lost, m);
    if (!m->ka) {
        fail_join(m, -ENOMEM, "out of memory starting the keepalive");
        return;
    }
    m->state = MEMBER_JOINED;
    m->joined(m->arg, 0, "");
}

static void on_granted(void *arg, int rc, int64_t lease)
{
    cluster_member_t *m = arg;
    if (m->leaving) {
        m->lease = rc == 0 ? lease : 0;
        member_revoke(m);
        member_free(m);
        return;
    }
    if (rc != 0) {
        char why[256];
        snprintf(why, sizeof(why), "granting the broker's etcd lease: %s", etcd_strerror(rc));
        fail_join(m, rc, why);
        return;
    }
    m->lease = lease;
    m->state = MEMBER_REGISTERING;
    rc = etcd_put_if_absent(m->cli, m->key, strlen(m->key), m->value, strlen(m->value), lease, m->deadline_ms,
                            on_registered, m);
    if (rc != 0)
        fail_join(m, rc, "cannot send the registration to etcd");
}

cluster_member_t *cluster_member_join(etcd_client_t *cli, const cluster_member_opts_t *o, cluster_joined_cb joined,
                                      cluster_lost_cb lost, void *arg)
{
    if (!cli || !o || !o->prefix || !o->host || o->node_id < 0 || o->session_timeout_ms <= 0 || !joined || !lost)
        return NULL;
    cluster_member_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cli = cli;
    m->joined = joined;
    m->lost = lost;
    m->arg = arg;
    m->ttl_s = (o->session_timeout_ms + 999) / 1000;
    m->heartbeat_ms = o->heartbeat_ms;
    uint64_t incarnation = ((uint64_t)clock_wall_ms() << 20) ^ (uint64_t)clock_mono_ms() ^ ((uint64_t)rand() << 32);
    int kn = snprintf(m->key, sizeof(m->key), "%s/brokers/%d", o->prefix, o->node_id);
    int vn = snprintf(m->value, sizeof(m->value), "node.id=%d\nrack=%s\nhost=%s\nport=%d\nincarnation=%016llx\n",
                      o->node_id, o->rack ? o->rack : "", o->host, o->port, (unsigned long long)incarnation);
    if (kn < 0 || (size_t)kn >= sizeof(m->key) || vn < 0 || (size_t)vn >= sizeof(m->value)) {
        free(m);
        return NULL;
    }
    m->grant_sent_ms = clock_mono_ms();
    m->deadline_ms = m->grant_sent_ms + (o->join_deadline_ms > 0 ? o->join_deadline_ms : 10000);
    if (etcd_lease_grant(cli, m->ttl_s, m->deadline_ms, on_granted, m) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

int64_t cluster_member_lease(const cluster_member_t *m)
{
    return m->state == MEMBER_JOINED ? m->lease : 0;
}

void cluster_member_leave(cluster_member_t *m)
{
    if (!m)
        return;
    if (m->state == MEMBER_GRANTING || m->state == MEMBER_REGISTERING) {
        m->leaving = true; /* the callback in flight revokes and frees */
        return;
    }
    if (m->ka)
        etcd_keepalive_stop(m->ka);
    member_revoke(m);
    member_free(m);
}
