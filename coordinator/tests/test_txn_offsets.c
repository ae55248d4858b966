/* Transactional offsets in the group coordinator: TxnOffsetCommit, markers, require_stable, replay. */
#include "group_test_util.h"

#define MAX_RECS 256

/* Producer id of each record the fake log holds (-1: a plain batch). */
static int64_t rec_pid[MAX_RECS];
static int txn_appends;

static int16_t append_txn(void *arg, int32_t partition, int64_t producer_id, int16_t producer_epoch,
                          const proto_record_spec_t *records, int n, int64_t now_ms)
{
    tu_env_t *e = arg;
    (void)producer_epoch;
    int first = e->nrecs;
    int16_t err = tu_append(arg, partition, records, n, now_ms);
    for (int i = first; i < e->nrecs && i < MAX_RECS; i++)
        rec_pid[i] = producer_id;
    if (!err)
        txn_appends++;
    return err;
}

static int setup(void **state)
{
    tu_env_t *e = calloc(1, sizeof(*e));
    tu_env_init(e);
    tu_env_start(e);
    group_coordinator_set_append_txn(e->coord, append_txn);
    for (int i = 0; i < MAX_RECS; i++)
        rec_pid[i] = -1;
    txn_appends = 0;
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

/* One TxnOffsetCommit of a single partition; returns the partition's error. */
static int16_t txn_commit(tu_env_t *e, const char *group, int64_t pid, int32_t gen, const char *member,
                          const char *topic, int32_t partition, int64_t offset)
{
    group_commit_partition_t p = {S(topic), partition, offset, 3, S("m"), 0};
    group_commit_args_t a = {S(group), gen, S(member ? member : ""), S(NULL), -1, &p, 1};
    int16_t err = group_txn_offset_commit(e->coord, &a, pid, 0, e->now);
    assert_true(err == 0 || err == p.error_code);
    return p.error_code;
}

/* OffsetFetch of one partition: returns its error, the offset in *offset. */
static int16_t fetch(tu_env_t *e, const char *group, const char *topic, int32_t partition, bool stable,
                     int64_t *offset)
{
    arena_t arena;
    arena_init(&arena, 0);
    group_fetch_partition_t p = {S(topic), partition, 0, 0, {NULL, 0}, 99};
    assert_int_equal(group_offset_fetch(e->coord, S(group), &p, 1, stable, &arena, NULL, NULL, e->now), 0);
    *offset = p.offset;
    arena_fini(&arena);
    return p.error_code;
}

static int32_t part_of(tu_env_t *e, const char *group)
{
    return group_partition_for(e->coord, S(group));
}

static void txn_offsets_stay_pending_until_the_commit_marker(void **state)
{
    tu_env_t *e = *state;
    int64_t off;
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 0, 5, ""), 0);
    assert_int_equal(txn_commit(e, "g", 1000, -1, NULL, "t", 0, 42), 0);
    assert_int_equal(txn_appends, 1);
    assert_int_equal(e->recs[e->nrecs - 1].partition, part_of(e, "g"));
    assert_int_equal(group_txn_pending_count(e->coord, S("g")), 1);
    /* Invisible to a plain fetch; require_stable says unstable. */
    assert_int_equal(fetch(e, "g", "t", 0, false, &off), 0);
    assert_int_equal(off, 5);
    assert_int_equal(fetch(e, "g", "t", 0, true, &off), GROUP_ERR_UNSTABLE_OFFSET_COMMIT);
    assert_int_equal(off, -1);
    assert_int_equal(fetch(e, "g", "t", 1, true, &off), 0); /* other partitions are stable */
    /* The fetch-all form marks it too. */
    arena_t arena;
    arena_init(&arena, 0);
    group_fetch_partition_t *all;
    int32_t n;
    assert_int_equal(group_offset_fetch(e->coord, S("g"), NULL, -1, true, &arena, &all, &n, e->now), 0);
    assert_int_equal(n, 1);
    assert_int_equal(all[0].error_code, GROUP_ERR_UNSTABLE_OFFSET_COMMIT);
    arena_fini(&arena);

    /* A marker of another producer or partition changes nothing. */
    group_txn_complete(e->coord, part_of(e, "g"), 999, true, e->now);
    group_txn_complete(e->coord, (part_of(e, "g") + 1) % e->cfg.offsets_topic_num_partitions, 1000, true, e->now);
    assert_int_equal(group_txn_pending_count(e->coord, S("g")), 1);

    group_txn_complete(e->coord, part_of(e, "g"), 1000, true, e->now);
    assert_int_equal(group_txn_pending_count(e->coord, S("g")), 0);
    assert_int_equal(fetch(e, "g", "t", 0, true, &off), 0);
    assert_int_equal(off, 42);
}

static void txn_offsets_vanish_on_abort(void **state)
{
    tu_env_t *e = *state;
    int64_t off;
    assert_int_equal(txn_commit(e, "fresh", 7, -1, NULL, "t", 0, 42), 0);
    assert_int_equal(group_state_of(e->coord, S("fresh")), GROUP_EMPTY);
    group_txn_complete(e->coord, part_of(e, "fresh"), 7, false, e->now);
    assert_int_equal(fetch(e, "fresh", "t", 0, true, &off), 0);
    assert_int_equal(off, -1);
    /* A group made only by the aborted commit is not kept. */
    assert_int_equal(group_state_of(e->coord, S("fresh")), GROUP_DEAD);
}

static void a_later_plain_commit_wins_over_an_earlier_transactional_one(void **state)
{
    tu_env_t *e = *state;
    int64_t off;
    assert_int_equal(txn_commit(e, "g", 1, -1, NULL, "t", 0, 10), 0);
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 0, 20, ""), 0);
    group_txn_complete(e->coord, part_of(e, "g"), 1, true, e->now);
    assert_int_equal(fetch(e, "g", "t", 0, true, &off), 0);
    assert_int_equal(off, 20);
    /* The other way round, the transaction's offset wins. */
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 1, 20, ""), 0);
    assert_int_equal(txn_commit(e, "g", 1, -1, NULL, "t", 1, 30), 0);
    group_txn_complete(e->coord, part_of(e, "g"), 1, true, e->now);
    assert_int_equal(fetch(e, "g", "t", 1, true, &off), 0);
    assert_int_equal(off, 30);
}

static void txn_commit_v3_is_validated_like_offset_commit(void **state)
{
    tu_env_t *e = *state;
    tu_waiter_t w;
    tu_waiter_init(&w);
    assert_int_equal(tu_join(e, &w, "g", NULL), GROUP_PARKED);
    tu_advance(e, 0);
    char id[256];
    strcpy(id, w.member_id);
    assert_int_equal(tu_sync(e, &w, "g", 1, id, NULL, NULL, 0), GROUP_DONE);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_STABLE);

    assert_int_equal(txn_commit(e, "g", 5, 2, id, "t", 0, 1), GROUP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(txn_commit(e, "g", 5, 1, "stranger", "t", 0, 1), GROUP_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(txn_commit(e, "g", 5, 1, id, "t", 0, 1), 0);
    /* v0-2 carry no member: allowed even in a non-empty group, as Kafka does. */
    assert_int_equal(txn_commit(e, "g", 6, -1, NULL, "t", 1, 1), 0);
    /* Static members: a wrong member id for the instance is fenced. */
    group_commit_partition_t p = {S("t"), 0, 1, -1, S(NULL), 0};
    group_commit_args_t a = {S("g"), 1, S("other"), S("instance-1"), -1, &p, 1};
    (void)group_txn_offset_commit(e->coord, &a, 5, 0, e->now);
    assert_int_not_equal(p.error_code, 0);
    /* Metadata too large is per partition. */
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    group_commit_partition_t q[2] = {{S("t"), 0, 1, -1, S(big), 0}, {S("t"), 2, 1, -1, S(""), 0}};
    group_commit_args_t b = {S("g"), 1, S(id), S(NULL), -1, q, 2};
    (void)group_txn_offset_commit(e->coord, &b, 5, 0, e->now);
    assert_int_equal(q[0].error_code, GROUP_ERR_OFFSET_METADATA_TOO_LARGE);
    assert_int_equal(q[1].error_code, 0);
    assert_int_equal(group_txn_pending_count(e->coord, S("g")), 3);
    tu_waiter_fini(&w);
}

static void txn_commit_errors_and_a_failed_append_change_nothing(void **state)
{
    tu_env_t *e = *state;
    e->fail_appends = 6;
    assert_int_not_equal(txn_commit(e, "g", 1, -1, NULL, "t", 0, 1), 0);
    assert_int_equal(group_txn_pending_count(e->coord, S("g")), 0);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_DEAD);
    e->fail_appends = 0;
    group_commit_partition_t p = {S("t"), 0, 1, -1, S(NULL), 0};
    group_commit_args_t a = {S(NULL), -1, S(""), S(NULL), -1, &p, 1};
    assert_int_equal(group_txn_offset_commit(e->coord, &a, 1, 0, e->now), GROUP_ERR_INVALID_GROUP_ID);
    /* Without append_txn the broker cannot write transactional batches. */
    group_coordinator_set_append_txn(e->coord, NULL);
    assert_int_equal(txn_commit(e, "g", 1, -1, NULL, "t", 0, 1), GROUP_ERR_UNKNOWN_SERVER_ERROR);
    /* While loading: COORDINATOR_LOAD_IN_PROGRESS. */
    group_coordinator_set_append_txn(e->coord, append_txn);
    group_coordinator_load_begin(e->coord, part_of(e, "g"), e->now);
    assert_int_equal(txn_commit(e, "g", 1, -1, NULL, "t", 0, 1), GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    group_coordinator_load_end(e->coord, part_of(e, "g"), e->now);
}

static void pending_offsets_keep_their_group_alive(void **state)
{
    tu_env_t *e = *state;
    e->cfg.offsets_retention_ms = 1000;
    e->cfg.offsets_retention_check_interval_ms = 1000;
    group_coordinator_free(e->coord);
    tu_env_start(e);
    group_coordinator_set_append_txn(e->coord, append_txn);
    assert_int_equal(txn_commit(e, "g", 1, -1, NULL, "t", 0, 1), 0);
    tu_advance(e, 5000);
    assert_int_equal(group_state_of(e->coord, S("g")), GROUP_EMPTY);
    assert_int_equal(group_txn_pending_count(e->coord, S("g")), 1);
}

static void replay_stages_transactional_records_and_markers_settle_them(void **state)
{
    tu_env_t *e = *state;
    int64_t off;
    assert_int_equal(txn_commit(e, "g", 1, -1, NULL, "t", 0, 10), 0); /* will commit */
    assert_int_equal(txn_commit(e, "g", 2, -1, NULL, "t", 1, 20), 0); /* will abort */
    assert_int_equal(txn_commit(e, "g", 3, -1, NULL, "t", 2, 30), 0); /* open at the restart */
    assert_int_equal(tu_commit(e, "g", -1, NULL, "t", 3, 40, ""), 0);
    int32_t p = part_of(e, "g");

    group_coordinator_free(e->coord);
    tu_env_start(e);
    group_coordinator_set_append_txn(e->coord, append_txn);
    group_coordinator_load_begin(e->coord, p, e->now);
    for (int i = 0; i < e->nrecs; i++) {
        proto_bytes_t k = {e->recs[i].key, e->recs[i].klen}, v = {e->recs[i].val, e->recs[i].vlen};
        if (rec_pid[i] >= 0)
            assert_int_equal(group_coordinator_replay_txn(e->coord, p, rec_pid[i], k, v, e->now), 0);
        else
            assert_int_equal(group_coordinator_replay(e->coord, p, k, v, e->now), 0);
    }
    /* The control batches the log holds after them. */
    group_txn_complete(e->coord, p, 1, true, e->now);
    group_txn_complete(e->coord, p, 2, false, e->now);
    group_coordinator_load_end(e->coord, p, e->now);

    assert_int_equal(fetch(e, "g", "t", 0, true, &off), 0);
    assert_int_equal(off, 10);
    assert_int_equal(fetch(e, "g", "t", 1, true, &off), 0);
    assert_int_equal(off, -1);
    assert_int_equal(fetch(e, "g", "t", 2, true, &off), GROUP_ERR_UNSTABLE_OFFSET_COMMIT);
    assert_int_equal(fetch(e, "g", "t", 3, true, &off), 0);
    assert_int_equal(off, 40);
    /* The transaction coordinator aborts the open one after its restart. */
    group_txn_complete(e->coord, p, 3, false, e->now);
    assert_int_equal(fetch(e, "g", "t", 2, true, &off), 0);
    assert_int_equal(off, -1);
    assert_int_equal(group_txn_pending_count(e->coord, S("g")), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(txn_offsets_stay_pending_until_the_commit_marker, setup, teardown),
        cmocka_unit_test_setup_teardown(txn_offsets_vanish_on_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(a_later_plain_commit_wins_over_an_earlier_transactional_one, setup, teardown),
        cmocka_unit_test_setup_teardown(txn_commit_v3_is_validated_like_offset_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(txn_commit_errors_and_a_failed_append_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_offsets_keep_their_group_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_stages_transactional_records_and_markers_settle_them, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
