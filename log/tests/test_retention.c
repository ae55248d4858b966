#include "log_test_util.h"

#include "log/partition.h"

/*
 * Tiny segments: 101-byte batches (40-byte bodies), segment_bytes 250, so
 * two batches (of two records each) per segment. Batch k has offsets
 * [2k, 2k+1] and max timestamp 1000 * (k + 1).
 */
#define BATCH_LEN (PROTO_BATCH_HEADER_SIZE + 40)

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
    int64_t clock;
} fixture_t;

static int64_t fake_now(void *arg)
{
    return *(int64_t *)arg;
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    fx->clock = 50000;
    fx->cfg = tu_config(250, 0);
    fx->cfg.now_ms = fake_now;
    fx->cfg.now_arg = &fx->clock;
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

static void append_batches(fixture_t *fx, int from, int to)
{
    for (int k = from; k < to; k++)
        assert_int_equal(tu_append(fx->p, 2, 1000 * (k + 1), 40, (uint8_t)k, NULL, NULL), 2 * k);
}

static void set_retention(fixture_t *fx, int64_t ms, int64_t bytes)
{
    fx->cfg.retention_ms = ms;
    fx->cfg.retention_bytes = bytes;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
}

static int seg_file_exists(fixture_t *fx, int64_t base, const char *suffix)
{
    char path[256];
    tu_seg_path(&fx->dir, base, suffix, path, sizeof path);
    return tu_file_size(path) >= 0;
}

/* Reads at offset: the first batch returned must be batch offset / 2. */
static void expect_batch_at(fixture_t *fx, int64_t offset)
{
    buf_t out;
    buf_init(&out);
    assert_int_equal(tu_read(fx->p, offset, BATCH_LEN, 1, &out), 0);
    assert_int_equal(out.len, BATCH_LEN);
    assert_int_equal(tu_be64(out.data), offset & ~(int64_t)1);
    assert_int_equal(out.data[PROTO_BATCH_HEADER_SIZE], (uint8_t)(offset / 2));
    buf_fini(&out);
}

static void retention_unlimited_deletes_nothing(void **state)
{
    fixture_t *fx = *state;
    log_retention_result_t res;
    append_batches(fx, 0, 10);
    assert_int_equal(log_partition_segment_count(fx->p), 5);
    assert_int_equal(log_partition_retention(fx->p, 1 << 30, &res), 0);
    assert_int_equal(res.segments_deleted, 0);
    assert_int_equal(res.bytes_deleted, 0);
    assert_int_equal(res.start_offset, 0);
    assert_int_equal(log_partition_segment_count(fx->p), 5);
}

static void retention_by_time_deletes_expired_sealed_segments(void **state)
{
    fixture_t *fx = *state;
    log_retention_result_t res;
    buf_t out;
    buf_init(&out);
    append_batches(fx, 0, 10); /* segments at 0, 4, 8, 12, 16; newest ts 2000, 4000, ... */
    set_retention(fx, 3000, -1);
    /* At 7000 only segment 0 is older than 3000 ms (Kafka: strictly older). */
    assert_int_equal(log_partition_retention(fx->p, 7000, &res), 0);
    assert_int_equal(res.segments_deleted, 1);
    assert_int_equal(res.start_offset, 4);
    assert_int_equal(log_partition_retention(fx->p, 7500, &res), 0);
    assert_int_equal(res.segments_deleted, 1);
    assert_int_equal(res.bytes_deleted, 2 * BATCH_LEN);
    assert_int_equal(res.start_offset, 8);
    assert_int_equal(log_partition_start_offset(fx->p), 8);
    assert_int_equal(log_partition_segment_count(fx->p), 3);
    assert_false(seg_file_exists(fx, 0, ".log"));
    assert_false(seg_file_exists(fx, 4, ".log"));
    assert_false(seg_file_exists(fx, 4, ".index"));
    assert_false(seg_file_exists(fx, 4, ".timeindex"));
    assert_false(seg_file_exists(fx, 4, ".log.deleted")); /* no read held it */
    assert_true(seg_file_exists(fx, 8, ".log"));
    /* Below the start: out of range; at it: readable. */
    assert_int_equal(tu_read(fx->p, 7, 1 << 16, 1, &out), LOG_EOUT_OF_RANGE);
    assert_int_equal(tu_read(fx->p, 0, 1 << 16, 1, &out), LOG_EOUT_OF_RANGE);
    expect_batch_at(fx, 8);
    /* ListOffsets by time never answers below the start. */
    int64_t off, ts;
    assert_int_equal(log_partition_offset_for_time(fx->p, 0, &off, &ts), 0);
    assert_int_equal(off, 8);
    assert_int_equal(ts, 5000);
    buf_fini(&out);
}

static void retention_by_time_rolls_when_everything_expired(void **state)
{
    fixture_t *fx = *state;
    log_retention_result_t res;
    buf_t out;
    buf_init(&out);
    append_batches(fx, 0, 5); /* segments 0, 4 (full) and 8 (one batch, active) */
    set_retention(fx, 1000, -1);
    assert_int_equal(log_partition_retention(fx->p, 100000, &res), 0);
    assert_int_equal(res.segments_deleted, 3);
    assert_int_equal(res.bytes_deleted, 5 * BATCH_LEN);
    assert_int_equal(res.start_offset, 10);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    assert_int_equal(log_partition_end_offset(fx->p), 10);
    assert_true(seg_file_exists(fx, 10, ".log"));
    assert_int_equal(tu_read(fx->p, 10, 1 << 16, 1, &out), 0);
    assert_int_equal(out.len, 0);
    int64_t mts, moff;
    log_partition_max_timestamp(fx->p, &mts, &moff);
    assert_int_equal(mts, -1);
    /* The empty active segment is never deleted, and appends go on. */
    assert_int_equal(log_partition_retention(fx->p, 200000, &res), 0);
    assert_int_equal(res.segments_deleted, 0);
    append_batches(fx, 5, 6);
    expect_batch_at(fx, 10);
    /* Reopen: the start offset is the first segment's base. */
    log_partition_close(fx->p);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 10);
    assert_int_equal(log_partition_end_offset(fx->p), 12);
    buf_fini(&out);
}

static void retention_by_size_keeps_at_least_the_limit(void **state)
{
    fixture_t *fx = *state;
    log_retention_result_t res;
    append_batches(fx, 0, 9); /* 4 full segments + 1 batch: 909 bytes */
    assert_int_equal(log_partition_size_bytes(fx->p), 9 * BATCH_LEN);
    /* Over by less than the oldest segment: nothing goes. */
    set_retention(fx, -1, 9 * BATCH_LEN - 2 * BATCH_LEN + 1);
    assert_int_equal(log_partition_retention(fx->p, 0, &res), 0);
    assert_int_equal(res.segments_deleted, 0);
    /* Over by two and a half segments: two go. */
    set_retention(fx, -1, 4 * BATCH_LEN - 50);
    assert_int_equal(log_partition_retention(fx->p, 0, &res), 0);
    assert_int_equal(res.segments_deleted, 2);
    assert_int_equal(res.bytes_deleted, 4 * BATCH_LEN);
    assert_int_equal(res.start_offset, 8);
    assert_int_equal(log_partition_size_bytes(fx->p), 5 * BATCH_LEN);
    assert_true(log_partition_size_bytes(fx->p) >= fx->cfg.retention_bytes);
    expect_batch_at(fx, 8);
    /* retention.bytes = 0 empties the log, rolling the active segment away. */
    set_retention(fx, -1, 0);
    assert_int_equal(log_partition_retention(fx->p, 0, &res), 0);
    assert_int_equal(res.segments_deleted, 3);
    assert_int_equal(log_partition_size_bytes(fx->p), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 18);
    assert_int_equal(log_partition_end_offset(fx->p), 18);
}

static void delete_records_advances_start_and_deletes_segments(void **state)
{
    fixture_t *fx = *state;
    int64_t lw = -5;
    buf_t out;
    buf_init(&out);
    append_batches(fx, 0, 10);
    /* Inside segment 4 (offsets 4..7): segment 0 goes, segment 4 stays. */
    assert_int_equal(log_partition_delete_records(fx->p, 5, &lw), 0);
    assert_int_equal(lw, 5);
    assert_int_equal(log_partition_start_offset(fx->p), 5);
    assert_int_equal(log_partition_segment_count(fx->p), 4);
    assert_false(seg_file_exists(fx, 0, ".log"));
    assert_true(seg_file_exists(fx, 4, ".log"));
    assert_int_equal(tu_read(fx->p, 4, 1 << 16, 1, &out), LOG_EOUT_OF_RANGE);
    expect_batch_at(fx, 5); /* the batch holding 5 starts at 4, as in Kafka */
    int64_t off, ts;
    assert_int_equal(log_partition_offset_for_time(fx->p, 0, &off, &ts), 0);
    assert_int_equal(off, 5);
    /* Never backwards. */
    assert_int_equal(log_partition_delete_records(fx->p, 2, &lw), 0);
    assert_int_equal(lw, 5);
    /* Beyond the end: refused, nothing changes. */
    assert_int_equal(log_partition_delete_records(fx->p, 21, &lw), LOG_EOUT_OF_RANGE);
    assert_int_equal(log_partition_delete_records(fx->p, -2, &lw), LOG_EOUT_OF_RANGE);
    assert_int_equal(log_partition_start_offset(fx->p), 5);
    /* Exactly a segment boundary deletes the segment below it. */
    assert_int_equal(log_partition_delete_records(fx->p, 12, &lw), 0);
    assert_int_equal(log_partition_segment_count(fx->p), 2);
    /* -1: the high watermark; the active segment stays (it is not below the start). */
    assert_int_equal(log_partition_delete_records(fx->p, -1, &lw), 0);
    assert_int_equal(lw, 20);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    assert_int_equal(tu_read(fx->p, 20, 1 << 16, 1, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(tu_read(fx->p, 19, 1 << 16, 1, &out), LOG_EOUT_OF_RANGE);
    append_batches(fx, 10, 11);
    expect_batch_at(fx, 20);
    buf_fini(&out);
}

/* The broker checkpoints the start offset and passes it back at open. */
static void persisted_start_offset_is_honoured_at_reopen(void **state)
{
    fixture_t *fx = *state;
    int64_t lw;
    buf_t out;
    buf_init(&out);
    append_batches(fx, 0, 10);
    assert_int_equal(log_partition_delete_records(fx->p, 9, &lw), 0);
    log_partition_close(fx->p);
    /* Without the checkpoint the files say 8. */
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 8);
    log_partition_close(fx->p);
    fx->cfg.log_start_offset = lw;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 9);
    assert_int_equal(tu_read(fx->p, 8, 1 << 16, 1, &out), LOG_EOUT_OF_RANGE);
    expect_batch_at(fx, 9);
    log_partition_close(fx->p);
    /* A checkpoint beyond a segment boundary deletes what lies wholly below it. */
    fx->cfg.log_start_offset = 13;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 13);
    assert_int_equal(log_partition_segment_count(fx->p), 2);
    assert_false(seg_file_exists(fx, 8, ".log"));
    log_partition_close(fx->p);
    /* A checkpoint past the end (the files lost their tail): an empty log there. */
    fx->cfg.log_start_offset = 50;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 50);
    assert_int_equal(log_partition_end_offset(fx->p), 50);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    assert_int_equal(tu_append(fx->p, 1, 1, 10, 0, NULL, NULL), 50);
    buf_fini(&out);
}

/*
 * A Fetch racing retention: the read is taken, retention deletes its
 * segment, and only then are the bytes copied. They must be whole and right.
 */
static void read_racing_retention_returns_intact_bytes(void **state)
{
    fixture_t *fx = *state;
    log_read_t rd, rd2;
    log_retention_result_t res;
    buf_t out;
    uint8_t *expect;
    size_t len;
    buf_init(&out);
    for (int k = 0; k < 6; k++)
        tu_append(fx->p, 2, 1000 * (k + 1), 40, (uint8_t)(k + 100), k == 1 ? &expect : NULL, k == 1 ? &len : NULL);
    assert_int_equal(log_partition_read(fx->p, 2, 1 << 16, 1, &rd), 0);
    assert_int_equal(rd.len, BATCH_LEN);
    assert_int_equal(log_partition_read(fx->p, 4, 1 << 16, 1, &rd2), 0);
    set_retention(fx, 0, -1);
    assert_int_equal(log_partition_retention(fx->p, 10000000, &res), 0);
    assert_int_equal(res.segments_deleted, 3);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    /* Renamed at once (a restart would not see a segment), unlinked on release. */
    assert_false(seg_file_exists(fx, 0, ".log"));
    assert_true(seg_file_exists(fx, 0, ".log.deleted"));
    assert_true(seg_file_exists(fx, 0, ".index.deleted"));
    assert_true(seg_file_exists(fx, 4, ".log.deleted"));
    assert_false(seg_file_exists(fx, 8, ".log.deleted"));
    /* Appends and a second retention pass while the reads are in flight. */
    tu_append(fx->p, 1, 1, 40, 0, NULL, NULL);
    assert_int_equal(log_partition_retention(fx->p, 10000000, NULL), 0);
    assert_int_equal(log_read_copy(&rd, &out), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, expect, len);
    log_read_release(&rd);
    assert_false(seg_file_exists(fx, 0, ".log.deleted"));
    assert_false(seg_file_exists(fx, 0, ".index.deleted"));
    assert_false(seg_file_exists(fx, 0, ".timeindex.deleted"));
    assert_true(seg_file_exists(fx, 4, ".log.deleted"));
    out.len = 0;
    assert_int_equal(log_read_copy(&rd2, &out), 0);
    assert_int_equal(out.len, 2 * BATCH_LEN);
    assert_int_equal(tu_be64(out.data), 4);
    log_read_release(&rd2);
    assert_false(seg_file_exists(fx, 4, ".log.deleted"));
    free(expect);
    buf_fini(&out);
}

/* Same race through DeleteRecords, and through closing the partition. */
static void read_racing_delete_records_and_close(void **state)
{
    fixture_t *fx = *state;
    log_read_t rd;
    buf_t out;
    buf_init(&out);
    append_batches(fx, 0, 6);
    assert_int_equal(log_partition_read(fx->p, 0, 1 << 16, 1, &rd), 0);
    assert_int_equal(rd.len, 2 * BATCH_LEN);
    assert_int_equal(log_partition_delete_records(fx->p, -1, NULL), 0);
    log_partition_close(fx->p);
    fx->p = NULL;
    assert_int_equal(log_read_copy(&rd, &out), 0);
    assert_int_equal(out.len, 2 * BATCH_LEN);
    assert_int_equal(tu_be64(out.data), 0);
    assert_int_equal(tu_be64(out.data + BATCH_LEN), 2);
    log_read_release(&rd);
    assert_false(seg_file_exists(fx, 0, ".log.deleted"));
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 8);
    buf_fini(&out);
}

static void set_config_applies_and_rejects_bad_values(void **state)
{
    fixture_t *fx = *state;
    log_config_t bad = fx->cfg;
    bad.segment_bytes = 0;
    assert_int_equal(log_partition_set_config(fx->p, &bad), -EINVAL);
    append_batches(fx, 0, 2);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    /* Smaller segments from now on: every append rolls. */
    fx->cfg.segment_bytes = 100;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    append_batches(fx, 2, 4);
    assert_int_equal(log_partition_segment_count(fx->p), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(retention_unlimited_deletes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_by_time_deletes_expired_sealed_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_by_time_rolls_when_everything_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_by_size_keeps_at_least_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_records_advances_start_and_deletes_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(persisted_start_offset_is_honoured_at_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(read_racing_retention_returns_intact_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(read_racing_delete_records_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(set_config_applies_and_rejects_bad_values, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
