/*
 * cluster/etcd: the etcd v3 client cluster mode uses (prefix etcd_).
 *
 * Owns a list of endpoints (comma-separated URLs) and one etcd_http_t on the
 * caller's loop. Every op is asynchronous and calls back on the loop thread
 * exactly once (unless the client is freed first). A call that fails on one
 * endpoint (refused, timed out, HTTP 5xx) is retried on the next after an
 * exponential backoff with jitter, until the caller's deadline; then it
 * fails with ETCD_EUNAVAILABLE. Errors are the distinct ETCD_E* codes of
 * etcd_json.h. General txns and watches are below.
 */
#ifndef EDDY_CLUSTER_ETCD_H
#define EDDY_CLUSTER_ETCD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/etcd_json.h"

typedef struct etcd_client_s etcd_client_t;

typedef struct etcd_opts_s {
    long request_timeout_ms; /* one attempt on one endpoint; 0: 2000 */
    size_t max_reply;        /* bytes; 0: 4 MiB */
} etcd_opts_t;

/* NULL when endpoints is empty or has more than 16 URLs, or out of memory. */
etcd_client_t *etcd_client_new(uv_loop_t *loop, const char *endpoints, const etcd_opts_t *opts);
/* Calls still pending are dropped without their callbacks; the memory goes
 * after the loop runs the close callbacks. NULL is a no-op. */
void etcd_client_free(etcd_client_t *cli);
uv_loop_t *etcd_client_loop(etcd_client_t *cli);

/* The body of a 2xx reply (valid during the call), or rc < 0. */
typedef void (*etcd_raw_cb)(void *arg, int rc, const char *body, size_t len);
/* POSTs json to path ("/v3/kv/range") with failover until deadline_ms (clock_mono_ms). */
int etcd_call(etcd_client_t *cli, const char *path, const char *json, int64_t deadline_ms, etcd_raw_cb cb, void *arg);

/* rng is the caller's to etcd_range_fini (only when rc == 0). */
typedef void (*etcd_range_cb)(void *arg, int rc, etcd_range_t *rng);
/* Gets key, or every key starting with it when prefix; revision 0: newest. */
int etcd_get(etcd_client_t *cli, const void *key, size_t key_len, int prefix, int64_t revision, int64_t deadline_ms,
             etcd_range_cb cb, void *arg);

/* Puts key=value, under lease when lease != 0 (ETCD_ELEASE if it is gone). */
int etcd_put(etcd_client_t *cli, const void *key, size_t key_len, const void *value, size_t value_len, int64_t lease,
             int64_t deadline_ms, etcd_raw_cb cb, void *arg);
/* Deletes key, or every key under it when prefix. */
int etcd_delete(etcd_client_t *cli, const void *key, size_t key_len, int prefix, int64_t deadline_ms, etcd_raw_cb cb,
                void *arg);
/* A txn that puts key=value (under lease) only if key does not exist
 * (create_revision == 0). rc 0 when it was created; ETCD_ECOMPARE when it
 * exists, with existing holding it (the caller's to etcd_range_fini). */
typedef void (*etcd_cas_cb)(void *arg, int rc, etcd_range_t *existing);
int etcd_put_if_absent(etcd_client_t *cli, const void *key, size_t key_len, const void *value, size_t value_len,
                       int64_t lease, int64_t deadline_ms, etcd_cas_cb cb, void *arg);

/*
 * General txn. Each compare tests one key's version, create_revision,
 * mod_revision (number) or value (bytes) with =, !=, < or >; a key that does
 * not exist has revisions and version 0 and an empty value, as in etcd. If
 * every compare holds, the success ops run, else the failure ops, all at one
 * revision. Ops: put (under lease when lease != 0), delete and range (of key,
 * or of every key under it when prefix). The callback gets which branch ran,
 * the header revision and one result per op of that branch, in order; res
 * and everything in it are valid during the call only.
 */
typedef enum { ETCD_CMP_VERSION, ETCD_CMP_CREATE, ETCD_CMP_MOD, ETCD_CMP_VALUE } etcd_cmp_target_t;
typedef enum { ETCD_CMP_EQUAL, ETCD_CMP_NOT_EQUAL, ETCD_CMP_LESS, ETCD_CMP_GREATER } etcd_cmp_result_t;
typedef struct etcd_cmp_s {
    const void *key;
    size_t key_len;
    etcd_cmp_target_t target;
    etcd_cmp_result_t result;
    int64_t number;    /* version or revision, for the first three targets */
    const void *value; /* for ETCD_CMP_VALUE */
    size_t value_len;
} etcd_cmp_t;

typedef struct etcd_op_s {
    etcd_op_kind_t kind;
    const void *key;
    size_t key_len;
    int prefix;        /* delete and range */
    const void *value; /* put */
    size_t value_len;
    int64_t lease; /* put */
} etcd_op_t;

/* res is NULL when rc != 0. A failed compare is rc 0 with succeeded 0. */
typedef void (*etcd_txn_cb)(void *arg, int rc, const etcd_txn_result_t *res);
/* At most 128 compares and 128 ops per branch (etcd's default max-txn-ops):
 * more is ETCD_ETOOBIG; an unknown target, result or kind ETCD_EMALFORMED. */
int etcd_txn(etcd_client_t *cli, const etcd_cmp_t *cmps, size_t n_cmps, const etcd_op_t *success, size_t n_success,
             const etcd_op_t *failure, size_t n_failure, int64_t deadline_ms, etcd_txn_cb cb, void *arg);

/*
 * Watch: events on key (or every key under it when prefix) from
 * start_revision (0: from now) on, over a streaming POST /v3/watch. The
 * callback gets rc 0 with batches of events in revision order and the
 * stream's progress revision (header.revision); n 0 means the watch was
 * (re)created at that revision. When the stream breaks (etcd restarted,
 * connection lost) the watch is re-created on the next endpoint after a
 * backoff, from the last delivered event's revision + 1, so no event is lost
 * or repeated. rc != 0 is final (no more calls): ETCD_ECOMPACTED when etcd
 * compacted the revision the watch needs (reload with a get, then watch from
 * its revision + 1), ETCD_EMALFORMED for a stream that is not etcd's,
 * ETCD_ETOOBIG for one object over the client's max_reply, ETCD_ESERVER when
 * etcd cancelled the watch otherwise. etcd_watch_stop ends the watch (no call
 * after it, safe inside the callback) and must be called once for every
 * watch before the client is freed.
 */
typedef struct etcd_watch_s etcd_watch_t;
typedef void (*etcd_watch_cb)(void *arg, int rc, const etcd_event_t *events, size_t n, int64_t revision);
/* NULL when out of memory. The first attempt starts from the loop. */
etcd_watch_t *etcd_watch_start(etcd_client_t *cli, const void *key, size_t key_len, int prefix, int64_t start_revision,
                               etcd_watch_cb cb, void *arg);
void etcd_watch_stop(etcd_watch_t *w);

/* Leases. grant: cb gets the new lease id. revoke: its keys go at once. */
typedef void (*etcd_lease_cb)(void *arg, int rc, int64_t lease);
int etcd_lease_grant(etcd_client_t *cli, int64_t ttl_s, int64_t deadline_ms, etcd_lease_cb cb, void *arg);
int etcd_lease_revoke(etcd_client_t *cli, int64_t lease, int64_t deadline_ms, etcd_raw_cb cb, void *arg);

/*
 * Keepalive: renews lease every interval_ms. lost(arg, rc) is called once,
 * then renewing stops: ETCD_ELEASE when etcd says the lease is gone (TTL 0
 * or not found), ETCD_EUNAVAILABLE when no renewal succeeded within the TTL.
 * That deadline is local and conservative: it runs from the moment the last
 * successful keepalive was *sent*, so it passes no later than etcd's own
 * expiry, and a leader can step down before anyone else may take over.
 * etcd_keepalive_stop ends it (no lost call after it) and must be called
 * once, lost or not, before the client is freed; the memory goes once its
 * in-flight renewal (bounded by the TTL deadline) and its timer are done.
 */
typedef struct etcd_keepalive_s etcd_keepalive_t;
typedef void (*etcd_lost_cb)(void *arg, int rc);
/* granted_sent_ms: clock_mono_ms() when the grant was sent (the first
 * deadline counts from it); interval_ms 0: a third of the TTL. */
etcd_keepalive_t *etcd_keepalive_start(etcd_client_t *cli, int64_t lease, int64_t ttl_s, int64_t granted_sent_ms,
                                       int64_t interval_ms, etcd_lost_cb lost, void *arg);
void etcd_keepalive_stop(etcd_keepalive_t *ka);

#endif
