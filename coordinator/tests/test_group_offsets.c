#include "group_test_util.h"

static int setup(void **state)
{
    tu_env_t *e = calloc(1, sizeof(*e));
    tu_env_init(e);
    e->cfg.offsets_retention_ms = 60000;
    e->cfg.offsets_retention_check_interval_ms = 1000;
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

/* One member joined and synced with the given subscription: Stable, generation 1. */
static void make_stable_one(tu_env_t *e, tu_waiter_t *w, const char *group, proto_bytes_t sub, char *id)
{
    tu_join_t j = {.group = group, .type = "consumer", .protocols = {"range"}, .metas = {sub}};
    assert_int_equal(tu_join_call(e, w, &j), GROUP_PARKED);
    tu_advance(e, 0);
    strcpy(id, w->member_id);
    assert_int_equal(tu_sync(e, w, group, 1, id, NULL, NULL, 0), GROUP_DONE);
    assert_int_equal(group_state_of(e->coord, S(group)), GROUP_STABLE);
}

static void simple_commit_creates_group_and_fetch_answers_minus_one_for_the_rest(void **state)
{
    tu_env_t *e = *state;
    assert_int_equal(tu_commit(e, "simple", -1, NULL, "t", 0, 42, "meta"), 0);
    assert_int_equal(group_state_of(e->coord, S("simple")), GROUP_EMPTY);
    assert_int_equal(tu_fetch(e, "simple", "t", 0), 42);
    assert_int_equal(tu_fetch(e, "simple", "t", 1), -1);
    assert_int_equal(tu_fetch(e, "nobody", "t", 0), -1);

    arena_t arena;
    arena_init(&arena, 0);
    group_fetch_partition_t p[2] = {{S("t"), 0, 0, 0, {NULL, 0}, 0}, {S("u"), 3, 0, 0, {NULL, 0}, 0}};
    assert_int_equal(group_offset_fetch(e->coord, S("simple"), p, 2, true, &arena, NULL, NULL, e->now), 0);
    assert_int_equal(p[0].leader_epoch, 7);
    assert_true(tu_eq(p[0].metadata, "meta"));
    assert_int_equal(p[1].offset, -1);
    assert_int_equal(p[1].leader_epoch, -1);
    assert_true(tu_eq(p[1].metadata, ""));
    assert_int_equal(p[1].error_code, 0);
    assert_int_equal(group_offset_fetch(e->coord, S(NULL), p, 2, false, &arena, NULL, NULL, e->now),
                     GROUP_ERR_INVALID_GROUP_ID);
    arena_fini(&arena);
    /* One record, offset commit key v1 / value v3. */
    assert_int_equal(e->nrecs, 1);
    assert_int_equal(e->recs[0].partition, group_partition_for(e->coord, S("simple")));
    assert_int_equal(e->recs[0].key[1], 1);
    assert_int_equal(e->recs[0].val[1], 3);
}

static void fetch_all_returns_every_partition_sorted(void **state)
{
    tu_env_t *e = *state;
    const char *topics[] = {"b", "a", "b", "ab"};
    int32_t parts[] = {1, 5, 0, 2};
    group_commit_partition_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (group_commit_partition_t){S(topics[i]), parts[i], 100 + i, -1, S(NULL), 0};
    group_commit_args_t a = {S("g"), -1, S(""), S(NULL), -1, p, 4};
    assert_int_equal(group_offset_commit(e->coord, &a, e->now), 0);
    assert_int_equal(e->appends, 1); /* one batch */
    arena_t arena;
    arena_init(&arena, 0);
    group_fetch_partition_t *all;
    int32_t n;
    assert_int_equal(group_offset_fetch(e->coord, S("g"), NULL, -1, false, &arena, &all, &n, e->now), 0);
    assert_int_equal(n, 4);
    assert_true(tu_eq(all[0].topic, "a"));
    assert_true(tu_eq(all[1].topic, "ab"));
    assert_true(tu_eq(all[2].topic, "b") && all[2].partition == 0 && all[2].offset == 102);
    assert_true(tu_eq(all[3].topic, "b") && all[3].partition == 1 && all[3].offset == 100);
    assert_int_equal(group_offset_fetch(e->coord, S("none"), NULL, -1, false, &arena, &all, &n, e->now), 0);
    assert_int_equal(n, 0);
    arena_fini(&arena);
}

static void commit_is_validated_against_state_member_and_generation(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a, b;
    tu_waiter_init(&a);
    tu_waiter_init(&b);
    /* A member commit to a group that does not exist. */
    assert_int_equal(tu_commit(e, "g", 1, "m", "t", 0, 1, NULL), GROUP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(group_count(e->coord), 0);
    assert_int_equal(tu_join(e, &a, "g", NULL), GROUP_PARKED);
    tu_advance(e, 0);
    char ida[256];
    strcpy(ida, a.member_id);
    /* CompletingRebalance */
    assert_int_equal(tu_commit(e, "g", 1, ida, "t", 0, 1, NULL), GROUP_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(tu_sync(e, &a, "g", 1, ida, NULL, NULL, 0), GROUP_DONE);
    /* Stable */
    assert_int_equal(tu_commit(e, "g", 1, ida, "t", 0, 10, NULL), 0);
    assert_int_equal(tu_commit(e, "g", 2, ida, "t", 0, 11, NULL), GROUP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(tu_commit(e, "g", 1, "stranger", "t", 0, 11, NULL), GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 0, 11, NULL), GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(tu_fetch(e, "g", "t", 0), 10);
    /* PreparingRebalance: the previous generation may still commit. */
    assert_int_equal(tu_join(e, &b, "g", NULL), GROUP_PARKED);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_PREPARING_REBALANCE);
    assert_int_equal(tu_commit(e, "g", 1, ida, "t", 0, 12, NULL), 0);
    assert_int_equal(tu_fetch(e, "g", "t", 0), 12);
    /* Empty: members are gone; only simple commits. */
    group_leave_member_t lm = {S(ida), S(NULL), S(NULL), 0};
    assert_int_equal(group_leave(e->coord, S("g"), &lm, 1, e->now), 0);
    assert_int_equal(b.calls, 1); /* a left, so b completed the join alone */
    group_leave_member_t lb = {S(b.member_id), S(NULL), S(NULL), 0};
    assert_int_equal(group_leave(e->coord, S("g"), &lb, 1, e->now), 0);
    assert_int_equal(lb.error_code, 0);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_EMPTY);
    assert_int_equal(tu_commit(e, "g", 2, ida, "t", 0, 13, NULL), GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 0, 14, NULL), 0);
    assert_int_equal(tu_fetch(e, "g", "t", 0), 14);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void commit_checks_metadata_size_and_skips_preset_errors(void **state)
{
    tu_env_t *e = *state;
    static char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    group_commit_partition_t p[3] = {
        {S("t"), 0, 1, -1, S(big), 0},
        {S("t"), 1, 2, -1, S("ok"), 0},
        {S("gone"), 0, 3, -1, S(NULL), 3 /* UNKNOWN_TOPIC_OR_PARTITION set by the broker */},
    };
    group_commit_args_t a = {S("g"), -1, S(""), S(NULL), -1, p, 3};
    assert_int_equal(group_offset_commit(e->coord, &a, e->now), 0);
    assert_int_equal(p[0].error_code, GROUP_ERR_OFFSET_METADATA_TOO_LARGE);
    assert_int_equal(p[1].error_code, 0);
    assert_int_equal(p[2].error_code, 3);
    assert_int_equal(tu_fetch(e, "g", "t", 0), -1);
    assert_int_equal(tu_fetch(e, "g", "t", 1), 2);
    assert_int_equal(tu_fetch(e, "g", "gone", 0), -1);
}

static void failed_append_changes_nothing(void **state)
{
    tu_env_t *e = *state;
    e->fail_appends = 56;
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 0, 5, NULL), GROUP_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(group_count(e->coord), 0);
    e->fail_appends = 10; /* MESSAGE_TOO_LARGE */
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 0, 5, NULL), GROUP_ERR_INVALID_COMMIT_OFFSET_SIZE);
    e->fail_appends = 0;
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 0, 5, NULL), 0);
    e->fail_appends = 56;
    assert_int_equal(group_delete(e->coord, S("g"), e->now), GROUP_ERR_COORDINATOR_NOT_AVAILABLE);
    e->fail_appends = 0;
    assert_int_equal(tu_fetch(e, "g", "t", 0), 5);
}

static void offsets_of_an_empty_group_expire_after_retention_and_the_group_dies(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a;
    tu_waiter_init(&a);
    char id[256];
    buf_t buf;
    buf_init(&buf);
    const char *topics[] = {"t", NULL};
    make_stable_one(e, &a, "g", tu_subscription(&buf, topics), id);
    assert_int_equal(tu_commit(e, "g", 1, id, "t", 0, 10, NULL), 0);
    /* While the group is Stable and subscribed, nothing expires. */
    for (int i = 0; i < 24; i++) {
        tu_advance(e, 5000);
        assert_int_equal(tu_heartbeat(e, "g", 1, id), 0);
    }
    assert_int_equal(tu_fetch(e, "g", "t", 0), 10);
    group_leave_member_t lm = {S(id), S(NULL), S(NULL), 0};
    assert_int_equal(group_leave(e->coord, S("g"), &lm, 1, e->now), 0);
    /* The last member left: the rebalance completes at once, with no one. */
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_EMPTY);
    assert_int_equal(group_generation_of(e->coord, S("g")), 2);
    int before = e->nrecs;
    tu_advance(e, 59000);
    assert_int_equal(tu_fetch(e, "g", "t", 0), 10);
    tu_advance(e, 1000);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_DEAD);
    assert_int_equal(group_count(e->coord), 0);
    /* An offset tombstone and a group tombstone. */
    assert_int_equal(e->nrecs, before + 2);
    assert_null(e->recs[before].val);
    assert_int_equal(e->recs[before].key[1], 1);
    assert_null(e->recs[before + 1].val);
    assert_int_equal(e->recs[before + 1].key[1], 2);
    buf_fini(&buf);
    tu_waiter_fini(&a);
}

static void simple_consumer_offsets_expire_from_their_commit_time(void **state)
{
    tu_env_t *e = *state;
    assert_int_equal(tu_commit(e, "s", -1, NULL, "t", 0, 1, NULL), 0);
    tu_advance(e, 30000);
    assert_int_equal(tu_commit(e, "s", -1, NULL, "t", 1, 1, NULL), 0);
    tu_advance(e, 30000);
    assert_int_equal(tu_fetch(e, "s", "t", 0), -1);
    assert_int_equal(tu_fetch(e, "s", "t", 1), 1);
    tu_advance(e, 30000);
    assert_int_equal(group_count(e->coord), 0);
}

/* OffsetCommit v1: a given commit timestamp is the offset's commit time, so retention counts from it. */
static void a_v1_commit_timestamp_starts_the_retention_clock(void **state)
{
    tu_env_t *e = *state;
    group_commit_partition_t p[2] = {{S("t"), 0, 5, -1, S(NULL), 0}, {S("t"), 1, 6, -1, S(NULL), 0}};
    int64_t ts[2] = {e->now - 50000, -1};
    group_commit_args_t a = {S("v1"), -1, S(""), S(NULL), -1, p, 2};
    assert_int_equal(group_offset_commit_at(e->coord, &a, ts, e->now), 0);
    assert_int_equal(p[0].error_code, 0);
    assert_int_equal(p[1].error_code, 0);
    /* The record carries the client's timestamp (value v3: version, offset, epoch, "" metadata, then it). */
    assert_int_equal(e->nrecs, 2);
    assert_int_equal(e->recs[0].val[1], 3);
    assert_int_equal(e->recs[0].vlen, 2 + 8 + 4 + 2 + 8);
    int64_t stored = 0;
    for (int i = 16; i < 24; i++)
        stored = (int64_t)((uint64_t)stored << 8 | e->recs[0].val[i]);
    assert_true(stored == e->now - 50000);
    tu_advance(e, 15000);
    assert_int_equal(tu_fetch(e, "v1", "t", 0), -1); /* 65 s after its stated commit time */
    assert_int_equal(tu_fetch(e, "v1", "t", 1), 6);  /* -1 meant now: 15 s old */
    /* The other one expires on the broker's clock, and the group with it. */
    tu_advance(e, 50000);
    assert_int_equal(group_count(e->coord), 0);
}

static void delete_groups_refuses_active_and_missing_groups(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a;
    tu_waiter_init(&a);
    assert_int_equal(group_delete(e->coord, S("missing"), e->now), GROUP_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(tu_join(e, &a, "g", NULL), GROUP_PARKED);
    assert_int_equal(group_delete(e->coord, S("g"), e->now), GROUP_ERR_NON_EMPTY_GROUP);
    assert_int_equal(tu_commit(e, "s", -1, NULL, "t", 0, 1, NULL), 0);
    assert_int_equal(tu_commit(e, "s", -1, NULL, "t", 1, 1, NULL), 0);
    int before = e->nrecs;
    assert_int_equal(group_delete(e->coord, S("s"), e->now), 0);
    assert_int_equal(e->nrecs, before + 2); /* generation 0: no group tombstone */
    assert_int_equal(group_state_of(e->coord, S("s")), GROUP_DEAD);
    assert_int_equal(tu_fetch(e, "s", "t", 0), -1);
    assert_int_equal(group_delete(e->coord, S("s"), e->now), GROUP_ERR_GROUP_ID_NOT_FOUND);
    tu_waiter_fini(&a);
}

static void offset_delete_refuses_subscribed_topics(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a;
    tu_waiter_init(&a);
    char id[256];
    buf_t buf;
    buf_init(&buf);
    const char *topics[] = {"t1", "t3", NULL};
    make_stable_one(e, &a, "g", tu_subscription(&buf, topics), id);
    assert_int_equal(tu_commit(e, "g", 1, id, "t1", 0, 5, NULL), 0);
    assert_int_equal(tu_commit(e, "g", 1, id, "t2", 0, 6, NULL), 0);
    group_delete_partition_t p[3] = {{S("t1"), 0, -2}, {S("t2"), 0, -2}, {S("t9"), 0, -2}};
    assert_int_equal(group_offset_delete(e->coord, S("g"), p, 3, e->now), 0);
    assert_int_equal(p[0].error_code, GROUP_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(p[1].error_code, 0);
    assert_int_equal(p[2].error_code, 0);
    assert_int_equal(tu_fetch(e, "g", "t1", 0), 5);
    assert_int_equal(tu_fetch(e, "g", "t2", 0), -1);
    assert_int_equal(group_offset_delete(e->coord, S("missing"), p, 1, e->now), GROUP_ERR_GROUP_ID_NOT_FOUND);

    /* A subscription that does not parse: Kafka plays safe and treats every topic as subscribed. */
    tu_waiter_t b;
    tu_waiter_init(&b);
    char idb[256];
    make_stable_one(e, &b, "bad", (proto_bytes_t){(const uint8_t *)"\x00\x01\x00\x00\x00\x09", 6}, idb);
    assert_int_equal(tu_commit(e, "bad", 1, idb, "t2", 0, 6, NULL), 0);
    group_delete_partition_t q = {S("t2"), 0, -2};
    assert_int_equal(group_offset_delete(e->coord, S("bad"), &q, 1, e->now), 0);
    assert_int_equal(q.error_code, GROUP_ERR_GROUP_SUBSCRIBED_TO_TOPIC);

    /* Not a consumer group and not empty: NON_EMPTY_GROUP. */
    tu_waiter_t c;
    tu_waiter_init(&c);
    tu_join_t j = {.group = "connect", .type = "connect", .protocols = {"default"}};
    assert_int_equal(tu_join_call(e, &c, &j), GROUP_PARKED);
    assert_int_equal(group_offset_delete(e->coord, S("connect"), &q, 1, e->now), GROUP_ERR_NON_EMPTY_GROUP);

    /* Empty: everything goes, and the group with it. */
    group_leave_member_t lm = {S(id), S(NULL), S(NULL), 0};
    assert_int_equal(group_leave(e->coord, S("g"), &lm, 1, e->now), 0);
    tu_advance(e, 0);
    group_delete_partition_t r = {S("t1"), 0, -2};
    assert_int_equal(group_offset_delete(e->coord, S("g"), &r, 1, e->now), 0);
    assert_int_equal(r.error_code, 0);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_DEAD);
    buf_fini(&buf);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
    tu_waiter_fini(&c);
}

/* Replays everything e recorded into a fresh coordinator. */
static group_coordinator_t *replay_into_new(tu_env_t *e)
{
    group_callbacks_t cb = {tu_append};
    group_coordinator_t *coord = group_coordinator_new(&e->cfg, &cb, e, e->now);
    for (int32_t p = 0; p < e->cfg.offsets_topic_num_partitions; p++)
        group_coordinator_load_begin(coord, p, e->now);
    for (int i = 0; i < e->nrecs; i++) {
        proto_bytes_t k = {e->recs[i].key, e->recs[i].klen};
        proto_bytes_t v = {e->recs[i].val, e->recs[i].val ? e->recs[i].vlen : -1};
        assert_int_equal(group_coordinator_replay(coord, e->recs[i].partition, k, v, e->now), 0);
    }
    for (int32_t p = 0; p < e->cfg.offsets_topic_num_partitions; p++)
        group_coordinator_load_end(coord, p, e->now);
    return coord;
}

static void replay_restores_offsets_and_groups_and_honours_tombstones(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t a;
    tu_waiter_init(&a);
    char id[256];
    buf_t buf;
    buf_init(&buf);
    const char *topics[] = {"t", NULL};
    make_stable_one(e, &a, "g", tu_subscription(&buf, topics), id);
    assert_int_equal(tu_commit(e, "g", 1, id, "t", 0, 10, "m0"), 0);
    assert_int_equal(tu_commit(e, "g", 1, id, "t", 0, 11, "m1"), 0);
    assert_int_equal(tu_commit(e, "g", 1, id, "t", 1, 20, NULL), 0);
    assert_int_equal(tu_commit(e, "s", -1, NULL, "x", 0, 7, NULL), 0);
    assert_int_equal(tu_commit(e, "gone", -1, NULL, "x", 0, 7, NULL), 0);
    assert_int_equal(group_delete(e->coord, S("gone"), e->now), 0);
    group_delete_partition_t dp = {S("x"), 9, 0};
    assert_int_equal(group_offset_delete(e->coord, S("s"), &dp, 1, e->now), 0);
    /* A v2-4 commit with a retention time is written as value v1 with an expire timestamp. */
    group_commit_partition_t cp = {S("y"), 0, 3, -1, S(NULL), 0};
    group_commit_args_t ca = {S("s"), -1, S(""), S(NULL), 5000, &cp, 1};
    assert_int_equal(group_offset_commit(e->coord, &ca, e->now), 0);

    group_coordinator_t *fresh = replay_into_new(e);
    assert_int_equal(group_state_of(fresh, S("g")), GROUP_EMPTY);
    assert_int_equal(group_generation_of(fresh, S("g")), 1);
    assert_int_equal(group_state_of(fresh, S("gone")), GROUP_DEAD);
    group_coordinator_t *orig = e->coord;
    e->coord = fresh;
    assert_int_equal(tu_fetch(e, "g", "t", 0), 11);
    assert_int_equal(tu_fetch(e, "g", "t", 1), 20);
    assert_int_equal(tu_fetch(e, "s", "x", 0), 7);
    assert_int_equal(tu_fetch(e, "s", "y", 0), 3);
    assert_int_equal(tu_fetch(e, "gone", "x", 0), -1);
    arena_t arena;
    arena_init(&arena, 0);
    group_fetch_partition_t fp = {S("t"), 0, 0, 0, {NULL, 0}, 0};
    assert_int_equal(group_offset_fetch(fresh, S("g"), &fp, 1, false, &arena, NULL, NULL, e->now), 0);
    assert_true(tu_eq(fp.metadata, "m1"));
    assert_int_equal(fp.leader_epoch, 7);
    arena_fini(&arena);
    /* The restored group is joinable: its next generation is 2. */
    tu_waiter_t b;
    tu_waiter_init(&b);
    assert_int_equal(tu_join(e, &b, "g", NULL), GROUP_PARKED);
    tu_advance(e, 0);
    assert_int_equal(b.join.generation_id, 2);
    /* The explicit expiry of the v1 record is honoured. */
    tu_advance(e, 5000);
    assert_int_equal(tu_fetch(e, "s", "y", 0), -1);
    assert_int_equal(tu_fetch(e, "s", "x", 0), 7);
    e->coord = orig;
    group_coordinator_free(fresh);
    buf_fini(&buf);
    tu_waiter_fini(&a);
    tu_waiter_fini(&b);
}

static void replay_skips_garbage_records(void **state)
{
    tu_env_t *e = *state;
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 0, 10, "meta"), 0);
    tu_waiter_t a;
    tu_waiter_init(&a);
    char id[256];
    buf_t buf;
    buf_init(&buf);
    const char *topics[] = {"t", NULL};
    make_stable_one(e, &a, "h", tu_subscription(&buf, topics), id);
    group_callbacks_t cb = {tu_append};
    group_coordinator_t *c = group_coordinator_new(&e->cfg, &cb, e, e->now);
    /* Every strict prefix of every record's key and value fails cleanly and changes nothing. */
    for (int i = 0; i < e->nrecs; i++) {
        tu_rec_t *r = &e->recs[i];
        for (int32_t n = 0; n < r->klen; n++)
            assert_true(group_coordinator_replay(c, 0, (proto_bytes_t){r->key, n}, (proto_bytes_t){r->val, r->vlen},
                                                 e->now) < 0);
        for (int32_t n = 0; r->val && n < r->vlen; n++)
            assert_true(group_coordinator_replay(c, 0, (proto_bytes_t){r->key, r->klen}, (proto_bytes_t){r->val, n},
                                                 e->now) < 0);
    }
    assert_int_equal(group_count(c), 0);
    /* Random bytes. */
    uint32_t x = 12345;
    uint8_t junk[64];
    for (int round = 0; round < 2000; round++) {
        int kl = (int)(x % 40), vl;
        for (int i = 0; i < 64; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t)(x >> 16);
        }
        junk[0] = 0;
        junk[1] = (uint8_t)(round % 4); /* mostly versions we parse */
        vl = (int)(x % 60);
        (void)group_coordinator_replay(c, 0, (proto_bytes_t){junk, kl}, (proto_bytes_t){junk + 4, vl}, e->now);
    }
    /* Unknown key versions (newer Kafka record types) are ignored without error. */
    uint8_t k3[] = {0, 3, 0, 1, 'g'};
    assert_int_equal(group_coordinator_replay(c, 0, (proto_bytes_t){k3, 5}, (proto_bytes_t){k3, 5}, e->now), 0);
    group_coordinator_free(c);
    buf_fini(&buf);
    tu_waiter_fini(&a);
}

static void records_decode_kafka_versions(void **state)
{
    (void)state;
    /* Offset value v4 (flexible): offset, epoch, compact metadata, commit ts, tags. */
    uint8_t v4[] = {0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 3, 'h', 'i', 0, 0, 0, 0, 0, 0, 0, 5, 0};
    group_rec_offset_t o;
    assert_int_equal(group_rec_parse_offset((proto_bytes_t){v4, sizeof(v4)}, &o), 0);
    assert_int_equal(o.offset, 9);
    assert_int_equal(o.leader_epoch, 2);
    assert_true(tu_eq(o.metadata, "hi"));
    assert_int_equal(o.commit_timestamp, 5);
    /* v0: offset, metadata, commit ts. */
    uint8_t v0[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8};
    assert_int_equal(group_rec_parse_offset((proto_bytes_t){v0, sizeof(v0)}, &o), 0);
    assert_int_equal(o.offset, 1);
    assert_int_equal(o.leader_epoch, -1);
    assert_int_equal(o.commit_timestamp, 8);
    uint8_t v9[] = {0, 9, 0};
    assert_true(group_rec_parse_offset((proto_bytes_t){v9, sizeof(v9)}, &o) < 0);
    /* Group value v0 with no members. */
    uint8_t g0[] = {0, 0, 0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    group_rec_group_t g;
    assert_int_equal(group_rec_parse_group((proto_bytes_t){g0, sizeof(g0)}, &g), 0);
    assert_int_equal(g.generation, 3);
    assert_true(tu_eq(g.protocol_type, "consumer"));
    assert_int_equal(g.protocol.len, -1);
    /* A huge member count is refused before anything is read. */
    uint8_t gbad[] = {0, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0};
    assert_true(group_rec_parse_group((proto_bytes_t){gbad, sizeof(gbad)}, &g) < 0);
    group_rec_key_t k;
    assert_true(group_rec_parse_key((proto_bytes_t){NULL, -1}, &k) < 0);
}

static void partition_for_matches_java_string_hashcode(void **state)
{
    tu_env_t *e = *state;
    assert_int_equal(group_partition_for(e->coord, S("my-group")), 12);
    assert_int_equal(group_partition_for(e->coord, S("test-consumer-group")), 31);
    assert_int_equal(group_partition_for(e->coord, S("")), 0);
    assert_int_equal(group_partition_for(e->coord, S("gr\xc3\xbcppe")), 12);
    assert_int_equal(group_partition_for(e->coord, S("g\xf0\x9f\x98\x80x")), 12);
    assert_int_equal(group_partition_for(e->coord, S("console-consumer-12345")), 6);
}

static int topics_seen;
static void count_topic(void *arg, proto_str_t topic)
{
    (void)arg;
    assert_true(topic.len > 0);
    topics_seen++;
}

static void subscription_reader_lists_topics_and_rejects_truncation(void **state)
{
    (void)state;
    buf_t buf;
    buf_init(&buf);
    const char *topics[] = {"a", "bb", NULL};
    proto_bytes_t sub = tu_subscription(&buf, topics);
    topics_seen = 0;
    assert_int_equal(group_rec_subscription_topics(sub, count_topic, NULL), 0);
    assert_int_equal(topics_seen, 2);
    /* The v0 prefix is version, topics and user data: owned partitions may be cut off. */
    size_t v0_len = 2 + 4 + 3 + 4 + 4;
    for (size_t n = 0; n < v0_len; n++) {
        topics_seen = 0;
        assert_true(group_rec_subscription_topics((proto_bytes_t){sub.ptr, (int32_t)n}, count_topic, NULL) < 0);
        assert_int_equal(topics_seen, 0);
    }
    assert_int_equal(group_rec_subscription_topics((proto_bytes_t){sub.ptr, (int32_t)v0_len}, count_topic, NULL), 0);
    uint8_t neg[] = {0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    assert_true(group_rec_subscription_topics((proto_bytes_t){neg, sizeof(neg)}, count_topic, NULL) < 0);
    buf_fini(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(simple_commit_creates_group_and_fetch_answers_minus_one_for_the_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fetch_all_returns_every_partition_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_is_validated_against_state_member_and_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_checks_metadata_size_and_skips_preset_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_append_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(offsets_of_an_empty_group_expire_after_retention_and_the_group_dies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(simple_consumer_offsets_expire_from_their_commit_time, setup, teardown),
        cmocka_unit_test_setup_teardown(a_v1_commit_timestamp_starts_the_retention_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_groups_refuses_active_and_missing_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(offset_delete_refuses_subscribed_topics, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_restores_offsets_and_groups_and_honours_tombstones, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_skips_garbage_records, setup, teardown),
        cmocka_unit_test_setup_teardown(records_decode_kafka_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(partition_for_matches_java_string_hashcode, setup, teardown),
        cmocka_unit_test_setup_teardown(subscription_reader_lists_topics_and_rejects_truncation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
