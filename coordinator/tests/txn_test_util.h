/*
 * Test helpers for the transaction coordinator: a fake clock, an append
 * callback that keeps (or refuses) every record written to
 * __transaction_state, a "restart" that replays those records into a new
 * coordinator, and short calls for the requests.
 */
#ifndef EDDY_COORDINATOR_TXN_TEST_UTIL_H
#define EDDY_COORDINATOR_TXN_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/diag.h"
#include "coordinator/txn.h"

#define TT_T0 1700000000000LL

typedef struct tt_rec_s {
    int32_t partition;
    uint8_t *key;
    int32_t klen;
    uint8_t *val; /* NULL: tombstone */
    int32_t vlen;
} tt_rec_t;

typedef struct tt_env_s {
    txn_coordinator_t *coord;
    txn_config_t cfg;
    int64_t now;
    tt_rec_t *recs;
    int nrecs, cap;
    int16_t fail_appends; /* non-zero: every append fails with this code */
    arena_t arena;
} tt_env_t;

static inline int16_t tt_append(void *arg, int32_t partition, const proto_record_spec_t *records, int n,
                                int64_t now_ms)
{
    tt_env_t *e = arg;
    (void)now_ms;
    if (e->fail_appends)
        return e->fail_appends;
    for (int i = 0; i < n; i++) {
        if (e->nrecs == e->cap) {
            e->cap = e->cap ? e->cap * 2 : 64;
            e->recs = realloc(e->recs, sizeof(*e->recs) * (size_t)e->cap);
        }
        tt_rec_t *r = &e->recs[e->nrecs++];
        r->partition = partition;
        r->klen = records[i].key.len;
        r->key = malloc((size_t)r->klen + 1);
        memcpy(r->key, records[i].key.ptr, (size_t)r->klen);
        r->vlen = records[i].value.len;
        r->val = NULL;
        if (r->vlen >= 0) {
            r->val = malloc((size_t)r->vlen + 1);
            if (r->vlen)
                memcpy(r->val, records[i].value.ptr, (size_t)r->vlen);
        }
    }
    return 0;
}

static inline void tt_env_init(tt_env_t *e)
{
    memset(e, 0, sizeof(*e));
    diag_set_level(DIAG_ERROR);
    txn_config_default(&e->cfg);
    e->cfg.abort_timed_out_interval_ms = 1000;
    e->now = TT_T0;
    arena_init(&e->arena, 0);
}

static inline void tt_env_start(tt_env_t *e)
{
    txn_callbacks_t cb = {tt_append};
    e->coord = txn_coordinator_new(&e->cfg, &cb, e, e->now);
    assert_non_null(e->coord);
}

static inline void tt_env_fini(tt_env_t *e)
{
    txn_coordinator_free(e->coord);
    e->coord = NULL;
    for (int i = 0; i < e->nrecs; i++) {
        free(e->recs[i].key);
        free(e->recs[i].val);
    }
    free(e->recs);
    e->recs = NULL;
    e->nrecs = e->cap = 0;
    arena_fini(&e->arena);
}

/* A broker restart: a new coordinator replays every partition's records in order. */
static inline void tt_restart(tt_env_t *e)
{
    txn_coordinator_free(e->coord);
    txn_callbacks_t cb = {tt_append};
    e->coord = txn_coordinator_new(&e->cfg, &cb, e, e->now);
    assert_non_null(e->coord);
    int nrecs = e->nrecs; /* load_end may append (fences): those are not replayed now */
    for (int32_t p = 0; p < e->cfg.num_partitions; p++) {
        txn_coordinator_load_begin(e->coord, p, e->now);
        for (int i = 0; i < nrecs; i++) {
            if (e->recs[i].partition != p)
                continue;
            proto_bytes_t k = {e->recs[i].key, e->recs[i].klen};
            proto_bytes_t v = {e->recs[i].val, e->recs[i].vlen};
            assert_int_equal(txn_coordinator_replay(e->coord, p, k, v, e->now), 0);
        }
        txn_coordinator_load_end(e->coord, p, e->now);
    }
}

static inline void tt_advance(tt_env_t *e, int64_t ms)
{
    e->now += ms;
    txn_coordinator_tick(e->coord, e->now);
}

static inline proto_str_t S(const char *s)
{
    return proto_str_c(s);
}

static inline bool tt_eq(proto_str_t s, const char *c)
{
    return s.len == (int32_t)strlen(c) && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

/* InitProducerId v4 for a transactional id (NULL: idempotent), without a supplied producer id. */
static inline int16_t tt_init(tt_env_t *e, const char *tid, int64_t *pid, int16_t *epoch)
{
    txn_init_pid_args_t a = {S(tid), 60000, -1, -1, 4};
    txn_init_pid_result_t r;
    int16_t err = txn_init_producer_id(e->coord, &a, &r, e->now);
    assert_int_equal(err, r.error_code);
    if (pid)
        *pid = r.producer_id;
    if (epoch)
        *epoch = r.producer_epoch;
    return err;
}

/* AddPartitionsToTxn v3 of one partition; returns its error. */
static inline int16_t tt_add(tt_env_t *e, const char *tid, int64_t pid, int16_t epoch, const char *topic,
                             int32_t partition)
{
    txn_partition_t p = {S(topic), partition, 0};
    int16_t err = txn_add_partitions(e->coord, S(tid), pid, epoch, &p, 1, 3, e->now);
    assert_int_equal(err, p.error_code);
    return err;
}

/* EndTxn v3; *res is filled from e->arena. */
static inline int16_t tt_end(tt_env_t *e, const char *tid, int64_t pid, int16_t epoch, bool commit,
                             txn_end_result_t *res)
{
    txn_end_result_t local;
    return txn_end(e->coord, S(tid), pid, epoch, commit, 3, &e->arena, res ? res : &local, e->now);
}

static inline txn_description_t tt_describe(tt_env_t *e, const char *tid)
{
    txn_description_t d;
    (void)txn_describe(e->coord, S(tid), &e->arena, &d);
    return d;
}

#endif
