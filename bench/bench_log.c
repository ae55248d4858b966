/*
 * bench_log: compaction throughput of one partition log, measured in-process
 * against the eddy_log library (no broker, no network).
 *
 * It creates a compacted partition in a fresh directory, appends `records`
 * records spread uniformly at random over `keys` keys, in batches built with
 * proto_batch_build (optionally compressed), flushes, optionally drops the
 * segment files from the page cache, and times one compaction pass: prepare,
 * run and complete (log/log.h), the run step being the one a broker puts on
 * its thread pool. Sizes are chosen so that the data spans several segments:
 * compaction never touches the active segment, so the figures count only the
 * sealed segments the job captured (its stats say how many bytes and
 * records that was).
 *
 * It also reports the append rate of building the log (log_partition_append
 * of ready-made batches, no fsync), which is the storage layer's ceiling
 * without network, parsing or fsync.
 *
 * Output: informational lines begin with '#'; the run ends with one line
 * "RESULT phase=compact key=value ..." whose keys never change. It measures;
 * it checks nothing beyond "the calls succeeded and the pass removed
 * records": exit 0 then, 1 on an error, 2 on bad usage. The directory given
 * with --dir is created and removed again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/diag.h"
#include "log/log.h"
#include "protocol/record_batch.h"

#define KEY_BYTES 12 /* "k" + 11 digits: every key the same length */

typedef struct {
    const char *dir;
    int64_t keys;
    int64_t records;
    int32_t value_size;
    int32_t batch_records;
    int64_t segment_bytes;
    proto_codec_t codec;
    const char *codec_name;
    int tombstone_pct; /* share of records written as tombstones (null value) */
    bool cold;         /* drop the segments from the page cache before compacting */
    bool keep;         /* leave the directory behind */
} bench_opts_t;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_log: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static int64_t parse_num(const char *name, const char *s, int64_t min, int64_t max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "bench_log: %s must be an integer in [%" PRId64 ", %" PRId64 "]\n", name, min, max);
        exit(2);
    }
    return v;
}

static void usage(FILE *f)
{
    fputs("usage: bench_log --dir DIR [--keys N] [--records N] [--value-size BYTES] [--batch RECORDS]\n"
          "                 [--segment-bytes BYTES] [--codec none|gzip|snappy|lz4|zstd]\n"
          "                 [--tombstones PERCENT] [--cold] [--keep]\n"
          "Builds a compacted partition log under DIR and times one compaction pass.\n",
          f);
}

/* Text-like values (a small vocabulary, like bench_rdkafka's) so codecs have work to do. */
static uint8_t *make_pool(size_t len)
{
    static const char *const words[] = {
        "alpha", "bravo",  "cargo", "delta", "ember",  "fjord", "gamma", "harbor", "index",  "joule", "kilo",
        "lumen", "metro",  "nadir", "orbit", "pixel",  "quartz", "radar", "sigma", "tundra", "umbra", "vector",
        "whisk", "xenon",  "yield", "zephyr", "status", "200",  "404",   "user",  "id",     "=",     "ok",
    };
    const size_t nwords = sizeof(words) / sizeof(words[0]);
    uint8_t *pool = malloc(len);
    if (!pool)
        die("out of memory for a %zu-byte value pool", len);
    uint64_t seed = 0x2545f4914f6cdd1du;
    size_t pos = 0;
    while (pos < len) {
        const char *w = words[xorshift64(&seed) % nwords];
        for (size_t i = 0; w[i] && pos < len; i++)
            pool[pos++] = (uint8_t)w[i];
        if (pos < len)
            pool[pos++] = ' ';
    }
    return pool;
}

/* Asks the kernel to forget the cached pages of every file in dir (already fsynced). */
static void drop_cache(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        die("opendir %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        (void)fdatasync(fd);
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    closedir(d);
}

/* Removes dir and the files directly in it (a partition directory is flat). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
            (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(dir);
}

static bool parse_codec(const char *s, proto_codec_t *out)
{
    static const struct {
        const char *name;
        proto_codec_t codec;
    } codecs[] = {
        {"none", PROTO_CODEC_NONE}, {"gzip", PROTO_CODEC_GZIP}, {"snappy", PROTO_CODEC_SNAPPY},
        {"lz4", PROTO_CODEC_LZ4},   {"zstd", PROTO_CODEC_ZSTD},
    };
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        if (strcmp(s, codecs[i].name) == 0) {
            *out = codecs[i].codec;
            return true;
        }
    }
    return false;
}

static void parse_opts(int argc, char **argv, bench_opts_t *o)
{
    *o = (bench_opts_t){
        .keys = 100000,
        .records = 1000000,
        .value_size = 100,
        .batch_records = 200,
        .segment_bytes = 16 << 20,
        .codec = PROTO_CODEC_NONE,
        .codec_name = "none",
    };
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"keys", required_argument, NULL, 'k'},
        {"records", required_argument, NULL, 'n'},
        {"value-size", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'},
        {"segment-bytes", required_argument, NULL, 'S'},
        {"codec", required_argument, NULL, 'z'},
        {"tombstones", required_argument, NULL, 'T'},
        {"cold", no_argument, NULL, 'c'},
        {"keep", no_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "d:k:n:s:b:z:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->dir = optarg; break;
        case 'k': o->keys = parse_num("--keys", optarg, 1, 99999999999); break;
        case 'n': o->records = parse_num("--records", optarg, 1, 1000000000); break;
        case 's': o->value_size = (int32_t)parse_num("--value-size", optarg, 0, 1000000); break;
        case 'b': o->batch_records = (int32_t)parse_num("--batch", optarg, 1, 100000); break;
        case 'S': o->segment_bytes = parse_num("--segment-bytes", optarg, 1 << 20, INT32_MAX); break;
        case 'z':
            if (!parse_codec(optarg, &o->codec)) {
                fprintf(stderr, "bench_log: unknown codec %s\n", optarg);
                exit(2);
            }
            o->codec_name = optarg;
            break;
        case 'T': o->tombstone_pct = (int)parse_num("--tombstones", optarg, 0, 100); break;
        case 'c': o->cold = true; break;
        case 'K': o->keep = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (!o->dir || optind != argc) {
        usage(stderr);
        exit(2);
    }
}

/* "k" and the key number in 11 decimal digits, no terminator. */
static void format_key(char *k, uint64_t v)
{
    k[0] = 'k';
    for (int i = KEY_BYTES - 1; i >= 1; i--, v /= 10)
        k[i] = (char)('0' + v % 10);
}

/*
 * Appends o->records records in batches; returns the value bytes written
 * and sets *secs to the time spent in log_partition_append alone.
 */
static int64_t build_log(log_partition_t *p, const bench_opts_t *o, double *secs)
{
    size_t pool_len = 4u << 20;
    if (pool_len < (size_t)o->value_size * 4)
        pool_len = (size_t)o->value_size * 4;
    uint8_t *pool = make_pool(pool_len);
    char *keys = malloc((size_t)o->batch_records * KEY_BYTES);
    proto_record_spec_t *recs = calloc((size_t)o->batch_records, sizeof(*recs));
    if (!keys || !recs)
        die("out of memory");
    buf_t batch;
    buf_init(&batch);
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.codec = o->codec;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    int64_t value_bytes = 0;
    double append_s = 0;
    for (int64_t done = 0; done < o->records;) {
        int n = (int)(o->records - done < o->batch_records ? o->records - done : o->batch_records);
        for (int i = 0; i < n; i++) {
            char *k = keys + (size_t)i * KEY_BYTES;
            format_key(k, xorshift64(&seed) % (uint64_t)o->keys);
            recs[i].key.ptr = (const uint8_t *)k;
            recs[i].key.len = KEY_BYTES;
            recs[i].timestamp_delta = 0;
            if (o->tombstone_pct && (int)(xorshift64(&seed) % 100) < o->tombstone_pct) {
                recs[i].value.ptr = NULL;
                recs[i].value.len = -1;
            } else {
                size_t at = xorshift64(&seed) % (pool_len - (size_t)o->value_size + 1);
                recs[i].value.ptr = pool + at;
                recs[i].value.len = o->value_size;
                value_bytes += o->value_size;
            }
        }
        spec.base_timestamp = clock_wall_ms();
        batch.len = 0;
        int rc = proto_batch_build(&batch, &spec, recs, n);
        if (rc != 0)
            die("proto_batch_build: %d", rc);
        double t0 = now_s();
        int64_t base;
        rc = log_partition_append(p, batch.data, batch.len, 0, &base);
        append_s += now_s() - t0;
        if (rc != 0)
            die("log_partition_append: %s", log_strerror(rc));
        done += n;
    }
    buf_fini(&batch);
    free(recs);
    free(keys);
    free(pool);
    *secs = append_s;
    return value_bytes;
}

int main(int argc, char **argv)
{
    bench_opts_t o;
    parse_opts(argc, argv, &o);
    diag_set_level(DIAG_WARN);

    char dir[4096];
    if (snprintf(dir, sizeof(dir), "%s/bench-compact-0", o.dir) >= (int)sizeof(dir))
        die("--dir too long");
    if (mkdir(o.dir, 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", o.dir, strerror(errno));
    remove_dir(dir);

    log_config_t cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = o.segment_bytes;
    cfg.compact = 1;
    cfg.min_cleanable_dirty_ratio = 0.0; /* any dirty data is worth a pass */
    cfg.min_compaction_lag_ms = 0;
    log_partition_t *p;
    int rc = log_partition_open(dir, &cfg, &p);
    if (rc != 0)
        die("log_partition_open %s: %s", dir, log_strerror(rc));

    printf("# bench_log keys=%" PRId64 " records=%" PRId64 " value_size=%d batch=%d segment_bytes=%" PRId64
           " codec=%s tombstones=%d%% cache=%s\n",
           o.keys, o.records, o.value_size, o.batch_records, o.segment_bytes, o.codec_name, o.tombstone_pct,
           o.cold ? "cold" : "warm");
    double append_s;
    int64_t value_bytes = build_log(p, &o, &append_s);
    int64_t log_bytes = log_partition_size_bytes(p);
    if ((rc = log_partition_flush(p)) != 0)
        die("log_partition_flush: %s", log_strerror(rc));
    printf("# built %" PRId64 " records, %.1f MB of values, %.1f MB of log in %zu segments; appends %.3f s\n",
           o.records, (double)value_bytes / 1e6, (double)log_bytes / 1e6, log_partition_segment_count(p), append_s);
    if (o.cold)
        drop_cache(dir);

    log_compact_job_t job;
    memset(&job, 0, sizeof(job));
    double t0 = now_s();
    rc = log_partition_compact_prepare(p, clock_wall_ms(), &job);
    double t1 = now_s();
    if (rc < 0)
        die("log_partition_compact_prepare: %s", log_strerror(rc));
    if (rc == 0)
        die("log_partition_compact_prepare found nothing to clean (is the log a single segment?)");
    rc = log_compact_job_run(&job);
    double t2 = now_s();
    rc = log_partition_compact_complete(p, &job, rc);
    double t3 = now_s();
    if (rc != 0)
        die("compaction: %s", log_strerror(rc));
    const log_compact_stats_t *st = &job.stats;
    double run_s = t2 - t1;
    double total_s = t3 - t0;
    printf("# cleaned [%" PRId64 ", %" PRId64 "): %zu segments, %zu rewritten, %zu emptied; "
           "%.1f MB -> %.1f MB; %" PRId64 " of %" PRId64 " records removed (%" PRId64 " tombstones)\n",
           job.first_offset, job.end_offset, st->segments, st->segments_rewritten, st->segments_emptied,
           (double)st->bytes_before / 1e6, (double)st->bytes_after / 1e6, st->records_removed, st->records_read,
           st->tombstones_removed);
    printf("RESULT phase=compact keys=%" PRId64 " records=%" PRId64 " value_size=%d codec=%s cache=%s"
           " segments=%zu records_read=%" PRId64 " records_removed=%" PRId64 " mb_before=%.1f mb_after=%.1f"
           " prepare_ms=%.2f run_s=%.3f complete_ms=%.2f total_s=%.3f mb_per_s=%.1f records_per_s=%.0f"
           " append_mb_per_s=%.1f\n",
           o.keys, o.records, o.value_size, o.codec_name, o.cold ? "cold" : "warm", st->segments,
           st->records_read, st->records_removed, (double)st->bytes_before / 1e6, (double)st->bytes_after / 1e6,
           (t1 - t0) * 1e3, run_s, (t3 - t2) * 1e3, total_s, total_s > 0 ? (double)st->bytes_before / 1e6 / total_s : 0,
           total_s > 0 ? (double)st->records_read / total_s : 0, append_s > 0 ? (double)log_bytes / 1e6 / append_s : 0);
    bool removed = st->records_removed > 0;
    if (o.keep) {
        log_partition_close(p);
        printf("# kept %s\n", dir);
    } else if ((rc = log_partition_remove(p)) != 0) {
        fprintf(stderr, "bench_log: removing %s: %s\n", dir, log_strerror(rc));
    }
    if (!o.keep)
        (void)rmdir(o.dir); /* only if we left it empty */
    if (!removed)
        die("the pass removed no records");
    return 0;
}
