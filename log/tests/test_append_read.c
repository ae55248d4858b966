#include "log_test_util.h"

#include <dirent.h>
#include <limits.h>

typedef struct fixture_s {
    tu_dir_t dir;
    log_partition_t *p;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    log_config_t cfg = tu_config(1 << 20, 4096);
    if (log_partition_open(fx->dir.part, &cfg, &fx->p) != 0)
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

static void append_assigns_contiguous_offsets_and_reads_back_byte_equal(void **state)
{
    fixture_t *fx = *state;
    static const int32_t counts[] = {1, 5, 2, 10, 1, 3};
    uint8_t *copies[6];
    size_t lens[6];
    int64_t expect = 0;
    buf_t out;
    buf_init(&out);

    assert_int_equal(log_partition_end_offset(fx->p), 0);
    for (int i = 0; i < 6; i++) {
        int64_t base = tu_append(fx->p, counts[i], 1000 + i, 40 + (size_t)i * 13, (uint8_t)i, &copies[i], &lens[i]);
        assert_int_equal(base, expect);
        /* The caller's buffer carries the assigned offset and epoch. */
        assert_int_equal(tu_be64(copies[i]), expect);
        assert_int_equal(tu_be32(copies[i] + 12), 7);
        expect += counts[i];
        assert_int_equal(log_partition_end_offset(fx->p), expect);
    }
    assert_int_equal(log_partition_start_offset(fx->p), 0);

    /* Everything in one read, byte-for-byte. */
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &out), 0);
    size_t at = 0;
    for (int i = 0; i < 6; i++) {
        assert_true(at + lens[i] <= out.len);
        assert_memory_equal(out.data + at, copies[i], lens[i]);
        assert_true(proto_batch_crc_ok(out.data + at, lens[i]));
        at += lens[i];
    }
    assert_int_equal(at, out.len);
    for (int i = 0; i < 6; i++)
        free(copies[i]);
    buf_fini(&out);
}

static void read_from_middle_of_batch_returns_that_batch(void **state)
{
    fixture_t *fx = *state;
    uint8_t *b1;
    size_t l1;
    buf_t out;
    buf_init(&out);
    tu_append(fx->p, 3, 10, 20, 1, NULL, NULL); /* 0..2 */
    tu_append(fx->p, 5, 11, 30, 2, &b1, &l1);   /* 3..7 */
    tu_append(fx->p, 1, 12, 25, 3, NULL, NULL); /* 8 */
    for (int64_t o = 3; o <= 7; o++) {
        assert_int_equal(tu_read(fx->p, o, l1, 0, &out), 0);
        assert_int_equal(out.len, l1);
        assert_memory_equal(out.data, b1, l1);
    }
    free(b1);
    buf_fini(&out);
}

static void read_at_end_offset_is_empty(void **state)
{
    fixture_t *fx = *state;
    log_read_t rd;
    assert_int_equal(log_partition_read(fx->p, 0, 100, 1, &rd), 0);
    assert_int_equal(rd.len, 0);
    assert_null(rd.seg);
    log_read_release(&rd);
    tu_append(fx->p, 4, 1, 10, 0, NULL, NULL);
    assert_int_equal(log_partition_read(fx->p, 4, 100, 1, &rd), 0);
    assert_int_equal(rd.len, 0);
    log_read_release(&rd);
}

static void read_out_of_range_fails(void **state)
{
    fixture_t *fx = *state;
    log_read_t rd;
    tu_append(fx->p, 4, 1, 10, 0, NULL, NULL);
    assert_int_equal(log_partition_read(fx->p, 5, 100, 1, &rd), LOG_EOUT_OF_RANGE);
    assert_int_equal(rd.len, 0);
    assert_int_equal(log_partition_read(fx->p, -1, 100, 1, &rd), LOG_EOUT_OF_RANGE);
    assert_int_equal(log_partition_read(fx->p, INT64_MAX, 100, 1, &rd), LOG_EOUT_OF_RANGE);
    assert_string_equal(log_strerror(LOG_EOUT_OF_RANGE), "offset outside the log's [start, end] range");
}

static void max_bytes_returns_whole_batches_only(void **state)
{
    fixture_t *fx = *state;
    size_t l0, l1, l2;
    buf_t out;
    buf_init(&out);
    tu_append(fx->p, 1, 1, 100, 0, NULL, &l0);
    tu_append(fx->p, 1, 1, 100, 1, NULL, &l1);
    tu_append(fx->p, 1, 1, 100, 2, NULL, &l2);
    /* Room for two and a half batches: two come back. */
    assert_int_equal(tu_read(fx->p, 0, l0 + l1 + l2 / 2, 1, &out), 0);
    assert_int_equal(out.len, l0 + l1);
    /* Exactly three. */
    assert_int_equal(tu_read(fx->p, 0, l0 + l1 + l2, 1, &out), 0);
    assert_int_equal(out.len, l0 + l1 + l2);
    /* Starting in the middle. */
    assert_int_equal(tu_read(fx->p, 1, l1 + l2 - 1, 1, &out), 0);
    assert_int_equal(out.len, l1);
    buf_fini(&out);
}

static void min_one_batch_returns_oversized_first_batch(void **state)
{
    fixture_t *fx = *state;
    uint8_t *big;
    size_t lbig;
    buf_t out;
    buf_init(&out);
    tu_append(fx->p, 2, 1, 500, 9, &big, &lbig);
    tu_append(fx->p, 1, 1, 10, 1, NULL, NULL);
    assert_int_equal(tu_read(fx->p, 1, 50, 1, &out), 0);
    assert_int_equal(out.len, lbig);
    assert_memory_equal(out.data, big, lbig);
    /* Without the rule (Fetch v <= 2 hard limit) nothing fits. */
    assert_int_equal(tu_read(fx->p, 0, 50, 0, &out), 0);
    assert_int_equal(out.len, 0);
    /* max_bytes 0 with the rule still makes progress. */
    assert_int_equal(tu_read(fx->p, 0, 0, 1, &out), 0);
    assert_int_equal(out.len, lbig);
    free(big);
    buf_fini(&out);
}

static void append_rejects_batch_whose_length_disagrees(void **state)
{
    fixture_t *fx = *state;
    size_t len;
    int64_t base;
    uint8_t *b = tu_batch(1, 1, 1, 20, 0, &len);
    assert_int_equal(log_partition_append(fx->p, b, len - 1, 0, &base), -EINVAL);
    assert_int_equal(log_partition_append(fx->p, b, 30, 0, &base), -EINVAL);
    b[16] = 1; /* magic */
    assert_int_equal(log_partition_append(fx->p, b, len, 0, &base), -EINVAL);
    assert_int_equal(log_partition_end_offset(fx->p), 0);
    free(b);
}

static void max_timestamp_keeps_first_batch_reaching_it(void **state)
{
    fixture_t *fx = *state;
    int64_t ts, off;
    log_partition_max_timestamp(fx->p, &ts, &off);
    assert_int_equal(ts, -1);
    assert_int_equal(off, -1);
    tu_append(fx->p, 2, 100, 10, 0, NULL, NULL); /* 0-1 */
    tu_append(fx->p, 3, 300, 10, 0, NULL, NULL); /* 2-4 */
    tu_append(fx->p, 1, 200, 10, 0, NULL, NULL); /* 5 */
    tu_append(fx->p, 1, 300, 10, 0, NULL, NULL); /* 6: ties do not move it */
    log_partition_max_timestamp(fx->p, &ts, &off);
    assert_int_equal(ts, 300);
    assert_int_equal(off, 4);
}

static void read_keeps_segment_alive_after_remove(void **state)
{
    fixture_t *fx = *state;
    uint8_t *b;
    size_t len;
    log_read_t rd;
    buf_t out;
    buf_init(&out);
    tu_append(fx->p, 1, 1, 64, 5, &b, &len);
    assert_int_equal(log_partition_read(fx->p, 0, 1000, 1, &rd), 0);
    assert_int_equal(rd.len, len);
    assert_int_equal(log_partition_remove(fx->p), 0);
    fx->p = NULL;
    struct stat st;
    assert_int_equal(stat(fx->dir.part, &st), -1);
    /* The descriptor outlives the partition and its files. */
    assert_int_equal(log_read_copy(&rd, &out), 0);
    assert_memory_equal(out.data, b, len);
    log_read_release(&rd);
    log_read_release(&rd); /* idempotent */
    free(b);
    buf_fini(&out);
}

static void open_rejects_path_too_long(void **state)
{
    (void)state;
    char path[PATH_MAX + 16];
    log_partition_t *p = NULL;
    log_config_t cfg;
    log_config_defaults(&cfg);
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    assert_int_equal(log_partition_open(path, &cfg, &p), -ENAMETOOLONG);
    assert_null(p);
    /* Leaving no room for the segment file names fails the same way. */
    path[PATH_MAX - 20] = '\0';
    assert_int_equal(log_partition_open(path, &cfg, &p), -ENAMETOOLONG);
}

static void open_rejects_bad_config(void **state)
{
    fixture_t *fx = *state;
    log_partition_t *p = NULL;
    log_config_t cfg = tu_config(0, 4096);
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &p), -EINVAL);
    cfg = tu_config((int64_t)INT32_MAX + 1, 4096);
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &p), -EINVAL);
    cfg = tu_config(1000, 4096);
    cfg.index_max_bytes = 8;
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &p), -EINVAL);
}

static void config_defaults_are_kafkas(void **state)
{
    (void)state;
    log_config_t cfg;
    log_config_defaults(&cfg);
    assert_int_equal(cfg.segment_bytes, 1073741824);
    assert_int_equal(cfg.index_interval_bytes, 4096);
    assert_int_equal(cfg.index_max_bytes, 10485760);
    assert_int_equal(cfg.roll_ms, 604800000);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void close_and_remove_release_every_descriptor(void **state)
{
    fixture_t *fx = *state;
    log_read_t rd;
    log_config_t cfg = tu_config(200, 0);
    log_partition_close(fx->p);
    fx->p = NULL;
    int before = count_fds();
    for (int round = 0; round < 3; round++) {
        assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
        for (int i = 0; i < 5; i++)
            tu_append(fx->p, 1, 1, 100, 0, NULL, NULL);
        assert_int_equal(log_partition_read(fx->p, 0, 1000, 1, &rd), 0);
        log_partition_close(fx->p);
        fx->p = NULL;
        assert_true(count_fds() > before); /* the read still holds its segment */
        log_read_release(&rd);
        assert_int_equal(count_fds(), before);
    }
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), 15);
    assert_int_equal(log_partition_remove(fx->p), 0);
    fx->p = NULL;
    assert_int_equal(count_fds(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_assigns_contiguous_offsets_and_reads_back_byte_equal, setup, teardown),
        cmocka_unit_test_setup_teardown(read_from_middle_of_batch_returns_that_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(read_at_end_offset_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(read_out_of_range_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(max_bytes_returns_whole_batches_only, setup, teardown),
        cmocka_unit_test_setup_teardown(min_one_batch_returns_oversized_first_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(append_rejects_batch_whose_length_disagrees, setup, teardown),
        cmocka_unit_test_setup_teardown(max_timestamp_keeps_first_batch_reaching_it, setup, teardown),
        cmocka_unit_test_setup_teardown(read_keeps_segment_alive_after_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(open_rejects_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(close_and_remove_release_every_descriptor, setup, teardown),
        cmocka_unit_test(open_rejects_path_too_long),
        cmocka_unit_test(config_defaults_are_kafkas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
