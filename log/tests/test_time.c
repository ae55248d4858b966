#include "log_test_util.h"

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    fx->cfg = tu_config(1 << 20, 150);
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

static void reopen(fixture_t *fx)
{
    log_partition_close(fx->p);
    fx->p = NULL;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

/* The brute-force answer: the first batch whose max timestamp reaches ts. */
static void expect_time(log_partition_t *p, const int64_t *ts, const int64_t *base, int n, int64_t target)
{
    int64_t off, bts, want_off = -1, want_ts = -1;
    for (int i = 0; i < n; i++) {
        if (ts[i] >= target) {
            want_off = base[i];
            want_ts = ts[i];
            break;
        }
    }
    assert_int_equal(log_partition_offset_for_time(p, target, &off, &bts), 0);
    assert_int_equal(off, want_off);
    assert_int_equal(bts, want_ts);
}

static void offset_for_time_with_increasing_timestamps(void **state)
{
    fixture_t *fx = *state;
    enum { N = 60 };
    int64_t ts[N], base[N];
    for (int i = 0; i < N; i++) {
        ts[i] = 1000 + 10 * i;
        base[i] = tu_append(fx->p, 1 + i % 3, ts[i], 40, (uint8_t)i, NULL, NULL);
    }
    for (int64_t t = 0; t <= 1000 + 10 * N + 5; t += 3)
        expect_time(fx->p, ts, base, N, t);
    reopen(fx);
    for (int64_t t = 0; t <= 1000 + 10 * N + 5; t += 7)
        expect_time(fx->p, ts, base, N, t);
}

static void offset_for_time_with_non_monotonic_timestamps(void **state)
{
    fixture_t *fx = *state;
    enum { N = 80 };
    int64_t ts[N], base[N];
    for (int i = 0; i < N; i++) {
        ts[i] = 5000 + ((i * 7919) % 97) * 10 - (i % 5 == 0 ? 3000 : 0);
        base[i] = tu_append(fx->p, 1 + i % 4, ts[i], 30, (uint8_t)i, NULL, NULL);
    }
    for (int64_t t = 1900; t <= 6100; t += 5)
        expect_time(fx->p, ts, base, N, t);
}

static void offset_for_time_across_segments(void **state)
{
    fixture_t *fx = *state;
    enum { N = 50 };
    int64_t ts[N], base[N];
    fx->cfg = tu_config(500, 150);
    reopen(fx);
    for (int i = 0; i < N; i++) {
        /* Each segment's timestamps dip below the previous one's maximum. */
        ts[i] = 1000 + 100 * i - (i % 4) * 150;
        base[i] = tu_append(fx->p, 2, ts[i], 50, (uint8_t)i, NULL, NULL);
    }
    assert_true(log_partition_segment_count(fx->p) > 5);
    for (int64_t t = 0; t <= 1000 + 100 * N; t += 13)
        expect_time(fx->p, ts, base, N, t);
    reopen(fx);
    for (int64_t t = 0; t <= 1000 + 100 * N; t += 11)
        expect_time(fx->p, ts, base, N, t);
}

static void offset_for_time_not_found_and_bad_input(void **state)
{
    fixture_t *fx = *state;
    int64_t off = 0, bts = 0;
    assert_int_equal(log_partition_offset_for_time(fx->p, 0, &off, &bts), 0);
    assert_int_equal(off, -1);
    assert_int_equal(bts, -1);
    tu_append(fx->p, 3, 100, 10, 0, NULL, NULL);
    assert_int_equal(log_partition_offset_for_time(fx->p, 101, &off, &bts), 0);
    assert_int_equal(off, -1);
    assert_int_equal(log_partition_offset_for_time(fx->p, 100, &off, &bts), 0);
    assert_int_equal(off, 0);
    assert_int_equal(bts, 100);
    assert_int_equal(log_partition_offset_for_time(fx->p, -1, &off, &bts), -EINVAL);
}

static void max_timestamp_survives_reopen_and_rebuild(void **state)
{
    fixture_t *fx = *state;
    int64_t ts, off, ts2, off2;
    char tpath[256];
    for (int i = 0; i < 30; i++)
        tu_append(fx->p, 2, 1000 + (i * 37) % 300, 40, 0, NULL, NULL);
    log_partition_max_timestamp(fx->p, &ts, &off);
    assert_true(ts >= 1000);
    reopen(fx);
    log_partition_max_timestamp(fx->p, &ts2, &off2);
    assert_int_equal(ts2, ts);
    assert_int_equal(off2, off);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".timeindex", tpath, sizeof tpath);
    assert_int_equal(unlink(tpath), 0);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    log_partition_max_timestamp(fx->p, &ts2, &off2);
    assert_int_equal(ts2, ts);
    assert_int_equal(off2, off);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(offset_for_time_with_increasing_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(offset_for_time_with_non_monotonic_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(offset_for_time_across_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(offset_for_time_not_found_and_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(max_timestamp_survives_reopen_and_rebuild, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
