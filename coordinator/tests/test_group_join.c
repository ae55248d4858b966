#include <stdio.h>

#include "group_test_util.h"

static int setup(void **state)
{
    tu_env_t *e = calloc(1, sizeof(*e));
    tu_env_init(e);
    tu_env_start(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    tu_env_t *e = *state;
    tu_env_fini(e);
    free(e);
    return 0;
}

/* Two dynamic members joined and synced: a Stable group at generation 1. */
static void make_stable_pair(tu_env_t *e, tu_waiter_t *a, tu_waiter_t *b, char *ida, char *idb)
{
    assert_int_equal(tu_join(e, a, "g", NULL), GROUP_PARKED);
    assert_int_equal(tu_join(e, b, "g", NULL), GROUP_PARKED);
    tu_advance(e, 0);
    assert_true(a->done && b->done);
    strcpy(ida, a->member_id);
    strcpy(idb, b->member_id);
    assert_string_equal(a->leader, ida);
    group_assignment_t asg[2] = {{S(ida), {(const uint8_t *)"A", 1}}, {S(idb), {(const uint8_t *)"B", 1}}};
    assert_int_equal(tu_sync(e, b, "g", 1, idb, NULL, NULL, 0), GROUP_PARKED);
    assert_int_equal(tu_sync(e, a, "g", 1, ida, NULL, asg, 2), GROUP_DONE);
    assert_int_equal(b->calls, 1);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);
}

static void first_join_walks_empty_preparing_completing_stable(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w;
    tu_waiter_init(&w);
    assert_int_equal(tu_join(e, &w, "g", NULL), GROUP_PARKED);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    assert_false(w.done);
    assert_int_equal(group_coordinator_next_deadline(e->coord), e->now);
    tu_advance(e, 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.join.error_code, GROUP_ERR_NONE);
    assert_int_equal(w.join.generation_id, 1);
    assert_string_equal(w.leader, w.member_id);
    assert_string_equal(w.protocol, "range");
    assert_true(tu_eq(w.join.protocol_type, "consumer"));
    assert_int_equal(w.join.members_count, 1);
    assert_true(strncmp(w.member_id, "client-", 7) == 0);
    assert_int_equal(strlen(w.member_id), 7 + 36);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_COMPLETING_REBALANCE);

    char id[256];
    strcpy(id, w.member_id);
    group_assignment_t asg = {S(id), {(const uint8_t *)"xyz", 3}};
    int appends = e->appends;
    assert_int_equal(tu_sync(e, &w, "g", 1, id, NULL, &asg, 1), GROUP_DONE);
    assert_int_equal(w.sync.error_code, 0);
    assert_int_equal(w.sync.assignment.len, 3);
    assert_memory_equal(w.sync.assignment.ptr, "xyz", 3);
    assert_true(tu_eq(w.sync.protocol_name, "range"));
    assert_int_equal(e->appends, appends + 1); /* the group metadata record */
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);
    /* Stable: a SyncGroup is answered with the stored assignment. */
    assert_int_equal(tu_sync(e, &w, "g", 1, id, NULL, NULL, 0), GROUP_DONE);
    assert_int_equal(w.sync.assignment.len, 3);
    tu_waiter_fini(&w);
}

static void join_v4_requires_member_id_then_accepts_it(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w;
    tu_waiter_init(&w);
    tu_join_t j = {.group = "g", .version = 4};
    assert_int_equal(tu_join_call(e, &w, &j), GROUP_DONE);
    assert_int_equal(w.join.error_code, GROUP_ERR_MEMBER_ID_REQUIRED);
    assert_true(strncmp(w.member_id, "client-", 7) == 0);
    assert_int_equal(group_members_count(e->coord, S("g")), 0);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_EMPTY);
    char id[256];
    strcpy(id, w.member_id);
    j.member = id;
    assert_int_equal(tu_join_call(e, &w, &j), GROUP_PARKED);
    tu_advance(e, 0);
    assert_int_equal(w.join.error_code, 0);
    assert_string_equal(w.member_id, id);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_COMPLETING_REBALANCE);
    tu_waiter_fini(&w);
}

static void pending_member_id_expires_after_session_timeout(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w;
    tu_waiter_init(&w);
    tu_join_t j = {.group = "g", .version = 5, .session = 6000};
    assert_int_equal(tu_join_call(e, &w, &j), GROUP_DONE);
    assert_int_equal(w.join.error_code, GROUP_ERR_MEMBER_ID_REQUIRED);
    char id[256];
    strcpy(id, w.member_id);
    tu_advance(e, 6000);
    j.member = id;
    assert_int_equal(tu_join_call(e, &w, &j), GROUP_DONE);
    assert_int_equal(w.join.error_code, GROUP_ERR_UNKNOWN_MEMBER_ID);
    tu_waiter_fini(&w);
}

/*
 * librdkafka re-subscribing before its MEMBER_ID_REQUIRED answer arrives drops
 * that member id and joins afresh. The forgotten id stays pending, and, as in
 * Kafka (hasAllMembersJoined counts pending members), the rebalance waits for
 * it to expire after the session timeout, then completes without it.
 */
static void abandoned_pending_member_id_holds_the_rebalance_until_it_expires(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    tu_join_t ja = {.group = "g", .version = 5, .session = 6000, .client_id = "A"};
    assert_int_equal(tu_join_call(e, &a, &ja), GROUP_DONE);
    char ida[256];
    strcpy(ida, a.member_id);
    ja.member = ida;
    assert_int_equal(tu_join_call(e, &a, &ja), GROUP_PARKED);
    tu_advance(e, 0);
    assert_int_equal(a.join.generation_id, 1);
    group_assignment_t asg = {S(ida), {(const uint8_t *)"A", 1}};
    assert_int_equal(tu_sync(e, &a, "g", 1, ida, NULL, &asg, 1), GROUP_DONE);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);

    /* B's first id is handed out and never used; its second one joins. */
    tu_join_t jb = {.group = "g", .version = 5, .session = 6000, .client_id = "B"};
    assert_int_equal(tu_join_call(e, &b, &jb), GROUP_DONE);
    assert_int_equal(b.join.error_code, GROUP_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(tu_join_call(e, &b, &jb), GROUP_DONE);
    assert_int_equal(b.join.error_code, GROUP_ERR_MEMBER_ID_REQUIRED);
    char idb[256];
    strcpy(idb, b.member_id);
    jb.member = idb;
    assert_int_equal(tu_join_call(e, &b, &jb), GROUP_PARKED);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    assert_int_equal(tu_heartbeat(e, "g", 1, ida), GROUP_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(tu_join_call(e, &a, &ja), GROUP_PARKED); /* every member is in, one id is pending */
    tu_advance(e, 5999);
    assert_false(a.done || b.done);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    tu_advance(e, 1);
    assert_true(a.done && b.done);
    assert_int_equal(a.join.error_code, GROUP_ERR_NONE);
    assert_int_equal(a.join.generation_id, 2);
    assert_int_equal(a.join.members_count, 2);
    assert_int_equal(b.join.generation_id, 2);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_COMPLETING_REBALANCE);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void join_rejects_bad_session_timeout_group_id_and_unknown_member(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w;
    tu_waiter_init(&w);
    tu_join_t j = {.group = "g", .session = 5999};
    assert_int_equal(tu_join_call(e, &w, &j), GROUP_DONE);
    assert_int_equal(w.join.error_code, GROUP_ERR_INVALID_SESSION_TIMEOUT);
    j.session = 1800001;
    assert_int_equal(tu_join_call(e, &w, &j), GROUP_DONE);
    assert_int_equal(w.join.error_code, GROUP_ERR_INVALID_SESSION_TIMEOUT);
    j.session = 0;
    j.group = "";
    assert_int_equal(tu_join_call(e, &w, &j), GROUP_DONE);
    assert_int_equal(w.join.error_code, GROUP_ERR_INVALID_GROUP_ID);
    j.group = "nope";
    j.member = "someone";
    assert_int_equal(tu_join_call(e, &w, &j), GROUP_DONE);
    assert_int_equal(w.join.error_code, GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(w.join.generation_id, -1);
    assert_int_equal(group_count(e->coord), 0);
    tu_waiter_fini(&w);
}

static void join_with_other_protocol_type_or_no_common_protocol_is_inconsistent(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    assert_int_equal(tu_join(e, &a, "g", NULL), GROUP_PARKED);
    tu_join_t j = {.group = "g", .type = "connect", .protocols = {"range"}};
    assert_int_equal(tu_join_call(e, &b, &j), GROUP_DONE);
    assert_int_equal(b.join.error_code, GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    tu_join_t k = {.group = "g", .type = "consumer", .protocols = {"roundrobin"}};
    assert_int_equal(tu_join_call(e, &b, &k), GROUP_DONE);
    assert_int_equal(b.join.error_code, GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    /* An empty protocol type or list cannot start a group either. */
    tu_join_t l = {.group = "h", .type = "", .protocols = {"range"}};
    assert_int_equal(tu_join_call(e, &b, &l), GROUP_DONE);
    assert_int_equal(b.join.error_code, GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(group_state_of(e->coord, S("h")), GROUP_DEAD);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void protocol_is_chosen_by_vote_among_common_protocols(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w[3];
    tu_join_t j[3] = {
        {.group = "g", .type = "consumer", .protocols = {"range", "cooperative-sticky"}},
        {.group = "g", .type = "consumer", .protocols = {"cooperative-sticky", "range"}},
        {.group = "g", .type = "consumer", .protocols = {"cooperative-sticky", "range", "roundrobin"}},
    };
    for (int i = 0; i < 3; i++) {
        tu_waiter_init(&w[i]);
        assert_int_equal(tu_join_call(e, &w[i], &j[i]), GROUP_PARKED);
    }
    tu_advance(e, 0);
    for (int i = 0; i < 3; i++)
        assert_string_equal(w[i].protocol, "cooperative-sticky");

    /* A member that only knows one protocol narrows the candidates to it. */
    tu_join_t k[3] = {
        {.group = "h", .type = "consumer", .protocols = {"range", "cooperative-sticky"}},
        {.group = "h", .type = "consumer", .protocols = {"range", "cooperative-sticky"}},
        {.group = "h", .type = "consumer", .protocols = {"cooperative-sticky"}},
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(tu_join_call(e, &w[i], &k[i]), GROUP_PARKED);
    tu_advance(e, 0);
    for (int i = 0; i < 3; i++)
        assert_string_equal(w[i].protocol, "cooperative-sticky");

    /* Two votes for range beat one for cooperative-sticky (Java's default list). */
    tu_join_t m[3] = {
        {.group = "i", .type = "consumer", .protocols = {"range", "cooperative-sticky"}},
        {.group = "i", .type = "consumer", .protocols = {"range", "cooperative-sticky"}},
        {.group = "i", .type = "consumer", .protocols = {"cooperative-sticky", "range"}},
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(tu_join_call(e, &w[i], &m[i]), GROUP_PARKED);
    tu_advance(e, 0);
    for (int i = 0; i < 3; i++)
        assert_string_equal(w[i].protocol, "range");
    for (int i = 0; i < 3; i++)
        tu_waiter_fini(&w[i]);
}

static void rebalance_completes_as_soon_as_every_member_rejoined(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    char ida[256], idb[256];
    make_stable_pair(e, &a, &b, ida, idb);
    /* The leader rejoining forces a rebalance. */
    assert_int_equal(tu_join(e, &a, "g", ida), GROUP_PARKED);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    assert_int_equal(tu_heartbeat(e, "g", 1, idb), GROUP_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(tu_join(e, &b, "g", idb), GROUP_DONE);
    assert_int_equal(b.join.generation_id, 2);
    assert_int_equal(b.join.members_count, 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.join.generation_id, 2);
    assert_int_equal(a.join.members_count, 2);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_COMPLETING_REBALANCE);
    assert_int_equal(tu_heartbeat(e, "g", 2, idb), GROUP_ERR_NONE);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void follower_with_same_metadata_gets_current_generation_without_rebalance(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    char ida[256], idb[256];
    make_stable_pair(e, &a, &b, ida, idb);
    assert_int_equal(tu_join(e, &b, "g", idb), GROUP_DONE);
    assert_int_equal(b.join.error_code, 0);
    assert_int_equal(b.join.generation_id, 1);
    assert_string_equal(b.leader, ida);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);
    /* With changed metadata it rebalances. */
    tu_join_t j = {.group = "g", .member = idb, .type = "consumer", .protocols = {"range"},
                   .metas = {{(const uint8_t *)"other", 5}}};
    assert_int_equal(tu_join_call(e, &b, &j), GROUP_PARKED);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void rebalance_timeout_removes_members_that_did_not_rejoin(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    tu_join_t ja = {.group = "g", .session = 60000, .rebalance = 20000};
    tu_join_t jb = ja;
    assert_int_equal(tu_join_call(e, &a, &ja), GROUP_PARKED);
    assert_int_equal(tu_join_call(e, &b, &jb), GROUP_PARKED);
    tu_advance(e, 0);
    char ida[256], idb[256];
    strcpy(ida, a.member_id);
    strcpy(idb, b.member_id);
    assert_int_equal(tu_sync(e, &b, "g", 1, idb, NULL, NULL, 0), GROUP_PARKED);
    assert_int_equal(tu_sync(e, &a, "g", 1, ida, NULL, NULL, 0), GROUP_DONE);
    ja.member = ida;
    assert_int_equal(tu_join_call(e, &a, &ja), GROUP_PARKED);
    tu_advance(e, 19999);
    assert_false(a.done);
    tu_advance(e, 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.join.generation_id, 2);
    assert_int_equal(a.join.members_count, 1);
    assert_int_equal(group_members_count(e->coord, S("g")), 1);
    assert_int_equal(tu_heartbeat(e, "g", 2, idb), GROUP_ERR_UNKNOWN_MEMBER_ID);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void member_that_never_syncs_is_removed_after_rebalance_timeout(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    tu_join_t j = {.group = "g", .session = 60000, .rebalance = 20000};
    assert_int_equal(tu_join_call(e, &a, &j), GROUP_PARKED);
    assert_int_equal(tu_join_call(e, &b, &j), GROUP_PARKED);
    tu_advance(e, 0);
    char ida[256];
    strcpy(ida, a.member_id);
    assert_int_equal(tu_sync(e, &a, "g", 1, ida, NULL, NULL, 0), GROUP_DONE);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);
    tu_advance(e, 19999);
    assert_int_equal(group_members_count(e->coord, S("g")), 2);
    tu_advance(e, 1);
    assert_int_equal(group_members_count(e->coord, S("g")), 1);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    assert_int_equal(tu_heartbeat(e, "g", 1, ida), GROUP_ERR_REBALANCE_IN_PROGRESS);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void silent_member_without_sync_is_removed_by_session_timeout(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    tu_join_t j = {.group = "g", .session = 6000, .rebalance = 60000};
    assert_int_equal(tu_join_call(e, &a, &j), GROUP_PARKED);
    assert_int_equal(tu_join_call(e, &b, &j), GROUP_PARKED);
    tu_advance(e, 0);
    char ida[256];
    strcpy(ida, a.member_id);
    assert_int_equal(tu_sync(e, &a, "g", 1, ida, NULL, NULL, 0), GROUP_DONE);
    tu_advance(e, 3000);
    assert_int_equal(tu_heartbeat(e, "g", 1, ida), 0);
    tu_advance(e, 3000);
    assert_int_equal(group_members_count(e->coord, S("g")), 1);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void session_expiry_removes_member_and_rebalances(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    char ida[256], idb[256];
    make_stable_pair(e, &a, &b, ida, idb);
    for (int i = 0; i < 2; i++) {
        tu_advance(e, 4000);
        assert_int_equal(tu_heartbeat(e, "g", 1, ida), 0);
    }
    assert_int_equal(group_members_count(e->coord, S("g")), 2);
    tu_advance(e, 2000);
    /* b never heartbeats: gone 10 s after its sync answer. */
    assert_int_equal(group_members_count(e->coord, S("g")), 1);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    assert_int_equal(tu_heartbeat(e, "g", 1, ida), GROUP_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(tu_join(e, &a, "g", ida), GROUP_DONE);
    assert_int_equal(a.join.generation_id, 2);
    assert_int_equal(a.join.members_count, 1);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void heartbeat_and_sync_errors(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    assert_int_equal(tu_heartbeat(e, "nope", 1, "x"), GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(tu_heartbeat(e, "", 1, "x"), GROUP_ERR_INVALID_GROUP_ID);
    assert_int_equal(tu_sync(e, &a, "nope", 1, "x", NULL, NULL, 0), GROUP_DONE);
    assert_int_equal(a.sync.error_code, GROUP_ERR_UNKNOWN_MEMBER_ID);

    assert_int_equal(tu_join(e, &a, "g", NULL), GROUP_PARKED);
    tu_advance(e, 0);
    char ida[256];
    strcpy(ida, a.member_id);
    /* CompletingRebalance: heartbeats are fine. */
    assert_int_equal(tu_heartbeat(e, "g", 1, ida), GROUP_ERR_NONE);
    assert_int_equal(tu_heartbeat(e, "g", 2, ida), GROUP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(tu_heartbeat(e, "g", 1, "other"), GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(tu_sync(e, &b, "g", 0, ida, NULL, NULL, 0), GROUP_DONE);
    assert_int_equal(b.sync.error_code, GROUP_ERR_ILLEGAL_GENERATION);
    group_sync_args_t sa = {S("g"), 1, S(ida), S(NULL), S("connect"), S(NULL), NULL, 0};
    tu_waiter_reset(&b);
    assert_int_equal(group_sync(e->coord, &sa, e->now, &b.w), GROUP_DONE);
    assert_int_equal(b.w.sync.error_code, GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    sa.protocol_type = S("consumer");
    sa.protocol_name = S("roundrobin");
    tu_waiter_reset(&b);
    assert_int_equal(group_sync(e->coord, &sa, e->now, &b.w), GROUP_DONE);
    assert_int_equal(b.w.sync.error_code, GROUP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    /* A second member arrives: PreparingRebalance answers SyncGroup with REBALANCE_IN_PROGRESS. */
    assert_int_equal(tu_join(e, &b, "g", NULL), GROUP_PARKED);
    tu_waiter_t c;
    tu_waiter_init(&c);
    assert_int_equal(tu_sync(e, &c, "g", 1, ida, NULL, NULL, 0), GROUP_DONE);
    assert_int_equal(c.sync.error_code, GROUP_ERR_REBALANCE_IN_PROGRESS);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
    tu_waiter_fini(&c);
}

static void parked_sync_gets_rebalance_in_progress_when_a_member_joins(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b, c;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    tu_waiter_init(&c);
    assert_int_equal(tu_join(e, &a, "g", NULL), GROUP_PARKED);
    assert_int_equal(tu_join(e, &b, "g", NULL), GROUP_PARKED);
    tu_advance(e, 0);
    char idb[256];
    strcpy(idb, b.member_id);
    assert_int_equal(tu_sync(e, &b, "g", 1, idb, NULL, NULL, 0), GROUP_PARKED);
    assert_int_equal(tu_join(e, &c, "g", NULL), GROUP_PARKED);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.sync.error_code, GROUP_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
    tu_waiter_fini(&c);
}

static void leader_assignment_reaches_parked_followers_and_missing_members_get_empty(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w[3];
    char id[3][256];
    for (int i = 0; i < 3; i++) {
        tu_waiter_init(&w[i]);
        assert_int_equal(tu_join(e, &w[i], "g", NULL), GROUP_PARKED);
    }
    tu_advance(e, 0);
    for (int i = 0; i < 3; i++)
        strcpy(id[i], w[i].member_id);
    assert_int_equal(tu_sync(e, &w[1], "g", 1, id[1], NULL, NULL, 0), GROUP_PARKED);
    assert_int_equal(tu_sync(e, &w[2], "g", 1, id[2], NULL, NULL, 0), GROUP_PARKED);
    group_assignment_t asg[2] = {{S(id[0]), {(const uint8_t *)"zero", 4}}, {S(id[1]), {(const uint8_t *)"one", 3}}};
    assert_int_equal(tu_sync(e, &w[0], "g", 1, id[0], NULL, asg, 2), GROUP_DONE);
    assert_int_equal(w[1].calls, 1);
    assert_int_equal(w[1].sync.assignment.len, 3);
    assert_memory_equal(w[1].sync.assignment.ptr, "one", 3);
    assert_int_equal(w[2].calls, 1);
    assert_int_equal(w[2].sync.error_code, 0);
    assert_int_equal(w[2].sync.assignment.len, 0);
    for (int i = 0; i < 3; i++)
        tu_waiter_fini(&w[i]);
}

static void failed_assignment_store_errors_everyone_and_rebalances(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    assert_int_equal(tu_join(e, &a, "g", NULL), GROUP_PARKED);
    assert_int_equal(tu_join(e, &b, "g", NULL), GROUP_PARKED);
    tu_advance(e, 0);
    char ida[256], idb[256];
    strcpy(ida, a.member_id);
    strcpy(idb, b.member_id);
    assert_int_equal(tu_sync(e, &b, "g", 1, idb, NULL, NULL, 0), GROUP_PARKED);
    e->fail_appends = 56; /* KAFKA_STORAGE_ERROR */
    assert_int_equal(tu_sync(e, &a, "g", 1, ida, NULL, NULL, 0), GROUP_DONE);
    e->fail_appends = 0;
    assert_int_equal(a.sync.error_code, GROUP_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(b.sync.error_code, GROUP_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void initial_delay_extends_while_members_arrive(void **state)
{
    tu_env_t *e = *state;
    tu_env_fini(e);
    tu_env_init(e);
    e->cfg.initial_rebalance_delay_ms = 3000;
    tu_env_start(e);
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    tu_join_t j = {.group = "g", .rebalance = 10000};
    assert_int_equal(tu_join_call(e, &a, &j), GROUP_PARKED);
    tu_advance(e, 2000);
    assert_int_equal(tu_join_call(e, &b, &j), GROUP_PARKED);
    tu_advance(e, 1000); /* 3 s: a member arrived, wait another delay */
    assert_false(a.done);
    tu_advance(e, 2999);
    assert_false(a.done);
    tu_advance(e, 1); /* 6 s: nobody new, complete */
    assert_true(a.done && b.done);
    assert_int_equal(a.join.members_count, 2);

    /* Members arriving all the time: capped by the rebalance timeout. */
    tu_waiter_t w[8];
    for (int i = 0; i < 8; i++)
        tu_waiter_init(&w[i]);
    int64_t start = e->now;
    tu_join_t k = {.group = "h", .rebalance = 10000};
    assert_int_equal(tu_join_call(e, &w[0], &k), GROUP_PARKED);
    int n = 1;
    while (!w[0].done && n < 8) {
        tu_advance(e, 1500);
        if (!w[0].done)
            tu_join_call(e, &w[n++], &k);
    }
    while (!w[0].done)
        tu_advance(e, 500);
    assert_true(e->now - start <= 10500); /* 10 s, seen at the next 1.5 s step */
    assert_true(e->now - start >= 9000);
    for (int i = 0; i < 8; i++)
        tu_waiter_fini(&w[i]);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

#define STORM 60

static void join_storm_completes_each_waiter_exactly_once_per_round(void **state)
{
    tu_env_t *e = *state;
    static tu_waiter_t w[STORM];
    static char id[STORM][256];
    for (int i = 0; i < STORM; i++) {
        tu_waiter_init(&w[i]);
        tu_join_t j = {.group = "storm", .version = 4};
        assert_int_equal(tu_join_call(e, &w[i], &j), GROUP_DONE);
        assert_int_equal(w[i].join.error_code, GROUP_ERR_MEMBER_ID_REQUIRED);
        strcpy(id[i], w[i].member_id);
    }
    for (int i = 0; i < STORM; i++) {
        tu_join_t j = {.group = "storm", .version = 4, .member = id[i]};
        assert_int_equal(tu_join_call(e, &w[i], &j), GROUP_PARKED);
    }
    tu_advance(e, 0);
    int leaders = 0;
    for (int i = 0; i < STORM; i++) {
        assert_int_equal(w[i].calls, 1);
        assert_int_equal(w[i].join.generation_id, 1);
        if (!strcmp(w[i].leader, id[i])) {
            leaders++;
            assert_int_equal(w[i].join.members_count, STORM);
        } else {
            assert_int_equal(w[i].join.members_count, 0);
        }
    }
    assert_int_equal(leaders, 1);
    int leader = -1;
    for (int i = 0; i < STORM; i++)
        if (!strcmp(w[i].leader, id[i]))
            leader = i;
    assert_true(leader >= 0);
    static group_assignment_t asg[STORM];
    for (int i = 0; i < STORM; i++)
        asg[i] = (group_assignment_t){S(id[i]), {(const uint8_t *)id[i], 4}};
    for (int round = 1; round <= 4; round++) {
        if (round > 1) {
            /* The leader rejoins first (forcing a rebalance), the others in a different order each round. */
            int parked = 0, done = 0;
            for (int k = 0; k < STORM; k++) {
                int i = k == 0 ? leader : (leader + 1 + (k * 7 + round) % (STORM - 1)) % STORM;
                if (k > 0 && i == leader)
                    continue;
                tu_join_t j = {.group = "storm", .version = 4, .member = id[i]};
                if (tu_join_call(e, &w[i], &j) == GROUP_DONE)
                    done++;
                else
                    parked++;
            }
            assert_int_equal(done, 1);
            assert_int_equal(parked, STORM - 1);
        }
        for (int i = 0; i < STORM; i++) {
            assert_true(w[i].done);
            assert_int_equal(w[i].join.error_code, 0);
            assert_int_equal(w[i].join.generation_id, round);
            assert_true(w[i].calls <= 1);
            assert_string_equal(w[i].leader, id[leader]);
        }
        assert_int_equal(group_members_count(e->coord, S("storm")), STORM);
        /* Everyone syncs, leader last. */
        for (int i = 0; i < STORM; i++)
            if (i != leader)
                assert_int_equal(tu_sync(e, &w[i], "storm", round, id[i], NULL, NULL, 0), GROUP_PARKED);
        assert_int_equal(tu_sync(e, &w[leader], "storm", round, id[leader], NULL, asg, STORM), GROUP_DONE);
        for (int i = 0; i < STORM; i++) {
            assert_int_equal(w[i].sync.error_code, 0);
            assert_int_equal(w[i].sync.assignment.len, 4);
            assert_memory_equal(w[i].sync.assignment.ptr, id[i], 4);
            assert_true(w[i].calls <= 1);
        }
        assert_int_equal(group_state_of(e->coord, S("storm")), GROUP_STABLE);
    }
    for (int i = 0; i < STORM; i++)
        tu_waiter_fini(&w[i]);
}

static void leave_single_and_batch(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w[3];
    char id[3][256];
    for (int i = 0; i < 3; i++) {
        tu_waiter_init(&w[i]);
        tu_join_t j = {.group = "g", .version = 5, .instance = i == 2 ? "static-2" : NULL};
        if (i < 2) {
            assert_int_equal(tu_join_call(e, &w[i], &j), GROUP_DONE); /* MEMBER_ID_REQUIRED */
            strcpy(id[i], w[i].member_id);
            j.member = id[i];
        }
        assert_int_equal(tu_join_call(e, &w[i], &j), GROUP_PARKED);
    }
    tu_advance(e, 0);
    for (int i = 0; i < 3; i++)
        strcpy(id[i], w[i].member_id);
    group_leave_member_t one = {S(id[1]), S(NULL), S("bye"), -2};
    assert_int_equal(group_leave(e->coord, S("g"), &one, 1, e->now), 0);
    assert_int_equal(one.error_code, 0);
    assert_int_equal(group_members_count(e->coord, S("g")), 2);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    /* Batch: one by member id, one by instance id only, one unknown. */
    group_leave_member_t batch[3] = {
        {S(id[0]), S(NULL), S(NULL), -2},
        {S(""), S("static-2"), S(NULL), -2},
        {S("ghost"), S(NULL), S(NULL), -2},
    };
    assert_int_equal(group_leave(e->coord, S("g"), batch, 3, e->now), 0);
    assert_int_equal(batch[0].error_code, 0);
    assert_int_equal(batch[1].error_code, 0);
    assert_int_equal(batch[2].error_code, GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(group_members_count(e->coord, S("g")), 0);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_EMPTY);
    group_leave_member_t none = {S("x"), S(NULL), S(NULL), -2};
    assert_int_equal(group_leave(e->coord, S("missing"), &none, 1, e->now), 0);
    assert_int_equal(none.error_code, GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(group_leave(e->coord, S(""), &none, 1, e->now), GROUP_ERR_INVALID_GROUP_ID);
    for (int i = 0; i < 3; i++)
        tu_waiter_fini(&w[i]);
}

static void leave_of_a_member_with_a_parked_join_answers_it(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    char ida[256], idb[256];
    make_stable_pair(e, &a, &b, ida, idb);
    assert_int_equal(tu_join(e, &a, "g", ida), GROUP_PARKED);
    group_leave_member_t lm = {S(ida), S(NULL), S(NULL), -2};
    assert_int_equal(group_leave(e->coord, S("g"), &lm, 1, e->now), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.join.error_code, GROUP_ERR_UNKNOWN_MEMBER_ID);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

/* Two static members (instance ids i0, i1), Stable at generation 1. */
static void make_static_pair(tu_env_t *e, tu_waiter_t *w, char id[2][256], int16_t version)
{
    const char *inst[2] = {"i0", "i1"};
    for (int i = 0; i < 2; i++) {
        tu_join_t j = {.group = "g", .instance = inst[i], .version = version};
        assert_int_equal(tu_join_call(e, &w[i], &j), GROUP_PARKED);
    }
    tu_advance(e, 0);
    for (int i = 0; i < 2; i++)
        strcpy(id[i], w[i].member_id);
    assert_true(strncmp(id[0], "i0-", 3) == 0);
    group_assignment_t asg[2] = {{S(id[0]), {(const uint8_t *)"A0", 2}}, {S(id[1]), {(const uint8_t *)"A1", 2}}};
    assert_int_equal(tu_sync(e, &w[1], "g", 1, id[1], "i1", NULL, 0), GROUP_PARKED);
    assert_int_equal(tu_sync(e, &w[0], "g", 1, id[0], "i0", asg, 2), GROUP_DONE);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);
}

static void static_member_restart_keeps_assignment_without_rebalance(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w[2], r;
    tu_waiter_init(&w[0]);
    tu_waiter_init(&w[1]);
    tu_waiter_init(&r);
    char id[2][256];
    make_static_pair(e, w, id, 5);
    /* i1 restarts: unknown member id, same instance and protocols. */
    tu_join_t j = {.group = "g", .instance = "i1", .version = 5};
    assert_int_equal(tu_join_call(e, &r, &j), GROUP_DONE);
    assert_int_equal(r.join.error_code, 0);
    assert_int_equal(r.join.generation_id, 1);
    assert_string_not_equal(r.member_id, id[1]);
    assert_string_equal(r.leader, id[0]);
    assert_int_equal(r.join.members_count, 0);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);
    char nid[256];
    strcpy(nid, r.member_id);
    assert_int_equal(tu_sync(e, &r, "g", 1, nid, "i1", NULL, 0), GROUP_DONE);
    assert_int_equal(r.sync.error_code, 0);
    assert_int_equal(r.sync.assignment.len, 2);
    assert_memory_equal(r.sync.assignment.ptr, "A1", 2);
    /* The old incarnation is fenced. */
    assert_int_equal(group_heartbeat(e->coord, S("g"), 1, S(id[1]), S("i1"), e->now), GROUP_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(group_heartbeat(e->coord, S("g"), 1, S(id[1]), S(NULL), e->now), GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(group_heartbeat(e->coord, S("g"), 1, S(nid), S("i1"), e->now), GROUP_ERR_NONE);
    assert_int_equal(tu_sync(e, &r, "g", 1, id[1], "i1", NULL, 0), GROUP_DONE);
    assert_int_equal(r.sync.error_code, GROUP_ERR_FENCED_INSTANCE_ID);
    group_commit_partition_t p = {S("t"), 0, 5, -1, S(NULL), 0};
    group_commit_args_t ca = {S("g"), 1, S(id[1]), S("i1"), -1, &p, 1};
    assert_int_equal(group_offset_commit(e->coord, &ca, e->now), GROUP_ERR_FENCED_INSTANCE_ID);
    group_leave_member_t lm = {S(id[1]), S("i1"), S(NULL), -2};
    assert_int_equal(group_leave(e->coord, S("g"), &lm, 1, e->now), 0);
    assert_int_equal(lm.error_code, GROUP_ERR_FENCED_INSTANCE_ID);
    tu_join_t old = {.group = "g", .instance = "i1", .member = id[1], .version = 5};
    assert_int_equal(tu_join_call(e, &r, &old), GROUP_DONE);
    assert_int_equal(r.join.error_code, GROUP_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(group_generation_of(e->coord, S("g")), 1);
    tu_waiter_fini(&w[0]);
    tu_waiter_fini(&w[1]);
    tu_waiter_fini(&r);
}

static void static_leader_restart_with_v9_skips_assignment(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w[2], r;
    tu_waiter_init(&w[0]);
    tu_waiter_init(&w[1]);
    tu_waiter_init(&r);
    char id[2][256];
    make_static_pair(e, w, id, 9);
    tu_join_t j = {.group = "g", .instance = "i0", .version = 9};
    assert_int_equal(tu_join_call(e, &r, &j), GROUP_DONE);
    assert_int_equal(r.join.error_code, 0);
    assert_true(r.join.skip_assignment);
    assert_string_equal(r.leader, r.member_id);
    assert_int_equal(r.join.members_count, 2);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);
    /* Before v9 the old leader id is returned, so the restarted leader does not assign. */
    tu_join_t k = {.group = "g", .instance = "i0", .version = 5};
    char prev[256];
    strcpy(prev, r.member_id);
    assert_int_equal(tu_join_call(e, &r, &k), GROUP_DONE);
    assert_false(r.join.skip_assignment);
    assert_string_equal(r.leader, prev);
    assert_string_not_equal(r.member_id, prev);
    tu_waiter_fini(&w[0]);
    tu_waiter_fini(&w[1]);
    tu_waiter_fini(&r);
}

static void static_member_with_new_protocols_rebalances_only_if_the_choice_changes(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w[2], r;
    tu_waiter_init(&w[0]);
    tu_waiter_init(&w[1]);
    tu_waiter_init(&r);
    tu_join_t j0 = {.group = "g", .instance = "i0", .version = 5, .type = "consumer",
                    .protocols = {"cooperative-sticky", "range"}};
    tu_join_t j1 = {.group = "g", .instance = "i1", .version = 5, .type = "consumer",
                    .protocols = {"range", "cooperative-sticky"}};
    assert_int_equal(tu_join_call(e, &w[0], &j0), GROUP_PARKED);
    assert_int_equal(tu_join_call(e, &w[1], &j1), GROUP_PARKED);
    tu_advance(e, 0);
    /* One vote each: the tie goes to the first member's preference. */
    assert_string_equal(w[0].protocol, "cooperative-sticky");
    char id0[256], id1[256];
    strcpy(id0, w[0].member_id);
    strcpy(id1, w[1].member_id);
    assert_int_equal(tu_sync(e, &w[1], "g", 1, id1, "i1", NULL, 0), GROUP_PARKED);
    assert_int_equal(tu_sync(e, &w[0], "g", 1, id0, "i0", NULL, 0), GROUP_DONE);
    /* New metadata, same choice: replaced in place. */
    tu_join_t k = j1;
    k.metas[0] = (proto_bytes_t){(const uint8_t *)"new", 3};
    assert_int_equal(tu_join_call(e, &r, &k), GROUP_DONE);
    assert_int_equal(r.join.error_code, 0);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);
    /* Only range left for i1: the group's protocol must change, so it rebalances. */
    k.protocols[1] = NULL;
    assert_int_equal(tu_join_call(e, &r, &k), GROUP_PARKED);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    tu_waiter_fini(&w[0]);
    tu_waiter_fini(&w[1]);
    tu_waiter_fini(&r);
}

static void static_member_replaced_while_parked_is_fenced(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    tu_join_t j = {.group = "g", .instance = "i", .version = 5, .rebalance = 20000};
    assert_int_equal(tu_join_call(e, &a, &j), GROUP_PARKED);
    /* A second process with the same instance id: it takes over, the first is fenced. */
    assert_int_equal(tu_join_call(e, &b, &j), GROUP_PARKED);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.join.error_code, GROUP_ERR_FENCED_INSTANCE_ID);
    tu_advance(e, 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.join.error_code, 0);
    assert_int_equal(group_members_count(e->coord, S("g")), 1);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void static_member_is_kept_when_it_misses_a_rejoin(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w[2];
    tu_waiter_init(&w[0]);
    tu_waiter_init(&w[1]);
    char id[2][256];
    tu_join_t j0 = {.group = "g", .instance = "i0", .version = 5, .session = 60000, .rebalance = 20000};
    tu_join_t j1 = {.group = "g", .instance = "i1", .version = 5, .session = 60000, .rebalance = 20000};
    assert_int_equal(tu_join_call(e, &w[0], &j0), GROUP_PARKED);
    assert_int_equal(tu_join_call(e, &w[1], &j1), GROUP_PARKED);
    tu_advance(e, 0);
    strcpy(id[0], w[0].member_id);
    strcpy(id[1], w[1].member_id);
    assert_int_equal(tu_sync(e, &w[1], "g", 1, id[1], "i1", NULL, 0), GROUP_PARKED);
    assert_int_equal(tu_sync(e, &w[0], "g", 1, id[0], "i0", NULL, 0), GROUP_DONE);
    j0.member = id[0];
    assert_int_equal(tu_join_call(e, &w[0], &j0), GROUP_PARKED);
    tu_advance(e, 20000);
    assert_int_equal(w[0].join.generation_id, 2);
    assert_int_equal(group_members_count(e->coord, S("g")), 2);
    tu_waiter_fini(&w[0]);
    tu_waiter_fini(&w[1]);
}

static void group_max_size_is_enforced(void **state)
{
    tu_env_t *e = *state;
    tu_env_fini(e);
    tu_env_init(e);
    e->cfg.max_size = 2;
    tu_env_start(e);
    tu_waiter_t w[3];
    for (int i = 0; i < 3; i++)
        tu_waiter_init(&w[i]);
    assert_int_equal(tu_join(e, &w[0], "g", NULL), GROUP_PARKED);
    assert_int_equal(tu_join(e, &w[1], "g", NULL), GROUP_PARKED);
    assert_int_equal(tu_join(e, &w[2], "g", NULL), GROUP_DONE);
    assert_int_equal(w[2].join.error_code, GROUP_ERR_GROUP_MAX_SIZE_REACHED);
    tu_advance(e, 0);
    assert_int_equal(w[0].join.members_count + w[1].join.members_count, 2);
    assert_int_equal(tu_join(e, &w[2], "g", NULL), GROUP_DONE);
    assert_int_equal(w[2].join.error_code, GROUP_ERR_GROUP_MAX_SIZE_REACHED);
    for (int i = 0; i < 3; i++)
        tu_waiter_fini(&w[i]);
}

static void cancelled_waiters_are_never_called(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b, c;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    tu_waiter_init(&c);
    /* Never parked, twice, and with a NULL-safe member. */
    group_waiter_cancel(e->coord, &c.w);
    group_waiter_cancel(e->coord, &c.w);
    /* Parked join (PreparingRebalance): the member still counts as joined. */
    assert_int_equal(tu_join(e, &a, "g", NULL), GROUP_PARKED);
    assert_int_equal(tu_join(e, &b, "g", NULL), GROUP_PARKED);
    group_waiter_cancel(e->coord, &a.w);
    group_waiter_cancel(e->coord, &a.w);
    tu_advance(e, 0);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.join.generation_id, 1);
    assert_int_equal(group_members_count(e->coord, S("g")), 2);
    /* Parked sync (CompletingRebalance), cancelled, then the leader syncs. */
    char idb[256];
    strcpy(idb, b.member_id);
    const char *leader = b.leader;
    assert_int_equal(tu_sync(e, &c, "g", 1, idb, NULL, NULL, 0), strcmp(leader, idb) ? GROUP_PARKED : GROUP_DONE);
    group_waiter_cancel(e->coord, &c.w);
    /* A completed waiter can be cancelled too. */
    group_waiter_cancel(e->coord, &b.w);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
    tu_waiter_fini(&c);
}

/* ---- re-entrancy: callbacks that call back in ---- */

typedef struct reentry_s {
    tu_waiter_t tw;
    tu_env_t *e;
    tu_waiter_t *victim; /* cancelled from the callback */
    tu_waiter_t *sync_w; /* syncs from the callback */
} reentry_t;

static void reentry_join_cb(group_waiter_t *w, const group_join_result_t *r)
{
    reentry_t *re = (reentry_t *)w;
    tu_join_cb(w, r);
    if (re->victim)
        group_waiter_cancel(re->e->coord, &re->victim->w);
    if (re->sync_w && r->error_code == 0 && strcmp(re->tw.member_id, re->tw.leader) != 0) {
        char id[256];
        strcpy(id, re->tw.member_id);
        (void)tu_sync(re->e, re->sync_w, "g", r->generation_id, id, NULL, NULL, 0);
    }
}

static void callbacks_may_cancel_others_and_call_back_in(void **state)
{
    tu_env_t *e = *state;
    reentry_t a = {.e = e};
    reentry_t b = {.e = e};
    tu_waiter_t victim, syncw;
    tu_waiter_init(&victim);
    tu_waiter_init(&syncw);
    tu_waiter_init(&a.tw);
    tu_waiter_init(&b.tw);
    /* Join with the re-entrant callbacks installed. */
    tu_join_t j = {.group = "g"};
    assert_int_equal(tu_join_call(e, &a.tw, &j), GROUP_PARKED);
    a.tw.w.join_done = reentry_join_cb;
    assert_int_equal(tu_join_call(e, &victim, &j), GROUP_PARKED);
    assert_int_equal(tu_join_call(e, &b.tw, &j), GROUP_PARKED);
    b.tw.w.join_done = reentry_join_cb;
    a.victim = &victim;
    b.sync_w = &syncw;
    tu_advance(e, 0);
    /* a (first on the ready list) cancelled victim before it was told. */
    assert_int_equal(a.tw.calls, 1);
    assert_int_equal(victim.calls, 0);
    assert_int_equal(b.tw.calls, 1);
    /* b is a follower: its SyncGroup from inside the callback parked. */
    assert_false(syncw.done);
    group_waiter_cancel(e->coord, &syncw.w);
    tu_waiter_fini(&victim);
    tu_waiter_fini(&syncw);
    tu_waiter_fini(&a.tw);
    tu_waiter_fini(&b.tw);
}

static void describe_and_list_groups(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    char ida[256], idb[256];
    make_stable_pair(e, &a, &b, ida, idb);
    arena_t arena;
    arena_init(&arena, 0);
    group_description_t d;
    assert_int_equal(group_describe(e->coord, S("g"), &arena, &d, e->now), 0);
    assert_true(tu_eq(d.state, "Stable"));
    assert_true(tu_eq(d.protocol_type, "consumer"));
    assert_true(tu_eq(d.protocol_name, "range"));
    assert_int_equal(d.members_count, 2);
    assert_true(tu_eq(d.members[0].member_id, ida));
    assert_true(tu_eq(d.members[0].client_id, "client"));
    assert_true(tu_eq(d.members[0].client_host, "/127.0.0.1"));
    assert_true(tu_eq(d.members[0].metadata, "meta"));
    assert_true(tu_eq(d.members[0].assignment, "A"));
    assert_int_equal(d.members[0].group_instance_id.len, -1);
    assert_int_equal(group_describe(e->coord, S("missing"), &arena, &d, e->now), 0);
    assert_true(tu_eq(d.state, "Dead"));
    assert_int_equal(d.members_count, 0);
    /* Not Stable: no protocol, metadata or assignment. */
    assert_int_equal(tu_join(e, &a, "g", ida), GROUP_PARKED);
    assert_int_equal(group_describe(e->coord, S("g"), &arena, &d, e->now), 0);
    assert_true(tu_eq(d.state, "PreparingRebalance"));
    assert_true(tu_eq(d.protocol_name, ""));
    assert_int_equal(d.members[0].metadata.len, 0);

    assert_int_equal(tu_commit(e, "simple", -1, NULL, "t", 0, 1, NULL), 0);
    group_overview_t *ov;
    int32_t n;
    assert_int_equal(group_list(e->coord, NULL, 0, NULL, 0, &arena, &ov, &n, e->now), 0);
    assert_int_equal(n, 2);
    proto_str_t st = S("EMPTY");
    assert_int_equal(group_list(e->coord, &st, 1, NULL, 0, &arena, &ov, &n, e->now), 0);
    assert_int_equal(n, 1);
    assert_true(tu_eq(ov[0].group_id, "simple"));
    assert_true(tu_eq(ov[0].protocol_type, ""));
    assert_true(tu_eq(ov[0].group_type, "classic"));
    proto_str_t ty = S("consumer");
    assert_int_equal(group_list(e->coord, NULL, 0, &ty, 1, &arena, &ov, &n, e->now), 0);
    assert_int_equal(n, 0);
    ty = S("Classic");
    assert_int_equal(group_list(e->coord, NULL, 0, &ty, 1, &arena, &ov, &n, e->now), 0);
    assert_int_equal(n, 2);
    arena_fini(&arena);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void loading_partition_answers_load_in_progress(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    assert_int_equal(tu_join(e, &a, "my-group", NULL), GROUP_PARKED);
    int32_t p = group_partition_for(e->coord, S("my-group"));
    assert_int_equal(p, 12);
    group_coordinator_load_begin(e->coord, p, e->now);
    /* The parked JoinGroup is answered: this coordinator no longer owns the group. */
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.join.error_code, GROUP_ERR_NOT_COORDINATOR);
    assert_int_equal(group_count(e->coord), 0);
    assert_int_equal(tu_join(e, &b, "my-group", NULL), GROUP_DONE);
    assert_int_equal(b.join.error_code, GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(tu_heartbeat(e, "my-group", 1, "x"), GROUP_ERR_NONE);
    assert_int_equal(tu_sync(e, &b, "my-group", 1, "x", NULL, NULL, 0), GROUP_DONE);
    assert_int_equal(b.sync.error_code, GROUP_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(tu_commit(e, "my-group", -1, NULL, "t", 0, 1, NULL), GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    arena_t arena;
    arena_init(&arena, 0);
    group_fetch_partition_t fp = {S("t"), 0, 0, 0, {NULL, 0}, 0};
    assert_int_equal(group_offset_fetch(e->coord, S("my-group"), &fp, 1, false, &arena, NULL, NULL, e->now),
                     GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    group_description_t d;
    assert_int_equal(group_describe(e->coord, S("my-group"), &arena, &d, e->now),
                     GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    group_overview_t *ov;
    int32_t n;
    assert_int_equal(group_list(e->coord, NULL, 0, NULL, 0, &arena, &ov, &n, e->now),
                     GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(group_delete(e->coord, S("my-group"), e->now), GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    group_leave_member_t lm = {S("x"), S(NULL), S(NULL), 0};
    assert_int_equal(group_leave(e->coord, S("my-group"), &lm, 1, e->now), GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    /* Other partitions are not affected. */
    assert_int_equal(tu_commit(e, "test-consumer-group", -1, NULL, "t", 0, 1, NULL), 0);
    group_coordinator_load_end(e->coord, p, e->now);
    assert_int_equal(tu_join(e, &b, "my-group", NULL), GROUP_PARKED);
    arena_fini(&arena);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void freeing_with_parked_waiters_is_clean(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    assert_int_equal(tu_join(e, &a, "g", NULL), GROUP_PARKED);
    tu_advance(e, 0);
    assert_int_equal(tu_join(e, &b, "g", NULL), GROUP_PARKED);
    tu_env_fini(e);
    assert_int_equal(b.calls, 0);
    tu_env_init(e);
    tu_env_start(e);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_join_walks_empty_preparing_completing_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(join_v4_requires_member_id_then_accepts_it, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_member_id_expires_after_session_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(abandoned_pending_member_id_holds_the_rebalance_until_it_expires, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(join_rejects_bad_session_timeout_group_id_and_unknown_member, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(join_with_other_protocol_type_or_no_common_protocol_is_inconsistent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(protocol_is_chosen_by_vote_among_common_protocols, setup, teardown),
        cmocka_unit_test_setup_teardown(rebalance_completes_as_soon_as_every_member_rejoined, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_with_same_metadata_gets_current_generation_without_rebalance,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(rebalance_timeout_removes_members_that_did_not_rejoin, setup, teardown),
        cmocka_unit_test_setup_teardown(member_that_never_syncs_is_removed_after_rebalance_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(silent_member_without_sync_is_removed_by_session_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(session_expiry_removes_member_and_rebalances, setup, teardown),
        cmocka_unit_test_setup_teardown(heartbeat_and_sync_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(parked_sync_gets_rebalance_in_progress_when_a_member_joins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(leader_assignment_reaches_parked_followers_and_missing_members_get_empty,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(failed_assignment_store_errors_everyone_and_rebalances, setup, teardown),
        cmocka_unit_test_setup_teardown(initial_delay_extends_while_members_arrive, setup, teardown),
        cmocka_unit_test_setup_teardown(join_storm_completes_each_waiter_exactly_once_per_round, setup, teardown),
        cmocka_unit_test_setup_teardown(leave_single_and_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(leave_of_a_member_with_a_parked_join_answers_it, setup, teardown),
        cmocka_unit_test_setup_teardown(static_member_restart_keeps_assignment_without_rebalance, setup, teardown),
        cmocka_unit_test_setup_teardown(static_leader_restart_with_v9_skips_assignment, setup, teardown),
        cmocka_unit_test_setup_teardown(static_member_with_new_protocols_rebalances_only_if_the_choice_changes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(static_member_replaced_while_parked_is_fenced, setup, teardown),
        cmocka_unit_test_setup_teardown(static_member_is_kept_when_it_misses_a_rejoin, setup, teardown),
        cmocka_unit_test_setup_teardown(group_max_size_is_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(cancelled_waiters_are_never_called, setup, teardown),
        cmocka_unit_test_setup_teardown(callbacks_may_cancel_others_and_call_back_in, setup, teardown),
        cmocka_unit_test_setup_teardown(describe_and_list_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(loading_partition_answers_load_in_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(freeing_with_parked_waiters_is_clean, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
