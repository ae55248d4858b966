#include <fcntl.h>

#include "log_test_util.h"

#include "log/partition.h"

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
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
    for (int i = 0; i < fx->n; i++)
        free(fx->copies[i]);
    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

static void reopen_with(fixture_t *fx, const log_config_t *cfg)
{
    log_partition_close(fx->p);
    fx->p = NULL;
    fx->cfg = *cfg;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

static void append_some(fixture_t *fx, int count)
{
    for (int i = 0; i < count; i++) {
        int k = fx->n++;
        fx->bases[k] = tu_append(fx->p, 1 + k % 3, 7000 + k * 10, (size_t)(40 + (k * 13) % 50), (uint8_t)(k * 3),
                                 &fx->copies[k], &fx->lens[k]);
    }
}

static int64_t end_after(const fixture_t *fx, int k)
{
    return fx->bases[k] + 1 + k % 3;
}

/* Batches [0, upto) read back byte-equal, and nothing is readable after them. */
static void check_prefix(fixture_t *fx, int upto)
{
    buf_t out;
    buf_init(&out);
    assert_int_equal(log_partition_end_offset(fx->p), upto > 0 ? end_after(fx, upto - 1) : 0);
    for (int k = 0; k < upto; k++) {
        assert_int_equal(tu_read(fx->p, fx->bases[k], fx->lens[k], 1, &out), 0);
        assert_int_equal(out.len, fx->lens[k]);
        assert_memory_equal(out.data, fx->copies[k], fx->lens[k]);
    }
    buf_fini(&out);
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Opens the damaged files with cfg, checks the log ends right before batch `keep`, closes. */
static void open_expect_prefix(fixture_t *fx, const log_config_t *cfg, int keep, const char *lpath, int64_t boundary)
{
    assert_int_equal(log_partition_open(fx->dir.part, cfg, &fx->p), 0);
    check_prefix(fx, keep);
    assert_int_equal(tu_file_size(lpath), boundary);
    /* The cut log takes appends at the right offset. */
    int64_t base = tu_append(fx->p, 1, 1, 10, 0, NULL, NULL);
    assert_int_equal(base, end_after(fx, keep - 1));
    log_partition_close(fx->p);
    fx->p = NULL;
}

static void unclean_config(log_config_t *cfg)
{
    cfg->clean_shutdown = 0;
    cfg->recovery_point = -1;
}

static void truncated_last_batch_at_every_byte_recovers_to_previous_boundary(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    size_t full_len;
    append_some(fx, 10);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".log", lpath, sizeof lpath);
    uint8_t *full = tu_slurp(lpath, &full_len);
    size_t last = fx->lens[fx->n - 1];
    int64_t boundary = (int64_t)(full_len - last);
    for (int clean = 0; clean <= 1; clean++) {
        log_config_t cfg = fx->cfg;
        unclean_config(&cfg);
        cfg.clean_shutdown = clean;
        for (size_t keep = 0; keep < last; keep++) {
            write_file(lpath, full, (size_t)boundary + keep);
            open_expect_prefix(fx, &cfg, fx->n - 1, lpath, boundary);
        }
    }
    write_file(lpath, full, full_len);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    check_prefix(fx, fx->n);
    free(full);
}

/*
 * A damaged byte anywhere in the last batch that the format can detect is
 * found by the unclean-stop scan: the CRC-32C covers bytes 21 to the end,
 * the length and magic are checked, and a base offset is checked against the
 * previous batch. The partition leader epoch (bytes 12-15) is covered by
 * nothing in Kafka's format, so a change there is undetectable by design.
 */
static void corrupted_last_batch_at_every_byte_recovers_to_previous_boundary(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    size_t full_len;
    log_config_t cfg;
    append_some(fx, 10);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".log", lpath, sizeof lpath);
    uint8_t *full = tu_slurp(lpath, &full_len);
    uint8_t *bad = malloc(full_len);
    assert_non_null(bad);
    size_t last = fx->lens[fx->n - 1];
    int64_t boundary = (int64_t)(full_len - last);
    cfg = fx->cfg;
    unclean_config(&cfg);
    for (size_t at = 8; at < last; at++) {
        if (at >= 12 && at < 16)
            continue; /* partition leader epoch: outside the CRC */
        for (int flip = 0; flip < 2; flip++) {
            memcpy(bad, full, full_len);
            bad[(size_t)boundary + at] ^= flip ? 0x80 : 0x01;
            write_file(lpath, bad, full_len);
            open_expect_prefix(fx, &cfg, fx->n - 1, lpath, boundary);
        }
    }
    /* Base offset bytes: anything going backwards is caught. */
    for (size_t at = 0; at < 8; at++) {
        memcpy(bad, full, full_len);
        memset(bad + boundary, 0, 8);
        bad[(size_t)boundary + at] = at == 0 ? 0x80 : 0x00; /* negative, or offset 0 */
        write_file(lpath, bad, full_len);
        open_expect_prefix(fx, &cfg, fx->n - 1, lpath, boundary);
    }
    free(bad);
    free(full);
}

/* With the clean-shutdown marker the files are trusted: no CRC scan. */
static void clean_shutdown_skips_the_crc_scan(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    size_t len;
    append_some(fx, 6);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".log", lpath, sizeof lpath);
    uint8_t *data = tu_slurp(lpath, &len);
    data[len - 3] ^= 0xff; /* inside the last batch's records */
    write_file(lpath, data, len);
    log_config_t cfg = fx->cfg;
    cfg.clean_shutdown = 1;
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), end_after(fx, fx->n - 1));
    log_partition_close(fx->p);
    fx->p = NULL;
    cfg.clean_shutdown = 0;
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
    check_prefix(fx, fx->n - 1);
    free(data);
}

/* Batches bigger than the scan buffer are checked in chunks: a flip deep inside is found. */
static void corruption_inside_a_large_batch_is_found(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    size_t len, big_len;
    uint8_t *big;
    append_some(fx, 2);
    int64_t base = tu_append(fx->p, 3, 9000, 200000, 9, &big, &big_len);
    assert_int_equal(base, end_after(fx, 1));
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".log", lpath, sizeof lpath);
    uint8_t *data = tu_slurp(lpath, &len);
    int64_t boundary = (int64_t)(len - big_len);
    log_config_t cfg = fx->cfg;
    unclean_config(&cfg);
    /* Intact: kept whole. */
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), base + 3);
    log_partition_close(fx->p);
    fx->p = NULL;
    const size_t spots[] = {100, 70000, 150000, 200000 + PROTO_BATCH_HEADER_SIZE - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        data[(size_t)boundary + spots[i]] ^= 0x10;
        write_file(lpath, data, len);
        open_expect_prefix(fx, &cfg, 2, lpath, boundary);
        data[(size_t)boundary + spots[i]] ^= 0x10;
    }
    free(big);
    free(data);
}

/* A multi-segment log with `count` batches; returns the segment count. */
static size_t build_segments(fixture_t *fx, int count)
{
    log_config_t cfg = tu_config(300, 50);
    reopen_with(fx, &cfg);
    append_some(fx, count);
    size_t segs = log_partition_segment_count(fx->p);
    log_partition_close(fx->p);
    fx->p = NULL;
    return segs;
}

/* The index (into fx->bases) of the first batch of segment s, from the files. */
static int first_batch_of(fixture_t *fx, int64_t seg_base)
{
    for (int k = 0; k < fx->n; k++)
        if (fx->bases[k] == seg_base)
            return k;
    fail();
    return -1;
}

static void corruption_in_a_sealed_segment_cuts_the_log_there(void **state)
{
    fixture_t *fx = *state;
    char lpath[256], later[256];
    size_t len;
    size_t segs = build_segments(fx, 16);
    assert_true(segs >= 4);
    /* Find segment 1's base from the files: reopen and look. */
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    int64_t base1 = fx->p->segs[1]->base_offset, base2 = fx->p->segs[2]->base_offset;
    log_partition_close(fx->p);
    fx->p = NULL;
    int k1 = first_batch_of(fx, base1);
    tu_seg_path(&fx->dir, base1, ".log", lpath, sizeof lpath);
    uint8_t *data = tu_slurp(lpath, &len);
    /* Damage the records of segment 1's second batch. */
    size_t at = fx->lens[k1] + fx->lens[k1 + 1] - 5;
    assert_true(at < len);
    data[at] ^= 0x20;
    write_file(lpath, data, len);

    /* A recovery point at or after segment 2 trusts segment 1: nothing is cut. */
    log_config_t cfg = fx->cfg;
    cfg.recovery_point = base2;
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
    assert_int_equal(log_partition_segment_count(fx->p), segs);
    assert_int_equal(log_partition_end_offset(fx->p), end_after(fx, fx->n - 1));
    log_partition_close(fx->p);
    fx->p = NULL;

    /* Unknown recovery point: scanned, cut, and every later segment deleted. */
    cfg.recovery_point = -1;
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
    assert_int_equal(log_partition_segment_count(fx->p), 2);
    check_prefix(fx, k1 + 1);
    assert_int_equal(tu_file_size(lpath), (int64_t)fx->lens[k1]);
    tu_seg_path(&fx->dir, base2, ".log", later, sizeof later);
    assert_int_equal(tu_file_size(later), -1);
    tu_seg_path(&fx->dir, base2, ".index", later, sizeof later);
    assert_int_equal(tu_file_size(later), -1);
    /* The next append continues in the cut segment with the next offset. */
    assert_int_equal(tu_append(fx->p, 1, 1, 10, 0, NULL, NULL), end_after(fx, k1));
    free(data);
}

/* A recovery point inside a segment scans that segment (and the later ones) too. */
static void recovery_point_scan_starts_at_its_segment(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    size_t len;
    build_segments(fx, 16);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    int64_t base1 = fx->p->segs[1]->base_offset;
    log_partition_close(fx->p);
    fx->p = NULL;
    int k1 = first_batch_of(fx, base1);
    tu_seg_path(&fx->dir, base1, ".log", lpath, sizeof lpath);
    uint8_t *data = tu_slurp(lpath, &len);
    data[len - 1] ^= 0x01;
    write_file(lpath, data, len);
    log_config_t cfg = fx->cfg;
    cfg.recovery_point = fx->bases[k1 + 1]; /* inside segment 1 */
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
    assert_int_equal(log_partition_segment_count(fx->p), 2);
    assert_true(log_partition_end_offset(fx->p) < end_after(fx, fx->n - 1));
    assert_true(log_partition_end_offset(fx->p) > base1);
    free(data);
}

static void scan_rebuilds_indexes_that_answer_lookups(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    size_t segs = build_segments(fx, 20);
    /* Garble every index file: the unclean scan rewrites them all. */
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    int64_t bases[16];
    for (size_t s = 0; s < segs; s++)
        bases[s] = fx->p->segs[s]->base_offset;
    log_partition_close(fx->p);
    fx->p = NULL;
    for (size_t s = 0; s < segs; s++) {
        uint8_t junk[36];
        memset(junk, 0x5a, sizeof junk);
        tu_seg_path(&fx->dir, bases[s], ".index", path, sizeof path);
        write_file(path, junk, 16);
        tu_seg_path(&fx->dir, bases[s], ".timeindex", path, sizeof path);
        write_file(path, junk, 36);
    }
    log_config_t cfg = fx->cfg;
    unclean_config(&cfg);
    assert_int_equal(log_partition_open(fx->dir.part, &cfg, &fx->p), 0);
    assert_int_equal(log_partition_segment_count(fx->p), segs);
    check_prefix(fx, fx->n);
    /* Time lookups: batch k has max timestamp 7000 + 10k. */
    for (int k = 0; k < fx->n; k++) {
        int64_t off, ts;
        assert_int_equal(log_partition_offset_for_time(fx->p, 7000 + k * 10 - 5, &off, &ts), 0);
        assert_int_equal(off, fx->bases[k]);
        assert_int_equal(ts, 7000 + k * 10);
    }
    int64_t mts, moff;
    log_partition_max_timestamp(fx->p, &mts, &moff);
    assert_int_equal(mts, 7000 + (fx->n - 1) * 10);
    assert_int_equal(moff, end_after(fx, fx->n - 1) - 1);
}

/* Nothing on disk may crash the open: garbage becomes an empty segment. */
static void garbage_segment_recovers_to_empty(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    uint8_t junk[4096];
    log_partition_close(fx->p);
    fx->p = NULL;
    srand(7);
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rand();
        if (round % 2 == 0)
            junk[16] = 2; /* magic right, so the length and CRC checks are what stop it */
        tu_seg_path(&fx->dir, 0, ".log", lpath, sizeof lpath);
        write_file(lpath, junk, sizeof junk);
        assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
        assert_int_equal(log_partition_end_offset(fx->p), 0);
        assert_int_equal(tu_file_size(lpath), 0);
        log_partition_close(fx->p);
        fx->p = NULL;
    }
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

static void unreadable_files_fail_open(void **state)
{
    fixture_t *fx = *state;
    char lpath[256];
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".log", lpath, sizeof lpath);
    /* A segment name that is a directory. */
    assert_int_equal(unlink(lpath), 0);
    assert_int_equal(mkdir(lpath, 0755), 0);
    assert_true(log_partition_open(fx->dir.part, &fx->cfg, &fx->p) < 0);
    assert_null(fx->p);
    assert_int_equal(rmdir(lpath), 0);
    /* A segment larger than any segment can be (sparse). */
    int fd = open(lpath, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)3 << 30), 0);
    close(fd);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), LOG_ECORRUPT);
    assert_null(fx->p);
    assert_int_equal(unlink(lpath), 0);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

/* A crash between the rename and the unlink of a deletion leaves *.deleted files. */
static void leftover_deleted_files_are_removed_at_open(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    uint8_t junk[10] = {0};
    append_some(fx, 2);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 500, ".log.deleted", path, sizeof path);
    write_file(path, junk, sizeof junk);
    tu_seg_path(&fx->dir, 500, ".index.deleted", path, sizeof path);
    write_file(path, junk, 8);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(tu_file_size(path), -1);
    tu_seg_path(&fx->dir, 500, ".log.deleted", path, sizeof path);
    assert_int_equal(tu_file_size(path), -1);
    check_prefix(fx, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(truncated_last_batch_at_every_byte_recovers_to_previous_boundary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(corrupted_last_batch_at_every_byte_recovers_to_previous_boundary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(clean_shutdown_skips_the_crc_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(corruption_inside_a_large_batch_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(corruption_in_a_sealed_segment_cuts_the_log_there, setup, teardown),
        cmocka_unit_test_setup_teardown(recovery_point_scan_starts_at_its_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(scan_rebuilds_indexes_that_answer_lookups, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_segment_recovers_to_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(unreadable_files_fail_open, setup, teardown),
        cmocka_unit_test_setup_teardown(leftover_deleted_files_are_removed_at_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
