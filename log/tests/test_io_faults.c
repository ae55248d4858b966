#include "log_test_util.h"

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
    tu_faults_t faults;
    uint8_t *copies[8];
    size_t lens[8];
    int n;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    fx->cfg = tu_config(1 << 20, 0); /* every batch after the first is indexed */
    if (log_partition_open(fx->dir.part, &fx->cfg, &fx->p) != 0)
        return -1;
    log_io_set_fault(tu_faults_fn, &fx->faults);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    log_io_set_fault(NULL, NULL);
    log_partition_close(fx->p);
    for (int i = 0; i < fx->n; i++)
        free(fx->copies[i]);
    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

static void arm(fixture_t *fx, log_io_op_t op, int skip, int err, size_t partial)
{
    memset(&fx->faults, 0, sizeof fx->faults);
    fx->faults.f[0] = (tu_fault_t){.op = op, .skip = skip, .err = err, .partial = partial, .times = 1};
}

static void append_good(fixture_t *fx, int count)
{
    for (int i = 0; i < count; i++) {
        int k = fx->n++;
        tu_append(fx->p, 2, 100 + k, 50, (uint8_t)k, &fx->copies[k], &fx->lens[k]);
    }
}

/* The log holds exactly the good batches: offsets, bytes and file sizes. */
static void check_intact(fixture_t *fx)
{
    buf_t out;
    char path[256];
    size_t total = 0;
    buf_init(&out);
    assert_int_equal(log_partition_end_offset(fx->p), 2 * fx->n);
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &out), 0);
    for (int k = 0; k < fx->n; k++) {
        assert_memory_equal(out.data + total, fx->copies[k], fx->lens[k]);
        total += fx->lens[k];
    }
    assert_int_equal(out.len, total);
    tu_seg_path(&fx->dir, 0, ".log", path, sizeof path);
    assert_int_equal(tu_file_size(path), (int64_t)total);
    /* Offset-index entries for batches 1..n-1 and no more. */
    tu_seg_path(&fx->dir, 0, ".index", path, sizeof path);
    assert_int_equal(tu_file_size(path), 8 * (fx->n - 1));
    buf_fini(&out);
}

static int try_append(fixture_t *fx, int64_t *base)
{
    size_t len;
    uint8_t *b = tu_batch(2, 500, 500, 70, 0xaa, &len);
    int rc = log_partition_append(fx->p, b, len, 7, base); /* tu_append's epoch: no checkpoint write */
    free(b);
    return rc;
}

static void reopen(fixture_t *fx)
{
    log_partition_close(fx->p);
    fx->p = NULL;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

static void failed_log_write_leaves_log_unchanged(void **state)
{
    fixture_t *fx = *state;
    int64_t base = -1;
    append_good(fx, 3);
    arm(fx, LOG_IO_WRITE, 0, -EIO, 0);
    assert_int_equal(try_append(fx, &base), -EIO);
    assert_int_equal(fx->faults.f[0].hits, 1);
    check_intact(fx);
    /* Appends resume with the same offset once the disk is back. */
    append_good(fx, 1);
    check_intact(fx);
    reopen(fx);
    check_intact(fx);
}

static void torn_write_is_cut_back(void **state)
{
    fixture_t *fx = *state;
    append_good(fx, 3);
    arm(fx, LOG_IO_WRITE, 0, -ENOSPC, 30);
    assert_int_equal(try_append(fx, NULL), -ENOSPC);
    check_intact(fx);
    reopen(fx);
    check_intact(fx);
}

static void torn_write_that_cannot_be_cut_stays_invisible(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    buf_t out;
    buf_init(&out);
    append_good(fx, 3);
    int64_t good = (int64_t)(fx->lens[0] + fx->lens[1] + fx->lens[2]);
    /* 30 bytes reach the disk and the truncate that would undo them fails. */
    arm(fx, LOG_IO_WRITE, 0, -EIO, 30);
    fx->faults.f[1] = (tu_fault_t){.op = LOG_IO_TRUNCATE, .err = -EIO, .times = 1};
    assert_int_equal(try_append(fx, NULL), -EIO);
    assert_int_equal(fx->faults.f[1].hits, 1);
    tu_seg_path(&fx->dir, 0, ".log", path, sizeof path);
    assert_int_equal(tu_file_size(path), good + 30);
    /* Readers never see the junk beyond the last whole batch ... */
    assert_int_equal(log_partition_end_offset(fx->p), 6);
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &out), 0);
    assert_int_equal((int64_t)out.len, good);
    /* ... a restart cuts it ... */
    reopen(fx);
    check_intact(fx);
    /* ... and the next append overwrites it when no restart came between. */
    arm(fx, LOG_IO_WRITE, 0, -EIO, 30);
    fx->faults.f[1] = (tu_fault_t){.op = LOG_IO_TRUNCATE, .err = -EIO, .times = 1};
    assert_int_equal(try_append(fx, NULL), -EIO);
    append_good(fx, 1);
    check_intact(fx);
    reopen(fx);
    check_intact(fx);
    buf_fini(&out);
}

static void failed_index_write_undoes_the_batch(void **state)
{
    fixture_t *fx = *state;
    append_good(fx, 3);
    /* Writes of an indexed append: .log, .index, .timeindex. */
    arm(fx, LOG_IO_WRITE, 1, -EIO, 0);
    assert_int_equal(try_append(fx, NULL), -EIO);
    check_intact(fx);
    arm(fx, LOG_IO_WRITE, 2, -ENOSPC, 5);
    assert_int_equal(try_append(fx, NULL), -ENOSPC);
    check_intact(fx);
    reopen(fx);
    check_intact(fx);
    append_good(fx, 1);
    check_intact(fx);
}

static void failed_roll_leaves_log_appendable(void **state)
{
    fixture_t *fx = *state;
    fx->cfg = tu_config(300, 4096);
    reopen(fx);
    append_good(fx, 2); /* 111 bytes each: the third one rolls */
    arm(fx, LOG_IO_OPEN, 0, -EMFILE, 0);
    assert_int_equal(try_append(fx, NULL), -EMFILE);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    assert_int_equal(log_partition_end_offset(fx->p), 4);
    /*
     * The roll makes only the new .log; its index files are made by its first
     * append, before the batch is written. Opens: the new .log, the old
     * segment's .timeindex (reopened for its final entry), the producer
     * snapshot, then the new .index, which fails: the roll stands, the batch
     * is not written, and the next append makes the files and goes on.
     */
    arm(fx, LOG_IO_OPEN, 3, -EIO, 0);
    assert_int_equal(try_append(fx, NULL), -EIO);
    assert_int_equal(fx->faults.f[0].hits, 1);
    char path[256];
    tu_seg_path(&fx->dir, 4, ".log", path, sizeof path);
    assert_int_equal(tu_file_size(path), 0);
    assert_int_equal(log_partition_end_offset(fx->p), 4);
    int64_t base;
    assert_int_equal(try_append(fx, &base), 0);
    assert_int_equal(base, 4);
    assert_int_equal(log_partition_segment_count(fx->p), 2);
    tu_seg_path(&fx->dir, 4, ".index", path, sizeof path);
    assert_int_equal(tu_file_size(path), 0);
}

static void open_fails_cleanly_when_the_disk_fails(void **state)
{
    fixture_t *fx = *state;
    log_partition_t *p = NULL;
    append_good(fx, 2);
    log_partition_close(fx->p);
    fx->p = NULL;
    static const log_io_op_t ops[] = {LOG_IO_LISTDIR, LOG_IO_OPEN, LOG_IO_STAT, LOG_IO_READ, LOG_IO_MKDIR};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        arm(fx, ops[i], 0, -EIO, 0);
        assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &p), -EIO);
        assert_null(p);
    }
    fx->faults.f[0].times = 0;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    check_intact(fx);
}

static void flush_reports_fsync_failure_and_recovers(void **state)
{
    fixture_t *fx = *state;
    append_good(fx, 2);
    arm(fx, LOG_IO_FSYNC, 0, -EIO, 0);
    assert_int_equal(log_partition_flush(fx->p), -EIO);
    assert_int_equal(log_partition_flush(fx->p), 0);
    assert_int_equal(log_partition_flush(fx->p), 0);
}

static void failed_read_is_reported(void **state)
{
    fixture_t *fx = *state;
    log_read_t rd;
    buf_t out;
    buf_init(&out);
    append_good(fx, 2);
    arm(fx, LOG_IO_READ, 0, -EIO, 0);
    assert_int_equal(log_partition_read(fx->p, 0, 1000, 1, &rd), -EIO);
    assert_int_equal(rd.len, 0);
    assert_int_equal(log_partition_read(fx->p, 0, 1000, 1, &rd), 0);
    arm(fx, LOG_IO_READ, 0, -EIO, 0);
    assert_int_equal(log_read_copy(&rd, &out), -EIO);
    assert_int_equal(out.len, 0);
    log_read_release(&rd);
    buf_fini(&out);
}

/* A flush job whose fsync fails: the error is reported and nothing is marked synced. */
static void failed_flush_job_keeps_the_recovery_point(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    append_good(fx, 2);
    assert_int_equal(log_partition_flush(fx->p), 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 4);
    int64_t last_flush = log_partition_last_flush_ms(fx->p);
    append_good(fx, 2);
    /* A job syncs the active segment's .log alone (a crash rebuilds its indexes): fail that. */
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 1);
    arm(fx, LOG_IO_FSYNC, 0, -EIO, 0);
    assert_int_equal(log_flush_job_run(&job), -EIO);
    assert_int_equal(fx->faults.f[0].hits, 1);
    log_partition_flush_complete(fx->p, &job, -EIO);
    assert_int_equal(log_partition_recovery_point(fx->p), 4);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 4);
    assert_int_equal(log_partition_last_flush_ms(fx->p), last_flush);
    for (int which = 1; which < 3; which++) {
        /* A full flush (close) syncs the indexes too: fail the .index fsync, then the .timeindex one. */
        arm(fx, LOG_IO_FSYNC, which, -EIO, 0);
        assert_int_equal(log_partition_flush(fx->p), -EIO);
        assert_int_equal(fx->faults.f[0].hits, 1);
        assert_int_equal(log_partition_recovery_point(fx->p), 4);
        assert_int_equal(log_partition_unflushed_messages(fx->p), 4);
        assert_int_equal(log_partition_last_flush_ms(fx->p), last_flush);
    }
    /* The data is still unsynced: the next job captures it again and succeeds. */
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 1);
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 8);
    check_intact(fx);
}

/* The directory fsync (a new segment's name) failing counts as a failed flush. */
static void failed_directory_fsync_keeps_the_recovery_point(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    append_good(fx, 1);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_non_null(job.dir);
    /* After the file fsyncs: the .log's, and an index's only once an entry opened its descriptor. */
    int files = 0;
    for (size_t i = 0; i < job.count * 4; i++) /* .log and three indexes per segment */
        files += job.fds[i] >= 0;
    assert_int_equal(files, 1);
    arm(fx, LOG_IO_FSYNC, files, -ENOSPC, 0);
    assert_int_equal(log_flush_job_run(&job), -ENOSPC);
    log_partition_flush_complete(fx->p, &job, -ENOSPC);
    assert_int_equal(log_partition_recovery_point(fx->p), 0);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_non_null(job.dir); /* still owed */
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 2);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_null(job.dir);
    assert_int_equal(job.count, 1); /* the active segment: its indexes are owed until it is sealed */
    log_partition_flush_complete(fx->p, &job, 0);
}

/* ENOSPC and EIO on append, then a flush: only whole batches are covered. */
static void failed_appends_then_flush_and_reopen(void **state)
{
    fixture_t *fx = *state;
    append_good(fx, 2);
    arm(fx, LOG_IO_WRITE, 0, -ENOSPC, 17);
    assert_int_equal(try_append(fx, NULL), -ENOSPC);
    arm(fx, LOG_IO_WRITE, 0, -EIO, 0);
    assert_int_equal(try_append(fx, NULL), -EIO);
    assert_int_equal(log_partition_flush(fx->p), 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 4);
    check_intact(fx);
    append_good(fx, 1);
    check_intact(fx);
    log_partition_close(fx->p);
    fx->p = NULL;
    fx->cfg.recovery_point = 4; /* unclean stop: the last segment is scanned */
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    check_intact(fx);
}

/* A deletion whose rename fails unlinks at once: the segment never comes back. */
static void failed_rename_on_delete_unlinks_at_once(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    log_partition_close(fx->p);
    fx->p = NULL;
    fx->cfg.segment_bytes = 200; /* 131-byte batches: one per segment */
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    append_good(fx, 3);
    assert_int_equal(log_partition_segment_count(fx->p), 3);
    arm(fx, LOG_IO_RENAME, 0, -EIO, 0);
    fx->faults.f[0].times = 3;
    assert_int_equal(log_partition_delete_records(fx->p, 4, NULL), 0);
    assert_int_equal(fx->faults.f[0].hits, 3);
    tu_seg_path(&fx->dir, 0, ".log", path, sizeof path);
    assert_int_equal(tu_file_size(path), -1);
    tu_seg_path(&fx->dir, 2, ".log", path, sizeof path);
    assert_int_equal(tu_file_size(path), -1);
    log_partition_close(fx->p);
    fx->p = NULL;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 4);
    assert_int_equal(log_partition_end_offset(fx->p), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(failed_log_write_leaves_log_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_write_is_cut_back, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_write_that_cannot_be_cut_stays_invisible, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_index_write_undoes_the_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_roll_leaves_log_appendable, setup, teardown),
        cmocka_unit_test_setup_teardown(open_fails_cleanly_when_the_disk_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(flush_reports_fsync_failure_and_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_read_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_flush_job_keeps_the_recovery_point, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_directory_fsync_keeps_the_recovery_point, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_appends_then_flush_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_rename_on_delete_unlinks_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
