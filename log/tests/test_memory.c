/*
 * log_partition_memory: what a partition holds grows with its in-memory
 * indexes and segments and comes back after a reopen.
 */
#include "log_test_util.h"

static void memory_grows_with_indexes_and_segments(void **state)
{
    (void)state;
    tu_dir_t d;
    tu_dir_make(&d);
    log_config_t cfg = tu_config(4096, 64); /* small segments, an index entry every 64 bytes */
    log_partition_t *p;
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    size_t empty = log_partition_memory(p);
    assert_true(empty >= sizeof(void *));
    for (int i = 0; i < 200; i++)
        (void)tu_append(p, 1, 1000 + i, 100, (uint8_t)i, NULL, NULL);
    size_t full = log_partition_memory(p);
    assert_true(log_partition_segment_count(p) > 1);
    /* 200 index entries of 8 bytes at least, plus segment objects */
    assert_true(full >= empty + 200 * 8);
    log_partition_close(p);
    assert_int_equal(log_partition_open(d.part, &cfg, &p), 0);
    assert_true(log_partition_memory(p) >= empty + 200 * 8);
    log_partition_close(p);
    tu_dir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_grows_with_indexes_and_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
