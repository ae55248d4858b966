/*
 * coordinator/group: the classic consumer-group coordinator (JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
 * DescribeGroups, ListGroups, DeleteGroups, OffsetDelete).
 *
 * A pure state machine. It owns every group, member and committed offset,
 * the rebalance and session timers, and the encoding of its records in the
 * internal topic __consumer_offsets. It does no I/O and reads no clock:
 * every entry point takes now_ms (wall-clock milliseconds, the same clock
 * that stamps commit timestamps), and time moves only when the caller says
 * so through group_coordinator_tick. It knows nothing of sockets or
 * requests: the broker decodes a request, calls one function here with plain
 * arguments (byte views, see protocol/reader.h) and encodes the answer.
 * Everything kept beyond a call is copied.
 *
 * Writes go out through one callback, append(), which the broker implements
 * by appending the records as one batch to its __consumer_offsets partition
 * log, synchronously (the pwrite, not the fsync). The coordinator changes its
 * state only after append() said the records are in the log, so what is in
 * memory is always what a replay of the log rebuilds. Waiting for the fsync
 * (durable flush policies) is the broker's business: an OffsetCommit answer
 * is held back by the broker like a durable Produce, using
 * group_partition_for() to know which partition to wait on.
 *
 * JoinGroup and SyncGroup may have to wait for other members. They take a
 * group_waiter_t the broker embeds in its request: the call either answers at
 * once (GROUP_DONE) or parks the waiter (GROUP_PARKED) and completes it later
 * through its callback, from inside some later call into the coordinator
 * (another member's request, group_coordinator_tick, ...). Completion
 * callbacks run when the coordinator's state is consistent, after the work of
 * the call that triggered them, so they may call back into the coordinator
 * (the broker's completion typically answers the request and then processes
 * the connection's next frame). A waiter whose connection closes must be
 * cancelled with group_waiter_cancel, which is safe in every state.
 *
 * Results are allocated from the arena the caller names (the request's
 * arena) and are self-contained: they stay valid as long as that arena,
 * whatever the coordinator does next.
 */
#ifndef EDDY_COORDINATOR_GROUP_H
#define EDDY_COORDINATOR_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/list.h"
#include "protocol/reader.h"
#include "protocol/record.h"

/* The Kafka error codes this module answers with (Errors.java numbering). */
enum group_error_e {
    GROUP_ERR_UNKNOWN_SERVER_ERROR = -1,
    GROUP_ERR_NONE = 0,
    GROUP_ERR_OFFSET_METADATA_TOO_LARGE = 12,
    GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    GROUP_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    GROUP_ERR_NOT_COORDINATOR = 16,
    GROUP_ERR_ILLEGAL_GENERATION = 22,
    GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    GROUP_ERR_INVALID_GROUP_ID = 24,
    GROUP_ERR_UNKNOWN_MEMBER_ID = 25,
    GROUP_ERR_INVALID_SESSION_TIMEOUT = 26,
    GROUP_ERR_REBALANCE_IN_PROGRESS = 27,
    GROUP_ERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    GROUP_ERR_NON_EMPTY_GROUP = 68,
    GROUP_ERR_GROUP_ID_NOT_FOUND = 69,
    GROUP_ERR_MEMBER_ID_REQUIRED = 79,
    GROUP_ERR_GROUP_MAX_SIZE_REACHED = 81,
    GROUP_ERR_FENCED_INSTANCE_ID = 82,
    GROUP_ERR_GROUP_SUBSCRIBED_TO_TOPIC = 86,
    GROUP_ERR_UNSTABLE_OFFSET_COMMIT = 88,
};

typedef enum group_state_e {
    GROUP_EMPTY = 0,
    GROUP_PREPARING_REBALANCE = 1,
    GROUP_COMPLETING_REBALANCE = 2,
    GROUP_STABLE = 3,
    GROUP_DEAD = 4,
} group_state_t;

/* "Empty", "PreparingRebalance", ... as DescribeGroups/ListGroups spell them. */
const char *group_state_name(group_state_t state);

typedef struct group_config_s {
    int32_t initial_rebalance_delay_ms;          /* group.initial.rebalance.delay.ms: 3000 */
    int32_t min_session_timeout_ms;              /* group.min.session.timeout.ms: 6000 */
    int32_t max_session_timeout_ms;              /* group.max.session.timeout.ms: 1800000 */
    int32_t max_size;                            /* group.max.size: INT32_MAX */
    int64_t offsets_retention_ms;                /* offsets.retention.minutes (10080) in ms */
    int64_t offsets_retention_check_interval_ms; /* offsets.retention.check.interval.ms: 600000 */
    int32_t offsets_topic_num_partitions;        /* offsets.topic.num.partitions: 50 */
    int32_t offset_metadata_max_bytes;           /* offset.metadata.max.bytes: 4096 */
    uint64_t seed;                               /* member-id randomness; the broker passes random bits */
} group_config_t;

void group_config_default(group_config_t *cfg);

typedef struct group_callbacks_s {
    /*
     * Appends n records (key, value; value len -1 = tombstone) to
     * __consumer_offsets-<partition> as one batch stamped now_ms. Returns 0
     * once they are in the log, or a Kafka error code when nothing was
     * written (the coordinator then changes nothing and reports an error).
     * Must not call into the coordinator, directly or indirectly (for
     * instance by finishing parked requests): wake readers afterwards.
     */
    int16_t (*append)(void *cb_arg, int32_t partition, const proto_record_spec_t *records, int n, int64_t now_ms);
} group_callbacks_t;

/*
 * TxnOffsetCommit's writes: like append(), but as one *transactional* batch
 * of the producer (attributes transactional, producer_id/epoch set, base
 * sequence -1), so the log counts it in the producer's open transaction and
 * the COMMIT/ABORT marker decides its fate. Same cb_arg and rules as append.
 */
typedef int16_t (*group_append_txn_fn)(void *cb_arg, int32_t partition, int64_t producer_id, int16_t producer_epoch,
                                       const proto_record_spec_t *records, int n, int64_t now_ms);

typedef struct group_coordinator_s group_coordinator_t;

/* Copies cfg and cb. The coordinator starts with no groups and every partition active. */
group_coordinator_t *group_coordinator_new(const group_config_t *cfg, const group_callbacks_t *cb, void *cb_arg,
                                           int64_t now_ms);
/* Parked waiters are forgotten without a callback (the broker is closing their connections). NULL is a no-op. */
void group_coordinator_free(group_coordinator_t *coord);
/* Enables TxnOffsetCommit (without it, it answers UNKNOWN_SERVER_ERROR). */
void group_coordinator_set_append_txn(group_coordinator_t *coord, group_append_txn_fn append_txn);

/* The __consumer_offsets partition of a group: abs(Java String.hashCode) % partitions, as Kafka does. */
int32_t group_partition_for(const group_coordinator_t *coord, proto_str_t group_id);

/* ---- timers ------------------------------------------------------------- */

/* The earliest time at which group_coordinator_tick has work, or INT64_MAX. */
int64_t group_coordinator_next_deadline(const group_coordinator_t *coord);
/* Runs every timer due at now_ms: rebalance and sync deadlines, session expiry, offsets retention. */
void group_coordinator_tick(group_coordinator_t *coord, int64_t now_ms);

/* ---- loading __consumer_offsets ----------------------------------------- */

/*
 * load_begin drops what the coordinator holds for the partition (parked
 * waiters get NOT_COORDINATOR) and answers COORDINATOR_LOAD_IN_PROGRESS for
 * its groups until load_end. Between the two, replay every record of the
 * partition in offset order (skip control batches and aborted transactional
 * data). Groups come back Empty with their committed offsets, generation and
 * protocol type; members are not restored, so consumers rejoin.
 */
void group_coordinator_load_begin(group_coordinator_t *coord, int32_t partition, int64_t now_ms);
/* 0, or a negative PROTO_E* for a record that does not parse (it is skipped, nothing changes). */
int group_coordinator_replay(group_coordinator_t *coord, int32_t partition, proto_bytes_t key, proto_bytes_t value,
                             int64_t now_ms);
/*
 * A record of a transactional batch of producer_id (TxnOffsetCommit): its
 * offsets are staged as pending until the producer's control batch, which
 * the broker replays with group_txn_complete. Replay every transactional
 * batch this way, aborted ones included: their ABORT marker drops them.
 */
int group_coordinator_replay_txn(group_coordinator_t *coord, int32_t partition, int64_t producer_id,
                                 proto_bytes_t key, proto_bytes_t value, int64_t now_ms);
void group_coordinator_load_end(group_coordinator_t *coord, int32_t partition, int64_t now_ms);

/* ---- JoinGroup / SyncGroup (may park) ----------------------------------- */

typedef enum group_status_e {
    GROUP_DONE = 0,   /* the waiter's result is filled; no callback will come */
    GROUP_PARKED = 1, /* the waiter's callback runs later, exactly once, unless cancelled */
} group_status_t;

typedef struct group_protocol_s {
    proto_str_t name;
    proto_bytes_t metadata;
} group_protocol_t;

typedef struct group_join_args_s {
    proto_str_t group_id;
    proto_str_t member_id;         /* empty: a new member */
    proto_str_t group_instance_id; /* len -1: dynamic member (always -1 before v5) */
    proto_str_t protocol_type;
    const group_protocol_t *protocols;
    int32_t protocols_count;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v0 has none: pass -1 and the session timeout is used */
    int16_t api_version;          /* v4+: MEMBER_ID_REQUIRED; v9+: skip_assignment */
    proto_str_t client_id;        /* request header */
    proto_str_t client_host;      /* peer address, for DescribeGroups */
    proto_str_t reason;           /* v8+, for the log */
} group_join_args_t;

typedef struct group_join_member_s {
    proto_str_t member_id;
    proto_str_t group_instance_id; /* len -1: none */
    proto_bytes_t metadata;
} group_join_member_t;

typedef struct group_join_result_s {
    int16_t error_code;
    int32_t generation_id;     /* -1 on errors */
    proto_str_t protocol_type; /* len -1: null */
    proto_str_t protocol_name; /* len -1: null */
    proto_str_t leader;        /* "" on errors */
    proto_str_t member_id;     /* the id to use (the new one with MEMBER_ID_REQUIRED) */
    bool skip_assignment;      /* v9+: a static leader rejoined a Stable group */
    group_join_member_t *members; /* the leader's view of the group; empty for followers */
    int32_t members_count;
} group_join_result_t;

typedef struct group_assignment_s {
    proto_str_t member_id;
    proto_bytes_t assignment;
} group_assignment_t;

typedef struct group_sync_args_s {
    proto_str_t group_id;
    int32_t generation_id;
    proto_str_t member_id;
    proto_str_t group_instance_id; /* len -1: none */
    proto_str_t protocol_type;     /* v5+; len -1: not sent */
    proto_str_t protocol_name;     /* v5+; len -1: not sent */
    const group_assignment_t *assignments; /* only the leader's count */
    int32_t assignments_count;
} group_sync_args_t;

typedef struct group_sync_result_s {
    int16_t error_code;
    proto_str_t protocol_type; /* len -1: null */
    proto_str_t protocol_name; /* len -1: null */
    proto_bytes_t assignment;  /* empty on errors */
} group_sync_result_t;

typedef struct group_waiter_s group_waiter_t;
typedef void (*group_join_done_fn)(group_waiter_t *w, const group_join_result_t *res);
typedef void (*group_sync_done_fn)(group_waiter_t *w, const group_sync_result_t *res);

/*
 * Embedded in the broker's request. The broker sets arena and the callback
 * for the call it makes; the rest is the coordinator's. Results (immediate or
 * through the callback) are allocated from arena, which must live until the
 * callback ran or the waiter was cancelled.
 */
struct group_waiter_s {
    arena_t *arena;
    group_join_done_fn join_done;
    group_sync_done_fn sync_done;
    /* coordinator-private */
    list_t node; /* on a member while parked, then on the ready list */
    int phase;
    int kind;
    void *member;
    group_join_result_t join;
    group_sync_result_t sync;
};

/* Before every group_join/group_sync call (a waiter serves one call at a time). */
void group_waiter_init(group_waiter_t *w, arena_t *arena, group_join_done_fn join_done, group_sync_done_fn sync_done);
/* Forget a parked waiter (its connection closed). Safe at any time, also twice or when never parked. */
void group_waiter_cancel(group_coordinator_t *coord, group_waiter_t *w);

/* On GROUP_DONE the answer is in w->join. */
group_status_t group_join(group_coordinator_t *coord, const group_join_args_t *args, int64_t now_ms,
                          group_waiter_t *w);
/* On GROUP_DONE the answer is in w->sync. */
group_status_t group_sync(group_coordinator_t *coord, const group_sync_args_t *args, int64_t now_ms,
                          group_waiter_t *w);

/* ---- Heartbeat / LeaveGroup --------------------------------------------- */

int16_t group_heartbeat(group_coordinator_t *coord, proto_str_t group_id, int32_t generation_id,
                        proto_str_t member_id, proto_str_t group_instance_id, int64_t now_ms);

typedef struct group_leave_member_s {
    proto_str_t member_id;         /* "" with an instance id: remove that static member */
    proto_str_t group_instance_id; /* len -1: none */
    proto_str_t reason;
    int16_t error_code; /* out */
} group_leave_member_t;

/*
 * v3+ batch leave; v0-2 pass one member without instance id and answer its
 * error_code as the top-level error when the top-level error is NONE.
 * Returns the top-level error.
 */
int16_t group_leave(group_coordinator_t *coord, proto_str_t group_id, group_leave_member_t *members, int32_t count,
                    int64_t now_ms);

/* ---- Offsets -------------------------------------------------------------- */

typedef struct group_commit_partition_s {
    proto_str_t topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1: unknown */
    proto_str_t metadata; /* len -1: null (stored as "") */
    int16_t error_code;   /* in: non-zero skips the partition (e.g. UNKNOWN_TOPIC_OR_PARTITION); out: result */
} group_commit_partition_t;

typedef struct group_commit_args_s {
    proto_str_t group_id;
    int32_t generation_id;         /* -1: a simple (non-member) commit */
    proto_str_t member_id;         /* "" for simple commits */
    proto_str_t group_instance_id; /* len -1: none */
    int64_t retention_time_ms;     /* v2-4; -1: the broker's retention */
    group_commit_partition_t *partitions;
    int32_t partitions_count;
} group_commit_args_t;

/*
 * Validates like Kafka, appends one record per accepted partition in one
 * batch, then applies them. Fills every partition's error_code; returns
 * NONE, or the error all partitions got.
 */
int16_t group_offset_commit(group_coordinator_t *coord, const group_commit_args_t *args, int64_t now_ms);
/*
 * The same with each partition's commit time given (OffsetCommit v1's
 * commit_timestamp, parallel to args->partitions; -1: now). Retention of a
 * simple consumer's offset counts from it, as in Kafka.
 */
int16_t group_offset_commit_at(group_coordinator_t *coord, const group_commit_args_t *args, const int64_t *commit_ts,
                               int64_t now_ms);

typedef struct group_fetch_partition_s {
    proto_str_t topic;
    int32_t partition;
    int64_t offset;       /* out: -1 when never committed */
    int32_t leader_epoch; /* out: -1 when unknown */
    proto_str_t metadata; /* out: "" when never committed; arena memory */
    int16_t error_code;   /* out */
} group_fetch_partition_t;

/*
 * With partitions (count >= 0) fills each in place. With partitions == NULL
 * and count < 0 ("all"), allocates from arena every committed partition of
 * the group, sorted by topic then partition, into *all / *all_count.
 * With require_stable, a partition with pending transactional offsets gets
 * UNSTABLE_OFFSET_COMMIT and offset -1 (the client retries).
 * Returns the group-level error (the partitions are untouched then).
 */
int16_t group_offset_fetch(group_coordinator_t *coord, proto_str_t group_id, group_fetch_partition_t *partitions,
                           int32_t count, bool require_stable, arena_t *arena, group_fetch_partition_t **all,
                           int32_t *all_count, int64_t now_ms);

typedef struct group_delete_partition_s {
    proto_str_t topic;
    int32_t partition;
    int16_t error_code; /* out */
} group_delete_partition_t;

/* OffsetDelete. Returns the group-level error (partition errors are then untouched). */
int16_t group_offset_delete(group_coordinator_t *coord, proto_str_t group_id, group_delete_partition_t *partitions,
                            int32_t count, int64_t now_ms);

/* ---- transactional offsets (TxnOffsetCommit) ------------------------------ */

/*
 * TxnOffsetCommit v0-3. args as for OffsetCommit (v0-2: generation -1,
 * member "", instance id len -1; retention_time_ms -1). Validated like
 * OffsetCommit for v3+ (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * FENCED_INSTANCE_ID), except that a non-member may commit to a non-empty
 * group, as Kafka allows for old clients. The offsets are appended through
 * append_txn and stay pending (invisible to OffsetFetch) until
 * group_txn_complete. The broker first checks that the group's
 * __consumer_offsets partition is in the producer's transaction
 * (txn_partition_in_transaction). Fills every partition's error_code;
 * returns NONE or the error all partitions got.
 */
int16_t group_txn_offset_commit(group_coordinator_t *coord, const group_commit_args_t *args, int64_t producer_id,
                                int16_t producer_epoch, int64_t now_ms);

/*
 * The broker wrote (or, while loading, replayed) a COMMIT or ABORT marker of
 * producer_id into __consumer_offsets-<partition>: that producer's pending
 * offsets of every group on the partition become committed (unless a later
 * commit of the same partition is already there) or are dropped. Writes
 * nothing: the marker is the durable record.
 */
void group_txn_complete(group_coordinator_t *coord, int32_t partition, int64_t producer_id, bool commit,
                        int64_t now_ms);

/* Pending transactional offsets of a group (all producers), for tests and metrics. */
int32_t group_txn_pending_count(const group_coordinator_t *coord, proto_str_t group_id);

/* ---- admin ---------------------------------------------------------------- */

typedef struct group_describe_member_s {
    proto_str_t member_id;
    proto_str_t group_instance_id; /* len -1: none */
    proto_str_t client_id;
    proto_str_t client_host;
    proto_bytes_t metadata;   /* only in Stable */
    proto_bytes_t assignment; /* only in Stable */
} group_describe_member_t;

typedef struct group_description_s {
    int16_t error_code;
    proto_str_t state; /* "Dead" for a group that does not exist */
    proto_str_t protocol_type;
    proto_str_t protocol_name; /* "" unless Stable */
    group_describe_member_t *members;
    int32_t members_count;
} group_description_t;

/* Returns desc->error_code. */
int16_t group_describe(group_coordinator_t *coord, proto_str_t group_id, arena_t *arena, group_description_t *desc,
                       int64_t now_ms);

typedef struct group_overview_s {
    proto_str_t group_id;
    proto_str_t protocol_type;
    proto_str_t state;
    proto_str_t group_type; /* "classic" */
} group_overview_t;

/*
 * ListGroups. states/types filter case-insensitively when count > 0 (a type
 * filter without "classic" lists nothing). Returns NONE, or
 * COORDINATOR_LOAD_IN_PROGRESS while a partition loads (the list is then
 * partial, as in Kafka).
 */
int16_t group_list(group_coordinator_t *coord, const proto_str_t *states, int32_t states_count,
                   const proto_str_t *types, int32_t types_count, arena_t *arena, group_overview_t **groups,
                   int32_t *count, int64_t now_ms);

/* DeleteGroups for one group: NONE, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, ... */
int16_t group_delete(group_coordinator_t *coord, proto_str_t group_id, int64_t now_ms);

/* ---- introspection (tests, metrics) -------------------------------------- */

/* The state of a group, or GROUP_DEAD when it does not exist. */
group_state_t group_state_of(const group_coordinator_t *coord, proto_str_t group_id);
int32_t group_generation_of(const group_coordinator_t *coord, proto_str_t group_id);
int32_t group_members_count(const group_coordinator_t *coord, proto_str_t group_id);
int32_t group_count(const group_coordinator_t *coord);

/* ---- __consumer_offsets records (exposed for tests and tools) ------------- */

/*
 * Record keys (int16 version first, strings int16-length):
 *   version 0/1  offset commit   group string, topic string, partition int32
 *   version 2    group metadata  group string
 * Other versions (Kafka 3.7+ consumer/share group records) are not ours.
 *
 * Offset commit value (int16 version first):
 *   v0  offset int64, metadata string, commit_timestamp int64
 *   v1  offset int64, metadata string, commit_timestamp int64, expire_timestamp int64
 *   v2  offset int64, metadata string, commit_timestamp int64
 *   v3  offset int64, leader_epoch int32, metadata string, commit_timestamp int64
 *   v4  as v3 with a compact string and a trailing tagged-field section
 * eddy writes v3, or v1 when the commit carried a retention time.
 *
 * Group metadata value (int16 version first):
 *   protocol_type string, generation int32, protocol nullable string,
 *   leader nullable string, current_state_timestamp int64 (v2+),
 *   members array: member_id string, group_instance_id nullable string (v3+),
 *   client_id string, client_host string, rebalance_timeout int32 (v1+),
 *   session_timeout int32, subscription bytes, assignment bytes.
 *   v4 is the same with compact types and tagged fields. eddy writes v3.
 */
typedef enum group_rec_kind_e {
    GROUP_REC_OFFSET = 1,
    GROUP_REC_GROUP = 2,
    GROUP_REC_OTHER = 3, /* a key version we do not own: skip */
} group_rec_kind_t;

typedef struct group_rec_key_s {
    group_rec_kind_t kind;
    proto_str_t group;
    proto_str_t topic; /* offset keys */
    int32_t partition;
} group_rec_key_t;

typedef struct group_rec_offset_s {
    int64_t offset;
    int32_t leader_epoch;
    proto_str_t metadata;
    int64_t commit_timestamp;
    int64_t expire_timestamp; /* -1: none */
} group_rec_offset_t;

typedef struct group_rec_group_s {
    proto_str_t protocol_type;
    int32_t generation;
    proto_str_t protocol;
    proto_str_t leader;
    int64_t current_state_timestamp;
    int32_t members_count;
} group_rec_group_t;

/* 0 or a negative PROTO_E*. Views point into the input. */
int group_rec_parse_key(proto_bytes_t key, group_rec_key_t *out);
int group_rec_parse_offset(proto_bytes_t value, group_rec_offset_t *out);
int group_rec_parse_group(proto_bytes_t value, group_rec_group_t *out);

/*
 * ConsumerProtocolSubscription, read with its version-0 prefix (newer
 * versions only append fields): version int16 (>= 0), topics [string],
 * user_data nullable bytes. Calls fn for each topic; 0 or a PROTO_E*.
 */
int group_rec_subscription_topics(proto_bytes_t metadata, void (*fn)(void *arg, proto_str_t topic), void *arg);

#endif
