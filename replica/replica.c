/*
 * replica/replica.c: the rules of replica/replica.h. Facts from Kafka 3.9's
 * Partition (makeLeader, makeFollower, updateFollowerFetchState,
 * maybeExpandIsr, maybeIncrementLeaderHW, getOutOfSyncReplicas,
 * checkEnoughReplicasReachOffset, appendRecordsToLeader) and Replica
 * (updateFetchStateOrThrow, resetReplicaState, isCaughtUp); the code is ours.
 */
#include "replica/replica.h"

#include <errno.h>
#include <string.h>

bool replica_set_contains(const replica_set_t *s, int32_t id)
{
    for (int32_t i = 0; i < s->n; i++)
        if (s->ids[i] == id)
            return true;
    return false;
}

/* Copies ids into *out: at most REPLICA_MAX_REPLICAS, no id twice, and (when within is given) each one in it. */
static int set_assign(replica_set_t *out, const int32_t *ids, int32_t n, const replica_set_t *within)
{
    if (n < 0 || (n > 0 && !ids))
        return -EINVAL;
    if (n > REPLICA_MAX_REPLICAS)
        return -E2BIG;
    replica_set_t s = {.n = 0};
    for (int32_t i = 0; i < n; i++) {
        if (replica_set_contains(&s, ids[i]) || (within && !replica_set_contains(within, ids[i])))
            return -EINVAL;
        s.ids[s.n++] = ids[i];
    }
    *out = s;
    return 0;
}

static replica_follower_t *follower_find(replica_t *r, int32_t id)
{
    for (int32_t i = 0; i < r->nfollowers; i++)
        if (r->followers[i].id == id)
            return &r->followers[i];
    return NULL;
}

const replica_follower_t *replica_follower(const replica_t *r, int32_t id)
{
    return follower_find((replica_t *)(uintptr_t)r, id);
}

/* A follower the leader has heard nothing from (Kafka's ReplicaState.Empty). */
static replica_follower_t follower_empty(int32_t id)
{
    return (replica_follower_t){
        .id = id,
        .leo = -1,
        .log_start_offset = -1,
        .last_fetch_leader_leo = 0,
        .last_fetch_ms = REPLICA_TIME_NEVER,
        .last_caught_up_ms = REPLICA_TIME_NEVER,
    };
}

/*
 * Kafka's isCaughtUp: at the leader's LEO, or caught up within the lag
 * bound. A follower never caught up is not (Kafka's 0 on a wall clock).
 */
static bool follower_caught_up(const replica_follower_t *f, int64_t leader_leo, int64_t now_ms, int64_t lag_max_ms)
{
    if (f->leo == leader_leo)
        return true;
    return f->last_caught_up_ms != REPLICA_TIME_NEVER && now_ms - f->last_caught_up_ms <= lag_max_ms;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

void replica_init(replica_t *r, int32_t local_id, int64_t lag_max_ms)
{
    memset(r, 0, sizeof(*r));
    r->local_id = local_id;
    r->role = REPLICA_ROLE_NONE;
    r->leader_id = -1;
    r->leader_epoch = -1;
    r->partition_epoch = -1;
    r->pending_id = -1;
    r->epoch_start_offset = -1;
    r->min_insync = 1;
    r->lag_max_ms = lag_max_ms;
}

void replica_set_min_insync(replica_t *r, int32_t min_insync)
{
    r->min_insync = min_insync < 1 ? 1 : min_insync;
}

int32_t replica_effective_min_isr(const replica_t *r)
{
    /* Kafka 3.7+ (KAFKA-15583): never more than the assigned replicas, so min.insync.replicas=2 on a
     * one-replica partition behaves as 1. */
    int32_t assigned = r->nfollowers + 1;
    return r->min_insync < assigned ? r->min_insync : assigned;
}

void replica_maximal_isr(const replica_t *r, replica_set_t *out)
{
    *out = r->isr;
    if (r->isr_state == REPLICA_ISR_PENDING_EXPAND && !replica_set_contains(out, r->pending_id) &&
        out->n < REPLICA_MAX_REPLICAS)
        out->ids[out->n++] = r->pending_id;
}

/* The HW kept within [log start, LEO], Kafka's updateHighWatermark bounds. */
static int64_t hw_bound(const replica_t *r, int64_t hw)
{
    if (hw > r->leo)
        hw = r->leo;
    if (hw < r->log_start_offset)
        hw = r->log_start_offset <= r->leo ? r->log_start_offset : r->leo;
    return hw;
}

/*
 * Kafka's maybeIncrementLeaderHW: the smallest LEO over the maximal ISR and
 * over followers caught up enough that they are about to join it (so a
 * catching-up follower is not outrun forever); frozen while the committed
 * ISR is below the effective min.insync.replicas; only ever forward.
 */
static bool hw_maybe_advance(replica_t *r, int64_t now_ms)
{
    if (r->role != REPLICA_ROLE_LEADER || r->isr.n < replica_effective_min_isr(r))
        return false;
    replica_set_t maximal;
    replica_maximal_isr(r, &maximal);
    int64_t hw = r->leo;
    for (int32_t i = 0; i < r->nfollowers; i++) {
        const replica_follower_t *f = &r->followers[i];
        if (f->leo < hw &&
            (replica_set_contains(&maximal, f->id) || follower_caught_up(f, r->leo, now_ms, r->lag_max_ms)))
            hw = f->leo;
    }
    if (hw <= r->hw)
        return false;
    r->hw = hw;
    return true;
}

/* Kafka's resetReplicaState, on a new leader epoch. */
static void follower_reset(replica_follower_t *f, int64_t now_ms, int64_t leader_leo, bool new_leader, bool in_isr)
{
    int64_t caught_up = in_isr ? now_ms : REPLICA_TIME_NEVER;
    if (new_leader) {
        *f = follower_empty(f->id);
        f->last_fetch_leader_leo = -1;
    } else {
        f->last_fetch_leader_leo = leader_leo;
        f->last_fetch_ms = in_isr ? now_ms : REPLICA_TIME_NEVER;
    }
    f->last_caught_up_ms = caught_up;
}

int replica_become_leader(replica_t *r, int32_t leader_epoch, int32_t partition_epoch, const int32_t *replicas,
                          int32_t nreplicas, const int32_t *isr, int32_t nisr, int64_t local_leo, int64_t hw,
                          int64_t now_ms, bool *hw_advanced)
{
    if (hw_advanced)
        *hw_advanced = false;
    if (partition_epoch < r->partition_epoch)
        return -ESTALE; /* Kafka skips a change older than what it knows */
    replica_set_t new_replicas, new_isr;
    int rc = set_assign(&new_replicas, replicas, nreplicas, NULL);
    if (rc == 0)
        rc = set_assign(&new_isr, isr, nisr, &new_replicas);
    if (rc != 0)
        return rc;
    bool new_leader = r->role != REPLICA_ROLE_LEADER;
    bool new_epoch = !r->epoch_known || leader_epoch > r->leader_epoch;

    /* Followers still assigned keep their state (only a sitting leader has any); new ones start empty. */
    replica_follower_t followers[REPLICA_MAX_REPLICAS];
    int32_t n = 0;
    for (int32_t i = 0; i < new_replicas.n; i++) {
        int32_t id = new_replicas.ids[i];
        if (id == r->local_id)
            continue;
        const replica_follower_t *old = new_leader ? NULL : follower_find(r, id);
        followers[n++] = old ? *old : follower_empty(id);
    }
    memcpy(r->followers, followers, sizeof(followers[0]) * (size_t)n);
    r->nfollowers = n;
    r->replicas = new_replicas;
    r->isr = new_isr;
    r->isr_state = REPLICA_ISR_COMMITTED;
    r->pending_id = -1;
    r->sent_isr.n = 0;

    r->leo = local_leo;
    /* A sitting leader's HW never goes back; a new one starts from what its log knew. */
    r->hw = hw_bound(r, new_leader ? hw : max64(hw, r->hw));
    if (new_epoch) {
        r->epoch_start_offset = local_leo;
        for (int32_t i = 0; i < r->nfollowers; i++)
            follower_reset(&r->followers[i], now_ms, local_leo, new_leader,
                           replica_set_contains(&new_isr, r->followers[i].id));
        r->leader_epoch = leader_epoch;
        r->epoch_known = true;
    }
    r->partition_epoch = partition_epoch;
    r->leader_id = r->local_id;
    r->role = REPLICA_ROLE_LEADER;
    bool adv = hw_maybe_advance(r, now_ms);
    if (hw_advanced)
        *hw_advanced = adv;
    return 0;
}

int replica_become_follower(replica_t *r, int32_t leader_epoch, int32_t partition_epoch, int32_t leader_id,
                            const int32_t *replicas, int32_t nreplicas, const int32_t *isr, int32_t nisr,
                            int64_t local_leo)
{
    if (partition_epoch < r->partition_epoch)
        return -ESTALE;
    replica_set_t new_replicas, new_isr;
    int rc = set_assign(&new_replicas, replicas, nreplicas, NULL);
    if (rc == 0)
        rc = set_assign(&new_isr, isr, nisr, &new_replicas);
    if (rc != 0)
        return rc;
    bool new_epoch = !r->epoch_known || leader_epoch > r->leader_epoch;
    r->role = REPLICA_ROLE_FOLLOWER;
    r->leader_id = leader_id;
    r->leader_epoch = leader_epoch;
    r->epoch_known = true;
    r->partition_epoch = partition_epoch;
    r->epoch_start_offset = -1;
    r->replicas = new_replicas;
    r->isr = new_isr; /* the store's word; a follower decides nothing with it */
    r->isr_state = REPLICA_ISR_COMMITTED;
    r->pending_id = -1;
    r->sent_isr.n = 0;
    r->nfollowers = 0; /* Kafka clears its remote replicas: a later leadership starts afresh */
    r->leo = local_leo;
    r->hw = hw_bound(r, r->hw);
    return new_epoch ? 1 : 0;
}

void replica_stop(replica_t *r)
{
    r->role = REPLICA_ROLE_NONE;
    r->leader_id = -1;
    r->nfollowers = 0;
    r->isr_state = REPLICA_ISR_COMMITTED;
    r->pending_id = -1;
    r->sent_isr.n = 0;
    r->epoch_start_offset = -1;
}

bool replica_on_local_append(replica_t *r, int64_t leo, int64_t now_ms)
{
    if (leo == r->leo && (r->role != REPLICA_ROLE_LEADER || r->hw == leo))
        return false; /* the common no-news case, kept cheap: every HW read syncs the LEO first */
    r->leo = leo;
    if (r->hw > leo)
        r->hw = leo;
    return hw_maybe_advance(r, now_ms);
}

void replica_on_local_truncate(replica_t *r, int64_t leo)
{
    r->leo = leo;
    if (r->hw > leo)
        r->hw = leo;
}

void replica_on_log_start(replica_t *r, int64_t log_start_offset)
{
    r->log_start_offset = log_start_offset;
    r->hw = hw_bound(r, r->hw);
}

bool replica_on_leader_hw(replica_t *r, int64_t leader_hw)
{
    if (r->role != REPLICA_ROLE_FOLLOWER)
        return false;
    int64_t hw = hw_bound(r, leader_hw);
    if (hw == r->hw)
        return false;
    r->hw = hw;
    return true;
}

int16_t replica_check_epoch(const replica_t *r, int32_t current_leader_epoch)
{
    /* Not given; or this partition has no epoch (one broker), so there is nothing to be older or newer than. */
    if (current_leader_epoch == -1 || r->leader_epoch < 0)
        return REPLICA_ERR_NONE;
    if (r->leader_epoch > current_leader_epoch)
        return REPLICA_ERR_FENCED_LEADER_EPOCH;
    if (r->leader_epoch < current_leader_epoch)
        return REPLICA_ERR_UNKNOWN_LEADER_EPOCH;
    return REPLICA_ERR_NONE;
}

int16_t replica_check_read(const replica_t *r, int32_t current_leader_epoch, bool require_leader)
{
    int16_t e = replica_check_epoch(r, current_leader_epoch);
    if (e != REPLICA_ERR_NONE)
        return e;
    if (r->role == REPLICA_ROLE_NONE || (require_leader && r->role != REPLICA_ROLE_LEADER))
        return REPLICA_ERR_NOT_LEADER_OR_FOLLOWER;
    return REPLICA_ERR_NONE;
}

int16_t replica_check_follower_fetch(const replica_t *r, int32_t follower_id, int32_t current_leader_epoch)
{
    int16_t e = replica_check_read(r, current_leader_epoch, true);
    if (e != REPLICA_ERR_NONE)
        return e;
    if (!replica_follower(r, follower_id))
        return current_leader_epoch != -1 ? REPLICA_ERR_UNKNOWN_LEADER_EPOCH : REPLICA_ERR_NOT_LEADER_OR_FOLLOWER;
    return REPLICA_ERR_NONE;
}

int replica_on_follower_fetch(replica_t *r, int32_t follower_id, int64_t fetch_offset, int64_t follower_log_start,
                              int64_t leader_leo_at_read, int64_t now_ms, replica_fetch_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->proposal.kind = REPLICA_ISR_COMMITTED;
    if (r->role != REPLICA_ROLE_LEADER)
        return -EPERM;
    replica_follower_t *f = follower_find(r, follower_id);
    if (!f)
        return -ENOENT;
    if (fetch_offset > r->leo || fetch_offset < 0)
        return -ERANGE;
    int64_t prev_leo = f->leo;
    /* Kafka's updateFetchStateOrThrow: caught up now, or as of the previous fetch. */
    if (fetch_offset >= leader_leo_at_read)
        f->last_caught_up_ms = max64(f->last_caught_up_ms, now_ms);
    else if (fetch_offset >= f->last_fetch_leader_leo)
        f->last_caught_up_ms = max64(f->last_caught_up_ms, f->last_fetch_ms);
    f->log_start_offset = follower_log_start;
    f->leo = fetch_offset;
    f->last_fetch_leader_leo = max64(leader_leo_at_read, f->last_fetch_leader_leo);
    f->last_fetch_ms = now_ms;

    /* Kafka's maybeExpandIsr: at the HW and within this leader's epoch, with nothing pending. */
    if (r->isr_state == REPLICA_ISR_COMMITTED && !replica_set_contains(&r->isr, follower_id) && f->leo >= r->hw &&
        r->epoch_start_offset >= 0 && f->leo >= r->epoch_start_offset && r->isr.n < REPLICA_MAX_REPLICAS) {
        replica_proposal_t *p = &res->proposal;
        p->kind = REPLICA_ISR_PENDING_EXPAND;
        p->leader_epoch = r->leader_epoch;
        p->partition_epoch = r->partition_epoch;
        p->isr = r->isr;
        p->isr.ids[p->isr.n++] = follower_id;
        r->isr_state = REPLICA_ISR_PENDING_EXPAND;
        r->pending_id = follower_id;
        r->sent_isr = p->isr;
    }
    if (prev_leo != f->leo)
        res->hw_advanced = hw_maybe_advance(r, now_ms);
    return 0;
}

bool replica_tick(replica_t *r, int64_t now_ms, replica_proposal_t *proposal)
{
    memset(proposal, 0, sizeof(*proposal));
    proposal->kind = REPLICA_ISR_COMMITTED;
    if (r->role != REPLICA_ROLE_LEADER || r->isr_state != REPLICA_ISR_COMMITTED)
        return false;
    replica_set_t keep = {.n = 0};
    bool shrink = false;
    for (int32_t i = 0; i < r->isr.n; i++) {
        int32_t id = r->isr.ids[i];
        const replica_follower_t *f = id == r->local_id ? NULL : follower_find(r, id);
        /* Kafka's getOutOfSyncReplicas: an ISR member it has no state for is out of sync too. */
        bool out = id != r->local_id && (!f || !follower_caught_up(f, r->leo, now_ms, r->lag_max_ms));
        if (out)
            shrink = true;
        else
            keep.ids[keep.n++] = id;
    }
    if (!shrink)
        return false;
    proposal->kind = REPLICA_ISR_PENDING_SHRINK;
    proposal->leader_epoch = r->leader_epoch;
    proposal->partition_epoch = r->partition_epoch;
    proposal->isr = keep;
    r->isr_state = REPLICA_ISR_PENDING_SHRINK;
    r->pending_id = -1;
    r->sent_isr = keep;
    return true;
}

int replica_apply_isr(replica_t *r, int32_t leader_epoch, const int32_t *isr, int32_t nisr, int32_t partition_epoch,
                      int64_t now_ms, bool *hw_advanced)
{
    if (hw_advanced)
        *hw_advanced = false;
    if (r->role != REPLICA_ROLE_LEADER)
        return -EPERM;
    if (leader_epoch != r->leader_epoch || partition_epoch < r->partition_epoch)
        return -ESTALE; /* Kafka ignores an answer for another epoch or an older version */
    replica_set_t new_isr;
    int rc = set_assign(&new_isr, isr, nisr, &r->replicas);
    if (rc != 0)
        return rc;
    r->isr = new_isr;
    r->isr_state = REPLICA_ISR_COMMITTED;
    r->pending_id = -1;
    r->sent_isr.n = 0;
    r->partition_epoch = partition_epoch;
    bool adv = hw_maybe_advance(r, now_ms);
    if (hw_advanced)
        *hw_advanced = adv;
    return 0;
}

void replica_abort_isr(replica_t *r)
{
    r->isr_state = REPLICA_ISR_COMMITTED;
    r->pending_id = -1;
    r->sent_isr.n = 0;
}

int16_t replica_check_produce(const replica_t *r, int16_t acks)
{
    if (r->role != REPLICA_ROLE_LEADER)
        return REPLICA_ERR_NOT_LEADER_OR_FOLLOWER;
    if (acks == -1 && r->isr.n < replica_effective_min_isr(r))
        return REPLICA_ERR_NOT_ENOUGH_REPLICAS;
    return REPLICA_ERR_NONE;
}

bool replica_acks_reached(const replica_t *r, int64_t required_offset, int16_t *err)
{
    *err = REPLICA_ERR_NONE;
    if (r->role != REPLICA_ROLE_LEADER) {
        *err = REPLICA_ERR_NOT_LEADER_OR_FOLLOWER;
        return true;
    }
    if (r->hw < required_offset)
        return false;
    /* Written, but the ISR shrank below min.insync.replicas before the answer: Kafka says so. */
    replica_set_t maximal;
    replica_maximal_isr(r, &maximal);
    if (maximal.n < replica_effective_min_isr(r))
        *err = REPLICA_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    return true;
}

int16_t replica_offsets_available(const replica_t *r)
{
    if (r->role == REPLICA_ROLE_LEADER && r->epoch_start_offset > r->hw)
        return REPLICA_ERR_OFFSET_NOT_AVAILABLE;
    return REPLICA_ERR_NONE;
}
