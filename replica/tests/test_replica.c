/*
 * replica/replica: Kafka's high watermark and ISR rules on a fake clock —
 * the HW with three replicas, never backward, frozen under min.insync;
 * ISR shrink after replica.lag.time.max.ms and expansion at the HW;
 * pending proposals; produce admission and acks=all completion (the
 * decision to park an acks=all Produce); follower HW; epoch fencing;
 * leadership changes; fetches from replicas outside the assignment.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "replica/replica.h"

#define T0  1000000 /* the fake clock's start, far from 0 */
#define LAG 30000   /* replica.lag.time.max.ms */

/* Node 1 leads epoch 5 of replicas {1,2,3} with ISR isr[0..nisr), its LEO leo. */
static void lead3(replica_t *r, const int32_t *isr, int32_t nisr, int64_t leo)
{
    static const int32_t replicas[] = {1, 2, 3};
    replica_init(r, 1, LAG);
    assert_int_equal(replica_become_leader(r, 5, 10, replicas, 3, isr, nisr, leo, 0, T0, NULL), 0);
}

static void fetch_ok(replica_t *r, int32_t id, int64_t offset, int64_t now, replica_fetch_result_t *res)
{
    assert_int_equal(replica_check_follower_fetch(r, id, r->leader_epoch), REPLICA_ERR_NONE);
    assert_int_equal(replica_on_follower_fetch(r, id, offset, 0, r->leo, now, res), 0);
}

static void hw_is_the_smallest_leo_of_three_in_sync_replicas(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 0);
    assert_false(replica_on_local_append(&r, 10, T0));
    assert_int_equal(replica_hw(&r), 0); /* nobody has fetched yet */
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 10, T0 + 1, &res);
    assert_false(res.hw_advanced); /* 3 is still at an unknown LEO */
    assert_int_equal(replica_hw(&r), 0);
    fetch_ok(&r, 3, 4, T0 + 2, &res);
    assert_true(res.hw_advanced);
    assert_int_equal(replica_hw(&r), 4);
    fetch_ok(&r, 3, 10, T0 + 3, &res);
    assert_true(res.hw_advanced);
    assert_int_equal(replica_hw(&r), 10);
    assert_int_equal(res.proposal.kind, REPLICA_ISR_COMMITTED); /* already in the ISR */
    /* The leader's own LEO bounds it: followers cannot be past it, and a new append waits for them again. */
    assert_false(replica_on_local_append(&r, 15, T0 + 4));
    assert_int_equal(replica_hw(&r), 10);
    assert_int_equal(replica_on_follower_fetch(&r, 2, 16, 0, 15, T0 + 5, &res), -ERANGE);
}

static void hw_never_moves_backward(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 20);
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 20, T0 + 1, &res);
    fetch_ok(&r, 3, 20, T0 + 1, &res);
    assert_int_equal(replica_hw(&r), 20);
    /* A follower that restarted and fetches from further back lowers the minimum, not the HW. */
    fetch_ok(&r, 3, 12, T0 + 2, &res);
    assert_false(res.hw_advanced);
    assert_int_equal(replica_hw(&r), 20);
    /* The same leader told again (same epoch) with a lower HW keeps its own. */
    const int32_t replicas[] = {1, 2, 3};
    assert_int_equal(replica_become_leader(&r, 5, 11, replicas, 3, isr, 3, 20, 3, T0 + 3, NULL), 0);
    assert_int_equal(replica_hw(&r), 20);
    /* An ISR change does not lower it either. */
    assert_int_equal(replica_apply_isr(&r, 5, isr, 3, 12, T0 + 4, NULL), 0);
    assert_int_equal(replica_hw(&r), 20);
}

static void hw_is_frozen_while_the_isr_is_below_min_insync(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1};
    lead3(&r, isr, 1, 0);
    replica_set_min_insync(&r, 2);
    assert_false(replica_on_local_append(&r, 5, T0));
    assert_int_equal(replica_hw(&r), 0);
    /* With min.insync.replicas=1 the leader alone advances it. */
    replica_set_min_insync(&r, 1);
    assert_true(replica_on_local_append(&r, 6, T0));
    assert_int_equal(replica_hw(&r), 6);
}

static void isr_shrinks_after_the_lag_time(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 0);
    replica_on_local_append(&r, 10, T0);
    replica_fetch_result_t res;
    replica_proposal_t p;
    /* Both followers count as caught up at the start of the epoch. */
    assert_false(replica_tick(&r, T0 + LAG, &p));
    fetch_ok(&r, 2, 10, T0 + 100, &res); /* 2 keeps up, 3 never fetches */
    assert_false(replica_tick(&r, T0 + LAG, &p));
    assert_true(replica_tick(&r, T0 + LAG + 1, &p));
    assert_int_equal(p.kind, REPLICA_ISR_PENDING_SHRINK);
    assert_int_equal(p.leader_epoch, 5);
    assert_int_equal(p.partition_epoch, 10);
    assert_int_equal(p.isr.n, 2);
    assert_int_equal(p.isr.ids[0], 1);
    assert_int_equal(p.isr.ids[1], 2);
    /* A follower at the leader's LEO is in sync however long ago it last caught up. */
    replica_t s;
    lead3(&s, isr, 3, 0);
    fetch_ok(&s, 2, 0, T0 + 1, &res);
    fetch_ok(&s, 3, 0, T0 + 1, &res);
    assert_false(replica_tick(&s, T0 + 10 * LAG, &p));
}

static void slow_follower_stays_in_sync_by_its_previous_fetch(void **state)
{
    (void)state;
    /* Small produces keep the leader's LEO ahead of every fetch; a follower that
     * fetches up to where the leader was at its previous fetch is caught up as of then. */
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 0);
    replica_fetch_result_t res;
    replica_proposal_t p;
    int64_t now = T0;
    fetch_ok(&r, 3, 0, now, &res);
    for (int i = 1; i <= 10; i++) {
        now += LAG / 2;
        int64_t before = r.leo;
        replica_on_local_append(&r, before + 1, now); /* appended just before the fetch */
        fetch_ok(&r, 2, before, now, &res);           /* reaches where the leader was last time */
        fetch_ok(&r, 3, r.leo, now, &res);
    }
    assert_false(replica_tick(&r, now + 1, &p));
    const replica_follower_t *f = replica_follower(&r, 2);
    assert_non_null(f);
    int64_t caught = now - LAG / 2;
    assert_int_equal(f->last_caught_up_ms, caught);
    /* One that stops making progress is out once the lag time has passed since then. */
    now += LAG / 2;
    replica_on_local_append(&r, r.leo + 5, now);
    fetch_ok(&r, 2, r.leo - 6, now, &res); /* where it was: below the leader's LEO at its previous fetch */
    fetch_ok(&r, 3, r.leo, now, &res);
    assert_int_equal(f->last_caught_up_ms, caught);
    assert_false(replica_tick(&r, caught + LAG, &p));
    assert_true(replica_tick(&r, caught + LAG + 1, &p));
    assert_int_equal(p.isr.n, 2);
    assert_int_equal(p.isr.ids[1], 3);
}

static void follower_joins_the_isr_when_it_reaches_the_hw(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2};
    lead3(&r, isr, 2, 10); /* the epoch starts at 10 */
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 10, T0, &res);
    assert_int_equal(replica_hw(&r), 10);
    fetch_ok(&r, 3, 4, T0 + 1, &res);
    assert_int_equal(res.proposal.kind, REPLICA_ISR_COMMITTED); /* below the HW */
    replica_on_local_append(&r, 12, T0 + 2);
    fetch_ok(&r, 3, 10, T0 + 3, &res); /* at the HW, not yet at the LEO */
    assert_int_equal(res.proposal.kind, REPLICA_ISR_PENDING_EXPAND);
    assert_int_equal(res.proposal.isr.n, 3);
    assert_int_equal(res.proposal.isr.ids[2], 3);
    assert_int_equal(res.proposal.partition_epoch, 10);
    /* The store took it at version 11. */
    assert_int_equal(replica_apply_isr(&r, 5, res.proposal.isr.ids, res.proposal.isr.n, 11, T0 + 4, NULL), 0);
    assert_int_equal(r.isr.n, 3);
    assert_int_equal(r.partition_epoch, 11);
    assert_int_equal(r.isr_state, REPLICA_ISR_COMMITTED);
}

static void follower_below_the_epoch_start_does_not_join(void **state)
{
    (void)state;
    /* A new leader with a stale HW: a follower at the HW but below the epoch's start stays out. */
    replica_t r;
    const int32_t replicas[] = {1, 2};
    const int32_t isr[] = {1};
    replica_init(&r, 1, LAG);
    assert_int_equal(replica_become_leader(&r, 0, 0, replicas, 2, isr, 1, 20, 8, T0, NULL), 0);
    assert_int_equal(replica_hw(&r), 20); /* the leader alone is the ISR */
    replica_t s;
    replica_init(&s, 1, LAG);
    replica_set_min_insync(&s, 2);
    assert_int_equal(replica_become_leader(&s, 0, 0, replicas, 2, isr, 1, 20, 8, T0, NULL), 0);
    assert_int_equal(replica_hw(&s), 8); /* under min.insync: frozen at what the log knew */
    assert_int_equal(replica_offsets_available(&s), REPLICA_ERR_OFFSET_NOT_AVAILABLE);
    replica_fetch_result_t res;
    assert_int_equal(replica_on_follower_fetch(&s, 2, 8, 0, 20, T0 + 1, &res), 0);
    assert_int_equal(res.proposal.kind, REPLICA_ISR_COMMITTED);
    assert_int_equal(replica_on_follower_fetch(&s, 2, 20, 0, 20, T0 + 2, &res), 0);
    assert_int_equal(res.proposal.kind, REPLICA_ISR_PENDING_EXPAND);
}

static void pending_expansion_counts_the_new_replica_and_blocks_others(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1};
    lead3(&r, isr, 1, 0);
    replica_on_local_append(&r, 10, T0);
    assert_int_equal(replica_hw(&r), 10); /* ISR {1}, min.insync 1 */
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 10, T0 + 1, &res);
    assert_int_equal(res.proposal.kind, REPLICA_ISR_PENDING_EXPAND);
    /* While pending: the HW waits for 2 as if it were in the ISR ... */
    replica_on_local_append(&r, 20, T0 + 2);
    assert_int_equal(replica_hw(&r), 10);
    replica_set_t maximal;
    replica_maximal_isr(&r, &maximal);
    assert_int_equal(maximal.n, 2);
    /* ... no second proposal is made, neither expansion nor shrink ... */
    fetch_ok(&r, 3, 10, T0 + 3, &res);
    assert_int_equal(res.proposal.kind, REPLICA_ISR_COMMITTED);
    replica_proposal_t p;
    assert_false(replica_tick(&r, T0 + 10 * LAG, &p));
    /* ... and a failed write goes back to the committed ISR, after which proposals resume. */
    replica_abort_isr(&r);
    assert_int_equal(r.isr_state, REPLICA_ISR_COMMITTED);
    fetch_ok(&r, 3, 10, T0 + 4, &res);
    assert_int_equal(res.proposal.kind, REPLICA_ISR_PENDING_EXPAND);
    assert_int_equal(res.proposal.isr.ids[1], 3);
    /* An answer for another leader epoch or an older version is ignored. */
    const int32_t two[] = {1, 3};
    assert_int_equal(replica_apply_isr(&r, 4, two, 2, 11, T0 + 5, NULL), -ESTALE);
    assert_int_equal(replica_apply_isr(&r, 5, two, 2, 9, T0 + 5, NULL), -ESTALE);
    const int32_t stranger[] = {1, 7};
    assert_int_equal(replica_apply_isr(&r, 5, stranger, 2, 11, T0 + 5, NULL), -EINVAL);
    assert_int_equal(r.isr_state, REPLICA_ISR_PENDING_EXPAND);
}

static void pending_shrink_counts_the_current_isr(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 0);
    replica_on_local_append(&r, 10, T0);
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 10, T0 + 1, &res);
    replica_proposal_t p;
    assert_true(replica_tick(&r, T0 + LAG + 1, &p)); /* 3 never fetched */
    assert_int_equal(p.isr.n, 2);
    /* Until the store confirms, 3 still holds the HW back. */
    assert_int_equal(replica_hw(&r), 0);
    assert_false(replica_on_local_append(&r, 11, T0 + LAG + 2));
    bool adv = false;
    assert_int_equal(replica_apply_isr(&r, 5, p.isr.ids, p.isr.n, 11, T0 + LAG + 3, &adv), 0);
    assert_true(adv);
    assert_int_equal(replica_hw(&r), 10); /* 2's LEO */
}

static void caught_up_follower_outside_the_isr_holds_the_hw(void **state)
{
    (void)state;
    /* Kafka waits for a follower that is caught up and about to join, so it is not outrun forever. */
    replica_t r;
    const int32_t isr[] = {1};
    lead3(&r, isr, 1, 0);
    replica_on_local_append(&r, 10, T0);
    assert_int_equal(replica_hw(&r), 10);
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 10, T0 + 1, &res); /* caught up at T0 + 1 */
    replica_abort_isr(&r);             /* its expansion failed */
    replica_on_local_append(&r, 20, T0 + 2);
    assert_int_equal(replica_hw(&r), 10); /* waits for 2 */
    replica_on_local_append(&r, 21, T0 + 1 + LAG + 1);
    assert_int_equal(replica_hw(&r), 21); /* 2 is no longer caught up: not waited for */
}

static void produce_admission_follows_min_insync(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1};
    lead3(&r, isr, 1, 0);
    replica_set_min_insync(&r, 2);
    assert_int_equal(replica_check_produce(&r, -1), REPLICA_ERR_NOT_ENOUGH_REPLICAS);
    assert_int_equal(replica_check_produce(&r, 1), REPLICA_ERR_NONE);
    assert_int_equal(replica_check_produce(&r, 0), REPLICA_ERR_NONE);
    const int32_t two[] = {1, 2};
    assert_int_equal(replica_apply_isr(&r, 5, two, 2, 11, T0, NULL), 0);
    assert_int_equal(replica_check_produce(&r, -1), REPLICA_ERR_NONE);
    /* Kafka 3.7+: min.insync.replicas is capped at the replication factor (KAFKA-15583). */
    replica_t one;
    const int32_t self[] = {1};
    replica_init(&one, 1, LAG);
    assert_int_equal(replica_become_leader(&one, -1, -1, self, 1, self, 1, 0, 0, T0, NULL), 0);
    replica_set_min_insync(&one, 2);
    assert_int_equal(replica_effective_min_isr(&one), 1);
    assert_int_equal(replica_check_produce(&one, -1), REPLICA_ERR_NONE);
    /* Not the leader: refused whatever the acks. */
    replica_t f;
    replica_init(&f, 2, LAG);
    const int32_t replicas[] = {1, 2, 3};
    assert_int_equal(replica_become_follower(&f, 5, 10, 1, replicas, 3, replicas, 3, 0), 1);
    assert_int_equal(replica_check_produce(&f, 1), REPLICA_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(replica_check_produce(&f, 0), REPLICA_ERR_NOT_LEADER_OR_FOLLOWER);
}

static void acks_all_waits_for_the_hw(void **state)
{
    (void)state;
    /* The parking decision of an acks=all Produce: pending until the HW passes its batch. */
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 0);
    replica_set_min_insync(&r, 2);
    assert_int_equal(replica_check_produce(&r, -1), REPLICA_ERR_NONE);
    replica_on_local_append(&r, 5, T0); /* the batch is offsets 0..4 */
    int16_t err = -1;
    assert_false(replica_acks_reached(&r, 5, &err));
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 5, T0 + 1, &res);
    assert_false(res.hw_advanced);
    assert_false(replica_acks_reached(&r, 5, &err));
    fetch_ok(&r, 3, 5, T0 + 2, &res);
    assert_true(res.hw_advanced); /* the broker's wake */
    assert_true(replica_acks_reached(&r, 5, &err));
    assert_int_equal(err, REPLICA_ERR_NONE);
    /* A leadership lost while waiting answers NOT_LEADER_OR_FOLLOWER. */
    replica_on_local_append(&r, 9, T0 + 3);
    assert_false(replica_acks_reached(&r, 9, &err));
    const int32_t replicas[] = {1, 2, 3};
    assert_int_equal(replica_become_follower(&r, 6, 11, 2, replicas, 3, replicas, 3, 9), 1);
    assert_true(replica_acks_reached(&r, 9, &err));
    assert_int_equal(err, REPLICA_ERR_NOT_LEADER_OR_FOLLOWER);
}

static void acks_all_after_the_isr_shrank_is_not_enough_replicas_after_append(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 0);
    replica_set_min_insync(&r, 2);
    replica_on_local_append(&r, 5, T0);
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 5, T0 + 1, &res);
    fetch_ok(&r, 3, 5, T0 + 1, &res);
    assert_int_equal(replica_hw(&r), 5);
    /* Both followers fall out before the answer is checked. */
    replica_on_local_append(&r, 6, T0 + 2);
    replica_proposal_t p;
    assert_true(replica_tick(&r, T0 + 1 + LAG + 1, &p));
    assert_int_equal(p.isr.n, 1);
    int16_t err;
    assert_true(replica_acks_reached(&r, 5, &err)); /* pending shrink: the current ISR still counts */
    assert_int_equal(err, REPLICA_ERR_NONE);
    assert_int_equal(replica_apply_isr(&r, 5, p.isr.ids, p.isr.n, 11, T0 + LAG + 3, NULL), 0);
    assert_true(replica_acks_reached(&r, 5, &err));
    assert_int_equal(err, REPLICA_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    assert_int_equal(replica_check_produce(&r, -1), REPLICA_ERR_NOT_ENOUGH_REPLICAS);
    assert_int_equal(replica_check_produce(&r, 1), REPLICA_ERR_NONE);
}

static void follower_hw_is_the_leaders_capped_by_its_leo(void **state)
{
    (void)state;
    replica_t r;
    const int32_t replicas[] = {1, 2, 3};
    replica_init(&r, 2, LAG);
    assert_int_equal(replica_become_follower(&r, 5, 10, 1, replicas, 3, replicas, 3, 4), 1);
    assert_true(replica_on_leader_hw(&r, 10));
    assert_int_equal(replica_hw(&r), 4); /* only what it holds */
    replica_on_local_append(&r, 8, T0);
    assert_true(replica_on_leader_hw(&r, 10));
    assert_int_equal(replica_hw(&r), 8);
    assert_true(replica_on_leader_hw(&r, 6)); /* the leader's word, even lower */
    assert_int_equal(replica_hw(&r), 6);
    assert_false(replica_on_leader_hw(&r, 6));
    replica_on_local_truncate(&r, 3);
    assert_int_equal(replica_hw(&r), 3);
    /* A follower tracks no followers and makes no proposals. */
    replica_proposal_t p;
    assert_false(replica_tick(&r, T0 + 10 * LAG, &p));
    replica_fetch_result_t res;
    assert_int_equal(replica_on_follower_fetch(&r, 3, 0, 0, 3, T0, &res), -EPERM);
}

static void epochs_fence_requests(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 0);
    assert_int_equal(replica_check_epoch(&r, -1), REPLICA_ERR_NONE);
    assert_int_equal(replica_check_epoch(&r, 5), REPLICA_ERR_NONE);
    assert_int_equal(replica_check_epoch(&r, 4), REPLICA_ERR_FENCED_LEADER_EPOCH);
    assert_int_equal(replica_check_epoch(&r, 6), REPLICA_ERR_UNKNOWN_LEADER_EPOCH);
    assert_int_equal(replica_check_read(&r, 4, true), REPLICA_ERR_FENCED_LEADER_EPOCH);
    assert_int_equal(replica_check_follower_fetch(&r, 2, 6), REPLICA_ERR_UNKNOWN_LEADER_EPOCH);
    /* A follower: the epoch first, then the role. */
    replica_t f;
    replica_init(&f, 2, LAG);
    assert_int_equal(replica_check_read(&f, -1, false), REPLICA_ERR_NOT_LEADER_OR_FOLLOWER); /* not a replica yet */
    assert_int_equal(replica_become_follower(&f, 5, 10, 1, isr, 3, isr, 3, 0), 1);
    assert_int_equal(replica_check_read(&f, 5, true), REPLICA_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(replica_check_read(&f, 5, false), REPLICA_ERR_NONE); /* Fetch v11+ consumers may read it */
    assert_int_equal(replica_check_read(&f, 3, true), REPLICA_ERR_FENCED_LEADER_EPOCH);
    assert_int_equal(replica_check_follower_fetch(&f, 3, -1), REPLICA_ERR_NOT_LEADER_OR_FOLLOWER);
    /* The same epoch again is not new; an older partition epoch is skipped. */
    assert_int_equal(replica_become_follower(&f, 5, 10, 1, isr, 3, isr, 3, 0), 0);
    assert_int_equal(replica_become_follower(&f, 6, 9, 1, isr, 3, isr, 3, 0), -ESTALE);
    assert_int_equal(f.leader_epoch, 5);
    replica_stop(&f);
    assert_int_equal(replica_check_read(&f, -1, false), REPLICA_ERR_NOT_LEADER_OR_FOLLOWER);
}

static void becoming_follower_drops_follower_tracking(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 10);
    replica_fetch_result_t res;
    fetch_ok(&r, 2, 10, T0, &res);
    replica_proposal_t p;
    assert_true(replica_tick(&r, T0 + LAG + 1, &p)); /* 3 is out: a shrink is pending */
    assert_int_equal(replica_become_follower(&r, 6, 11, 2, isr, 3, isr, 3, 10), 1);
    assert_int_equal(r.nfollowers, 0);
    assert_int_equal(r.isr_state, REPLICA_ISR_COMMITTED);
    assert_null(replica_follower(&r, 2));
    assert_int_equal(r.leader_id, 2);
    /* Leader again in a later epoch: everything starts from scratch. */
    assert_int_equal(replica_become_leader(&r, 7, 12, isr, 3, isr, 3, 10, 10, T0 + 5, NULL), 0);
    const replica_follower_t *f = replica_follower(&r, 2);
    assert_non_null(f);
    assert_int_equal(f->leo, -1);
    assert_int_equal(f->last_caught_up_ms, T0 + 5); /* in the ISR: caught up as of now */
    assert_int_equal(r.epoch_start_offset, 10);
    /* A sitting leader told of a new epoch keeps the LEOs it knows. */
    fetch_ok(&r, 2, 10, T0 + 6, &res);
    assert_int_equal(replica_check_follower_fetch(&r, 2, 7), REPLICA_ERR_NONE);
    const int32_t isr12[] = {1, 2};
    assert_int_equal(replica_become_leader(&r, 8, 13, isr, 3, isr12, 2, 10, 10, T0 + 7, NULL), 0);
    f = replica_follower(&r, 2);
    assert_int_equal(f->leo, 10);
    assert_int_equal(f->last_fetch_leader_leo, 10);
    assert_int_equal(replica_follower(&r, 3)->last_caught_up_ms, REPLICA_TIME_NEVER); /* not in the ISR */
}

static void fetch_from_a_replica_outside_the_assignment(void **state)
{
    (void)state;
    replica_t r;
    const int32_t isr[] = {1, 2, 3};
    lead3(&r, isr, 3, 10);
    /* Kafka: UNKNOWN_LEADER_EPOCH when the request names the (right) epoch, else NOT_LEADER_OR_FOLLOWER. */
    assert_int_equal(replica_check_follower_fetch(&r, 9, 5), REPLICA_ERR_UNKNOWN_LEADER_EPOCH);
    assert_int_equal(replica_check_follower_fetch(&r, 9, -1), REPLICA_ERR_NOT_LEADER_OR_FOLLOWER);
    assert_int_equal(replica_check_follower_fetch(&r, 9, 4), REPLICA_ERR_FENCED_LEADER_EPOCH);
    replica_fetch_result_t res;
    assert_int_equal(replica_on_follower_fetch(&r, 9, 10, 0, 10, T0, &res), -ENOENT);
    /* The leader is not its own follower either. */
    assert_int_equal(replica_check_follower_fetch(&r, 1, -1), REPLICA_ERR_NOT_LEADER_OR_FOLLOWER);
}

static void single_broker_hw_is_the_leo(void **state)
{
    (void)state;
    /* eddy on one broker: leader of {self}, epoch -1, every append committed at once. */
    replica_t r;
    const int32_t self[] = {7};
    replica_init(&r, 7, LAG);
    bool adv = true;
    assert_int_equal(replica_become_leader(&r, -1, -1, self, 1, self, 1, 42, 42, T0, &adv), 0);
    assert_false(adv);
    assert_int_equal(r.leader_epoch, -1);
    assert_int_equal(r.leader_id, 7);
    assert_int_equal(replica_hw(&r), 42);
    assert_int_equal(replica_offsets_available(&r), REPLICA_ERR_NONE);
    for (int64_t leo = 43; leo < 50; leo++) {
        assert_true(replica_on_local_append(&r, leo, T0));
        assert_int_equal(replica_hw(&r), leo);
        int16_t err;
        assert_true(replica_acks_reached(&r, leo, &err));
        assert_int_equal(err, REPLICA_ERR_NONE);
    }
    assert_false(replica_on_local_append(&r, 49, T0)); /* no news */
    /* Epoch -1 fences nothing: librdkafka 2.x sends 0 for the -1 it was told. */
    assert_int_equal(replica_check_epoch(&r, -1), REPLICA_ERR_NONE);
    assert_int_equal(replica_check_epoch(&r, 0), REPLICA_ERR_NONE);
    assert_int_equal(replica_check_read(&r, 7, true), REPLICA_ERR_NONE);
    assert_int_equal(replica_check_follower_fetch(&r, 3, 0), REPLICA_ERR_UNKNOWN_LEADER_EPOCH); /* not a follower */
    replica_proposal_t p;
    assert_false(replica_tick(&r, T0 + 100 * LAG, &p));
    /* The log start bounds the HW from below (DeleteRecords cannot pass it, but keep the rule). */
    replica_on_log_start(&r, 30);
    assert_int_equal(replica_hw(&r), 49);
}

static void bad_assignments_are_refused(void **state)
{
    (void)state;
    replica_t r;
    replica_init(&r, 1, LAG);
    int32_t many[REPLICA_MAX_REPLICAS + 1];
    for (int i = 0; i <= REPLICA_MAX_REPLICAS; i++)
        many[i] = i + 1;
    assert_int_equal(replica_become_leader(&r, 0, 0, many, REPLICA_MAX_REPLICAS + 1, many, 1, 0, 0, T0, NULL), -E2BIG);
    assert_int_equal(
        replica_become_leader(&r, 0, 0, many, REPLICA_MAX_REPLICAS, many, REPLICA_MAX_REPLICAS, 0, 0, T0, NULL), 0);
    assert_int_equal(r.nfollowers, REPLICA_MAX_REPLICAS - 1);
    const int32_t dup[] = {1, 2, 2};
    assert_int_equal(replica_become_leader(&r, 1, 1, dup, 3, dup, 1, 0, 0, T0, NULL), -EINVAL);
    const int32_t two[] = {1, 2};
    const int32_t outside[] = {1, 3};
    assert_int_equal(replica_become_leader(&r, 1, 1, two, 2, outside, 2, 0, 0, T0, NULL), -EINVAL);
    assert_int_equal(replica_become_leader(&r, 1, -1, two, 2, two, 2, 0, 0, T0, NULL), -ESTALE);
    assert_int_equal(r.leader_epoch, 0); /* unchanged by the refusals */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hw_is_the_smallest_leo_of_three_in_sync_replicas),
        cmocka_unit_test(hw_never_moves_backward),
        cmocka_unit_test(hw_is_frozen_while_the_isr_is_below_min_insync),
        cmocka_unit_test(isr_shrinks_after_the_lag_time),
        cmocka_unit_test(slow_follower_stays_in_sync_by_its_previous_fetch),
        cmocka_unit_test(follower_joins_the_isr_when_it_reaches_the_hw),
        cmocka_unit_test(follower_below_the_epoch_start_does_not_join),
        cmocka_unit_test(pending_expansion_counts_the_new_replica_and_blocks_others),
        cmocka_unit_test(pending_shrink_counts_the_current_isr),
        cmocka_unit_test(caught_up_follower_outside_the_isr_holds_the_hw),
        cmocka_unit_test(produce_admission_follows_min_insync),
        cmocka_unit_test(acks_all_waits_for_the_hw),
        cmocka_unit_test(acks_all_after_the_isr_shrank_is_not_enough_replicas_after_append),
        cmocka_unit_test(follower_hw_is_the_leaders_capped_by_its_leo),
        cmocka_unit_test(epochs_fence_requests),
        cmocka_unit_test(becoming_follower_drops_follower_tracking),
        cmocka_unit_test(fetch_from_a_replica_outside_the_assignment),
        cmocka_unit_test(single_broker_hw_is_the_leo),
        cmocka_unit_test(bad_assignments_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
