/*
 * Replication storage primitives: the leader-epoch cache and its
 * checkpoint, the follower's append of fetched batches, truncation.
 */
#include "log_test_util.h"

#include <fcntl.h>

#include "log/epoch_cache.h"
#include "protocol/record.h"

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
    tu_faults_t faults;
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    fx->cfg = tu_config(1 << 20, 0);
    if (log_partition_open(fx->dir.part, &fx->cfg, &fx->p) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    log_io_set_fault(NULL, NULL);
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

/* A leader's batch as a follower fetches it: base offset, epoch and producer fields set, CRC right. */
static uint8_t *leader_batch(int64_t base, int32_t records, int32_t epoch, int64_t pid, int32_t seq, size_t *len)
{
    uint8_t *b = tu_batch(records, 1000 + base, 1000 + base, 20, (uint8_t)base, len);
    tu_put64(b + 0, (uint64_t)base);
    tu_put32(b + 12, (uint32_t)epoch);
    tu_put64(b + 43, (uint64_t)pid);
    b[51] = 0;
    b[52] = 0;
    tu_put32(b + 53, (uint32_t)seq);
    tu_put32(b + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(b, *len));
    return b;
}

/* Concatenated batches: (base, records, epoch) triples, producer-less. */
static uint8_t *record_set(const int64_t (*spec)[3], size_t n, size_t *len)
{
    buf_t out;
    buf_init(&out);
    for (size_t i = 0; i < n; i++) {
        size_t l;
        uint8_t *b = leader_batch(spec[i][0], (int32_t)spec[i][1], (int32_t)spec[i][2], -1, -1, &l);
        assert_int_equal(buf_append(&out, b, l), 0);
        free(b);
    }
    *len = out.len;
    return out.data;
}

static void append_with_epoch(log_partition_t *p, int32_t records, int32_t epoch)
{
    size_t len;
    uint8_t *b = tu_batch(records, 100, 100, 10, 1, &len);
    assert_int_equal(log_partition_append(p, b, len, epoch, NULL), 0);
    free(b);
}

static char *checkpoint_text(const fixture_t *fx)
{
    char path[256];
    size_t len;
    snprintf(path, sizeof path, "%s/leader-epoch-checkpoint", fx->dir.part);
    uint8_t *d = tu_slurp(path, &len);
    if (d == NULL)
        return NULL;
    char *s = malloc(len + 1);
    memcpy(s, d, len);
    s[len] = '\0';
    free(d);
    return s;
}

static void write_checkpoint(const fixture_t *fx, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/leader-epoch-checkpoint", fx->dir.part);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_end(const log_partition_t *p, int32_t req, int32_t epoch, int64_t end)
{
    int32_t e;
    int64_t o;
    log_partition_end_offset_for_epoch(p, req, &e, &o);
    assert_int_equal(e, epoch);
    assert_int_equal(o, end);
}

/* ---- the epoch cache ---- */

static void epoch_cache_follows_kafkas_assign_and_truncations(void **state)
{
    (void)state;
    log_epoch_cache_t ec;
    log_epoch_init(&ec);
    assert_int_equal(log_epoch_assign(&ec, 1, 0), 1);
    assert_int_equal(log_epoch_assign(&ec, 1, 5), 0); /* same epoch, later offset: nothing */
    assert_int_equal(log_epoch_assign(&ec, 3, 10), 1);
    assert_int_equal(log_epoch_assign(&ec, 5, 20), 1);
    assert_int_equal(log_epoch_assign(&ec, -1, 30), -EINVAL);
    /* A lower epoch removes the entries at or above it (Kafka's non-monotonic truncation). */
    assert_int_equal(log_epoch_assign(&ec, 4, 25), 1);
    assert_int_equal(ec.count, 3);
    assert_int_equal(ec.entries[2].epoch, 4);
    assert_int_equal(log_epoch_truncate_from_end(&ec, 25), 1);
    assert_int_equal(ec.count, 2);
    assert_int_equal(log_epoch_truncate_from_start(&ec, 12), 1);
    assert_int_equal(ec.count, 1);
    assert_int_equal(ec.entries[0].epoch, 3);
    assert_int_equal(ec.entries[0].start_offset, 12);
    assert_int_equal(log_epoch_truncate_from_start(&ec, 12), 0);
    log_epoch_fini(&ec);
}

static void epoch_checkpoint_parse_refuses_what_kafka_refuses(void **state)
{
    (void)state;
    log_epoch_cache_t ec;
    log_epoch_init(&ec);
    assert_int_equal(log_epoch_parse(&ec, "", 0), 0);
    assert_int_equal(ec.count, 0);
    const char *ok = "0\r\n2\n1 0\n4\t\t100\n";
    assert_int_equal(log_epoch_parse(&ec, ok, strlen(ok)), 0);
    assert_int_equal(ec.count, 2);
    assert_int_equal(ec.entries[1].start_offset, 100);
    const char *bad[] = {
        "1\n0\n",       "0\n2\n1 0\n",  "0\n1\n1 0 3\n", "0\n1\n 1 0\n", "0\n1\nx 0\n",
        "0\n1\n-1 0\n", "0\n1\n1 -5\n", "0\nfoo\n",      "0\n1\n1\n",    "0\n1\n1 99999999999999999999\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(log_epoch_parse(&ec, bad[i], strlen(bad[i])), LOG_ECORRUPT);
    log_epoch_fini(&ec);
}

static void leader_appends_record_epochs_in_the_checkpoint(void **state)
{
    fixture_t *fx = *state;
    append_with_epoch(fx->p, 2, -1); /* -1: nothing recorded, no file */
    assert_null(checkpoint_text(fx));
    assert_int_equal(log_partition_latest_epoch(fx->p), -1);
    expect_end(fx->p, 0, -1, -1);
    append_with_epoch(fx->p, 3, 2); /* offsets 2..4 */
    append_with_epoch(fx->p, 1, 2); /* 5 */
    append_with_epoch(fx->p, 4, 5); /* 6..9 */
    char *text = checkpoint_text(fx);
    assert_string_equal(text, "0\n2\n2 2\n5 6\n");
    free(text);
    assert_int_equal(log_partition_latest_epoch(fx->p), 5);
    expect_end(fx->p, 5, 5, 10); /* latest: the log end */
    expect_end(fx->p, 3, 2, 6);  /* between: the next epoch's start, the epoch at or below */
    expect_end(fx->p, 2, 2, 6);
    expect_end(fx->p, 1, 1, 2);   /* below the first: Kafka 3.9 answers the asked epoch and the first start */
    expect_end(fx->p, 9, -1, -1); /* above the latest */
    expect_end(fx->p, -1, -1, -1);
    reopen(fx);
    expect_end(fx->p, 3, 2, 6);
    assert_int_equal(log_partition_latest_epoch(fx->p), 5);
    /* DeleteRecords moves the first entry up (truncateFromStart). */
    assert_int_equal(log_partition_delete_records(fx->p, 7, NULL), 0);
    text = checkpoint_text(fx);
    assert_string_equal(text, "0\n1\n5 7\n");
    free(text);
}

static void corrupt_checkpoint_is_rebuilt_from_the_batches(void **state)
{
    fixture_t *fx = *state;
    append_with_epoch(fx->p, 2, 1);
    append_with_epoch(fx->p, 2, 4);
    append_with_epoch(fx->p, 2, 4);
    log_partition_close(fx->p);
    fx->p = NULL;
    write_checkpoint(fx, "0\n7\ngarbage\n");
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    char *text = checkpoint_text(fx);
    assert_string_equal(text, "0\n2\n1 0\n4 2\n");
    free(text);
    expect_end(fx->p, 1, 1, 2);
}

static void checkpoint_entries_past_the_log_are_dropped_at_open(void **state)
{
    fixture_t *fx = *state;
    append_with_epoch(fx->p, 3, 1);
    log_partition_close(fx->p);
    fx->p = NULL;
    write_checkpoint(fx, "0\n3\n1 0\n2 3\n6 50\n");
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    char *text = checkpoint_text(fx);
    assert_string_equal(text, "0\n1\n1 0\n");
    free(text);
    assert_int_equal(log_partition_latest_epoch(fx->p), 1);
}

static void failed_checkpoint_write_fails_the_append(void **state)
{
    fixture_t *fx = *state;
    append_with_epoch(fx->p, 2, 1);
    fx->faults.f[0] = (tu_fault_t){.op = LOG_IO_RENAME, .err = -EIO, .times = 1};
    log_io_set_fault(tu_faults_fn, &fx->faults);
    size_t len;
    uint8_t *b = tu_batch(2, 100, 100, 10, 1, &len);
    assert_int_equal(log_partition_append(fx->p, b, len, 2, NULL), -EIO);
    assert_int_equal(log_partition_end_offset(fx->p), 2);
    assert_int_equal(log_partition_latest_epoch(fx->p), 1);
    /* The disk is back: the next append writes both. */
    assert_int_equal(log_partition_append(fx->p, b, len, 2, NULL), 0);
    free(b);
    log_io_set_fault(NULL, NULL);
    char *text = checkpoint_text(fx);
    assert_string_equal(text, "0\n2\n1 0\n2 2\n");
    free(text);
}

/* ---- follower append ---- */

static void follower_append_keeps_offsets_epochs_and_bytes(void **state)
{
    fixture_t *fx = *state;
    const int64_t spec[][3] = {{0, 3, 4}, {3, 2, 4}, {10, 1, 6}}; /* a gap 5..9 (compacted leader) */
    size_t len;
    uint8_t *rs = record_set(spec, 3, &len);
    log_replica_append_result_t res;
    /* A partial trailing batch (a fetch cut at its limit) is ignored. */
    assert_int_equal(log_partition_append_replica(fx->p, rs, len - 7, &res), 0);
    assert_int_equal(res.batches, 2);
    assert_int_equal(res.end_offset, 5);
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), LOG_EUNEXPECTED_OFFSET);
    size_t first_two = res.bytes;
    (void)first_two;
    size_t l3;
    uint8_t *third = leader_batch(10, 1, 6, -1, -1, &l3);
    assert_int_equal(log_partition_append_replica(fx->p, third, l3, &res), 0);
    assert_int_equal(res.first_offset, 10);
    assert_int_equal(res.last_offset, 10);
    assert_int_equal(res.end_offset, 11);
    assert_int_equal(res.bytes, l3);
    buf_t out;
    buf_init(&out);
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &out), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, rs, len);
    expect_end(fx->p, 4, 4, 10);
    expect_end(fx->p, 6, 6, 11);
    reopen(fx);
    assert_int_equal(log_partition_end_offset(fx->p), 11);
    expect_end(fx->p, 4, 4, 10);
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &out), 0);
    assert_memory_equal(out.data, rs, len);
    buf_fini(&out);
    free(third);
    free(rs);
}

static void follower_append_refuses_bad_sets_whole(void **state)
{
    fixture_t *fx = *state;
    log_replica_append_result_t res;
    const int64_t spec[][3] = {{0, 2, 1}, {2, 2, 1}};
    size_t len;
    uint8_t *rs = record_set(spec, 2, &len);
    /* A bad CRC in the second batch: nothing of the first is kept either. */
    rs[len - 1] ^= 0xff;
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), LOG_ECORRUPT_BATCH);
    assert_int_equal(log_partition_end_offset(fx->p), 0);
    assert_int_equal(log_partition_latest_epoch(fx->p), -1);
    rs[len - 1] ^= 0xff;
    /* Magic 1 is no batch eddy stores. */
    rs[16] = 1;
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), LOG_ECORRUPT_BATCH);
    rs[16] = 2;
    /* Offsets that go back. */
    const int64_t back[][3] = {{0, 4, 1}, {2, 2, 1}};
    size_t blen;
    uint8_t *bs = record_set(back, 2, &blen);
    assert_int_equal(log_partition_append_replica(fx->p, bs, blen, &res), LOG_EOFFSETS_OUT_OF_ORDER);
    assert_int_equal(log_partition_end_offset(fx->p), 0);
    /* A length below a header. */
    uint8_t tiny[20] = {0};
    tiny[11] = 5;
    assert_int_equal(log_partition_append_replica(fx->p, tiny, sizeof tiny, &res), LOG_ECORRUPT_BATCH);
    /* Empty and partial-only sets append nothing. */
    assert_int_equal(log_partition_append_replica(fx->p, rs, 30, &res), 0);
    assert_int_equal(res.batches, 0);
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), 0);
    assert_int_equal(log_partition_end_offset(fx->p), 4);
    free(bs);
    free(rs);
}

static void follower_append_updates_producer_state(void **state)
{
    fixture_t *fx = *state;
    log_replica_append_result_t res;
    size_t l1, l2;
    uint8_t *a = leader_batch(0, 2, 1, 77, 0, &l1);
    uint8_t *b = leader_batch(2, 3, 1, 77, 2, &l2);
    assert_int_equal(log_partition_append_replica(fx->p, a, l1, &res), 0);
    assert_int_equal(log_partition_append_replica(fx->p, b, l2, &res), 0);
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 77, &info), 1);
    assert_int_equal(info.last_sequence, 4);
    assert_int_equal(info.last_offset, 4);
    /* Truncation replays the producer state to the new end. */
    assert_int_equal(log_partition_truncate_to(fx->p, 2), 1);
    assert_int_equal(log_partition_producer(fx->p, 77, &info), 1);
    assert_int_equal(info.last_sequence, 1);
    assert_int_equal(info.last_offset, 1);
    free(a);
    free(b);
}

static void failed_follower_write_across_a_roll_leaves_nothing(void **state)
{
    fixture_t *fx = *state;
    log_partition_close(fx->p);
    fx->cfg = tu_config(200, 0); /* about two batches a segment */
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    const int64_t spec[][3] = {{0, 1, 1}, {1, 1, 1}, {2, 1, 2}, {3, 1, 2}, {4, 1, 2}};
    size_t len;
    uint8_t *rs = record_set(spec, 5, &len);
    fx->faults.f[0] = (tu_fault_t){.op = LOG_IO_WRITE, .skip = 6, .err = -ENOSPC, .times = 1};
    log_io_set_fault(tu_faults_fn, &fx->faults);
    log_replica_append_result_t res;
    int rc = log_partition_append_replica(fx->p, rs, len, &res);
    log_io_set_fault(NULL, NULL);
    assert_int_equal(fx->faults.f[0].hits, 1);
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(log_partition_end_offset(fx->p), 0);
    assert_int_equal(log_partition_latest_epoch(fx->p), -1);
    buf_t out;
    buf_init(&out);
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), 0);
    assert_int_equal(res.end_offset, 5);
    assert_true(log_partition_segment_count(fx->p) > 1);
    reopen(fx);
    assert_int_equal(log_partition_end_offset(fx->p), 5);
    buf_fini(&out);
    free(rs);
}

static int count_writes(void *arg, log_io_op_t op, const char *path, int fd, size_t *partial)
{
    (void)path;
    (void)fd;
    (void)partial;
    if (op == LOG_IO_WRITE)
        (*(int *)arg)++;
    return 0;
}

static void follower_append_is_one_write_per_segment(void **state)
{
    fixture_t *fx = *state;
    log_partition_close(fx->p);
    fx->cfg = tu_config(1 << 20, 1 << 20); /* no index entries to write */
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    const int64_t spec[][3] = {{0, 2, -1}, {2, 2, -1}, {4, 1, -1}, {5, 3, -1}, {8, 1, -1}};
    size_t len;
    uint8_t *rs = record_set(spec, 5, &len);
    int writes = 0;
    log_io_set_fault(count_writes, &writes);
    log_replica_append_result_t res;
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), 0);
    log_io_set_fault(NULL, NULL);
    assert_int_equal(res.batches, 5);
    assert_int_equal(writes, 1);
    buf_t out;
    buf_init(&out);
    assert_int_equal(tu_read(fx->p, 4, 1 << 20, 1, &out), 0);
    assert_int_equal(tu_be64(out.data), 4);
    buf_fini(&out);
    free(rs);
}

/* A leader's ABORT marker at base for producer pid, built as the broker builds one. */
static uint8_t *abort_marker(int64_t base, int64_t pid, int32_t epoch, size_t *len)
{
    uint8_t key[4] = {0, 0, 0, 0}; /* version 0, type 0: ABORT */
    uint8_t val[6] = {0, 0, 0, 0, 0, 0};
    proto_record_spec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.key.ptr = key;
    rec.key.len = 4;
    rec.value.ptr = val;
    rec.value.len = 6;
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.attributes = PROTO_BATCH_CONTROL | PROTO_BATCH_TRANSACTIONAL;
    spec.producer_id = pid;
    spec.producer_epoch = 0;
    spec.base_sequence = -1;
    spec.base_timestamp = 5000;
    buf_t b;
    buf_init(&b);
    assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), 0);
    tu_put64(b.data, (uint64_t)base);
    tu_put32(b.data + 12, (uint32_t)epoch);
    *len = b.len;
    return b.data;
}

static void follower_append_applies_transaction_markers(void **state)
{
    fixture_t *fx = *state;
    size_t l1, l2;
    uint8_t *data = leader_batch(0, 3, 2, 5, 0, &l1);
    data[22] |= PROTO_BATCH_TRANSACTIONAL;
    tu_put32(data + PROTO_BATCH_CRC_OFFSET, proto_batch_compute_crc(data, l1));
    uint8_t *m = abort_marker(3, 5, 2, &l2);
    buf_t set;
    buf_init(&set);
    assert_int_equal(buf_append(&set, data, l1), 0);
    log_replica_append_result_t res;
    assert_int_equal(log_partition_append_replica(fx->p, set.data, set.len, &res), 0);
    assert_int_equal(log_partition_last_stable_offset(fx->p), 0); /* the transaction is open */
    assert_int_equal(log_partition_append_replica(fx->p, m, l2, &res), 0);
    assert_int_equal(log_partition_last_stable_offset(fx->p), 4);
    log_aborted_txn_t *txns;
    size_t n;
    assert_int_equal(log_partition_aborted_txns(fx->p, 0, 4, &txns, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(txns[0].producer_id, 5);
    assert_int_equal(txns[0].first_offset, 0);
    assert_int_equal(txns[0].last_offset, 3);
    free(txns);
    /* Truncating the marker away reopens the transaction and drops its index entry. */
    assert_int_equal(log_partition_truncate_to(fx->p, 3), 1);
    assert_int_equal(log_partition_last_stable_offset(fx->p), 0);
    assert_int_equal(log_partition_aborted_txns(fx->p, 0, 4, &txns, &n), 0);
    assert_int_equal(n, 0);
    free(txns);
    reopen(fx);
    assert_int_equal(log_partition_last_stable_offset(fx->p), 0);
    buf_fini(&set);
    free(data);
    free(m);
}

static void truncation_makes_flush_and_compaction_jobs_stale(void **state)
{
    fixture_t *fx = *state;
    log_partition_close(fx->p);
    fx->cfg = tu_config(200, 0);
    fx->cfg.compact = 1;
    fx->cfg.min_cleanable_dirty_ratio = 0.0;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    const int64_t spec[][3] = {{0, 1, 1}, {1, 1, 1}, {2, 1, 1}, {3, 1, 1}, {4, 1, 1}, {5, 1, 1}};
    size_t len;
    uint8_t *rs = record_set(spec, 6, &len);
    log_replica_append_result_t res;
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), 0);
    log_flush_job_t fj;
    assert_int_equal(log_partition_flush_prepare(fx->p, &fj), 0);
    log_compact_job_t cj;
    int prc = log_partition_compact_prepare(fx->p, 1000, &cj);
    assert_int_equal(log_partition_truncate_to(fx->p, 2), 1);
    assert_int_equal(log_flush_job_run(&fj), 0);
    log_partition_flush_complete(fx->p, &fj, 0);
    assert_true(log_partition_recovery_point(fx->p) <= 2);
    /* The job is judged before its files: a run that succeeded is discarded all the same. */
    assert_int_equal(prc, 1);
    assert_int_equal(log_partition_compact_complete(fx->p, &cj, 0), -ESTALE);
    assert_int_equal(log_partition_end_offset(fx->p), 2);
    buf_t out;
    buf_init(&out);
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &out), 0);
    assert_int_equal(out.len, 2 * (len / 6));
    buf_fini(&out);
    free(rs);
}

/* ---- truncation ---- */

static void truncation_cuts_segments_indexes_and_epochs(void **state)
{
    fixture_t *fx = *state;
    log_partition_close(fx->p);
    fx->cfg = tu_config(200, 0);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    const int64_t spec[][3] = {{0, 2, 1}, {2, 2, 1}, {4, 2, 3}, {6, 2, 3}, {8, 2, 5}, {10, 2, 5}};
    size_t len;
    uint8_t *rs = record_set(spec, 6, &len);
    log_replica_append_result_t res;
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), 0);
    size_t before = log_partition_segment_count(fx->p);
    assert_true(before >= 3);
    /* A read in flight keeps its bytes. */
    log_read_t rd;
    assert_int_equal(log_partition_read(fx->p, 10, 1 << 20, 1, &rd), 0);
    assert_true(rd.len > 0);
    assert_int_equal(log_partition_truncate_to(fx->p, 20), 0); /* beyond the end: nothing */
    assert_int_equal(log_partition_truncate_to(fx->p, -1), -EINVAL);
    assert_int_equal(log_partition_truncate_to(fx->p, 5), 1); /* inside batch [4, 5]: it goes whole */
    assert_int_equal(log_partition_end_offset(fx->p), 5);
    assert_true(log_partition_segment_count(fx->p) < before);
    buf_t out;
    buf_init(&out);
    assert_int_equal(log_read_copy(&rd, &out), 0);
    assert_int_equal(tu_be64(out.data), 10);
    log_read_release(&rd);
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &out), 0);
    size_t one = len / 6;
    assert_int_equal(out.len, 2 * one);
    assert_memory_equal(out.data, rs, 2 * one);
    assert_true(log_partition_recovery_point(fx->p) <= 5);
    int64_t ts, tso;
    log_partition_max_timestamp(fx->p, &ts, &tso);
    assert_int_equal(ts, 1002);
    expect_end(fx->p, 1, 1, 4);
    expect_end(fx->p, 3, 3, 5); /* epoch 3's entry starts at 4 < 5: it stays, and is the latest */
    char *text = checkpoint_text(fx);
    assert_string_equal(text, "0\n2\n1 0\n3 4\n");
    free(text);
    /* The follower fetches again from the end and appends. */
    const int64_t again[][3] = {{5, 3, 7}};
    size_t alen;
    uint8_t *as = record_set(again, 1, &alen);
    assert_int_equal(log_partition_append_replica(fx->p, as, alen, &res), 0);
    assert_int_equal(log_partition_end_offset(fx->p), 8);
    reopen(fx);
    assert_int_equal(log_partition_end_offset(fx->p), 8);
    expect_end(fx->p, 3, 3, 5);
    assert_int_equal(tu_read(fx->p, 5, 1 << 20, 1, &out), 0);
    assert_memory_equal(out.data, as, alen);
    buf_fini(&out);
    free(as);
    free(rs);
}

static void truncation_below_the_first_segment_starts_over(void **state)
{
    fixture_t *fx = *state;
    const int64_t spec[][3] = {{100, 2, 1}, {102, 2, 2}};
    size_t len;
    uint8_t *rs = record_set(spec, 2, &len);
    log_partition_close(fx->p);
    fx->cfg.log_start_offset = 100;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    log_replica_append_result_t res;
    assert_int_equal(log_partition_append_replica(fx->p, rs, len, &res), 0);
    assert_int_equal(log_partition_truncate_to(fx->p, 50), 1);
    assert_int_equal(log_partition_start_offset(fx->p), 50);
    assert_int_equal(log_partition_end_offset(fx->p), 50);
    assert_int_equal(log_partition_latest_epoch(fx->p), -1);
    /* A leader whose log starts past our end: start over there. */
    assert_int_equal(log_partition_truncate_fully_and_start_at(fx->p, 500), 0);
    assert_int_equal(log_partition_start_offset(fx->p), 500);
    assert_int_equal(log_partition_end_offset(fx->p), 500);
    assert_int_equal(log_partition_segment_count(fx->p), 1);
    /* And again at the same base: the old segment's name is reused safely. */
    assert_int_equal(log_partition_truncate_fully_and_start_at(fx->p, 500), 0);
    const int64_t later[][3] = {{500, 2, 9}};
    size_t llen;
    uint8_t *ls = record_set(later, 1, &llen);
    assert_int_equal(log_partition_append_replica(fx->p, ls, llen, &res), 0);
    fx->cfg.log_start_offset = 500;
    reopen(fx);
    assert_int_equal(log_partition_start_offset(fx->p), 500);
    assert_int_equal(log_partition_end_offset(fx->p), 502);
    expect_end(fx->p, 9, 9, 502);
    free(ls);
    free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(epoch_cache_follows_kafkas_assign_and_truncations),
        cmocka_unit_test(epoch_checkpoint_parse_refuses_what_kafka_refuses),
        cmocka_unit_test_setup_teardown(leader_appends_record_epochs_in_the_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_checkpoint_is_rebuilt_from_the_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(checkpoint_entries_past_the_log_are_dropped_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_checkpoint_write_fails_the_append, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_append_keeps_offsets_epochs_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_append_refuses_bad_sets_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_append_updates_producer_state, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_follower_write_across_a_roll_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_append_is_one_write_per_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(follower_append_applies_transaction_markers, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_makes_flush_and_compaction_jobs_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_cuts_segments_indexes_and_epochs, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_below_the_first_segment_starts_over, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
