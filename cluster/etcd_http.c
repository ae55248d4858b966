/* cluster/etcd_http: curl multi on libuv; see etcd_http.h. */
#include "cluster/etcd_http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cluster/etcd_json.h"

/* A one-shot request, or a stream (data != NULL). */
typedef struct etcd_http_stream_s http_req_t;
struct etcd_http_stream_s {
    http_req_t *next;
    etcd_http_t *http;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    buf_t reply;
    int too_big;
    etcd_http_cb cb;
    etcd_http_data_cb data;
    etcd_http_end_cb end;
    int canceled; /* a stream its owner ended while curl was running */
    void *arg;
};

struct etcd_http_s {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    size_t max_body;
    http_req_t *reqs;
    int in_curl; /* inside curl_multi_socket_action: no multi calls now */
};

/* One per socket curl watches; freed in its close callback. */
typedef struct http_sock_s {
    uv_poll_t poll;
    curl_socket_t fd;
    etcd_http_t *http;
} http_sock_t;

static void req_free(http_req_t *req)
{
    curl_easy_cleanup(req->easy);
    curl_slist_free_all(req->headers);
    free(req->body);
    buf_fini(&req->reply);
    free(req);
}

static void req_unlink(http_req_t *req)
{
    for (http_req_t **pp = &req->http->reqs; *pp; pp = &(*pp)->next) {
        if (*pp == req) {
            *pp = req->next;
            return;
        }
    }
}

static void check_done(etcd_http_t *http)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(http->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        http_req_t *req;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
        CURLcode res = msg->data.result;
        curl_multi_remove_handle(http->multi, req->easy);
        req_unlink(req);
        if (req->canceled) {
            req_free(req);
            continue;
        }
        long status = 0;
        int rc = 0;
        if (req->too_big)
            rc = ETCD_ETOOBIG;
        else if (res != CURLE_OK)
            rc = ETCD_EUNAVAILABLE;
        else
            curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        if (req->data)
            req->end(req->arg, rc, status);
        else
            req->cb(req->arg, rc, status, rc ? NULL : (const char *)req->reply.data, rc ? 0 : req->reply.len);
        req_free(req);
    }
}

/* Removes the streams cancelled while curl was running. */
static void sweep_canceled(etcd_http_t *http)
{
    http_req_t **pp = &http->reqs;
    while (*pp) {
        http_req_t *req = *pp;
        if (!req->canceled) {
            pp = &req->next;
            continue;
        }
        *pp = req->next;
        curl_multi_remove_handle(http->multi, req->easy);
        req_free(req);
    }
}

static void socket_action(etcd_http_t *http, curl_socket_t fd, int flags)
{
    int running;
    http->in_curl = 1;
    curl_multi_socket_action(http->multi, fd, flags, &running);
    http->in_curl = 0;
    sweep_canceled(http);
    check_done(http);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    http_sock_t *sock = poll->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    socket_action(sock->http, sock->fd, flags);
}

static void on_timer(uv_timer_t *timer)
{
    socket_action(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    etcd_http_t *http = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&http->timer);
    else
        uv_timer_start(&http->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void sock_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    etcd_http_t *http = userp;
    http_sock_t *sock = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sock) {
            uv_poll_stop(&sock->poll);
            uv_close((uv_handle_t *)&sock->poll, sock_closed);
            curl_multi_assign(http->multi, fd, NULL);
        }
        return 0;
    }
    if (!sock) {
        sock = calloc(1, sizeof *sock);
        if (!sock || uv_poll_init_socket(http->loop, &sock->poll, fd) != 0) {
            free(sock);
            return -1;
        }
        sock->fd = fd;
        sock->http = http;
        sock->poll.data = sock;
        curl_multi_assign(http->multi, fd, sock);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&sock->poll, events, on_poll);
    return 0;
}

static size_t on_write(char *data, size_t size, size_t n, void *userp)
{
    http_req_t *req = userp;
    size_t len = size * n;
    if (req->data) {
        long status = 0;
        if (req->canceled)
            return 0;
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status < 200 || status > 299)
            return len; /* an error body: the end callback has the status */
        if (req->data(req->arg, data, len) != 0)
            req->canceled = 1;
        return req->canceled ? 0 : len; /* 0 makes curl abort the transfer */
    }
    if (req->reply.len + len > req->http->max_body) {
        req->too_big = 1; /* a short count makes curl fail the transfer */
        return 0;
    }
    return buf_append(&req->reply, data, len) == 0 ? len : 0;
}

etcd_http_t *etcd_http_new(uv_loop_t *loop, size_t max_body)
{
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        curl_ready = 1;
    }
    etcd_http_t *http = calloc(1, sizeof *http);
    if (!http)
        return NULL;
    http->loop = loop;
    http->max_body = max_body;
    http->multi = curl_multi_init();
    if (!http->multi) {
        free(http);
        return NULL;
    }
    uv_timer_init(loop, &http->timer);
    http->timer.data = http;
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
    return http;
}

static void http_closed(uv_handle_t *handle)
{
    free(handle->data);
}

void etcd_http_free(etcd_http_t *http)
{
    if (!http)
        return;
    while (http->reqs) {
        http_req_t *req = http->reqs;
        http->reqs = req->next;
        curl_multi_remove_handle(http->multi, req->easy);
        req_free(req);
    }
    curl_multi_cleanup(http->multi);
    uv_close((uv_handle_t *)&http->timer, http_closed);
}

static http_req_t *req_new(etcd_http_t *http, const char *url, const char *body, void *arg)
{
    http_req_t *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    buf_init(&req->reply);
    req->http = http;
    req->arg = arg;
    req->body = strdup(body);
    req->easy = curl_easy_init();
    req->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!req->body || !req->easy || !req->headers) {
        req_free(req);
        return NULL;
    }
    CURL *e = req->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(e, CURLOPT_PRIVATE, req);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    return req;
}

static int req_start(http_req_t *req)
{
    if (curl_multi_add_handle(req->http->multi, req->easy) != CURLM_OK) {
        req_free(req);
        return ETCD_ENOMEM;
    }
    req->next = req->http->reqs;
    req->http->reqs = req;
    return 0;
}

int etcd_http_stream(etcd_http_t *http, const char *url, const char *body, long connect_timeout_ms,
                     etcd_http_data_cb data, etcd_http_end_cb end, void *arg, etcd_http_stream_t **out)
{
    http_req_t *req = req_new(http, url, body, arg);
    if (!req)
        return ETCD_ENOMEM;
    req->data = data;
    req->end = end;
    curl_easy_setopt(req->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    /* no CURLOPT_TIMEOUT: a watch stays open; keepalive finds a dead peer */
    curl_easy_setopt(req->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(req->easy, CURLOPT_TCP_KEEPIDLE, 10L);
    curl_easy_setopt(req->easy, CURLOPT_TCP_KEEPINTVL, 5L);
    int rc = req_start(req);
    if (!rc)
        *out = req;
    return rc;
}

void etcd_http_stream_cancel(etcd_http_stream_t *st)
{
    etcd_http_t *http = st->http;
    if (http->in_curl) {
        st->canceled = 1; /* removed by sweep_canceled or check_done */
        return;
    }
    curl_multi_remove_handle(http->multi, st->easy);
    req_unlink(st);
    req_free(st);
}

int etcd_http_post(etcd_http_t *http, const char *url, const char *body, long timeout_ms, etcd_http_cb cb, void *arg)
{
    http_req_t *req = req_new(http, url, body, arg);
    if (!req)
        return ETCD_ENOMEM;
    req->cb = cb;
    curl_easy_setopt(req->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    return req_start(req);
}
