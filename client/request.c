/*
 * client/request.c: submitting, routing, retrying and finishing requests.
 *
 * A submitted request waits on client->pending until the next loop turn
 * (so its callback never runs inside kcl_request_submit), is then bound to
 * a connection (its node's, or the least loaded one for KCL_NODE_ANY) and
 * sent from there when the in-flight limit allows. A failed attempt that
 * may succeed again goes back to pending with a doubling backoff.
 */
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "client/internal.h"

void kcl_request_init(kcl_request_t *req, int16_t api_key, const void *body, kcl_response_cb cb, void *arg)
{
    memset(req, 0, sizeof(*req));
    req->api_key = api_key;
    req->max_version = -1;
    req->node_id = KCL_NODE_ANY;
    req->body = body;
    req->retries = -1;
    req->cb = cb;
    req->arg = arg;
}

int16_t kcl_choose_version(const kcl_conn_t *conn, int16_t api_key, int16_t cap)
{
    const proto_api_desc_t *api = proto_api_find(api_key);
    if (!api || api_key < 0 || api_key >= KCL_MAX_API_KEY)
        return -1;
    kcl_api_range_t b = conn->apis[api_key];
    if (b.max < 0)
        return -1;
    int16_t hi = b.max < api->max_version ? b.max : api->max_version;
    if (cap >= 0 && cap < hi)
        hi = cap;
    int16_t lo = b.min > api->min_version ? b.min : api->min_version;
    return hi >= lo ? hi : -1;
}

int16_t kcl_api_version(kcl_client_t *cl, int32_t node_id, int16_t api_key)
{
    kcl_conn_t *conn = kcl_conn_for_node(cl, node_id, false);
    if (!conn || conn->state != KCL_CONN_READY)
        return -1;
    return kcl_choose_version(conn, api_key, -1);
}

kcl_req_t *kcl_req_new(kcl_client_t *cl, const kcl_request_t *spec)
{
    kcl_req_t *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    list_init(&req->link);
    req->cl = cl;
    req->spec = *spec;
    if (req->spec.timeout_ms <= 0)
        req->spec.timeout_ms = cl->cfg.request_timeout_ms;
    req->retries = spec->retries < 0 ? cl->cfg.retries : spec->retries;
    req->version = -1;
    req->submitted_ms = kcl_now(cl);
    req->attempt_deadline = req->submitted_ms + req->spec.timeout_ms;
    return req;
}

int kcl_request_submit(kcl_client_t *cl, const kcl_request_t *spec)
{
    if (!cl || !spec || !spec->cb || !spec->body || !proto_api_find(spec->api_key) || cl->closing)
        return KCL_EINVAL;
    if (spec->node_id != KCL_NODE_ANY && !kcl_conn_for_node(cl, spec->node_id, true))
        return KCL_ENONODE;
    if (cl->nreqs >= cl->cfg.max_queued)
        return KCL_EFULL;
    kcl_req_t *req = kcl_req_new(cl, spec);
    if (!req)
        return KCL_ENOMEM;
    cl->nreqs++;
    list_insert_tail(&cl->pending, &req->link);
    kcl_dispatch_soon(cl);
    return KCL_OK;
}

void kcl_req_finish(kcl_req_t *req, int status, const char *why, void *body, int16_t version, int32_t node_id)
{
    list_remove(&req->link);
    req->conn = NULL;
    if (req->internal) {
        free(req);
        return;
    }
    kcl_response_t resp = {
        .status = status,
        .api_key = req->spec.api_key,
        .version = version,
        .node_id = node_id,
        .body = status == KCL_OK ? body : NULL,
        .error = status == KCL_OK ? NULL : (why ? why : kcl_strerror(status)),
    };
    kcl_response_cb cb = req->spec.cb;
    void *arg = req->spec.arg;
    req->cl->nreqs--;
    free(req);
    cb(arg, &resp);
}

bool kcl_req_may_retry(const kcl_req_t *req)
{
    int64_t now = kcl_now(req->cl);
    bool in_time = req->spec.deadline_ms <= 0 || now - req->submitted_ms < req->spec.deadline_ms;
    return !req->cl->closing && req->attempts < req->retries && in_time;
}

static bool status_retriable(int status)
{
    return status == KCL_ECONN || status == KCL_ETIMEDOUT || status == KCL_EKAFKA;
}

void kcl_req_fail(kcl_req_t *req, int status, const char *why)
{
    kcl_client_t *cl = req->cl;
    int32_t node_id = req->conn ? req->conn->node_id : req->spec.node_id;
    int16_t version = req->version;
    list_remove(&req->link);
    req->conn = NULL;
    if (req->internal) {
        free(req);
        return;
    }
    if (cl->closing) {
        kcl_req_finish(req, KCL_ECANCELLED, "the client was closed", NULL, version, node_id);
        return;
    }
    int64_t now = kcl_now(cl);
    if (status_retriable(status) && kcl_req_may_retry(req)) {
        req->attempts++;
        int64_t backoff = cl->cfg.retry_backoff_ms;
        for (int i = 1; i < req->attempts && backoff < cl->cfg.reconnect_backoff_max_ms; i++)
            backoff *= 2;
        if (backoff > cl->cfg.reconnect_backoff_max_ms && cl->cfg.reconnect_backoff_max_ms > cl->cfg.retry_backoff_ms)
            backoff = cl->cfg.reconnect_backoff_max_ms;
        LOG_DEBUG(KCL_SUBSYS, "retrying API %d request (attempt %d of %d) in %lld ms: %s", (int)req->spec.api_key,
                  req->attempts + 1, req->retries + 1, (long long)backoff, why ? why : kcl_strerror(status));
        req->last_status = status;
        req->retry_at = now + (backoff > 0 ? backoff : 1);
        req->attempt_deadline = req->retry_at + req->spec.timeout_ms;
        list_insert_tail(&cl->pending, &req->link);
        kcl_timer_kick(cl);
        return;
    }
    kcl_req_finish(req, status, why, NULL, version, node_id);
}

/* The connection an "any" request goes to: ready and least loaded, else one on its way, else one to start. */
static kcl_conn_t *pick_any(kcl_client_t *cl, int64_t now)
{
    const kcl_metadata_t *md = &cl->meta;
    kcl_conn_t *best = NULL;
    int best_rank = 99, best_load = 0;
    int n = md->nbrokers > 0 ? md->nbrokers : cl->nbootstrap;
    int start = cl->next_bootstrap;
    for (int k = 0; k < n; k++) {
        int i = (start + k) % n;
        kcl_conn_t *conn = md->nbrokers > 0 ? kcl_conn_for_node(cl, md->brokers[i].node_id, true)
                                            : kcl_conn_for_node(cl, -1 - i, false);
        if (!conn)
            continue;
        int rank;
        if (conn->state == KCL_CONN_READY)
            rank = 0;
        else if (conn->state == KCL_CONN_HANDSHAKE || conn->state == KCL_CONN_CONNECTING ||
                 conn->state == KCL_CONN_RESOLVING)
            rank = 1;
        else if (conn->state == KCL_CONN_DOWN && now >= conn->reconnect_at)
            rank = 2;
        else
            rank = 3;
        int load = kcl_conn_load(conn);
        if (!best || rank < best_rank || (rank == best_rank && rank < 3 && load < best_load) ||
            (rank == 3 && best_rank == 3 && conn->reconnect_at < best->reconnect_at)) {
            best = conn;
            best_rank = rank;
            best_load = load;
        }
    }
    if (best && best_rank >= 2)
        cl->next_bootstrap = (start + 1) % (n > 0 ? n : 1); /* the next start tries the next address */
    return best;
}

void kcl_dispatch(kcl_client_t *cl)
{
    int64_t now = kcl_now(cl);
    list_t *pos, *tmp;
    /* A callback may close the client, which empties pending: check before following tmp. */
    for (pos = cl->pending.next; !cl->closing && pos != &cl->pending; pos = tmp) {
        tmp = pos->next;
        kcl_req_t *req = list_entry(pos, kcl_req_t, link);
        if (req->retry_at > now) {
            continue;
        }
        if (now >= req->attempt_deadline) {
            kcl_req_fail(req, KCL_ETIMEDOUT, "request timed out waiting for a connection");
            continue;
        }
        kcl_conn_t *conn =
            req->spec.node_id == KCL_NODE_ANY ? pick_any(cl, now) : kcl_conn_for_node(cl, req->spec.node_id, true);
        if (!conn) {
            kcl_req_finish(req, KCL_ENONODE, "the node is not in the metadata", NULL, -1, req->spec.node_id);
            continue;
        }
        req->retry_at = 0;
        list_remove(&req->link);
        list_insert_tail(&conn->waiting, &req->link);
        req->conn = conn;
        kcl_conn_want(conn);
        kcl_conn_pump(conn);
    }
    kcl_timer_kick(cl);
}
