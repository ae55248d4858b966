/*
 * coordinator/txn_recovery: what the transaction coordinator does on its
 * own — the timers (transaction timeouts, transactional-id expiration,
 * retries of failed writes) and the replay of __transaction_state at start,
 * after which transactions a restart interrupted are finished: Ongoing ones
 * fenced and aborted right in load_end (retried from tick when that write
 * fails; until then the old producer gets CONCURRENT_TRANSACTIONS), prepared
 * ones given their markers again.
 *
 * Timeouts are checked by a periodic scan, as Kafka does
 * (transaction.abort.timed.out.transaction.cleanup.interval.ms), so a
 * transaction is aborted at the first check after its deadline.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "coordinator/txn_internal.h"

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t txn_coordinator_next_deadline(const txn_coordinator_t *coord)
{
    int64_t due = coord->work_due;
    if (coord->nstate[TXN_ONGOING] > 0)
        due = min64(due, coord->next_abort_check);
    if (coord->txns.count > 0)
        due = min64(due, coord->next_expire_check);
    for (list_t *pos = coord->markers.next; pos != &coord->markers; pos = pos->next)
        due = min64(due, list_entry(pos, txn_t, mnode)->marker_due);
    return due;
}

/* Transactions a restart left open, and Complete* records that could not be written. */
static void do_work(txn_coordinator_t *coord)
{
    coord->work_due = INT64_MAX;
    size_t pos = 0;
    txn_t *txn;
    while ((coord->nrecover > 0 || coord->ncomplete_retry > 0) && (txn = map_next(&coord->txns, &pos)) != NULL) {
        if (txn_partition_loading(coord, txn->partition))
            continue;
        if (txn->complete_retry && (txn->state == TXN_PREPARE_COMMIT || txn->state == TXN_PREPARE_ABORT)) {
            (void)txn_write_complete(coord, txn); /* re-arms work_due on failure */
        } else if (txn->recover) {
            if (txn->state == TXN_ONGOING &&
                txn_fence_and_abort(coord, txn, "the broker restarted during the transaction") != 0) {
                coord->work_due = min64(coord->work_due, coord->now + coord->cfg.marker_retry_backoff_ms);
                continue;
            }
            txn->recover = false;
            coord->nrecover--;
        }
    }
}

static void abort_timed_out(txn_coordinator_t *coord)
{
    size_t pos = 0;
    txn_t *txn;
    while ((txn = map_next(&coord->txns, &pos)) != NULL) {
        if (txn->state != TXN_ONGOING || txn_partition_loading(coord, txn->partition))
            continue;
        if (txn->start_ts + txn->timeout_ms < coord->now)
            (void)txn_fence_and_abort(coord, txn, "transaction timed out"); /* a failure is retried next check */
    }
}

static void expire_ids(txn_coordinator_t *coord)
{
    size_t pos = 0;
    txn_t *txn;
    /* Deleting while iterating is safe: the map never shrinks on delete. */
    while ((txn = map_next(&coord->txns, &pos)) != NULL) {
        if (txn_partition_loading(coord, txn->partition) || txn->complete_retry)
            continue;
        if (txn->state != TXN_EMPTY && txn->state != TXN_COMPLETE_COMMIT && txn->state != TXN_COMPLETE_ABORT)
            continue;
        if (txn->update_ts > coord->now - coord->cfg.transactional_id_expiration_ms)
            continue;
        buf_t key;
        buf_init(&key);
        int16_t err = TXN_ERR_UNKNOWN_SERVER_ERROR;
        if (trec_key_metadata(&key, gstr_view(txn->id)) == 0)
            err = trec_append(coord, txn->partition, &key, NULL);
        buf_fini(&key);
        if (err) {
            LOG_WARN("txn", "transactional id %s: writing its expiration failed with error %d", gstr_c(txn->id), err);
            continue;
        }
        txn_transition(coord, txn, TXN_DEAD, "expired (transactional.id.expiration.ms)");
        txn_destroy(coord, txn);
    }
}

void txn_coordinator_tick(txn_coordinator_t *coord, int64_t now_ms)
{
    DIAG_ASSERT(!coord->in_append);
    coord->now = now_ms;
    if (now_ms >= coord->work_due)
        do_work(coord);
    if (now_ms >= coord->next_abort_check) {
        coord->next_abort_check = now_ms + coord->cfg.abort_timed_out_interval_ms;
        abort_timed_out(coord);
    }
    if (now_ms >= coord->next_expire_check) {
        coord->next_expire_check = now_ms + coord->cfg.remove_expired_interval_ms;
        expire_ids(coord);
    }
}

/* ---- loading ---- */

void txn_coordinator_load_begin(txn_coordinator_t *coord, int32_t partition, int64_t now_ms)
{
    DIAG_ASSERT(!coord->in_append);
    coord->now = now_ms;
    if (partition < 0 || partition >= coord->cfg.num_partitions)
        return;
    size_t pos = 0;
    txn_t *txn;
    while ((txn = map_next(&coord->txns, &pos)) != NULL)
        if (txn->partition == partition)
            txn_destroy(coord, txn);
    if (!coord->loading[partition]) {
        coord->loading[partition] = 1;
        coord->nloading++;
    }
}

typedef struct replay_tps_s {
    txn_t *txn;
} replay_tps_t;

static void replay_add_tp(void *arg, proto_str_t topic, int32_t partition)
{
    replay_tps_t *r = arg;
    txn_tps_add(r->txn, topic, partition);
}

int txn_coordinator_replay(txn_coordinator_t *coord, int32_t partition, proto_bytes_t key, proto_bytes_t value,
                           int64_t now_ms)
{
    (void)partition; /* the transactional id in the key decides where it lives now */
    DIAG_ASSERT(!coord->in_append);
    coord->now = now_ms;
    txn_rec_key_t k;
    int rc = txn_rec_parse_key(key, &k);
    if (rc)
        return rc;
    if (k.kind == TXN_REC_OTHER)
        return 0;
    if (k.kind == TXN_REC_PRODUCER_IDS) {
        int64_t end;
        rc = txn_rec_parse_producer_ids(value, &end);
        if (rc)
            return rc;
        if (end > coord->block_end)
            coord->block_end = end;
        /* The rest of the last block may have been handed out before the restart: skip it. */
        if (coord->block_end > coord->next_pid)
            coord->next_pid = coord->block_end;
        return 0;
    }
    if (k.transactional_id.len <= 0)
        return PROTO_EINVALID;
    txn_t *txn = txn_find(coord, k.transactional_id);
    if (value.len < 0) {
        if (txn)
            txn_destroy(coord, txn);
        return 0;
    }
    txn_rec_value_t v;
    rc = txn_rec_parse_value(value, &v);
    if (rc)
        return rc;
    if (v.transaction_status == TXN_DEAD) {
        if (txn)
            txn_destroy(coord, txn);
        return 0;
    }
    if (!txn)
        txn = txn_create(coord, k.transactional_id);
    txn_set_producer_id(coord, txn, v.producer_id);
    txn->prev_producer_id = v.previous_producer_id;
    txn->epoch = v.producer_epoch;
    txn->last_epoch = -1; /* not in the record, as in Kafka */
    txn->timeout_ms = v.transaction_timeout_ms;
    txn->start_ts = v.start_timestamp_ms;
    txn->update_ts = v.last_update_timestamp_ms;
    /* PrepareEpochFence is never written; read as Ongoing, it gets fenced after the load anyway. */
    txn_set_state_raw(coord, txn,
                      v.transaction_status == TXN_PREPARE_EPOCH_FENCE ? TXN_ONGOING : (txn_state_t)v.transaction_status);
    txn_tps_clear(txn);
    if (txn->state != TXN_EMPTY) {
        replay_tps_t r = {txn};
        (void)txn_rec_each_partition(&v, replay_add_tp, &r);
    }
    /* Belt and braces: ids seen in the log are never handed out again. */
    if (v.producer_id >= 0 && v.producer_id >= coord->next_pid)
        coord->next_pid = v.producer_id + 1;
    return 0;
}

void txn_coordinator_load_end(txn_coordinator_t *coord, int32_t partition, int64_t now_ms)
{
    DIAG_ASSERT(!coord->in_append);
    coord->now = now_ms;
    if (partition < 0 || partition >= coord->cfg.num_partitions)
        return;
    if (coord->loading[partition]) {
        coord->loading[partition] = 0;
        coord->nloading--;
    }
    size_t pos = 0;
    txn_t *txn;
    int32_t open = 0, prepared = 0;
    while ((txn = map_next(&coord->txns, &pos)) != NULL) {
        if (txn->partition != partition)
            continue;
        if (txn->state == TXN_ONGOING && !txn->recover) {
            txn->recover = true;
            coord->nrecover++;
            open++;
        } else if (txn->state == TXN_PREPARE_COMMIT || txn->state == TXN_PREPARE_ABORT) {
            txn_queue_markers(coord, txn, now_ms);
            prepared++;
        }
    }
    if (open || prepared)
        LOG_INFO("txn", "__transaction_state-%d loaded: %d open transactions to abort, %d to finish", partition, open,
                 prepared);
    /* Fence at once, so the old producer cannot commit what the restart interrupted. */
    if (open > 0)
        do_work(coord);
}
