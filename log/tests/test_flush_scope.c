/*
 * What a flush syncs (issue 8): a broker's flush job fdatasyncs the active
 * segment's .log alone, since a restart after an unclean stop rebuilds that
 * segment's indexes from its batches; a sealed segment gets its indexes
 * synced before the recovery point may pass it; a full flush (close) syncs
 * everything.
 */
#include <fcntl.h>
#include <unistd.h>

#include "log/segment.h"
#include "log_test_util.h"

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
    int syncs; /* LOG_IO_FSYNC calls seen by the hook */
} fixture_t;

static int count_syncs(void *arg, log_io_op_t op, const char *path, int fd, size_t *partial)
{
    fixture_t *fx = arg;
    (void)path;
    (void)fd;
    (void)partial;
    if (op == LOG_IO_FSYNC)
        fx->syncs++;
    return 0;
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    /* 100-byte index interval: every other 101-byte batch gets index entries. */
    fx->cfg = tu_config(1 << 20, 100);
    if (log_partition_open(fx->dir.part, &fx->cfg, &fx->p) != 0)
        return -1;
    log_io_set_fault(count_syncs, fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    log_io_set_fault(NULL, NULL);
    if (fx->p != NULL)
        log_partition_close(fx->p);
    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

static void reopen_small_segments(fixture_t *fx)
{
    log_partition_close(fx->p);
    fx->cfg.segment_bytes = 250; /* two 101-byte batches per segment */
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_flush(fx->p), 0);
}

static void append_n(fixture_t *fx, int n)
{
    for (int i = 0; i < n; i++)
        tu_append(fx->p, 2, 5000 + i, 40, (uint8_t)i, NULL, NULL);
}

static int open_fds(const log_flush_job_t *job, size_t seg)
{
    int n = 0;
    for (size_t i = 0; i < 4; i++)
        n += job->fds[4 * seg + i] >= 0;
    return n;
}

static void job_syncs_only_the_active_segments_log(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    assert_int_equal(log_partition_flush(fx->p), 0);
    append_n(fx, 6);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 1);
    assert_int_equal(open_fds(&job, 0), 1);
    assert_true(job.fds[0] >= 0);
    fx->syncs = 0;
    assert_int_equal(log_flush_job_run(&job), 0);
    assert_int_equal(fx->syncs, 1);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 12);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 0);
    /* Its indexes are still owed: the segment stays captured until sealed or closed. */
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 1);
    assert_int_equal(open_fds(&job, 0), 1);
    log_partition_flush_complete(fx->p, &job, 0);
}

static void full_flush_syncs_the_indexes_and_owes_nothing(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    append_n(fx, 6);
    fx->syncs = 0;
    assert_int_equal(log_partition_flush(fx->p), 0);
    /* The .log, the index files the entries opened, and the new segment's directory. */
    assert_true(fx->syncs >= 3);
    assert_int_equal(log_partition_recovery_point(fx->p), 12);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 0);
    assert_null(job.dir);
    log_partition_flush_complete(fx->p, &job, 0);
}

/*
 * The job captured the active segment (its .log only); the segment rolled
 * while the job ran. The recovery point must not pass the sealed segment
 * before a job synced its indexes, or a restart would trust them.
 */
static void roll_during_a_job_holds_the_recovery_point_until_indexes_are_synced(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    reopen_small_segments(fx);
    append_n(fx, 2); /* fills segment 0 */
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 1);
    assert_int_equal(job.offset, 4);
    assert_int_equal(open_fds(&job, 0), 1);
    append_n(fx, 1); /* rolls: segment 0 sealed, segment 4 active */
    assert_int_equal(log_partition_segment_count(fx->p), 2);
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 0);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 6);
    /* The next job syncs the sealed segment whole, then the point moves on. */
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 2);
    assert_int_equal(job.segs[0]->base_offset, 0);
    assert_true(open_fds(&job, 0) >= 2); /* .log and at least one index */
    assert_int_equal(open_fds(&job, 1), 1);
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 6);
    /* Sealed and synced: no longer captured. */
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 1);
    assert_int_equal(job.segs[0]->base_offset, 4);
    log_partition_flush_complete(fx->p, &job, 0);
}

/* A failed job marks nothing: the sealed segment is captured again. */
static void failed_job_after_a_roll_leaves_the_sealed_segment_owed(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    reopen_small_segments(fx);
    append_n(fx, 3);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 2);
    log_partition_flush_complete(fx->p, &job, -5);
    assert_int_equal(log_partition_recovery_point(fx->p), 0);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 2);
    assert_true(open_fds(&job, 0) >= 2);
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 6);
}

static void garble(const char *path)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    static const uint8_t junk[20] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66,
                                     0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x12, 0x34, 0x56, 0x78};
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
}

/*
 * What a power cut after log-only flushes could leave: the active segment's
 * .log synced, its index files stale or torn. An unclean restart at the
 * recovery point scans that segment and rebuilds both indexes exactly.
 */
static void unclean_restart_rebuilds_the_active_segments_unsynced_indexes(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    char idx[512], tidx[512];
    size_t want_len, want_tlen, got_len, got_tlen;
    reopen_small_segments(fx);
    fx->cfg.segment_bytes = 1 << 20;
    log_partition_close(fx->p);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    append_n(fx, 20);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    int64_t rp = log_partition_recovery_point(fx->p);
    assert_int_equal(rp, 40);
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_seg_path(&fx->dir, 0, ".index", idx, sizeof idx);
    tu_seg_path(&fx->dir, 0, ".timeindex", tidx, sizeof tidx);
    uint8_t *want = tu_slurp(idx, &want_len);
    uint8_t *want_t = tu_slurp(tidx, &want_tlen);
    assert_true(want_len > 0);
    assert_true(want_tlen > 0);
    garble(idx);
    garble(tidx);
    fx->cfg.clean_shutdown = 0;
    fx->cfg.recovery_point = rp;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), 40);
    buf_t out;
    buf_init(&out);
    for (int64_t off = 0; off < 40; off += 2) {
        assert_int_equal(tu_read(fx->p, off, 1 << 16, 1, &out), 0);
        assert_true(out.len >= PROTO_BATCH_HEADER_SIZE);
        assert_int_equal(tu_be64(out.data), off);
    }
    buf_fini(&out);
    int64_t found = -1, ts = -1;
    assert_int_equal(log_partition_offset_for_time(fx->p, 5010, &found, &ts), 0);
    assert_int_equal(found, 20);
    log_partition_close(fx->p);
    fx->p = NULL;
    uint8_t *got = tu_slurp(idx, &got_len);
    uint8_t *got_t = tu_slurp(tidx, &got_tlen);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    assert_int_equal(got_tlen, want_tlen);
    assert_memory_equal(got_t, want_t, want_tlen);
    free(want);
    free(want_t);
    free(got);
    free(got_t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(job_syncs_only_the_active_segments_log, setup, teardown),
        cmocka_unit_test_setup_teardown(full_flush_syncs_the_indexes_and_owes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(roll_during_a_job_holds_the_recovery_point_until_indexes_are_synced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_job_after_a_roll_leaves_the_sealed_segment_owed, setup, teardown),
        cmocka_unit_test_setup_teardown(unclean_restart_rebuilds_the_active_segments_unsynced_indexes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
