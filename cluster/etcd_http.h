/*
 * cluster/etcd_http: one POST at a time per call, many at once, on the
 * caller's libuv loop through curl's multi interface (CURLMOPT_SOCKETFUNCTION
 * and TIMERFUNCTION map curl's sockets to uv_poll_t and its timeout to one
 * uv_timer_t). Owns the curl handles; knows nothing of etcd's semantics
 * (endpoint failover and retries belong to the layer above). Every callback
 * runs on the loop thread. A reply body over max_body bytes is ETCD_ETOOBIG;
 * a transport failure (refused, timeout) is ETCD_EUNAVAILABLE.
 *
 * A stream is a POST whose 2xx body is handed over chunk by chunk as it
 * arrives, for as long as the server keeps it open: no overall timeout (only
 * a connect timeout, and TCP keepalive to notice a silent peer) and no body
 * buffering here, so memory is the caller's to bound.
 */
#ifndef EDDY_CLUSTER_ETCD_HTTP_H
#define EDDY_CLUSTER_ETCD_HTTP_H

#include <stddef.h>
#include <uv.h>

typedef struct etcd_http_s etcd_http_t;

/* rc 0 with the HTTP status and the body (valid during the call only), or an
 * ETCD_E* code with status 0. */
typedef void (*etcd_http_cb)(void *arg, int rc, long status, const char *body, size_t len);

etcd_http_t *etcd_http_new(uv_loop_t *loop, size_t max_body);
/* Drops requests still pending without calling them back; the memory goes
 * once the loop has run the handles' close callbacks. NULL is a no-op. */
void etcd_http_free(etcd_http_t *http);
/* 0, or ETCD_ENOMEM; cb is always called later, never from inside this call. */
int etcd_http_post(etcd_http_t *http, const char *url, const char *body, long timeout_ms, etcd_http_cb cb, void *arg);

typedef struct etcd_http_stream_s etcd_http_stream_t;
/* One chunk of a 2xx body, valid during the call. Nonzero ends the stream
 * as etcd_http_stream_cancel would: no more callbacks, end included. */
typedef int (*etcd_http_data_cb)(void *arg, const char *data, size_t len);
/* The stream is over: rc 0 when the server ended it, with its HTTP status
 * (a non-2xx body is dropped), or ETCD_EUNAVAILABLE when the connection
 * failed or broke. The handle is gone after this call. */
typedef void (*etcd_http_end_cb)(void *arg, int rc, long status);
/* 0 and *out, or ETCD_ENOMEM; callbacks come later, never from this call. */
int etcd_http_stream(etcd_http_t *http, const char *url, const char *body, long connect_timeout_ms,
                     etcd_http_data_cb data, etcd_http_end_cb end, void *arg, etcd_http_stream_t **out);
/* Ends a stream without further callbacks; safe from inside any callback
 * (inside curl the handle is removed once curl has returned). */
void etcd_http_stream_cancel(etcd_http_stream_t *st);

#endif
