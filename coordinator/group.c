/*
 * coordinator/group: membership and rebalancing of classic consumer groups
 * (API in group.h; offsets live in group_offsets.c).
 *
 * The rules follow Kafka's classic coordinator: a group moves
 * Empty -> PreparingRebalance when a member joins, waits there until every
 * known member has rejoined (or the rebalance timeout, or for a group that
 * was Empty the initial delay), moves to CompletingRebalance with a new
 * generation and a leader, and becomes Stable when the leader's SyncGroup
 * carrying the assignment has been written to __consumer_offsets. Every
 * state change goes through grp_transition, which checks a table of allowed
 * previous states.
 *
 * Waiters (parked JoinGroup/SyncGroup) are completed into a ready list and
 * told only when the outermost public call returns (coord_leave), so a
 * completion callback always sees a consistent coordinator and may call it
 * again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "coordinator/group_internal.h"

enum { WAITER_IDLE = 0, WAITER_PARKED = 1, WAITER_READY = 2, WAITER_DONE = 3 };
enum { WAITER_JOIN = 1, WAITER_SYNC = 2 };

/* ---- small helpers ---- */

void *grp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        LOG_ERROR("group", "out of memory (%zu bytes)", n);
        abort();
    }
    return p;
}

void *grp_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        LOG_ERROR("group", "out of memory (%zu x %zu bytes)", n, sz);
        abort();
    }
    return p;
}

gstr_t gstr_dup(proto_str_t s)
{
    gstr_t g = {NULL, -1};
    if (s.len < 0)
        return g;
    g.p = grp_xmalloc((size_t)s.len + 1);
    if (s.len > 0)
        memcpy(g.p, s.ptr, (size_t)s.len);
    g.p[s.len] = '\0';
    g.len = s.len;
    return g;
}

gstr_t gstr_dup_c(const char *s)
{
    return gstr_dup(proto_str_c(s));
}

void gstr_free(gstr_t *s)
{
    free(s->p);
    s->p = NULL;
    s->len = -1;
}

bool view_eq(proto_str_t a, proto_str_t b)
{
    if (a.len < 0 || b.len < 0)
        return a.len < 0 && b.len < 0;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

bool gstr_eq(gstr_t a, proto_str_t b)
{
    return view_eq(gstr_view(a), b);
}

static bool view_nonempty(proto_str_t s)
{
    return s.len > 0;
}

const char *group_state_name(group_state_t state)
{
    switch (state) {
    case GROUP_EMPTY:
        return "Empty";
    case GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case GROUP_STABLE:
        return "Stable";
    case GROUP_DEAD:
        return "Dead";
    }
    return "Unknown";
}

void group_config_default(group_config_t *cfg)
{
    cfg->initial_rebalance_delay_ms = 3000;
    cfg->min_session_timeout_ms = 6000;
    cfg->max_session_timeout_ms = 1800000;
    cfg->max_size = INT32_MAX;
    cfg->offsets_retention_ms = 10080LL * 60 * 1000;
    cfg->offsets_retention_check_interval_ms = 600000;
    cfg->offsets_topic_num_partitions = 50;
    cfg->offset_metadata_max_bytes = 4096;
    cfg->seed = 0;
}

/* ---- state machine table ---- */

#define ST(s) (1u << (s))
/* Allowed previous states of each state (Kafka's validPreviousStates). */
static const unsigned valid_previous[] = {
    [GROUP_EMPTY] = ST(GROUP_PREPARING_REBALANCE),
    [GROUP_PREPARING_REBALANCE] = ST(GROUP_STABLE) | ST(GROUP_COMPLETING_REBALANCE) | ST(GROUP_EMPTY),
    [GROUP_COMPLETING_REBALANCE] = ST(GROUP_PREPARING_REBALANCE),
    [GROUP_STABLE] = ST(GROUP_COMPLETING_REBALANCE),
    [GROUP_DEAD] = ST(GROUP_STABLE) | ST(GROUP_PREPARING_REBALANCE) | ST(GROUP_COMPLETING_REBALANCE) |
                   ST(GROUP_EMPTY) | ST(GROUP_DEAD),
};

void grp_transition(group_coordinator_t *coord, group_t *grp, group_state_t to, const char *reason)
{
    DIAG_ASSERT((valid_previous[to] & ST(grp->state)) != 0);
    LOG_INFO("group", "group %s: %s -> %s (generation %" PRId32 ", %" PRId32 " members): %s", gstr_c(grp->id),
             group_state_name(grp->state), group_state_name(to), grp->generation, grp->nmembers, reason);
    grp->state = to;
    grp->state_ts = coord->now;
}

static bool can_rebalance(const group_t *grp)
{
    return (valid_previous[GROUP_PREPARING_REBALANCE] & ST(grp->state)) != 0;
}

/* ---- coordinator ---- */

static uint64_t rng_next(group_coordinator_t *coord)
{
    /* splitmix64: member ids need to be unique, not secret. */
    uint64_t z = (coord->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

group_coordinator_t *group_coordinator_new(const group_config_t *cfg, const group_callbacks_t *cb, void *cb_arg,
                                           int64_t now_ms)
{
    group_coordinator_t *coord = calloc(1, sizeof(*coord));
    if (!coord)
        return NULL;
    coord->cfg = *cfg;
    if (coord->cfg.offsets_topic_num_partitions <= 0)
        coord->cfg.offsets_topic_num_partitions = 1;
    if (cb)
        coord->cb = *cb;
    coord->cb_arg = cb_arg;
    map_init(&coord->groups);
    list_init(&coord->ready);
    coord->rng = cfg->seed;
    coord->loading = calloc((size_t)coord->cfg.offsets_topic_num_partitions, 1);
    if (!coord->loading) {
        free(coord);
        return NULL;
    }
    coord->now = now_ms;
    gtimer_init(&coord->retention, GTIMER_RETENTION, coord);
    if (coord->cfg.offsets_retention_check_interval_ms > 0)
        gheap_arm(&coord->heap, &coord->retention, now_ms + coord->cfg.offsets_retention_check_interval_ms);
    return coord;
}

static void deliver(group_coordinator_t *coord);

void coord_enter(group_coordinator_t *coord, int64_t now_ms)
{
    /* append() must not reach back in: the coordinator is mid-change then. */
    DIAG_ASSERT(!coord->in_append);
    coord->depth++;
    coord->now = now_ms;
}

void coord_leave(group_coordinator_t *coord)
{
    DIAG_ASSERT(coord->depth > 0);
    if (--coord->depth == 0)
        deliver(coord);
}

static void deliver(group_coordinator_t *coord)
{
    /* One at a time from the head: a callback may cancel or complete others. */
    while (!list_empty(&coord->ready)) {
        group_waiter_t *w = list_entry(coord->ready.next, group_waiter_t, node);
        list_remove(&w->node);
        w->phase = WAITER_DONE;
        if (w->kind == WAITER_JOIN) {
            if (w->join_done)
                w->join_done(w, &w->join);
        } else if (w->sync_done) {
            w->sync_done(w, &w->sync);
        }
    }
}

void group_coordinator_free(group_coordinator_t *coord)
{
    if (!coord)
        return;
    size_t pos = 0;
    group_t *grp;
    while ((grp = map_next(&coord->groups, &pos)) != NULL)
        group_destroy(coord, grp, 0);
    /* Waiters still on the ready list are forgotten: the broker closes their connections. */
    while (!list_empty(&coord->ready)) {
        group_waiter_t *w = list_entry(coord->ready.next, group_waiter_t, node);
        list_remove(&w->node);
        w->phase = WAITER_DONE;
    }
    map_fini(&coord->groups);
    gheap_fini(&coord->heap);
    free(coord->loading);
    free(coord);
}

int32_t group_partition_for(const group_coordinator_t *coord, proto_str_t group_id)
{
    return grec_partition_for(group_id, coord->cfg.offsets_topic_num_partitions);
}

bool grp_partition_loading(const group_coordinator_t *coord, int32_t partition)
{
    return partition >= 0 && partition < coord->cfg.offsets_topic_num_partitions && coord->loading[partition];
}

static bool group_loading(const group_coordinator_t *coord, proto_str_t group_id)
{
    return coord->nloading > 0 && grp_partition_loading(coord, group_partition_for(coord, group_id));
}

/* ---- waiters ---- */

void group_waiter_init(group_waiter_t *w, arena_t *arena, group_join_done_fn join_done, group_sync_done_fn sync_done)
{
    memset(w, 0, sizeof(*w));
    w->arena = arena;
    w->join_done = join_done;
    w->sync_done = sync_done;
    list_init(&w->node);
}

static proto_str_t a_dup(arena_t *arena, proto_str_t s, bool *oom)
{
    if (s.len < 0)
        return s;
    if (s.len == 0)
        return (proto_str_t){(const uint8_t *)"", 0};
    void *p = arena ? arena_memdup(arena, s.ptr, (size_t)s.len) : NULL;
    if (!p) {
        *oom = true;
        return (proto_str_t){(const uint8_t *)"", 0};
    }
    return (proto_str_t){p, s.len};
}

static void join_error(group_waiter_t *w, int16_t err, proto_str_t member_id)
{
    bool oom = false;
    memset(&w->join, 0, sizeof(w->join));
    w->join.error_code = err;
    w->join.generation_id = -1;
    w->join.protocol_type = (proto_str_t){NULL, -1};
    w->join.protocol_name = (proto_str_t){NULL, -1};
    w->join.leader = (proto_str_t){(const uint8_t *)"", 0};
    w->join.member_id = a_dup(w->arena, member_id.len < 0 ? proto_str_c("") : member_id, &oom);
    if (oom)
        w->join.error_code = GROUP_ERR_UNKNOWN_SERVER_ERROR;
}

static void sync_error(group_waiter_t *w, int16_t err)
{
    memset(&w->sync, 0, sizeof(w->sync));
    w->sync.error_code = err;
    w->sync.protocol_type = (proto_str_t){NULL, -1};
    w->sync.protocol_name = (proto_str_t){NULL, -1};
    w->sync.assignment = (proto_bytes_t){(const uint8_t *)"", 0};
}

proto_bytes_t grp_member_meta(const member_t *m, proto_str_t protocol)
{
    for (int32_t i = 0; i < m->nprotocols; i++)
        if (gstr_eq(m->protocols[i].name, protocol))
            return (proto_bytes_t){m->protocols[i].meta ? m->protocols[i].meta : (const uint8_t *)"",
                                   m->protocols[i].meta_len};
    return (proto_bytes_t){(const uint8_t *)"", 0};
}

/* A successful JoinGroup answer for m, allocated from w's arena. */
static void join_ok(const group_t *grp, group_waiter_t *w, const member_t *m, proto_str_t leader, bool with_members,
                    bool skip_assignment)
{
    bool oom = false;
    group_join_result_t *r = &w->join;
    memset(r, 0, sizeof(*r));
    r->error_code = GROUP_ERR_NONE;
    r->generation_id = grp->generation;
    r->protocol_type = a_dup(w->arena, gstr_view(grp->protocol_type), &oom);
    r->protocol_name = a_dup(w->arena, gstr_view(grp->protocol_name), &oom);
    r->leader = a_dup(w->arena, leader.len < 0 ? proto_str_c("") : leader, &oom);
    r->member_id = a_dup(w->arena, gstr_view(m->id), &oom);
    r->skip_assignment = skip_assignment;
    if (with_members && grp->nmembers > 0) {
        r->members = w->arena ? arena_alloc(w->arena, sizeof(*r->members) * (size_t)grp->nmembers) : NULL;
        if (!r->members) {
            oom = true;
        } else {
            list_t *pos;
            int32_t i = 0;
            for (pos = grp->members.next; pos != &grp->members; pos = pos->next) {
                const member_t *o = list_entry(pos, member_t, node);
                r->members[i].member_id = a_dup(w->arena, gstr_view(o->id), &oom);
                r->members[i].group_instance_id = a_dup(w->arena, gstr_view(o->instance_id), &oom);
                r->members[i].metadata = a_dup(w->arena, grp_member_meta(o, gstr_view(grp->protocol_name)), &oom);
                i++;
            }
            r->members_count = i;
        }
    }
    if (oom)
        join_error(w, GROUP_ERR_UNKNOWN_SERVER_ERROR, gstr_view(m->id));
}

static void sync_ok(const group_t *grp, group_waiter_t *w, const member_t *m)
{
    bool oom = false;
    group_sync_result_t *r = &w->sync;
    memset(r, 0, sizeof(*r));
    r->protocol_type = a_dup(w->arena, gstr_view(grp->protocol_type), &oom);
    r->protocol_name = a_dup(w->arena, gstr_view(grp->protocol_name), &oom);
    proto_bytes_t a = {m->assignment ? m->assignment : (const uint8_t *)"", m->assignment ? m->assignment_len : 0};
    r->assignment = a_dup(w->arena, a, &oom);
    if (oom)
        sync_error(w, GROUP_ERR_UNKNOWN_SERVER_ERROR);
}

static void waiter_ready(group_coordinator_t *coord, group_waiter_t *w)
{
    list_remove(&w->node);
    w->phase = WAITER_READY;
    w->member = NULL;
    list_insert_tail(&coord->ready, &w->node);
}

static void waiter_park(member_t *m, group_waiter_t *w, int kind)
{
    list_remove(&w->node);
    w->phase = WAITER_PARKED;
    w->kind = kind;
    w->member = m;
}

/* Kafka's maybeInvokeJoinCallback with an error. */
static void member_join_fail(group_coordinator_t *coord, member_t *m, int16_t err, proto_str_t member_id)
{
    if (!m->awaiting_join)
        return;
    if (m->join_waiter) {
        join_error(m->join_waiter, err, member_id);
        waiter_ready(coord, m->join_waiter);
        m->join_waiter = NULL;
    }
    m->awaiting_join = false;
    m->grp->nawaiting_join--;
}

static void member_join_ok(group_coordinator_t *coord, member_t *m, proto_str_t leader, bool with_members,
                           bool skip)
{
    if (!m->awaiting_join)
        return;
    if (m->join_waiter) {
        join_ok(m->grp, m->join_waiter, m, leader, with_members, skip);
        waiter_ready(coord, m->join_waiter);
        m->join_waiter = NULL;
    }
    m->awaiting_join = false;
    m->grp->nawaiting_join--;
}

static void member_sync_fail(group_coordinator_t *coord, member_t *m, int16_t err)
{
    if (!m->sync_waiter)
        return;
    sync_error(m->sync_waiter, err);
    waiter_ready(coord, m->sync_waiter);
    m->sync_waiter = NULL;
}

void group_waiter_cancel(group_coordinator_t *coord, group_waiter_t *w)
{
    if (w->phase == WAITER_READY) {
        list_remove(&w->node);
    } else if (w->phase == WAITER_PARKED) {
        member_t *m = w->member;
        if (w->kind == WAITER_JOIN && m->join_waiter == w) {
            /* The member has still joined (Kafka drops the answer to a closed socket). */
            m->join_waiter = NULL;
        } else if (w->kind == WAITER_SYNC && m->sync_waiter == w) {
            m->sync_waiter = NULL;
            /* No longer waiting: it must heartbeat again to stay. */
            if (!m->awaiting_join && coord)
                grp_arm_session(coord, m, m->session_timeout_ms);
        }
    }
    w->phase = WAITER_DONE;
    w->member = NULL;
}

/* ---- groups and members ---- */

group_t *group_find(const group_coordinator_t *coord, proto_str_t id)
{
    if (id.len < 0)
        return NULL;
    return map_get(&coord->groups, (const char *)id.ptr, (size_t)id.len);
}

group_t *group_create(group_coordinator_t *coord, proto_str_t id)
{
    group_t *grp = grp_xcalloc(1, sizeof(*grp));
    grp->id = gstr_dup(id.len < 0 ? proto_str_c("") : id);
    grp->partition = group_partition_for(coord, id);
    grp->state = GROUP_EMPTY;
    grp->state_ts = coord->now;
    grp->protocol_type = (gstr_t){NULL, -1};
    grp->protocol_name = (gstr_t){NULL, -1};
    list_init(&grp->members);
    list_init(&grp->pending);
    map_init(&grp->members_by_id);
    map_init(&grp->static_members);
    map_init(&grp->pending_by_id);
    map_init(&grp->offsets);
    gtimer_init(&grp->join_timer, GTIMER_JOIN, grp);
    gtimer_init(&grp->sync_timer, GTIMER_SYNC, grp);
    if (map_put(&coord->groups, grp->id.p, (size_t)grp->id.len, grp) != 0) {
        LOG_ERROR("group", "out of memory adding group");
        abort();
    }
    return grp;
}

static void member_free(member_t *m)
{
    gstr_free(&m->id);
    gstr_free(&m->instance_id);
    gstr_free(&m->client_id);
    gstr_free(&m->client_host);
    for (int32_t i = 0; i < m->nprotocols; i++) {
        gstr_free(&m->protocols[i].name);
        free(m->protocols[i].meta);
    }
    free(m->protocols);
    free(m->assignment);
    free(m);
}

static void subscribed_free(group_t *grp)
{
    for (int32_t i = 0; i < grp->nsubscribed; i++)
        gstr_free(&grp->subscribed[i]);
    free(grp->subscribed);
    grp->subscribed = NULL;
    grp->nsubscribed = 0;
    grp->subscribed_known = false;
}

static void pending_remove(group_coordinator_t *coord, group_t *grp, pending_t *p)
{
    gheap_disarm(&coord->heap, &p->timer);
    map_del(&grp->pending_by_id, p->id.p, (size_t)p->id.len);
    list_remove(&p->node);
    grp->npending--;
    gstr_free(&p->id);
    free(p);
}

static pending_t *pending_find(const group_t *grp, proto_str_t id)
{
    if (id.len <= 0)
        return NULL;
    return map_get(&grp->pending_by_id, (const char *)id.ptr, (size_t)id.len);
}

/* Low level: unlinks and frees m; a still-parked waiter gets UNKNOWN_MEMBER_ID. */
static void member_remove(group_coordinator_t *coord, group_t *grp, member_t *m)
{
    member_join_fail(coord, m, GROUP_ERR_UNKNOWN_MEMBER_ID, proto_str_c(""));
    member_sync_fail(coord, m, GROUP_ERR_UNKNOWN_MEMBER_ID);
    gheap_disarm(&coord->heap, &m->session);
    if (m->pending_sync) {
        m->pending_sync = false;
        grp->npending_sync--;
    }
    map_del(&grp->members_by_id, m->id.p, (size_t)m->id.len);
    if (m->instance_id.p)
        map_del(&grp->static_members, m->instance_id.p, (size_t)m->instance_id.len);
    list_remove(&m->node);
    grp->nmembers--;
    if (grp->leader == m)
        grp->leader = list_empty(&grp->members) ? NULL : list_entry(grp->members.next, member_t, node);
    member_free(m);
}

void group_destroy(group_coordinator_t *coord, group_t *grp, int16_t waiter_error)
{
    while (!list_empty(&grp->members)) {
        member_t *m = list_entry(grp->members.next, member_t, node);
        if (waiter_error) {
            member_join_fail(coord, m, waiter_error, gstr_view(m->id));
            member_sync_fail(coord, m, waiter_error);
        } else {
            /* Forget waiters silently (shutdown). */
            if (m->join_waiter) {
                m->join_waiter->phase = WAITER_DONE;
                m->join_waiter = NULL;
            }
            if (m->sync_waiter) {
                m->sync_waiter->phase = WAITER_DONE;
                m->sync_waiter = NULL;
            }
        }
        member_remove(coord, grp, m);
    }
    while (!list_empty(&grp->pending))
        pending_remove(coord, grp, list_entry(grp->pending.next, pending_t, node));
    gheap_disarm(&coord->heap, &grp->join_timer);
    gheap_disarm(&coord->heap, &grp->sync_timer);
    off_free_all(grp);
    subscribed_free(grp);
    map_del(&coord->groups, grp->id.p, (size_t)grp->id.len);
    map_fini(&grp->members_by_id);
    map_fini(&grp->static_members);
    map_fini(&grp->pending_by_id);
    map_fini(&grp->offsets);
    gstr_free(&grp->id);
    gstr_free(&grp->protocol_type);
    gstr_free(&grp->protocol_name);
    free(grp);
}

member_t *grp_member(const group_t *grp, proto_str_t id)
{
    if (id.len <= 0)
        return NULL;
    return map_get(&grp->members_by_id, (const char *)id.ptr, (size_t)id.len);
}

static member_t *static_member(const group_t *grp, proto_str_t instance_id)
{
    if (instance_id.len < 0)
        return NULL;
    return map_get(&grp->static_members, (const char *)instance_id.ptr, (size_t)instance_id.len);
}

void grp_arm_session(group_coordinator_t *coord, member_t *m, int32_t timeout_ms)
{
    gheap_arm(&coord->heap, &m->session, coord->now + timeout_ms);
}

static int32_t group_rebalance_timeout(const group_t *grp)
{
    int32_t t = 0;
    list_t *pos;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next) {
        const member_t *m = list_entry(pos, member_t, node);
        if (m->rebalance_timeout_ms > t)
            t = m->rebalance_timeout_ms;
    }
    return t;
}

static bool member_supports(const member_t *m, proto_str_t name)
{
    for (int32_t i = 0; i < m->nprotocols; i++)
        if (gstr_eq(m->protocols[i].name, name))
            return true;
    return false;
}

static int32_t protocol_support_count(const group_t *grp, proto_str_t name)
{
    int32_t n = 0;
    list_t *pos;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next)
        if (member_supports(list_entry(pos, member_t, node), name))
            n++;
    return n;
}

/* Kafka's supportsProtocols: what a joining member must share with the group. */
static bool supports_protocols(const group_t *grp, proto_str_t type, const group_protocol_t *protos, int32_t n)
{
    if (grp->state == GROUP_EMPTY)
        return view_nonempty(type) && n > 0;
    if (!grp->protocol_type.p || !gstr_eq(grp->protocol_type, type))
        return false;
    for (int32_t i = 0; i < n; i++)
        if (protocol_support_count(grp, protos[i].name) == grp->nmembers)
            return true;
    return false;
}

/* The vote: candidates are the protocols every member supports; each member votes for its first candidate. */
static proto_str_t select_protocol(const group_t *grp)
{
    const member_t *first = list_entry(grp->members.next, member_t, node);
    DIAG_ASSERT(grp->nmembers > 0);
    /* Candidates in the first member's order, so ties break the same way every time. Counting support
     * once per candidate (not once per member and protocol) keeps this linear in the group size. */
    enum { MAX_CANDIDATES = 64 };
    proto_str_t cand[MAX_CANDIDATES];
    int32_t votes[MAX_CANDIDATES];
    int32_t ncand = 0;
    for (int32_t c = 0; c < first->nprotocols && ncand < MAX_CANDIDATES; c++) {
        proto_str_t name = gstr_view(first->protocols[c].name);
        if (protocol_support_count(grp, name) == grp->nmembers) {
            cand[ncand] = name;
            votes[ncand++] = 0;
        }
    }
    if (ncand == 0)
        return gstr_view(first->protocols[0].name);
    list_t *pos;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next) {
        const member_t *m = list_entry(pos, member_t, node);
        int32_t vote = -1;
        for (int32_t i = 0; i < m->nprotocols && vote < 0; i++)
            for (int32_t c = 0; c < ncand && vote < 0; c++)
                if (view_eq(gstr_view(m->protocols[i].name), cand[c]))
                    vote = c;
        if (vote >= 0)
            votes[vote]++;
    }
    int32_t best = 0;
    for (int32_t c = 1; c < ncand; c++)
        if (votes[c] > votes[best])
            best = c;
    return cand[best];
}

static void member_set_protocols(member_t *m, const group_protocol_t *protos, int32_t n)
{
    for (int32_t i = 0; i < m->nprotocols; i++) {
        gstr_free(&m->protocols[i].name);
        free(m->protocols[i].meta);
    }
    free(m->protocols);
    m->protocols = grp_xcalloc((size_t)(n > 0 ? n : 1), sizeof(*m->protocols));
    m->nprotocols = n;
    for (int32_t i = 0; i < n; i++) {
        m->protocols[i].name = gstr_dup(protos[i].name.len < 0 ? proto_str_c("") : protos[i].name);
        int32_t len = protos[i].metadata.len > 0 ? protos[i].metadata.len : 0;
        m->protocols[i].meta = grp_xmalloc((size_t)len);
        if (len)
            memcpy(m->protocols[i].meta, protos[i].metadata.ptr, (size_t)len);
        m->protocols[i].meta_len = len;
    }
}

static bool protocols_match(const member_t *m, const group_protocol_t *protos, int32_t n)
{
    if (n != m->nprotocols)
        return false;
    for (int32_t i = 0; i < n; i++) {
        if (!gstr_eq(m->protocols[i].name, protos[i].name))
            return false;
        int32_t len = protos[i].metadata.len > 0 ? protos[i].metadata.len : 0;
        if (len != m->protocols[i].meta_len || (len && memcmp(m->protocols[i].meta, protos[i].metadata.ptr, (size_t)len)))
            return false;
    }
    return true;
}

/* ---- subscribed topics (for OffsetDelete and retention) ---- */

static void add_topic(void *arg, proto_str_t topic)
{
    group_t *grp = arg;
    for (int32_t i = 0; i < grp->nsubscribed; i++)
        if (gstr_eq(grp->subscribed[i], topic))
            return;
    gstr_t *n = realloc(grp->subscribed, sizeof(*n) * (size_t)(grp->nsubscribed + 1));
    if (!n) {
        LOG_ERROR("group", "out of memory");
        abort();
    }
    grp->subscribed = n;
    grp->subscribed[grp->nsubscribed++] = gstr_dup(topic);
}

static void compute_subscribed(group_t *grp)
{
    subscribed_free(grp);
    if (!grp->protocol_type.p || strcmp(grp->protocol_type.p, "consumer") != 0)
        return;
    if (grp->nmembers == 0) {
        grp->subscribed_known = true;
        return;
    }
    if (!grp->protocol_name.p)
        return;
    list_t *pos;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next) {
        const member_t *m = list_entry(pos, member_t, node);
        if (group_rec_subscription_topics(grp_member_meta(m, gstr_view(grp->protocol_name)), add_topic, grp) != 0) {
            LOG_WARN("group", "group %s: member %s has a consumer subscription that does not parse; "
                              "treating every topic as subscribed", gstr_c(grp->id), gstr_c(m->id));
            subscribed_free(grp);
            return;
        }
    }
    grp->subscribed_known = true;
}

bool grp_is_subscribed(const group_t *grp, proto_str_t topic)
{
    if (!grp->subscribed_known)
        return true; /* Kafka: unknown means subscribed, to be safe */
    for (int32_t i = 0; i < grp->nsubscribed; i++)
        if (gstr_eq(grp->subscribed[i], topic))
            return true;
    return false;
}

/* ---- persistence of group metadata ---- */

int16_t grp_store_error(int16_t err, bool commit)
{
    switch (err) {
    case GROUP_ERR_NONE:
        return GROUP_ERR_NONE;
    case 6: /* NOT_LEADER_OR_FOLLOWER */
        return GROUP_ERR_NOT_COORDINATOR;
    case 10: /* MESSAGE_TOO_LARGE */
    case 18: /* RECORD_LIST_TOO_LARGE */
        return commit ? GROUP_ERR_INVALID_COMMIT_OFFSET_SIZE : GROUP_ERR_UNKNOWN_SERVER_ERROR;
    case GROUP_ERR_NOT_COORDINATOR:
    case GROUP_ERR_COORDINATOR_NOT_AVAILABLE:
    case GROUP_ERR_UNKNOWN_SERVER_ERROR:
        return err;
    default: /* storage errors, unknown partition, timeouts: clients retry after FindCoordinator */
        return GROUP_ERR_COORDINATOR_NOT_AVAILABLE;
    }
}

int16_t grp_store(group_coordinator_t *coord, group_t *grp, uint8_t *const *assign, const int32_t *assign_len)
{
    grec_batch_t b;
    grec_batch_init(&b);
    grec_add_group(&b, grp, assign, assign_len);
    int16_t err = grec_batch_append(coord, grp->partition, &b);
    grec_batch_fini(&b);
    if (err)
        LOG_WARN("group", "group %s: storing metadata failed with error %d", gstr_c(grp->id), err);
    return err;
}

/* ---- rebalancing ---- */

static void prepare_rebalance(group_coordinator_t *coord, group_t *grp, const char *reason);

static void maybe_prepare_rebalance(group_coordinator_t *coord, group_t *grp, const char *reason)
{
    if (can_rebalance(grp))
        prepare_rebalance(coord, grp, reason);
}

static void clear_pending_sync(group_coordinator_t *coord, group_t *grp)
{
    list_t *pos;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next)
        list_entry(pos, member_t, node)->pending_sync = false;
    grp->npending_sync = 0;
    gheap_disarm(&coord->heap, &grp->sync_timer);
}

static void reset_and_propagate_error(group_coordinator_t *coord, group_t *grp, int16_t err)
{
    list_t *pos;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next) {
        member_t *m = list_entry(pos, member_t, node);
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        if (m->sync_waiter) {
            member_sync_fail(coord, m, err);
            grp_arm_session(coord, m, m->session_timeout_ms);
        }
    }
}

static void propagate_assignment(group_coordinator_t *coord, group_t *grp)
{
    list_t *pos;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next) {
        member_t *m = list_entry(pos, member_t, node);
        if (m->sync_waiter) {
            group_waiter_t *w = m->sync_waiter;
            m->sync_waiter = NULL;
            sync_ok(grp, w, m);
            waiter_ready(coord, w);
            grp_arm_session(coord, m, m->session_timeout_ms);
        }
    }
}

static void try_complete_join(group_coordinator_t *coord, group_t *grp);

static void prepare_rebalance(group_coordinator_t *coord, group_t *grp, const char *reason)
{
    if (grp->state == GROUP_COMPLETING_REBALANCE)
        reset_and_propagate_error(coord, grp, GROUP_ERR_REBALANCE_IN_PROGRESS);
    clear_pending_sync(coord, grp);
    bool from_empty = grp->state == GROUP_EMPTY;
    int32_t rto = group_rebalance_timeout(grp);
    grp_transition(coord, grp, GROUP_PREPARING_REBALANCE, reason);
    if (from_empty) {
        /* InitialDelayedJoin: wait for more members before the first generation. */
        int32_t delay = coord->cfg.initial_rebalance_delay_ms;
        grp->join_initial = true;
        grp->initial_delay_ms = delay;
        grp->initial_remaining_ms = rto - delay > 0 ? rto - delay : 0;
        gheap_arm(&coord->heap, &grp->join_timer, coord->now + delay);
    } else {
        grp->join_initial = false;
        gheap_arm(&coord->heap, &grp->join_timer, coord->now + rto);
        try_complete_join(coord, grp);
    }
}

static bool elect_joined_leader(group_t *grp)
{
    if (!grp->leader)
        return false;
    if (grp->leader->awaiting_join)
        return true;
    list_t *pos;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next) {
        member_t *m = list_entry(pos, member_t, node);
        if (m->awaiting_join) {
            LOG_INFO("group", "group %s: leader %s did not rejoin; %s leads", gstr_c(grp->id),
                     gstr_c(grp->leader->id), gstr_c(m->id));
            grp->leader = m;
            return true;
        }
    }
    return false;
}

/* Kafka's onCompleteJoin. */
static void complete_join(group_coordinator_t *coord, group_t *grp)
{
    DIAG_ASSERT(grp->state == GROUP_PREPARING_REBALANCE);
    gheap_disarm(&coord->heap, &grp->join_timer);
    grp->join_initial = false;
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &grp->members) {
        member_t *m = list_entry(pos, member_t, node);
        if (!m->awaiting_join && !m->instance_id.p) {
            LOG_INFO("group", "group %s: removing member %s, which did not rejoin in time", gstr_c(grp->id),
                     gstr_c(m->id));
            member_remove(coord, grp, m);
        }
    }
    if (grp->nmembers > 0 && !elect_joined_leader(grp)) {
        /* Only static members that have not rejoined: wait for them or their session timeouts. */
        LOG_WARN("group", "group %s: no member rejoined; waiting another rebalance timeout", gstr_c(grp->id));
        gheap_arm(&coord->heap, &grp->join_timer, coord->now + group_rebalance_timeout(grp));
        return;
    }
    grp->generation++;
    gstr_free(&grp->protocol_name);
    if (grp->nmembers > 0) {
        grp->protocol_name = gstr_dup(select_protocol(grp));
        compute_subscribed(grp);
        grp_transition(coord, grp, GROUP_COMPLETING_REBALANCE, "all members joined");
    } else {
        compute_subscribed(grp);
        grp_transition(coord, grp, GROUP_EMPTY, "no members left");
    }
    clear_pending_sync(coord, grp);
    if (grp->state == GROUP_EMPTY) {
        (void)grp_store(coord, grp, NULL, NULL);
        return;
    }
    proto_str_t leader = gstr_view(grp->leader->id);
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next) {
        member_t *m = list_entry(pos, member_t, node);
        member_join_ok(coord, m, leader, m == grp->leader, false);
        grp_arm_session(coord, m, m->session_timeout_ms);
        m->is_new = false;
        m->pending_sync = true;
        grp->npending_sync++;
    }
    grp->sync_generation = grp->generation;
    gheap_arm(&coord->heap, &grp->sync_timer, coord->now + group_rebalance_timeout(grp));
}

static void try_complete_join(group_coordinator_t *coord, group_t *grp)
{
    if (grp->state != GROUP_PREPARING_REBALANCE || grp->join_initial)
        return;
    if (grp->nmembers == grp->nawaiting_join && grp->npending == 0)
        complete_join(coord, grp);
}

/* Kafka's removeMemberAndUpdateGroup (LeaveGroup, session expiry). */
static void remove_member_and_update(group_coordinator_t *coord, group_t *grp, member_t *m, const char *reason)
{
    LOG_INFO("group", "group %s: removing member %s: %s", gstr_c(grp->id), gstr_c(m->id), reason);
    member_remove(coord, grp, m);
    switch (grp->state) {
    case GROUP_STABLE:
    case GROUP_COMPLETING_REBALANCE:
        maybe_prepare_rebalance(coord, grp, reason);
        break;
    case GROUP_PREPARING_REBALANCE:
        try_complete_join(coord, grp);
        break;
    default:
        break;
    }
}

static void remove_pending_and_update(group_coordinator_t *coord, group_t *grp, pending_t *p)
{
    pending_remove(coord, grp, p);
    if (grp->state == GROUP_PREPARING_REBALANCE)
        try_complete_join(coord, grp);
}

/* ---- JoinGroup ---- */

static void generate_member_id(group_coordinator_t *coord, proto_str_t prefix, char *out, size_t cap)
{
    uint64_t a = rng_next(coord), b = rng_next(coord);
    /* A version-4 UUID in its usual text form. */
    a = (a & ~0xf000ULL) | 0x4000ULL;
    b = (b & ~(0xc000ULL << 48)) | (0x8000ULL << 48);
    int plen = prefix.len > 0 ? prefix.len : 0;
    snprintf(out, cap, "%.*s-%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%012" PRIx64, plen,
             plen ? (const char *)prefix.ptr : "", (uint32_t)(a >> 32), (uint32_t)((a >> 16) & 0xffff),
             (uint32_t)(a & 0xffff), (uint32_t)(b >> 48), (uint64_t)(b & 0xffffffffffffULL));
}

static bool accept_joining_member(const group_coordinator_t *coord, const group_t *grp, proto_str_t member_id)
{
    const member_t *m = grp_member(grp, member_id);
    switch (grp->state) {
    case GROUP_EMPTY:
    case GROUP_DEAD:
        return true;
    case GROUP_PREPARING_REBALANCE:
        return (m && m->awaiting_join) || grp->nawaiting_join < coord->cfg.max_size;
    default:
        return m != NULL || grp->nmembers < coord->cfg.max_size;
    }
}

/* Replaces m's waiter (Kafka overwrites the callback; the old request is answered so it does not hang). */
static void update_member(group_coordinator_t *coord, member_t *m, const group_join_args_t *args, int32_t rto,
                          group_waiter_t *w)
{
    member_set_protocols(m, args->protocols, args->protocols_count);
    m->rebalance_timeout_ms = rto;
    m->session_timeout_ms = args->session_timeout_ms;
    if (m->join_waiter && m->join_waiter != w) {
        join_error(m->join_waiter, GROUP_ERR_REBALANCE_IN_PROGRESS, gstr_view(m->id));
        waiter_ready(coord, m->join_waiter);
        m->join_waiter = NULL;
    }
    if (w) {
        if (!m->awaiting_join)
            m->grp->nawaiting_join++;
        m->awaiting_join = true;
        m->join_waiter = w;
        waiter_park(m, w, WAITER_JOIN);
    } else if (m->awaiting_join) {
        m->awaiting_join = false;
        m->grp->nawaiting_join--;
    }
}

static void add_member_and_rebalance(group_coordinator_t *coord, group_t *grp, const group_join_args_t *args,
                                     int32_t rto, proto_str_t member_id, proto_str_t instance_id, group_waiter_t *w,
                                     const char *why)
{
    member_t *m = grp_xcalloc(1, sizeof(*m));
    m->grp = grp;
    m->id = gstr_dup(member_id);
    m->instance_id = gstr_dup(instance_id);
    m->client_id = gstr_dup(args->client_id.len < 0 ? proto_str_c("") : args->client_id);
    m->client_host = gstr_dup(args->client_host.len < 0 ? proto_str_c("") : args->client_host);
    gtimer_init(&m->session, GTIMER_SESSION, m);
    m->is_new = true;
    if (grp->state == GROUP_PREPARING_REBALANCE && grp->generation == 0)
        grp->new_member_added = true;
    /* Kafka's GroupMetadata.add */
    if (grp->nmembers == 0) {
        gstr_free(&grp->protocol_type);
        grp->protocol_type = gstr_dup(args->protocol_type);
    }
    if (m->instance_id.p)
        (void)map_put(&grp->static_members, m->instance_id.p, (size_t)m->instance_id.len, m);
    if (map_put(&grp->members_by_id, m->id.p, (size_t)m->id.len, m) != 0) {
        LOG_ERROR("group", "out of memory adding member");
        abort();
    }
    list_insert_tail(&grp->members, &m->node);
    grp->nmembers++;
    if (!grp->leader)
        grp->leader = m;
    pending_t *p = pending_find(grp, member_id);
    if (p)
        pending_remove(coord, grp, p);
    update_member(coord, m, args, rto, w);
    /* New members cannot heartbeat yet; a lost JoinGroup must not keep them forever. */
    grp_arm_session(coord, m, GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS);
    char reason[256];
    snprintf(reason, sizeof(reason), "adding %s member %s (%s)", m->instance_id.p ? "static" : "new", gstr_c(m->id),
             why);
    maybe_prepare_rebalance(coord, grp, reason);
}

static void replace_static_member(group_coordinator_t *coord, group_t *grp, member_t *m, proto_str_t new_id)
{
    member_join_fail(coord, m, GROUP_ERR_FENCED_INSTANCE_ID, gstr_view(m->id));
    member_sync_fail(coord, m, GROUP_ERR_FENCED_INSTANCE_ID);
    map_del(&grp->members_by_id, m->id.p, (size_t)m->id.len);
    gstr_free(&m->id);
    m->id = gstr_dup(new_id);
    (void)map_put(&grp->members_by_id, m->id.p, (size_t)m->id.len, m);
}

static void static_member_rejoin(group_coordinator_t *coord, group_t *grp, member_t *m, const group_join_args_t *args,
                                 int32_t rto, proto_str_t new_id, group_waiter_t *w)
{
    gstr_t old_id = gstr_dup(gstr_view(m->id));
    gstr_t old_leader = gstr_dup(grp->leader ? gstr_view(grp->leader->id) : proto_str_c(NULL));
    LOG_INFO("group", "group %s: static member %s rejoins as %s in %s", gstr_c(grp->id), gstr_c(m->instance_id),
             (const char *)new_id.ptr, group_state_name(grp->state));
    replace_static_member(coord, grp, m, new_id);
    grp_arm_session(coord, m, args->session_timeout_ms);
    /* Keep the old protocols and timeouts to undo the update if it cannot be stored. */
    int32_t old_n = m->nprotocols, old_rto = m->rebalance_timeout_ms, old_sto = m->session_timeout_ms;
    gprotocol_t *old_protocols = m->protocols;
    m->protocols = NULL;
    m->nprotocols = 0;
    update_member(coord, m, args, rto, w);

    switch (grp->state) {
    case GROUP_STABLE: {
        proto_str_t next = select_protocol(grp);
        if (gstr_eq(grp->protocol_name, next)) {
            int16_t err = grp_store(coord, grp, NULL, NULL);
            if (err) {
                /* Undo: the old member id stays in charge. */
                for (int32_t i = 0; i < m->nprotocols; i++) {
                    gstr_free(&m->protocols[i].name);
                    free(m->protocols[i].meta);
                }
                free(m->protocols);
                m->protocols = old_protocols;
                m->nprotocols = old_n;
                old_protocols = NULL;
                m->rebalance_timeout_ms = old_rto;
                m->session_timeout_ms = old_sto;
                m->join_waiter = NULL;
                m->awaiting_join = false;
                grp->nawaiting_join--;
                replace_static_member(coord, grp, m, gstr_view(old_id));
                grp_arm_session(coord, m, m->session_timeout_ms);
                join_ok(grp, w, m, gstr_view(old_leader), false, false);
                w->join.error_code = grp_store_error(err, false);
                w->join.member_id = proto_str_c("");
                list_remove(&w->node);
                w->phase = WAITER_IDLE;
                w->member = NULL;
            } else if (args->api_version >= 9) {
                /* The leader learns it leads but must not recompute the assignment of a Stable group. */
                bool is_leader = grp->leader == m;
                member_join_ok(coord, m, gstr_view(grp->leader->id), is_leader, is_leader);
            } else {
                /* Before v9, the old leader id stops a restarted leader from assigning. */
                member_join_ok(coord, m, gstr_view(old_leader), false, false);
            }
        } else {
            maybe_prepare_rebalance(coord, grp, "static member rejoined with protocols that change the group's choice");
        }
        break;
    }
    case GROUP_COMPLETING_REBALANCE:
        prepare_rebalance(coord, grp, "static member rejoined while the leader was assigning");
        break;
    case GROUP_PREPARING_REBALANCE:
        break;
    default:
        DIAG_ASSERT(!"static member in an Empty or Dead group");
    }
    if (old_protocols) {
        for (int32_t i = 0; i < old_n; i++) {
            gstr_free(&old_protocols[i].name);
            free(old_protocols[i].meta);
        }
        free(old_protocols);
    }
    gstr_free(&old_id);
    gstr_free(&old_leader);
}

int16_t grp_validate_member(const group_t *grp, proto_str_t member_id, proto_str_t instance_id)
{
    if (instance_id.len >= 0) {
        const member_t *sm = static_member(grp, instance_id);
        if (!sm)
            return GROUP_ERR_UNKNOWN_MEMBER_ID;
        if (!gstr_eq(sm->id, member_id)) {
            LOG_INFO("group", "group %s: member %.*s fenced by %s for instance %s", gstr_c(grp->id),
                     member_id.len > 0 ? member_id.len : 0, member_id.len > 0 ? (const char *)member_id.ptr : "",
                     gstr_c(sm->id), gstr_c(sm->instance_id));
            return GROUP_ERR_FENCED_INSTANCE_ID;
        }
        return GROUP_ERR_NONE;
    }
    return grp_member(grp, member_id) ? GROUP_ERR_NONE : GROUP_ERR_UNKNOWN_MEMBER_ID;
}

static void new_member_join(group_coordinator_t *coord, group_t *grp, const group_join_args_t *args, int32_t rto,
                            group_waiter_t *w, const char *why)
{
    if (!supports_protocols(grp, args->protocol_type, args->protocols, args->protocols_count)) {
        join_error(w, GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL, proto_str_c(""));
        return;
    }
    char id[512];
    bool is_static = args->group_instance_id.len >= 0;
    proto_str_t prefix = is_static ? args->group_instance_id : args->client_id;
    if (prefix.len > 400)
        prefix.len = 400;
    generate_member_id(coord, prefix, id, sizeof(id));
    proto_str_t new_id = proto_str_c(id);
    if (is_static) {
        member_t *old = static_member(grp, args->group_instance_id);
        if (old)
            static_member_rejoin(coord, grp, old, args, rto, new_id, w);
        else
            add_member_and_rebalance(coord, grp, args, rto, new_id, args->group_instance_id, w, why);
    } else if (args->api_version >= 4) {
        /* KIP-394: hand out the id first; the member is pending until it rejoins with it. */
        pending_t *p = grp_xcalloc(1, sizeof(*p));
        p->grp = grp;
        p->id = gstr_dup(new_id);
        gtimer_init(&p->timer, GTIMER_PENDING, p);
        (void)map_put(&grp->pending_by_id, p->id.p, (size_t)p->id.len, p);
        list_insert_tail(&grp->pending, &p->node);
        grp->npending++;
        gheap_arm(&coord->heap, &p->timer, coord->now + args->session_timeout_ms);
        join_error(w, GROUP_ERR_MEMBER_ID_REQUIRED, new_id);
    } else {
        add_member_and_rebalance(coord, grp, args, rto, new_id, proto_str_c(NULL), w, why);
    }
}

static void current_member_join(group_coordinator_t *coord, group_t *grp, const group_join_args_t *args,
                                 int32_t rto, group_waiter_t *w, const char *why)
{
    char reason[256];
    if (!supports_protocols(grp, args->protocol_type, args->protocols, args->protocols_count)) {
        join_error(w, GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL, args->member_id);
        return;
    }
    pending_t *p = pending_find(grp, args->member_id);
    if (p) {
        if (args->group_instance_id.len >= 0) {
            /* A pending id is dynamic by construction. */
            join_error(w, GROUP_ERR_UNKNOWN_MEMBER_ID, args->member_id);
            return;
        }
        add_member_and_rebalance(coord, grp, args, rto, args->member_id, proto_str_c(NULL), w, why);
        return;
    }
    int16_t err = grp_validate_member(grp, args->member_id, args->group_instance_id);
    if (err) {
        join_error(w, err, args->member_id);
        return;
    }
    member_t *m = grp_member(grp, args->member_id);
    switch (grp->state) {
    case GROUP_PREPARING_REBALANCE:
        update_member(coord, m, args, rto, w);
        break;
    case GROUP_COMPLETING_REBALANCE:
        if (protocols_match(m, args->protocols, args->protocols_count)) {
            /* The member lost its JoinGroup answer: send the same again. */
            join_ok(grp, w, m, gstr_view(grp->leader->id), grp->leader == m, false);
        } else {
            update_member(coord, m, args, rto, w);
            snprintf(reason, sizeof(reason), "member %s changed its metadata (%s)", gstr_c(m->id), why);
            maybe_prepare_rebalance(coord, grp, reason);
        }
        break;
    case GROUP_STABLE:
        if (grp->leader == m || !protocols_match(m, args->protocols, args->protocols_count)) {
            update_member(coord, m, args, rto, w);
            snprintf(reason, sizeof(reason), "%s %s rejoined (%s)", grp->leader == m ? "leader" : "member",
                     gstr_c(m->id), why);
            maybe_prepare_rebalance(coord, grp, reason);
        } else {
            join_ok(grp, w, m, gstr_view(grp->leader->id), false, false);
        }
        break;
    default:
        join_error(w, GROUP_ERR_UNKNOWN_MEMBER_ID, args->member_id);
        break;
    }
}

/* Ends a public call that took a waiter: DONE when its answer is already known. */
static group_status_t waiter_outcome(group_waiter_t *w)
{
    if (w->phase == WAITER_PARKED)
        return GROUP_PARKED;
    if (w->phase == WAITER_READY)
        list_remove(&w->node);
    w->phase = WAITER_DONE;
    w->member = NULL;
    return GROUP_DONE;
}

/* A group made by this call that ended with nothing in it is not kept. */
static void drop_if_unused(group_coordinator_t *coord, group_t *grp)
{
    if (grp->state == GROUP_EMPTY && grp->nmembers == 0 && grp->npending == 0 && grp->offsets.count == 0 &&
        grp->generation == 0)
        group_destroy(coord, grp, 0);
}

group_status_t group_join(group_coordinator_t *coord, const group_join_args_t *args, int64_t now_ms,
                          group_waiter_t *w)
{
    DIAG_ASSERT(w->phase != WAITER_PARKED && w->phase != WAITER_READY);
    coord_enter(coord, now_ms);
    w->phase = WAITER_IDLE;
    w->kind = WAITER_JOIN;
    list_init(&w->node);
    int32_t rto = args->rebalance_timeout_ms >= 0 ? args->rebalance_timeout_ms : args->session_timeout_ms;
    char why[160];
    snprintf(why, sizeof(why), "client reason: %.*s",
             args->reason.len > 0 ? (args->reason.len > 120 ? 120 : args->reason.len) : 12,
             args->reason.len > 0 ? (const char *)args->reason.ptr : "not provided");
    group_t *grp = NULL;
    bool created = false;
    bool unknown = args->member_id.len <= 0;
    if (args->group_id.len <= 0) {
        join_error(w, GROUP_ERR_INVALID_GROUP_ID, args->member_id);
    } else if (group_loading(coord, args->group_id)) {
        join_error(w, GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS, args->member_id);
    } else if (args->session_timeout_ms < coord->cfg.min_session_timeout_ms ||
               args->session_timeout_ms > coord->cfg.max_session_timeout_ms) {
        join_error(w, GROUP_ERR_INVALID_SESSION_TIMEOUT, args->member_id);
    } else if (!(grp = group_find(coord, args->group_id)) && !unknown) {
        join_error(w, GROUP_ERR_UNKNOWN_MEMBER_ID, args->member_id);
    } else {
        if (!grp) {
            grp = group_create(coord, args->group_id);
            created = true;
        }
        if (!accept_joining_member(coord, grp, args->member_id)) {
            member_t *m = grp_member(grp, args->member_id);
            if (m)
                remove_member_and_update(coord, grp, m, "group is at group.max.size");
            join_error(w, GROUP_ERR_GROUP_MAX_SIZE_REACHED, proto_str_c(""));
        } else if (unknown) {
            new_member_join(coord, grp, args, rto, w, why);
        } else {
            current_member_join(coord, grp, args, rto, w, why);
        }
        if (grp->state == GROUP_PREPARING_REBALANCE)
            try_complete_join(coord, grp);
        if (created)
            drop_if_unused(coord, grp);
    }
    group_status_t st = waiter_outcome(w);
    coord_leave(coord);
    return st;
}

/* ---- SyncGroup ---- */

group_status_t group_sync(group_coordinator_t *coord, const group_sync_args_t *args, int64_t now_ms,
                          group_waiter_t *w)
{
    DIAG_ASSERT(w->phase != WAITER_PARKED && w->phase != WAITER_READY);
    coord_enter(coord, now_ms);
    w->phase = WAITER_IDLE;
    w->kind = WAITER_SYNC;
    list_init(&w->node);
    group_t *grp = NULL;
    int16_t err = GROUP_ERR_NONE;
    if (args->group_id.len <= 0)
        err = GROUP_ERR_INVALID_GROUP_ID;
    else if (group_loading(coord, args->group_id))
        err = GROUP_ERR_REBALANCE_IN_PROGRESS; /* the rebalance state was lost: rejoin */
    else if (!(grp = group_find(coord, args->group_id)))
        err = GROUP_ERR_UNKNOWN_MEMBER_ID;
    else if ((err = grp_validate_member(grp, args->member_id, args->group_instance_id)) != 0)
        ;
    else if (args->generation_id != grp->generation)
        err = GROUP_ERR_ILLEGAL_GENERATION;
    else if (args->protocol_type.len >= 0 && !gstr_eq(grp->protocol_type, args->protocol_type))
        err = GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL;
    else if (args->protocol_name.len >= 0 && !gstr_eq(grp->protocol_name, args->protocol_name))
        err = GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL;
    else if (grp->state == GROUP_EMPTY)
        err = GROUP_ERR_UNKNOWN_MEMBER_ID;
    else if (grp->state == GROUP_PREPARING_REBALANCE)
        err = GROUP_ERR_REBALANCE_IN_PROGRESS;

    if (err) {
        sync_error(w, err);
    } else {
        member_t *m = grp_member(grp, args->member_id);
        if (m->pending_sync) {
            m->pending_sync = false;
            if (--grp->npending_sync == 0)
                gheap_disarm(&coord->heap, &grp->sync_timer);
        }
        if (grp->state == GROUP_STABLE) {
            sync_ok(grp, w, m);
            grp_arm_session(coord, m, m->session_timeout_ms);
        } else {
            /* CompletingRebalance: park until the leader's assignment is stored. */
            if (m->sync_waiter && m->sync_waiter != w)
                member_sync_fail(coord, m, GROUP_ERR_REBALANCE_IN_PROGRESS);
            m->sync_waiter = w;
            waiter_park(m, w, WAITER_SYNC);
            if (grp->leader == m) {
                LOG_INFO("group", "group %s: assignment from leader %s for generation %" PRId32, gstr_c(grp->id),
                         gstr_c(m->id), grp->generation);
                uint8_t **assign = grp_xcalloc((size_t)grp->nmembers, sizeof(*assign));
                int32_t *lens = grp_xcalloc((size_t)grp->nmembers, sizeof(*lens));
                list_t *pos;
                int32_t i = 0;
                for (pos = grp->members.next; pos != &grp->members; pos = pos->next, i++) {
                    member_t *o = list_entry(pos, member_t, node);
                    for (int32_t k = 0; k < args->assignments_count; k++) {
                        if (gstr_eq(o->id, args->assignments[k].member_id)) {
                            /* Views into the request; copied below once stored. */
                            assign[i] = (uint8_t *)(uintptr_t)(args->assignments[k].assignment.len > 0
                                                                   ? args->assignments[k].assignment.ptr
                                                                   : NULL);
                            lens[i] = args->assignments[k].assignment.len > 0 ? args->assignments[k].assignment.len
                                                                              : 0;
                        }
                    }
                }
                int16_t serr = grp_store(coord, grp, assign, lens);
                if (serr) {
                    reset_and_propagate_error(coord, grp, grp_store_error(serr, false));
                    maybe_prepare_rebalance(coord, grp, "storing the assignment failed");
                } else {
                    i = 0;
                    for (pos = grp->members.next; pos != &grp->members; pos = pos->next, i++) {
                        member_t *o = list_entry(pos, member_t, node);
                        free(o->assignment);
                        o->assignment = grp_xmalloc((size_t)lens[i]);
                        if (lens[i])
                            memcpy(o->assignment, assign[i], (size_t)lens[i]);
                        o->assignment_len = lens[i];
                    }
                    propagate_assignment(coord, grp);
                    grp_transition(coord, grp, GROUP_STABLE, "leader's assignment stored");
                }
                free(assign);
                free(lens);
            }
        }
    }
    group_status_t st = waiter_outcome(w);
    coord_leave(coord);
    return st;
}

/* ---- Heartbeat / LeaveGroup ---- */

int16_t group_heartbeat(group_coordinator_t *coord, proto_str_t group_id, int32_t generation_id,
                        proto_str_t member_id, proto_str_t group_instance_id, int64_t now_ms)
{
    coord_enter(coord, now_ms);
    int16_t err = GROUP_ERR_NONE;
    group_t *grp = NULL;
    if (group_id.len <= 0)
        err = GROUP_ERR_INVALID_GROUP_ID;
    else if (group_loading(coord, group_id))
        err = GROUP_ERR_NONE; /* Kafka answers blindly while loading */
    else if (!(grp = group_find(coord, group_id)))
        err = GROUP_ERR_UNKNOWN_MEMBER_ID;
    else if ((err = grp_validate_member(grp, member_id, group_instance_id)) != 0)
        ;
    else if (generation_id != grp->generation)
        err = GROUP_ERR_ILLEGAL_GENERATION;
    else if (grp->state == GROUP_EMPTY)
        err = GROUP_ERR_UNKNOWN_MEMBER_ID;
    else {
        member_t *m = grp_member(grp, member_id);
        grp_arm_session(coord, m, m->session_timeout_ms);
        if (grp->state == GROUP_PREPARING_REBALANCE)
            err = GROUP_ERR_REBALANCE_IN_PROGRESS;
    }
    coord_leave(coord);
    return err;
}

int16_t group_leave(group_coordinator_t *coord, proto_str_t group_id, group_leave_member_t *members, int32_t count,
                    int64_t now_ms)
{
    coord_enter(coord, now_ms);
    int16_t top = GROUP_ERR_NONE;
    group_t *grp = NULL;
    if (group_id.len <= 0) {
        top = GROUP_ERR_INVALID_GROUP_ID;
    } else if (group_loading(coord, group_id)) {
        top = GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (!(grp = group_find(coord, group_id))) {
        for (int32_t i = 0; i < count; i++)
            members[i].error_code = GROUP_ERR_UNKNOWN_MEMBER_ID;
    } else {
        for (int32_t i = 0; i < count; i++) {
            group_leave_member_t *lm = &members[i];
            char reason[200];
            snprintf(reason, sizeof(reason), "LeaveGroup; client reason: %.*s",
                     lm->reason.len > 0 ? (lm->reason.len > 120 ? 120 : lm->reason.len) : 12,
                     lm->reason.len > 0 ? (const char *)lm->reason.ptr : "not provided");
            pending_t *p;
            if (lm->member_id.len <= 0) {
                member_t *sm = static_member(grp, lm->group_instance_id);
                if (sm) {
                    remove_member_and_update(coord, grp, sm, reason);
                    lm->error_code = GROUP_ERR_NONE;
                } else {
                    lm->error_code = GROUP_ERR_UNKNOWN_MEMBER_ID;
                }
            } else if ((p = pending_find(grp, lm->member_id)) != NULL) {
                remove_pending_and_update(coord, grp, p);
                lm->error_code = GROUP_ERR_NONE;
            } else {
                lm->error_code = grp_validate_member(grp, lm->member_id, lm->group_instance_id);
                if (lm->error_code == GROUP_ERR_NONE)
                    remove_member_and_update(coord, grp, grp_member(grp, lm->member_id), reason);
            }
        }
    }
    coord_leave(coord);
    return top;
}

/* ---- timers ---- */

static void on_sync_expired(group_coordinator_t *coord, group_t *grp)
{
    if (grp->sync_generation != grp->generation ||
        (grp->state != GROUP_COMPLETING_REBALANCE && grp->state != GROUP_STABLE) || grp->npending_sync == 0)
        return;
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &grp->members) {
        member_t *m = list_entry(pos, member_t, node);
        if (m->pending_sync) {
            LOG_INFO("group", "group %s: removing member %s, which did not SyncGroup in time", gstr_c(grp->id),
                     gstr_c(m->id));
            member_remove(coord, grp, m);
        }
    }
    prepare_rebalance(coord, grp, "members did not sync in time");
}

static void on_join_expired(group_coordinator_t *coord, group_t *grp)
{
    if (grp->join_initial && grp->new_member_added && grp->initial_remaining_ms != 0) {
        /* Members keep arriving: wait again, within the rebalance timeout. */
        grp->new_member_added = false;
        int32_t cfg = coord->cfg.initial_rebalance_delay_ms;
        int32_t delay = cfg < grp->initial_remaining_ms ? cfg : grp->initial_remaining_ms;
        int32_t remaining = grp->initial_remaining_ms - grp->initial_delay_ms;
        grp->initial_remaining_ms = remaining > 0 ? remaining : 0;
        grp->initial_delay_ms = delay;
        gheap_arm(&coord->heap, &grp->join_timer, coord->now + delay);
        return;
    }
    if (grp->state == GROUP_PREPARING_REBALANCE)
        complete_join(coord, grp);
}

static void on_timer(group_coordinator_t *coord, gtimer_t *t)
{
    switch (t->kind) {
    case GTIMER_SESSION: {
        member_t *m = t->owner;
        if (m->is_new)
            remove_member_and_update(coord, m->grp, m, "new member did not complete its join in time");
        else if (!m->awaiting_join && !m->sync_waiter)
            remove_member_and_update(coord, m->grp, m, "session timeout");
        /* else it waits on the group: the session restarts when the group answers it. */
        break;
    }
    case GTIMER_PENDING: {
        pending_t *p = t->owner;
        LOG_INFO("group", "group %s: pending member %s did not rejoin in time", gstr_c(p->grp->id), gstr_c(p->id));
        remove_pending_and_update(coord, p->grp, p);
        break;
    }
    case GTIMER_JOIN:
        on_join_expired(coord, t->owner);
        break;
    case GTIMER_SYNC:
        on_sync_expired(coord, t->owner);
        break;
    case GTIMER_RETENTION:
        off_expire_all(coord);
        if (coord->cfg.offsets_retention_check_interval_ms > 0)
            gheap_arm(&coord->heap, &coord->retention, coord->now + coord->cfg.offsets_retention_check_interval_ms);
        break;
    }
}

int64_t group_coordinator_next_deadline(const group_coordinator_t *coord)
{
    const gtimer_t *t = gheap_top(&coord->heap);
    return t ? t->deadline : INT64_MAX;
}

void group_coordinator_tick(group_coordinator_t *coord, int64_t now_ms)
{
    coord_enter(coord, now_ms);
    gtimer_t *t;
    while ((t = gheap_top(&coord->heap)) != NULL && t->deadline <= now_ms) {
        gheap_disarm(&coord->heap, t);
        on_timer(coord, t);
    }
    coord_leave(coord);
}

/* ---- admin ---- */

int16_t group_describe(group_coordinator_t *coord, proto_str_t group_id, arena_t *arena, group_description_t *desc,
                       int64_t now_ms)
{
    coord_enter(coord, now_ms);
    bool oom = false;
    memset(desc, 0, sizeof(*desc));
    desc->state = proto_str_c("");
    desc->protocol_type = proto_str_c("");
    desc->protocol_name = proto_str_c("");
    group_t *grp = NULL;
    if (group_id.len < 0) {
        desc->error_code = GROUP_ERR_INVALID_GROUP_ID;
    } else if (group_loading(coord, group_id)) {
        desc->error_code = GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (!(grp = group_find(coord, group_id))) {
        desc->state = proto_str_c("Dead");
    } else {
        bool stable = grp->state == GROUP_STABLE;
        desc->state = proto_str_c(group_state_name(grp->state));
        if (grp->protocol_type.p)
            desc->protocol_type = a_dup(arena, gstr_view(grp->protocol_type), &oom);
        if (stable && grp->protocol_name.p)
            desc->protocol_name = a_dup(arena, gstr_view(grp->protocol_name), &oom);
        if (grp->nmembers > 0) {
            desc->members = arena_alloc(arena, sizeof(*desc->members) * (size_t)grp->nmembers);
            if (!desc->members)
                oom = true;
        }
        list_t *pos;
        int32_t i = 0;
        for (pos = grp->members.next; desc->members && pos != &grp->members; pos = pos->next, i++) {
            const member_t *m = list_entry(pos, member_t, node);
            group_describe_member_t *dm = &desc->members[i];
            dm->member_id = a_dup(arena, gstr_view(m->id), &oom);
            dm->group_instance_id = a_dup(arena, gstr_view(m->instance_id), &oom);
            dm->client_id = a_dup(arena, gstr_view(m->client_id), &oom);
            dm->client_host = a_dup(arena, gstr_view(m->client_host), &oom);
            dm->metadata = proto_str_c("");
            dm->assignment = proto_str_c("");
            if (stable) {
                dm->metadata = a_dup(arena, grp_member_meta(m, gstr_view(grp->protocol_name)), &oom);
                proto_bytes_t a = {m->assignment ? m->assignment : (const uint8_t *)"", m->assignment_len};
                dm->assignment = a_dup(arena, a, &oom);
            }
        }
        desc->members_count = desc->members ? i : 0;
        if (oom) {
            memset(desc, 0, sizeof(*desc));
            desc->state = proto_str_c("");
            desc->protocol_type = proto_str_c("");
            desc->protocol_name = proto_str_c("");
            desc->error_code = GROUP_ERR_UNKNOWN_SERVER_ERROR;
        }
    }
    coord_leave(coord);
    return desc->error_code;
}

static bool ieq(proto_str_t a, const char *b)
{
    size_t n = strlen(b);
    if (a.len < 0 || (size_t)a.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = (char)a.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        char d = b[i];
        if (d >= 'A' && d <= 'Z')
            d = (char)(d - 'A' + 'a');
        if (c != d)
            return false;
    }
    return true;
}

int16_t group_list(group_coordinator_t *coord, const proto_str_t *states, int32_t states_count,
                   const proto_str_t *types, int32_t types_count, arena_t *arena, group_overview_t **groups,
                   int32_t *count, int64_t now_ms)
{
    coord_enter(coord, now_ms);
    *groups = NULL;
    *count = 0;
    int16_t err = coord->nloading > 0 ? GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS : GROUP_ERR_NONE;
    bool classic = types_count <= 0;
    for (int32_t i = 0; i < types_count; i++)
        if (ieq(types[i], "classic"))
            classic = true;
    size_t n = coord->groups.count;
    if (classic && n > 0) {
        group_overview_t *out = arena_alloc(arena, sizeof(*out) * n);
        if (!out) {
            err = GROUP_ERR_UNKNOWN_SERVER_ERROR;
        } else {
            bool oom = false;
            size_t pos = 0;
            int32_t k = 0;
            group_t *grp;
            while ((grp = map_next(&coord->groups, &pos)) != NULL) {
                if (grp_partition_loading(coord, grp->partition))
                    continue;
                bool match = states_count <= 0;
                for (int32_t i = 0; i < states_count && !match; i++)
                    match = ieq(states[i], group_state_name(grp->state));
                if (!match)
                    continue;
                out[k].group_id = a_dup(arena, gstr_view(grp->id), &oom);
                out[k].protocol_type = grp->protocol_type.p ? a_dup(arena, gstr_view(grp->protocol_type), &oom)
                                                            : proto_str_c("");
                out[k].state = proto_str_c(group_state_name(grp->state));
                out[k].group_type = proto_str_c("classic");
                k++;
            }
            if (oom) {
                err = GROUP_ERR_UNKNOWN_SERVER_ERROR;
            } else {
                *groups = out;
                *count = k;
            }
        }
    }
    coord_leave(coord);
    return err;
}

/* ---- introspection ---- */

group_state_t group_state_of(const group_coordinator_t *coord, proto_str_t group_id)
{
    const group_t *grp = group_find(coord, group_id);
    return grp ? grp->state : GROUP_DEAD;
}

int32_t group_generation_of(const group_coordinator_t *coord, proto_str_t group_id)
{
    const group_t *grp = group_find(coord, group_id);
    return grp ? grp->generation : -1;
}

int32_t group_members_count(const group_coordinator_t *coord, proto_str_t group_id)
{
    const group_t *grp = group_find(coord, group_id);
    return grp ? grp->nmembers : 0;
}

int32_t group_count(const group_coordinator_t *coord)
{
    return (int32_t)coord->groups.count;
}

/* ---- loading ---- */

void group_coordinator_load_begin(group_coordinator_t *coord, int32_t partition, int64_t now_ms)
{
    if (partition < 0 || partition >= coord->cfg.offsets_topic_num_partitions)
        return;
    coord_enter(coord, now_ms);
    size_t pos = 0;
    group_t *grp;
    while ((grp = map_next(&coord->groups, &pos)) != NULL)
        if (grp->partition == partition)
            group_destroy(coord, grp, GROUP_ERR_NOT_COORDINATOR);
    if (!coord->loading[partition]) {
        coord->loading[partition] = 1;
        coord->nloading++;
    }
    coord_leave(coord);
}

void group_coordinator_load_end(group_coordinator_t *coord, int32_t partition, int64_t now_ms)
{
    if (partition < 0 || partition >= coord->cfg.offsets_topic_num_partitions)
        return;
    coord_enter(coord, now_ms);
    if (coord->loading[partition]) {
        coord->loading[partition] = 0;
        coord->nloading--;
    }
    coord_leave(coord);
}
