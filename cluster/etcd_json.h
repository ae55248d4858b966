/*
 * cluster/etcd_json: the bytes of etcd's v3 JSON gateway, in and out.
 *
 * The gateway carries keys and values as base64 and int64 fields as JSON
 * strings, and leaves out any field at its zero value (proto3 JSON), so a
 * missing "count" or "version" means 0. This file turns those replies into C
 * values and nothing else: no I/O, no libuv, no curl. Parsing uses jansson
 * (docs/architecture.md says why); every reply is bounded by the caller
 * before it gets here, and anything that is not the shape etcd sends is
 * ETCD_EMALFORMED, never a crash.
 */
#ifndef EDDY_CLUSTER_ETCD_JSON_H
#define EDDY_CLUSTER_ETCD_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Internal status: 0 or one of these (distinct so callers can act on each). */
enum {
    ETCD_EUNAVAILABLE = -1001, /* no endpoint answered before the deadline */
    ETCD_ECOMPARE = -1002,     /* a txn's compares failed */
    ETCD_ELEASE = -1003,       /* etcd: requested lease not found */
    ETCD_EMALFORMED = -1004,   /* a reply that is not what etcd sends */
    ETCD_ETOOBIG = -1005,      /* a reply over the size bound */
    ETCD_ECOMPACTED = -1006,   /* a watch's start revision was compacted */
    ETCD_ESERVER = -1007,      /* any other error etcd reported */
    ETCD_ENOMEM = -1008,
};
const char *etcd_strerror(int rc);

/* One key-value as etcd reports it; key and value are heap copies (decoded). */
typedef struct etcd_kv_s {
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
    int64_t create_revision;
    int64_t mod_revision;
    int64_t version;
    int64_t lease;
} etcd_kv_t;

typedef struct etcd_range_s {
    int64_t revision; /* header.revision */
    etcd_kv_t *kvs;
    size_t n_kvs;
    int64_t count;
} etcd_range_t;

void etcd_range_fini(etcd_range_t *rng);

/* A txn's outcome (etcd.h's etcd_txn). */
typedef enum { ETCD_OP_PUT, ETCD_OP_DELETE, ETCD_OP_RANGE } etcd_op_kind_t;
typedef struct etcd_op_result_s {
    etcd_op_kind_t kind;
    etcd_range_t range; /* range: the kvs (revision is the txn's) */
    int64_t deleted;    /* delete: how many keys went */
} etcd_op_result_t;

typedef struct etcd_txn_result_s {
    int succeeded;
    int64_t revision;
    etcd_op_result_t *ops;
    size_t n_ops;
} etcd_txn_result_t;

/* A watch event; a delete's kv has the key and mod_revision only. */
typedef enum { ETCD_EVENT_PUT, ETCD_EVENT_DELETE } etcd_event_type_t;
typedef struct etcd_event_s {
    etcd_event_type_t type;
    etcd_kv_t kv;
} etcd_event_t;

/* One message of a watch stream (the gateway's {"result": ...}). */
typedef struct etcd_watch_msg_s {
    int64_t revision; /* header.revision */
    int created, canceled;
    int64_t compact_revision;
    etcd_event_t *events;
    size_t n_events;
} etcd_watch_msg_t;

/* base64 (standard alphabet, padded). encode: out gets a NUL-terminated heap
 * string. decode: 0, or ETCD_EMALFORMED for anything that is not base64. */
int etcd_b64_encode(const void *src, size_t len, char **out);
int etcd_b64_decode(const char *src, size_t len, char **out, size_t *out_len);

/* Parses a /v3/kv/range reply body of len bytes. */
int etcd_json_parse_range(const char *body, size_t len, etcd_range_t *rng);
/* Parses the reply to etcd_put_if_absent's txn: *succeeded, or the range of
 * the key that was already there (the caller's to etcd_range_fini). */
int etcd_json_parse_put_if_absent(const char *body, size_t len, int *succeeded, etcd_range_t *existing);
/* Parses a /v3/kv/txn reply: succeeded, the header revision and one result
 * per response (kinds as etcd names them). The caller frees it with
 * etcd_json_txn_fini (also after an error). */
int etcd_json_parse_txn(const char *body, size_t len, etcd_txn_result_t *res);
void etcd_json_txn_fini(etcd_txn_result_t *res);

/* Parses one watch stream object. ETCD_ESERVER for the gateway's
 * {"error": ...} (the stream broke on etcd's side), ETCD_EMALFORMED for
 * anything else that is not a result. The caller frees msg with
 * etcd_json_watch_fini (also after an error). */
int etcd_json_parse_watch(const char *body, size_t len, etcd_watch_msg_t *msg);
void etcd_json_watch_fini(etcd_watch_msg_t *msg);
/* Parses a lease grant or keepalive reply: the lease id and its TTL in
 * seconds (0, or absent, from keepalive: the lease is gone). */
int etcd_json_parse_lease(const char *body, size_t len, int64_t *id, int64_t *ttl);
/* Classifies an error body ({"error","message","code"}): ETCD_ELEASE for a
 * lost lease, ETCD_ESERVER for other errors, ETCD_EMALFORMED if unreadable. */
int etcd_json_parse_error(const char *body, size_t len);

#endif
