/* cluster/etcd_lease: grant, revoke and keepalive; see etcd.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "cluster/etcd.h"

typedef struct grant_op_s {
    etcd_lease_cb cb;
    void *arg;
} grant_op_t;

static void on_grant(void *arg, int rc, const char *body, size_t len)
{
    grant_op_t *op = arg;
    int64_t id = 0, ttl = 0;
    if (rc == 0)
        rc = etcd_json_parse_lease(body, len, &id, &ttl);
    if (rc == 0 && (id == 0 || ttl <= 0))
        rc = ETCD_EMALFORMED;
    op->cb(op->arg, rc, rc ? 0 : id);
    free(op);
}

int etcd_lease_grant(etcd_client_t *cli, int64_t ttl_s, int64_t deadline_ms, etcd_lease_cb cb, void *arg)
{
    grant_op_t *op = malloc(sizeof *op);
    if (!op)
        return ETCD_ENOMEM;
    op->cb = cb;
    op->arg = arg;
    char json[64];
    snprintf(json, sizeof json, "{\"TTL\":\"%" PRId64 "\"}", ttl_s);
    int rc = etcd_call(cli, "/v3/lease/grant", json, deadline_ms, on_grant, op);
    if (rc)
        free(op);
    return rc;
}

int etcd_lease_revoke(etcd_client_t *cli, int64_t lease, int64_t deadline_ms, etcd_raw_cb cb, void *arg)
{
    char json[64];
    snprintf(json, sizeof json, "{\"ID\":\"%" PRId64 "\"}", lease);
    return etcd_call(cli, "/v3/lease/revoke", json, deadline_ms, cb, arg);
}

struct etcd_keepalive_s {
    etcd_client_t *cli;
    int64_t lease, ttl_ms, interval_ms;
    uv_timer_t tick;
    int64_t sent_ms;    /* when the renewal in flight was sent */
    int64_t expires_ms; /* last successful renewal's send time + TTL */
    int inflight, stopped, closing, lost_reported;
    etcd_lost_cb lost;
    void *arg;
};

static void ka_closed(uv_handle_t *handle)
{
    etcd_keepalive_t *ka = handle->data;
    ka->closing = 2;
    if (!ka->inflight)
        free(ka);
}

static void ka_end(etcd_keepalive_t *ka)
{
    ka->stopped = 1;
    if (!ka->closing) {
        ka->closing = 1;
        uv_close((uv_handle_t *)&ka->tick, ka_closed);
    }
}

/* Renewing stops; the struct stays the caller's until etcd_keepalive_stop. */
static void ka_lost(etcd_keepalive_t *ka, int rc)
{
    if (ka->stopped || ka->lost_reported)
        return;
    ka->lost_reported = 1;
    uv_timer_stop(&ka->tick);
    ka->lost(ka->arg, rc);
}

static void on_keepalive(void *arg, int rc, const char *body, size_t len)
{
    etcd_keepalive_t *ka = arg;
    ka->inflight = 0;
    if (ka->stopped || ka->lost_reported) {
        if (ka->closing == 2)
            free(ka);
        return;
    }
    int64_t id = 0, ttl = 0;
    if (rc == 0)
        rc = etcd_json_parse_lease(body, len, &id, &ttl);
    if (rc == ETCD_ELEASE || (rc == 0 && ttl <= 0)) {
        ka_lost(ka, ETCD_ELEASE);
        return;
    }
    if (rc == 0 && ka->sent_ms + ka->ttl_ms > ka->expires_ms)
        ka->expires_ms = ka->sent_ms + ka->ttl_ms;
    /* other failures: the next tick tries again, the expiry check decides */
}

static void on_tick(uv_timer_t *timer)
{
    etcd_keepalive_t *ka = timer->data;
    int64_t now = clock_mono_ms();
    if (now >= ka->expires_ms) {
        ka_lost(ka, ETCD_EUNAVAILABLE);
        return;
    }
    if (!ka->inflight) {
        char json[64];
        snprintf(json, sizeof json, "{\"ID\":\"%" PRId64 "\"}", ka->lease);
        ka->sent_ms = now;
        /* a renewal is worth nothing after the lease could have expired */
        if (etcd_call(ka->cli, "/v3/lease/keepalive", json, ka->expires_ms, on_keepalive, ka) == 0)
            ka->inflight = 1;
    }
    /* wake at the next renewal or at the expiry, whichever comes first */
    int64_t next = ka->interval_ms;
    if (ka->expires_ms - now < next)
        next = ka->expires_ms - now;
    uv_timer_start(&ka->tick, on_tick, (uint64_t)(next > 0 ? next : 0), 0);
}

etcd_keepalive_t *etcd_keepalive_start(etcd_client_t *cli, int64_t lease, int64_t ttl_s, int64_t granted_sent_ms,
                                       int64_t interval_ms, etcd_lost_cb lost, void *arg)
{
    etcd_keepalive_t *ka = calloc(1, sizeof *ka);
    if (!ka)
        return NULL;
    ka->cli = cli;
    ka->lease = lease;
    ka->ttl_ms = ttl_s * 1000;
    ka->interval_ms = interval_ms > 0 ? interval_ms : ka->ttl_ms / 3;
    ka->lost = lost;
    ka->arg = arg;
    /* etcd started the TTL when it got the grant, after it was sent. */
    ka->expires_ms = granted_sent_ms + ka->ttl_ms;
    uv_timer_init(etcd_client_loop(cli), &ka->tick);
    ka->tick.data = ka;
    uv_timer_start(&ka->tick, on_tick, 0, 0);
    return ka;
}

void etcd_keepalive_stop(etcd_keepalive_t *ka)
{
    if (ka)
        ka_end(ka);
}
