/*
 * Index descriptors are opened on demand: a quiet partition holds only its
 * .log open (and a new segment has only that file until its first append), an index file is reopened by the first write
 * that needs it, a segment whose .log is empty is opened without reading its index files, and stale index files beside
 * an empty .log are emptied, not trusted, once written again.
 */
#include <dirent.h>

#include "log/index.h"
#include "log_test_util.h"

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the listing's own descriptor */
}

static void a_quiet_partition_holds_one_descriptor(void **state)
{
    (void)state;
    tu_dir_t d;
    tu_dir_make(&d);
    log_config_t cfg = tu_config(1 << 20, 4096);
    int before = open_fds();
    log_partition_t *p;
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    assert_int_equal(open_fds(), before + 1);
    /* small batches, below the index interval: still only the .log */
    (void)tu_append(p, 1, 1000, 100, 1, NULL, NULL);
    assert_int_equal(open_fds(), before + 1);
    log_partition_close(p);
    assert_int_equal(open_fds(), before);
    /* and after a restart with data in it */
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    assert_int_equal(open_fds(), before + 1);
    assert_int_equal(log_partition_end_offset(p), 1);
    log_partition_close(p);
    tu_dir_remove(&d);
}

static void indexes_are_reopened_by_writes_and_survive_a_restart(void **state)
{
    (void)state;
    tu_dir_t d;
    tu_dir_make(&d);
    log_config_t cfg = tu_config(1 << 20, 0); /* every batch after the first is indexed */
    log_partition_t *p;
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    int quiet = open_fds();
    for (int i = 0; i < 10; i++)
        (void)tu_append(p, 1, 1000 + i, 100, (uint8_t)i, NULL, NULL);
    assert_int_equal(open_fds(), quiet + 2); /* .index and .timeindex reopened */
    log_partition_close(p);
    char path[256];
    tu_seg_path(&d, 0, ".index", path, sizeof path);
    assert_int_equal(tu_file_size(path), 9 * LOG_OFFSET_INDEX_ENTRY_SIZE);
    tu_seg_path(&d, 0, ".timeindex", path, sizeof path);
    assert_int_equal(tu_file_size(path), 9 * LOG_TIME_INDEX_ENTRY_SIZE); /* with the offset entries */
    /* restart: loaded, released, then appended to at the right place */
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    assert_int_equal(log_partition_end_offset(p), 10);
    (void)tu_append(p, 1, 2000, 100, 10, NULL, NULL);
    log_partition_close(p);
    tu_seg_path(&d, 0, ".index", path, sizeof path);
    assert_int_equal(tu_file_size(path), 10 * LOG_OFFSET_INDEX_ENTRY_SIZE);
    /* and the files still pass their load checks: no rebuild, same data */
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    assert_int_equal(log_partition_end_offset(p), 11);
    buf_t out;
    buf_init(&out);
    assert_int_equal(tu_read(p, 7, 1 << 20, 1, &out), 0);
    assert_true(out.len > 0);
    assert_int_equal(tu_be64(out.data), 7);
    buf_fini(&out);
    log_partition_close(p);
    tu_dir_remove(&d);
}

static void stale_indexes_beside_an_empty_log_are_emptied(void **state)
{
    (void)state;
    tu_dir_t d;
    tu_dir_make(&d);
    log_config_t cfg = tu_config(1 << 20, 0);
    log_partition_t *p;
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    log_partition_close(p);
    /* a new segment has only its .log: the index files wait for the first append */
    char probe[256];
    const char *none[] = {".index", ".timeindex", ".txnindex"};
    for (int i = 0; i < 3; i++) {
        tu_seg_path(&d, 0, none[i], probe, sizeof probe);
        assert_int_equal(tu_file_size(probe), -1);
    }
    /* garbage where the empty segment's indexes would be (an interrupted roll, say) */
    char path[256];
    uint8_t junk[64];
    memset(junk, 0x7f, sizeof junk);
    const char *sfx[] = {".index", ".timeindex"};
    for (int i = 0; i < 2; i++) {
        tu_seg_path(&d, 0, sfx[i], path, sizeof path);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
        fclose(f);
    }
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    assert_int_equal(log_partition_end_offset(p), 0);
    for (int i = 0; i < 3; i++)
        (void)tu_append(p, 1, 1000 + i, 100, (uint8_t)i, NULL, NULL);
    log_partition_close(p);
    tu_seg_path(&d, 0, ".index", path, sizeof path);
    assert_int_equal(tu_file_size(path), 2 * LOG_OFFSET_INDEX_ENTRY_SIZE);
    tu_seg_path(&d, 0, ".timeindex", path, sizeof path);
    assert_int_equal(tu_file_size(path), 2 * LOG_TIME_INDEX_ENTRY_SIZE);
    tu_seg_path(&d, 0, ".txnindex", path, sizeof path);
    assert_int_equal(tu_file_size(path), 0);
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    assert_int_equal(log_partition_end_offset(p), 3);
    buf_t out;
    buf_init(&out);
    assert_int_equal(tu_read(p, 2, 1 << 20, 1, &out), 0);
    assert_int_equal(tu_be64(out.data), 2);
    buf_fini(&out);
    log_partition_close(p);
    tu_dir_remove(&d);
}

int main(void)
{
    tu_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_quiet_partition_holds_one_descriptor),
        cmocka_unit_test(indexes_are_reopened_by_writes_and_survive_a_restart),
        cmocka_unit_test(stale_indexes_beside_an_empty_log_are_emptied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
