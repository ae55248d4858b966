/*
 * bench_rdkafka: produce-then-consume throughput of one eddy broker, driven
 * by an unmodified librdkafka client.
 *
 * It creates a fresh topic (admin CreateTopics), waits until metadata shows
 * it, then produces N values of S bytes with the chosen acks, codec and
 * linger, counting delivery reports; the produce phase is timed from the
 * first produce call to the end of the final flush, and each message's
 * delivery latency is the time from its accepted produce call to its
 * delivery report. It then reads the whole topic back with a new consumer
 * that assign()s every partition from the beginning (no group membership,
 * no commits), timed from the first message to the last (the wait from
 * assign() to the first message is reported on its own).
 *
 * With --latency it measures end-to-end latency instead: a consumer thread
 * reads the fresh topic while the producer sends at a fixed rate, and each
 * message's latency is the time from just before its produce call to the
 * consumer receiving it (both in this process, on one monotonic clock).
 *
 * Values are slices of a pool of pseudo-random words (text-like, so codecs
 * have something to do, without long repeats between messages); messages
 * carry no key and no headers. MB means 10^6 bytes of values, not wire or
 * disk bytes.
 *
 * Output: informational lines begin with '#'; each phase ends with one line
 * "RESULT phase=<produce|consume> key=value ..." whose keys never change, so
 * scripts can grep and split it. It measures; it asserts nothing beyond
 * "every message was delivered and read back": exit 0 when so, 1 on client
 * errors or missing messages, 2 on bad usage.
 */
#include <getopt.h>
#include <ctype.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POOL_MIN_BYTES  (32u << 20) /* large enough that slices in one batch rarely overlap */
#define MAX_VALUE_BYTES 1000000     /* below eddy's default message.max.bytes */
#define CONSUME_IDLE_S  30.0        /* give up when nothing arrives for this long */

typedef struct {
    const char *bootstrap;
    char topic[200];
    uint64_t messages;
    size_t size;
    int32_t partitions;
    const char *acks; /* as librdkafka spells it: 0, 1, all */
    const char *codec;
    int linger_ms;
    bool consume;
    bool delete_only;             /* delete the topic named by --topic and exit */
    const char *debug;            /* librdkafka debug contexts, or NULL */
    bool no_create;               /* the topic exists already (brokers without CreateTopics) */
    bool fill;                    /* fill partitions one after another instead of the partitioner */
    bool latency;                 /* end-to-end latency mode instead of produce-then-consume */
    int rate;                     /* --latency: messages per second */
    int duration_s;               /* --latency: seconds of timed sending */
    const char *consumer_set[16]; /* --consumer-set NAME=VALUE, applied to every consumer */
    int n_consumer_set;
} bench_opts_t;

typedef struct {
    uint64_t *sent_us;  /* per message: when its produce call was accepted */
    uint32_t *lat_us;   /* delivery latencies, in report order */
    uint64_t delivered; /* successful delivery reports */
    uint64_t failed;    /* failed delivery reports */
    char first_error[256];
} bench_produce_t;

/* librdkafka quietly sends batches uncompressed when the broker's ApiVersions
 * answer does not enable the codec's feature (LZ4 needs FindCoordinator v0,
 * ZSTD needs Produce v7 and Fetch v10). A benchmark that reported such a run
 * as "lz4" would be lying, so the producer always enables the "feature"
 * debug context (a few lines per connection) and watches for it. */
static char codec_feature[16]; /* "LZ4" for lz4: the name in "Disabling feature X" */
static atomic_bool codec_refused;
static bool debug_forward; /* user asked for --debug: show level-7 lines too */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_rdkafka: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
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

/* Text-like filler: words drawn at random from a small vocabulary. Random
 * bytes would make every codec look useless and constant bytes would make
 * them look magic; this sits in between, roughly like log lines. */
static uint8_t *make_pool(size_t len)
{
    // clang-format off
    static const char *const words[] = {
        "alpha", "bravo", "cargo", "delta", "ember", "fjord", "gamma", "harbor",
        "index", "joule", "kilo", "lumen", "metro", "nadir", "orbit", "pixel",
        "quartz", "radar", "sigma", "tundra", "umbra", "vector", "whisk", "xenon",
        "yield", "zephyr", "status", "200", "404", "user", "id", "=",
        "{", "}", "\"ts\":", "\"level\":", "info", "warn", "error", "request",
        "GET", "POST", "/api/v1/orders", "latency", "ms", "ok", "retry", "shard",
        "0x7f3a", "17", "42", "1024", "node-3", "eu-west", "session", "token",
        "commit", "offset", "topic", "batch", "queue", "flush", "ack", "sync",
    };
    // clang-format on
    const size_t nwords = sizeof(words) / sizeof(words[0]);
    uint8_t *pool = malloc(len);
    if (!pool)
        die("out of memory for a %zu-byte payload pool", len);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    size_t pos = 0;
    while (pos < len) {
        const char *w = words[xorshift64(&seed) % nwords];
        size_t wl = strlen(w);
        for (size_t i = 0; i < wl && pos < len; i++)
            pool[pos++] = (uint8_t)w[i];
        if (pos < len)
            pool[pos++] = ' ';
    }
    return pool;
}

static void set_conf(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die("config %s=%s: %s", name, value, err);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const char *p = strstr(buf, "Disabling feature ");
    if (p && codec_feature[0] && strcmp(p + strlen("Disabling feature "), codec_feature) == 0)
        atomic_store(&codec_refused, true);
    if (level < 7 || debug_forward)
        fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    bench_produce_t *st = opaque;
    if (msg->err) {
        if (st->failed++ == 0)
            snprintf(st->first_error, sizeof(st->first_error), "%s", rd_kafka_err2str(msg->err));
        return;
    }
    uint64_t i = (uint64_t)(uintptr_t)msg->_private;
    uint64_t lat = now_us() - st->sent_us[i];
    st->lat_us[st->delivered++] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
}

static rd_kafka_t *new_producer(const bench_opts_t *o, void *opaque,
                                void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *))
{
    char err[512], linger[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", "eddy-bench");
    set_conf(conf, "acks", o->acks);
    set_conf(conf, "compression.codec", o->codec);
    snprintf(linger, sizeof(linger), "%d", o->linger_ms);
    set_conf(conf, "linger.ms", linger);
    /* Idempotence would force acks=all; the point is to compare acks. */
    set_conf(conf, "enable.idempotence", "false");
    set_conf(conf, "message.timeout.ms", "120000");
    char debug[256];
    snprintf(debug, sizeof(debug), "feature%s%s", o->debug ? "," : "", o->debug ? o->debug : "");
    set_conf(conf, "debug", debug);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_conf_set_dr_msg_cb(conf, dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new(producer): %s", err);
    return rk;
}

static void create_topic(rd_kafka_t *rk, const bench_opts_t *o)
{
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, o->partitions, 1, err, sizeof(err));
    if (!nt)
        die("NewTopic: %s", err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (rd_kafka_AdminOptions_set_operation_timeout(ao, 10000, err, sizeof(err)))
        die("AdminOptions: %s", err);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    if (!ev)
        die("CreateTopics(%s): no answer within 20 s", o->topic);
    if (rd_kafka_event_error(ev))
        die("CreateTopics(%s): %s", o->topic, rd_kafka_event_error_string(ev));
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    if (cnt != 1 || rd_kafka_topic_result_error(tr[0]))
        die("CreateTopics(%s): %s", o->topic,
            cnt != 1 ? "wrong number of results" : rd_kafka_err2str(rd_kafka_topic_result_error(tr[0])));
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
}

/* Lets a script reclaim a finished run's disk and page cache before the next
 * run, without restarting the broker. */
static int delete_topic(const bench_opts_t *o)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", "eddy-bench");
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new: %s", err);
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(o->topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = 1;
    if (!ev) {
        fprintf(stderr, "bench_rdkafka: DeleteTopics(%s): no answer within 20 s\n", o->topic);
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "bench_rdkafka: DeleteTopics(%s): %s\n", o->topic, rd_kafka_event_error_string(ev));
    } else {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
        if (cnt == 1 && !rd_kafka_topic_result_error(tr[0]))
            rc = 0;
        else
            fprintf(stderr, "bench_rdkafka: DeleteTopics(%s): %s\n", o->topic,
                    cnt != 1 ? "wrong number of results" : rd_kafka_err2str(rd_kafka_topic_result_error(tr[0])));
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_destroy(rk);
    return rc;
}

/* Creation is only half the story: the producer must also see every
 * partition with a leader, or the first seconds of the timed phase would
 * measure metadata retries. */
static void wait_topic(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const bench_opts_t *o)
{
    uint64_t deadline = now_us() + 15u * 1000000u;
    while (now_us() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            bool ready = md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt == o->partitions;
            for (int i = 0; ready && i < md->topics[0].partition_cnt; i++)
                if (md->topics[0].partitions[i].err || md->topics[0].partitions[i].leader < 0)
                    ready = false;
            rd_kafka_metadata_destroy(md);
            if (ready)
                return;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    die("topic %s did not show %" PRId32 " led partitions within 15 s", o->topic, o->partitions);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in milliseconds. */
static double pct_ms(const uint32_t *sorted, uint64_t n, unsigned pct)
{
    if (n == 0)
        return 0.0;
    uint64_t rank = (n * pct + 99) / 100; /* ceil(n * pct / 100), 1-based */
    if (rank == 0)
        rank = 1;
    return (double)sorted[rank - 1] / 1000.0;
}

static uint64_t produce_phase(const bench_opts_t *o, uint8_t *pool, size_t pool_len)
{
    bench_produce_t st = {0};
    st.sent_us = calloc(o->messages, sizeof(*st.sent_us));
    st.lat_us = calloc(o->messages, sizeof(*st.lat_us));
    if (!st.sent_us || !st.lat_us)
        die("out of memory for %" PRIu64 " latency slots", o->messages);

    rd_kafka_t *rk = new_producer(o, &st, dr_cb);
    if (!o->no_create)
        create_topic(rk, o);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    wait_topic(rk, rkt, o);

    uint64_t seed = 0x2545f4914f6cdd1du;
    uint64_t start = now_us();
    for (uint64_t i = 0; i < o->messages; i++) {
        uint8_t *val = pool + xorshift64(&seed) % (pool_len - o->size + 1);
        /* --fill: partition after partition, so each partition holds a
         * known share (perf.sh keeps each under the peer's retention) and
         * batches stay as large as with a single partition. */
        int32_t part = o->fill ? (int32_t)(i * (uint64_t)o->partitions / o->messages) : RD_KAFKA_PARTITION_UA;
        for (;;) {
            st.sent_us[i] = now_us();
            /* Flags 0: librdkafka neither copies nor frees the value; the
             * pool outlives the producer. */
            rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(part),
                                                        RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_VALUE(val, o->size),
                                                        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)i), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                die("produce: %s", rd_kafka_err2str(err));
            rd_kafka_poll(rk, 5); /* local queue full: let deliveries drain it */
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 180000);
    uint64_t end = now_us();
    if (ferr)
        die("flush: %s (%d messages still queued)", rd_kafka_err2str(ferr), rd_kafka_outq_len(rk));

    double secs = (double)(end - start) / 1e6;
    qsort(st.lat_us, st.delivered, sizeof(*st.lat_us), cmp_u32);
    double mb = (double)st.delivered * (double)o->size / 1e6;
    printf("RESULT phase=produce topic=%s messages=%" PRIu64 " size=%zu partitions=%" PRId32
           " acks=%s compression=%s codec_used=%s linger_ms=%d secs=%.3f msgs_per_s=%.0f"
           " mb_per_s=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f failed=%" PRIu64 "\n",
           o->topic, st.delivered, o->size, o->partitions, o->acks, o->codec,
           atomic_load(&codec_refused) ? "none" : o->codec, o->linger_ms, secs, (double)st.delivered / secs, mb / secs,
           pct_ms(st.lat_us, st.delivered, 50), pct_ms(st.lat_us, st.delivered, 99),
           pct_ms(st.lat_us, st.delivered, 100), st.failed);
    fflush(stdout);
    if (st.failed)
        fprintf(stderr, "bench_rdkafka: %" PRIu64 " deliveries failed, first: %s\n", st.failed, st.first_error);

    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(st.sent_us);
    free(st.lat_us);
    return st.delivered;
}

static rd_kafka_t *new_consumer(const bench_opts_t *o)
{
    char err[512], group[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", "eddy-bench");
    /* librdkafka wants a group.id even for assign(); nothing joins it. */
    snprintf(group, sizeof(group), "bench-%s", o->topic);
    set_conf(conf, "group.id", group);
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "enable.auto.offset.store", "false");
    set_conf(conf, "auto.offset.reset", "earliest");
    if (o->debug)
        set_conf(conf, "debug", o->debug);
    for (int i = 0; i < o->n_consumer_set; i++) {
        char name[128];
        const char *eq = strchr(o->consumer_set[i], '=');
        size_t len = eq ? (size_t)(eq - o->consumer_set[i]) : 0;
        if (!eq || len == 0 || len >= sizeof(name))
            die("--consumer-set wants NAME=VALUE, got '%s'", o->consumer_set[i]);
        memcpy(name, o->consumer_set[i], len);
        name[len] = '\0';
        set_conf(conf, name, eq + 1);
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new(consumer): %s", err);
    rd_kafka_poll_set_consumer(rk);
    /* Assigning before the leader is known parks the partition on
     * librdkafka's 500 ms offset-query retry timer, which would be timed as
     * broker latency; look the topic up first. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    wait_topic(rk, rkt, o);
    rd_kafka_topic_destroy(rkt);
    return rk;
}

static int consume_phase(const bench_opts_t *o, uint64_t expect)
{
    rd_kafka_t *rk = new_consumer(o);

    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(o->partitions);
    for (int32_t p = 0; p < o->partitions; p++)
        rd_kafka_topic_partition_list_add(parts, o->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;

    uint64_t start = now_us(), first = 0, last = start, got = 0, bytes = 0;
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    if (aerr)
        die("assign: %s", rd_kafka_err2str(aerr));
    while (got < expect) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        uint64_t t = now_us();
        if (!msg) {
            if ((double)(t - last) / 1e6 > CONSUME_IDLE_S)
                break;
            continue;
        }
        if (msg->err) {
            fprintf(stderr, "bench_rdkafka: consume: %s\n", rd_kafka_message_errstr(msg));
        } else {
            if (got == 0)
                first = t;
            got++;
            bytes += msg->len;
            last = t;
        }
        rd_kafka_message_destroy(msg);
    }
    /* Timed from the first message, not from assign(): librdkafka sometimes
     * still parks a fresh assignment on its 500 ms offset-query timer (the
     * leader mapping lands after our metadata call returns), and that would
     * swamp a sub-second phase. first_ms reports the start-up separately. */
    double secs = (double)(last - (got > 1 ? first : start)) / 1e6;
    if (secs <= 0)
        secs = 1e-6;
    printf("RESULT phase=consume topic=%s messages=%" PRIu64 " size=%zu partitions=%" PRId32
           " secs=%.3f msgs_per_s=%.0f mb_per_s=%.1f first_ms=%.1f missing=%" PRIu64 "\n",
           o->topic, got, o->size, o->partitions, secs, (double)got / secs, (double)bytes / 1e6 / secs,
           got ? (double)(first - start) / 1000.0 : 0.0, expect - got);
    fflush(stdout);

    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    /* No rd_kafka_destroy: librdkafka 2.0.2 sometimes deadlocks there after
     * a consumer (its main and broker threads waiting on one mutex), which
     * hung perf.sh until its timeout. The process exits right after this
     * phase, and exit() does not wait for librdkafka's threads. */
    return got == expect ? 0 : 1;
}

/* ---- --latency: end-to-end latency at a fixed rate --------------------- */

/* Each latency message begins with this header; the rest is pool filler.
 * The magic lets the consumer ignore anything it did not send (a broker
 * that answers Fetch with canned data, like bench_ceiling, may hand back
 * records this run never produced). */
#define LAT_MAGIC      0x45444c54u /* "EDLT" */
#define LAT_HEADER     20u         /* magic u32, seq u64, sent_us u64 */
#define LAT_WARMUP_SEQ UINT64_MAX
#define LAT_DRAIN_S    10.0 /* wait this long after the last send for stragglers */

typedef struct {
    rd_kafka_t *consumer;
    uint64_t n;       /* timed messages */
    uint32_t *lat_us; /* per seq; UINT32_MAX = not received yet */
    atomic_uint_fast64_t received;
    atomic_uint_fast64_t warmups; /* warm-up messages received */
    atomic_uint_fast64_t foreign; /* records without our header */
    atomic_bool stop;
} bench_latency_t;

static void lat_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    uint64_t *failed = opaque;
    if (msg->err && (*failed)++ == 0)
        fprintf(stderr, "bench_rdkafka: latency delivery failed: %s\n", rd_kafka_err2str(msg->err));
}

static void *lat_consumer_main(void *arg)
{
    bench_latency_t *lt = arg;
    while (!atomic_load(&lt->stop)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(lt->consumer, 50);
        uint64_t t = now_us();
        if (!msg)
            continue;
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "bench_rdkafka: latency consume: %s\n", rd_kafka_message_errstr(msg));
        } else if (msg->len >= LAT_HEADER) {
            uint32_t magic;
            uint64_t seq, sent;
            memcpy(&magic, msg->payload, 4);
            memcpy(&seq, (const uint8_t *)msg->payload + 4, 8);
            memcpy(&sent, (const uint8_t *)msg->payload + 12, 8);
            if (magic != LAT_MAGIC) {
                atomic_fetch_add(&lt->foreign, 1);
            } else if (seq == LAT_WARMUP_SEQ) {
                atomic_fetch_add(&lt->warmups, 1);
            } else if (seq < lt->n && lt->lat_us[seq] == UINT32_MAX && t >= sent) {
                uint64_t lat = t - sent;
                lt->lat_us[seq] = lat >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)lat;
                atomic_fetch_add(&lt->received, 1);
            }
        } else {
            atomic_fetch_add(&lt->foreign, 1);
        }
        rd_kafka_message_destroy(msg);
    }
    return NULL;
}

static void lat_send(rd_kafka_t *rk, rd_kafka_topic_t *rkt, uint8_t *val, size_t size, uint64_t seq)
{
    uint32_t magic = LAT_MAGIC;
    memcpy(val, &magic, 4);
    memcpy(val + 4, &seq, 8);
    for (;;) {
        uint64_t t = now_us();
        memcpy(val + 12, &t, 8);
        rd_kafka_resp_err_t err =
            rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(val, size), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            die("produce: %s", rd_kafka_err2str(err));
        rd_kafka_poll(rk, 1);
    }
}

/* Nearest-rank percentile (q in (0, 1]) of a sorted array, in microseconds. */
static uint32_t pct_us(const uint32_t *sorted, uint64_t n, double q)
{
    if (n == 0)
        return 0;
    uint64_t rank = (uint64_t)((double)n * q + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static int latency_phase(const bench_opts_t *o, const uint8_t *pool, size_t pool_len)
{
    if (o->size < LAT_HEADER)
        die("--latency needs --size of at least %u", LAT_HEADER);
    bench_latency_t lt = {.n = (uint64_t)o->rate * (uint64_t)o->duration_s};
    lt.lat_us = malloc(lt.n * sizeof(*lt.lat_us));
    uint8_t *val = malloc(o->size);
    if (!lt.lat_us || !val)
        die("out of memory for %" PRIu64 " latency slots", lt.n);
    memset(lt.lat_us, 0xff, lt.n * sizeof(*lt.lat_us));
    memcpy(val, pool + (pool_len - o->size) / 2, o->size);

    uint64_t failed = 0;
    rd_kafka_t *prod = new_producer(o, &failed, lat_dr_cb);
    if (!o->no_create)
        create_topic(prod, o);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(prod, o->topic, NULL);
    wait_topic(prod, rkt, o);

    lt.consumer = new_consumer(o);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, o->topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t aerr = rd_kafka_assign(lt.consumer, parts);
    if (aerr)
        die("assign: %s", rd_kafka_err2str(aerr));
    pthread_t thr;
    if (pthread_create(&thr, NULL, lat_consumer_main, &lt) != 0)
        die("cannot start the consumer thread");

    /* Warm up until a message has gone all the way round, so connection
     * set-up and the first offset lookup are not timed. */
    uint64_t warm_start = now_us(), warm_sent = 0;
    while (atomic_load(&lt.warmups) == 0) {
        if (now_us() - warm_start > 20u * 1000000u)
            die("latency warm-up: nothing came back within 20 s");
        lat_send(prod, rkt, val, o->size, LAT_WARMUP_SEQ);
        warm_sent++;
        rd_kafka_poll(prod, 20);
    }
    double warm_ms = (double)(now_us() - warm_start) / 1000.0;

    uint64_t interval_ns = 1000000000u / (uint64_t)o->rate;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    uint64_t start = now_us();
    for (uint64_t i = 0; i < lt.n; i++) {
        lat_send(prod, rkt, val, o->size, i);
        rd_kafka_poll(prod, 0);
        next.tv_nsec += (long)interval_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0) {
        }
    }
    double secs = (double)(now_us() - start) / 1e6;
    rd_kafka_flush(prod, 30000);
    uint64_t last_got = atomic_load(&lt.received), last_t = now_us();
    while (atomic_load(&lt.received) < lt.n) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t got = atomic_load(&lt.received);
        if (got != last_got) {
            last_got = got;
            last_t = now_us();
        } else if ((double)(now_us() - last_t) / 1e6 > LAT_DRAIN_S) {
            break;
        }
    }
    atomic_store(&lt.stop, true);
    pthread_join(thr, NULL);

    uint64_t got = 0;
    for (uint64_t i = 0; i < lt.n; i++)
        if (lt.lat_us[i] != UINT32_MAX)
            lt.lat_us[got++] = lt.lat_us[i];
    qsort(lt.lat_us, got, sizeof(*lt.lat_us), cmp_u32);
    printf("# latency warm-up: %" PRIu64 " messages, %.1f ms until the first came back; %" PRIu64
           " foreign records ignored\n",
           warm_sent, warm_ms, (uint64_t)atomic_load(&lt.foreign));
    printf("RESULT phase=latency topic=%s messages=%" PRIu64 " size=%zu acks=%s linger_ms=%d rate=%d secs=%.3f"
           " p50_us=%" PRIu32 " p99_us=%" PRIu32 " p999_us=%" PRIu32 " max_us=%" PRIu32 " lost=%" PRIu64
           " failed=%" PRIu64 "\n",
           o->topic, got, o->size, o->acks, o->linger_ms, o->rate, secs, pct_us(lt.lat_us, got, 0.50),
           pct_us(lt.lat_us, got, 0.99), pct_us(lt.lat_us, got, 0.999), got ? lt.lat_us[got - 1] : 0, lt.n - got,
           failed);
    fflush(stdout);

    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(lt.consumer);
    /* Not destroyed: see consume_phase. */
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(prod);
    free(lt.lat_us);
    free(val);
    return got == lt.n && failed == 0 ? 0 : 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_rdkafka -b HOST:PORT [options]\n"
            "  -b, --bootstrap HOST:PORT   broker to use (required)\n"
            "  -t, --topic NAME            topic to create (default bench-<pid>-<time>)\n"
            "  -n, --messages N            messages to produce (default 1000000)\n"
            "  -s, --size BYTES            value size, 1..%d (default 1024)\n"
            "  -p, --partitions N          partitions of the new topic (default 1)\n"
            "  -a, --acks 0|1|all          producer acks (default 1)\n"
            "  -z, --compression CODEC     none|gzip|snappy|lz4|zstd (default none)\n"
            "  -l, --linger MS             producer linger.ms (default 5)\n"
            "      --no-consume            skip the consume phase\n"
            "      --delete-only           delete the topic given by --topic, then exit\n"
            "      --debug CONTEXTS        librdkafka debug contexts (e.g. fetch,protocol), to stderr\n"
            "      --no-create             the topic exists: skip CreateTopics, only wait for it\n"
            "      --fill                  fill partitions one after another (default: librdkafka's partitioner)\n"
            "      --latency               measure end-to-end latency instead (one partition, partition 0)\n"
            "      --rate N                --latency: messages per second (default 1000)\n"
            "      --duration S            --latency: seconds of timed sending (default 10)\n"
            "      --consumer-set K=V      set librdkafka consumer property K to V (repeatable)\n",
            MAX_VALUE_BYTES);
}

static long long parse_num(const char *what, const char *s, long long min, long long max)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < min || v > max) {
        fprintf(stderr, "bench_rdkafka: %s must be an integer in [%lld, %lld], got '%s'\n", what, min, max, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    bench_opts_t o = {
        .messages = 1000000,
        .size = 1024,
        .partitions = 1,
        .acks = "1",
        .codec = "none",
        .linger_ms = 5,
        .consume = true,
        .rate = 1000,
        .duration_s = 10,
    };
    static const struct option longopts[] = {
        {"bootstrap", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"messages", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"partitions", required_argument, NULL, 'p'},
        {"acks", required_argument, NULL, 'a'},
        {"compression", required_argument, NULL, 'z'},
        {"linger", required_argument, NULL, 'l'},
        {"no-consume", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {"debug", required_argument, NULL, 'D'},
        {"delete-only", no_argument, NULL, 'X'},
        {"no-create", no_argument, NULL, 'N'},
        {"fill", no_argument, NULL, 'F'},
        {"latency", no_argument, NULL, 'L'},
        {"rate", required_argument, NULL, 'R'},
        {"duration", required_argument, NULL, 'T'},
        {"consumer-set", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "b:t:n:s:p:a:z:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': o.bootstrap = optarg; break;
        case 't':
            if (strlen(optarg) >= sizeof(o.topic))
                die("topic name too long");
            snprintf(o.topic, sizeof(o.topic), "%s", optarg);
            break;
        case 'n': o.messages = (uint64_t)parse_num("--messages", optarg, 1, 1000000000); break;
        case 's': o.size = (size_t)parse_num("--size", optarg, 1, MAX_VALUE_BYTES); break;
        case 'p': o.partitions = (int32_t)parse_num("--partitions", optarg, 1, 10000); break;
        case 'a':
            if (strcmp(optarg, "0") && strcmp(optarg, "1") && strcmp(optarg, "all") && strcmp(optarg, "-1")) {
                fprintf(stderr, "bench_rdkafka: --acks must be 0, 1 or all\n");
                return 2;
            }
            o.acks = strcmp(optarg, "-1") == 0 ? "all" : optarg;
            break;
        case 'z': o.codec = optarg; break;
        case 'l': o.linger_ms = (int)parse_num("--linger", optarg, 0, 900000); break;
        case 'C': o.consume = false; break;
        case 'X': o.delete_only = true; break;
        case 'N': o.no_create = true; break;
        case 'F': o.fill = true; break;
        case 'L': o.latency = true; break;
        case 'R': o.rate = (int)parse_num("--rate", optarg, 1, 1000000); break;
        case 'T': o.duration_s = (int)parse_num("--duration", optarg, 1, 3600); break;
        case 'S':
            if (o.n_consumer_set == (int)(sizeof(o.consumer_set) / sizeof(o.consumer_set[0])))
                die("too many --consumer-set options");
            o.consumer_set[o.n_consumer_set++] = optarg;
            break;
        case 'D':
            o.debug = optarg;
            debug_forward = true;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o.bootstrap || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (o.delete_only) {
        if (!o.topic[0]) {
            fprintf(stderr, "bench_rdkafka: --delete-only needs --topic\n");
            return 2;
        }
        return delete_topic(&o);
    }
    if (!o.topic[0])
        snprintf(o.topic, sizeof(o.topic), "bench-%ld-%lld", (long)getpid(), (long long)time(NULL));

    for (size_t i = 0; o.codec[i] && i + 1 < sizeof(codec_feature); i++)
        codec_feature[i] = (char)toupper((unsigned char)o.codec[i]);

    size_t pool_len = o.size * 4 > POOL_MIN_BYTES ? o.size * 4 : POOL_MIN_BYTES;
    uint8_t *pool = make_pool(pool_len);
    printf("# bench_rdkafka librdkafka=%s bootstrap=%s topic=%s\n", rd_kafka_version_str(), o.bootstrap, o.topic);
    fflush(stdout);

    if (o.latency) {
        int lrc = latency_phase(&o, pool, pool_len);
        free(pool);
        return lrc;
    }
    uint64_t delivered = produce_phase(&o, pool, pool_len);
    int rc = delivered == o.messages ? 0 : 1;
    if (o.consume && consume_phase(&o, delivered) != 0)
        rc = 1;
    free(pool);
    return rc;
}
