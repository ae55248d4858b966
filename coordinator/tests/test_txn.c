#include "txn_test_util.h"

#include "protocol/writer.h"

static int setup(void **state)
{
    tt_env_t *e = calloc(1, sizeof(*e));
    tt_env_init(e);
    tt_env_start(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    tt_env_t *e = *state;
    tt_env_fini(e);
    free(e);
    return 0;
}

/* A transactional producer with one partition added: Ongoing. */
static void make_ongoing(tt_env_t *e, const char *tid, int64_t *pid, int16_t *epoch)
{
    assert_int_equal(tt_init(e, tid, pid, epoch), TXN_ERR_NONE);
    assert_int_equal(tt_add(e, tid, *pid, *epoch, "t", 0), TXN_ERR_NONE);
    assert_int_equal(txn_state_of(e->coord, S(tid)), TXN_ONGOING);
}

/* Takes the queued marker jobs, asserting there is exactly one, and copies its fields out. */
static txn_marker_job_t take_one_job(tt_env_t *e)
{
    txn_marker_job_t *jobs;
    int32_t n;
    txn_take_pending_markers(e->coord, &e->arena, &jobs, &n, e->now);
    assert_int_equal(n, 1);
    return jobs[0];
}

/* ---- InitProducerId ---- */

static void idempotent_init_always_gets_a_fresh_id_with_epoch_zero(void **state)
{
    tt_env_t *e = *state;
    int64_t a, b;
    int16_t ea, eb;
    assert_int_equal(tt_init(e, NULL, &a, &ea), TXN_ERR_NONE);
    assert_int_equal(tt_init(e, NULL, &b, &eb), TXN_ERR_NONE);
    assert_int_equal(ea, 0);
    assert_int_equal(eb, 0);
    assert_true(b > a);
    /* KIP-360 fields are ignored for idempotent producers, as Kafka does. */
    txn_init_pid_args_t args = {S(NULL), 0, b, 3, 4};
    txn_init_pid_result_t r;
    assert_int_equal(txn_init_producer_id(e->coord, &args, &r, e->now), TXN_ERR_NONE);
    assert_true(r.producer_id > b);
    assert_int_equal(r.producer_epoch, 0);
    /* Only one of producer id / epoch: INVALID_REQUEST. */
    args = (txn_init_pid_args_t){S(NULL), 0, 5, -1, 4};
    assert_int_equal(txn_init_producer_id(e->coord, &args, &r, e->now), TXN_ERR_INVALID_REQUEST);
    assert_int_equal(r.producer_id, -1);
    /* One block record covers all of these ids. */
    assert_int_equal(e->nrecs, 1);
    assert_int_equal(e->recs[0].partition, 0);
}

static void init_validates_transactional_id_and_timeout(void **state)
{
    tt_env_t *e = *state;
    txn_init_pid_result_t r;
    txn_init_pid_args_t a = {S(""), 60000, -1, -1, 4};
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_INVALID_REQUEST);
    a = (txn_init_pid_args_t){S("tx"), 900001, -1, -1, 4};
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_INVALID_TRANSACTION_TIMEOUT);
    a.transaction_timeout_ms = 0;
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_INVALID_TRANSACTION_TIMEOUT);
    a.transaction_timeout_ms = 900000;
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_NONE);
    assert_int_equal(r.producer_epoch, 0);
    assert_int_equal(txn_count(e->coord), 1);
}

static void init_bumps_the_epoch_from_empty_and_complete(void **state)
{
    tt_env_t *e = *state;
    int64_t pid, pid2;
    int16_t epoch, epoch2;
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    assert_int_equal(epoch, 0);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_EMPTY);
    assert_int_equal(tt_init(e, "tx", &pid2, &epoch2), TXN_ERR_NONE);
    assert_int_equal(pid2, pid);
    assert_int_equal(epoch2, 1);
    /* From CompleteCommit. */
    assert_int_equal(tt_add(e, "tx", pid, 1, "t", 0), TXN_ERR_NONE);
    txn_end_result_t res;
    assert_int_equal(tt_end(e, "tx", pid, 1, true, &res), TXN_ERR_NONE);
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, 1, e->now), TXN_ERR_NONE);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_COMPLETE_COMMIT);
    assert_int_equal(tt_init(e, "tx", &pid2, &epoch2), TXN_ERR_NONE);
    assert_int_equal(epoch2, 2);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_EMPTY);
}

static void init_while_prepared_answers_concurrent_transactions(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    make_ongoing(e, "tx", &pid, &epoch);
    txn_end_result_t res;
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, &res), TXN_ERR_NONE);
    assert_int_equal(tt_init(e, "tx", NULL, NULL), TXN_ERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_PREPARE_COMMIT);
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, epoch, e->now), TXN_ERR_NONE);
    int16_t e2;
    assert_int_equal(tt_init(e, "tx", NULL, &e2), TXN_ERR_NONE);
    assert_int_equal(e2, epoch + 1);
}

static void second_init_fences_the_open_transaction_and_aborts_it(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    make_ongoing(e, "tx", &pid, &epoch);
    assert_int_equal(tt_add(e, "tx", pid, epoch, "u", 3), TXN_ERR_NONE);

    /* The new producer: the old transaction is aborted with a fenced epoch; retry later. */
    assert_int_equal(tt_init(e, "tx", NULL, NULL), TXN_ERR_CONCURRENT_TRANSACTIONS);
    txn_description_t d = tt_describe(e, "tx");
    assert_int_equal(d.state, TXN_PREPARE_ABORT);
    assert_int_equal(d.producer_epoch, epoch + 1);
    txn_marker_job_t job = take_one_job(e);
    assert_false(job.commit);
    assert_int_equal(job.producer_id, pid);
    assert_int_equal(job.producer_epoch, epoch + 1);
    assert_int_equal(job.partitions_count, 2);
    assert_true(tt_eq(job.transactional_id, "tx"));
    /* Handed out once. */
    txn_marker_job_t *jobs;
    int32_t n;
    txn_take_pending_markers(e->coord, &e->arena, &jobs, &n, e->now);
    assert_int_equal(n, 0);

    /* The old producer is fenced everywhere. */
    assert_int_equal(tt_add(e, "tx", pid, epoch, "t", 1), TXN_ERR_PRODUCER_FENCED);
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_PRODUCER_FENCED);
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, epoch, S("t"), 0), TXN_ERR_PRODUCER_FENCED);
    /* Retrying before the markers are written is still refused. */
    assert_int_equal(tt_init(e, "tx", NULL, NULL), TXN_ERR_CONCURRENT_TRANSACTIONS);

    assert_int_equal(txn_markers_written(e->coord, S("tx"), job.producer_id, job.producer_epoch, e->now),
                     TXN_ERR_NONE);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_COMPLETE_ABORT);
    int64_t pid2;
    int16_t epoch2;
    assert_int_equal(tt_init(e, "tx", &pid2, &epoch2), TXN_ERR_NONE);
    assert_int_equal(pid2, pid);
    assert_int_equal(epoch2, epoch + 2);
    /* A stale acknowledgement is refused. */
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, epoch + 1, e->now), TXN_ERR_INVALID_TXN_STATE);
}

static void kip360_supplied_producer_id_and_epoch(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    txn_init_pid_result_t r;
    /* The current epoch: bumped. */
    txn_init_pid_args_t a = {S("tx"), 60000, pid, epoch, 4};
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_NONE);
    assert_int_equal(r.producer_id, pid);
    assert_int_equal(r.producer_epoch, epoch + 1);
    /* A retry of that call (the answer was lost): the same epoch again. */
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_NONE);
    assert_int_equal(r.producer_epoch, epoch + 1);
    /* An older epoch is fenced; before v4 that is INVALID_PRODUCER_EPOCH. */
    a.producer_epoch = (int16_t)(epoch + 5);
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_PRODUCER_FENCED);
    a.api_version = 3;
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_INVALID_PRODUCER_EPOCH);
    /* Another producer id is fenced. */
    a = (txn_init_pid_args_t){S("tx"), 60000, pid + 100, 0, 4};
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_PRODUCER_FENCED);
    assert_int_equal(r.producer_id, -1);
}

/* A Kafka v0 value for tests: one topic "t" with the given partitions (n < 0: null). */
static proto_bytes_t v0_value(buf_t *b, int64_t pid, int16_t epoch, int32_t timeout, int8_t status,
                              const int32_t *parts, int32_t n, int64_t update, int64_t start)
{
    b->len = 0;
    proto_writer_t wr;
    proto_writer_init(&wr, b);
    proto_wr_i16(&wr, 0);
    proto_wr_i64(&wr, pid);
    proto_wr_i16(&wr, epoch);
    proto_wr_i32(&wr, timeout);
    proto_wr_i8(&wr, status);
    if (n < 0) {
        proto_wr_i32(&wr, -1);
    } else {
        proto_wr_i32(&wr, 1);
        proto_wr_string(&wr, S("t"));
        proto_wr_i32(&wr, n);
        for (int32_t i = 0; i < n; i++)
            proto_wr_i32(&wr, parts[i]);
    }
    proto_wr_i64(&wr, update);
    proto_wr_i64(&wr, start);
    return (proto_bytes_t){b->data, (int32_t)b->len};
}

static proto_bytes_t key_of(buf_t *b, const char *tid)
{
    b->len = 0;
    proto_writer_t wr;
    proto_writer_init(&wr, b);
    proto_wr_i16(&wr, 0);
    proto_wr_string(&wr, S(tid));
    return (proto_bytes_t){b->data, (int32_t)b->len};
}

static void exhausted_epoch_rotates_the_producer_id(void **state)
{
    tt_env_t *e = *state;
    buf_t kb, vb;
    buf_init(&kb);
    buf_init(&vb);
    int32_t p = txn_partition_for(e->coord, S("tx"));
    txn_coordinator_load_begin(e->coord, p, e->now);
    assert_int_equal(txn_coordinator_replay(e->coord, p, key_of(&kb, "tx"),
                                            v0_value(&vb, 7, INT16_MAX - 1, 60000, TXN_COMPLETE_COMMIT, NULL, 0,
                                                     e->now, e->now),
                                            e->now),
                     0);
    txn_coordinator_load_end(e->coord, p, e->now);
    /* KIP-360 recovery with the exhausted epoch: a new producer id at epoch 0. */
    txn_init_pid_args_t a = {S("tx"), 60000, 7, INT16_MAX - 1, 4};
    txn_init_pid_result_t r;
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_NONE);
    int64_t pid = r.producer_id;
    assert_true(pid > 7); /* ids seen in the log are never handed out */
    assert_int_equal(r.producer_epoch, 0);
    /* The old id no longer maps. */
    assert_int_equal(txn_partition_in_transaction(e->coord, 7, INT16_MAX - 1, S("t"), 0),
                     TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    /* A retry of that call (its answer lost) is not fenced: it gets the new id again. */
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_NONE);
    assert_int_equal(r.producer_id, pid);
    assert_int_equal(r.producer_epoch, 0);
    /* Without a supplied id, the next bump is ordinary. */
    int16_t epoch;
    assert_int_equal(tt_init(e, "tx", NULL, &epoch), TXN_ERR_NONE);
    assert_int_equal(epoch, 1);
    /* An ordinary InitProducerId at an exhausted epoch rotates too. */
    assert_int_equal(txn_coordinator_replay(e->coord, p, key_of(&kb, "tx2"),
                                            v0_value(&vb, 8, INT16_MAX - 1, 60000, TXN_EMPTY, NULL, -1, e->now, -1),
                                            e->now),
                     0);
    int64_t pid2;
    assert_int_equal(tt_init(e, "tx2", &pid2, &epoch), TXN_ERR_NONE);
    assert_true(pid2 > pid);
    assert_int_equal(epoch, 0);
    buf_fini(&kb);
    buf_fini(&vb);
}

/* ---- AddPartitionsToTxn / AddOffsetsToTxn ---- */

static void add_partitions_starts_the_transaction_and_writes_it(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    e->now += 5;
    txn_partition_t p[3] = {{S("b"), 1, 0}, {S("a"), 0, 0}, {S("b"), 0, 0}};
    assert_int_equal(txn_add_partitions(e->coord, S("tx"), pid, epoch, p, 3, 3, e->now), TXN_ERR_NONE);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p[i].error_code, 0);
    txn_description_t d = tt_describe(e, "tx");
    assert_int_equal(d.state, TXN_ONGOING);
    assert_int_equal(d.partitions_count, 3);
    assert_int_equal(d.transaction_start_ms, e->now);

    /* The last record: key v0 "tx", value v0 Ongoing with topics grouped. */
    tt_rec_t *rec = &e->recs[e->nrecs - 1];
    assert_int_equal(rec->partition, txn_partition_for(e->coord, S("tx")));
    txn_rec_key_t k;
    assert_int_equal(txn_rec_parse_key((proto_bytes_t){rec->key, rec->klen}, &k), 0);
    assert_int_equal(k.kind, TXN_REC_METADATA);
    assert_true(tt_eq(k.transactional_id, "tx"));
    txn_rec_value_t v;
    assert_int_equal(txn_rec_parse_value((proto_bytes_t){rec->val, rec->vlen}, &v), 0);
    assert_int_equal(v.producer_id, pid);
    assert_int_equal(v.producer_epoch, epoch);
    assert_int_equal(v.transaction_status, TXN_ONGOING);
    assert_int_equal(v.transaction_timeout_ms, 60000);
    assert_int_equal(v.partitions_count, 3);
    assert_int_equal(v.start_timestamp_ms, e->now);
    assert_int_equal(rec->val[1], 0); /* version 0 */

    /* Adding partitions already in: no record. */
    int before = e->nrecs;
    assert_int_equal(tt_add(e, "tx", pid, epoch, "a", 0), TXN_ERR_NONE);
    assert_int_equal(e->nrecs, before);
    assert_int_equal(tt_add(e, "tx", pid, epoch, "a", 1), TXN_ERR_NONE);
    assert_int_equal(e->nrecs, before + 1);
    assert_int_equal(tt_describe(e, "tx").transaction_start_ms, e->now); /* unchanged: same transaction */
}

static void add_partitions_errors(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    assert_int_equal(tt_add(e, "", pid, epoch, "t", 0), TXN_ERR_INVALID_REQUEST);
    assert_int_equal(tt_add(e, "nope", pid, epoch, "t", 0), TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(tt_add(e, "tx", pid + 1, epoch, "t", 0), TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(tt_add(e, "tx", pid, (int16_t)(epoch + 1), "t", 0), TXN_ERR_PRODUCER_FENCED);
    /* v0/v1 know no PRODUCER_FENCED. */
    txn_partition_t p = {S("t"), 0, 0};
    assert_int_equal(txn_add_partitions(e->coord, S("tx"), pid, (int16_t)(epoch + 1), &p, 1, 1, e->now),
                     TXN_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(p.error_code, TXN_ERR_INVALID_PRODUCER_EPOCH);
    /* A partition the broker refused: nothing added, the others not attempted. */
    txn_partition_t q[2] = {{S("t"), 0, 0}, {S("gone"), 0, 3}};
    assert_int_equal(txn_add_partitions(e->coord, S("tx"), pid, epoch, q, 2, 3, e->now),
                     TXN_ERR_OPERATION_NOT_ATTEMPTED);
    assert_int_equal(q[0].error_code, TXN_ERR_OPERATION_NOT_ATTEMPTED);
    assert_int_equal(q[1].error_code, 3);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_EMPTY);
    /* Prepare*: CONCURRENT_TRANSACTIONS. */
    assert_int_equal(tt_add(e, "tx", pid, epoch, "t", 0), TXN_ERR_NONE);
    assert_int_equal(tt_end(e, "tx", pid, epoch, false, NULL), TXN_ERR_NONE);
    assert_int_equal(tt_add(e, "tx", pid, epoch, "t", 1), TXN_ERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(txn_add_offsets(e->coord, S("tx"), pid, epoch, 4, 3, e->now), TXN_ERR_CONCURRENT_TRANSACTIONS);
}

static void add_offsets_adds_the_groups_offsets_partition(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    assert_int_equal(txn_add_offsets(e->coord, S("tx"), pid, epoch, 17, 3, e->now), TXN_ERR_NONE);
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, epoch, S("__consumer_offsets"), 17), TXN_ERR_NONE);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_ONGOING);
    assert_int_equal(txn_add_offsets(e->coord, S("tx"), pid, (int16_t)(epoch + 1), 17, 1, e->now),
                     TXN_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(txn_add_offsets(e->coord, S("tx"), pid, (int16_t)(epoch + 1), 17, 2, e->now),
                     TXN_ERR_PRODUCER_FENCED);
    assert_int_equal(txn_add_offsets(e->coord, S("other"), pid, epoch, 17, 2, e->now),
                     TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
}

/* ---- EndTxn ---- */

static void end_txn_commit_goes_through_prepare_and_complete(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    make_ongoing(e, "tx", &pid, &epoch);
    assert_int_equal(txn_add_offsets(e->coord, S("tx"), pid, epoch, 9, 0, e->now), TXN_ERR_NONE);
    txn_end_result_t res;
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, &res), TXN_ERR_NONE);
    assert_true(res.has_markers);
    assert_true(res.markers.commit);
    assert_int_equal(res.markers.producer_id, pid);
    assert_int_equal(res.markers.producer_epoch, epoch);
    assert_int_equal(res.markers.partitions_count, 2);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_PREPARE_COMMIT);
    /* EndTxn's markers are not queued a second time. */
    assert_false(txn_has_pending_markers(e->coord, e->now));

    /* While prepared: the same result is CONCURRENT_TRANSACTIONS, the other INVALID_TXN_STATE. */
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, &res), TXN_ERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(tt_end(e, "tx", pid, epoch, false, &res), TXN_ERR_INVALID_TXN_STATE);
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, epoch, S("t"), 0),
                     TXN_ERR_CONCURRENT_TRANSACTIONS);

    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, epoch, e->now), TXN_ERR_NONE);
    txn_description_t d = tt_describe(e, "tx");
    assert_int_equal(d.state, TXN_COMPLETE_COMMIT);
    assert_int_equal(d.partitions_count, 0);
    /* Completed: the same result again is NONE without markers, the other INVALID_TXN_STATE. */
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, &res), TXN_ERR_NONE);
    assert_false(res.has_markers);
    assert_int_equal(tt_end(e, "tx", pid, epoch, false, &res), TXN_ERR_INVALID_TXN_STATE);
    /* The next transaction starts from CompleteCommit. */
    assert_int_equal(tt_add(e, "tx", pid, epoch, "t", 5), TXN_ERR_NONE);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_ONGOING);
}

static void end_txn_abort_and_errors(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    /* Empty: either result is INVALID_TXN_STATE. */
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_INVALID_TXN_STATE);
    assert_int_equal(tt_end(e, "tx", pid, epoch, false, NULL), TXN_ERR_INVALID_TXN_STATE);
    assert_int_equal(tt_end(e, "", pid, epoch, false, NULL), TXN_ERR_INVALID_REQUEST);
    assert_int_equal(tt_end(e, "zz", pid, epoch, false, NULL), TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(tt_end(e, "tx", pid + 1, epoch, false, NULL), TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(tt_end(e, "tx", pid, (int16_t)(epoch + 1), false, NULL), TXN_ERR_PRODUCER_FENCED);
    txn_end_result_t res;
    assert_int_equal(txn_end(e->coord, S("tx"), pid, (int16_t)(epoch + 1), false, 1, &e->arena, &res, e->now),
                     TXN_ERR_INVALID_PRODUCER_EPOCH);

    assert_int_equal(tt_add(e, "tx", pid, epoch, "t", 0), TXN_ERR_NONE);
    assert_int_equal(tt_end(e, "tx", pid, epoch, false, &res), TXN_ERR_NONE);
    assert_true(res.has_markers);
    assert_false(res.markers.commit);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_PREPARE_ABORT);
    assert_int_equal(tt_end(e, "tx", pid, epoch, false, NULL), TXN_ERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_INVALID_TXN_STATE);
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, epoch, e->now), TXN_ERR_NONE);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_COMPLETE_ABORT);
    assert_int_equal(tt_end(e, "tx", pid, epoch, false, NULL), TXN_ERR_NONE);
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_INVALID_TXN_STATE);
    /* The epoch was not bumped by a client abort (transaction version 1). */
    assert_int_equal(tt_describe(e, "tx").producer_epoch, epoch);
}

static void failed_marker_writes_come_back_after_the_backoff(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    make_ongoing(e, "tx", &pid, &epoch);
    txn_end_result_t res;
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, &res), TXN_ERR_NONE);
    txn_markers_failed(e->coord, S("tx"), pid, epoch, e->now);
    assert_false(txn_has_pending_markers(e->coord, e->now));
    assert_int_equal(txn_coordinator_next_deadline(e->coord), e->now + e->cfg.marker_retry_backoff_ms);
    tt_advance(e, e->cfg.marker_retry_backoff_ms);
    txn_marker_job_t job = take_one_job(e);
    assert_true(job.commit);
    assert_int_equal(job.partitions_count, 1);
    assert_true(tt_eq(job.partitions[0].topic, "t"));
    /* The Complete* write fails: the markers are not wanted again, the write is retried by tick. */
    e->fail_appends = 56;
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, epoch, e->now), TXN_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_PREPARE_COMMIT);
    e->fail_appends = 0;
    assert_int_equal(txn_coordinator_next_deadline(e->coord), e->now + e->cfg.marker_retry_backoff_ms);
    tt_advance(e, e->cfg.marker_retry_backoff_ms);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_COMPLETE_COMMIT);
    assert_false(txn_has_pending_markers(e->coord, e->now + 100000));
}

/* ---- timers ---- */

static void timed_out_transaction_is_aborted_with_an_epoch_bump(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    txn_init_pid_args_t a = {S("tx"), 5000, -1, -1, 4};
    txn_init_pid_result_t r;
    assert_int_equal(txn_init_producer_id(e->coord, &a, &r, e->now), TXN_ERR_NONE);
    pid = r.producer_id;
    epoch = r.producer_epoch;
    /* No open transaction: no abort check is scheduled. */
    assert_true(txn_coordinator_next_deadline(e->coord) > e->now + 3600000 - 1);
    assert_int_equal(tt_add(e, "tx", pid, epoch, "t", 0), TXN_ERR_NONE);
    assert_int_equal(txn_coordinator_next_deadline(e->coord), TT_T0 + 1000);
    tt_advance(e, 5000);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_ONGOING); /* not past the timeout yet */
    tt_advance(e, 1000);
    txn_description_t d = tt_describe(e, "tx");
    assert_int_equal(d.state, TXN_PREPARE_ABORT);
    assert_int_equal(d.producer_epoch, epoch + 1);
    assert_true(txn_has_pending_markers(e->coord, e->now));
    txn_marker_job_t job = take_one_job(e);
    assert_false(job.commit);
    assert_int_equal(job.producer_epoch, epoch + 1);
    /* The timed-out producer is fenced. */
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_PRODUCER_FENCED);
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, job.producer_epoch, e->now), TXN_ERR_NONE);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_COMPLETE_ABORT);
}

static void failed_fence_write_leaves_the_transaction_open_and_retries(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    make_ongoing(e, "tx", &pid, &epoch);
    e->fail_appends = 56;
    assert_int_equal(tt_init(e, "tx", NULL, NULL), TXN_ERR_COORDINATOR_NOT_AVAILABLE);
    txn_description_t d = tt_describe(e, "tx");
    assert_int_equal(d.state, TXN_ONGOING);
    assert_int_equal(d.producer_epoch, epoch);
    e->fail_appends = 0;
    e->now += 61000;
    tt_advance(e, 1000);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_PREPARE_ABORT);
}

static void idle_transactional_ids_expire(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    make_ongoing(e, "busy", &pid, &epoch);
    e->now += e->cfg.transactional_id_expiration_ms;
    /* The open transaction is long timed out; both get handled by the checks due. */
    txn_coordinator_tick(e->coord, e->now);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_DEAD);
    assert_int_equal(txn_state_of(e->coord, S("busy")), TXN_PREPARE_ABORT);
    assert_int_equal(txn_count(e->coord), 1);
    tt_rec_t *tomb = NULL;
    for (int i = 0; i < e->nrecs; i++)
        if (e->recs[i].val == NULL)
            tomb = &e->recs[i];
    assert_non_null(tomb);
    assert_int_equal(tomb->partition, txn_partition_for(e->coord, S("tx")));
    /* A restart honours the tombstone. */
    tt_restart(e);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_DEAD);
    assert_int_equal(txn_describe(e->coord, S("tx"), &e->arena, &(txn_description_t){0}),
                     TXN_ERR_TRANSACTIONAL_ID_NOT_FOUND);
}

/* ---- restart ---- */

static void restart_aborts_open_transactions_and_fences_their_producer(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    make_ongoing(e, "tx", &pid, &epoch);
    assert_int_equal(tt_add(e, "tx", pid, epoch, "u", 2), TXN_ERR_NONE);
    tt_restart(e);
    txn_description_t d = tt_describe(e, "tx");
    assert_int_equal(d.state, TXN_PREPARE_ABORT);
    assert_int_equal(d.producer_id, pid);
    assert_int_equal(d.producer_epoch, epoch + 1);
    assert_int_equal(d.partitions_count, 2);
    txn_marker_job_t job = take_one_job(e);
    assert_false(job.commit);
    assert_int_equal(job.partitions_count, 2);
    /* The old producer cannot commit what the restart interrupted. */
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_PRODUCER_FENCED);
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, (int16_t)(epoch + 1), e->now), TXN_ERR_NONE);
    int16_t epoch2;
    assert_int_equal(tt_init(e, "tx", NULL, &epoch2), TXN_ERR_NONE);
    assert_int_equal(epoch2, epoch + 2);
    /* And a second restart keeps all of it. */
    tt_restart(e);
    d = tt_describe(e, "tx");
    assert_int_equal(d.state, TXN_EMPTY);
    assert_int_equal(d.producer_epoch, epoch + 2);
    assert_false(txn_has_pending_markers(e->coord, e->now));
}

static void restart_finishes_a_prepared_commit(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    make_ongoing(e, "tx", &pid, &epoch);
    txn_end_result_t res;
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, &res), TXN_ERR_NONE);
    tt_restart(e); /* before the markers were acknowledged */
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_PREPARE_COMMIT);
    txn_marker_job_t job = take_one_job(e);
    assert_true(job.commit);
    assert_int_equal(job.producer_epoch, epoch);
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, epoch, e->now), TXN_ERR_NONE);
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_NONE);
}

static void producer_ids_are_never_reused_across_restarts(void **state)
{
    tt_env_t *e = *state;
    e->cfg.producer_id_block_size = 10;
    txn_coordinator_free(e->coord);
    tt_env_start(e);
    int64_t max = -1, pid;
    for (int i = 0; i < 25; i++) {
        assert_int_equal(tt_init(e, NULL, &pid, NULL), TXN_ERR_NONE);
        assert_true(pid > max);
        max = pid;
    }
    assert_int_equal(e->nrecs, 3); /* blocks [0,10) [10,20) [20,30) */
    for (int round = 0; round < 3; round++) {
        tt_restart(e);
        assert_int_equal(tt_init(e, NULL, &pid, NULL), TXN_ERR_NONE);
        assert_true(pid > max);
        max = pid;
        char tid[16];
        snprintf(tid, sizeof(tid), "tx%d", round);
        assert_int_equal(tt_init(e, tid, &pid, NULL), TXN_ERR_NONE);
        assert_true(pid > max);
        max = pid;
    }
    /* Failed reservation: no id handed out. */
    tt_restart(e);
    e->fail_appends = 56;
    assert_int_equal(tt_init(e, NULL, &pid, NULL), TXN_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(pid, -1);
    assert_int_equal(tt_init(e, "new", &pid, NULL), TXN_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(txn_count(e->coord), 3);
    e->fail_appends = 0;
}

static void loading_partitions_answer_load_in_progress(void **state)
{
    tt_env_t *e = *state;
    int32_t p = txn_partition_for(e->coord, S("tx"));
    assert_int_not_equal(p, 0);
    txn_coordinator_load_begin(e->coord, p, e->now);
    assert_int_equal(tt_init(e, "tx", NULL, NULL), TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(tt_add(e, "tx", 0, 0, "t", 0), TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(tt_init(e, NULL, NULL, NULL), TXN_ERR_NONE);
    txn_coordinator_load_end(e->coord, p, e->now);
    txn_coordinator_load_begin(e->coord, 0, e->now);
    assert_int_equal(tt_init(e, NULL, NULL, NULL), TXN_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    txn_coordinator_load_end(e->coord, 0, e->now);
    assert_int_equal(tt_init(e, "tx", NULL, NULL), TXN_ERR_NONE);
}

static void failed_append_changes_nothing(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    e->fail_appends = 16; /* NOT_COORDINATOR passes through */
    assert_int_equal(tt_add(e, "tx", pid, epoch, "t", 0), TXN_ERR_NOT_COORDINATOR);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_EMPTY);
    assert_int_equal(tt_init(e, "tx", NULL, NULL), TXN_ERR_NOT_COORDINATOR);
    assert_int_equal(tt_describe(e, "tx").producer_epoch, epoch);
    e->fail_appends = 0;
    make_ongoing(e, "tx", &pid, &epoch);
    e->fail_appends = 56;
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(txn_state_of(e->coord, S("tx")), TXN_ONGOING);
    e->fail_appends = 0;
}

/* ---- the Produce check ---- */

static void produce_check_follows_the_transaction(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(txn_partition_in_transaction(e->coord, 99, 0, S("t"), 0), TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(tt_init(e, "tx", &pid, &epoch), TXN_ERR_NONE);
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, epoch, S("t"), 0), TXN_ERR_TRANSACTION_ABORTABLE);
    assert_int_equal(tt_add(e, "tx", pid, epoch, "t", 0), TXN_ERR_NONE);
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, epoch, S("t"), 0), TXN_ERR_NONE);
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, epoch, S("t"), 1), TXN_ERR_TRANSACTION_ABORTABLE);
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, (int16_t)(epoch - 1), S("t"), 0),
                     TXN_ERR_PRODUCER_FENCED);
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_NONE);
    assert_int_equal(txn_markers_written(e->coord, S("tx"), pid, epoch, e->now), TXN_ERR_NONE);
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, epoch, S("t"), 0), TXN_ERR_TRANSACTION_ABORTABLE);
}

/* AddPartitionsToTxn v4 verify_only: answers without writing, per partition. */
static void verify_only_checks_without_adding(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    txn_partition_t p[2] = {{S("t"), 0, 0}, {S("t"), 1, 0}};
    assert_int_equal(txn_verify_partitions(e->coord, S("tx"), 7, 0, p, 2, e->now), TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(p[1].error_code, TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    make_ongoing(e, "tx", &pid, &epoch);
    int before = e->nrecs;
    p[0].error_code = p[1].error_code = 0;
    assert_int_equal(txn_verify_partitions(e->coord, S("tx"), pid, epoch, p, 2, e->now), TXN_ERR_NONE);
    assert_int_equal(p[0].error_code, TXN_ERR_NONE);
    assert_int_equal(p[1].error_code, TXN_ERR_TRANSACTION_ABORTABLE);
    assert_int_equal(e->nrecs, before); /* nothing written, nothing added */
    assert_int_equal(txn_partition_in_transaction(e->coord, pid, epoch, S("t"), 1), TXN_ERR_TRANSACTION_ABORTABLE);
    p[0].error_code = p[1].error_code = 0;
    assert_int_equal(txn_verify_partitions(e->coord, S("tx"), pid, (int16_t)(epoch + 1), p, 2, e->now),
                     TXN_ERR_PRODUCER_FENCED);
    assert_int_equal(p[0].error_code, TXN_ERR_PRODUCER_FENCED);
    /* A partition that failed the broker's own check leaves the rest not attempted. */
    p[0].error_code = 3;
    p[1].error_code = 0;
    assert_int_equal(txn_verify_partitions(e->coord, S("tx"), pid, epoch, p, 2, e->now),
                     TXN_ERR_OPERATION_NOT_ATTEMPTED);
    assert_int_equal(p[0].error_code, 3);
    assert_int_equal(p[1].error_code, TXN_ERR_OPERATION_NOT_ATTEMPTED);
    assert_int_equal(tt_end(e, "tx", pid, epoch, true, NULL), TXN_ERR_NONE);
    p[0].error_code = p[1].error_code = 0;
    assert_int_equal(txn_verify_partitions(e->coord, S("tx"), pid, epoch, p, 1, e->now),
                     TXN_ERR_CONCURRENT_TRANSACTIONS);
}

/* ---- records ---- */

static void records_parse_kafka_versions_and_reject_truncation(void **state)
{
    tt_env_t *e = *state;
    buf_t b;
    buf_init(&b);
    int32_t parts[] = {0, 4};
    proto_bytes_t v = v0_value(&b, 12, 3, 1000, TXN_ONGOING, parts, 2, 5, 6);
    txn_rec_value_t out;
    assert_int_equal(txn_rec_parse_value(v, &out), 0);
    assert_int_equal(out.producer_id, 12);
    assert_int_equal(out.partitions_count, 2);
    assert_int_equal(out.last_update_timestamp_ms, 5);
    assert_int_equal(out.start_timestamp_ms, 6);
    for (int32_t n = 0; n < v.len; n++)
        assert_int_not_equal(txn_rec_parse_value((proto_bytes_t){v.ptr, n}, &out), 0);
    /* Null partitions (Empty). */
    assert_int_equal(txn_rec_parse_value(v0_value(&b, 12, 3, 1000, TXN_EMPTY, NULL, -1, 5, -1), &out), 0);
    assert_int_equal(out.partitions_count, 0);
    /* A bad status. */
    assert_int_not_equal(txn_rec_parse_value(v0_value(&b, 12, 3, 1000, 9, NULL, -1, 5, -1), &out), 0);

    /* v1: compact, tagged previous_producer_id and client_transaction_version. */
    b.len = 0;
    proto_writer_t wr;
    proto_writer_init(&wr, &b);
    proto_wr_i16(&wr, 1);
    proto_wr_i64(&wr, 40);
    proto_wr_i16(&wr, 2);
    proto_wr_i32(&wr, 60000);
    proto_wr_i8(&wr, TXN_PREPARE_COMMIT);
    proto_wr_uvarint(&wr, 2); /* one topic */
    proto_wr_compact_string(&wr, S("out"));
    proto_wr_uvarint(&wr, 3); /* two ids */
    proto_wr_i32(&wr, 1);
    proto_wr_i32(&wr, 2);
    proto_wr_uvarint(&wr, 0); /* element tags */
    proto_wr_i64(&wr, 77);
    proto_wr_i64(&wr, 70);
    proto_wr_uvarint(&wr, 2);
    proto_wr_uvarint(&wr, 0);
    proto_wr_uvarint(&wr, 8);
    proto_wr_i64(&wr, 39);
    proto_wr_uvarint(&wr, 2);
    proto_wr_uvarint(&wr, 2);
    proto_wr_i16(&wr, 0);
    v = (proto_bytes_t){b.data, (int32_t)b.len};
    assert_int_equal(txn_rec_parse_value(v, &out), 0);
    assert_int_equal(out.previous_producer_id, 39);
    assert_int_equal(out.partitions_count, 2);
    assert_int_equal(out.last_update_timestamp_ms, 77);

    /* Replaying it gives a prepared commit whose markers are queued. */
    buf_t kb;
    buf_init(&kb);
    int32_t p = txn_partition_for(e->coord, S("kafka"));
    txn_coordinator_load_begin(e->coord, p, e->now);
    assert_int_equal(txn_coordinator_replay(e->coord, p, key_of(&kb, "kafka"), v, e->now), 0);
    /* Garbage is refused and changes nothing; unknown key versions are skipped. */
    assert_int_not_equal(txn_coordinator_replay(e->coord, p, key_of(&kb, "junk"), (proto_bytes_t){v.ptr, 9}, e->now),
                         0);
    uint8_t other_key[] = {0, 7, 0, 0};
    assert_int_equal(txn_coordinator_replay(e->coord, p, (proto_bytes_t){other_key, 4}, v, e->now), 0);
    assert_int_not_equal(txn_coordinator_replay(e->coord, p, (proto_bytes_t){other_key, 1}, v, e->now), 0);
    txn_coordinator_load_end(e->coord, p, e->now);
    assert_int_equal(txn_state_of(e->coord, S("junk")), TXN_DEAD);
    txn_marker_job_t job = take_one_job(e);
    assert_true(job.commit);
    assert_int_equal(job.producer_id, 40);
    assert_int_equal(job.partitions_count, 2);
    assert_true(tt_eq(job.partitions[0].topic, "out"));
    assert_true(txn_next_producer_id(e->coord) > 40);
    buf_fini(&kb);
    buf_fini(&b);
}

static void state_names_match_kafka(void **state)
{
    (void)state;
    assert_string_equal(txn_state_name(TXN_EMPTY), "Empty");
    assert_string_equal(txn_state_name(TXN_ONGOING), "Ongoing");
    assert_string_equal(txn_state_name(TXN_PREPARE_COMMIT), "PrepareCommit");
    assert_string_equal(txn_state_name(TXN_PREPARE_ABORT), "PrepareAbort");
    assert_string_equal(txn_state_name(TXN_COMPLETE_COMMIT), "CompleteCommit");
    assert_string_equal(txn_state_name(TXN_COMPLETE_ABORT), "CompleteAbort");
    assert_string_equal(txn_state_name(TXN_DEAD), "Dead");
    assert_string_equal(txn_state_name(TXN_PREPARE_EPOCH_FENCE), "PrepareEpochFence");
}

/* Kafka 3.9 never answers PRODUCER_FENCED to Produce: librdkafka 2.0.2 raises its fatal
 * "fenced" error only for INVALID_PRODUCER_EPOCH, and takes 90 as an abortable error. */
static void produce_answers_a_fenced_producer_invalid_producer_epoch(void **state)
{
    tt_env_t *e = *state;
    int64_t pid;
    int16_t epoch;
    make_ongoing(e, "tx", &pid, &epoch);
    assert_int_equal(tt_init(e, "tx", NULL, NULL), TXN_ERR_CONCURRENT_TRANSACTIONS); /* the fence */
    int16_t v = txn_partition_in_transaction(e->coord, pid, epoch, S("t"), 0);
    for (int16_t ver = 3; ver <= 11; ver++)
        assert_int_equal(txn_produce_error(v, ver), TXN_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(txn_offset_commit_error(v), TXN_ERR_INVALID_PRODUCER_EPOCH);
    /* While the fence's markers are pending, the new epoch's Produce is retried, not failed. */
    v = txn_partition_in_transaction(e->coord, pid, (int16_t)(epoch + 1), S("t"), 0);
    assert_int_equal(v, TXN_ERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(txn_produce_error(v, 7), TXN_ERR_NOT_ENOUGH_REPLICAS);
    assert_int_equal(txn_offset_commit_error(v), TXN_ERR_CONCURRENT_TRANSACTIONS);
    /* A partition never added: INVALID_TXN_STATE before Produce v11, TRANSACTION_ABORTABLE from it. */
    assert_int_equal(txn_produce_error(TXN_ERR_TRANSACTION_ABORTABLE, 10), TXN_ERR_INVALID_TXN_STATE);
    assert_int_equal(txn_produce_error(TXN_ERR_TRANSACTION_ABORTABLE, 11), TXN_ERR_TRANSACTION_ABORTABLE);
    assert_int_equal(txn_offset_commit_error(TXN_ERR_TRANSACTION_ABORTABLE), TXN_ERR_INVALID_TXN_STATE);
    assert_int_equal(txn_produce_error(TXN_ERR_INVALID_PRODUCER_ID_MAPPING, 7), TXN_ERR_INVALID_PRODUCER_ID_MAPPING);
    assert_int_equal(txn_produce_error(TXN_ERR_NONE, 7), TXN_ERR_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(idempotent_init_always_gets_a_fresh_id_with_epoch_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(init_validates_transactional_id_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(init_bumps_the_epoch_from_empty_and_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(init_while_prepared_answers_concurrent_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(second_init_fences_the_open_transaction_and_aborts_it, setup, teardown),
        cmocka_unit_test_setup_teardown(kip360_supplied_producer_id_and_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(exhausted_epoch_rotates_the_producer_id, setup, teardown),
        cmocka_unit_test_setup_teardown(add_partitions_starts_the_transaction_and_writes_it, setup, teardown),
        cmocka_unit_test_setup_teardown(add_partitions_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(add_offsets_adds_the_groups_offsets_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(end_txn_commit_goes_through_prepare_and_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(end_txn_abort_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_marker_writes_come_back_after_the_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(timed_out_transaction_is_aborted_with_an_epoch_bump, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_fence_write_leaves_the_transaction_open_and_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_transactional_ids_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_aborts_open_transactions_and_fences_their_producer, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_finishes_a_prepared_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(producer_ids_are_never_reused_across_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(loading_partitions_answer_load_in_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_append_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(produce_check_follows_the_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_only_checks_without_adding, setup, teardown),
        cmocka_unit_test_setup_teardown(produce_answers_a_fenced_producer_invalid_producer_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(records_parse_kafka_versions_and_reject_truncation, setup, teardown),
        cmocka_unit_test(state_names_match_kafka),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
