/*
 * fuzz/fuzz_group_ops: libFuzzer entry for the group coordinator, driven by
 * operation sequences instead of bytes on a wire.
 *
 * The first input byte sets the config (bit 0: initial rebalance delay 0 or
 * 3000 ms; bit 1: group.max.size 2 or unlimited). Then each operation is one
 * opcode byte followed by up to 4 argument bytes (missing ones read as 0):
 *
 *   op % 14  operation        arguments
 *   0        JoinGroup        slot, group, flags (known id, static, version,
 *                             protocol, type), timeouts
 *   1        SyncGroup        slot, generation skew, assignment shape
 *   2        Heartbeat        slot, generation skew
 *   3        LeaveGroup       slot, how (by id, by instance, unknown)
 *   4        OffsetCommit     slot or simple, group, offset, metadata size
 *   5        OffsetFetch      group, some or all
 *   6        DescribeGroups   group
 *   7        ListGroups       filter
 *   8        DeleteGroups     group
 *   9        tick             clock step
 *   10       append mode      ok, always failing, every other failing
 *   11       cancel waiter    slot (its connection closed)
 *   12       OffsetDelete     group, topic
 *   13       reload           group: load_begin, replay of every record the
 *                             coordinator appended to its partition, load_end;
 *                             the committed offsets must come back the same
 *
 * Six member slots (each a connection with one waiter) share three groups;
 * the clock is fake and appends are kept in memory. After every step: every
 * group's state is valid, Empty and Dead groups have no members, DescribeGroups
 * and ListGroups agree with the introspection calls, a parked waiter is
 * completed at most once and never after it was cancelled, and a tick leaves
 * no timer due. A violation traps. The corpus lives in fuzz/corpus/group_ops
 * and is replayed by ctest fuzz_corpus_group_ops.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/diag.h"
#include "coordinator/group.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_SLOTS   6
#define N_GROUPS  3
#define MAX_RECS  2048
#define MAX_STEPS 400
#define T0        1700000000000LL

typedef struct fz_rec_s {
    int32_t partition;
    uint8_t *key;
    int32_t klen;
    uint8_t *val; /* NULL: tombstone */
    int32_t vlen;
} fz_rec_t;

typedef struct fz_slot_s {
    group_waiter_t w; /* first: the callbacks get back to the slot from it */
    arena_t arena;
    bool parked;
    bool cancelled;
    int calls;
    int kind; /* 0 join, 1 sync */
    int group;
    char member_id[128];
    int32_t generation;
    bool leader;
} fz_slot_t;

typedef struct fz_env_s {
    group_coordinator_t *coord;
    int64_t now;
    int append_mode; /* 0 ok, 1 always fail, 2 every other fails */
    int appends;
    fz_rec_t recs[MAX_RECS];
    int nrecs;
    bool recs_overflow; /* records were dropped: reload would not rebuild the state */
    fz_slot_t slots[N_SLOTS];
    arena_t scratch;
} fz_env_t;

static fz_env_t env;

static const char *const group_names[N_GROUPS] = {"g0", "g1", "g2"};
static const char *const instance_names[N_SLOTS] = {"i0", "i1", "i2", "i3", "i4", "i5"};
static const char *const topics[2] = {"t0", "t1"};
/* ConsumerProtocolSubscription v0: topics ["t0"], user_data null. */
static const uint8_t subscription[] = {0, 0, 0, 0, 0, 1, 0, 2, 't', '0', 0xff, 0xff, 0xff, 0xff};

static proto_str_t str(const char *s)
{
    return s ? (proto_str_t){(const uint8_t *)s, (int32_t)strlen(s)} : (proto_str_t){NULL, -1};
}

static int16_t fz_append(void *arg, int32_t partition, const proto_record_spec_t *records, int n, int64_t now_ms)
{
    fz_env_t *e = arg;
    (void)now_ms;
    e->appends++;
    if (e->append_mode == 1 || (e->append_mode == 2 && (e->appends & 1)))
        return GROUP_ERR_COORDINATOR_NOT_AVAILABLE;
    for (int i = 0; i < n; i++) {
        if (e->nrecs == MAX_RECS) {
            e->recs_overflow = true;
            break;
        }
        fz_rec_t *r = &e->recs[e->nrecs++];
        r->partition = partition;
        r->klen = records[i].key.len;
        r->key = malloc((size_t)r->klen + 1);
        if (!r->key)
            abort();
        if (r->klen > 0)
            memcpy(r->key, records[i].key.ptr, (size_t)r->klen);
        r->vlen = records[i].value.len;
        r->val = NULL;
        if (r->vlen >= 0) {
            r->val = malloc((size_t)r->vlen + 1);
            if (!r->val)
                abort();
            if (r->vlen > 0)
                memcpy(r->val, records[i].value.ptr, (size_t)r->vlen);
        }
    }
    return 0;
}

static void keep_str(char *dst, size_t cap, proto_str_t s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static void got_join(fz_slot_t *s, const group_join_result_t *r)
{
    if (r->member_id.len < 0 || r->members_count < 0)
        __builtin_trap();
    if (r->error_code == GROUP_ERR_NONE || r->error_code == GROUP_ERR_MEMBER_ID_REQUIRED)
        keep_str(s->member_id, sizeof s->member_id, r->member_id);
    if (r->error_code == GROUP_ERR_NONE) {
        if (r->generation_id < 0)
            __builtin_trap();
        s->generation = r->generation_id;
        s->leader = r->leader.len == r->member_id.len &&
                    (r->leader.len <= 0 || memcmp(r->leader.ptr, r->member_id.ptr, (size_t)r->leader.len) == 0);
        /* Only the leader gets the member list. */
        if (!s->leader && r->members_count != 0)
            __builtin_trap();
    }
}

static void join_done(group_waiter_t *w, const group_join_result_t *r)
{
    fz_slot_t *s = (fz_slot_t *)w;
    if (!s->parked || s->cancelled || s->calls != 0 || s->kind != 0)
        __builtin_trap();
    s->calls++;
    s->parked = false;
    got_join(s, r);
}

static void sync_done(group_waiter_t *w, const group_sync_result_t *r)
{
    fz_slot_t *s = (fz_slot_t *)w;
    if (!s->parked || s->cancelled || s->calls != 0 || s->kind != 1)
        __builtin_trap();
    s->calls++;
    s->parked = false;
    if (r->assignment.len < 0)
        __builtin_trap();
}

/* A fresh arena and waiter for the slot's next call; false while a call is parked. */
static bool slot_ready(fz_slot_t *s, int kind)
{
    if (s->parked)
        return false;
    arena_fini(&s->arena);
    arena_init(&s->arena, 0);
    group_waiter_init(&s->w, &s->arena, join_done, sync_done);
    s->cancelled = false;
    s->calls = 0;
    s->kind = kind;
    return true;
}

static void after_call(fz_slot_t *s, group_status_t st)
{
    if (st == GROUP_PARKED) {
        s->parked = true;
        return;
    }
    if (st != GROUP_DONE)
        __builtin_trap();
    if (s->kind == 0)
        got_join(s, &s->w.join);
}

static void op_join(const uint8_t *a)
{
    fz_slot_t *s = &env.slots[a[0] % N_SLOTS];
    if (!slot_ready(s, 0))
        return;
    s->group = a[1] % N_GROUPS;
    uint8_t f = a[2];
    static const int16_t versions[8] = {0, 1, 3, 4, 5, 6, 7, 9};
    static const int32_t sessions[4] = {10000, 6000, 1000, 30000};
    static const int32_t rebalances[4] = {30000, -1, 5000, 100};
    int16_t version = versions[(f >> 2) & 7];
    group_protocol_t protos[2] = {
        {str("range"), {subscription, (int32_t)sizeof subscription}},
        {str("roundrobin"), {(const uint8_t *)"meta", 4}},
    };
    int first = (f >> 5) & 1;
    group_join_args_t args = {
        .group_id = str(group_names[s->group]),
        .member_id = str((f & 1) ? s->member_id : ""),
        .group_instance_id = str((f & 2) && version >= 5 ? instance_names[a[0] % N_SLOTS] : NULL),
        .protocol_type = str((f & 0x40) ? "connect" : "consumer"),
        .protocols = &protos[first],
        .protocols_count = (f & 0x80) ? 2 - first : 1,
        .session_timeout_ms = sessions[a[3] & 3],
        .rebalance_timeout_ms = version == 0 ? -1 : rebalances[(a[3] >> 2) & 3],
        .api_version = version,
        .client_id = str("fuzz"),
        .client_host = str("/127.0.0.1"),
        .reason = str(NULL),
    };
    after_call(s, group_join(env.coord, &args, env.now, &s->w));
}

static void op_sync(const uint8_t *a)
{
    fz_slot_t *s = &env.slots[a[0] % N_SLOTS];
    if (!slot_ready(s, 1))
        return;
    group_assignment_t asg[N_SLOTS + 1]; /* every slot plus one unknown member */
    int32_t n = 0;
    if (a[2] & 1) {
        /* The assignment a leader would send: every slot it believes is in its group. */
        for (int i = 0; i < N_SLOTS; i++) {
            fz_slot_t *o = &env.slots[i];
            if (o->group == s->group && o->member_id[0]) {
                asg[n].member_id = str(o->member_id);
                asg[n].assignment = (proto_bytes_t){(const uint8_t *)"assign", (int32_t)(1 + (a[2] >> 1) % 6)};
                n++;
            }
        }
    }
    if (a[2] & 0x80) {
        asg[n].member_id = str("unknown-member");
        asg[n].assignment = (proto_bytes_t){NULL, 0};
        n++;
    }
    group_sync_args_t args = {
        .group_id = str(group_names[s->group]),
        .generation_id = s->generation + ((a[1] & 3) == 3 ? 1 : (a[1] & 3) == 2 ? -1 : 0),
        .member_id = str(s->member_id),
        .group_instance_id = str((a[2] & 2) ? instance_names[a[0] % N_SLOTS] : NULL),
        .protocol_type = str((a[2] & 4) ? "consumer" : NULL),
        .protocol_name = str((a[2] & 8) ? "range" : NULL),
        .assignments = asg,
        .assignments_count = n,
    };
    after_call(s, group_sync(env.coord, &args, env.now, &s->w));
}

static void op_heartbeat(const uint8_t *a)
{
    fz_slot_t *s = &env.slots[a[0] % N_SLOTS];
    int32_t gen = s->generation + ((a[1] & 3) == 3 ? 1 : 0);
    (void)group_heartbeat(env.coord, str(group_names[(a[1] & 4) ? a[2] % N_GROUPS : s->group]), gen,
                          str(s->member_id), str((a[1] & 8) ? instance_names[a[0] % N_SLOTS] : NULL), env.now);
}

static void op_leave(const uint8_t *a)
{
    fz_slot_t *s = &env.slots[a[0] % N_SLOTS];
    group_leave_member_t m[2];
    int32_t n = 1;
    switch (a[1] % 3) {
    case 0:
        m[0] = (group_leave_member_t){str(s->member_id), str(NULL), str(NULL), 0};
        break;
    case 1:
        m[0] = (group_leave_member_t){str(""), str(instance_names[a[0] % N_SLOTS]), str("bye"), 0};
        break;
    default:
        m[0] = (group_leave_member_t){str("nobody"), str(NULL), str(NULL), 0};
        m[1] = (group_leave_member_t){str(s->member_id), str(NULL), str(NULL), 0};
        n = 2;
        break;
    }
    (void)group_leave(env.coord, str(group_names[s->group]), m, n, env.now);
}

static void op_commit(const uint8_t *a)
{
    fz_slot_t *s = &env.slots[a[0] % N_SLOTS];
    bool simple = a[0] & 0x80;
    static char meta[40];
    memset(meta, 'm', sizeof meta - 1);
    size_t meta_len = a[3] % 24; /* the fuzz config allows 16 bytes */
    group_commit_partition_t parts[2] = {
        {str(topics[0]), a[2] % 3, (int64_t)a[2] * 10 - 5, -1, {(const uint8_t *)meta, (int32_t)meta_len}, 0},
        {str(topics[1]), 0, (int64_t)a[3] * 7, 3, str(NULL), (a[1] & 0x40) ? 3 : 0},
    };
    group_commit_args_t args = {
        .group_id = str(group_names[simple ? a[1] % N_GROUPS : s->group]),
        .generation_id = simple ? -1 : s->generation,
        .member_id = str(simple ? "" : s->member_id),
        .group_instance_id = str(NULL),
        .retention_time_ms = (a[1] & 0x20) ? 1000 : -1,
        .partitions = parts,
        .partitions_count = (a[1] & 0x10) ? 2 : 1,
    };
    (void)group_offset_commit(env.coord, &args, env.now);
}

/* All committed offsets of a group, for comparing before and after a reload. */
typedef struct fz_offsets_s {
    int16_t err;
    int32_t count;
    group_fetch_partition_t *parts;
} fz_offsets_t;

static fz_offsets_t fetch_all(const char *group)
{
    fz_offsets_t o = {0, 0, NULL};
    o.err = group_offset_fetch(env.coord, str(group), NULL, -1, false, &env.scratch, &o.parts, &o.count, env.now);
    if (o.err == GROUP_ERR_NONE && o.count > 0 && !o.parts)
        __builtin_trap();
    return o;
}

static void op_fetch(const uint8_t *a)
{
    const char *g = group_names[a[0] % N_GROUPS];
    if (a[1] & 1) {
        fz_offsets_t o = fetch_all(g);
        for (int32_t i = 0; o.err == GROUP_ERR_NONE && i < o.count; i++)
            if (o.parts[i].metadata.len < 0) /* any offset goes: Kafka stores negative commits too */
                __builtin_trap();
        return;
    }
    group_fetch_partition_t parts[2] = {
        {str(topics[0]), a[2] % 3, 0, 0, str(NULL), 0},
        {str(topics[1]), 0, 0, 0, str(NULL), 0},
    };
    int16_t err = group_offset_fetch(env.coord, str(g), parts, 2, a[1] & 2, &env.scratch, NULL, NULL, env.now);
    if (err == GROUP_ERR_NONE)
        for (int i = 0; i < 2; i++)
            if (parts[i].error_code == 0 && parts[i].metadata.len < 0)
                __builtin_trap();
}

static void op_describe(const uint8_t *a)
{
    const char *g = group_names[a[0] % N_GROUPS];
    group_description_t d;
    memset(&d, 0, sizeof d);
    int16_t err = group_describe(env.coord, str(g), &env.scratch, &d, env.now);
    if (err != d.error_code)
        __builtin_trap();
    if (err != GROUP_ERR_NONE)
        return;
    group_state_t st = group_state_of(env.coord, str(g));
    const char *name = group_state_name(st);
    if (d.state.len != (int32_t)strlen(name) || memcmp(d.state.ptr, name, strlen(name)) != 0)
        __builtin_trap();
    if (d.members_count != group_members_count(env.coord, str(g)))
        __builtin_trap();
    for (int32_t i = 0; i < d.members_count; i++)
        if (d.members[i].member_id.len <= 0)
            __builtin_trap();
}

static void op_list(const uint8_t *a)
{
    proto_str_t filter[2] = {str("Stable"), str("empty")};
    proto_str_t types[1] = {str("classic")};
    group_overview_t *groups = NULL;
    int32_t count = -1;
    int nf = a[0] % 3;
    int16_t err = group_list(env.coord, nf ? filter : NULL, nf == 2 ? 2 : nf, (a[0] & 4) ? types : NULL,
                             (a[0] & 4) ? 1 : 0, &env.scratch, &groups, &count, env.now);
    if (err != GROUP_ERR_NONE)
        return;
    if (count < 0 || count > group_count(env.coord))
        __builtin_trap();
    if (nf == 0 && count != group_count(env.coord))
        __builtin_trap();
}

static void op_tick(const uint8_t *a)
{
    static const int64_t steps[8] = {0, 1, 100, 3000, 6001, 30001, 600000, 8LL * 24 * 3600 * 1000};
    if (a[0] & 8) {
        int64_t next = group_coordinator_next_deadline(env.coord);
        if (next != INT64_MAX && next > env.now)
            env.now = next;
    } else {
        env.now += steps[a[0] & 7];
    }
    group_coordinator_tick(env.coord, env.now);
    if (group_coordinator_next_deadline(env.coord) <= env.now)
        __builtin_trap(); /* a timer still due right after the tick ran */
}

static void op_cancel(const uint8_t *a)
{
    fz_slot_t *s = &env.slots[a[0] % N_SLOTS];
    group_waiter_cancel(env.coord, &s->w);
    if (s->parked) {
        s->parked = false;
        s->cancelled = true;
    }
}

static void op_offset_delete(const uint8_t *a)
{
    group_delete_partition_t parts[1] = {{str(topics[a[1] & 1]), a[2] % 3, 0}};
    (void)group_offset_delete(env.coord, str(group_names[a[0] % N_GROUPS]), parts, 1, env.now);
}

static bool same_offsets(const fz_offsets_t *x, const fz_offsets_t *y)
{
    if (x->err != y->err || x->count != y->count)
        return false;
    for (int32_t i = 0; x->err == GROUP_ERR_NONE && i < x->count; i++) {
        const group_fetch_partition_t *p = &x->parts[i], *q = &y->parts[i];
        /* Memory must be what a replay rebuilds, leader epoch included (a v1 record has none: -1). */
        if (p->partition != q->partition || p->offset != q->offset || p->leader_epoch != q->leader_epoch ||
            p->topic.len != q->topic.len || memcmp(p->topic.ptr, q->topic.ptr, (size_t)p->topic.len) != 0 ||
            p->metadata.len != q->metadata.len ||
            (p->metadata.len > 0 && memcmp(p->metadata.ptr, q->metadata.ptr, (size_t)p->metadata.len) != 0))
            return false;
    }
    return true;
}

static void op_reload(const uint8_t *a)
{
    const char *g = group_names[a[0] % N_GROUPS];
    int32_t partition = group_partition_for(env.coord, str(g));
    fz_offsets_t before[N_GROUPS];
    for (int i = 0; i < N_GROUPS; i++)
        before[i] = fetch_all(group_names[i]);
    group_coordinator_load_begin(env.coord, partition, env.now);
    for (int i = 0; i < env.nrecs; i++) {
        fz_rec_t *r = &env.recs[i];
        if (r->partition != partition)
            continue;
        proto_bytes_t k = {r->key, r->klen}, v = {r->val, r->vlen};
        if (group_coordinator_replay(env.coord, partition, k, v, env.now) != 0)
            __builtin_trap(); /* the coordinator cannot read its own record */
    }
    group_coordinator_load_end(env.coord, partition, env.now);
    if (env.recs_overflow)
        return;
    for (int i = 0; i < N_GROUPS; i++) {
        fz_offsets_t after = fetch_all(group_names[i]);
        if (!same_offsets(&before[i], &after))
            __builtin_trap();
    }
}

static void check_invariants(void)
{
    int32_t live = 0;
    for (int i = 0; i < N_GROUPS; i++) {
        proto_str_t g = str(group_names[i]);
        group_state_t st = group_state_of(env.coord, g);
        int32_t members = group_members_count(env.coord, g);
        if ((int)st < GROUP_EMPTY || (int)st > GROUP_DEAD || members < 0)
            __builtin_trap();
        if ((st == GROUP_EMPTY || st == GROUP_DEAD) && members != 0)
            __builtin_trap();
        if (st != GROUP_DEAD)
            live++;
    }
    if (group_count(env.coord) != live)
        __builtin_trap();
    for (int i = 0; i < N_SLOTS; i++)
        if (env.slots[i].calls > 1)
            __builtin_trap();
}

static void env_reset(uint8_t cfg_byte)
{
    memset(&env, 0, sizeof env);
    env.now = T0;
    arena_init(&env.scratch, 0);
    for (int i = 0; i < N_SLOTS; i++)
        arena_init(&env.slots[i].arena, 0);
    group_config_t cfg;
    group_config_default(&cfg);
    cfg.initial_rebalance_delay_ms = (cfg_byte & 1) ? 3000 : 0;
    cfg.max_size = (cfg_byte & 2) ? 2 : INT32_MAX;
    cfg.offsets_retention_ms = 600000;
    cfg.offsets_retention_check_interval_ms = 60000;
    cfg.offsets_topic_num_partitions = 2; /* groups share partitions */
    cfg.offset_metadata_max_bytes = 16;
    cfg.seed = 42;
    group_callbacks_t cb = {fz_append};
    env.coord = group_coordinator_new(&cfg, &cb, &env, env.now);
    if (!env.coord)
        abort();
}

static void env_free(void)
{
    group_coordinator_free(env.coord); /* forgets parked waiters without callbacks */
    env.coord = NULL;
    for (int i = 0; i < N_SLOTS; i++)
        arena_fini(&env.slots[i].arena);
    arena_fini(&env.scratch);
    for (int i = 0; i < env.nrecs; i++) {
        free(env.recs[i].key);
        free(env.recs[i].val);
    }
    env.nrecs = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    diag_set_level(DIAG_ERROR);
    env_reset(data[0]);
    size_t pos = 1;
    for (int step = 0; pos < size && step < MAX_STEPS; step++) {
        uint8_t op = data[pos++];
        uint8_t a[4] = {0, 0, 0, 0};
        for (int i = 0; i < 4 && pos < size; i++)
            a[i] = data[pos++];
        arena_reset(&env.scratch);
        switch (op % 14) {
        case 0: op_join(a); break;
        case 1: op_sync(a); break;
        case 2: op_heartbeat(a); break;
        case 3: op_leave(a); break;
        case 4: op_commit(a); break;
        case 5: op_fetch(a); break;
        case 6: op_describe(a); break;
        case 7: op_list(a); break;
        case 8: (void)group_delete(env.coord, str(group_names[a[0] % N_GROUPS]), env.now); break;
        case 9: op_tick(a); break;
        case 10: env.append_mode = a[0] % 3; break;
        case 11: op_cancel(a); break;
        case 12: op_offset_delete(a); break;
        default: op_reload(a); break;
        }
        check_invariants();
    }
    env_free();
    return 0;
}
