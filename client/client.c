/*
 * client/client.c: configuration, the client's life cycle and its one timer.
 *
 * The timer runs every tick_ms while anything can time out (a request not
 * yet answered, a connect in progress, a request backing off) and is stopped
 * when the client is idle, so an idle client keeps the loop alive only
 * through its open connections.
 */
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "client/internal.h"

const char *kcl_strerror(int status)
{
    switch (status) {
#define KCL_CASE_(name, value, text)                                                                                   \
    case value: return text;
        KCL_ERRORS(KCL_CASE_)
#undef KCL_CASE_
    default: return "unknown client status";
    }
}

bool kcl_kafka_retriable(int16_t code)
{
    /* Kafka's errors whose exception is a RetriableException. */
    static const int16_t retriable[] = {2,  3,  5,  6,  7,  13, 14, 15, 16, 19, 20, 41, 51,
                                        56, 70, 71, 72, 74, 75, 78, 80, 83, 88, 89, 100};
    for (size_t i = 0; i < sizeof(retriable) / sizeof(retriable[0]); i++)
        if (retriable[i] == code)
            return true;
    return false;
}

void kcl_config_init(kcl_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->bootstrap = "127.0.0.1:9092";
    cfg->client_id = "eddy";
    cfg->connect_timeout_ms = 10000;
    cfg->request_timeout_ms = 30000;
    cfg->max_in_flight = 5;
    cfg->max_response_bytes = 100 * 1024 * 1024;
    cfg->reconnect_backoff_ms = 50;
    cfg->reconnect_backoff_max_ms = 1000;
    cfg->retries = 3;
    cfg->retry_backoff_ms = 100;
    cfg->tick_ms = 10;
    cfg->max_queued = 10000;
}

int64_t kcl_now(const kcl_client_t *cl)
{
    return (int64_t)uv_now(cl->loop);
}

uint32_t kcl_random(kcl_client_t *cl)
{
    uint64_t x = cl->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cl->rng = x;
    return (uint32_t)(x >> 32);
}

static bool client_busy(kcl_client_t *cl)
{
    if (!list_empty(&cl->pending))
        return true;
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &cl->conns) {
        kcl_conn_t *conn = list_entry(pos, kcl_conn_t, link);
        if (conn->state == KCL_CONN_RESOLVING || conn->state == KCL_CONN_CONNECTING ||
            conn->state == KCL_CONN_HANDSHAKE || !list_empty(&conn->waiting) || !list_empty(&conn->inflight))
            return true;
    }
    return false;
}

static void client_on_tick(uv_timer_t *t)
{
    kcl_client_t *cl = t->data;
    int64_t now = kcl_now(cl);
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &cl->conns) {
        kcl_conn_tick(list_entry(pos, kcl_conn_t, link), now);
    }
    kcl_dispatch(cl);
    if (!client_busy(cl))
        uv_timer_stop(&cl->timer);
}

void kcl_timer_kick(kcl_client_t *cl)
{
    if (!cl->closing && !uv_is_active((uv_handle_t *)&cl->timer))
        uv_timer_start(&cl->timer, client_on_tick, (uint64_t)cl->cfg.tick_ms, (uint64_t)cl->cfg.tick_ms);
}

static void client_on_kick(uv_timer_t *t)
{
    kcl_dispatch(t->data);
}

void kcl_dispatch_soon(kcl_client_t *cl)
{
    if (!cl->closing && !uv_is_active((uv_handle_t *)&cl->kick))
        uv_timer_start(&cl->kick, client_on_kick, 0, 0);
}

/* Splits "host:port" or "[v6]:port". 0 or -1. */
static int split_addr(const char *s, size_t len, char *host, size_t host_cap, char *port, size_t port_cap)
{
    const char *hs = s, *he, *ps;
    const char *end = s + len;
    if (len > 0 && s[0] == '[') {
        hs = s + 1;
        he = memchr(hs, ']', (size_t)(end - hs));
        if (!he || he + 1 >= end || he[1] != ':')
            return -1;
        ps = he + 2;
    } else {
        he = memrchr(s, ':', len);
        if (!he)
            return -1;
        ps = he + 1;
    }
    size_t hl = (size_t)(he - hs), pl = (size_t)(end - ps);
    if (hl == 0 || hl >= host_cap || pl == 0 || pl >= port_cap)
        return -1;
    for (size_t i = 0; i < pl; i++)
        if (ps[i] < '0' || ps[i] > '9')
            return -1;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    memcpy(port, ps, pl);
    port[pl] = '\0';
    return atoi(port) > 0 && atoi(port) < 65536 ? 0 : -1;
}

static void client_free(kcl_client_t *cl)
{
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &cl->conns) {
        kcl_conn_destroy(list_entry(pos, kcl_conn_t, link));
    }
    kcl_metadata_fini(cl);
    void (*cb)(void *) = cl->closed_cb;
    void *arg = cl->closed_arg;
    free(cl->bootstrap);
    free(cl->client_id);
    free(cl);
    if (cb)
        cb(arg);
}

void kcl_maybe_free(kcl_client_t *cl)
{
    if (cl->closing && cl->open_handles == 0)
        client_free(cl);
}

static void client_timer_closed(uv_handle_t *h)
{
    kcl_client_t *cl = h->data;
    cl->open_handles--;
    kcl_maybe_free(cl);
}

int kcl_client_new(uv_loop_t *loop, const kcl_config_t *cfg, kcl_client_t **out)
{
    *out = NULL;
    if (!loop || !cfg || !cfg->bootstrap || cfg->max_in_flight < 1 || cfg->max_response_bytes < 8 || cfg->tick_ms < 1 ||
        cfg->max_queued < 1)
        return KCL_EINVAL;
    kcl_client_t *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return KCL_ENOMEM;
    cl->loop = loop;
    cl->cfg = *cfg;
    /* Clients started together must not retry together: the jitter differs per client. */
    cl->rng = uv_hrtime() ^ ((uint64_t)(uintptr_t)cl << 16) ^ 0x9e3779b97f4a7c15ull;
    cl->bootstrap = strdup(cfg->bootstrap);
    cl->client_id = strdup(cfg->client_id ? cfg->client_id : "eddy");
    list_init(&cl->conns);
    list_init(&cl->pending);
    list_init(&cl->meta_waiters);
    list_init(&cl->meta_next_waiters);
    arena_init(&cl->meta_arena, 0);
    cl->meta.controller_id = -1;
    if (!cl->bootstrap || !cl->client_id) {
        client_free(cl);
        return KCL_ENOMEM;
    }
    cl->cfg.bootstrap = cl->bootstrap;
    cl->cfg.client_id = cl->client_id;
    const char *s = cl->bootstrap;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        while (len > 0 && *s == ' ')
            s++, len--;
        while (len > 0 && s[len - 1] == ' ')
            len--;
        char host[256], port[8];
        if (split_addr(s, len, host, sizeof(host), port, sizeof(port)) != 0) {
            LOG_WARN(KCL_SUBSYS, "bad bootstrap address '%.*s': expected host:port", (int)len, s);
            client_free(cl);
            return KCL_EINVAL;
        }
        if (!kcl_conn_new(cl, -1 - cl->nbootstrap, host, port)) {
            client_free(cl);
            return KCL_ENOMEM;
        }
        cl->nbootstrap++;
        if (!comma)
            break;
        s = comma + 1;
    }
    if (cl->nbootstrap == 0) {
        client_free(cl);
        return KCL_EINVAL;
    }
    uv_timer_init(loop, &cl->timer);
    cl->timer.data = cl;
    uv_timer_init(loop, &cl->kick);
    cl->kick.data = cl;
    cl->open_handles = 2;
    *out = cl;
    return KCL_OK;
}

void kcl_client_close(kcl_client_t *cl, void (*closed_cb)(void *arg), void *arg)
{
    if (!cl || cl->closing)
        return;
    cl->closing = true;
    cl->closed_cb = closed_cb;
    cl->closed_arg = arg;
    while (!list_empty(&cl->pending))
        kcl_req_finish(list_entry(cl->pending.next, kcl_req_t, link), KCL_ECANCELLED, "the client was closed", NULL, -1,
                       -1);
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &cl->conns) {
        kcl_conn_fail(list_entry(pos, kcl_conn_t, link), KCL_ECANCELLED, "the client was closed");
    }
    kcl_metadata_cancel(cl);
    uv_timer_stop(&cl->timer);
    uv_close((uv_handle_t *)&cl->timer, client_timer_closed);
    uv_close((uv_handle_t *)&cl->kick, client_timer_closed);
}
