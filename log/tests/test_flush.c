#include <pthread.h>

#include "log_test_util.h"

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
    fx->clock = 1000000;
    fx->cfg = tu_config(1 << 20, 100);
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

static void append_n(fixture_t *fx, int n)
{
    for (int i = 0; i < n; i++)
        tu_append(fx->p, 2, 5000 + i, 40, (uint8_t)i, NULL, NULL);
}

static void new_log_starts_unflushed_at_zero(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(log_partition_recovery_point(fx->p), 0);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 0);
    assert_int_equal(log_partition_last_flush_ms(fx->p), 1000000);
    append_n(fx, 3);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 6);
    assert_int_equal(log_partition_recovery_point(fx->p), 0);
}

static void flush_job_advances_recovery_point_to_end_at_prepare(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    append_n(fx, 4);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.offset, 8);
    assert_int_equal(job.count, 1);
    assert_non_null(job.dir); /* the segment was created since the last directory sync */
    assert_int_equal(log_flush_job_run(&job), 0);
    fx->clock += 250;
    log_partition_flush_complete(fx->p, &job, 0);
    assert_null(job.segs);
    assert_int_equal(log_partition_recovery_point(fx->p), 8);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 0);
    assert_int_equal(log_partition_last_flush_ms(fx->p), 1000250);
}

static void nothing_unsynced_gives_an_empty_job(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    append_n(fx, 2);
    assert_int_equal(log_partition_flush(fx->p), 0);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 0);
    assert_null(job.dir);
    assert_int_equal(job.offset, 4);
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 4);
}

/* Group commit: what is appended while a job runs is the next job's. */
static void appends_during_a_job_belong_to_the_next_job(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job, job2;
    append_n(fx, 2);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    append_n(fx, 3);
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 4);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 6);
    /* The segment was written after the first job captured it: still unsynced. */
    assert_int_equal(log_partition_flush_prepare(fx->p, &job2), 0);
    assert_int_equal(job2.count, 1);
    assert_null(job2.dir);
    assert_int_equal(job2.offset, 10);
    assert_int_equal(log_flush_job_run(&job2), 0);
    log_partition_flush_complete(fx->p, &job2, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 10);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 0);
}

/* Two segments rolled while nothing was flushed: both are captured, and the directory. */
static void job_captures_every_unsynced_segment(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    log_partition_close(fx->p);
    fx->cfg.segment_bytes = 250;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_flush(fx->p), 0);
    append_n(fx, 6); /* 101-byte batches: two per segment */
    assert_int_equal(log_partition_segment_count(fx->p), 3);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 3);
    assert_non_null(job.dir);
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 12);
}

typedef struct run_arg_s {
    log_flush_job_t *job;
    int rc;
} run_arg_t;

static void *run_thread(void *arg)
{
    run_arg_t *ra = arg;
    ra->rc = log_flush_job_run(ra->job);
    return NULL;
}

/*
 * The run step on another thread while the loop thread keeps appending,
 * rolling, reading and even deleting the captured segments (ASan checks that
 * the job never touches freed memory or closed descriptors).
 */
static void run_step_on_another_thread_while_the_log_changes(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    pthread_t th;
    run_arg_t ra;
    buf_t out;
    char path[256];
    buf_init(&out);
    log_partition_close(fx->p);
    fx->cfg.segment_bytes = 250;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    append_n(fx, 4);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    assert_int_equal(job.count, 2);
    ra.job = &job;
    ra.rc = -1;
    assert_int_equal(pthread_create(&th, NULL, run_thread, &ra), 0);
    for (int i = 0; i < 20; i++) {
        tu_append(fx->p, 1, 9000 + i, 60, (uint8_t)i, NULL, NULL);
        assert_int_equal(tu_read(fx->p, log_partition_end_offset(fx->p) - 1, 1 << 16, 1, &out), 0);
        assert_int_equal(out.len, PROTO_BATCH_HEADER_SIZE + 60);
    }
    /* Drop the segments the job holds. */
    assert_int_equal(log_partition_delete_records(fx->p, -1, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(ra.rc, 0);
    tu_seg_path(&fx->dir, 0, ".log.deleted", path, sizeof path);
    assert_true(tu_file_size(path) > 0); /* the job's reference keeps it */
    log_partition_flush_complete(fx->p, &job, 0);
    assert_int_equal(tu_file_size(path), -1); /* last reference gone: unlinked */
    assert_int_equal(log_partition_recovery_point(fx->p), 8);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 20);
    assert_int_equal(log_partition_flush(fx->p), 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 28);
    buf_fini(&out);
}

/* A job outliving its partition is released by complete(NULL, ...). */
static void job_survives_partition_close(void **state)
{
    fixture_t *fx = *state;
    log_flush_job_t job;
    append_n(fx, 3);
    assert_int_equal(log_partition_flush_prepare(fx->p, &job), 0);
    log_partition_close(fx->p);
    fx->p = NULL;
    assert_int_equal(log_flush_job_run(&job), 0);
    log_partition_flush_complete(NULL, &job, 0);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_end_offset(fx->p), 6);
}

static void reopen_sets_the_recovery_point(void **state)
{
    fixture_t *fx = *state;
    append_n(fx, 5);
    log_partition_close(fx->p);
    /* Clean shutdown: everything was flushed on close. */
    fx->cfg.clean_shutdown = 1;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 10);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 0);
    log_partition_close(fx->p);
    /* Unclean: only a flush may move the checkpoint's value up. */
    fx->cfg.clean_shutdown = 0;
    fx->cfg.recovery_point = 4;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 4);
    assert_int_equal(log_partition_unflushed_messages(fx->p), 6);
    log_partition_close(fx->p);
    /* A checkpoint beyond the files (they lost their tail) is capped at the end. */
    fx->cfg.recovery_point = 100;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 10);
    log_partition_close(fx->p);
    fx->cfg.recovery_point = -1;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 0);
    assert_int_equal(log_partition_flush(fx->p), 0);
    assert_int_equal(log_partition_recovery_point(fx->p), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_log_starts_unflushed_at_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(flush_job_advances_recovery_point_to_end_at_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_unsynced_gives_an_empty_job, setup, teardown),
        cmocka_unit_test_setup_teardown(appends_during_a_job_belong_to_the_next_job, setup, teardown),
        cmocka_unit_test_setup_teardown(job_captures_every_unsynced_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(run_step_on_another_thread_while_the_log_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(job_survives_partition_close, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_sets_the_recovery_point, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
