/*
 * replica/replica: one partition's replica state, Kafka's rules for the
 * high watermark and the in-sync replica set.
 *
 * It owns what a broker knows of a partition's replication: its own node
 * id and role (leader, follower or none), the leader's id and epoch, the
 * partition epoch (the version of the assignment and ISR in the metadata
 * store), the assigned replicas and the ISR; as leader, every follower's
 * log end offset (LEO), last fetch time and last caught-up time; the high
 * watermark (HW); min.insync.replicas. From these it decides what Kafka's
 * Partition and Replica classes decide: when the HW moves (leader: the
 * smallest LEO over the maximal ISR and over followers caught up enough to
 * be waited for, never backward, never past the leader's own LEO, frozen
 * while the ISR is below the effective min.insync.replicas; follower:
 * the leader's HW from fetch answers, capped by its own LEO), when a
 * follower has caught up and may join the ISR, when one lags for
 * replica.lag.time.max.ms and should leave it, whether a Produce is
 * admitted and when an acks=all one is complete, and which epoch and role
 * errors a request gets.
 *
 * It does not read or write logs (the caller passes LEOs as numbers and
 * reads the records itself), know requests, sockets, the event loop or the
 * clock (every call that needs time takes now_ms: any millisecond clock, the
 * same one for every call on a replica), or change the ISR: an ISR change is
 * a PROPOSAL handed back to the caller, which writes it to the metadata store
 * (compare-and-set on the partition epoch, in cluster mode) and then calls
 * replica_apply_isr, or replica_abort_isr when the write failed. While a
 * proposal is pending no other is made (Kafka's pending AlterPartition):
 * during an expansion the HW and acks=all count the maximal ISR (the
 * committed ISR plus the replica being added), during a shrink the
 * committed ISR. It allocates nothing: a replica_t is a fixed-size value
 * (at most REPLICA_MAX_REPLICAS replicas per partition) embedded in the
 * broker's partition, so no Produce or Fetch allocates here. It depends on
 * nothing but the C library. Errors are 0 or a negative errno; the answers
 * meant for clients are Kafka error codes (REPLICA_ERR_*, Kafka's Errors
 * numbering, the same values as protocol/kafka_errors.h).
 */
#ifndef EDDY_REPLICA_REPLICA_H
#define EDDY_REPLICA_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Replicas per partition. Kafka has no hard limit (a replica per broker);
 * clusters run 3, rarely 5 or more; 16 keeps a partition's state about a
 * kilobyte. Assignments larger than this are refused (-E2BIG).
 */
#define REPLICA_MAX_REPLICAS 16

/* Kafka error codes decided here (Errors.java). */
#define REPLICA_ERR_NONE                             0
#define REPLICA_ERR_NOT_LEADER_OR_FOLLOWER           6
#define REPLICA_ERR_NOT_ENOUGH_REPLICAS              19
#define REPLICA_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND 20
#define REPLICA_ERR_FENCED_LEADER_EPOCH              74
#define REPLICA_ERR_UNKNOWN_LEADER_EPOCH             75
#define REPLICA_ERR_OFFSET_NOT_AVAILABLE             78

/* A time that is long past for every rule (Kafka's 0 on a wall clock). */
#define REPLICA_TIME_NEVER INT64_MIN

typedef enum replica_role_e {
    REPLICA_ROLE_NONE = 0, /* not a replica of the partition (or not told yet) */
    REPLICA_ROLE_LEADER = 1,
    REPLICA_ROLE_FOLLOWER = 2,
} replica_role_t;

/* A set of node ids, in the order given (assignment order matters to Kafka's preferred leader). */
typedef struct replica_set_s {
    int32_t n;
    int32_t ids[REPLICA_MAX_REPLICAS];
} replica_set_t;

/* What the leader knows of one follower (Kafka's ReplicaState). */
typedef struct replica_follower_s {
    int32_t id;
    int64_t leo;                   /* its fetch offset: -1 unknown (no fetch in this leadership) */
    int64_t log_start_offset;      /* as its last fetch reported it; -1 unknown */
    int64_t last_fetch_leader_leo; /* the leader's LEO at its previous fetch; -1 unknown */
    int64_t last_fetch_ms;         /* REPLICA_TIME_NEVER: none */
    /* The latest time t at which its fetch offset was >= the leader's LEO at t. */
    int64_t last_caught_up_ms;
} replica_follower_t;

typedef enum replica_isr_state_e {
    REPLICA_ISR_COMMITTED = 0,
    REPLICA_ISR_PENDING_EXPAND = 1, /* a proposal adding pending_id is in flight */
    REPLICA_ISR_PENDING_SHRINK = 2, /* a proposal removing followers is in flight */
} replica_isr_state_t;

/* An ISR change for the caller to write (leader only). */
typedef struct replica_proposal_s {
    replica_isr_state_t kind; /* COMMITTED: no proposal */
    int32_t leader_epoch;     /* the epoch it was made in */
    int32_t partition_epoch;  /* the version it replaces: the compare in compare-and-set */
    replica_set_t isr;        /* the ISR to write */
} replica_proposal_t;

typedef struct replica_s {
    int32_t local_id;
    replica_role_t role;
    int32_t leader_id;       /* -1: unknown */
    int32_t leader_epoch;    /* -1: none (single broker) */
    bool epoch_known;        /* a become_* has set leader_epoch */
    int32_t partition_epoch; /* -1: none */
    replica_set_t replicas;  /* the assignment */
    replica_set_t isr;       /* committed; a follower keeps what it was told */
    replica_isr_state_t isr_state;
    int32_t pending_id;     /* the replica a pending expansion adds */
    replica_set_t sent_isr; /* what the pending proposal writes */
    /* Leader: every assigned replica but itself. Empty otherwise. */
    int32_t nfollowers;
    replica_follower_t followers[REPLICA_MAX_REPLICAS];
    int64_t leo;                /* the local log end offset */
    int64_t hw;                 /* the high watermark */
    int64_t log_start_offset;   /* the local log start: the HW never stays below it */
    int64_t epoch_start_offset; /* leader: its LEO when its epoch began; -1 otherwise */
    int32_t min_insync;         /* min.insync.replicas (>= 1) */
    int64_t lag_max_ms;         /* replica.lag.time.max.ms */
} replica_t;

/* A partition this node does not replicate yet: role NONE, epochs -1, LEO and HW 0, min.insync 1. */
void replica_init(replica_t *r, int32_t local_id, int64_t lag_max_ms);

/*
 * Becomes (or stays) leader: the assignment and the committed ISR are
 * replaced (a pending proposal is dropped), the local LEO and HW taken (hw
 * is what the local log knew: a former follower's HW, or the LEO on one
 * broker; it is kept within [log start, leo]). On a new leader epoch (or the
 * first one) the epoch starts at local_leo and every follower's tracking is
 * reset as Kafka resets it: caught up now if in the ISR, long ago otherwise;
 * a leader that was not leader before also forgets their LEOs. Followers
 * staying in the assignment keep their state otherwise; new ones start
 * unknown. Then the HW may advance (*hw_advanced, may be NULL).
 * -ESTALE (nothing changes) when partition_epoch is older than the one
 * known, as Kafka skips such a change; -E2BIG past REPLICA_MAX_REPLICAS;
 * -EINVAL for a negative count or an ISR member outside the assignment.
 */
int replica_become_leader(replica_t *r, int32_t leader_epoch, int32_t partition_epoch, const int32_t *replicas,
                          int32_t nreplicas, const int32_t *isr, int32_t nisr, int64_t local_leo, int64_t hw,
                          int64_t now_ms, bool *hw_advanced);

/*
 * Becomes (or stays) a follower of leader_id (-1: no leader now): follower
 * tracking and any proposal are dropped; the ISR is kept only as the
 * metadata store's (for reporting); the HW stays, capped by local_leo.
 * Returns 1 when the leader epoch is new (the fetcher must restart), 0 when
 * not, -ESTALE / -E2BIG / -EINVAL as replica_become_leader.
 */
int replica_become_follower(replica_t *r, int32_t leader_epoch, int32_t partition_epoch, int32_t leader_id,
                            const int32_t *replicas, int32_t nreplicas, const int32_t *isr, int32_t nisr,
                            int64_t local_leo);

/* No longer a replica (the partition left this node or went offline): role NONE, tracking dropped. */
void replica_stop(replica_t *r);

/*
 * The local log grew to leo (any append: Produce, coordinator records,
 * markers, a follower's replicated batches). As leader the HW may advance:
 * true when it did. With the ISR only this node, HW = LEO at once.
 */
bool replica_on_local_append(replica_t *r, int64_t leo, int64_t now_ms);
/* The local log was cut to leo (a follower truncating): the HW follows it down. */
void replica_on_local_truncate(replica_t *r, int64_t leo);
/* The local log start moved (retention, DeleteRecords): the HW is raised to it if below (Kafka's bound). */
void replica_on_log_start(replica_t *r, int64_t log_start_offset);
/*
 * Follower: a fetch answer carried the leader's HW; ours becomes it, capped
 * by our LEO and raised to our log start (it may go down, as Kafka's
 * follower takes the leader's word). True when it changed.
 */
bool replica_on_leader_hw(replica_t *r, int64_t leader_hw);

/* min.insync.replicas changed (topic config): takes effect from the next check. Values below 1 count as 1. */
void replica_set_min_insync(replica_t *r, int32_t min_insync);
/* Kafka's effective min ISR: min(min.insync.replicas, assigned replicas). */
int32_t replica_effective_min_isr(const replica_t *r);

/*
 * Epoch fencing for a request's current_leader_epoch (-1: not given, no
 * check): older than ours FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH.
 * A partition at epoch -1 (one broker) fences nothing: clients told -1
 * send 0 anyway (librdkafka 2.x does once Metadata v9+ is served).
 */
int16_t replica_check_epoch(const replica_t *r, int32_t current_leader_epoch);

/*
 * May this node serve a read (Fetch, ListOffsets)? The epoch check, then
 * NOT_LEADER_OR_FOLLOWER when require_leader and not leader, or when not a
 * replica at all. Followers and ListOffsets other than the debugging
 * replica require the leader; Kafka lets a consumer (Fetch v11+, which
 * carries client metadata) read from a follower.
 */
int16_t replica_check_read(const replica_t *r, int32_t current_leader_epoch, bool require_leader);

/*
 * A Fetch from replica follower_id (>= 0): the read check as leader, then
 * whether the follower is in the assignment. One that is not gets
 * UNKNOWN_LEADER_EPOCH when the request named an epoch (Kafka: the pair is
 * not known yet, retry) and NOT_LEADER_OR_FOLLOWER when it did not.
 */
int16_t replica_check_follower_fetch(const replica_t *r, int32_t follower_id, int32_t current_leader_epoch);

typedef struct replica_fetch_result_s {
    bool hw_advanced;            /* wake what waits for the HW */
    replica_proposal_t proposal; /* kind EXPAND: write it, then apply or abort */
} replica_fetch_result_t;

/*
 * Records a follower's fetch at fetch_offset (its LEO) after the read
 * succeeded, with the leader's LEO as it was at the read (Kafka's rules: it
 * has caught up now when fetch_offset >= that LEO, or at its previous fetch
 * when fetch_offset >= the LEO of then). Then the follower may be proposed
 * for the ISR (its LEO has reached the HW and the start of this epoch, no
 * proposal pending) and the HW may advance. Call only once the request
 * passed replica_check_follower_fetch; -ENOENT for an unknown follower,
 * -EPERM when not leader, -ERANGE for an offset past the leader's LEO
 * (nothing recorded).
 */
int replica_on_follower_fetch(replica_t *r, int32_t follower_id, int64_t fetch_offset, int64_t follower_log_start,
                              int64_t leader_leo_at_read, int64_t now_ms, replica_fetch_result_t *res);

/*
 * The periodic ISR check (Kafka runs it every replica.lag.time.max.ms / 2):
 * followers in the ISR that are not at the leader's LEO and have not caught
 * up for more than lag_max_ms are proposed for removal. Returns true with
 * *proposal (kind SHRINK) when there is one; never while one is pending.
 */
bool replica_tick(replica_t *r, int64_t now_ms, replica_proposal_t *proposal);

/*
 * The metadata store took an ISR (the proposal, or what the store held):
 * it becomes the committed ISR at partition_epoch and the HW may advance
 * (*hw_advanced, may be NULL). -ESTALE (ignored) when leader_epoch is not
 * ours or partition_epoch older than ours, -EPERM when not leader, -EINVAL
 * for a member outside the assignment, -E2BIG.
 */
int replica_apply_isr(replica_t *r, int32_t leader_epoch, const int32_t *isr, int32_t nisr, int32_t partition_epoch,
                      int64_t now_ms, bool *hw_advanced);
/* The write of the pending proposal failed (not attempted, rejected): back to the committed state. */
void replica_abort_isr(replica_t *r);

/* Produce admission: NOT_LEADER_OR_FOLLOWER unless leader; acks=-1 with the ISR below the effective min.insync
 * NOT_ENOUGH_REPLICAS; acks 0 and 1 are never refused for the ISR. */
int16_t replica_check_produce(const replica_t *r, int16_t acks);

/*
 * An acks=all Produce whose batch ends before required_offset (its last
 * offset + 1): false while the HW has not reached it (park); true when
 * done, with *err NONE, NOT_ENOUGH_REPLICAS_AFTER_APPEND when the HW got
 * there but the maximal ISR is now below the effective min.insync, or
 * NOT_LEADER_OR_FOLLOWER when this node is no longer leader.
 */
bool replica_acks_reached(const replica_t *r, int64_t required_offset, int16_t *err);

/*
 * ListOffsets for a client after an election: OFFSET_NOT_AVAILABLE while the
 * HW is below the start of the leader's epoch (Kafka, for latest and for
 * timestamps past what can be read), NONE otherwise.
 */
int16_t replica_offsets_available(const replica_t *r);

/* The ISR the HW and acks=all count: the committed one, plus the replica a pending expansion adds. */
void replica_maximal_isr(const replica_t *r, replica_set_t *out);
/* The follower's tracking, or NULL when id is not a follower this leader tracks. */
const replica_follower_t *replica_follower(const replica_t *r, int32_t id);
bool replica_set_contains(const replica_set_t *s, int32_t id);

static inline bool replica_is_leader(const replica_t *r)
{
    return r->role == REPLICA_ROLE_LEADER;
}
static inline int64_t replica_hw(const replica_t *r)
{
    return r->hw;
}

#endif
