#include "log_test_util.h"

#include <limits.h>

#include "log/partition.h"
#include "log/producer_state.h"
#include "log/txn_index.h"

/*
 * Producer state: idempotent sequence rules, expiry, snapshots, rebuild from
 * the log, transactions (LSO, markers) and the aborted-transaction index.
 */

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
    int64_t clock;
} fixture_t;

static int64_t fake_now(void *arg)
{
    return *(const int64_t *)arg;
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    fx->clock = 1000000;
    fx->cfg = tu_config(1 << 20, 4096);
    fx->cfg.now_ms = fake_now;
    fx->cfg.now_arg = &fx->clock;
    fx->cfg.producer_id_expiration_ms = 60000;
    if (log_partition_open(fx->dir.part, &fx->cfg, &fx->p) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    log_partition_close(fx->p);
    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

static void reopen(fixture_t *fx, int clean, int64_t recovery_point)
{
    log_partition_close(fx->p);
    fx->p = NULL;
    fx->cfg.clean_shutdown = clean;
    fx->cfg.recovery_point = recovery_point;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

/* A batch of `records` records from a producer; attrs adds attribute bits. */
static uint8_t *pbatch(int64_t pid, int16_t epoch, int32_t seq, int32_t records, int16_t attrs, int64_t ts, size_t *len)
{
    uint8_t *b = tu_batch(records, ts, ts, 16, (uint8_t)seq, len);
    b[21] = (uint8_t)((uint16_t)attrs >> 8);
    b[22] = (uint8_t)attrs;
    tu_put64(b + 43, (uint64_t)pid);
    b[51] = (uint8_t)((uint16_t)epoch >> 8);
    b[52] = (uint8_t)epoch;
    tu_put32(b + 53, (uint32_t)seq);
    tu_put32(b + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(b, *len));
    return b;
}

/* Checked append; returns the status and fills *res. */
static int send(fixture_t *fx, int64_t pid, int16_t epoch, int32_t seq, int32_t records, int16_t attrs,
                log_append_result_t *res)
{
    size_t len;
    log_append_result_t local;
    uint8_t *b = pbatch(pid, epoch, seq, records, attrs, fx->clock, &len);
    int rc = log_partition_append_checked(fx->p, b, len, 0, res != NULL ? res : &local);
    free(b);
    return rc;
}

/* Appends a batch that must be accepted as new; returns its base offset. */
static int64_t send_ok(fixture_t *fx, int64_t pid, int16_t epoch, int32_t seq, int32_t records, int16_t attrs)
{
    log_append_result_t res;
    assert_int_equal(send(fx, pid, epoch, seq, records, attrs, &res), 0);
    assert_int_equal(res.duplicate, 0);
    return res.base_offset;
}

/* A transaction marker (control batch, one record), built as the broker will. */
static int marker(fixture_t *fx, int64_t pid, int16_t epoch, int16_t type, int32_t coordinator_epoch, int64_t *offset)
{
    uint8_t key[4] = {0, 0, (uint8_t)((uint16_t)type >> 8), (uint8_t)type};
    uint8_t val[6] = {0, 0};
    tu_put32(val + 2, (uint32_t)coordinator_epoch);
    proto_record_spec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.key.ptr = key;
    rec.key.len = 4;
    rec.value.ptr = val;
    rec.value.len = 6;
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.attributes = PROTO_BATCH_CONTROL | PROTO_BATCH_TRANSACTIONAL;
    spec.producer_id = pid;
    spec.producer_epoch = epoch;
    spec.base_sequence = -1;
    spec.base_timestamp = fx->clock;
    buf_t b;
    buf_init(&b);
    assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), 0);
    log_append_result_t res;
    int rc = log_partition_append_checked(fx->p, b.data, b.len, 0, &res);
    buf_fini(&b);
    if (offset != NULL)
        *offset = res.base_offset;
    return rc;
}

static void expect_dup(fixture_t *fx, int64_t pid, int16_t epoch, int32_t seq, int32_t records, int64_t base)
{
    log_append_result_t res;
    int64_t end = log_partition_end_offset(fx->p);
    assert_int_equal(send(fx, pid, epoch, seq, records, 0, &res), 0);
    assert_int_equal(res.duplicate, 1);
    assert_int_equal(res.base_offset, base);
    assert_int_equal(res.last_offset, base + records - 1);
    assert_int_equal(log_partition_end_offset(fx->p), end);
}

/* ---- sequence rules ---- */

static void duplicates_of_each_of_the_last_five_batches_get_the_original_offsets(void **state)
{
    fixture_t *fx = *state;
    int64_t bases[7];
    for (int i = 0; i < 7; i++)
        bases[i] = send_ok(fx, 42, 0, i * 2, 2, 0);
    int64_t end = log_partition_end_offset(fx->p);
    assert_int_equal(end, 14);
    for (int i = 2; i < 7; i++)
        expect_dup(fx, 42, 0, i * 2, 2, bases[i]);
    /* The sixth-newest is no longer retained: a resend of it is out of order. */
    assert_int_equal(send(fx, 42, 0, 2, 2, 0, NULL), LOG_EOUT_OF_ORDER_SEQUENCE);
    /* A batch with the same first sequence but another length is no duplicate. */
    assert_int_equal(send(fx, 42, 0, 12, 1, 0, NULL), LOG_EOUT_OF_ORDER_SEQUENCE);
    assert_int_equal(log_partition_end_offset(fx->p), end);
    /* And the next in line still goes. */
    assert_int_equal(send_ok(fx, 42, 0, 14, 1, 0), end);
}

static void a_gap_or_a_step_back_is_out_of_order(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 7, 3, 0, 1, 0);
    assert_int_equal(send(fx, 7, 3, 2, 1, 0, NULL), LOG_EOUT_OF_ORDER_SEQUENCE);
    send_ok(fx, 7, 3, 1, 3, 0); /* seqs 1..3 */
    assert_int_equal(send(fx, 7, 3, 3, 1, 0, NULL), LOG_EOUT_OF_ORDER_SEQUENCE);
    assert_int_equal(send(fx, 7, 3, 5, 1, 0, NULL), LOG_EOUT_OF_ORDER_SEQUENCE);
    send_ok(fx, 7, 3, 4, 1, 0);
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 7, &info), 1);
    assert_int_equal(info.last_sequence, 4);
    assert_int_equal(info.producer_epoch, 3);
    assert_int_equal(info.batches, 3);
}

static void sequences_wrap_from_int32_max_to_zero(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 9, 0, INT32_MAX - 1, 2, 0); /* ends at INT32_MAX */
    assert_int_equal(send(fx, 9, 0, INT32_MAX, 1, 0, NULL), LOG_EOUT_OF_ORDER_SEQUENCE);
    int64_t b = send_ok(fx, 9, 0, 0, 1, 0);
    send_ok(fx, 9, 0, 1, 1, 0);
    expect_dup(fx, 9, 0, 0, 1, b);
    /* A batch spanning the wrap: its last sequence is 1 past zero. */
    send_ok(fx, 10, 0, INT32_MAX, 3, 0);
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 10, &info), 1);
    assert_int_equal(info.last_sequence, 1);
    send_ok(fx, 10, 0, 2, 1, 0);
}

static void a_new_epoch_must_start_at_sequence_zero(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 5, 0, 0, 2, 0);
    send_ok(fx, 5, 0, 2, 2, 0);
    assert_int_equal(send(fx, 5, 1, 4, 1, 0, NULL), LOG_EOUT_OF_ORDER_SEQUENCE);
    int64_t b = send_ok(fx, 5, 1, 0, 1, 0);
    /* The old epoch's batches are forgotten with it. */
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 5, &info), 1);
    assert_int_equal(info.producer_epoch, 1);
    assert_int_equal(info.batches, 1);
    expect_dup(fx, 5, 1, 0, 1, b);
}

static void an_older_epoch_is_fenced(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 5, 4, 0, 1, 0);
    assert_int_equal(send(fx, 5, 3, 1, 1, 0, NULL), LOG_EINVALID_PRODUCER_EPOCH);
    /* Even a resend of what the old epoch could have written. */
    assert_int_equal(send(fx, 5, 3, 0, 1, 0, NULL), LOG_EINVALID_PRODUCER_EPOCH);
    assert_int_equal(log_partition_end_offset(fx->p), 1);
}

static void an_unknown_producer_may_start_anywhere_and_pid_minus_one_is_not_tracked(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 77, 2, 1234, 1, 0);
    send_ok(fx, 78, 0, 99, 1, 0);
    assert_int_equal(log_partition_producer_count(fx->p), 2);
    size_t len;
    uint8_t *b = tu_batch(3, 5, 5, 10, 1, &len);
    log_append_result_t res;
    assert_int_equal(log_partition_append_checked(fx->p, b, len, 0, &res), 0);
    assert_int_equal(log_partition_append_checked(fx->p, b, len, 0, &res), 0); /* no dedup without a producer */
    free(b);
    assert_int_equal(log_partition_producer_count(fx->p), 2);
    assert_int_equal(log_partition_end_offset(fx->p), 8);
}

static void the_unchecked_append_writes_everything_but_records_the_state(void **state)
{
    fixture_t *fx = *state;
    size_t len;
    int64_t base;
    uint8_t *b = pbatch(3, 0, 0, 2, 0, 5, &len);
    assert_int_equal(log_partition_append(fx->p, b, len, 0, &base), 0);
    assert_int_equal(base, 0);
    assert_int_equal(log_partition_append(fx->p, b, len, 0, &base), 0); /* written again */
    assert_int_equal(base, 2);
    free(b);
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 3, &info), 1);
    assert_int_equal(info.last_offset, 3);
    /* The checked path answers with the first retained copy. */
    expect_dup(fx, 3, 0, 0, 2, 0);
}

static void a_duplicate_under_log_append_time_gets_the_original_time(void **state)
{
    fixture_t *fx = *state;
    size_t len;
    log_append_result_t res;
    uint8_t *b = pbatch(11, 0, 0, 1, 0, 0, &len);
    proto_batch_set_log_append_time(b, len, 5555);
    assert_int_equal(log_partition_append_checked(fx->p, b, len, 0, &res), 0);
    assert_int_equal(res.log_append_time, 5555);
    free(b);
    b = pbatch(11, 0, 0, 1, 0, 0, &len);
    proto_batch_set_log_append_time(b, len, 7777);
    assert_int_equal(log_partition_append_checked(fx->p, b, len, 0, &res), 0);
    free(b);
    assert_int_equal(res.duplicate, 1);
    assert_int_equal(res.base_offset, 0);
    assert_int_equal(res.log_append_time, 5555);
}

/* ---- expiry ---- */

static void idle_producers_expire_but_not_with_an_open_transaction(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 1, 0, 0, 1, 0);
    send_ok(fx, 2, 0, 0, 1, PROTO_BATCH_TRANSACTIONAL);
    fx->clock += 30000;
    send_ok(fx, 3, 0, 0, 1, 0);
    assert_int_equal(log_partition_expire_producers(fx->p, fx->clock + 29999), 0);
    assert_int_equal(log_partition_expire_producers(fx->p, fx->clock + 30000), 1);
    assert_int_equal(log_partition_producer(fx->p, 1, &(log_producer_info_t){0}), 0);
    assert_int_equal(log_partition_producer(fx->p, 2, &(log_producer_info_t){0}), 1);
    /* Producer 1 is unknown again: any sequence is accepted. */
    send_ok(fx, 1, 0, 500, 1, 0);
    assert_int_equal(log_partition_expire_producers(fx->p, fx->clock + 1000000), 2);
    assert_int_equal(log_partition_producer_count(fx->p), 1);
    assert_int_equal(log_partition_last_stable_offset(fx->p), 1);
}

/* ---- snapshots and rebuild ---- */

static int snapshot_exists(const fixture_t *fx, int64_t offset)
{
    char path[256];
    tu_seg_path(&fx->dir, offset, ".snapshot", path, sizeof path);
    return tu_file_size(path) > 0;
}

static void state_survives_close_and_reopen(void **state)
{
    fixture_t *fx = *state;
    int64_t b[5];
    for (int i = 0; i < 5; i++)
        b[i] = send_ok(fx, 100, 2, i, 1, 0);
    send_ok(fx, 200, 0, 0, 1, PROTO_BATCH_TRANSACTIONAL);
    reopen(fx, 1, -1);
    assert_true(snapshot_exists(fx, 6));
    for (int i = 0; i < 5; i++)
        expect_dup(fx, 100, 2, i, 1, b[i]);
    assert_int_equal(send(fx, 100, 1, 5, 1, 0, NULL), LOG_EINVALID_PRODUCER_EPOCH);
    send_ok(fx, 100, 2, 5, 1, 0);
    assert_int_equal(log_partition_last_stable_offset(fx->p), 5);
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 100, &info), 1);
    assert_int_equal(info.last_timestamp, fx->clock);
}

static void a_snapshot_is_written_at_each_roll_and_only_a_few_are_kept(void **state)
{
    fixture_t *fx = *state;
    fx->cfg.segment_bytes = 200; /* each 93-byte batch: two per segment */
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    for (int i = 0; i < 12; i++)
        send_ok(fx, 1, 0, i, 1, 0);
    assert_true(log_partition_segment_count(fx->p) >= 6);
    int64_t *offs;
    size_t n;
    assert_int_equal(log_pstate_list_snapshots(fx->dir.part, &offs, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(offs[2], 10); /* the newest at the active segment's base */
    free(offs);
    /* Unclean stop with a recovery point at 8: the snapshot at 8 plus a scan. */
    assert_int_equal(log_partition_flush(fx->p), 0);
    log_partition_close(fx->p);
    fx->p = NULL;
    char path[256];
    tu_seg_path(&fx->dir, 12, ".snapshot", path, sizeof path);
    assert_int_equal(unlink(path), 0);
    fx->cfg.clean_shutdown = 0;
    fx->cfg.recovery_point = 8;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    expect_dup(fx, 1, 0, 11, 1, 11);
    expect_dup(fx, 1, 0, 7, 1, 7);
    send_ok(fx, 1, 0, 12, 1, 0);
}

static void a_corrupt_snapshot_is_ignored_and_the_state_rebuilt(void **state)
{
    fixture_t *fx = *state;
    for (int i = 0; i < 4; i++)
        send_ok(fx, 8, 1, i * 2, 2, 0);
    log_partition_close(fx->p);
    fx->p = NULL;
    char path[256];
    size_t len;
    tu_seg_path(&fx->dir, 8, ".snapshot", path, sizeof path);
    uint8_t *img = tu_slurp(path, &len);
    assert_non_null(img);
    img[len - 3] ^= 0x40; /* a field inside the CRC: producer 8's last batch */
    FILE *f = fopen(path, "wb");
    fwrite(img, 1, len, f);
    fclose(f);
    free(img);
    fx->cfg.clean_shutdown = 1;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    for (int i = 0; i < 4; i++)
        expect_dup(fx, 8, 1, i * 2, 2, i * 2);
    send_ok(fx, 8, 1, 8, 1, 0);
}

static void state_is_rebuilt_from_batch_headers_without_any_snapshot(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 1, 0, 0, 3, 0);
    send_ok(fx, 2, 5, 10, 1, PROTO_BATCH_TRANSACTIONAL);
    send_ok(fx, 1, 0, 3, 3, 0);
    int64_t m;
    assert_int_equal(marker(fx, 2, 5, LOG_MARKER_ABORT, 0, &m), 0);
    send_ok(fx, 3, 0, 0, 1, PROTO_BATCH_TRANSACTIONAL);
    int64_t end = log_partition_end_offset(fx->p);
    /* A crash: no close, so no snapshot; and none from before either. */
    log_partition_t *lost = fx->p;
    fx->p = NULL;
    int64_t *offs;
    size_t n;
    assert_int_equal(log_pstate_list_snapshots(fx->dir.part, &offs, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(log_pstate_remove_snapshot(fx->dir.part, offs[i]), 0);
    free(offs);
    fx->cfg.clean_shutdown = 0;
    fx->cfg.recovery_point = -1;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), end);
    expect_dup(fx, 1, 0, 3, 3, 4);
    assert_int_equal(send(fx, 2, 4, 0, 1, 0, NULL), LOG_EINVALID_PRODUCER_EPOCH);
    assert_int_equal(log_partition_last_stable_offset(fx->p), m + 1); /* producer 3's transaction */
    log_aborted_txn_t *ab;
    assert_int_equal(log_partition_aborted_txns(fx->p, 0, end, &ab, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ab[0].producer_id, 2);
    assert_int_equal(ab[0].first_offset, 3);
    assert_int_equal(ab[0].last_offset, m);
    free(ab);
    /* Rebuilt producers keep their batch time as activity. */
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 1, &info), 1);
    assert_int_equal(info.last_timestamp, fx->clock);
    log_partition_close(lost); /* release the crashed instance's descriptors */
}

static void retention_keeps_the_state_of_producers_whose_batches_are_gone(void **state)
{
    fixture_t *fx = *state;
    fx->cfg.segment_bytes = 200;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    int64_t old = send_ok(fx, 50, 0, 0, 1, 0);
    for (int i = 0; i < 8; i++)
        send_ok(fx, 60, 0, i, 1, 0);
    assert_int_equal(log_partition_delete_records(fx->p, 7, NULL), 0);
    assert_true(log_partition_start_offset(fx->p) == 7);
    expect_dup(fx, 50, 0, 0, 1, old);
    reopen(fx, 1, -1);
    expect_dup(fx, 50, 0, 0, 1, old);
    /* Unclean, recovery point at the end: the snapshot there still knows producer 50. */
    reopen(fx, 0, log_partition_end_offset(fx->p));
    expect_dup(fx, 50, 0, 0, 1, old);
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 60, &info), 1);
    assert_int_equal(info.last_sequence, 7);
    /* Snapshots below the first segment are gone; the newest stays. */
    int64_t *offs;
    size_t n;
    assert_int_equal(log_pstate_list_snapshots(fx->dir.part, &offs, &n), 0);
    assert_true(n >= 1);
    assert_true(offs[0] >= fx->p->segs[0]->base_offset);
    free(offs);
}

static void snapshot_decode_rejects_every_truncation_and_bit_flip(void **state)
{
    (void)state;
    log_pstate_t ps, back;
    log_pstate_init(&ps);
    log_pstate_init(&back);
    for (int64_t pid = 0; pid < 4; pid++) {
        int created;
        assert_int_equal(log_pstate_reserve(&ps, pid, &created), 0);
        proto_batch_header_t hdr = {.base_offset = pid * 10,
                                    .last_offset_delta = 1,
                                    .producer_id = pid,
                                    .producer_epoch = 1,
                                    .base_sequence = 0,
                                    .max_timestamp = 5,
                                    .attributes = pid == 2 ? PROTO_BATCH_TRANSACTIONAL : 0};
        (void)log_pstate_update(&ps, &hdr, NULL, 99, NULL);
    }
    buf_t img;
    buf_init(&img);
    assert_int_equal(log_pstate_encode(&ps, 100, &img), 0);
    assert_int_equal(log_pstate_decode(&back, img.data, img.len, 100), 0);
    assert_int_equal(log_pstate_count(&back), 4);
    assert_int_equal(log_pstate_first_unstable(&back), 20);
    assert_int_equal(log_pstate_decode(&back, img.data, img.len, 101), LOG_ECORRUPT);
    for (size_t n = 0; n < img.len; n++) {
        uint8_t *copy = malloc(n > 0 ? n : 1);
        memcpy(copy, img.data, n);
        assert_int_equal(log_pstate_decode(&back, copy, n, -1), LOG_ECORRUPT);
        free(copy);
    }
    for (size_t i = 0; i < img.len; i++) {
        img.data[i] ^= 0x01;
        assert_int_not_equal(log_pstate_decode(&back, img.data, img.len, -1), 0);
        img.data[i] ^= 0x01;
    }
    assert_int_equal(log_pstate_count(&back), 0);
    buf_fini(&img);
    log_pstate_fini(&ps);
    log_pstate_fini(&back);
}

/* ---- transactions ---- */

static void lso_follows_interleaved_transactions(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(log_partition_last_stable_offset(fx->p), 0);
    int64_t a = send_ok(fx, 1, 0, 0, 2, PROTO_BATCH_TRANSACTIONAL); /* 0-1 */
    send_ok(fx, 9, 0, 0, 1, 0);                                     /* 2, idempotent only */
    int64_t c = send_ok(fx, 3, 0, 0, 1, PROTO_BATCH_TRANSACTIONAL); /* 3 */
    send_ok(fx, 1, 0, 2, 1, PROTO_BATCH_TRANSACTIONAL);             /* 4 */
    assert_int_equal(log_partition_last_stable_offset(fx->p), a);
    int64_t m1;
    assert_int_equal(marker(fx, 1, 0, LOG_MARKER_COMMIT, 0, &m1), 0); /* 5 */
    assert_int_equal(log_partition_last_stable_offset(fx->p), c);
    /* A new transaction of the committed producer starts after its marker. */
    int64_t a2 = send_ok(fx, 1, 0, 3, 1, PROTO_BATCH_TRANSACTIONAL); /* 6 */
    int64_t m2;
    assert_int_equal(marker(fx, 3, 0, LOG_MARKER_ABORT, 0, &m2), 0); /* 7 */
    assert_int_equal(log_partition_last_stable_offset(fx->p), a2);
    assert_int_equal(marker(fx, 1, 0, LOG_MARKER_ABORT, 0, NULL), 0); /* 8 */
    assert_int_equal(log_partition_last_stable_offset(fx->p), log_partition_end_offset(fx->p));
    /* A marker without an open transaction changes nothing and indexes nothing. */
    assert_int_equal(marker(fx, 9, 0, LOG_MARKER_COMMIT, 0, NULL), 0);
    log_aborted_txn_t *ab;
    size_t n;
    assert_int_equal(log_partition_aborted_txns(fx->p, 0, INT64_MAX, &ab, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ab[0].producer_id, 3);
    assert_int_equal(ab[0].first_offset, c);
    assert_int_equal(ab[0].last_offset, m2);
    assert_int_equal(ab[0].last_stable_offset, a2); /* producer 1's transaction was still open */
    assert_int_equal(ab[1].producer_id, 1);
    assert_int_equal(ab[1].first_offset, a2);
    assert_int_equal(ab[1].last_offset, 8);
    assert_int_equal(ab[1].last_stable_offset, 9);
    free(ab);
    /* The idempotent producer's sequences are untouched by all this. */
    send_ok(fx, 9, 0, 1, 1, 0);
}

static void markers_are_checked_for_epoch_and_coordinator_epoch(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 4, 2, 0, 1, PROTO_BATCH_TRANSACTIONAL);
    assert_int_equal(marker(fx, 4, 1, LOG_MARKER_ABORT, 5, NULL), LOG_EINVALID_PRODUCER_EPOCH);
    assert_int_equal(marker(fx, 4, 2, LOG_MARKER_COMMIT, 5, NULL), 0);
    send_ok(fx, 4, 2, 1, 1, PROTO_BATCH_TRANSACTIONAL);
    assert_int_equal(marker(fx, 4, 2, LOG_MARKER_COMMIT, 4, NULL), LOG_ECOORDINATOR_FENCED);
    /* A non-transactional write while the transaction is open. */
    assert_int_equal(send(fx, 4, 2, 2, 1, 0, NULL), LOG_EINVALID_TXN_STATE);
    /* The coordinator aborts with a bumped epoch (fencing): the producer must restart at 0. */
    assert_int_equal(marker(fx, 4, 3, LOG_MARKER_ABORT, 5, NULL), 0);
    assert_int_equal(send(fx, 4, 2, 2, 1, PROTO_BATCH_TRANSACTIONAL, NULL), LOG_EINVALID_PRODUCER_EPOCH);
    assert_int_equal(send(fx, 4, 3, 2, 1, 0, NULL), LOG_EOUT_OF_ORDER_SEQUENCE);
    send_ok(fx, 4, 3, 0, 1, 0);
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 4, &info), 1);
    assert_int_equal(info.coordinator_epoch, 5);
    assert_int_equal(info.txn_first_offset, -1);
}

static void aborted_txn_queries_follow_kafkas_bounds(void **state)
{
    fixture_t *fx = *state;
    fx->cfg.segment_bytes = 300;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    int64_t first[4], last[4];
    for (int i = 0; i < 4; i++) {
        first[i] = send_ok(fx, 10 + i, 0, 0, 2, PROTO_BATCH_TRANSACTIONAL);
        send_ok(fx, 99, 0, i, 1, 0);
        assert_int_equal(marker(fx, 10 + i, 0, LOG_MARKER_ABORT, 0, &last[i]), 0);
    }
    assert_true(log_partition_segment_count(fx->p) > 2);
    log_aborted_txn_t *ab;
    size_t n;
    /* Everything. */
    assert_int_equal(log_partition_aborted_txns(fx->p, 0, log_partition_end_offset(fx->p), &ab, &n), 0);
    assert_int_equal(n, 4);
    free(ab);
    /* last_offset >= fetch_offset: a fetch at txn 1's marker still sees txn 1. */
    assert_int_equal(log_partition_aborted_txns(fx->p, last[1], log_partition_end_offset(fx->p), &ab, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ab[0].producer_id, 11);
    free(ab);
    assert_int_equal(log_partition_aborted_txns(fx->p, last[1] + 1, log_partition_end_offset(fx->p), &ab, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ab[0].producer_id, 12);
    free(ab);
    /* first_offset < upper bound: a fetch ending right at txn 2's start does not see it. */
    assert_int_equal(log_partition_aborted_txns(fx->p, last[1] + 1, first[2], &ab, &n), 0);
    assert_int_equal(n, 0);
    assert_null(ab);
    assert_int_equal(log_partition_aborted_txns(fx->p, last[1] + 1, first[2] + 1, &ab, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ab[0].first_offset, first[2]);
    free(ab);
}

static void txn_index_file_holds_kafkas_34_byte_entries(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 0x0102030405LL, 0, 0, 3, PROTO_BATCH_TRANSACTIONAL);
    int64_t m;
    assert_int_equal(marker(fx, 0x0102030405LL, 0, LOG_MARKER_ABORT, 0, &m), 0);
    char path[256];
    size_t len;
    tu_seg_path(&fx->dir, 0, ".txnindex", path, sizeof path);
    uint8_t *raw = tu_slurp(path, &len);
    assert_int_equal(len, LOG_TXN_INDEX_ENTRY_SIZE);
    assert_int_equal(raw[0], 0);
    assert_int_equal(raw[1], 0);
    assert_int_equal(tu_be64(raw + 2), 0x0102030405LL);
    assert_int_equal(tu_be64(raw + 10), 0);
    assert_int_equal(tu_be64(raw + 18), m);
    assert_int_equal(tu_be64(raw + 26), m + 1);
    free(raw);
}

static void check_one_abort(fixture_t *fx, int64_t pid, int64_t first, int64_t last)
{
    log_aborted_txn_t *ab;
    size_t n;
    assert_int_equal(log_partition_aborted_txns(fx->p, 0, INT64_MAX, &ab, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ab[0].producer_id, pid);
    assert_int_equal(ab[0].first_offset, first);
    assert_int_equal(ab[0].last_offset, last);
    free(ab);
}

static void a_missing_or_corrupt_txn_index_is_rebuilt_at_open(void **state)
{
    fixture_t *fx = *state;
    fx->cfg.segment_bytes = 250;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    /* The transaction starts in segment 0 and is aborted in a later one. */
    int64_t first = send_ok(fx, 21, 0, 0, 1, PROTO_BATCH_TRANSACTIONAL);
    for (int i = 0; i < 4; i++)
        send_ok(fx, 22, 0, i, 1, 0);
    int64_t m;
    assert_int_equal(marker(fx, 21, 0, LOG_MARKER_ABORT, 0, &m), 0);
    size_t seg = log_partition_segment_for(fx->p, m);
    int64_t seg_base = fx->p->segs[seg]->base_offset;
    assert_true(seg_base > first);
    for (int i = 4; i < 8; i++)
        send_ok(fx, 22, 0, i, 1, 0);
    check_one_abort(fx, 21, first, m);

    char path[256];
    tu_seg_path(&fx->dir, seg_base, ".txnindex", path, sizeof path);
    reopen(fx, 1, -1);
    assert_int_equal(unlink(path), 0);
    reopen(fx, 1, -1);
    check_one_abort(fx, 21, first, m);
    assert_int_equal(tu_file_size(path), LOG_TXN_INDEX_ENTRY_SIZE);

    log_partition_close(fx->p);
    fx->p = NULL;
    FILE *f = fopen(path, "r+b");
    fputc(7, f); /* version 7: not ours */
    fclose(f);
    fx->cfg.clean_shutdown = 1;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    check_one_abort(fx, 21, first, m);
    size_t len;
    uint8_t *raw = tu_slurp(path, &len);
    assert_int_equal(len, LOG_TXN_INDEX_ENTRY_SIZE);
    assert_int_equal(raw[0], 0);
    free(raw);
}

static void an_unclean_stop_rebuilds_txn_entries_past_the_recovery_point(void **state)
{
    fixture_t *fx = *state;
    send_ok(fx, 31, 0, 0, 1, PROTO_BATCH_TRANSACTIONAL);
    assert_int_equal(log_partition_flush(fx->p), 0);
    int64_t rp = log_partition_recovery_point(fx->p);
    int64_t m;
    assert_int_equal(marker(fx, 31, 0, LOG_MARKER_ABORT, 0, &m), 0);
    /* The index write was lost in the crash, the log write was not. */
    char path[256];
    tu_seg_path(&fx->dir, 0, ".txnindex", path, sizeof path);
    assert_int_equal(truncate(path, 0), 0);
    log_partition_t *lost = fx->p;
    fx->p = NULL;
    fx->cfg.clean_shutdown = 0;
    fx->cfg.recovery_point = rp;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    check_one_abort(fx, 31, 0, m);
    assert_int_equal(log_partition_last_stable_offset(fx->p), m + 1);
    log_partition_close(lost);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(duplicates_of_each_of_the_last_five_batches_get_the_original_offsets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_gap_or_a_step_back_is_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(sequences_wrap_from_int32_max_to_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_epoch_must_start_at_sequence_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(an_older_epoch_is_fenced, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unknown_producer_may_start_anywhere_and_pid_minus_one_is_not_tracked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_unchecked_append_writes_everything_but_records_the_state, setup, teardown),
        cmocka_unit_test_setup_teardown(a_duplicate_under_log_append_time_gets_the_original_time, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_producers_expire_but_not_with_an_open_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(state_survives_close_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(a_snapshot_is_written_at_each_roll_and_only_a_few_are_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_snapshot_is_ignored_and_the_state_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(state_is_rebuilt_from_batch_headers_without_any_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_keeps_the_state_of_producers_whose_batches_are_gone, setup, teardown),
        cmocka_unit_test(snapshot_decode_rejects_every_truncation_and_bit_flip),
        cmocka_unit_test_setup_teardown(lso_follows_interleaved_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(markers_are_checked_for_epoch_and_coordinator_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(aborted_txn_queries_follow_kafkas_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(txn_index_file_holds_kafkas_34_byte_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_or_corrupt_txn_index_is_rebuilt_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unclean_stop_rebuilds_txn_entries_past_the_recovery_point, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
