/* cluster/etcd_client: endpoints, failover, backoff; see etcd.h. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cluster/etcd.h"
#include "cluster/etcd_http.h"
#include "cluster/etcd_internal.h"

#define ETCD_MAX_ENDPOINTS 16
#define BACKOFF_FIRST_MS   25
#define BACKOFF_MAX_MS     1000

typedef struct etcd_call_s etcd_call_t;

struct etcd_client_s {
    uv_loop_t *loop;
    etcd_http_t *http;
    char *endpoints[ETCD_MAX_ENDPOINTS];
    size_t n_endpoints;
    size_t current; /* the endpoint that answered last */
    long request_timeout_ms;
    size_t max_reply;
    etcd_call_t *calls;
};

struct etcd_call_s {
    etcd_call_t *next;
    etcd_client_t *cli;
    uv_timer_t backoff;
    char *path;
    char *json;
    int64_t deadline_ms;
    unsigned attempt;
    etcd_raw_cb cb;
    void *arg;
};

static void call_closed(uv_handle_t *handle)
{
    etcd_call_t *call = handle->data;
    free(call->path);
    free(call->json);
    free(call);
}

static void call_end(etcd_call_t *call)
{
    for (etcd_call_t **pp = &call->cli->calls; *pp; pp = &(*pp)->next) {
        if (*pp == call) {
            *pp = call->next;
            break;
        }
    }
    uv_close((uv_handle_t *)&call->backoff, call_closed);
}

static void attempt(etcd_call_t *call);

static void on_backoff(uv_timer_t *timer)
{
    attempt(timer->data);
}

/* Next endpoint after a backoff of 25 ms doubling to 1 s, each drawn in
 * [half, full] so brokers that lost etcd together do not retry together. */
static void retry(etcd_call_t *call)
{
    etcd_client_t *cli = call->cli;
    cli->current = (cli->current + 1) % cli->n_endpoints;
    unsigned shift = call->attempt < 6 ? call->attempt : 6;
    int64_t full = BACKOFF_FIRST_MS << shift;
    if (full > BACKOFF_MAX_MS)
        full = BACKOFF_MAX_MS;
    int64_t wait = full / 2 + (int64_t)(random() % (full / 2 + 1));
    call->attempt++;
    if (clock_mono_ms() + wait >= call->deadline_ms) {
        call->cb(call->arg, ETCD_EUNAVAILABLE, NULL, 0);
        call_end(call);
        return;
    }
    uv_timer_start(&call->backoff, on_backoff, (uint64_t)wait, 0);
}

static void on_http(void *arg, int rc, long status, const char *body, size_t len)
{
    etcd_call_t *call = arg;
    if (rc == ETCD_EUNAVAILABLE || (rc == 0 && status >= 500 && etcd_json_parse_error(body, len) != ETCD_ELEASE)) {
        retry(call);
        return;
    }
    if (rc == 0 && (status < 200 || status > 299))
        rc = etcd_json_parse_error(body, len);
    call->cb(call->arg, rc, rc ? NULL : body, rc ? 0 : len);
    call_end(call);
}

static void attempt(etcd_call_t *call)
{
    etcd_client_t *cli = call->cli;
    int64_t left = call->deadline_ms - clock_mono_ms();
    if (left <= 0) {
        call->cb(call->arg, ETCD_EUNAVAILABLE, NULL, 0);
        call_end(call);
        return;
    }
    long timeout = cli->request_timeout_ms < left ? cli->request_timeout_ms : (long)left;
    char url[512];
    snprintf(url, sizeof url, "%s%s", cli->endpoints[cli->current], call->path);
    if (etcd_http_post(cli->http, url, call->json, timeout, on_http, call) != 0) {
        call->cb(call->arg, ETCD_ENOMEM, NULL, 0);
        call_end(call);
    }
}

etcd_client_t *etcd_client_new(uv_loop_t *loop, const char *endpoints, const etcd_opts_t *opts)
{
    etcd_client_t *cli = calloc(1, sizeof *cli);
    if (!cli)
        return NULL;
    cli->loop = loop;
    cli->request_timeout_ms = opts && opts->request_timeout_ms ? opts->request_timeout_ms : 2000;
    const char *p = endpoints;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        while (n && p[n - 1] == ' ')
            n--;
        if (n) {
            if (cli->n_endpoints == ETCD_MAX_ENDPOINTS)
                goto fail;
            /* a URL without a trailing slash, so paths join cleanly */
            while (n && p[n - 1] == '/')
                n--;
            if (!(cli->endpoints[cli->n_endpoints++] = strndup(p, n)))
                goto fail;
        }
        p += strcspn(p, ",");
        while (*p == ',' || *p == ' ')
            p++;
    }
    if (!cli->n_endpoints)
        goto fail;
    cli->max_reply = opts && opts->max_reply ? opts->max_reply : 4u << 20;
    cli->http = etcd_http_new(loop, cli->max_reply);
    if (cli->http)
        return cli;
fail:
    etcd_client_free(cli);
    return NULL;
}

void etcd_client_free(etcd_client_t *cli)
{
    if (!cli)
        return;
    etcd_http_free(cli->http);
    while (cli->calls)
        call_end(cli->calls);
    for (size_t i = 0; i < cli->n_endpoints; i++)
        free(cli->endpoints[i]);
    free(cli);
}

uv_loop_t *etcd_client_loop(etcd_client_t *cli)
{
    return cli->loop;
}

int etcd_call(etcd_client_t *cli, const char *path, const char *json, int64_t deadline_ms, etcd_raw_cb cb, void *arg)
{
    etcd_call_t *call = calloc(1, sizeof *call);
    if (!call)
        return ETCD_ENOMEM;
    call->path = strdup(path);
    call->json = strdup(json);
    if (!call->path || !call->json) {
        free(call->path);
        free(call->json);
        free(call);
        return ETCD_ENOMEM;
    }
    call->cli = cli;
    call->deadline_ms = deadline_ms;
    call->cb = cb;
    call->arg = arg;
    uv_timer_init(cli->loop, &call->backoff);
    call->backoff.data = call;
    call->next = cli->calls;
    cli->calls = call;
    /* Started from the loop so the callback never runs inside this call. */
    uv_timer_start(&call->backoff, on_backoff, 0, 0);
    return 0;
}

etcd_http_t *etcd_client_http(etcd_client_t *cli)
{
    return cli->http;
}

int etcd_client_url(etcd_client_t *cli, int advance, const char *path, char *out, size_t cap)
{
    if (advance)
        cli->current = (cli->current + 1) % cli->n_endpoints;
    int n = snprintf(out, cap, "%s%s", cli->endpoints[cli->current], path);
    return n >= 0 && (size_t)n < cap ? 0 : ETCD_ETOOBIG;
}

long etcd_client_request_timeout(etcd_client_t *cli)
{
    return cli->request_timeout_ms;
}

size_t etcd_client_max_reply(etcd_client_t *cli)
{
    return cli->max_reply;
}
