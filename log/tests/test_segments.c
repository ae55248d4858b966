#include "log_test_util.h"

#include "log/partition.h"

typedef struct fixture_s {
    tu_dir_t dir;
    log_partition_t *p;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
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

static void open_with(fixture_t *fx, const log_config_t *cfg)
{
    assert_int_equal(log_partition_open(fx->dir.part, cfg, &fx->p), 0);
}

static void roll_on_segment_bytes_names_files_by_base_offset(void **state)
{
    fixture_t *fx = *state;
    size_t len;
    log_config_t cfg = tu_config(300, 4096);
    open_with(fx, &cfg);
    /* 61 + 89 = 150 bytes each: two per 300-byte segment. */
    for (int i = 0; i < 6; i++)
        assert_int_equal(tu_append(fx->p, 2, 1, 89, (uint8_t)i, NULL, &len), 2 * i);
    assert_int_equal(len, 150);
    assert_int_equal(log_partition_segment_count(fx->p), 3);
    static const int64_t bases[] = {0, 4, 8};
    for (int i = 0; i < 3; i++) {
        char path[256];
        tu_seg_path(&fx->dir, bases[i], ".log", path, sizeof path);
        assert_int_equal(tu_file_size(path), 300);
        tu_seg_path(&fx->dir, bases[i], ".index", path, sizeof path);
        assert_true(tu_file_size(path) >= 0);
        tu_seg_path(&fx->dir, bases[i], ".timeindex", path, sizeof path);
        assert_true(tu_file_size(path) >= 0);
    }
    char path[256];
    tu_seg_path(&fx->dir, 8, ".log", path, sizeof path);
    assert_non_null(strstr(path, "/00000000000000000008.log"));
}

static void oversized_batch_goes_into_an_empty_segment(void **state)
{
    fixture_t *fx = *state;
    uint8_t *big;
    size_t lbig;
    buf_t out;
    buf_init(&out);
    log_config_t cfg = tu_config(200, 4096);
    open_with(fx, &cfg);
    tu_append(fx->p, 1, 1, 10, 0, NULL, NULL);   /* seg 0 */
    tu_append(fx->p, 1, 1, 500, 1, &big, &lbig); /* rolls to seg 1, alone */
    tu_append(fx->p, 1, 1, 10, 2, NULL, NULL);   /* rolls to seg 2 */
    assert_int_equal(log_partition_segment_count(fx->p), 3);
    assert_int_equal(tu_read(fx->p, 1, 10, 1, &out), 0);
    assert_int_equal(out.len, lbig);
    assert_memory_equal(out.data, big, lbig);
    /* A fresh log's empty first segment also takes it. */
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_dir_remove(&fx->dir);
    tu_dir_make(&fx->dir);
    open_with(fx, &cfg);
    assert_int_equal(log_partition_append(fx->p, big, lbig, 0, NULL), 0);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    free(big);
    buf_fini(&out);
}

static void reads_stop_at_segment_boundary_and_continue_in_next(void **state)
{
    fixture_t *fx = *state;
    uint8_t *copies[6];
    size_t lens[6];
    buf_t out;
    buf_init(&out);
    log_config_t cfg = tu_config(300, 4096);
    open_with(fx, &cfg);
    for (int i = 0; i < 6; i++)
        tu_append(fx->p, 2, 1, 89, (uint8_t)(i * 3), &copies[i], &lens[i]);
    /* Walk the log like a consumer: each read stays in one segment. */
    int64_t offset = 0;
    int batch = 0, reads = 0;
    while (offset < log_partition_end_offset(fx->p)) {
        assert_int_equal(tu_read(fx->p, offset, 1 << 20, 1, &out), 0);
        assert_int_equal(out.len, 300);
        for (size_t at = 0; at < out.len; at += 150, batch++) {
            assert_memory_equal(out.data + at, copies[batch], lens[batch]);
            offset = tu_be64(out.data + at) + 2;
        }
        reads++;
    }
    assert_int_equal(reads, 3);
    assert_int_equal(batch, 6);
    /* Reading from the last offset of segment 1 gives just its last batch. */
    assert_int_equal(tu_read(fx->p, 7, 1 << 20, 1, &out), 0);
    assert_int_equal(out.len, 150);
    assert_memory_equal(out.data, copies[3], lens[3]);
    for (int i = 0; i < 6; i++)
        free(copies[i]);
    buf_fini(&out);
}

static void index_lookups_agree_with_linear_scan(void **state)
{
    fixture_t *fx = *state;
    enum { N = 400 };
    int64_t first[N], pos[N];
    int32_t count[N];
    buf_t out;
    buf_init(&out);
    log_config_t cfg = tu_config(1 << 20, 200);
    open_with(fx, &cfg);
    int64_t at = 0;
    for (int i = 0; i < N; i++) {
        size_t len;
        count[i] = 1 + (i * 7) % 5;
        first[i] = tu_append(fx->p, count[i], 1000 + i, (size_t)(10 + (i * 37) % 120), (uint8_t)i, NULL, &len);
        pos[i] = at;
        at += (int64_t)len;
    }
    log_segment_t *seg = fx->p->segs[0];
    assert_int_equal(fx->p->nsegs, 1);
    assert_true(seg->oidx.count > 50);
    int b = 0;
    for (int64_t o = 0; o < log_partition_end_offset(fx->p); o++) {
        while (o > first[b] + count[b] - 1)
            b++;
        /* The index never points past the batch holding o ... */
        int64_t found;
        int64_t ipos = log_offset_index_lookup(&seg->oidx, o, &found);
        assert_true(found <= o);
        assert_true(ipos <= pos[b]);
        /* ... and it is the closest indexed batch at or before it. */
        for (size_t e = 0; e < seg->oidx.count; e++) {
            if (seg->base_offset + seg->oidx.entries[e].rel_offset <= o)
                assert_true(seg->oidx.entries[e].position <= ipos);
        }
        /* A read lands exactly on that batch. */
        log_read_t rd;
        assert_int_equal(log_partition_read(fx->p, o, 1, 1, &rd), 0);
        assert_int_equal((int64_t)rd.pos, pos[b]);
        log_read_release(&rd);
    }
    /* Entries are Kafka's: the last offset of the batch at that position. */
    for (size_t e = 0; e < seg->oidx.count; e++) {
        int64_t eo = seg->oidx.entries[e].rel_offset;
        int k = 0;
        while (pos[k] != seg->oidx.entries[e].position)
            k++;
        assert_int_equal(eo, first[k] + count[k] - 1);
    }
    buf_fini(&out);
}

static void roll_when_index_is_full(void **state)
{
    fixture_t *fx = *state;
    buf_t out;
    buf_init(&out);
    log_config_t cfg = tu_config(1 << 20, 0);
    cfg.index_max_bytes = 24; /* 3 offset entries, 2 time entries */
    open_with(fx, &cfg);
    /* Interval 0: every batch after the first one is indexed; rising
     * timestamps fill the time index at the same pace. */
    for (int i = 0; i < 12; i++)
        tu_append(fx->p, 1, 100 + i, 20, 0, NULL, NULL);
    assert_true(log_partition_segment_count(fx->p) >= 4);
    for (size_t s = 0; s < fx->p->nsegs; s++) {
        assert_true(fx->p->segs[s]->oidx.count <= 3);
        assert_true(fx->p->segs[s]->tidx.count <= 3); /* + the final entry on roll */
    }
    for (int64_t o = 0; o < 12; o++) {
        assert_int_equal(tu_read(fx->p, o, 1, 1, &out), 0);
        assert_int_equal(tu_be64(out.data), o);
    }
    /* After a restart (scanned or trusted) the rebuilt or loaded indexes
     * still fit, and the full active segment rolls on the next append. */
    size_t segs = log_partition_segment_count(fx->p);
    for (int clean = 0; clean <= 1; clean++) {
        log_partition_close(fx->p);
        fx->p = NULL;
        cfg.clean_shutdown = clean;
        open_with(fx, &cfg);
        assert_int_equal(log_partition_segment_count(fx->p), segs);
        for (size_t s = 0; s < fx->p->nsegs; s++)
            assert_true(fx->p->segs[s]->oidx.count <= 3);
        for (int64_t o = 0; o < 12; o++) {
            assert_int_equal(tu_read(fx->p, o, 1, 1, &out), 0);
            assert_int_equal(tu_be64(out.data), o);
        }
    }
    for (int i = 0; i < 6; i++)
        tu_append(fx->p, 1, 200 + i, 20, 0, NULL, NULL);
    for (size_t s = 0; s < fx->p->nsegs; s++)
        assert_true(fx->p->segs[s]->oidx.count <= 3);
    buf_fini(&out);
}

static int64_t fake_now;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now;
}

static void roll_on_time_uses_first_batch_timestamp(void **state)
{
    fixture_t *fx = *state;
    log_config_t cfg = tu_config(1 << 20, 4096);
    cfg.roll_ms = 1000;
    cfg.now_ms = fake_clock;
    fake_now = 50000;
    open_with(fx, &cfg);
    tu_append(fx->p, 1, 10000, 10, 0, NULL, NULL);
    tu_append(fx->p, 1, 10900, 10, 0, NULL, NULL);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    tu_append(fx->p, 1, 11001, 10, 0, NULL, NULL); /* 1001 ms after the first batch */
    assert_int_equal(log_partition_segment_count(fx->p), 2);
}

static void roll_on_time_without_timestamps_uses_clock(void **state)
{
    fixture_t *fx = *state;
    log_config_t cfg = tu_config(1 << 20, 4096);
    cfg.roll_ms = 1000;
    cfg.now_ms = fake_clock;
    fake_now = 50000;
    open_with(fx, &cfg);
    tu_append(fx->p, 1, -1, 10, 0, NULL, NULL);
    fake_now += 1000;
    tu_append(fx->p, 1, -1, 10, 0, NULL, NULL);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    fake_now += 1;
    tu_append(fx->p, 1, -1, 10, 0, NULL, NULL);
    assert_int_equal(log_partition_segment_count(fx->p), 2);
    tu_append(fx->p, 1, -1, 10, 0, NULL, NULL);
    assert_int_equal(log_partition_segment_count(fx->p), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(roll_on_segment_bytes_names_files_by_base_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_batch_goes_into_an_empty_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(reads_stop_at_segment_boundary_and_continue_in_next, setup, teardown),
        cmocka_unit_test_setup_teardown(index_lookups_agree_with_linear_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(roll_when_index_is_full, setup, teardown),
        cmocka_unit_test_setup_teardown(roll_on_time_uses_first_batch_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(roll_on_time_without_timestamps_uses_clock, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
