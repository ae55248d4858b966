/*
 * client/internal: the structs shared by the client's files (not API).
 *
 * Ownership: the client owns its connections (kcl_conn_t, freed at client
 * teardown after their handles closed), its requests (kcl_req_t, freed after
 * their callback ran) and the metadata cache (one arena, replaced whole on
 * each refresh). A request sits on exactly one list at a time: the client's
 * `pending` (waiting for a connection, or backing off before a retry), a
 * connection's `waiting` (bound, not yet sent) or its `inflight` (sent, in
 * send order).
 */
#ifndef EDDY_CLIENT_INTERNAL_H
#define EDDY_CLIENT_INTERNAL_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/list.h"
#include "client/client.h"

#define KCL_MAX_API_KEY 128
#define KCL_SUBSYS      "client"

typedef enum kcl_conn_state_e {
    KCL_CONN_DOWN,       /* no handle; may connect once reconnect_at passed */
    KCL_CONN_RESOLVING,  /* uv_getaddrinfo running */
    KCL_CONN_CONNECTING, /* uv_tcp_connect running */
    KCL_CONN_HANDSHAKE,  /* ApiVersions sent */
    KCL_CONN_READY,
    KCL_CONN_CLOSING, /* uv_close called; DOWN in the close callback */
} kcl_conn_state_t;

typedef struct kcl_api_range_s {
    int16_t min, max; /* -1: not advertised */
} kcl_api_range_t;

typedef struct kcl_conn_s kcl_conn_t;
typedef struct kcl_req_s kcl_req_t;

struct kcl_conn_s {
    list_t link; /* client->conns */
    kcl_client_t *cl;
    int32_t node_id; /* >= 0 broker, < 0 bootstrap entry */
    char host[256];
    char port[8];
    kcl_conn_state_t state;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_getaddrinfo_t gai;
    bool gai_pending;
    int64_t connect_deadline;
    int64_t reconnect_at;
    int failures; /* consecutive failed connects, for the backoff */
    list_t waiting;
    list_t inflight;
    int ninflight;
    int32_t next_correlation_id;
    buf_t in;      /* bytes read, bounded by max_response_bytes + a read's worth */
    arena_t arena; /* the response being handed to a callback */
    kcl_api_range_t apis[KCL_MAX_API_KEY];
    int16_t api_versions_version; /* the ApiVersions version sent */
    kcl_req_t *handshake;         /* the ApiVersions request of the handshake */
    bool dispatching;             /* inside a response callback */
};

struct kcl_req_s {
    list_t link;
    kcl_client_t *cl;
    kcl_request_t spec;
    kcl_conn_t *conn; /* when on conn->waiting or conn->inflight */
    bool internal;    /* a handshake: completes into the connection, not a callback */
    int16_t version;
    int32_t correlation_id;
    int attempts;
    int retries;
    int64_t submitted_ms;
    int64_t attempt_deadline;
    int64_t retry_at; /* > 0: backing off on client->pending */
    int last_status;
};

typedef struct kcl_meta_waiter_s {
    list_t link;
    kcl_metadata_cb cb;
    void *arg;
} kcl_meta_waiter_t;

struct kcl_client_s {
    uv_loop_t *loop;
    kcl_config_t cfg;
    char *bootstrap;
    char *client_id;
    list_t conns;
    int nbootstrap;
    int next_bootstrap; /* round robin over bootstrap entries */
    list_t pending;
    int nreqs; /* caller requests alive (bounded by max_queued) */
    uv_timer_t timer;
    uv_timer_t kick; /* dispatches submitted requests on the next loop turn */
    bool closing;
    uint64_t rng;     /* xorshift state for backoff jitter, seeded per client */
    int open_handles; /* the timer and every connection handle not yet closed */
    void (*closed_cb)(void *arg);
    void *closed_arg;
    /* metadata */
    arena_t meta_arena;
    kcl_metadata_t meta;
    bool meta_running;
    list_t meta_waiters;      /* of the running refresh */
    list_t meta_next_waiters; /* of the next round */
    bool meta_next_all;
    bool meta_next;
    char **meta_next_topics;
    int meta_next_ntopics;
    char **meta_run_topics; /* names of the running refresh (the request points at them) */
    int meta_run_ntopics;
    void *meta_req_body;
};

/* client.c */
int64_t kcl_now(const kcl_client_t *cl);
uint32_t kcl_random(kcl_client_t *cl);
void kcl_timer_kick(kcl_client_t *cl);
void kcl_dispatch_soon(kcl_client_t *cl);
void kcl_maybe_free(kcl_client_t *cl);

/* conn.c */
kcl_conn_t *kcl_conn_new(kcl_client_t *cl, int32_t node_id, const char *host, const char *port);
kcl_conn_t *kcl_conn_for_node(kcl_client_t *cl, int32_t node_id, bool create);
/* Starts connecting when DOWN and backoff allows. */
void kcl_conn_want(kcl_conn_t *conn);
/* Closes the connection: in-flight requests fail (oldest with status, the rest KCL_ECONN). */
void kcl_conn_fail(kcl_conn_t *conn, int status, const char *why);
/* Sends waiting requests while the in-flight limit allows. */
void kcl_conn_pump(kcl_conn_t *conn);
void kcl_conn_tick(kcl_conn_t *conn, int64_t now);
void kcl_conn_destroy(kcl_conn_t *conn);
int kcl_conn_load(const kcl_conn_t *conn);

/* request.c */
kcl_req_t *kcl_req_new(kcl_client_t *cl, const kcl_request_t *spec);
/* The attempt failed: retried when allowed, else the callback gets status. */
void kcl_req_fail(kcl_req_t *req, int status, const char *why);
/* Whether a failed attempt may be tried again (count and deadline). */
bool kcl_req_may_retry(const kcl_req_t *req);
void kcl_req_finish(kcl_req_t *req, int status, const char *why, void *body, int16_t version, int32_t node_id);
/* Binds pending requests whose backoff passed to connections; fails those past their deadline. */
void kcl_dispatch(kcl_client_t *cl);
int16_t kcl_choose_version(const kcl_conn_t *conn, int16_t api_key, int16_t cap);

/* metadata.c */
void kcl_metadata_fini(kcl_client_t *cl);
void kcl_metadata_cancel(kcl_client_t *cl);

#endif
