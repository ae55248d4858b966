#include "log_test_util.h"

#include "log/partition.h"

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
    /* What was appended, to compare after a reopen. */
    uint8_t *copies[64];
    size_t lens[64];
    int64_t bases[64];
    int n;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    fx->cfg = tu_config(1000, 300);
    if (log_partition_open(fx->dir.part, &fx->cfg, &fx->p) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    log_partition_close(fx->p);
    for (int i = 0; i < fx->n; i++)
        free(fx->copies[i]);
    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

static void append_some(fixture_t *fx, int count)
{
    for (int i = 0; i < count; i++) {
        int k = fx->n++;
        fx->bases[k] = tu_append(fx->p, 1 + k % 4, 5000 + (k * 7919) % 1000, (size_t)(30 + (k * 31) % 90), (uint8_t)k,
                                 &fx->copies[k], &fx->lens[k]);
    }
}

static void reopen(fixture_t *fx)
{
    log_partition_close(fx->p);
    fx->p = NULL;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

/* Every batch appended so far reads back byte-equal at its offset. */
static void check_all(fixture_t *fx, int upto)
{
    buf_t out;
    buf_init(&out);
    for (int k = 0; k < upto; k++) {
        assert_int_equal(tu_read(fx->p, fx->bases[k], fx->lens[k], 1, &out), 0);
        assert_int_equal(out.len, fx->lens[k]);
        assert_memory_equal(out.data, fx->copies[k], fx->lens[k]);
    }
    buf_fini(&out);
}

static int64_t end_after(const fixture_t *fx, int k)
{
    return fx->bases[k] + 1 + k % 4;
}

static void reopen_preserves_data_and_end_offset(void **state)
{
    fixture_t *fx = *state;
    int64_t ts, off, ts2, off2;
    append_some(fx, 30);
    int64_t leo = log_partition_end_offset(fx->p);
    size_t segs = log_partition_segment_count(fx->p);
    assert_true(segs > 2);
    log_partition_max_timestamp(fx->p, &ts, &off);
    reopen(fx);
    assert_int_equal(log_partition_end_offset(fx->p), leo);
    assert_int_equal(log_partition_segment_count(fx->p), segs);
    assert_int_equal(log_partition_start_offset(fx->p), 0);
    log_partition_max_timestamp(fx->p, &ts2, &off2);
    assert_int_equal(ts2, ts);
    assert_int_equal(off2, off);
    check_all(fx, fx->n);
    /* Appends carry on from the end. */
    append_some(fx, 10);
    assert_int_equal(fx->bases[30], leo);
    reopen(fx);
    check_all(fx, fx->n);
    assert_int_equal(log_partition_end_offset(fx->p), end_after(fx, fx->n - 1));
}

static void reopen_empty_log_is_empty(void **state)
{
    fixture_t *fx = *state;
    reopen(fx);
    assert_int_equal(log_partition_end_offset(fx->p), 0);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    append_some(fx, 1);
    assert_int_equal(fx->bases[0], 0);
}

static void reopen_rebuilds_a_deleted_index_identically(void **state)
{
    fixture_t *fx = *state;
    char ipath[256], tpath[256];
    size_t ilen, tlen, ilen2, tlen2;
    fx->cfg = tu_config(1 << 20, 300);
    reopen(fx);
    append_some(fx, 40);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".index", ipath, sizeof ipath);
    tu_seg_path(&fx->dir, 0, ".timeindex", tpath, sizeof tpath);
    uint8_t *idx = tu_slurp(ipath, &ilen);
    uint8_t *tidx = tu_slurp(tpath, &tlen);
    assert_true(ilen >= 8 * 5);
    assert_true(tlen >= 12);
    assert_int_equal(unlink(ipath), 0);
    assert_int_equal(unlink(tpath), 0);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    check_all(fx, fx->n);
    log_partition_close(fx->p);
    fx->p = NULL;
    uint8_t *idx2 = tu_slurp(ipath, &ilen2);
    uint8_t *tidx2 = tu_slurp(tpath, &tlen2);
    assert_int_equal(ilen2, ilen);
    assert_memory_equal(idx2, idx, ilen);
    assert_int_equal(tlen2, tlen);
    assert_memory_equal(tidx2, tidx, tlen);
    free(idx);
    free(tidx);
    free(idx2);
    free(tidx2);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

static void reopen_rebuilds_an_index_with_a_partial_entry(void **state)
{
    fixture_t *fx = *state;
    char ipath[256];
    fx->cfg = tu_config(1 << 20, 300);
    reopen(fx);
    append_some(fx, 40);
    int64_t leo = log_partition_end_offset(fx->p);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".index", ipath, sizeof ipath);
    int64_t size = tu_file_size(ipath);
    assert_int_equal(truncate(ipath, size - 3), 0);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), leo);
    assert_int_equal(tu_file_size(ipath), size);
    check_all(fx, fx->n);
}

static void reopen_rebuilds_an_index_pointing_past_the_data(void **state)
{
    fixture_t *fx = *state;
    char ipath[256];
    fx->cfg = tu_config(1 << 20, 300);
    reopen(fx);
    append_some(fx, 40);
    int64_t leo = log_partition_end_offset(fx->p);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".index", ipath, sizeof ipath);
    /* A well-formed entry whose position is beyond the file. */
    FILE *f = fopen(ipath, "ab");
    assert_non_null(f);
    static const uint8_t bad[8] = {0x00, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00, 0x00};
    assert_int_equal(fwrite(bad, 1, sizeof bad, f), sizeof bad);
    fclose(f);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), leo);
    check_all(fx, fx->n);
}

static void reopen_with_truncated_tail_comes_back_at_previous_batch(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    append_some(fx, 20);
    int last_seg_first = -1;
    size_t nseg = log_partition_segment_count(fx->p);
    int64_t last_base = fx->p->segs[nseg - 1]->base_offset;
    for (int k = 0; k < fx->n; k++) {
        if (fx->bases[k] == last_base)
            last_seg_first = k;
    }
    assert_true(last_seg_first >= 0 && last_seg_first < fx->n - 1);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, last_base, ".log", lpath, sizeof lpath);
    int64_t size = tu_file_size(lpath);
    assert_int_equal(truncate(lpath, size - (int64_t)fx->lens[fx->n - 1] / 2), 0);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), end_after(fx, fx->n - 2));
    assert_int_equal(tu_file_size(lpath), size - (int64_t)fx->lens[fx->n - 1]);
    check_all(fx, fx->n - 1);
    /* The lost batch's offsets are given out again. */
    int lost = --fx->n;
    free(fx->copies[lost]);
    append_some(fx, 1);
    assert_int_equal(fx->bases[lost], end_after(fx, lost - 1));
    reopen(fx);
    check_all(fx, fx->n);
}

static void reopen_survives_a_cut_at_every_byte_of_the_last_batch(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    fx->cfg = tu_config(1 << 20, 100);
    reopen(fx);
    append_some(fx, 12);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".log", lpath, sizeof lpath);
    size_t full_len;
    uint8_t *full = tu_slurp(lpath, &full_len);
    size_t last = fx->lens[fx->n - 1];
    for (size_t cut = 1; cut < last; cut++) {
        FILE *f = fopen(lpath, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(full, 1, full_len - cut, f), full_len - cut);
        fclose(f);
        assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
        assert_int_equal(log_partition_end_offset(fx->p), end_after(fx, fx->n - 2));
        log_partition_close(fx->p);
        fx->p = NULL;
    }
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    check_all(fx, fx->n - 1);
    free(full);
}

static void reopen_with_garbage_after_the_last_batch_cuts_it(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    append_some(fx, 3);
    int64_t leo = log_partition_end_offset(fx->p);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".log", lpath, sizeof lpath);
    int64_t size = tu_file_size(lpath);
    /* A plausible length but magic 0, then a header claiming 2 GiB. */
    uint8_t junk[200];
    memset(junk, 0, sizeof junk);
    junk[11] = 100;
    FILE *f = fopen(lpath, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), leo);
    assert_int_equal(tu_file_size(lpath), size);
    check_all(fx, fx->n);

    log_partition_close(fx->p);
    fx->p = NULL;
    memset(junk, 0xff, sizeof junk);
    memcpy(junk, fx->copies[0], PROTO_BATCH_HEADER_SIZE);
    junk[8] = 0x7f; /* batch_length ~2 GiB */
    f = fopen(lpath, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), leo);
    check_all(fx, fx->n);
}

static void reopen_ignores_files_that_are_not_segments(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    append_some(fx, 3);
    log_partition_close(fx->p);
    fx->p = NULL;
    static const char *names[] = {"leader-epoch-checkpoint", "00000000000000000099.log.deleted",
                                  "0000000000000000001.log", "99999999999999999999.log", "0000000000000000000x.log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fx->dir.part, names[i]);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs("not a segment", f);
        fclose(f);
    }
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    check_all(fx, fx->n);
}

static void remove_deletes_the_partition_directory(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    struct stat st;
    append_some(fx, 20);
    snprintf(path, sizeof path, "%s/sub", fx->dir.part);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(log_partition_remove(fx->p), 0);
    fx->p = NULL;
    assert_int_equal(stat(fx->dir.part, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void reopen_rebuilds_indexes_of_a_sealed_segment(void **state)
{
    fixture_t *fx = *state;
    char ipath[256], tpath[256];
    append_some(fx, 30);
    assert_true(log_partition_segment_count(fx->p) >= 3);
    int64_t mid = fx->p->segs[1]->base_offset;
    size_t entries = fx->p->segs[1]->oidx.count;
    int64_t leo = log_partition_end_offset(fx->p);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, mid, ".index", ipath, sizeof ipath);
    tu_seg_path(&fx->dir, mid, ".timeindex", tpath, sizeof tpath);
    assert_int_equal(unlink(ipath), 0);
    assert_int_equal(truncate(tpath, 5), 0);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), leo);
    assert_int_equal(fx->p->segs[1]->oidx.count, entries);
    assert_int_equal(tu_file_size(ipath), (int64_t)entries * 8);
    assert_int_equal(tu_file_size(tpath) % 12, 0);
    check_all(fx, fx->n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reopen_preserves_data_and_end_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_empty_log_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_rebuilds_a_deleted_index_identically, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_rebuilds_an_index_with_a_partial_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_rebuilds_indexes_of_a_sealed_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_rebuilds_an_index_pointing_past_the_data, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_with_truncated_tail_comes_back_at_previous_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_survives_a_cut_at_every_byte_of_the_last_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_with_garbage_after_the_last_batch_cuts_it, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_ignores_files_that_are_not_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_deletes_the_partition_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
