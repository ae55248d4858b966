/*
 * coordinator/txn: transactional ids and their requests — InitProducerId,
 * AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, marker bookkeeping, the
 * produce check — and the producer-id allocator.
 *
 * Every state change goes through txn_transition, which checks Kafka's table
 * of valid previous states. Every change that must survive a restart is
 * written first (txn_store) and applied only when the append succeeded; the
 * one exception is PrepareEpochFence, a state that only lives inside one
 * call while the fencing PrepareAbort record is written (it is never
 * persisted, as in Kafka).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "coordinator/txn_internal.h"

static const char *const state_names[] = {
    "Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence",
};

const char *txn_state_name(txn_state_t state)
{
    return (unsigned)state < sizeof(state_names) / sizeof(state_names[0]) ? state_names[state] : "Unknown";
}

void txn_config_default(txn_config_t *cfg)
{
    cfg->max_timeout_ms = 900000;
    cfg->num_partitions = 50;
    cfg->transactional_id_expiration_ms = 604800000;
    cfg->abort_timed_out_interval_ms = 10000;
    cfg->remove_expired_interval_ms = 3600000;
    cfg->producer_id_block_size = 1000;
    cfg->marker_retry_backoff_ms = 100;
}

/* ---- the state table ---- */

#define ST(s) (1u << (s))
/* Allowed previous states of each state (Kafka's validPreviousStates). */
static const uint32_t valid_previous[8] = {
    [TXN_EMPTY] = ST(TXN_EMPTY) | ST(TXN_COMPLETE_COMMIT) | ST(TXN_COMPLETE_ABORT),
    /* Kafka's set, plus PrepareEpochFence: a fence whose record could not be written is rolled back. */
    [TXN_ONGOING] = ST(TXN_ONGOING) | ST(TXN_EMPTY) | ST(TXN_COMPLETE_COMMIT) | ST(TXN_COMPLETE_ABORT) |
                    ST(TXN_PREPARE_EPOCH_FENCE),
    [TXN_PREPARE_COMMIT] = ST(TXN_ONGOING),
    [TXN_PREPARE_ABORT] = ST(TXN_ONGOING) | ST(TXN_PREPARE_EPOCH_FENCE),
    [TXN_COMPLETE_COMMIT] = ST(TXN_PREPARE_COMMIT),
    [TXN_COMPLETE_ABORT] = ST(TXN_PREPARE_ABORT),
    [TXN_DEAD] = ST(TXN_EMPTY) | ST(TXN_COMPLETE_COMMIT) | ST(TXN_COMPLETE_ABORT),
    [TXN_PREPARE_EPOCH_FENCE] = ST(TXN_ONGOING),
};

void txn_set_state_raw(txn_coordinator_t *coord, txn_t *txn, txn_state_t state)
{
    coord->nstate[txn->state]--;
    txn->state = state;
    coord->nstate[state]++;
}

void txn_transition(txn_coordinator_t *coord, txn_t *txn, txn_state_t to, const char *reason)
{
    DIAG_ASSERT((unsigned)to < 8 && (valid_previous[to] & ST(txn->state)) != 0);
    LOG_INFO("txn", "transactional id %s: %s -> %s (producer id %" PRId64 ", epoch %d): %s", gstr_c(txn->id),
             txn_state_name(txn->state), txn_state_name(to), txn->producer_id, txn->epoch, reason);
    txn_set_state_raw(coord, txn, to);
}

/* ---- transactional ids ---- */

static void pid_key(uint8_t key[8], int64_t pid)
{
    uint64_t u = (uint64_t)pid;
    for (int i = 7; i >= 0; i--) {
        key[i] = (uint8_t)u;
        u >>= 8;
    }
}

txn_t *txn_find(const txn_coordinator_t *coord, proto_str_t id)
{
    if (id.len < 0)
        return NULL;
    return map_get(&coord->txns, (const char *)id.ptr, (size_t)id.len);
}

static txn_t *txn_by_pid(const txn_coordinator_t *coord, int64_t pid)
{
    uint8_t key[8];
    pid_key(key, pid);
    return map_get(&coord->by_pid, (const char *)key, sizeof(key));
}

txn_t *txn_create(txn_coordinator_t *coord, proto_str_t id)
{
    txn_t *txn = grp_xcalloc(1, sizeof(*txn));
    txn->id = gstr_dup(id);
    txn->partition = txn_partition_for(coord, id);
    txn->producer_id = -1;
    txn->prev_producer_id = -1;
    txn->epoch = -1;
    txn->last_epoch = -1;
    txn->start_ts = -1;
    txn->update_ts = coord->now;
    txn->state = TXN_EMPTY;
    list_init(&txn->mnode);
    coord->nstate[TXN_EMPTY]++;
    if (map_put(&coord->txns, txn->id.p, (size_t)txn->id.len, txn) != 0) {
        LOG_ERROR("txn", "out of memory adding a transactional id");
        abort();
    }
    return txn;
}

void txn_set_producer_id(txn_coordinator_t *coord, txn_t *txn, int64_t producer_id)
{
    if (txn->in_pid_map && map_get(&coord->by_pid, (const char *)txn->pid_key, 8) == txn)
        map_del(&coord->by_pid, (const char *)txn->pid_key, 8);
    txn->in_pid_map = false;
    txn->producer_id = producer_id;
    if (producer_id < 0)
        return;
    pid_key(txn->pid_key, producer_id);
    if (map_put(&coord->by_pid, (const char *)txn->pid_key, 8, txn) != 0) {
        LOG_ERROR("txn", "out of memory indexing a producer id");
        abort();
    }
    txn->in_pid_map = true;
}

void txn_tps_clear(txn_t *txn)
{
    for (int32_t i = 0; i < txn->ntps; i++)
        gstr_free(&txn->tps[i].topic);
    txn->ntps = 0;
}

bool txn_tps_has(const txn_t *txn, proto_str_t topic, int32_t partition)
{
    for (int32_t i = 0; i < txn->ntps; i++)
        if (txn->tps[i].partition == partition && gstr_eq(txn->tps[i].topic, topic))
            return true;
    return false;
}

void txn_tps_add(txn_t *txn, proto_str_t topic, int32_t partition)
{
    if (txn_tps_has(txn, topic, partition))
        return;
    if (txn->ntps == txn->cap) {
        int32_t cap = txn->cap ? txn->cap * 2 : 4;
        txn_tp_t *tps = realloc(txn->tps, (size_t)cap * sizeof(*tps));
        if (!tps) {
            LOG_ERROR("txn", "out of memory adding a partition to a transaction");
            abort();
        }
        txn->tps = tps;
        txn->cap = cap;
    }
    txn->tps[txn->ntps++] = (txn_tp_t){gstr_dup(topic), partition};
}

void txn_unqueue_markers(txn_t *txn)
{
    if (txn->marker == TXN_MARKER_QUEUED)
        list_remove(&txn->mnode);
    list_init(&txn->mnode);
    txn->marker = TXN_MARKER_NONE;
}

void txn_queue_markers(txn_coordinator_t *coord, txn_t *txn, int64_t due)
{
    txn_unqueue_markers(txn);
    txn->marker = TXN_MARKER_QUEUED;
    txn->marker_due = due;
    list_insert_tail(&coord->markers, &txn->mnode);
}

void txn_destroy(txn_coordinator_t *coord, txn_t *txn)
{
    txn_unqueue_markers(txn);
    if (txn->recover)
        coord->nrecover--;
    if (txn->complete_retry)
        coord->ncomplete_retry--;
    txn_set_producer_id(coord, txn, -1);
    map_del(&coord->txns, txn->id.p, (size_t)txn->id.len);
    coord->nstate[txn->state]--;
    txn_tps_clear(txn);
    free(txn->tps);
    gstr_free(&txn->id);
    free(txn);
}

bool txn_partition_loading(const txn_coordinator_t *coord, int32_t partition)
{
    return coord->nloading > 0 && partition >= 0 && partition < coord->cfg.num_partitions &&
           coord->loading[partition];
}

/* ---- coordinator ---- */

txn_coordinator_t *txn_coordinator_new(const txn_config_t *cfg, const txn_callbacks_t *cb, void *cb_arg,
                                       int64_t now_ms)
{
    txn_coordinator_t *coord = calloc(1, sizeof(*coord));
    if (!coord)
        return NULL;
    coord->cfg = *cfg;
    if (coord->cfg.num_partitions <= 0)
        coord->cfg.num_partitions = 1;
    if (coord->cfg.producer_id_block_size <= 0)
        coord->cfg.producer_id_block_size = 1;
    if (cb)
        coord->cb = *cb;
    coord->cb_arg = cb_arg;
    map_init(&coord->txns);
    map_init(&coord->by_pid);
    list_init(&coord->markers);
    coord->loading = calloc((size_t)coord->cfg.num_partitions, 1);
    if (!coord->loading) {
        free(coord);
        return NULL;
    }
    coord->now = now_ms;
    coord->work_due = INT64_MAX;
    coord->next_abort_check = now_ms + coord->cfg.abort_timed_out_interval_ms;
    coord->next_expire_check = now_ms + coord->cfg.remove_expired_interval_ms;
    return coord;
}

void txn_coordinator_free(txn_coordinator_t *coord)
{
    if (!coord)
        return;
    size_t pos = 0;
    txn_t *txn;
    while ((txn = map_next(&coord->txns, &pos)) != NULL)
        txn_destroy(coord, txn);
    map_fini(&coord->txns);
    map_fini(&coord->by_pid);
    free(coord->loading);
    free(coord);
}

static void enter(txn_coordinator_t *coord, int64_t now_ms)
{
    /* append() must not reach back in: the coordinator is mid-change then. */
    DIAG_ASSERT(!coord->in_append);
    coord->now = now_ms;
}

/* What clients of transactional APIs understand when __transaction_state cannot be written. */
static int16_t store_error(int16_t err)
{
    return err == TXN_ERR_NOT_COORDINATOR ? err : TXN_ERR_COORDINATOR_NOT_AVAILABLE;
}

/* PRODUCER_FENCED did not exist for old request versions. */
static int16_t fenced_error(int16_t err, int16_t api_version, int16_t fenced_from)
{
    return err == TXN_ERR_PRODUCER_FENCED && api_version < fenced_from ? TXN_ERR_INVALID_PRODUCER_EPOCH : err;
}

/* ---- producer ids ---- */

static int16_t alloc_producer_id(txn_coordinator_t *coord, int64_t *out)
{
    *out = -1;
    if (txn_partition_loading(coord, 0))
        return TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    if (coord->next_pid >= INT64_MAX - coord->cfg.producer_id_block_size) {
        LOG_ERROR("txn", "producer ids exhausted");
        return TXN_ERR_UNKNOWN_SERVER_ERROR;
    }
    if (coord->next_pid >= coord->block_end) {
        /* Persist the block before handing out any id of it, so a restart never reuses one. */
        int64_t end = coord->next_pid + coord->cfg.producer_id_block_size;
        buf_t key, val;
        buf_init(&key);
        buf_init(&val);
        int16_t err = TXN_ERR_UNKNOWN_SERVER_ERROR;
        if (trec_key_producer_ids(&key) == 0 && trec_value_producer_ids(&val, end) == 0)
            err = trec_append(coord, 0, &key, &val);
        buf_fini(&key);
        buf_fini(&val);
        if (err) {
            LOG_WARN("txn", "reserving producer ids up to %" PRId64 " failed with error %d", end, err);
            return store_error(err);
        }
        coord->block_end = end;
        LOG_DEBUG("txn", "producer ids reserved up to %" PRId64, end);
    }
    *out = coord->next_pid++;
    return TXN_ERR_NONE;
}

int64_t txn_next_producer_id(const txn_coordinator_t *coord)
{
    return coord->next_pid;
}

/* ---- storing a transition ---- */

static void next_from(const txn_t *txn, txn_next_t *next)
{
    memset(next, 0, sizeof(*next));
    next->state = txn->state;
    next->producer_id = txn->producer_id;
    next->prev_producer_id = txn->prev_producer_id;
    next->epoch = txn->epoch;
    next->last_epoch = txn->last_epoch;
    next->timeout_ms = txn->timeout_ms;
    next->start_ts = txn->start_ts;
}

int16_t txn_store(txn_coordinator_t *coord, txn_t *txn, const txn_next_t *next, const char *reason)
{
    buf_t key, val;
    buf_init(&key);
    buf_init(&val);
    int16_t err = TXN_ERR_UNKNOWN_SERVER_ERROR;
    if (trec_key_metadata(&key, gstr_view(txn->id)) == 0 && trec_value(&val, txn, next, coord->now) == 0)
        err = trec_append(coord, txn->partition, &key, &val);
    buf_fini(&key);
    buf_fini(&val);
    if (err) {
        LOG_WARN("txn", "transactional id %s: writing %s failed with error %d", gstr_c(txn->id),
                 txn_state_name(next->state), err);
        return store_error(err);
    }
    if (next->producer_id != txn->producer_id)
        txn_set_producer_id(coord, txn, next->producer_id);
    txn->prev_producer_id = next->prev_producer_id;
    txn->epoch = next->epoch;
    txn->last_epoch = next->last_epoch;
    txn->timeout_ms = next->timeout_ms;
    txn->start_ts = next->start_ts;
    txn->update_ts = coord->now;
    if (next->clear_tps)
        txn_tps_clear(txn);
    for (int32_t i = 0; i < next->nadd; i++)
        txn_tps_add(txn, gstr_view(next->add[i].topic), next->add[i].partition);
    if (next->state != txn->state)
        txn_transition(coord, txn, next->state, reason);
    return TXN_ERR_NONE;
}

int16_t txn_fence_and_abort(txn_coordinator_t *coord, txn_t *txn, const char *reason)
{
    DIAG_ASSERT(txn->state == TXN_ONGOING);
    txn_transition(coord, txn, TXN_PREPARE_EPOCH_FENCE, reason);
    txn_next_t next;
    next_from(txn, &next);
    next.state = TXN_PREPARE_ABORT;
    /* The bumped epoch fences the old producer: its requests and batches are refused from now on. */
    if (txn->epoch < INT16_MAX)
        next.epoch = (int16_t)(txn->epoch + 1);
    else
        LOG_ERROR("txn", "transactional id %s: epoch %d cannot be bumped; aborting without a fence",
                  gstr_c(txn->id), txn->epoch);
    next.last_epoch = -1;
    int16_t err = txn_store(coord, txn, &next, "fenced, aborting the open transaction");
    if (err) {
        txn_transition(coord, txn, TXN_ONGOING, "the fence could not be written");
        return err;
    }
    if (txn->recover) {
        txn->recover = false;
        coord->nrecover--;
    }
    txn_queue_markers(coord, txn, coord->now);
    return TXN_ERR_NONE;
}

int16_t txn_write_complete(txn_coordinator_t *coord, txn_t *txn)
{
    txn_next_t next;
    next_from(txn, &next);
    bool commit = txn->state == TXN_PREPARE_COMMIT;
    next.state = commit ? TXN_COMPLETE_COMMIT : TXN_COMPLETE_ABORT;
    next.clear_tps = true;
    next.last_epoch = txn->epoch; /* Kafka's prepareComplete */
    int16_t err = txn_store(coord, txn, &next, commit ? "markers written, committed" : "markers written, aborted");
    if (txn->complete_retry && !err) {
        txn->complete_retry = false;
        coord->ncomplete_retry--;
    } else if (err && !txn->complete_retry) {
        txn->complete_retry = true;
        coord->ncomplete_retry++;
    }
    if (err) {
        int64_t due = coord->now + coord->cfg.marker_retry_backoff_ms;
        if (due < coord->work_due)
            coord->work_due = due;
    }
    return err;
}

/* ---- InitProducerId ---- */

static int16_t init_transactional(txn_coordinator_t *coord, const txn_init_pid_args_t *args, bool expected,
                                  txn_init_pid_result_t *res)
{
    txn_t *txn = txn_find(coord, args->transactional_id);
    bool created = false;
    if (!txn) {
        int64_t pid;
        int16_t err = alloc_producer_id(coord, &pid);
        if (err)
            return err;
        txn = txn_create(coord, args->transactional_id);
        txn_set_producer_id(coord, txn, pid);
        txn->timeout_ms = args->transaction_timeout_ms;
        created = true;
    }
    /*
     * KIP-360: a supplied producer id must be the current one, or the epoch
     * must be unknown (just created), or it is a retry after a rotation the
     * producer never heard of.
     */
    if (expected && !(txn->epoch < 0 || args->producer_id == txn->producer_id ||
                      (args->producer_id == txn->prev_producer_id && TXN_EPOCH_EXHAUSTED(args->producer_epoch))))
        return TXN_ERR_PRODUCER_FENCED; /* created is false here: a new entry has epoch -1 */

    txn_next_t next;
    next_from(txn, &next);
    int16_t err = TXN_ERR_NONE;
    switch (txn->state) {
    case TXN_PREPARE_COMMIT:
    case TXN_PREPARE_ABORT:
        return TXN_ERR_CONCURRENT_TRANSACTIONS;
    case TXN_ONGOING:
        /*
         * Fence the old producer and abort its transaction; the caller retries
         * and bumps the epoch once more, getting a new producer id if this
         * fence used the last epoch.
         */
        err = txn_fence_and_abort(coord, txn, "InitProducerId from a new producer");
        return err ? err : TXN_ERR_CONCURRENT_TRANSACTIONS;
    case TXN_EMPTY:
    case TXN_COMPLETE_COMMIT:
    case TXN_COMPLETE_ABORT:
        if (TXN_EPOCH_EXHAUSTED(txn->epoch) && (!expected || args->producer_epoch == txn->epoch)) {
            int64_t pid;
            err = alloc_producer_id(coord, &pid);
            if (err)
                return err;
            next.prev_producer_id = txn->producer_id;
            next.producer_id = pid;
            next.epoch = 0;
            next.last_epoch = expected ? txn->epoch : -1;
        } else if (!expected) {
            next.epoch = (int16_t)(txn->epoch + 1);
            next.last_epoch = -1;
        } else if (txn->epoch < 0 || args->producer_epoch == txn->epoch) {
            next.epoch = (int16_t)(txn->epoch + 1);
            next.last_epoch = txn->epoch;
        } else if (args->producer_epoch == txn->last_epoch) {
            /* A retry of a bump that succeeded: answer the current epoch again. */
        } else {
            return TXN_ERR_PRODUCER_FENCED;
        }
        next.state = TXN_EMPTY;
        next.timeout_ms = args->transaction_timeout_ms;
        next.clear_tps = true;
        next.start_ts = -1;
        err = txn_store(coord, txn, &next, "InitProducerId");
        if (err) {
            if (created)
                txn_destroy(coord, txn);
            return err;
        }
        res->producer_id = txn->producer_id;
        res->producer_epoch = txn->epoch;
        LOG_INFO("txn", "transactional id %s initialised: producer id %" PRId64 ", epoch %d", gstr_c(txn->id),
                 txn->producer_id, txn->epoch);
        return TXN_ERR_NONE;
    case TXN_DEAD:
    case TXN_PREPARE_EPOCH_FENCE:
        break;
    }
    LOG_ERROR("txn", "transactional id %s found in state %s", gstr_c(txn->id), txn_state_name(txn->state));
    return TXN_ERR_UNKNOWN_SERVER_ERROR;
}

int16_t txn_init_producer_id(txn_coordinator_t *coord, const txn_init_pid_args_t *args, txn_init_pid_result_t *res,
                             int64_t now_ms)
{
    enter(coord, now_ms);
    res->producer_id = -1;
    res->producer_epoch = -1;
    int16_t err;
    bool no_pid = args->producer_id == -1, no_epoch = args->producer_epoch == -1;
    if (no_pid != no_epoch || args->producer_id < -1 || args->producer_epoch < -1) {
        err = TXN_ERR_INVALID_REQUEST; /* both or neither, as Kafka's handler insists */
    } else if (args->transactional_id.len < 0) {
        /* Idempotent producers: always a fresh id with epoch 0, whatever they supplied. */
        int64_t pid;
        err = alloc_producer_id(coord, &pid);
        if (!err) {
            res->producer_id = pid;
            res->producer_epoch = 0;
        }
    } else if (args->transactional_id.len == 0) {
        err = TXN_ERR_INVALID_REQUEST;
    } else if (args->transaction_timeout_ms <= 0 || args->transaction_timeout_ms > coord->cfg.max_timeout_ms) {
        err = TXN_ERR_INVALID_TRANSACTION_TIMEOUT;
    } else if (txn_partition_loading(coord, txn_partition_for(coord, args->transactional_id))) {
        err = TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else {
        err = init_transactional(coord, args, !no_pid, res);
    }
    res->error_code = fenced_error(err, args->api_version, 4);
    return res->error_code;
}

/* ---- AddPartitionsToTxn / AddOffsetsToTxn ---- */

/* The checks AddPartitions, AddOffsets and EndTxn share; NONE with *out set, or the error. */
static int16_t lookup_for_request(txn_coordinator_t *coord, proto_str_t id, int64_t producer_id,
                                  int16_t producer_epoch, txn_t **out)
{
    *out = NULL;
    if (id.len <= 0)
        return TXN_ERR_INVALID_REQUEST;
    if (txn_partition_loading(coord, txn_partition_for(coord, id)))
        return TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    txn_t *txn = txn_find(coord, id);
    if (!txn || txn->producer_id != producer_id)
        return TXN_ERR_INVALID_PRODUCER_ID_MAPPING;
    if (txn->epoch != producer_epoch)
        return TXN_ERR_PRODUCER_FENCED;
    if (txn->recover)
        return TXN_ERR_CONCURRENT_TRANSACTIONS; /* about to be fenced: see txn_recovery.c */
    *out = txn;
    return TXN_ERR_NONE;
}

static int16_t add_tps(txn_coordinator_t *coord, txn_t *txn, const txn_tp_t *add, int32_t nadd)
{
    if (txn->state == TXN_PREPARE_COMMIT || txn->state == TXN_PREPARE_ABORT)
        return TXN_ERR_CONCURRENT_TRANSACTIONS;
    if (txn->state == TXN_ONGOING) {
        bool all = true;
        for (int32_t i = 0; i < nadd && all; i++)
            all = txn_tps_has(txn, gstr_view(add[i].topic), add[i].partition);
        if (all)
            return TXN_ERR_NONE; /* nothing new: no record */
    }
    txn_next_t next;
    next_from(txn, &next);
    if (txn->state != TXN_ONGOING) {
        next.start_ts = coord->now; /* the transaction starts with its first partition */
        next.clear_tps = true;
    }
    next.state = TXN_ONGOING;
    next.add = add;
    next.nadd = nadd;
    return txn_store(coord, txn, &next, "partitions added");
}

/*
 * Kafka adds (or checks) all of a request's partitions or none: when the
 * broker already failed one, the others are OPERATION_NOT_ATTEMPTED.
 */
static int16_t not_attempted(txn_partition_t *partitions, int32_t count)
{
    bool any = false;
    for (int32_t i = 0; i < count; i++)
        any |= partitions[i].error_code != 0;
    if (!any)
        return TXN_ERR_NONE;
    for (int32_t i = 0; i < count; i++)
        if (!partitions[i].error_code)
            partitions[i].error_code = TXN_ERR_OPERATION_NOT_ATTEMPTED;
    return TXN_ERR_OPERATION_NOT_ATTEMPTED;
}

int16_t txn_add_partitions(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                           int16_t producer_epoch, txn_partition_t *partitions, int32_t count, int16_t api_version,
                           int64_t now_ms)
{
    enter(coord, now_ms);
    int16_t err = not_attempted(partitions, count);
    if (err)
        return err;
    txn_t *txn;
    err = lookup_for_request(coord, transactional_id, producer_id, producer_epoch, &txn);
    if (!err && count > 0) {
        txn_tp_t *add = grp_xcalloc((size_t)count, sizeof(*add));
        for (int32_t i = 0; i < count; i++)
            add[i] = (txn_tp_t){{(char *)(uintptr_t)partitions[i].topic.ptr, partitions[i].topic.len},
                                partitions[i].partition};
        err = add_tps(coord, txn, add, count);
        free(add);
    }
    err = fenced_error(err, api_version, 2);
    for (int32_t i = 0; i < count; i++)
        partitions[i].error_code = err;
    return err;
}

int16_t txn_add_offsets(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                        int16_t producer_epoch, int32_t offsets_partition, int16_t api_version, int64_t now_ms)
{
    enter(coord, now_ms);
    txn_t *txn;
    int16_t err = lookup_for_request(coord, transactional_id, producer_id, producer_epoch, &txn);
    if (!err) {
        txn_tp_t add = {{(char *)(uintptr_t) "__consumer_offsets", 18}, offsets_partition};
        err = add_tps(coord, txn, &add, 1);
    }
    return fenced_error(err, api_version, 2);
}

/* ---- EndTxn and markers ---- */

static bool fill_job(const txn_t *txn, arena_t *arena, txn_marker_job_t *job)
{
    memset(job, 0, sizeof(*job));
    job->producer_id = txn->producer_id;
    job->producer_epoch = txn->epoch;
    job->commit = txn->state == TXN_PREPARE_COMMIT;
    job->coordinator_epoch = 0;
    void *id = arena_memdup(arena, txn->id.p, (size_t)txn->id.len + 1);
    if (!id)
        return false;
    job->transactional_id = (proto_str_t){id, txn->id.len};
    if (txn->ntps == 0)
        return true;
    job->partitions = arena_alloc(arena, sizeof(*job->partitions) * (size_t)txn->ntps);
    if (!job->partitions)
        return false;
    for (int32_t i = 0; i < txn->ntps; i++) {
        void *t = arena_memdup(arena, txn->tps[i].topic.p, (size_t)txn->tps[i].topic.len + 1);
        if (!t)
            return false;
        job->partitions[i] = (txn_topic_partition_t){{t, txn->tps[i].topic.len}, txn->tps[i].partition};
    }
    job->partitions_count = txn->ntps;
    return true;
}

static int16_t end_txn(txn_coordinator_t *coord, txn_t *txn, bool commit, arena_t *arena, txn_end_result_t *res)
{
    txn_state_t same_prepare = commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT;
    txn_state_t same_complete = commit ? TXN_COMPLETE_COMMIT : TXN_COMPLETE_ABORT;
    switch (txn->state) {
    case TXN_ONGOING: {
        txn_next_t next;
        next_from(txn, &next);
        next.state = same_prepare;
        int16_t err = txn_store(coord, txn, &next, commit ? "EndTxn commit" : "EndTxn abort");
        if (err)
            return err;
        if (!fill_job(txn, arena, &res->markers)) {
            /* Out of request memory: the markers still get written, from the queue. */
            txn_queue_markers(coord, txn, coord->now);
            return TXN_ERR_NONE;
        }
        txn_unqueue_markers(txn);
        txn->marker = TXN_MARKER_OUT;
        res->has_markers = true;
        return TXN_ERR_NONE;
    }
    case TXN_PREPARE_COMMIT:
    case TXN_PREPARE_ABORT:
        return txn->state == same_prepare ? TXN_ERR_CONCURRENT_TRANSACTIONS : TXN_ERR_INVALID_TXN_STATE;
    case TXN_COMPLETE_COMMIT:
    case TXN_COMPLETE_ABORT:
        return txn->state == same_complete ? TXN_ERR_NONE : TXN_ERR_INVALID_TXN_STATE;
    case TXN_EMPTY:
        return TXN_ERR_INVALID_TXN_STATE;
    case TXN_DEAD:
    case TXN_PREPARE_EPOCH_FENCE:
        break;
    }
    LOG_ERROR("txn", "transactional id %s found in state %s", gstr_c(txn->id), txn_state_name(txn->state));
    return TXN_ERR_UNKNOWN_SERVER_ERROR;
}

int16_t txn_end(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id, int16_t producer_epoch,
                bool commit, int16_t api_version, arena_t *arena, txn_end_result_t *res, int64_t now_ms)
{
    enter(coord, now_ms);
    memset(res, 0, sizeof(*res));
    txn_t *txn;
    int16_t err = lookup_for_request(coord, transactional_id, producer_id, producer_epoch, &txn);
    if (!err)
        err = end_txn(coord, txn, commit, arena, res);
    res->error_code = fenced_error(err, api_version, 2);
    return res->error_code;
}

/* The transaction a marker job was for, if it is still waiting for those markers. */
static txn_t *job_txn(const txn_coordinator_t *coord, proto_str_t id, int64_t producer_id, int16_t producer_epoch,
                      int16_t *err)
{
    txn_t *txn = txn_find(coord, id);
    if (!txn || txn->producer_id != producer_id) {
        *err = TXN_ERR_INVALID_PRODUCER_ID_MAPPING;
        return NULL;
    }
    if (txn->epoch != producer_epoch || (txn->state != TXN_PREPARE_COMMIT && txn->state != TXN_PREPARE_ABORT)) {
        *err = TXN_ERR_INVALID_TXN_STATE;
        return NULL;
    }
    *err = TXN_ERR_NONE;
    return txn;
}

int16_t txn_markers_written(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                            int16_t producer_epoch, int64_t now_ms)
{
    enter(coord, now_ms);
    int16_t err;
    txn_t *txn = job_txn(coord, transactional_id, producer_id, producer_epoch, &err);
    if (!txn) {
        LOG_DEBUG("txn", "markers written for a stale job of %.*s (error %d)",
                  transactional_id.len > 0 ? transactional_id.len : 0,
                  transactional_id.len > 0 ? (const char *)transactional_id.ptr : "", err);
        return err;
    }
    txn_unqueue_markers(txn);
    return txn_write_complete(coord, txn);
}

void txn_markers_failed(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                        int16_t producer_epoch, int64_t now_ms)
{
    enter(coord, now_ms);
    int16_t err;
    txn_t *txn = job_txn(coord, transactional_id, producer_id, producer_epoch, &err);
    if (txn && !txn->complete_retry) {
        LOG_WARN("txn", "transactional id %s: writing markers failed; retrying in %d ms", gstr_c(txn->id),
                 coord->cfg.marker_retry_backoff_ms);
        txn_queue_markers(coord, txn, now_ms + coord->cfg.marker_retry_backoff_ms);
    }
}

bool txn_has_pending_markers(const txn_coordinator_t *coord, int64_t now_ms)
{
    for (list_t *pos = coord->markers.next; pos != &coord->markers; pos = pos->next)
        if (list_entry(pos, txn_t, mnode)->marker_due <= now_ms)
            return true;
    return false;
}

void txn_take_pending_markers(txn_coordinator_t *coord, arena_t *arena, txn_marker_job_t **jobs, int32_t *count,
                              int64_t now_ms)
{
    enter(coord, now_ms);
    *jobs = NULL;
    *count = 0;
    int32_t n = 0;
    for (list_t *pos = coord->markers.next; pos != &coord->markers; pos = pos->next)
        if (list_entry(pos, txn_t, mnode)->marker_due <= now_ms)
            n++;
    if (n == 0)
        return;
    txn_marker_job_t *out = arena_alloc(arena, sizeof(*out) * (size_t)n);
    if (!out)
        return; /* stays queued for the next call */
    int32_t k = 0;
    list_t *pos = coord->markers.next;
    while (pos != &coord->markers && k < n) {
        txn_t *txn = list_entry(pos, txn_t, mnode);
        pos = pos->next;
        if (txn->marker_due > now_ms)
            continue;
        if (!fill_job(txn, arena, &out[k]))
            break;
        txn_unqueue_markers(txn);
        txn->marker = TXN_MARKER_OUT;
        k++;
    }
    *jobs = out;
    *count = k;
}

/* ---- the Produce path ---- */

int16_t txn_partition_in_transaction(const txn_coordinator_t *coord, int64_t producer_id, int16_t producer_epoch,
                                     proto_str_t topic, int32_t partition)
{
    const txn_t *txn = producer_id >= 0 ? txn_by_pid(coord, producer_id) : NULL;
    if (!txn)
        return TXN_ERR_INVALID_PRODUCER_ID_MAPPING;
    if (txn->epoch != producer_epoch)
        return TXN_ERR_PRODUCER_FENCED;
    if (txn->state == TXN_PREPARE_COMMIT || txn->state == TXN_PREPARE_ABORT || txn->recover)
        return TXN_ERR_CONCURRENT_TRANSACTIONS;
    return txn->state == TXN_ONGOING && txn_tps_has(txn, topic, partition) ? TXN_ERR_NONE
                                                                            : TXN_ERR_TRANSACTION_ABORTABLE;
}

int16_t txn_verify_partitions(txn_coordinator_t *coord, proto_str_t transactional_id, int64_t producer_id,
                              int16_t producer_epoch, txn_partition_t *partitions, int32_t count, int64_t now_ms)
{
    enter(coord, now_ms);
    int16_t err = not_attempted(partitions, count);
    if (err)
        return err;
    txn_t *txn;
    err = lookup_for_request(coord, transactional_id, producer_id, producer_epoch, &txn);
    if (!err && (txn->state == TXN_PREPARE_COMMIT || txn->state == TXN_PREPARE_ABORT))
        err = TXN_ERR_CONCURRENT_TRANSACTIONS;
    for (int32_t i = 0; i < count; i++) {
        bool in = !err && txn_tps_has(txn, partitions[i].topic, partitions[i].partition);
        partitions[i].error_code = err ? err : in ? TXN_ERR_NONE : TXN_ERR_TRANSACTION_ABORTABLE;
    }
    return err;
}

/* ---- introspection ---- */

int16_t txn_describe(const txn_coordinator_t *coord, proto_str_t transactional_id, arena_t *arena,
                     txn_description_t *desc)
{
    memset(desc, 0, sizeof(*desc));
    desc->state = TXN_DEAD;
    desc->producer_id = -1;
    desc->producer_epoch = -1;
    desc->transaction_start_ms = -1;
    if (transactional_id.len <= 0) {
        desc->error_code = TXN_ERR_INVALID_REQUEST;
        return desc->error_code;
    }
    if (txn_partition_loading(coord, txn_partition_for(coord, transactional_id))) {
        desc->error_code = TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS;
        return desc->error_code;
    }
    const txn_t *txn = txn_find(coord, transactional_id);
    if (!txn) {
        desc->error_code = TXN_ERR_TRANSACTIONAL_ID_NOT_FOUND;
        return desc->error_code;
    }
    desc->state = txn->state;
    desc->producer_id = txn->producer_id;
    desc->producer_epoch = txn->epoch;
    desc->transaction_timeout_ms = txn->timeout_ms;
    desc->transaction_start_ms = txn->start_ts;
    if (txn->ntps > 0) {
        desc->partitions = arena_alloc(arena, sizeof(*desc->partitions) * (size_t)txn->ntps);
        if (!desc->partitions) {
            desc->error_code = TXN_ERR_UNKNOWN_SERVER_ERROR;
            return desc->error_code;
        }
        for (int32_t i = 0; i < txn->ntps; i++) {
            void *t = arena_memdup(arena, txn->tps[i].topic.p, (size_t)txn->tps[i].topic.len + 1);
            if (!t) {
                desc->error_code = TXN_ERR_UNKNOWN_SERVER_ERROR;
                return desc->error_code;
            }
            desc->partitions[i] = (txn_topic_partition_t){{t, txn->tps[i].topic.len}, txn->tps[i].partition};
        }
        desc->partitions_count = txn->ntps;
    }
    return TXN_ERR_NONE;
}

txn_state_t txn_state_of(const txn_coordinator_t *coord, proto_str_t transactional_id)
{
    const txn_t *txn = txn_find(coord, transactional_id);
    return txn ? txn->state : TXN_DEAD;
}

int32_t txn_count(const txn_coordinator_t *coord)
{
    return (int32_t)coord->txns.count;
}

int32_t txn_list(const txn_coordinator_t *coord, arena_t *arena, txn_listing_t **out)
{
    int32_t n = (int32_t)coord->txns.count;
    *out = n ? arena_alloc(arena, sizeof(**out) * (size_t)n) : NULL;
    if (n && !*out)
        return 0;
    size_t pos = 0;
    int32_t i = 0;
    const txn_t *t;
    while (i < n && (t = map_next(&coord->txns, &pos))) {
        char *id = arena_memdup(arena, t->id.p, (size_t)t->id.len);
        (*out)[i].transactional_id = (proto_str_t){(const uint8_t *)id, id ? t->id.len : 0};
        (*out)[i].producer_id = t->producer_id;
        (*out)[i].state = t->state;
        i++;
    }
    return i;
}

int16_t txn_produce_error(int16_t verify_error, int16_t api_version)
{
    switch (verify_error) {
    case TXN_ERR_PRODUCER_FENCED:
        return TXN_ERR_INVALID_PRODUCER_EPOCH;
    case TXN_ERR_TRANSACTION_ABORTABLE:
        return api_version >= 11 ? verify_error : TXN_ERR_INVALID_TXN_STATE;
    case TXN_ERR_CONCURRENT_TRANSACTIONS:
    case TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case TXN_ERR_COORDINATOR_NOT_AVAILABLE:
    case TXN_ERR_NOT_COORDINATOR:
        return TXN_ERR_NOT_ENOUGH_REPLICAS;
    default:
        return verify_error;
    }
}

int16_t txn_offset_commit_error(int16_t verify_error)
{
    switch (verify_error) {
    case TXN_ERR_PRODUCER_FENCED:
        return TXN_ERR_INVALID_PRODUCER_EPOCH;
    case TXN_ERR_TRANSACTION_ABORTABLE:
        return TXN_ERR_INVALID_TXN_STATE;
    default:
        return verify_error;
    }
}
