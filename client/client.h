/*
 * client/client: eddy's outbound Kafka client, non-blocking on a libuv loop.
 *
 * A kcl_client_t talks to a cluster named by a bootstrap list. It owns one
 * TCP connection per broker node id (plus bootstrap connections until
 * Metadata has named the nodes), each opened on demand with a connect
 * timeout, greeted with ApiVersions (v3, falling back to v0 on
 * UNSUPPORTED_VERSION) and reconnected with jittered exponential backoff
 * after a failure. A request is a generated request struct of protocol/
 * (protocol/gen/messages.h); it is encoded when it is sent, at the highest
 * version both the broker and our codec know (optionally capped), and the
 * response is decoded with the bounds-checked codec into an arena that lives
 * until the callback returns. Responses are matched to requests in order by
 * correlation id (Kafka answers in order); anything else closes the
 * connection. Failed attempts that may succeed again (lost connection,
 * timeout, and Kafka errors the caller marks retriable) are retried with
 * backoff up to a count and a deadline.
 *
 * It also keeps a metadata cache (brokers, topics, partitions, controller)
 * filled by kcl_metadata_refresh; concurrent refreshes are coalesced.
 *
 * Bounds: a response frame larger than max_response_bytes closes its
 * connection before anything is allocated for it; at most max_in_flight
 * requests are outstanding per connection; every byte read is untrusted.
 *
 * Threads: none of its own. Host names are resolved with uv_getaddrinfo
 * (libuv's thread pool); numeric addresses connect directly. Everything
 * else runs on the caller's uv_loop_t, and every
 * callback is called from it exactly once per request (with KCL_ECANCELLED
 * when the client is closed first). Status codes are 0 or negative KCL_E*
 * values, distinct from Kafka's int16 error codes, which stay in the
 * decoded responses. It depends on protocol/ and base/ only.
 */
#ifndef EDDY_CLIENT_CLIENT_H
#define EDDY_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "protocol/codec.h"

#define KCL_ERRORS(X)                                                                                                  \
    X(KCL_OK, 0, "ok")                                                                                                 \
    X(KCL_ECANCELLED, -1, "cancelled: the client was closed")                                                          \
    X(KCL_ECONN, -2, "connection failed or was lost")                                                                  \
    X(KCL_ETIMEDOUT, -3, "request timed out")                                                                          \
    X(KCL_EMALFORMED, -4, "malformed response")                                                                        \
    X(KCL_ETOOLARGE, -5, "response larger than max_response_bytes")                                                    \
    X(KCL_EUNSUPPORTED, -6, "no version of the API both sides support")                                                \
    X(KCL_ENOMEM, -7, "out of memory")                                                                                 \
    X(KCL_EINVAL, -8, "invalid argument")                                                                              \
    X(KCL_ENONODE, -9, "unknown broker node id")                                                                       \
    X(KCL_EENCODE, -10, "request could not be encoded")                                                                \
    X(KCL_EKAFKA, -11, "retriable Kafka error persisted through every retry")                                          \
    X(KCL_ENOTFOUND, -12, "not in the metadata cache")                                                                 \
    X(KCL_EFULL, -13, "too many requests queued (max_queued)")

enum kcl_status_e {
#define KCL_ENUM_(name, value, text) name = value,
    KCL_ERRORS(KCL_ENUM_)
#undef KCL_ENUM_
};
const char *kcl_strerror(int status);

/* Target node for a request: any connected broker, the least loaded. */
#define KCL_NODE_ANY (-1000)

typedef struct kcl_config_s {
    const char *bootstrap;        /* "host:port,host:port" (copied) */
    const char *client_id;        /* request header client id (copied); default "eddy" */
    int connect_timeout_ms;       /* default 10000 */
    int request_timeout_ms;       /* per attempt; default 30000 */
    int max_in_flight;            /* per connection; default 5 (Kafka's max.in.flight) */
    int32_t max_response_bytes;   /* default 100 MiB */
    int reconnect_backoff_ms;     /* default 50 (Kafka's reconnect.backoff.ms) */
    int reconnect_backoff_max_ms; /* default 1000 */
    int retries;                  /* default 3 */
    int retry_backoff_ms;         /* default 100; doubles per attempt up to reconnect_backoff_max_ms */
    int tick_ms;                  /* deadline granularity; default 10 */
    int max_queued;               /* requests submitted and not yet called back; default 10000 */
} kcl_config_t;

void kcl_config_init(kcl_config_t *cfg);

typedef struct kcl_client_s kcl_client_t;

/* 0, KCL_EINVAL (bad bootstrap list) or KCL_ENOMEM. */
int kcl_client_new(uv_loop_t *loop, const kcl_config_t *cfg, kcl_client_t **out);
/*
 * Cancels every request and refresh (their callbacks run now, once, with
 * KCL_ECANCELLED), closes every handle and frees the client once they are
 * closed; closed_cb (may be NULL) is called then. Safe from a callback.
 */
void kcl_client_close(kcl_client_t *cl, void (*closed_cb)(void *arg), void *arg);

/* What a request's callback gets. */
typedef struct kcl_response_s {
    int status; /* 0 or KCL_E* */
    int16_t api_key;
    int16_t version;   /* the version sent (-1 when never sent) */
    int32_t node_id;   /* the connection's node (negative: bootstrap) */
    void *body;        /* decoded response struct when status is 0, else NULL; valid until the callback returns */
    const char *error; /* one sentence when status != 0 */
} kcl_response_t;

typedef void (*kcl_response_cb)(void *arg, const kcl_response_t *resp);
/*
 * Asked after a response decoded: returns a Kafka error code found in it
 * that should be retried (0: none). A code kcl_kafka_retriable() says is
 * not retriable is not retried.
 */
typedef int16_t (*kcl_retry_check_fn)(void *arg, const kcl_response_t *resp);

typedef struct kcl_request_s {
    int16_t api_key;
    int16_t max_version;            /* -1: no cap */
    int32_t node_id;                /* a broker id from the metadata, or KCL_NODE_ANY */
    const void *body;               /* the request struct; the caller keeps it alive until the callback */
    int timeout_ms;                 /* per attempt; 0: config */
    int retries;                    /* -1: config */
    int deadline_ms;                /* no retry starts later than this after submit; 0: none */
    kcl_retry_check_fn retry_check; /* may be NULL */
    kcl_response_cb cb;
    void *arg;
} kcl_request_t;

void kcl_request_init(kcl_request_t *req, int16_t api_key, const void *body, kcl_response_cb cb, void *arg);
/*
 * Queues a request. Returns 0 (the callback will be called exactly once) or
 * KCL_EINVAL / KCL_ENONODE / KCL_EFULL / KCL_ENOMEM (it will not).
 */
int kcl_request_submit(kcl_client_t *cl, const kcl_request_t *req);

/* True for Kafka error codes that a retry may clear (Kafka's RetriableException set). */
bool kcl_kafka_retriable(int16_t code);

/* The version of an API in use on a node's connection, or -1 when not connected/handshaken. */
int16_t kcl_api_version(kcl_client_t *cl, int32_t node_id, int16_t api_key);

/* --- metadata cache ------------------------------------------------------- */

typedef struct kcl_broker_s {
    int32_t node_id;
    const char *host;
    int32_t port;
    const char *rack; /* NULL: none */
} kcl_broker_t;

typedef struct kcl_partition_s {
    int32_t partition;
    int16_t error_code;
    int32_t leader_id; /* -1: none */
    int32_t leader_epoch;
    int32_t nreplicas;
    const int32_t *replicas;
    int32_t nisr;
    const int32_t *isr;
} kcl_partition_t;

typedef struct kcl_topic_s {
    const char *name;
    proto_uuid_t topic_id;
    int16_t error_code;
    bool is_internal;
    int32_t npartitions;
    const kcl_partition_t *partitions; /* sorted by partition */
} kcl_topic_t;

typedef struct kcl_metadata_s {
    const char *cluster_id; /* NULL: none */
    int32_t controller_id;  /* -1: unknown */
    int32_t nbrokers;
    const kcl_broker_t *brokers;
    int32_t ntopics;
    const kcl_topic_t *topics;
    int64_t updated_ms; /* loop time of the last refresh; 0: never */
} kcl_metadata_t;

/* The cache; valid until the next refresh completes (copy what you keep). */
const kcl_metadata_t *kcl_metadata(const kcl_client_t *cl);
const kcl_broker_t *kcl_metadata_broker(const kcl_client_t *cl, int32_t node_id);
const kcl_topic_t *kcl_metadata_topic(const kcl_client_t *cl, const char *name);
/* 0 with *leader_id (and *leader_epoch if not NULL), or KCL_ENOTFOUND (topic/partition unknown, no leader). */
int kcl_metadata_leader(const kcl_client_t *cl, const char *topic, int32_t partition, int32_t *leader_id,
                        int32_t *leader_epoch);

typedef void (*kcl_metadata_cb)(void *arg, int status);
/*
 * Refreshes the cache for these topics (ntopics < 0: every topic). Topics
 * missing from the answer keep their cached entry; the broker list and
 * controller are replaced. If a refresh is running, this one is coalesced
 * into the next round. cb (may be NULL) gets 0 or a KCL_E* status. Returns 0
 * or KCL_ENOMEM.
 */
int kcl_metadata_refresh(kcl_client_t *cl, const char *const *topics, int ntopics, kcl_metadata_cb cb, void *arg);
/*
 * The caller saw this Kafka error for a topic (NULL: not topic-specific).
 * For NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE
 * and their kin a refresh of that topic is started (coalesced). Returns true
 * when one was.
 */
bool kcl_metadata_report_error(kcl_client_t *cl, const char *topic, int16_t kafka_error);

#endif
