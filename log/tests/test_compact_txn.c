#include <dirent.h>

#include "log_test_util.h"

/*
 * Compaction of transactional data (Kafka's cleaner rules): nothing at or
 * past the last stable offset is cleaned; aborted records go and never
 * supersede committed ones; markers stay while their transaction has data,
 * then get a delete horizon and go after it; an active producer's last batch
 * stays (empty if need be). Every read-back checks each batch's CRC and
 * records; reopening, from a snapshot or by a full rebuild, must give the
 * same producer state and last stable offset.
 */

#define MAX_RECS 1024
#define RETENTION_MS 1000

typedef struct fixture_s {
    tu_dir_t dir;
    log_config_t cfg;
    log_partition_t *p;
    int64_t clock;
    int32_t seq[16]; /* next sequence per producer id */
    int fillers;
} fixture_t;

static int64_t fake_now(void *arg)
{
    return *(int64_t *)arg;
}

static int open_with(fixture_t *fx, int64_t segment_bytes)
{
    fx->cfg = tu_config(segment_bytes, 0);
    fx->cfg.now_ms = fake_now;
    fx->cfg.now_arg = &fx->clock;
    fx->cfg.compact = 1;
    fx->cfg.min_cleanable_dirty_ratio = 0.0;
    fx->cfg.delete_retention_ms = RETENTION_MS;
    return log_partition_open(fx->dir.part, &fx->cfg, &fx->p);
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    tu_quiet();
    tu_dir_make(&fx->dir);
    fx->clock = 1000000;
    /* About one batch per segment: every batch but the last is cleanable. */
    if (open_with(fx, 150) != 0)
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

static proto_bytes_t bytes_of(const char *s)
{
    proto_bytes_t b = {(const uint8_t *)s, s != NULL ? (int32_t)strlen(s) : -1};
    return b;
}

/* One record key=value; pid < 0: no producer; txn: a transactional batch of pid (epoch 0). */
static int64_t put(fixture_t *fx, int64_t pid, int txn, const char *key, const char *value)
{
    proto_record_spec_t rec;
    proto_batch_build_t spec;
    buf_t b;
    int64_t base = -1;
    memset(&rec, 0, sizeof rec);
    rec.key = bytes_of(key);
    rec.value = bytes_of(value);
    proto_batch_build_init(&spec);
    spec.base_timestamp = fx->clock;
    if (pid >= 0) {
        assert_true(pid < 16);
        spec.producer_id = pid;
        spec.producer_epoch = 0;
        spec.base_sequence = fx->seq[pid]++;
        if (txn)
            spec.attributes = PROTO_BATCH_TRANSACTIONAL;
    }
    buf_init(&b);
    assert_int_equal(proto_batch_build(&b, &spec, &rec, 1), 0);
    assert_int_equal(log_partition_append(fx->p, b.data, b.len, 5, &base), 0);
    buf_fini(&b);
    fx->clock += 10;
    return base;
}

static int64_t end_txn(fixture_t *fx, int64_t pid, int16_t type)
{
    buf_t b;
    int64_t base = -1;
    buf_init(&b);
    assert_int_equal(proto_batch_build_marker(&b, pid, 0, type, 7, fx->clock), 0);
    assert_int_equal(log_partition_append(fx->p, b.data, b.len, 5, &base), 0);
    buf_fini(&b);
    fx->clock += 10;
    return base;
}

/* A record of a key of its own: rolls the segment, so what came before becomes cleanable. */
static void filler(fixture_t *fx)
{
    char key[32];
    snprintf(key, sizeof key, "filler-%d", fx->fillers++);
    put(fx, -1, 0, key, "x");
}

typedef struct rec_s {
    int64_t offset;
    char key[32];
    char value[32];
    int control;
    int16_t attributes; /* of its batch */
    int64_t producer_id;
} rec_t;

typedef struct batch_s {
    int64_t base_offset;
    int32_t records;
    int16_t attributes;
    int64_t producer_id;
    int32_t base_sequence;
    int32_t last_offset_delta;
} batch_t;

typedef struct log_dump_s {
    rec_t recs[MAX_RECS];
    size_t n;
    batch_t batches[MAX_RECS];
    size_t nbatches;
} log_dump_t;

static void copy_str(char *dst, size_t cap, proto_bytes_t b)
{
    dst[0] = '\0';
    if (b.len > 0) {
        size_t n = (size_t)b.len < cap - 1 ? (size_t)b.len : cap - 1;
        memcpy(dst, b.ptr, n);
        dst[n] = '\0';
    }
}

/* Reads the whole log as a consumer would, checking every batch's CRC and records. */
static void dump(log_partition_t *p, log_dump_t *d)
{
    buf_t data, scratch;
    buf_init(&data);
    buf_init(&scratch);
    memset(d, 0, sizeof *d);
    int64_t offset = log_partition_start_offset(p), end = log_partition_end_offset(p), prev_last = -1;
    while (offset < end) {
        assert_int_equal(tu_read(p, offset, 1 << 20, 1, &data), 0);
        if (data.len == 0)
            break;
        size_t at = 0;
        while (at < data.len) {
            proto_batch_header_t hdr;
            assert_int_equal(proto_batch_header_parse(data.data + at, data.len - at, &hdr), 0);
            size_t total = proto_batch_total_size(&hdr);
            assert_true(total <= data.len - at);
            assert_true(proto_batch_crc_ok(data.data + at, total));
            assert_true(hdr.base_offset > prev_last);
            assert_true(d->nbatches < MAX_RECS);
            batch_t *bt = &d->batches[d->nbatches++];
            bt->base_offset = hdr.base_offset;
            bt->records = hdr.records_count;
            bt->attributes = hdr.attributes;
            bt->producer_id = hdr.producer_id;
            bt->base_sequence = hdr.base_sequence;
            bt->last_offset_delta = hdr.last_offset_delta;
            proto_reader_t rd;
            assert_int_equal(proto_batch_records(data.data + at, total, &hdr, &scratch, 1 << 24, &rd), 0);
            int32_t count = 0;
            while (proto_rd_remaining(&rd) > 0) {
                proto_record_t rec;
                assert_int_equal(proto_record_next(&rd, &rec), 0);
                assert_true(rec.offset_delta >= 0 && rec.offset_delta <= hdr.last_offset_delta);
                assert_true(d->n < MAX_RECS);
                rec_t *r = &d->recs[d->n++];
                r->offset = hdr.base_offset + rec.offset_delta;
                r->control = (hdr.attributes & PROTO_BATCH_CONTROL) != 0;
                if (!r->control) {
                    copy_str(r->key, sizeof r->key, rec.key);
                    copy_str(r->value, sizeof r->value, rec.value);
                }
                r->attributes = hdr.attributes;
                r->producer_id = hdr.producer_id;
                count++;
            }
            assert_int_equal(count, hdr.records_count);
            prev_last = proto_batch_last_offset(&hdr);
            at += total;
        }
        offset = prev_last + 1;
    }
    buf_fini(&data);
    buf_fini(&scratch);
}

static log_dump_t *dump_new(log_partition_t *p)
{
    log_dump_t *d = malloc(sizeof *d);
    assert_non_null(d);
    dump(p, d);
    return d;
}

/* Values of key in log order, joined with ',' (data records only). */
static void values_of(const log_dump_t *d, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < d->n; i++) {
        if (d->recs[i].control || strcmp(d->recs[i].key, key) != 0)
            continue;
        if (out[0] != '\0')
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, d->recs[i].value, cap - strlen(out) - 1);
    }
}

static void assert_values(const log_dump_t *d, const char *key, const char *expect)
{
    char got[256];
    values_of(d, key, got, sizeof got);
    assert_string_equal(got, expect);
}

static size_t count_markers(const log_dump_t *d, int64_t pid)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        n += d->recs[i].control && d->recs[i].producer_id == pid;
    return n;
}

static const rec_t *find_offset(const log_dump_t *d, int64_t offset)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->recs[i].offset == offset)
            return &d->recs[i];
    return NULL;
}

static const batch_t *find_batch(const log_dump_t *d, int64_t base_offset)
{
    for (size_t i = 0; i < d->nbatches; i++)
        if (d->batches[i].base_offset == base_offset)
            return &d->batches[i];
    return NULL;
}

static int compact(fixture_t *fx, log_compact_stats_t *st)
{
    return log_partition_compact(fx->p, fx->clock, st);
}

static void reopen(fixture_t *fx, int clean, int64_t recovery_point)
{
    log_partition_close(fx->p);
    fx->cfg.clean_shutdown = clean;
    fx->cfg.recovery_point = recovery_point;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    fx->cfg.clean_shutdown = 0;
    fx->cfg.recovery_point = -1;
}

static void remove_snapshots(const fixture_t *fx)
{
    DIR *dir = opendir(fx->dir.part);
    struct dirent *e;
    char path[512];
    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 9 && strcmp(e->d_name + l - 9, ".snapshot") == 0) {
            snprintf(path, sizeof path, "%s/%s", fx->dir.part, e->d_name);
            assert_int_equal(unlink(path), 0);
        }
    }
    closedir(dir);
}

/* ---- tests ---- */

static void a_committed_value_survives_a_later_aborted_write_of_its_key(void **state)
{
    fixture_t *fx = *state;
    log_compact_stats_t st;
    int64_t v1 = put(fx, -1, 0, "K", "v1");
    put(fx, 1, 1, "K", "v2");
    put(fx, 1, 1, "K", "v2b");
    int64_t m = end_txn(fx, 1, PROTO_MARKER_ABORT);
    filler(fx);
    filler(fx);

    assert_int_equal(compact(fx, &st), 0);
    assert_int_equal(st.aborted_records_removed, 2);
    log_dump_t *d = dump_new(fx->p);
    /* v2 and v2b never entered the key map: v1 is still the value of K. */
    assert_values(d, "K", "v1");
    assert_non_null(find_offset(d, v1));
    /* The marker stays: this pass still saw its transaction's data. */
    assert_int_equal(count_markers(d, 1), 1);
    assert_non_null(find_offset(d, m));
    /* The txnindex entry stays; read_committed readers just find no data for it. */
    log_aborted_txn_t *ab;
    size_t n;
    assert_int_equal(log_partition_aborted_txns(fx->p, 0, log_partition_end_offset(fx->p), &ab, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ab[0].producer_id, 1);
    assert_int_equal(ab[0].last_offset, m);
    free(ab);
    free(d);
}

static void an_aborted_transactions_records_are_removed_entirely(void **state)
{
    fixture_t *fx = *state;
    log_compact_stats_t st;
    put(fx, -1, 0, "first", "x"); /* the first segment keeps something: no placeholder is needed */
    int64_t a = put(fx, 3, 1, "A", "1");
    int64_t b = put(fx, 3, 1, "B", "2");
    int64_t c = put(fx, 3, 1, "C", "3");
    end_txn(fx, 3, PROTO_MARKER_ABORT);
    /* The producer's next transaction commits: its last batch is there now. */
    int64_t dd = put(fx, 3, 1, "D", "4");
    end_txn(fx, 3, PROTO_MARKER_COMMIT);
    filler(fx);

    assert_int_equal(compact(fx, &st), 0);
    assert_int_equal(st.aborted_records_removed, 3);
    log_dump_t *d = dump_new(fx->p);
    assert_values(d, "A", "");
    assert_values(d, "B", "");
    assert_values(d, "C", "");
    assert_values(d, "D", "4");
    /* Not even an empty batch is left of them. */
    assert_null(find_batch(d, a));
    assert_null(find_batch(d, b));
    assert_null(find_batch(d, c));
    assert_non_null(find_batch(d, dd));
    assert_int_equal(count_markers(d, 3), 2);
    free(d);
}

static void aborted_data_goes_before_its_marker_is_cleanable(void **state)
{
    fixture_t *fx = *state;
    log_compact_stats_t st;
    put(fx, -1, 0, "K", "committed");
    put(fx, 4, 1, "K", "aborted-1");
    int64_t last = put(fx, 4, 1, "K", "aborted-2");
    /* The marker lands in the active segment, which is never cleaned. */
    int64_t m = end_txn(fx, 4, PROTO_MARKER_ABORT);
    assert_int_equal(log_partition_last_stable_offset(fx->p), log_partition_end_offset(fx->p));

    assert_int_equal(compact(fx, &st), 0);
    assert_true(log_partition_cleaner_point(fx->p) <= m);
    assert_int_equal(st.aborted_records_removed, 2);
    log_dump_t *d = dump_new(fx->p);
    assert_values(d, "K", "committed");
    /* The producer's last batch stays, emptied, for its sequence (Kafka's rule). */
    const batch_t *bt = find_batch(d, last);
    assert_non_null(bt);
    assert_int_equal(bt->records, 0);
    assert_int_equal(bt->producer_id, 4);
    assert_int_equal(bt->base_sequence, 1);
    assert_true(bt->attributes & PROTO_BATCH_TRANSACTIONAL);
    assert_int_equal(count_markers(d, 4), 1);
    free(d);
}

static void committed_values_are_superseded_and_their_markers_go_after_the_horizon(void **state)
{
    fixture_t *fx = *state;
    log_compact_stats_t st;
    int64_t m[3];
    const char *vals[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        put(fx, 5, 1, "K", vals[i]);
        m[i] = end_txn(fx, 5, PROTO_MARKER_COMMIT);
    }
    filler(fx);

    /* Pass 1: the older commits lose K; their markers stay, as their data was seen. */
    assert_int_equal(compact(fx, &st), 0);
    assert_int_equal(st.markers_removed, 0);
    log_dump_t *d = dump_new(fx->p);
    assert_values(d, "K", "c");
    assert_int_equal(count_markers(d, 5), 3);
    free(d);

    /* Pass 2: no data of the first two left: they get a delete horizon, and stay. */
    filler(fx);
    assert_int_equal(compact(fx, &st), 0);
    assert_int_equal(st.markers_removed, 0);
    d = dump_new(fx->p);
    assert_int_equal(count_markers(d, 5), 3);
    for (int i = 0; i < 2; i++) {
        const batch_t *bt = find_batch(d, m[i]);
        assert_non_null(bt);
        assert_true(bt->attributes & PROTO_BATCH_DELETE_HORIZON);
        assert_true(bt->attributes & PROTO_BATCH_CONTROL);
    }
    assert_false(find_batch(d, m[2])->attributes & PROTO_BATCH_DELETE_HORIZON);
    free(d);

    /* Before the horizon nothing changes; after it they go. The last commit's data is there: its marker stays. */
    filler(fx);
    fx->clock += RETENTION_MS / 2;
    assert_int_equal(compact(fx, &st), 0);
    assert_int_equal(st.markers_removed, 0);
    filler(fx);
    fx->clock += RETENTION_MS;
    assert_int_equal(compact(fx, &st), 0);
    assert_int_equal(st.markers_removed, 2);
    d = dump_new(fx->p);
    assert_int_equal(count_markers(d, 5), 1);
    assert_non_null(find_offset(d, m[2]));
    assert_values(d, "K", "c");
    free(d);
    assert_int_equal(log_partition_last_stable_offset(fx->p), log_partition_end_offset(fx->p));
}

static void an_open_transaction_beyond_the_lso_is_untouched(void **state)
{
    fixture_t *fx = *state;
    log_compact_stats_t st;
    put(fx, -1, 0, "K", "v1");
    put(fx, -1, 0, "K", "v1b");
    int64_t open_first = put(fx, 6, 1, "K", "v2");
    put(fx, -1, 0, "K", "v3");
    put(fx, -1, 0, "K", "v4");
    filler(fx);
    filler(fx);
    assert_int_equal(log_partition_last_stable_offset(fx->p), open_first);
    log_dump_t *before = dump_new(fx->p);

    assert_int_equal(compact(fx, &st), 0);
    assert_true(log_partition_cleaner_point(fx->p) <= open_first);
    log_dump_t *after = dump_new(fx->p);
    /* Everything from the LSO on is as it was, record for record. */
    for (size_t i = 0; i < before->n; i++) {
        if (before->recs[i].offset < open_first)
            continue;
        const rec_t *r = find_offset(after, before->recs[i].offset);
        assert_non_null(r);
        assert_string_equal(r->key, before->recs[i].key);
        assert_string_equal(r->value, before->recs[i].value);
    }
    /* Below it the usual rule, with only what lies below as the map. */
    assert_values(after, "K", "v1b,v2,v3,v4");
    assert_int_equal(log_partition_last_stable_offset(fx->p), open_first);
    free(after);

    /* Once committed, the transaction is cleaned like any data. */
    int64_t m = end_txn(fx, 6, PROTO_MARKER_COMMIT);
    filler(fx);
    assert_int_equal(compact(fx, &st), 0);
    after = dump_new(fx->p);
    assert_values(after, "K", "v4");
    assert_non_null(find_offset(after, m));
    /* The producer's last batch stays, emptied. */
    const batch_t *bt = find_batch(after, open_first);
    assert_non_null(bt);
    assert_int_equal(bt->records, 0);
    free(after);
    free(before);
}

static void an_idempotent_producers_last_batch_stays_empty(void **state)
{
    fixture_t *fx = *state;
    log_compact_stats_t st;
    put(fx, -1, 0, "first", "x");
    int64_t first = put(fx, 7, 0, "K", "p7-a");
    int64_t last = put(fx, 7, 0, "K", "p7-b");
    put(fx, -1, 0, "K", "other");
    filler(fx);
    assert_int_equal(compact(fx, &st), 0);
    log_dump_t *d = dump_new(fx->p);
    assert_values(d, "K", "other");
    const batch_t *bt = find_batch(d, last);
    assert_non_null(bt);
    assert_int_equal(bt->records, 0);
    assert_int_equal(bt->base_sequence, 1);
    assert_int_equal(bt->producer_id, 7);
    assert_null(find_batch(d, first)); /* not its last: dropped */
    assert_int_equal(d->nbatches, 4);  /* "first", p7's last, "other", the filler */
    free(d);
}

typedef struct state_s {
    int64_t lso;
    int64_t end;
    size_t producers;
    log_producer_info_t info[16];
    int known[16];
} pstate_view_t;

static void view(log_partition_t *p, pstate_view_t *v)
{
    memset(v, 0, sizeof *v);
    v->lso = log_partition_last_stable_offset(p);
    v->end = log_partition_end_offset(p);
    v->producers = log_partition_producer_count(p);
    for (int64_t pid = 0; pid < 16; pid++)
        v->known[pid] = log_partition_producer(p, pid, &v->info[pid]);
}

static void assert_same_view(const pstate_view_t *a, const pstate_view_t *b)
{
    assert_int_equal(a->lso, b->lso);
    assert_int_equal(a->end, b->end);
    assert_int_equal(a->producers, b->producers);
    for (int pid = 0; pid < 16; pid++) {
        assert_int_equal(a->known[pid], b->known[pid]);
        if (!a->known[pid])
            continue;
        assert_int_equal(a->info[pid].producer_epoch, b->info[pid].producer_epoch);
        assert_int_equal(a->info[pid].last_sequence, b->info[pid].last_sequence);
        assert_int_equal(a->info[pid].last_offset, b->info[pid].last_offset);
        assert_int_equal(a->info[pid].txn_first_offset, b->info[pid].txn_first_offset);
        assert_int_equal(a->info[pid].coordinator_epoch, b->info[pid].coordinator_epoch);
    }
}

static void a_reopen_after_compaction_rebuilds_the_same_producer_state_and_lso(void **state)
{
    fixture_t *fx = *state;
    log_compact_stats_t st;
    /* Producer 1: aborted then committed; 2: commits superseded; 3: idempotent; 8: open at the end. */
    put(fx, 1, 1, "A", "1-aborted");
    end_txn(fx, 1, PROTO_MARKER_ABORT);
    put(fx, 2, 1, "A", "2-a");
    end_txn(fx, 2, PROTO_MARKER_COMMIT);
    put(fx, 3, 0, "B", "3-a");
    put(fx, 2, 1, "A", "2-b");
    end_txn(fx, 2, PROTO_MARKER_COMMIT);
    put(fx, 1, 1, "B", "1-b");
    end_txn(fx, 1, PROTO_MARKER_COMMIT);
    put(fx, 3, 0, "A", "3-b");
    filler(fx);
    int64_t open_first = put(fx, 8, 1, "A", "8-open");
    filler(fx);
    for (int pass = 0; pass < 4; pass++) {
        assert_int_equal(compact(fx, &st), 0);
        filler(fx);
        fx->clock += RETENTION_MS;
    }
    assert_int_equal(log_partition_last_stable_offset(fx->p), open_first);
    log_dump_t *d = dump_new(fx->p);
    assert_values(d, "A", "3-b,8-open");
    assert_values(d, "B", "1-b");
    free(d);

    pstate_view_t before, after;
    view(fx->p, &before);
    assert_int_equal(before.info[8].txn_first_offset, open_first);
    /* From the snapshot written at close. */
    reopen(fx, 1, -1);
    view(fx->p, &after);
    assert_same_view(&before, &after);
    /* And by a full rebuild from the compacted log alone. */
    log_partition_close(fx->p);
    fx->p = NULL;
    remove_snapshots(fx);
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    view(fx->p, &after);
    assert_same_view(&before, &after);
    d = dump_new(fx->p);
    assert_values(d, "A", "3-b,8-open");
    assert_values(d, "B", "1-b");
    free(d);
}

static void a_snapshot_older_than_a_dropped_marker_is_not_used_at_restart(void **state)
{
    fixture_t *fx = *state;
    log_compact_stats_t st;
    /* Bigger segments: few rolls, so few snapshots, and the old one is among them. */
    log_partition_close(fx->p);
    tu_dir_remove(&fx->dir);
    tu_dir_make(&fx->dir);
    assert_int_equal(open_with(fx, 300), 0);

    put(fx, 2, 1, "K", "a"); /* 0 */
    /* A snapshot holding producer 2's transaction open. */
    assert_int_equal(log_partition_snapshot_producers(fx->p, 1), 0);
    int64_t m = end_txn(fx, 2, PROTO_MARKER_COMMIT); /* 1 */
    put(fx, -1, 0, "K", "b");                         /* 2 */
    filler(fx);                                       /* 3: rolls */
    int64_t open_first = put(fx, 2, 1, "Z", "z");     /* 4: producer 2's next transaction */
    assert_int_equal(m, 1);
    assert_int_equal(log_partition_segment_count(fx->p), 2);

    /* Pass 1 removes "a", pass 2 gives the marker its horizon, pass 3 drops it. */
    for (int pass = 0; pass < 3; pass++) {
        assert_int_equal(compact(fx, &st), 0);
        assert_int_equal(st.markers_removed, pass == 2);
        fx->clock += 2 * RETENTION_MS;
        reopen(fx, 1, -1); /* the cleaner point is forgotten: all is dirty again, without a roll */
    }
    log_dump_t *d = dump_new(fx->p);
    assert_int_equal(count_markers(d, 2), 0);
    assert_values(d, "K", "b");
    free(d);
    assert_int_equal(log_partition_last_stable_offset(fx->p), open_first);

    /* An unclean restart may only trust offsets below 2: the snapshot at 1 would say the transaction is open. */
    reopen(fx, 0, 2);
    assert_int_equal(log_partition_last_stable_offset(fx->p), open_first);
    log_producer_info_t info;
    assert_int_equal(log_partition_producer(fx->p, 2, &info), 1);
    assert_int_equal(info.txn_first_offset, open_first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_committed_value_survives_a_later_aborted_write_of_its_key, setup, teardown),
        cmocka_unit_test_setup_teardown(an_aborted_transactions_records_are_removed_entirely, setup, teardown),
        cmocka_unit_test_setup_teardown(aborted_data_goes_before_its_marker_is_cleanable, setup, teardown),
        cmocka_unit_test_setup_teardown(committed_values_are_superseded_and_their_markers_go_after_the_horizon, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_open_transaction_beyond_the_lso_is_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(an_idempotent_producers_last_batch_stays_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reopen_after_compaction_rebuilds_the_same_producer_state_and_lso, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_snapshot_older_than_a_dropped_marker_is_not_used_at_restart, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
