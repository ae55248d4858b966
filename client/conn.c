/*
 * client/conn.c: one TCP connection to one broker (or bootstrap address).
 *
 * States: DOWN -> (RESOLVING ->) CONNECTING -> HANDSHAKE -> READY, and from
 * any of them to CLOSING -> DOWN when it fails. A failed connection fails
 * its in-flight requests and waits out a jittered exponential backoff
 * before connecting again, which it does only when a request wants it.
 *
 * Response framing, as read here:
 *   size            int32, 4 <= size <= max_response_bytes (checked before buffering more)
 *   correlation_id  int32, must be the oldest in-flight request's
 *   tagged fields   flexible response header (not ApiVersions)
 *   body            decoded by the codec into conn->arena
 */
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "client/internal.h"
#include "protocol/gen/messages.h"
#include "protocol/header.h"
#include "protocol/kafka_errors.h"

#define READ_CHUNK              65536
#define CLIENT_SOFTWARE_VERSION "0.1.0"

typedef struct kcl_write_s {
    uv_write_t w;
    buf_t buf;
} kcl_write_t;

static void conn_send_api_versions(kcl_conn_t *conn, int16_t version);

kcl_conn_t *kcl_conn_new(kcl_client_t *cl, int32_t node_id, const char *host, const char *port)
{
    kcl_conn_t *conn = calloc(1, sizeof(*conn));
    if (!conn)
        return NULL;
    conn->cl = cl;
    conn->node_id = node_id;
    snprintf(conn->host, sizeof(conn->host), "%s", host);
    snprintf(conn->port, sizeof(conn->port), "%s", port);
    conn->state = KCL_CONN_DOWN;
    list_init(&conn->waiting);
    list_init(&conn->inflight);
    buf_init(&conn->in);
    /*
     * Decoded arrays cost more than their wire bytes (a struct per element);
     * the limit keeps a hostile answer's amplification bounded: past it the
     * decode fails as malformed.
     */
    arena_init(&conn->arena, (size_t)cl->cfg.max_response_bytes * 8 + (1u << 20));
    conn->next_correlation_id = 1;
    list_insert_tail(&cl->conns, &conn->link);
    return conn;
}

void kcl_conn_destroy(kcl_conn_t *conn)
{
    list_remove(&conn->link);
    buf_fini(&conn->in);
    arena_fini(&conn->arena);
    free(conn);
}

kcl_conn_t *kcl_conn_for_node(kcl_client_t *cl, int32_t node_id, bool create)
{
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &cl->conns) {
        kcl_conn_t *conn = list_entry(pos, kcl_conn_t, link);
        if (conn->node_id != node_id)
            continue;
        /* A broker that moved is reached at its new address from the next connect on. */
        const kcl_broker_t *b = node_id >= 0 ? kcl_metadata_broker(cl, node_id) : NULL;
        if (b && b->host && b->port > 0 && b->port <= 65535 && strlen(b->host) < sizeof(conn->host)) {
            char port[8];
            snprintf(port, sizeof(port), "%d", (int)b->port);
            if (strcmp(conn->host, b->host) != 0 || strcmp(conn->port, port) != 0) {
                snprintf(conn->host, sizeof(conn->host), "%s", b->host);
                snprintf(conn->port, sizeof(conn->port), "%s", port);
            }
        }
        return conn;
    }
    if (!create || node_id < 0)
        return NULL;
    const kcl_broker_t *b = kcl_metadata_broker(cl, node_id);
    if (!b || !b->host || b->port <= 0 || b->port > 65535 || strlen(b->host) >= sizeof(((kcl_conn_t *)0)->host))
        return NULL;
    char port[8];
    snprintf(port, sizeof(port), "%d", (int)b->port);
    return kcl_conn_new(cl, node_id, b->host, port);
}

int kcl_conn_load(const kcl_conn_t *conn)
{
    int n = conn->ninflight;
    const list_t *pos;
    for (pos = conn->waiting.next; pos != &conn->waiting; pos = pos->next)
        n++;
    return n;
}

static void conn_closed(uv_handle_t *h)
{
    kcl_conn_t *conn = h->data;
    kcl_client_t *cl = conn->cl;
    conn->state = KCL_CONN_DOWN;
    cl->open_handles--;
    kcl_maybe_free(cl);
}

static int64_t conn_backoff(kcl_conn_t *conn)
{
    const kcl_config_t *cfg = &conn->cl->cfg;
    int64_t ms = cfg->reconnect_backoff_ms;
    for (int i = 1; i < conn->failures && ms < cfg->reconnect_backoff_max_ms; i++)
        ms *= 2;
    if (ms > cfg->reconnect_backoff_max_ms)
        ms = cfg->reconnect_backoff_max_ms;
    /* +-20% jitter, so that clients that failed together do not return together. */
    int64_t span = ms / 5;
    if (span > 0)
        ms += (int64_t)(kcl_random(conn->cl) % (uint32_t)(2 * span + 1)) - span;
    return ms > 0 ? ms : 0;
}

void kcl_conn_fail(kcl_conn_t *conn, int status, const char *why)
{
    kcl_client_t *cl = conn->cl;
    kcl_conn_state_t was = conn->state;
    if (was != KCL_CONN_DOWN && was != KCL_CONN_CLOSING) {
        if (status != KCL_OK && status != KCL_ECANCELLED)
            LOG_INFO(KCL_SUBSYS, "connection to node %d (%s:%s) closed: %s", (int)conn->node_id, conn->host, conn->port,
                     why);
        if (was == KCL_CONN_RESOLVING) {
            uv_cancel((uv_req_t *)&conn->gai); /* the callback sees CLOSING either way */
        } else {
            uv_close((uv_handle_t *)&conn->tcp, conn_closed);
        }
        conn->state = KCL_CONN_CLOSING;
        if (status != KCL_OK && was != KCL_CONN_READY)
            conn->failures++;
        else if (status != KCL_OK)
            conn->failures = 1;
        conn->reconnect_at = kcl_now(cl) + (status == KCL_OK ? 0 : conn_backoff(conn));
    }
    conn->in.len = 0;
    conn->handshake = NULL;
    for (int i = 0; i < KCL_MAX_API_KEY; i++)
        conn->apis[i].min = conn->apis[i].max = -1;
    /*
     * The lists are moved aside first: a callback below may close the
     * client, which fails this connection again.
     */
    list_t inflight, waiting;
    list_init(&inflight);
    list_init(&waiting);
    if (!list_empty(&conn->inflight)) {
        inflight = conn->inflight;
        inflight.next->prev = inflight.prev->next = &inflight;
        list_init(&conn->inflight);
    }
    if (!list_empty(&conn->waiting)) {
        waiting = conn->waiting;
        waiting.next->prev = waiting.prev->next = &waiting;
        list_init(&conn->waiting);
    }
    conn->ninflight = 0;
    bool first = true;
    while (!list_empty(&inflight)) {
        kcl_req_t *req = list_entry(inflight.next, kcl_req_t, link);
        kcl_req_fail(req, first || cl->closing ? status : KCL_ECONN, why);
        first = false;
    }
    while (!list_empty(&waiting)) {
        kcl_req_t *req = list_entry(waiting.next, kcl_req_t, link);
        list_remove(&req->link);
        req->conn = NULL;
        if (cl->closing) {
            kcl_req_finish(req, KCL_ECANCELLED, why, NULL, -1, conn->node_id);
        } else if (req->spec.node_id == KCL_NODE_ANY) {
            /* Not sent: another broker may take it now, without a retry's backoff. */
            list_insert_tail(&cl->pending, &req->link);
        } else {
            list_insert_tail(&conn->waiting, &req->link); /* waits for the reconnect */
            req->conn = conn;
        }
    }
    kcl_timer_kick(cl);
}

static void conn_on_write(uv_write_t *w, int status)
{
    kcl_write_t *wr = (kcl_write_t *)w;
    kcl_conn_t *conn = w->data;
    buf_fini(&wr->buf);
    free(wr);
    if (status < 0 && status != UV_ECANCELED && conn->state != KCL_CONN_CLOSING && conn->state != KCL_CONN_DOWN)
        kcl_conn_fail(conn, KCL_ECONN, uv_strerror(status));
}

/*
 * Request frame, as written here:
 *   size     int32, bytes that follow
 *   header   api_key, api_version, correlation_id, client_id; tagged fields from header v2
 *   body     the request struct, encoded by its descriptor at req->version
 * Returns 0, or a KCL_E* status with nothing sent.
 */
static int conn_write_request(kcl_conn_t *conn, kcl_req_t *req, const void *body)
{
    const proto_api_desc_t *api = proto_api_find(req->spec.api_key);
    kcl_write_t *wr = calloc(1, sizeof(*wr));
    if (!wr)
        return KCL_ENOMEM;
    buf_init(&wr->buf);
    proto_writer_t w;
    proto_writer_init(&w, &wr->buf);
    proto_wr_i32(&w, 0);
    proto_req_header_t hdr = {
        .api_key = api->key,
        .api_version = req->version,
        .correlation_id = conn->next_correlation_id,
        .client_id = proto_str_c(conn->cl->client_id),
    };
    proto_req_header_write(&w, &hdr, api);
    int rc = proto_msg_encode(api->request, &w, req->version, proto_api_flexible(api, req->version), body);
    if (rc != 0 || w.err != 0 || wr->buf.len < 4 || wr->buf.len - 4 > INT32_MAX) {
        buf_fini(&wr->buf);
        free(wr);
        return KCL_EENCODE;
    }
    proto_wr_patch_i32(&w, 0, (int32_t)(wr->buf.len - 4));
    uv_buf_t b = uv_buf_init((char *)wr->buf.data, (unsigned)wr->buf.len);
    wr->w.data = conn;
    rc = uv_write(&wr->w, (uv_stream_t *)&conn->tcp, &b, 1, conn_on_write);
    if (rc != 0) {
        buf_fini(&wr->buf);
        free(wr);
        return KCL_ECONN;
    }
    req->correlation_id = conn->next_correlation_id++;
    if (conn->next_correlation_id == INT32_MAX)
        conn->next_correlation_id = 1;
    req->conn = conn;
    list_insert_tail(&conn->inflight, &req->link);
    conn->ninflight++;
    return KCL_OK;
}

void kcl_conn_pump(kcl_conn_t *conn)
{
    kcl_client_t *cl = conn->cl;
    while (conn->state == KCL_CONN_READY && conn->ninflight < cl->cfg.max_in_flight && !list_empty(&conn->waiting) &&
           !cl->closing) {
        kcl_req_t *req = list_entry(conn->waiting.next, kcl_req_t, link);
        list_remove(&req->link);
        req->conn = NULL;
        req->version = kcl_choose_version(conn, req->spec.api_key, req->spec.max_version);
        if (req->version < 0) {
            kcl_req_finish(req, KCL_EUNSUPPORTED, "the broker supports no version of this API that eddy does", NULL, -1,
                           conn->node_id);
            continue;
        }
        int rc = conn_write_request(conn, req, req->spec.body);
        if (rc == KCL_ECONN) {
            list_insert_tail(&conn->waiting, &req->link); /* failed with the connection, below */
            req->conn = conn;
            kcl_conn_fail(conn, KCL_ECONN, "write failed");
            return;
        }
        if (rc != KCL_OK)
            kcl_req_finish(req, rc, kcl_strerror(rc), NULL, req->version, conn->node_id);
    }
}

/* --- reading ---------------------------------------------------------- */

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    kcl_conn_t *conn = h->data;
    if (buf_reserve(&conn->in, READ_CHUNK) != 0) {
        *out = uv_buf_init(NULL, 0); /* read fails with UV_ENOBUFS */
        return;
    }
    *out = uv_buf_init((char *)conn->in.data + conn->in.len, (unsigned)(conn->in.cap - conn->in.len));
}

static bool conn_open(const kcl_conn_t *conn)
{
    return conn->state == KCL_CONN_HANDSHAKE || conn->state == KCL_CONN_READY;
}

static void conn_handshake_done(kcl_conn_t *conn, kcl_req_t *req, proto_reader_t *rd)
{
    const proto_api_desc_t *api = proto_api_find(PROTO_API_API_VERSIONS);
    proto_reader_t peek = *rd;
    int16_t ec = proto_rd_i16(&peek);
    if (!peek.err && ec != KERR_NONE && req->version > 0) {
        /* UNSUPPORTED_VERSION comes in the v0 layout (KIP-511); v0 has nothing to refuse. */
        free(req);
        conn->handshake = NULL;
        conn_send_api_versions(conn, 0);
        return;
    }
    proto_api_versions_resp_t resp;
    proto_msg_init(api->response, req->version, &resp);
    int rc =
        proto_msg_decode(api->response, rd, req->version, proto_api_flexible(api, req->version), &conn->arena, &resp);
    free(req);
    conn->handshake = NULL;
    if (rc != 0 || rd->err || resp.error_code != KERR_NONE) {
        LOG_WARN(KCL_SUBSYS, "node %d (%s:%s): unusable ApiVersions answer (decode %d, error %d)", (int)conn->node_id,
                 conn->host, conn->port, rc ? rc : rd->err, (int)resp.error_code);
        arena_reset(&conn->arena);
        kcl_conn_fail(conn, KCL_EMALFORMED, "unusable ApiVersions answer");
        return;
    }
    for (int32_t i = 0; i < resp.api_keys.n; i++) {
        const proto_api_versions_resp_api_version_t *e = &resp.api_keys.items[i];
        if (e->api_key >= 0 && e->api_key < KCL_MAX_API_KEY && e->min_version >= 0 && e->max_version >= e->min_version)
            conn->apis[e->api_key] = (kcl_api_range_t){e->min_version, e->max_version};
    }
    arena_reset(&conn->arena);
    conn->state = KCL_CONN_READY;
    conn->failures = 0;
    kcl_conn_pump(conn);
}

/* One whole frame. Returns false when the connection was closed. */
static bool conn_on_frame(kcl_conn_t *conn, const uint8_t *frame, int32_t size)
{
    proto_reader_t rd;
    proto_reader_init(&rd, frame, (size_t)size);
    int32_t cid = proto_rd_i32(&rd);
    kcl_req_t *req = list_empty(&conn->inflight) ? NULL : list_entry(conn->inflight.next, kcl_req_t, link);
    if (!req || req->correlation_id != cid) {
        LOG_WARN(KCL_SUBSYS, "node %d (%s:%s) answered with correlation id %d, expected %d: closing",
                 (int)conn->node_id, conn->host, conn->port, (int)cid, req ? (int)req->correlation_id : -1);
        kcl_conn_fail(conn, KCL_ECONN, "response correlation id out of order");
        return false;
    }
    list_remove(&req->link);
    conn->ninflight--;
    req->conn = NULL;
    const proto_api_desc_t *api = proto_api_find(req->spec.api_key);
    if (proto_resp_header_flexible(api, req->version))
        proto_rd_skip_tags(&rd);
    if (req->internal) {
        conn_handshake_done(conn, req, &rd);
        return conn_open(conn);
    }
    void *body = arena_alloc(&conn->arena, api->response->size);
    int rc = rd.err ? rd.err : PROTO_ENOMEM;
    if (body && !rd.err) {
        proto_msg_init(api->response, req->version, body);
        rc = proto_msg_decode(api->response, &rd, req->version, proto_api_flexible(api, req->version), &conn->arena,
                              body);
    }
    if (rc != 0 || rd.err) {
        LOG_WARN(KCL_SUBSYS, "node %d (%s:%s): malformed %s v%d response (error %d at reader line %d): closing",
                 (int)conn->node_id, conn->host, conn->port, api->name, (int)req->version, rc ? rc : rd.err, rd.line);
        arena_reset(&conn->arena);
        kcl_req_finish(req, KCL_EMALFORMED, "malformed response", NULL, req->version, conn->node_id);
        kcl_conn_fail(conn, KCL_ECONN, "malformed response");
        return false;
    }
    if (proto_rd_remaining(&rd) > 0)
        LOG_DEBUG(KCL_SUBSYS, "node %d: %zu bytes after the %s response's known fields", (int)conn->node_id,
                  proto_rd_remaining(&rd), api->name);
    conn->dispatching = true;
    int16_t kerr = 0;
    if (req->spec.retry_check) {
        kcl_response_t resp = {
            .status = KCL_OK, .api_key = api->key, .version = req->version, .node_id = conn->node_id, .body = body};
        kerr = req->spec.retry_check(req->spec.arg, &resp);
    }
    if (kerr != 0 && kcl_kafka_retriable(kerr) && kcl_req_may_retry(req)) {
        kcl_req_fail(req, KCL_EKAFKA, proto_kafka_error_name(kerr));
    } else {
        kcl_req_finish(req, KCL_OK, NULL, body, req->version, conn->node_id);
    }
    conn->dispatching = false;
    arena_reset(&conn->arena);
    return conn_open(conn);
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    kcl_conn_t *conn = s->data;
    if (!conn_open(conn))
        return;
    if (nread < 0) {
        kcl_conn_fail(conn, KCL_ECONN, nread == UV_EOF ? "closed by the broker" : uv_strerror((int)nread));
        return;
    }
    conn->in.len += (size_t)nread;
    size_t at = 0;
    while (conn_open(conn) && conn->in.len - at >= 4) {
        const uint8_t *p = conn->in.data + at;
        int32_t size = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        if (size < 4 || size > conn->cl->cfg.max_response_bytes) {
            LOG_WARN(KCL_SUBSYS, "node %d (%s:%s) sent a frame of %d bytes (limit %d): closing", (int)conn->node_id,
                     conn->host, conn->port, (int)size, (int)conn->cl->cfg.max_response_bytes);
            kcl_conn_fail(conn, size < 4 ? KCL_EMALFORMED : KCL_ETOOLARGE, "bad response frame size");
            return;
        }
        if (conn->in.len - at - 4 < (size_t)size)
            break;
        if (!conn_on_frame(conn, p + 4, size))
            return;
        at += 4 + (size_t)size;
    }
    if (conn_open(conn)) {
        buf_consume(&conn->in, at);
        buf_shrink(&conn->in, READ_CHUNK);
        kcl_conn_pump(conn); /* answered requests freed in-flight slots */
    }
}

/* --- connecting -------------------------------------------------------- */

static void conn_send_api_versions(kcl_conn_t *conn, int16_t version)
{
    kcl_req_t *req = calloc(1, sizeof(*req));
    if (!req) {
        kcl_conn_fail(conn, KCL_ENOMEM, "out of memory");
        return;
    }
    list_init(&req->link);
    req->cl = conn->cl;
    req->internal = true;
    req->spec.api_key = PROTO_API_API_VERSIONS;
    req->version = version;
    req->attempt_deadline = kcl_now(conn->cl) + conn->cl->cfg.request_timeout_ms;
    conn->api_versions_version = version;
    proto_api_versions_req_t body;
    proto_msg_init(&proto_api_versions_req_desc, version, &body);
    body.client_software_name = proto_str_c("eddy");
    body.client_software_version = proto_str_c(CLIENT_SOFTWARE_VERSION);
    int rc = conn_write_request(conn, req, &body);
    if (rc != KCL_OK) {
        free(req);
        kcl_conn_fail(conn, rc, "cannot send ApiVersions");
        return;
    }
    conn->handshake = req;
}

static void conn_on_connect(uv_connect_t *c, int status)
{
    kcl_conn_t *conn = c->data;
    if (status == UV_ECANCELED || conn->state != KCL_CONN_CONNECTING)
        return;
    if (status < 0) {
        char why[160];
        snprintf(why, sizeof(why), "connect failed: %s", uv_strerror(status));
        kcl_conn_fail(conn, KCL_ECONN, why);
        return;
    }
    uv_tcp_nodelay(&conn->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_on_read);
    if (rc != 0) {
        kcl_conn_fail(conn, KCL_ECONN, uv_strerror(rc));
        return;
    }
    conn->state = KCL_CONN_HANDSHAKE;
    const proto_api_desc_t *api = proto_api_find(PROTO_API_API_VERSIONS);
    conn_send_api_versions(conn, api->max_version < 3 ? api->max_version : 3);
}

static void conn_connect_addr(kcl_conn_t *conn, const struct sockaddr *addr)
{
    kcl_client_t *cl = conn->cl;
    uv_tcp_init(cl->loop, &conn->tcp);
    conn->tcp.data = conn;
    cl->open_handles++;
    conn->state = KCL_CONN_CONNECTING;
    conn->connect_req.data = conn;
    int rc = uv_tcp_connect(&conn->connect_req, &conn->tcp, addr, conn_on_connect);
    if (rc != 0) {
        char why[160];
        snprintf(why, sizeof(why), "connect failed: %s", uv_strerror(rc));
        kcl_conn_fail(conn, KCL_ECONN, why);
    }
}

static void conn_on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
    kcl_conn_t *conn = g->data;
    kcl_client_t *cl = conn->cl;
    conn->gai_pending = false;
    cl->open_handles--;
    if (conn->state != KCL_CONN_RESOLVING) { /* failed or cancelled meanwhile */
        if (conn->state == KCL_CONN_CLOSING)
            conn->state = KCL_CONN_DOWN;
        uv_freeaddrinfo(res);
        kcl_maybe_free(cl);
        return;
    }
    if (status < 0 || !res) {
        conn->state = KCL_CONN_DOWN; /* nothing to close */
        conn->failures++;
        conn->reconnect_at = kcl_now(cl) + conn_backoff(conn);
        LOG_INFO(KCL_SUBSYS, "cannot resolve %s: %s", conn->host, uv_strerror(status));
        uv_freeaddrinfo(res);
        return;
    }
    conn_connect_addr(conn, res->ai_addr);
    uv_freeaddrinfo(res);
}

void kcl_conn_want(kcl_conn_t *conn)
{
    kcl_client_t *cl = conn->cl;
    if (conn->state != KCL_CONN_DOWN || cl->closing || kcl_now(cl) < conn->reconnect_at)
        return;
    conn->connect_deadline = kcl_now(cl) + cl->cfg.connect_timeout_ms;
    conn->in.len = 0;
    conn->next_correlation_id = 1;
    for (int i = 0; i < KCL_MAX_API_KEY; i++)
        conn->apis[i].min = conn->apis[i].max = -1;
    kcl_timer_kick(cl);
    struct sockaddr_storage ss;
    if (uv_ip4_addr(conn->host, atoi(conn->port), (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(conn->host, atoi(conn->port), (struct sockaddr_in6 *)&ss) == 0) {
        conn_connect_addr(conn, (const struct sockaddr *)&ss);
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    conn->gai.data = conn;
    conn->state = KCL_CONN_RESOLVING;
    int rc = uv_getaddrinfo(cl->loop, &conn->gai, conn_on_resolved, conn->host, conn->port, &hints);
    if (rc != 0) {
        conn->state = KCL_CONN_DOWN;
        conn->failures++;
        conn->reconnect_at = kcl_now(cl) + conn_backoff(conn);
        return;
    }
    conn->gai_pending = true;
    cl->open_handles++;
}

void kcl_conn_tick(kcl_conn_t *conn, int64_t now)
{
    kcl_client_t *cl = conn->cl;
    if ((conn->state == KCL_CONN_CONNECTING || conn->state == KCL_CONN_RESOLVING) && now >= conn->connect_deadline) {
        kcl_conn_fail(conn, KCL_ECONN, "connect timed out");
        return;
    }
    if (!list_empty(&conn->inflight)) {
        kcl_req_t *oldest = list_entry(conn->inflight.next, kcl_req_t, link);
        if (now >= oldest->attempt_deadline) {
            /* Kafka answers in order: nothing behind a lost answer can come, so the connection goes. */
            kcl_conn_fail(conn, KCL_ETIMEDOUT, "request timed out");
            return;
        }
    }
    list_t expired, *pos, *tmp;
    list_init(&expired);
    list_foreach_safe (pos, tmp, &conn->waiting) {
        kcl_req_t *req = list_entry(pos, kcl_req_t, link);
        if (now >= req->attempt_deadline) {
            list_remove(&req->link);
            list_insert_tail(&expired, &req->link);
        }
    }
    while (!list_empty(&expired))
        kcl_req_fail(list_entry(expired.next, kcl_req_t, link), KCL_ETIMEDOUT,
                     "request timed out waiting for a connection");
    if (cl->closing)
        return;
    if (conn->state == KCL_CONN_DOWN && !list_empty(&conn->waiting))
        kcl_conn_want(conn);
}
