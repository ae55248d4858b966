/*
 * coordinator/txn: the transaction coordinator (InitProducerId,
 * AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, the transaction timeout and
 * the KIP-890 part 1 produce check) and the producer-id allocator.
 *
 * A pure state machine, built like coordinator/group. It owns every
 * transactional id (producer id, epoch, state, partitions of the open
 * transaction) and the producer-id high-water mark, and encodes them as
 * records of the internal compacted topic __transaction_state. It does no
 * I/O and reads no clock: every entry point takes now_ms, and timers run
 * only through txn_coordinator_tick. It writes no transaction markers
 * either: markers are work items the broker takes (from txn_end's result or
 * from txn_take_pending_markers), writes to the data partitions, and
 * acknowledges with txn_markers_written.
 *
 * Writes go through one synchronous callback, append(), exactly like the
 * group coordinator's: records are in the log when it returns 0, and the
 * coordinator changes its memory only after that, so a replay of
 * __transaction_state rebuilds what memory held. Waiting for an fsync before
 * answering is the broker's business (txn_partition_for names the partition).
 *
 * Producer ids are handed out from blocks whose end is persisted before any
 * id of the block is used (a record with a private key version in partition
 * 0), so a restart skips the rest of the block and an id is never reused.
 *
 * A restart in the middle of a transaction aborts it: after load_end, every
 * transaction replayed as Ongoing is fenced (epoch + 1) and aborted at the
 * next tick, and every transaction replayed as PrepareCommit/PrepareAbort
 * has its markers queued again (a prepared commit is still committed: the
 * client was already told it succeeded).
 *
 * Results are allocated from the arena the caller names and stay valid as
 * long as that arena. Kafka error codes are int16 (Errors.java numbering).
 */
#ifndef EDDY_COORDINATOR_TXN_H
#define EDDY_COORDINATOR_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "protocol/reader.h"
#include "protocol/record.h"

enum txn_error_e {
    TXN_ERR_UNKNOWN_SERVER_ERROR = -1,
    TXN_ERR_NONE = 0,
    TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    TXN_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    TXN_ERR_NOT_COORDINATOR = 16,
    TXN_ERR_NOT_ENOUGH_REPLICAS = 19,
    TXN_ERR_INVALID_REQUEST = 42,
    TXN_ERR_INVALID_PRODUCER_EPOCH = 47,
    TXN_ERR_INVALID_TXN_STATE = 48,
    TXN_ERR_INVALID_PRODUCER_ID_MAPPING = 49,
    TXN_ERR_INVALID_TRANSACTION_TIMEOUT = 50,
    TXN_ERR_CONCURRENT_TRANSACTIONS = 51,
    TXN_ERR_OPERATION_NOT_ATTEMPTED = 55,
    TXN_ERR_PRODUCER_FENCED = 90,
    TXN_ERR_TRANSACTIONAL_ID_NOT_FOUND = 105,
    TXN_ERR_TRANSACTION_ABORTABLE = 120,
};

/* Kafka's TransactionState ids: the int8 transaction_status of the log value. */
typedef enum txn_state_e {
    TXN_EMPTY = 0,
    TXN_ONGOING = 1,
    TXN_PREPARE_COMMIT = 2,
    TXN_PREPARE_ABORT = 3,
    TXN_COMPLETE_COMMIT = 4,
    TXN_COMPLETE_ABORT = 5,
    TXN_DEAD = 6,
    TXN_PREPARE_EPOCH_FENCE = 7,
} txn_state_t;

/* "Empty", "Ongoing", ... as DescribeTransactions spells them. */
const char *txn_state_name(txn_state_t state);

typedef struct txn_config_s {
    int32_t max_timeout_ms;                  /* transaction.max.timeout.ms: 900000 */
    int32_t num_partitions;                  /* transaction.state.log.num.partitions: 50 */
    int64_t transactional_id_expiration_ms;  /* transactional.id.expiration.ms: 604800000 */
    int32_t abort_timed_out_interval_ms;     /* transaction.abort.timed.out.transaction.cleanup.interval.ms: 10000 */
    int32_t remove_expired_interval_ms;      /* transaction.remove.expired.transaction.cleanup.interval.ms: 3600000 */
    int32_t producer_id_block_size;          /* ids reserved per persisted block: 1000 */
    int32_t marker_retry_backoff_ms;         /* after txn_markers_failed: 100 */
} txn_config_t;

void txn_config_default(txn_config_t *cfg);

typedef struct txn_callbacks_s {
    /*
     * Appends n records (value len -1 = tombstone) to
     * __transaction_state-<partition> as one plain (non-transactional) batch
     * stamped now_ms. 0 once they are in the log, or a Kafka error code when
     * nothing was written. Must not call into the coordinator.
     */
    int16_t (*append)(void *cb_arg, int32_t partition, const proto_record_spec_t *records, int n, int64_t now_ms);
} txn_callbacks_t;

typedef struct txn_coordinator_s txn_coordinator_t;

/* Copies cfg and cb. Starts with no transactional ids, every partition active, producer ids from 0. */
txn_coordinator_t *txn_coordinator_new(const txn_config_t *cfg, const txn_callbacks_t *cb, void *cb_arg,
                                       int64_t now_ms);
/* NULL is a no-op. Marker work not yet acknowledged is simply forgotten (a replay redoes it). */
void txn_coordinator_free(txn_coordinator_t *coord);

/* The __transaction_state partition of a transactional id: abs(Java String.hashCode) % partitions. */
int32_t txn_partition_for(const txn_coordinator_t *coord, proto_str_t transactional_id);

/* ---- timers --------------------------------------------------------------- */

/* The earliest time at which txn_coordinator_tick has work, or INT64_MAX. */
int64_t txn_coordinator_next_deadline(const txn_coordinator_t *coord);
/*
 * Aborts (with an epoch fence) transactions past their timeout and
 * transactions left Ongoing by a restart, re-queues failed marker work,
 * retries a Complete* write that failed, and expires idle transactional ids.
 * New marker work is then waiting in txn_take_pending_markers.
 */
void txn_coordinator_tick(txn_coordinator_t *coord, int64_t now_ms);

/* ---- loading __transaction_state ------------------------------------------ */

/*
 * load_begin forgets what the coordinator holds for the partition and answers
 * COORDINATOR_LOAD_IN_PROGRESS for its transactional ids until load_end
 * (for partition 0 also every producer-id allocation). Between the two,
 * replay every record of the partition in offset order. load_end schedules
 * the recovery described above for the next tick.
 */
void txn_coordinator_load_begin(txn_coordinator_t *coord, int32_t partition, int64_t now_ms);
/* 0, or a negative PROTO_E* for a record that does not parse (skipped, nothing changes). */
int txn_coordinator_replay(txn_coordinator_t *coord, int32_t partition, proto_bytes_t key, proto_bytes_t value,
                           int64_t now_ms);
void txn_coordinator_load_end(txn_coordinator_t *coord, int32_t partition, int64_t now_ms);

/* ---- InitProducerId ------------------------------------------------------- */

typedef struct txn_init_pid_args_s {
    proto_str_t transactional_id;   /* len -1: an idempotent producer */
    int32_t transaction_timeout_ms;
    int64_t producer_id;            /* v3+; -1 when not supplied */
    int16_t producer_epoch;         /* v3+; -1 when not supplied */
    int16_t api_version;            /* PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v4 */
} txn_init_pid_args_t;

typedef struct txn_init_pid_result_s {
    int16_t error_code;
    int64_t producer_id;    /* -1 on errors */
    int16_t producer_epoch; /* -1 on errors */
} txn_init_pid_result_t;

/*
 * Idempotent producers always get a fresh producer id with epoch 0 (a
 * supplied id/epoch is ignored, as Kafka does). Transactional ids follow
 * PROTOCOL.md §4: an Ongoing transaction is fenced and aborted, and the call
 * answers CONCURRENT_TRANSACTIONS (its markers are then waiting in
 * txn_take_pending_markers). Returns res->error_code.
 */
int16_t txn_init_producer_id(txn_coordinator_t *coord, const txn_init_pid_args_t *args, txn_init_pid_result_t *res,
                             int64_t now_ms);

/* ---- AddPartitionsToTxn / AddOffsetsToTxn -------------------------------- */

typedef struct txn_partition_s {
    proto_str_t topic;
    int32_t partition;
    int16_t error_code; /* in: non-zero refuses the request (e.g. UNKNOWN_TOPIC_OR_PARTITION); out: result */
} txn_partition_t;

/*
 * AddPartitionsToTxn v0-3 for one transactional id. When some partition
 * came in with an error, nothing is added and the others get
 * OPERATION_NOT_ATTEMPTED; otherwise every partition gets the coordinator's
 * answer. Returns NONE or the error the request failed with.
 */
int16_t txn_add_partitions(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                           int16_t producer_epoch, txn_partition_t *partitions, int32_t count, int16_t api_version,
                           int64_t now_ms);

/*
 * AddPartitionsToTxn v4+ with verify_only: changes nothing, answers per
 * partition NONE when it is in the producer's transaction and
 * TRANSACTION_ABORTABLE when not; a request-level error (unknown producer
 * id mapping, fencing, CONCURRENT_TRANSACTIONS while Prepare*) goes on every
 * partition; preset partition errors make the others OPERATION_NOT_ATTEMPTED.
 */
int16_t txn_verify_partitions(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                              int16_t producer_epoch, txn_partition_t *partitions, int32_t count, int64_t now_ms);

/*
 * AddOffsetsToTxn v0-3: adds __consumer_offsets-<offsets_partition> (the
 * broker passes group_partition_for(group_id)) with AddPartitions' rules.
 */
int16_t txn_add_offsets(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                        int16_t producer_epoch, int32_t offsets_partition, int16_t api_version, int64_t now_ms);

/* ---- EndTxn and markers --------------------------------------------------- */

typedef struct txn_topic_partition_s {
    proto_str_t topic;
    int32_t partition;
} txn_topic_partition_t;

/*
 * One unit of marker work: write a control batch (PROTOCOL.md §2.5; COMMIT
 * or ABORT, producer id/epoch below, coordinator epoch) to every partition,
 * then call txn_markers_written with the same transactional id, producer id
 * and epoch. Partitions of __consumer_offsets are among them: the broker also
 * calls group_txn_complete for those.
 */
typedef struct txn_marker_job_s {
    proto_str_t transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool commit;
    int32_t coordinator_epoch; /* always 0: a single coordinator that never moves */
    txn_topic_partition_t *partitions;
    int32_t partitions_count;
} txn_marker_job_t;

typedef struct txn_end_result_s {
    int16_t error_code;
    bool has_markers;         /* the transaction moved to Prepare*: markers must be written */
    txn_marker_job_t markers; /* valid when has_markers */
} txn_end_result_t;

/*
 * EndTxn v0-4 (transaction version 1: the epoch is not bumped by EndTxn).
 * On NONE with has_markers, answer the client (Kafka answers once Prepare* is
 * in the log) and write the markers. A retry of a completed result answers
 * NONE without markers. Returns res->error_code.
 */
int16_t txn_end(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id, int16_t producer_epoch,
                bool commit, int16_t api_version, arena_t *arena, txn_end_result_t *res, int64_t now_ms);

/*
 * Every marker of the job is in the logs: Prepare* -> Complete*. NONE, or
 * INVALID_TXN_STATE / INVALID_PRODUCER_ID_MAPPING for a stale job (ignore it),
 * or an append error (the coordinator retries the write from tick; the
 * markers need not be written again).
 */
int16_t txn_markers_written(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                            int16_t producer_epoch, int64_t now_ms);
/* Writing some marker failed: the job comes back from txn_take_pending_markers after the retry backoff. */
void txn_markers_failed(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                        int16_t producer_epoch, int64_t now_ms);
/*
 * Hands over every marker job due at now_ms that did not come from txn_end's
 * result (fences by InitProducerId, timeouts, recovery after a restart,
 * retries). Each is handed out once until txn_markers_failed re-queues it.
 */
void txn_take_pending_markers(txn_coordinator_t *coord, arena_t *arena, txn_marker_job_t **jobs, int32_t *count,
                              int64_t now_ms);
/* Whether txn_take_pending_markers has work due at now_ms. */
bool txn_has_pending_markers(const txn_coordinator_t *coord, int64_t now_ms);

/* ---- the Produce path (KIP-890 part 1) ------------------------------------ */

/*
 * May a transactional batch of (producer_id, producer_epoch) go to
 * topic/partition? NONE when the producer's transaction is Ongoing and holds
 * the partition; INVALID_PRODUCER_ID_MAPPING for an unknown producer id;
 * PRODUCER_FENCED for another epoch; CONCURRENT_TRANSACTIONS while Prepare*;
 * TRANSACTION_ABORTABLE when the partition was not added. What the client is
 * told is txn_produce_error / txn_offset_commit_error of this.
 */
int16_t txn_partition_in_transaction(const txn_coordinator_t *coord, int64_t producer_id, int16_t producer_epoch,
                                     proto_str_t topic, int32_t partition);

/*
 * What Produce of api_version answers for a txn_partition_in_transaction
 * error, as Kafka 3.9 translates its verification answers: a fenced epoch is
 * INVALID_PRODUCER_EPOCH (the code librdkafka and the Java client treat as
 * "fenced by a newer instance"; Produce never answers PRODUCER_FENCED), a
 * partition not in the transaction INVALID_TXN_STATE before v11, and the
 * retriable coordinator states NOT_ENOUGH_REPLICAS, which every client
 * retries without a metadata refresh.
 */
int16_t txn_produce_error(int16_t verify_error, int16_t api_version);
/*
 * The same for TxnOffsetCommit v0-3: fenced is INVALID_PRODUCER_EPOCH, not
 * in the transaction INVALID_TXN_STATE; the rest passes through.
 */
int16_t txn_offset_commit_error(int16_t verify_error);

/* ---- introspection (tests, metrics, DescribeTransactions) ----------------- */

typedef struct txn_description_s {
    int16_t error_code;
    txn_state_t state;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t transaction_timeout_ms;
    int64_t transaction_start_ms; /* -1 outside a transaction */
    txn_topic_partition_t *partitions;
    int32_t partitions_count;
} txn_description_t;

/* Returns desc->error_code: NONE, TRANSACTIONAL_ID_NOT_FOUND or COORDINATOR_LOAD_IN_PROGRESS. */
int16_t txn_describe(const txn_coordinator_t *coord, proto_str_t transactional_id, arena_t *arena,
                     txn_description_t *desc);
/* TXN_DEAD when the transactional id is unknown. */
txn_state_t txn_state_of(const txn_coordinator_t *coord, proto_str_t transactional_id);
int32_t txn_count(const txn_coordinator_t *coord);

/* ListTransactions: every transactional id with its producer id and state, from arena. */
typedef struct txn_listing_s {
    proto_str_t transactional_id;
    int64_t producer_id;
    txn_state_t state;
} txn_listing_t;
int32_t txn_list(const txn_coordinator_t *coord, arena_t *arena, txn_listing_t **out);
/* The next producer id the allocator hands out (tests). */
int64_t txn_next_producer_id(const txn_coordinator_t *coord);

/* ---- __transaction_state records (exposed for tests and tools) ------------ */

/*
 * Key (int16 version first, strings int16-length):
 *   version 0     transaction metadata   transactional_id string   (Kafka's TransactionLogKey)
 *   version 1000  producer-id block      no further fields          (eddy's own; Kafka skips unknown keys)
 *
 * Transaction metadata value (Kafka's TransactionLogValue, int16 version first):
 *   producer_id                       int64
 *   producer_epoch                    int16
 *   transaction_timeout_ms            int32
 *   transaction_status                int8    txn_state_t
 *   transaction_partitions            nullable array of {topic string, partition_ids [int32]}  (null when Empty)
 *   transaction_last_update_timestamp_ms  int64
 *   transaction_start_timestamp_ms    int64
 *   v1 is the same with compact types and a tagged section: tag 0 previous_producer_id int64,
 *   tag 1 next_producer_id int64, tag 2 client_transaction_version int16. eddy writes v0.
 * A tombstone removes the transactional id (expiration).
 *
 * Producer-id block value: version int16 (0), block_end int64 = the first
 * producer id that no block has reserved yet.
 */
#define TXN_KEY_VERSION_PRODUCER_IDS 1000

typedef enum txn_rec_kind_e {
    TXN_REC_METADATA = 1,
    TXN_REC_PRODUCER_IDS = 2,
    TXN_REC_OTHER = 3,
} txn_rec_kind_t;

typedef struct txn_rec_key_s {
    txn_rec_kind_t kind;
    proto_str_t transactional_id;
} txn_rec_key_t;

typedef struct txn_rec_value_s {
    int64_t producer_id;
    int64_t previous_producer_id; /* v1 tag 0; -1 */
    int16_t producer_epoch;
    int32_t transaction_timeout_ms;
    int8_t transaction_status;
    int64_t last_update_timestamp_ms;
    int64_t start_timestamp_ms;
    int32_t partitions_count;     /* total partition ids */
    proto_bytes_t partitions_raw; /* the encoded array, for txn_rec_each_partition */
    bool compact;
} txn_rec_value_t;

/* 0 or a negative PROTO_E*; views point into the input. */
int txn_rec_parse_key(proto_bytes_t key, txn_rec_key_t *out);
int txn_rec_parse_value(proto_bytes_t value, txn_rec_value_t *out);
int txn_rec_parse_producer_ids(proto_bytes_t value, int64_t *block_end);
/* Calls fn for every (topic, partition) of a parsed value; 0 or a PROTO_E*. */
int txn_rec_each_partition(const txn_rec_value_t *v, void (*fn)(void *arg, proto_str_t topic, int32_t partition),
                           void *arg);

#endif
