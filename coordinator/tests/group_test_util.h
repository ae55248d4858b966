/*
 * Test helpers for the group coordinator: a fake clock, an append callback
 * that records (or refuses) what the coordinator writes, and waiters that
 * remember the answer they got and how many times.
 */
#ifndef EDDY_COORDINATOR_TEST_UTIL_H
#define EDDY_COORDINATOR_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/diag.h"
#include "coordinator/group.h"
#include "protocol/writer.h"

#define TU_T0 1700000000000LL

typedef struct tu_rec_s {
    int32_t partition;
    uint8_t *key;
    int32_t klen;
    uint8_t *val; /* NULL: tombstone */
    int32_t vlen;
} tu_rec_t;

typedef struct tu_env_s {
    group_coordinator_t *coord;
    group_config_t cfg;
    int64_t now;
    tu_rec_t *recs;
    int nrecs, cap;
    int appends;
    int16_t fail_appends; /* non-zero: every append fails with this code */
} tu_env_t;

static inline int16_t tu_append(void *arg, int32_t partition, const proto_record_spec_t *records, int n,
                                int64_t now_ms)
{
    tu_env_t *e = arg;
    (void)now_ms;
    if (e->fail_appends)
        return e->fail_appends;
    e->appends++;
    for (int i = 0; i < n; i++) {
        if (e->nrecs == e->cap) {
            e->cap = e->cap ? e->cap * 2 : 64;
            e->recs = realloc(e->recs, sizeof(*e->recs) * (size_t)e->cap);
        }
        tu_rec_t *r = &e->recs[e->nrecs++];
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

static inline void tu_env_init(tu_env_t *e)
{
    memset(e, 0, sizeof(*e));
    diag_set_level(DIAG_ERROR);
    group_config_default(&e->cfg);
    e->cfg.initial_rebalance_delay_ms = 0;
    e->cfg.seed = 42;
    e->now = TU_T0;
}

static inline void tu_env_start(tu_env_t *e)
{
    group_callbacks_t cb = {tu_append};
    e->coord = group_coordinator_new(&e->cfg, &cb, e, e->now);
    assert_non_null(e->coord);
}

static inline void tu_env_free_records(tu_env_t *e)
{
    for (int i = 0; i < e->nrecs; i++) {
        free(e->recs[i].key);
        free(e->recs[i].val);
    }
    free(e->recs);
    e->recs = NULL;
    e->nrecs = e->cap = 0;
}

static inline void tu_env_fini(tu_env_t *e)
{
    group_coordinator_free(e->coord);
    e->coord = NULL;
    tu_env_free_records(e);
}

static inline void tu_advance(tu_env_t *e, int64_t ms)
{
    e->now += ms;
    group_coordinator_tick(e->coord, e->now);
}

static inline proto_str_t S(const char *s)
{
    return proto_str_c(s);
}

static inline char *tu_strdup(proto_str_t s)
{
    if (s.len < 0)
        return NULL;
    char *p = malloc((size_t)s.len + 1);
    memcpy(p, s.ptr, (size_t)s.len);
    p[s.len] = '\0';
    return p;
}

static inline bool tu_eq(proto_str_t s, const char *c)
{
    if (!c)
        return s.len < 0;
    return s.len == (int32_t)strlen(c) && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

/* ---- waiters ---- */

typedef struct tu_waiter_s {
    group_waiter_t w;
    arena_t arena;
    int calls; /* callbacks received */
    bool done; /* an answer arrived (immediately or by callback) */
    group_join_result_t join;
    group_sync_result_t sync;
    char member_id[256];
    char leader[256];
    char protocol[64];
} tu_waiter_t;

static inline void tu_keep_join(tu_waiter_t *tw, const group_join_result_t *r)
{
    tw->join = *r;
    tw->done = true;
    snprintf(tw->member_id, sizeof(tw->member_id), "%.*s", r->member_id.len > 0 ? r->member_id.len : 0,
             r->member_id.len > 0 ? (const char *)r->member_id.ptr : "");
    snprintf(tw->leader, sizeof(tw->leader), "%.*s", r->leader.len > 0 ? r->leader.len : 0,
             r->leader.len > 0 ? (const char *)r->leader.ptr : "");
    snprintf(tw->protocol, sizeof(tw->protocol), "%.*s", r->protocol_name.len > 0 ? r->protocol_name.len : 0,
             r->protocol_name.len > 0 ? (const char *)r->protocol_name.ptr : "");
}

static inline void tu_join_cb(group_waiter_t *w, const group_join_result_t *r)
{
    tu_waiter_t *tw = (tu_waiter_t *)w;
    tw->calls++;
    tu_keep_join(tw, r);
}

static inline void tu_sync_cb(group_waiter_t *w, const group_sync_result_t *r)
{
    tu_waiter_t *tw = (tu_waiter_t *)w;
    tw->calls++;
    tw->sync = *r;
    tw->done = true;
}

static inline void tu_waiter_init(tu_waiter_t *tw)
{
    memset(tw, 0, sizeof(*tw));
    arena_init(&tw->arena, 0);
    group_waiter_init(&tw->w, &tw->arena, tu_join_cb, tu_sync_cb);
}

static inline void tu_waiter_fini(tu_waiter_t *tw)
{
    arena_fini(&tw->arena);
}

/* A fresh arena and state for the next call on the same waiter. */
static inline void tu_waiter_reset(tu_waiter_t *tw)
{
    tu_waiter_fini(tw);
    tu_waiter_init(tw);
}

/* ---- calls ---- */

typedef struct tu_join_s {
    const char *group;
    const char *member;   /* NULL: "" */
    const char *instance; /* NULL: none */
    const char *type;     /* NULL: "consumer" */
    const char *protocols[4];
    proto_bytes_t metas[4];
    int32_t session;   /* 0: 10000 */
    int32_t rebalance; /* 0: 30000 */
    int16_t version;   /* 0 means 3 (no MEMBER_ID_REQUIRED) */
    const char *client_id;
} tu_join_t;

static inline group_status_t tu_join_call(tu_env_t *e, tu_waiter_t *tw, const tu_join_t *j)
{
    group_protocol_t protos[4];
    int32_t n = 0;
    for (int i = 0; i < 4 && j->protocols[i]; i++) {
        protos[n].name = S(j->protocols[i]);
        protos[n].metadata = j->metas[i].ptr ? j->metas[i] : (proto_bytes_t){(const uint8_t *)"meta", 4};
        n++;
    }
    if (n == 0 && !j->protocols[0] && j->type == NULL) {
        protos[0].name = S("range");
        protos[0].metadata = (proto_bytes_t){(const uint8_t *)"meta", 4};
        n = 1;
    }
    group_join_args_t a = {
        .group_id = S(j->group),
        .member_id = S(j->member ? j->member : ""),
        .group_instance_id = S(j->instance),
        .protocol_type = S(j->type ? j->type : "consumer"),
        .protocols = protos,
        .protocols_count = n,
        .session_timeout_ms = j->session ? j->session : 10000,
        .rebalance_timeout_ms = j->rebalance ? j->rebalance : 30000,
        .api_version = j->version ? j->version : 3,
        .client_id = S(j->client_id ? j->client_id : "client"),
        .client_host = S("/127.0.0.1"),
        .reason = S(NULL),
    };
    tu_waiter_reset(tw);
    group_status_t st = group_join(e->coord, &a, e->now, &tw->w);
    if (st == GROUP_DONE)
        tu_keep_join(tw, &tw->w.join);
    return st;
}

/* A dynamic member joining with v3 and the "range" protocol. */
static inline group_status_t tu_join(tu_env_t *e, tu_waiter_t *tw, const char *group, const char *member)
{
    tu_join_t j = {.group = group, .member = member};
    return tu_join_call(e, tw, &j);
}

static inline group_status_t tu_sync(tu_env_t *e, tu_waiter_t *tw, const char *group, int32_t gen,
                                     const char *member, const char *instance, const group_assignment_t *assign,
                                     int32_t n)
{
    group_sync_args_t a = {
        .group_id = S(group),
        .generation_id = gen,
        .member_id = S(member),
        .group_instance_id = S(instance),
        .protocol_type = S(NULL),
        .protocol_name = S(NULL),
        .assignments = assign,
        .assignments_count = n,
    };
    tu_waiter_reset(tw);
    group_status_t st = group_sync(e->coord, &a, e->now, &tw->w);
    if (st == GROUP_DONE) {
        tw->sync = tw->w.sync;
        tw->done = true;
    }
    return st;
}

static inline int16_t tu_heartbeat(tu_env_t *e, const char *group, int32_t gen, const char *member)
{
    return group_heartbeat(e->coord, S(group), gen, S(member), S(NULL), e->now);
}

/* One commit of a single partition; returns the partition's error. */
static inline int16_t tu_commit(tu_env_t *e, const char *group, int32_t gen, const char *member, const char *topic,
                                int32_t partition, int64_t offset, const char *metadata)
{
    group_commit_partition_t p = {S(topic), partition, offset, 7, S(metadata), 0};
    group_commit_args_t a = {S(group), gen, S(member ? member : ""), S(NULL), -1, &p, 1};
    (void)group_offset_commit(e->coord, &a, e->now);
    return p.error_code;
}

/* The committed offset of one partition (-1 if none), asserting no error. */
static inline int64_t tu_fetch(tu_env_t *e, const char *group, const char *topic, int32_t partition)
{
    arena_t arena;
    arena_init(&arena, 0);
    group_fetch_partition_t p = {S(topic), partition, 0, 0, {NULL, 0}, 99};
    int16_t err = group_offset_fetch(e->coord, S(group), &p, 1, false, &arena, NULL, NULL, e->now);
    assert_int_equal(err, 0);
    assert_int_equal(p.error_code, 0);
    int64_t off = p.offset;
    arena_fini(&arena);
    return off;
}

/* ConsumerProtocolSubscription v1 with the given topics (NULL-terminated) into buf. */
static inline proto_bytes_t tu_subscription(buf_t *buf, const char *const *topics)
{
    proto_writer_t wr;
    buf->len = 0;
    proto_writer_init(&wr, buf);
    int32_t n = 0;
    while (topics[n])
        n++;
    proto_wr_i16(&wr, 1);
    proto_wr_i32(&wr, n);
    for (int32_t i = 0; i < n; i++)
        proto_wr_string(&wr, S(topics[i]));
    proto_wr_bytes(&wr, (proto_bytes_t){NULL, -1});
    proto_wr_i32(&wr, 0); /* owned partitions */
    return (proto_bytes_t){buf->data, (int32_t)buf->len};
}

#endif
