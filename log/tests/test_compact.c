#include <dirent.h>
#include <pthread.h>

#include "log_test_util.h"

/*
 * Compaction tests. Batches are real (proto_batch_build, keys and values),
 * because the cleaner looks inside them. Every read-back checks each batch
 * the way the broker's validation would: CRC-32C, records that parse, as many
 * as records_count says, offsets inside the batch's span.
 */

#define MAX_RECS 4096

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
    fx->cfg = tu_config(250, 0);
    fx->cfg.now_ms = fake_now;
    fx->cfg.now_arg = &fx->clock;
    fx->cfg.compact = 1;
    fx->cfg.min_cleanable_dirty_ratio = 0.0;
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

/* One record to append: key NULL = null key, value NULL = tombstone. */
typedef struct kv_s {
    const char *key;
    const char *value;
} kv_t;

static proto_bytes_t bytes_of(const char *s)
{
    proto_bytes_t b = {(const uint8_t *)s, s != NULL ? (int32_t)strlen(s) : -1};
    return b;
}

/* Appends one batch of n records with timestamp ts (+i per record); returns its base offset. */
static int64_t append_batch(log_partition_t *p, proto_codec_t codec, const kv_t *kvs, int n, int64_t ts,
                            int64_t producer_id)
{
    proto_record_spec_t specs[64];
    proto_batch_build_t spec;
    buf_t b;
    int64_t base = -1;
    assert_true(n <= 64);
    proto_batch_build_init(&spec);
    spec.codec = codec;
    spec.base_timestamp = ts;
    if (producer_id >= 0) {
        spec.producer_id = producer_id;
        spec.producer_epoch = 3;
        spec.base_sequence = 100;
    }
    for (int i = 0; i < n; i++) {
        memset(&specs[i], 0, sizeof specs[i]);
        specs[i].key = bytes_of(kvs[i].key);
        specs[i].value = bytes_of(kvs[i].value);
        specs[i].timestamp_delta = i;
    }
    buf_init(&b);
    assert_int_equal(proto_batch_build(&b, &spec, specs, n), 0);
    assert_int_equal(log_partition_append(p, b.data, b.len, 5, &base), 0);
    buf_fini(&b);
    return base;
}

static int64_t append_kv(log_partition_t *p, const char *key, const char *value, int64_t ts)
{
    kv_t kv = {key, value};
    return append_batch(p, PROTO_CODEC_NONE, &kv, 1, ts, -1);
}

/* A record as read back. */
typedef struct rec_s {
    int64_t offset;
    int64_t ts;
    char key[32];
    int key_null;
    char value[32];
    int value_null;
    int16_t attributes; /* of its batch */
    int64_t producer_id;
    int32_t base_sequence;
} rec_t;

typedef struct log_dump_s {
    rec_t recs[MAX_RECS];
    size_t n;
    size_t batches;
    size_t empty_batches;
} log_dump_t;

static void copy_bytes(char *dst, size_t cap, proto_bytes_t b, int *is_null)
{
    *is_null = b.len < 0;
    dst[0] = '\0';
    if (b.len > 0) {
        size_t n = (size_t)b.len < cap - 1 ? (size_t)b.len : cap - 1;
        memcpy(dst, b.ptr, n);
        dst[n] = '\0';
    }
}

/* Reads the whole log through log_partition_read, checking every batch. */
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
            assert_true(hdr.records_count <= hdr.last_offset_delta + 1);
            proto_reader_t rd;
            assert_int_equal(proto_batch_records(data.data + at, total, &hdr, &scratch, 1 << 24, &rd), 0);
            int32_t count = 0;
            int64_t prev = -1;
            while (proto_rd_remaining(&rd) > 0) {
                proto_record_t rec;
                assert_int_equal(proto_record_next(&rd, &rec), 0);
                assert_true(rec.offset_delta >= 0 && rec.offset_delta <= hdr.last_offset_delta);
                assert_true(rec.offset_delta > prev);
                prev = rec.offset_delta;
                assert_true(d->n < MAX_RECS);
                rec_t *r = &d->recs[d->n++];
                r->offset = hdr.base_offset + rec.offset_delta;
                r->ts = (hdr.attributes & PROTO_BATCH_LOG_APPEND_TIME) ? hdr.max_timestamp
                                                                       : hdr.base_timestamp + rec.timestamp_delta;
                if (!(hdr.attributes & PROTO_BATCH_DELETE_HORIZON) && !(hdr.attributes & PROTO_BATCH_LOG_APPEND_TIME))
                    assert_true(r->ts >= hdr.base_timestamp);
                assert_true(r->ts <= hdr.max_timestamp);
                copy_bytes(r->key, sizeof r->key, rec.key, &r->key_null);
                copy_bytes(r->value, sizeof r->value, rec.value, &r->value_null);
                r->attributes = hdr.attributes;
                r->producer_id = hdr.producer_id;
                r->base_sequence = hdr.base_sequence;
                count++;
            }
            assert_int_equal(count, hdr.records_count);
            d->batches++;
            if (count == 0)
                d->empty_batches++;
            prev_last = proto_batch_last_offset(&hdr);
            at += total;
        }
        offset = prev_last + 1;
    }
    buf_fini(&data);
    buf_fini(&scratch);
}

static const rec_t *find_offset(const log_dump_t *d, int64_t offset)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->recs[i].offset == offset)
            return &d->recs[i];
    return NULL;
}

static size_t count_key(const log_dump_t *d, const char *key, int64_t below)
{
    size_t c = 0;
    for (size_t i = 0; i < d->n; i++)
        if (!d->recs[i].key_null && strcmp(d->recs[i].key, key) == 0 && d->recs[i].offset < below)
            c++;
    return c;
}

/* The last record of key in the dump, or NULL. */
static const rec_t *latest(const log_dump_t *d, const char *key)
{
    const rec_t *r = NULL;
    for (size_t i = 0; i < d->n; i++)
        if (!d->recs[i].key_null && strcmp(d->recs[i].key, key) == 0)
            r = &d->recs[i];
    return r;
}

/* Names in the partition directory ending with sfx. */
static int count_files(const fixture_t *fx, const char *sfx)
{
    DIR *dir = opendir(fx->dir.part);
    struct dirent *e;
    int n = 0;
    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL) {
        size_t l = strlen(e->d_name), s = strlen(sfx);
        if (l >= s && strcmp(e->d_name + l - s, sfx) == 0)
            n++;
    }
    closedir(dir);
    return n;
}

static void reopen(fixture_t *fx)
{
    log_partition_close(fx->p);
    fx->cfg.clean_shutdown = 1;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
}

/* Writes rounds of values for keys k0..k(nkeys-1), one record per batch. */
static void write_rounds(fixture_t *fx, int nkeys, int rounds)
{
    char key[32], value[48];
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < nkeys; k++) {
            snprintf(key, sizeof key, "k%d", k);
            snprintf(value, sizeof value, "r%d-k%d", r, k);
            append_kv(fx->p, key, value, fx->clock);
            fx->clock += 10;
        }
    }
}

static void compaction_keeps_the_latest_value_per_key_with_offsets_unchanged(void **state)
{
    fixture_t *fx = *state;
    log_dump_t *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    log_compact_stats_t st;

    write_rounds(fx, 5, 4);
    append_kv(fx->p, NULL, "no-key", fx->clock); /* null keys are kept */
    write_rounds(fx, 2, 1);
    assert_true(log_partition_segment_count(fx->p) > 4);
    dump(fx->p, before);
    int64_t size_before = log_partition_size_bytes(fx->p);
    int64_t end = log_partition_end_offset(fx->p);

    assert_int_equal(log_partition_compact(fx->p, fx->clock, &st), 0);
    assert_true(st.records_removed > 0);
    assert_true(st.segments_rewritten + st.segments_emptied > 0);
    assert_true(log_partition_size_bytes(fx->p) < size_before);
    assert_int_equal(log_partition_end_offset(fx->p), end);
    assert_int_equal(log_partition_start_offset(fx->p), 0);
    int64_t cp = log_partition_cleaner_point(fx->p);
    assert_true(cp > 0 && cp < end);
    assert_int_equal(count_files(fx, ".cleaned"), 0);
    assert_int_equal(count_files(fx, ".swap"), 0);

    for (int pass = 0; pass < 2; pass++) {
        dump(fx->p, after);
        /* Every record still there kept its offset and content. */
        for (size_t i = 0; i < after->n; i++) {
            const rec_t *o = find_offset(before, after->recs[i].offset);
            assert_non_null(o);
            assert_string_equal(o->key, after->recs[i].key);
            assert_string_equal(o->value, after->recs[i].value);
            assert_int_equal(o->ts, after->recs[i].ts);
        }
        /* At most one record per key below the cleaner point; the latest value of each key survives. */
        char key[16];
        for (int k = 0; k < 5; k++) {
            snprintf(key, sizeof key, "k%d", k);
            assert_true(count_key(after, key, cp) <= 1);
            const rec_t *a = latest(after, key), *b = latest(before, key);
            assert_non_null(a);
            assert_int_equal(a->offset, b->offset);
            assert_string_equal(a->value, b->value);
        }
        /* The record without a key is still there. */
        int found = 0;
        for (size_t i = 0; i < after->n; i++)
            found |= after->recs[i].key_null && strcmp(after->recs[i].value, "no-key") == 0;
        assert_true(found);
        assert_true(after->n < before->n);
        /* Survives a restart: the start offset too (the first segment is never emptied). */
        reopen(fx);
        assert_int_equal(log_partition_start_offset(fx->p), 0);
        assert_int_equal(log_partition_end_offset(fx->p), end);
    }
    free(before);
    free(after);
}

static void reads_in_gaps_and_offset_for_time_work_after_compaction(void **state)
{
    fixture_t *fx = *state;
    buf_t data;
    int64_t t0 = fx->clock;
    buf_init(&data);
    write_rounds(fx, 3, 4);
    write_rounds(fx, 1, 1);
    assert_int_equal(log_partition_compact(fx->p, fx->clock, NULL), 0);
    /* Offset 0 (k0's first value) is gone: a read there returns the next batch kept. */
    assert_int_equal(tu_read(fx->p, 0, 1 << 20, 1, &data), 0);
    assert_true(data.len > 0);
    proto_batch_header_t hdr;
    assert_int_equal(proto_batch_header_parse(data.data, data.len, &hdr), 0);
    assert_true(proto_batch_last_offset(&hdr) >= 0);
    for (int64_t off = 1; off < log_partition_end_offset(fx->p); off++) {
        assert_int_equal(tu_read(fx->p, off, 1 << 20, 1, &data), 0);
        assert_true(data.len > 0);
        assert_int_equal(proto_batch_header_parse(data.data, data.len, &hdr), 0);
        assert_true(proto_batch_last_offset(&hdr) >= off);
    }
    /* The timestamp of the last round (ts increasing with offsets): found at a kept batch. */
    int64_t off, ts;
    assert_int_equal(log_partition_offset_for_time(fx->p, t0 + 95, &off, &ts), 0);
    assert_true(off >= 9);
    assert_true(ts >= t0 + 95);
    assert_int_equal(log_partition_offset_for_time(fx->p, t0, &off, &ts), 0);
    assert_true(off >= 0);
    buf_fini(&data);
}

static void tombstones_are_removed_only_after_the_delete_retention(void **state)
{
    fixture_t *fx = *state;
    log_dump_t *d = malloc(sizeof *d);
    fx->cfg.delete_retention_ms = 10000;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    append_kv(fx->p, "a", "1", fx->clock);
    append_kv(fx->p, "b", "1", fx->clock);
    int64_t tomb = append_kv(fx->p, "a", NULL, fx->clock);
    append_kv(fx->p, "c", "1", fx->clock);
    append_kv(fx->p, "c", "2", fx->clock);

    /* First clean: a's value goes, the tombstone stays and gets its delete horizon. */
    int64_t t_clean = fx->clock;
    assert_int_equal(log_partition_compact(fx->p, t_clean, NULL), 0);
    dump(fx->p, d);
    assert_int_equal(count_key(d, "a", INT64_MAX), 1);
    const rec_t *t = find_offset(d, tomb);
    assert_non_null(t);
    assert_true(t->value_null);
    assert_true(t->attributes & PROTO_BATCH_DELETE_HORIZON);

    /* Before the horizon, a later clean keeps it. */
    append_kv(fx->p, "d", "1", fx->clock);
    append_kv(fx->p, "d", "2", fx->clock);
    append_kv(fx->p, "e", "1", fx->clock);
    assert_int_equal(log_partition_compact(fx->p, t_clean + 9999, NULL), 0);
    dump(fx->p, d);
    assert_non_null(find_offset(d, tomb));

    /* After it, the next clean drops it. */
    append_kv(fx->p, "f", "1", fx->clock);
    append_kv(fx->p, "f", "2", fx->clock);
    append_kv(fx->p, "g", "1", fx->clock);
    log_compact_stats_t st;
    assert_int_equal(log_partition_compact(fx->p, t_clean + 10000, &st), 0);
    assert_true(st.tombstones_removed >= 1);
    dump(fx->p, d);
    assert_null(find_offset(d, tomb));
    assert_int_equal(count_key(d, "a", INT64_MAX), 0);
    assert_non_null(latest(d, "b"));
    free(d);
}

static void compact_codec(void **state, proto_codec_t codec)
{
    fixture_t *fx = *state;
    log_dump_t *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    fx->cfg.segment_bytes = 400;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    kv_t b1[] = {{"x", "x1"}, {"y", "y1"}, {"x", "x2"}, {"z", "z1"}};
    kv_t b2[] = {{"y", "y2"}, {"w", "w1"}, {"w", NULL}};
    kv_t b3[] = {{"x", "x3"}, {"q", "q1"}};
    int64_t o1 = append_batch(fx->p, codec, b1, 4, fx->clock, 77);
    append_batch(fx->p, codec, b2, 3, fx->clock + 10, 77);
    append_batch(fx->p, codec, b3, 2, fx->clock + 20, 77);
    for (int i = 0; i < 8; i++)
        append_kv(fx->p, "filler", "f", fx->clock + 30);
    dump(fx->p, before);
    assert_int_equal(log_partition_compact(fx->p, fx->clock + 100, NULL), 0);
    dump(fx->p, after);
    /* b1 keeps y1? no: y2 supersedes it; keeps z1 only (x3 supersedes x1, x2). */
    const rec_t *z = find_offset(after, o1 + 3);
    assert_non_null(z);
    assert_string_equal(z->value, "z1");
    assert_null(find_offset(after, o1));
    assert_null(find_offset(after, o1 + 1));
    assert_null(find_offset(after, o1 + 2));
    assert_int_equal(z->attributes & PROTO_BATCH_CODEC_MASK, (int)codec);
    assert_int_equal(z->producer_id, 77);
    assert_int_equal(z->base_sequence, 100); /* the batch keeps its base offset and sequence, as in Kafka */
    assert_int_equal(z->ts, fx->clock + 3);
    /* Everything kept matches what was written at that offset. */
    for (size_t i = 0; i < after->n; i++) {
        const rec_t *o = find_offset(before, after->recs[i].offset);
        assert_non_null(o);
        assert_string_equal(o->value, after->recs[i].value);
        assert_int_equal(o->value_null, after->recs[i].value_null);
        assert_int_equal(o->ts, after->recs[i].ts);
        if (strcmp(after->recs[i].key, "filler") != 0)
            assert_int_equal(after->recs[i].attributes & PROTO_BATCH_CODEC_MASK, (int)codec);
    }
    assert_string_equal(latest(after, "x")->value, "x3");
    assert_string_equal(latest(after, "y")->value, "y2");
    assert_true(latest(after, "w")->value_null);
    free(before);
    free(after);
}

static void gzip_batches_are_rewritten_and_recompressed(void **state)
{
    compact_codec(state, PROTO_CODEC_GZIP);
}

static void zstd_batches_are_rewritten_and_recompressed(void **state)
{
    compact_codec(state, PROTO_CODEC_ZSTD);
}

static void no_job_below_the_dirty_ratio_or_inside_the_min_lag(void **state)
{
    fixture_t *fx = *state;
    log_compact_job_t job;
    write_rounds(fx, 4, 4);
    fx->cfg.min_cleanable_dirty_ratio = 0.5;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 1);
    assert_int_equal(log_partition_compact_complete(fx->p, &job, log_compact_job_run(&job)), 0);
    int64_t cp = log_partition_cleaner_point(fx->p);

    /* A little new dirty data: below the ratio, nothing to do. */
    write_rounds(fx, 1, 3);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 0);
    assert_null(job.work);
    assert_int_equal(log_partition_cleaner_point(fx->p), cp);

    /* max.compaction.lag.ms forces it once the oldest dirty data is old enough. */
    fx->cfg.max_compaction_lag_ms = 60000;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 0);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock + 61000, &job), 1);
    log_compact_job_t other;
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &other), -EBUSY);
    assert_null(other.work);
    assert_int_equal(log_partition_compact_complete(fx->p, &job, log_compact_job_run(&job)), 0);
    assert_true(log_partition_cleaner_point(fx->p) > cp);

    /* min.compaction.lag.ms: segments with recent data are not cleanable yet. */
    fx->cfg.max_compaction_lag_ms = INT64_MAX;
    fx->cfg.min_cleanable_dirty_ratio = 0.0;
    fx->cfg.min_compaction_lag_ms = 5000;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    write_rounds(fx, 4, 2);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 0);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock + 5000, &job), 1);
    assert_int_equal(log_partition_compact_complete(fx->p, &job, log_compact_job_run(&job)), 0);

    /* Not a compacted topic: never. */
    fx->cfg.compact = 0;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    write_rounds(fx, 4, 2);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock + 100000, &job), 0);
}

/* Path and base offset of the newest .log file (the active segment). */
static int64_t active_segment(const fixture_t *fx, char *path, size_t len)
{
    DIR *dir = opendir(fx->dir.part);
    struct dirent *e;
    int64_t best = -1;
    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l == 24 && strcmp(e->d_name + 20, ".log") == 0) {
            int64_t base = strtoll(e->d_name, NULL, 10);
            if (base > best)
                best = base;
        }
    }
    closedir(dir);
    tu_seg_path(&fx->dir, best, ".log", path, len);
    return best;
}

static void the_active_segment_is_never_touched(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    write_rounds(fx, 2, 5);
    /* The active segment gets two more records of the same key. */
    fx->cfg.segment_bytes = 1 << 20;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    append_kv(fx->p, "k0", "active-1", fx->clock);
    append_kv(fx->p, "k0", "active-2", fx->clock);
    int64_t active = active_segment(fx, path, sizeof path);
    assert_true(active > 0);
    size_t len1, len2;
    uint8_t *before = tu_slurp(path, &len1);
    assert_non_null(before);
    assert_int_equal(log_partition_compact(fx->p, fx->clock, NULL), 0);
    uint8_t *after = tu_slurp(path, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(before, after, len1);
    assert_int_equal(log_partition_cleaner_point(fx->p), active);
    free(before);
    free(after);
}

static void a_job_racing_appends_keeps_the_new_data(void **state)
{
    fixture_t *fx = *state;
    log_compact_job_t job;
    log_dump_t *d = malloc(sizeof *d);
    write_rounds(fx, 3, 3);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 1);
    /* New values of the same keys arrive (rolling new segments) while the job is out. */
    int64_t first_new = log_partition_end_offset(fx->p);
    write_rounds(fx, 3, 2);
    assert_int_equal(log_compact_job_run(&job), 0);
    write_rounds(fx, 1, 1);
    assert_int_equal(log_partition_compact_complete(fx->p, &job, 0), 0);
    dump(fx->p, d);
    for (int64_t off = first_new; off < log_partition_end_offset(fx->p); off++)
        assert_non_null(find_offset(d, off));
    assert_int_equal(log_partition_cleaner_point(fx->p), job.end_offset);
    assert_true(job.end_offset <= first_new);
    free(d);
}

static void a_job_whose_segments_retention_deleted_is_discarded(void **state)
{
    fixture_t *fx = *state;
    log_compact_job_t job;
    log_dump_t *d = malloc(sizeof *d);
    write_rounds(fx, 3, 3);
    fx->clock += 100000;
    write_rounds(fx, 3, 1);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 1);
    assert_int_equal(log_compact_job_run(&job), 0);
    assert_true(count_files(fx, ".cleaned") > 0);
    fx->cfg.retention_ms = 50000;
    assert_int_equal(log_partition_set_config(fx->p, &fx->cfg), 0);
    log_retention_result_t res;
    assert_int_equal(log_partition_retention(fx->p, fx->clock, &res), 0);
    assert_true(res.segments_deleted > 0);
    int64_t start = log_partition_start_offset(fx->p);
    assert_int_equal(log_partition_compact_complete(fx->p, &job, 0), -ESTALE);
    assert_int_equal(count_files(fx, ".cleaned"), 0);
    assert_int_equal(count_files(fx, ".swap"), 0);
    assert_int_equal(log_partition_cleaner_point(fx->p) >= 0, 1);
    dump(fx->p, d);
    assert_true(d->n > 0);
    assert_true(d->recs[0].offset >= start);
    /* The next job starts from the log as it is now (compact,delete cooperate). */
    assert_int_equal(log_partition_compact(fx->p, fx->clock, NULL), 0);
    dump(fx->p, d);
    assert_true(d->n > 0);
    free(d);
}

/* Copies a file. */
static void copy_file(const char *from, const char *to)
{
    size_t len;
    uint8_t *b = tu_slurp(from, &len);
    assert_non_null(b);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
    free(b);
}

/*
 * Leaves the cleaned files of segment 0 of a finished run under the names a
 * crash at some step of the swap would leave; returns the dump before.
 */
static void simulate_interrupted_swap(fixture_t *fx, int committed, log_dump_t *before)
{
    log_compact_job_t job;
    char from[256], to[300];
    write_rounds(fx, 2, 4);
    dump(fx->p, before);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 1);
    assert_int_equal(log_compact_job_run(&job), 0);
    /* Keep copies of segment 0's cleaned files: discarding the job unlinks them. */
    const char *sfx[] = {".log", ".index", ".timeindex"};
    for (int i = 0; i < 3; i++) {
        tu_seg_path(&fx->dir, 0, sfx[i], from, sizeof from);
        strcat(from, ".cleaned");
        snprintf(to, sizeof to, "%s.keep", from);
        copy_file(from, to);
    }
    log_partition_close(fx->p);
    fx->p = NULL;
    assert_int_equal(log_partition_compact_complete(NULL, &job, 0), -ESTALE);
    assert_int_equal(count_files(fx, ".cleaned"), 0);
    for (int i = 0; i < 3; i++) {
        tu_seg_path(&fx->dir, 0, sfx[i], from, sizeof from);
        strcat(from, ".cleaned.keep");
        tu_seg_path(&fx->dir, 0, sfx[i], to, sizeof to);
        /* committed: the .log has its .swap, the index already swapped, the time index not yet.
         * not committed: the indexes have their .swap, the .log is still .cleaned. */
        if (committed)
            strcat(to, i == 1 ? "" : ".swap");
        else
            strcat(to, i == 0 ? ".cleaned" : ".swap");
        assert_int_equal(rename(from, to), 0);
    }
}

static void an_interrupted_committed_swap_is_finished_at_open(void **state)
{
    fixture_t *fx = *state;
    log_dump_t *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    simulate_interrupted_swap(fx, 1, before);
    fx->cfg.clean_shutdown = 0;
    fx->cfg.recovery_point = -1;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(count_files(fx, ".swap"), 0);
    assert_int_equal(count_files(fx, ".cleaned"), 0);
    dump(fx->p, after);
    /* Segment 0 (round 0 and k0 of round 1, all superseded) is the cleaned copy. */
    assert_null(find_offset(after, 0));
    assert_null(find_offset(after, 1));
    assert_true(after->n < before->n);
    for (size_t i = 0; i < after->n; i++)
        assert_non_null(find_offset(before, after->recs[i].offset));
    assert_int_equal(log_partition_end_offset(fx->p), before->recs[before->n - 1].offset + 1);
    free(before);
    free(after);
}

static void an_uncommitted_swap_is_rolled_back_at_open(void **state)
{
    fixture_t *fx = *state;
    log_dump_t *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    simulate_interrupted_swap(fx, 0, before);
    fx->cfg.clean_shutdown = 1;
    assert_int_equal(log_partition_open(fx->dir.part, &fx->cfg, &fx->p), 0);
    assert_int_equal(count_files(fx, ".swap"), 0);
    assert_int_equal(count_files(fx, ".cleaned"), 0);
    dump(fx->p, after);
    assert_int_equal(after->n, before->n);
    for (size_t i = 0; i < after->n; i++) {
        assert_int_equal(after->recs[i].offset, before->recs[i].offset);
        assert_string_equal(after->recs[i].value, before->recs[i].value);
    }
    free(before);
    free(after);
}

static void *run_thread(void *arg)
{
    log_compact_job_t *job = arg;
    intptr_t rc = log_compact_job_run(job);
    return (void *)rc;
}

static void the_run_step_works_on_another_thread_while_appends_go_on(void **state)
{
    fixture_t *fx = *state;
    log_compact_job_t job;
    pthread_t th;
    void *ret;
    log_dump_t *d = malloc(sizeof *d);
    write_rounds(fx, 4, 6);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 1);
    int64_t first_new = log_partition_end_offset(fx->p);
    assert_int_equal(pthread_create(&th, NULL, run_thread, &job), 0);
    write_rounds(fx, 4, 3); /* the loop thread keeps appending and reading */
    dump(fx->p, d);
    assert_int_equal(pthread_join(th, &ret), 0);
    assert_int_equal((intptr_t)ret, 0);
    assert_int_equal(log_partition_compact_complete(fx->p, &job, 0), 0);
    assert_true(job.stats.records_removed > 0);
    dump(fx->p, d);
    for (int64_t off = first_new; off < log_partition_end_offset(fx->p); off++)
        assert_non_null(find_offset(d, off));
    free(d);
}

static void a_failed_run_leaves_the_log_as_it_was(void **state)
{
    fixture_t *fx = *state;
    log_compact_job_t job;
    log_dump_t *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    write_rounds(fx, 3, 3);
    dump(fx->p, before);
    assert_int_equal(log_partition_compact_prepare(fx->p, fx->clock, &job), 1);
    tu_fault_t f = {.op = LOG_IO_FSYNC, .err = -EIO, .times = 1};
    log_io_set_fault(tu_fault_fn, &f);
    int rc = log_compact_job_run(&job);
    log_io_set_fault(NULL, NULL);
    assert_int_equal(rc, -EIO);
    assert_int_equal(log_partition_compact_complete(fx->p, &job, rc), -EIO);
    assert_int_equal(count_files(fx, ".cleaned"), 0);
    dump(fx->p, after);
    assert_int_equal(after->n, before->n);
    assert_int_equal(log_partition_cleaner_point(fx->p), 0);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(compaction_keeps_the_latest_value_per_key_with_offsets_unchanged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reads_in_gaps_and_offset_for_time_work_after_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(tombstones_are_removed_only_after_the_delete_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(gzip_batches_are_rewritten_and_recompressed, setup, teardown),
        cmocka_unit_test_setup_teardown(zstd_batches_are_rewritten_and_recompressed, setup, teardown),
        cmocka_unit_test_setup_teardown(no_job_below_the_dirty_ratio_or_inside_the_min_lag, setup, teardown),
        cmocka_unit_test_setup_teardown(the_active_segment_is_never_touched, setup, teardown),
        cmocka_unit_test_setup_teardown(a_job_racing_appends_keeps_the_new_data, setup, teardown),
        cmocka_unit_test_setup_teardown(a_job_whose_segments_retention_deleted_is_discarded, setup, teardown),
        cmocka_unit_test_setup_teardown(an_interrupted_committed_swap_is_finished_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(an_uncommitted_swap_is_rolled_back_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(the_run_step_works_on_another_thread_while_appends_go_on, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_run_leaves_the_log_as_it_was, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
