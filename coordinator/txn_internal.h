/*
 * coordinator/txn_internal: the structures behind txn.h, shared by the files
 * of the transaction coordinator (txn.c: the request entry points and the
 * state table; txn_recovery.c: timers, loading and replay; txn_records.c:
 * the __transaction_state encodings). Nothing outside coordinator/ includes
 * this. It borrows the group coordinator's string helpers and Java hash
 * (group_internal.h) so both coordinators place keys the same way.
 *
 * Ownership: the coordinator owns every txn_t (map by transactional id, a
 * second map by producer id borrows the same entries); a txn_t owns its id
 * and its partition set.
 */
#ifndef EDDY_COORDINATOR_TXN_INTERNAL_H
#define EDDY_COORDINATOR_TXN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/list.h"
#include "base/map.h"
#include "coordinator/group_internal.h"
#include "coordinator/txn.h"

/* Kafka's TransactionMetadata.isEpochExhausted: one epoch stays free for a fence. */
#define TXN_EPOCH_EXHAUSTED(e) ((e) >= INT16_MAX - 1)

typedef struct txn_tp_s {
    gstr_t topic;
    int32_t partition;
} txn_tp_t;

/* Where a transaction's marker work stands. */
typedef enum txn_marker_e {
    TXN_MARKER_NONE = 0,   /* nothing to write, or the write is acknowledged */
    TXN_MARKER_QUEUED = 1, /* on coord->markers until txn_take_pending_markers hands it out */
    TXN_MARKER_OUT = 2,    /* handed to the broker, waiting for txn_markers_written/failed */
} txn_marker_t;

typedef struct txn_s {
    gstr_t id;
    int32_t partition; /* of __transaction_state */
    int64_t producer_id;
    int64_t prev_producer_id; /* before the last rotation, for KIP-360 retries */
    int16_t epoch;
    int16_t last_epoch; /* the epoch before the last bump, for KIP-360 retries; -1 */
    int32_t timeout_ms;
    txn_state_t state;
    txn_tp_t *tps; /* the partitions of the open transaction */
    int32_t ntps, cap;
    int64_t start_ts; /* -1 outside a transaction */
    int64_t update_ts;
    uint8_t pid_key[8]; /* producer_id big-endian: the by_pid key */
    bool in_pid_map;
    txn_marker_t marker;
    int64_t marker_due;
    list_t mnode;        /* on coord->markers while QUEUED */
    bool complete_retry; /* markers written, but the Complete* record is not yet */
    bool recover;        /* replayed as Ongoing: fence and abort at the next tick */
} txn_t;

/* What a transition writes and then applies. */
typedef struct txn_next_s {
    txn_state_t state;
    int64_t producer_id;
    int64_t prev_producer_id;
    int16_t epoch;
    int16_t last_epoch;
    int32_t timeout_ms;
    int64_t start_ts;
    bool clear_tps;        /* the partition set becomes empty */
    const txn_tp_t *add;   /* partitions to add (views in gstr_t form, not owned) */
    int32_t nadd;
} txn_next_t;

struct txn_coordinator_s {
    txn_config_t cfg;
    txn_callbacks_t cb;
    void *cb_arg;
    map_t txns;   /* transactional id -> txn_t */
    map_t by_pid; /* producer id -> txn_t */
    list_t markers;
    int32_t nstate[8];
    uint8_t *loading; /* per partition: 1 while loading */
    int32_t nloading;
    int64_t next_pid;  /* next producer id to hand out */
    int64_t block_end; /* first id not reserved by a persisted block */
    int64_t now;
    int64_t work_due;         /* recovery or a Complete* retry; INT64_MAX: none */
    int64_t next_abort_check; /* timed-out transactions */
    int64_t next_expire_check;
    int32_t nrecover, ncomplete_retry;
    bool in_append;
};

/* txn.c */
txn_t *txn_find(const txn_coordinator_t *coord, proto_str_t id);
txn_t *txn_create(txn_coordinator_t *coord, proto_str_t id);
void txn_destroy(txn_coordinator_t *coord, txn_t *txn);
void txn_set_producer_id(txn_coordinator_t *coord, txn_t *txn, int64_t producer_id);
void txn_set_state_raw(txn_coordinator_t *coord, txn_t *txn, txn_state_t state);
void txn_transition(txn_coordinator_t *coord, txn_t *txn, txn_state_t to, const char *reason);
void txn_tps_clear(txn_t *txn);
void txn_tps_add(txn_t *txn, proto_str_t topic, int32_t partition);
bool txn_tps_has(const txn_t *txn, proto_str_t topic, int32_t partition);
bool txn_partition_loading(const txn_coordinator_t *coord, int32_t partition);
void txn_queue_markers(txn_coordinator_t *coord, txn_t *txn, int64_t due);
void txn_unqueue_markers(txn_t *txn);
/* Writes then applies next; a Kafka error when nothing changed. */
int16_t txn_store(txn_coordinator_t *coord, txn_t *txn, const txn_next_t *next, const char *reason);
/* Ongoing -> PrepareEpochFence -> PrepareAbort with the epoch bumped; markers queued. */
int16_t txn_fence_and_abort(txn_coordinator_t *coord, txn_t *txn, const char *reason);
int16_t txn_write_complete(txn_coordinator_t *coord, txn_t *txn);

/* txn_records.c: encoders return 0 or the writer's error. */
int trec_key_metadata(buf_t *b, proto_str_t transactional_id);
int trec_key_producer_ids(buf_t *b);
/* The v0 value of txn after next. */
int trec_value(buf_t *b, const txn_t *txn, const txn_next_t *next, int64_t now);
int trec_value_producer_ids(buf_t *b, int64_t block_end);
/* One record (value NULL: tombstone) through the append callback. */
int16_t trec_append(txn_coordinator_t *coord, int32_t partition, const buf_t *key, const buf_t *value);

#endif
