/*
 * compat_rdkafka_roundtrip: drives an eddy broker with an unmodified
 * librdkafka client and checks that what comes back is exactly what went in.
 *
 * It creates a topic (admin CreateTopics, or broker auto-create), produces N
 * keyed messages with acks=all, lingering so that batches hold thousands of
 * records and compressing them with the chosen codec, and records each
 * message's partition and offset from its delivery report. It then consumes
 * every partition from the beginning with rd_kafka_assign() (no group
 * membership, no commits) and checks: every message arrives exactly once,
 * at the partition and offset its delivery report gave; offsets in each
 * partition are contiguous from 0 in produce order; keys, values and headers
 * are byte-exact; the watermarks match the counts.
 *
 * It does not exercise consumer groups or transactions (eddy has neither
 * yet). It exits 0 on success, 1 on any mismatch or client error (with a
 * message on stderr saying what differed), 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_VALUE_LEN 512
#define KEY_FMT       "key-%08" PRIu32
#define HEADER_EVERY  97 /* every 97th message carries a header */

typedef struct {
    const char *bootstrap;
    char topic[200];
    uint32_t messages;
    int32_t partitions;
    const char *codec;
    bool idempotent;
    bool auto_create;
} opts_t;

/* What the delivery reports said about each message. */
typedef struct {
    int32_t *partition;
    int64_t *offset;
    uint8_t *delivered;
    uint32_t delivered_cnt;
    uint32_t failed_cnt;
    bool compression_refused;
    int64_t batchcnt_max; /* largest records-per-batch seen in statistics */
    int stats_seen;
} produce_state_t;

static int fail_count;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("MISMATCH: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fail_count++;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ERROR: ", stderr);
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

/* Deterministic content for message i: its index as text, then bytes from a
 * per-message xorshift (incompressible, with zero bytes), then a letter run
 * (compressible). Lengths vary from 16 to MAX_VALUE_LEN - 1. */
static size_t make_value(uint32_t i, uint8_t *buf)
{
    size_t len = 16 + (size_t)((i * 37u) % (MAX_VALUE_LEN - 16));
    int n = snprintf((char *)buf, len, "v%08" PRIu32 ":", i);
    uint32_t x = i * 2654435761u + 1;
    for (size_t j = (size_t)n; j < len; j++) {
        if (j < len / 2) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[j] = (uint8_t)x;
        } else {
            buf[j] = (uint8_t)('a' + (i + j) % 26);
        }
    }
    return len;
}

static void set_conf(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK)
        die("config %s=%s: %s", name, value, err);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    produce_state_t *st = rd_kafka_opaque(rk);
    fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
    /* librdkafka silently sends uncompressed batches when the broker's
     * ApiVersions ranges do not enable the codec; that would make the codec
     * part of this test vacuous. */
    if (st && strstr(buf, "not compressing"))
        st->compression_refused = true;
}

/* Statistics JSON: topics.<t>.batchcnt is a histogram of records per
 * produced batch; keep the largest "max" seen. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    produce_state_t *st = opaque;
    const char *p = strstr(json, "\"batchcnt\":");
    if (p) {
        const char *m = strstr(p, "\"max\":");
        if (m) {
            int64_t v = strtoll(m + 6, NULL, 10);
            if (v > st->batchcnt_max)
                st->batchcnt_max = v;
        }
    }
    st->stats_seen++;
    return 0; /* librdkafka frees json */
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    produce_state_t *st = opaque;
    uint32_t i = (uint32_t)(uintptr_t)msg->_private;
    if (msg->err) {
        if (st->failed_cnt < 10)
            fprintf(stderr, "delivery of message %" PRIu32 " failed: %s\n", i, rd_kafka_err2str(msg->err));
        st->failed_cnt++;
        return;
    }
    if (st->delivered[i]) {
        fail("message %" PRIu32 " got two delivery reports", i);
        return;
    }
    st->delivered[i] = 1;
    st->delivered_cnt++;
    st->partition[i] = msg->partition;
    st->offset[i] = msg->offset;
}

static rd_kafka_t *new_producer(const opts_t *o, produce_state_t *st)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", "eddy-compat-roundtrip");
    set_conf(conf, "request.required.acks", "-1");
    set_conf(conf, "enable.idempotence", o->idempotent ? "true" : "false");
    set_conf(conf, "compression.codec", o->codec);
    set_conf(conf, "linger.ms", "50");
    set_conf(conf, "batch.num.messages", "10000");
    set_conf(conf, "batch.size", "1000000");
    set_conf(conf, "queue.buffering.max.messages", "1000000");
    set_conf(conf, "queue.buffering.max.kbytes", "1048576");
    set_conf(conf, "message.timeout.ms", "60000");
    set_conf(conf, "statistics.interval.ms", "100");
    rd_kafka_conf_set_opaque(conf, st);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        die("rd_kafka_new(producer): %s", err);
    return rk;
}

/* Waits until metadata shows the topic with every partition led by a broker;
 * returns its partition count. */
static int32_t wait_topic(rd_kafka_t *rk, const char *topic, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const char *last = "no answer";
    while (now_s() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (err) {
            last = rd_kafka_err2str(err);
        } else if (md->topic_cnt == 1 && md->topics[0].err) {
            last = rd_kafka_err2str(md->topics[0].err);
        } else if (md->topic_cnt == 1) {
            int32_t n = md->topics[0].partition_cnt;
            bool led = n > 0;
            for (int32_t p = 0; p < n; p++)
                if (md->topics[0].partitions[p].leader != 1 || md->topics[0].partitions[p].err)
                    led = false;
            if (led) {
                rd_kafka_metadata_destroy(md);
                rd_kafka_topic_destroy(rkt);
                return n;
            }
            last = "partitions without leader 1";
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    rd_kafka_topic_destroy(rkt);
    die("topic %s did not appear in metadata within %.0f s (last: %s)", topic, timeout_s, last);
}

static void create_topic(rd_kafka_t *rk, const opts_t *o)
{
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(o->topic, o->partitions, 1, err, sizeof err);
    if (!nt)
        die("NewTopic: %s", err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (rd_kafka_AdminOptions_set_operation_timeout(ao, 10000, err, sizeof err))
        die("AdminOptions: %s", err);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    if (!ev)
        die("CreateTopics(%s): no result within 20 s", o->topic);
    if (rd_kafka_event_error(ev))
        die("CreateTopics(%s): %s", o->topic, rd_kafka_event_error_string(ev));
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
    if (cnt != 1)
        die("CreateTopics(%s): %zu topic results, want 1", o->topic, cnt);
    if (strcmp(rd_kafka_topic_result_name(tr[0]), o->topic) != 0)
        die("CreateTopics: result names %s, want %s", rd_kafka_topic_result_name(tr[0]), o->topic);
    if (rd_kafka_topic_result_error(tr[0]))
        die("CreateTopics(%s): %s: %s", o->topic, rd_kafka_err2name(rd_kafka_topic_result_error(tr[0])),
            rd_kafka_topic_result_error_string(tr[0]) ? rd_kafka_topic_result_error_string(tr[0]) : "");
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
}

static void produce_all(opts_t *o, produce_state_t *st)
{
    rd_kafka_t *rk = new_producer(o, st);
    if (!o->auto_create)
        create_topic(rk, o);
    if (!o->auto_create) {
        int32_t n = wait_topic(rk, o->topic, 15);
        if (n != o->partitions)
            die("topic %s has %" PRId32 " partitions after CreateTopics(%" PRId32 ")", o->topic, n, o->partitions);
    }

    double t0 = now_s();
    uint8_t value[MAX_VALUE_LEN];
    char key[32], hdr[16];
    for (uint32_t i = 0; i < o->messages; i++) {
        size_t vlen = make_value(i, value);
        int klen = snprintf(key, sizeof key, KEY_FMT, i);
        int hlen = snprintf(hdr, sizeof hdr, "%" PRIu32, i);
        for (;;) {
            rd_kafka_resp_err_t err;
            if (i % HEADER_EVERY == 0)
                err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(key, (size_t)klen),
                                        RD_KAFKA_V_VALUE(value, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_HEADER("idx", hdr, hlen), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)i),
                                        RD_KAFKA_V_END);
            else
                err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(key, (size_t)klen),
                                        RD_KAFKA_V_VALUE(value, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)i), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 50);
                continue;
            }
            if (err)
                die("producev(%" PRIu32 "): %s", i, rd_kafka_err2str(err));
            break;
        }
        if (i % 1000 == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 90000);
    double t1 = now_s();
    if (ferr)
        die("flush: %s (%d messages still queued, %" PRIu32 " delivered)", rd_kafka_err2str(ferr),
            rd_kafka_outq_len(rk), st->delivered_cnt);
    /* One more statistics report so the last batches are counted. */
    int seen = st->stats_seen;
    for (int k = 0; k < 20 && st->stats_seen <= seen + 1; k++)
        rd_kafka_poll(rk, 50);
    fprintf(stderr,
            "produced %" PRIu32 " messages in %.2f s (%s, acks=all, idempotent=%d), "
            "largest batch %" PRId64 " records\n",
            st->delivered_cnt, t1 - t0, o->codec, o->idempotent, st->batchcnt_max);

    if (o->auto_create) {
        int32_t n = wait_topic(rk, o->topic, 15);
        if (n != o->partitions) {
            fail("auto-created topic %s has %" PRId32 " partitions, want %" PRId32 " (broker --num.partitions)",
                 o->topic, n, o->partitions);
            o->partitions = n; /* so the remaining checks still say something useful */
        }
    }
    rd_kafka_destroy(rk);

    if (st->failed_cnt)
        die("%" PRIu32 " of %" PRIu32 " messages were not delivered", st->failed_cnt, o->messages);
    if (st->delivered_cnt != o->messages)
        die("%" PRIu32 " delivery reports, want %" PRIu32, st->delivered_cnt, o->messages);
    if (st->compression_refused)
        fail("librdkafka refused to compress with %s: eddy's ApiVersions ranges do not enable it "
             "(see PROTOCOL.md 1.3)",
             o->codec);
    if (o->messages >= 10000 && st->batchcnt_max < 100)
        fail("largest produced batch held %" PRId64 " records; linger.ms=50 should give >= 100 "
             "(statistics reports seen: %d)",
             st->batchcnt_max, st->stats_seen);
}

/*
 * librdkafka sends plain batches, silently, when the broker's ApiVersions
 * turn a codec off, so look at what the broker stored: the codec bits of the
 * first batch of partition 0 (attributes, byte 22 of the batch).
 */
static void check_stored_codec(const opts_t *o)
{
    static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    const char *dir = getenv("EDDY_DATA_DIR");
    if (!dir)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-0/00000000000000000000.log", dir, o->topic);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail("cannot open %s", path);
        return;
    }
    /* Any batch will do: librdkafka sends a batch plain when compressing does not shrink it. */
    unsigned char hdr[23];
    unsigned seen = 0;
    long pos = 0;
    int found = 0;
    while (!found && fseek(f, pos, SEEK_SET) == 0 && fread(hdr, 1, sizeof hdr, f) == sizeof hdr) {
        int32_t len =
            (int32_t)(((uint32_t)hdr[8] << 24) | ((uint32_t)hdr[9] << 16) | ((uint32_t)hdr[10] << 8) | hdr[11]);
        int codec = hdr[22] & 7;
        found = codec <= 4 && strcmp(names[codec], o->codec) == 0;
        seen |= 1u << codec;
        if (len <= 0)
            break;
        pos += 12 + (long)len;
    }
    fclose(f);
    if (!found)
        fail("no stored batch of %s-0 uses codec %s (codec bit set seen: 0x%x)", o->topic, o->codec, seen);
}

/* Delivery reports must give each partition offsets 0..n-1, increasing in
 * produce order. Returns per-partition counts. */
static int64_t *check_delivery_offsets(const opts_t *o, const produce_state_t *st)
{
    int64_t *next = calloc((size_t)o->partitions, sizeof *next);
    if (!next)
        die("out of memory");
    for (uint32_t i = 0; i < o->messages; i++) {
        int32_t p = st->partition[i];
        if (p < 0 || p >= o->partitions) {
            fail("message %" PRIu32 " delivered to partition %" PRId32 ", topic has %" PRId32, i, p, o->partitions);
            continue;
        }
        if (st->offset[i] != next[p])
            fail("message %" PRIu32 " delivered at %" PRId32 "/%" PRId64 ", want offset %" PRId64
                 " (offsets must be contiguous from 0 in produce order)",
                 i, p, st->offset[i], next[p]);
        next[p] = st->offset[i] + 1;
        if (fail_count > 20)
            die("too many mismatches");
    }
    return next;
}

static void consume_all(const opts_t *o, const produce_state_t *st, const int64_t *count)
{
    char err[512], group[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* librdkafka needs a group.id for assign(), but nothing here joins,
     * commits or fetches committed offsets. */
    snprintf(group, sizeof group, "%s-unused-group", o->topic);
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", "eddy-compat-roundtrip");
    set_conf(conf, "group.id", group);
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "enable.auto.offset.store", "false");
    set_conf(conf, "enable.partition.eof", "true");
    set_conf(conf, "auto.offset.reset", "error");
    set_conf(conf, "fetch.wait.max.ms", "100");
    set_conf(conf, "check.crcs", "true");
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        die("rd_kafka_new(consumer): %s", err);

    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(o->partitions);
    for (int32_t p = 0; p < o->partitions; p++)
        rd_kafka_topic_partition_list_add(parts, o->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    if (aerr)
        die("assign: %s", rd_kafka_err2str(aerr));

    uint8_t *seen = calloc(o->messages, 1);
    int64_t *next = calloc((size_t)o->partitions, sizeof *next);
    bool *eof = calloc((size_t)o->partitions, sizeof *eof);
    if (!seen || !next || !eof)
        die("out of memory");
    uint32_t received = 0;
    uint8_t want[MAX_VALUE_LEN];
    double t0 = now_s(), deadline = t0 + 60;
    for (;;) {
        bool all_eof = true;
        for (int32_t p = 0; p < o->partitions; p++)
            if (!eof[p] || next[p] < count[p])
                all_eof = false;
        if (received == o->messages && all_eof)
            break;
        if (now_s() > deadline) {
            fail("consumed %" PRIu32 " of %" PRIu32 " messages within 60 s", received, o->messages);
            for (int32_t p = 0; p < o->partitions; p++)
                fprintf(stderr, "  partition %" PRId32 ": next offset %" PRId64 ", %" PRId64 " produced, eof=%d\n", p,
                        next[p], count[p], eof[p]);
            break;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (!msg)
            continue;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (msg->partition >= 0 && msg->partition < o->partitions)
                eof[msg->partition] = true;
            rd_kafka_message_destroy(msg);
            continue;
        }
        if (msg->err) {
            fail("consumer error on partition %" PRId32 " offset %" PRId64 ": %s", msg->partition, msg->offset,
                 rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
            if (fail_count > 20)
                die("too many consumer errors");
            continue;
        }
        int32_t p = msg->partition;
        uint32_t i;
        char keybuf[32] = {0};
        if (!msg->key || msg->key_len >= sizeof keybuf) {
            fail("message at %" PRId32 "/%" PRId64 " has key length %zu", p, msg->offset, msg->key_len);
            goto next_msg;
        }
        memcpy(keybuf, msg->key, msg->key_len);
        if (sscanf(keybuf, KEY_FMT, &i) != 1 || i >= o->messages) {
            fail("message at %" PRId32 "/%" PRId64 " has unexpected key '%s'", p, msg->offset, keybuf);
            goto next_msg;
        }
        if (seen[i]) {
            fail("message %" PRIu32 " received twice (again at %" PRId32 "/%" PRId64 ")", i, p, msg->offset);
            goto next_msg;
        }
        seen[i] = 1;
        received++;
        if (p != st->partition[i] || msg->offset != st->offset[i])
            fail("message %" PRIu32 " consumed at %" PRId32 "/%" PRId64 ", delivery report said %" PRId32 "/%" PRId64,
                 i, p, msg->offset, st->partition[i], st->offset[i]);
        if (p >= 0 && p < o->partitions) {
            if (msg->offset != next[p])
                fail("partition %" PRId32 ": got offset %" PRId64 " after %" PRId64
                     " (offsets must be contiguous and in order)",
                     p, msg->offset, next[p] - 1);
            next[p] = msg->offset + 1;
        }
        size_t wlen = make_value(i, want);
        if (msg->len != wlen || memcmp(msg->payload, want, wlen) != 0)
            fail("message %" PRIu32 " at %" PRId32 "/%" PRId64 ": value differs (len %zu, want %zu)", i, p, msg->offset,
                 msg->len, wlen);
        rd_kafka_headers_t *hdrs = NULL;
        rd_kafka_resp_err_t herr = rd_kafka_message_headers(msg, &hdrs);
        if (i % HEADER_EVERY == 0) {
            const void *hv = NULL;
            size_t hl = 0;
            char wantidx[16];
            int wl = snprintf(wantidx, sizeof wantidx, "%" PRIu32, i);
            if (herr || rd_kafka_header_get_last(hdrs, "idx", &hv, &hl) || hl != (size_t)wl ||
                memcmp(hv, wantidx, hl) != 0 || rd_kafka_header_cnt(hdrs) != 1)
                fail("message %" PRIu32 ": want exactly one header idx=%s", i, wantidx);
        } else if (herr != RD_KAFKA_RESP_ERR__NOENT && !(herr == 0 && rd_kafka_header_cnt(hdrs) == 0)) {
            fail("message %" PRIu32 ": has headers, none were produced", i);
        }
    next_msg:
        rd_kafka_message_destroy(msg);
        if (fail_count > 20)
            die("too many mismatches");
    }
    double t1 = now_s();
    fprintf(stderr, "consumed %" PRIu32 " messages in %.2f s\n", received, t1 - t0);

    for (uint32_t i = 0; i < o->messages && fail_count < 20; i++)
        if (!seen[i])
            fail("message %" PRIu32 " (delivered at %" PRId32 "/%" PRId64 ") was never consumed", i, st->partition[i],
                 st->offset[i]);

    /* ListOffsets: earliest 0 and latest = count for every partition. */
    for (int32_t p = 0; p < o->partitions; p++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t werr = rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo, &hi, 10000);
        if (werr)
            fail("query_watermark_offsets(%" PRId32 "): %s", p, rd_kafka_err2str(werr));
        else if (lo != 0 || hi != count[p])
            fail("partition %" PRId32 " watermarks [%" PRId64 ", %" PRId64 "], want [0, %" PRId64 "]", p, lo, hi,
                 count[p]);
    }

    rd_kafka_consumer_close(rk);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    free(seen);
    free(next);
    free(eof);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    fprintf(stderr, "usage: compat_rdkafka_roundtrip [--bootstrap HOST:PORT] [--topic T] [--messages N]\n"
                    "         [--partitions P] [--codec none|gzip|snappy|lz4|zstd] [--idempotent] [--auto-create]\n"
                    "The bootstrap address defaults to $EDDY_BOOTSTRAP.\n");
    exit(2);
}

static long parse_num(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    opts_t o = {.bootstrap = getenv("EDDY_BOOTSTRAP"), .messages = 100000, .partitions = 4, .codec = "lz4"};
    const char *prefix = getenv("EDDY_TEST_NAME");
    snprintf(o.topic, sizeof o.topic, "%s_roundtrip", prefix ? prefix : "rdkafka");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--idempotent")) {
            o.idempotent = true;
        } else if (!strcmp(a, "--auto-create")) {
            o.auto_create = true;
        } else if (!v) {
            usage();
        } else if (!strcmp(a, "--bootstrap")) {
            o.bootstrap = v, i++;
        } else if (!strcmp(a, "--topic")) {
            snprintf(o.topic, sizeof o.topic, "%s", v), i++;
        } else if (!strcmp(a, "--messages")) {
            o.messages = (uint32_t)parse_num(v, 1, 10000000), i++;
        } else if (!strcmp(a, "--partitions")) {
            o.partitions = (int32_t)parse_num(v, 1, 1000), i++;
        } else if (!strcmp(a, "--codec")) {
            o.codec = v, i++;
        } else {
            usage();
        }
    }
    if (!o.bootstrap)
        usage();

    produce_state_t st = {0};
    st.partition = calloc(o.messages, sizeof *st.partition);
    st.offset = calloc(o.messages, sizeof *st.offset);
    st.delivered = calloc(o.messages, 1);
    if (!st.partition || !st.offset || !st.delivered)
        die("out of memory");

    fprintf(stderr, "librdkafka %s, broker %s, topic %s, %" PRIu32 " messages, %" PRId32 " partitions\n",
            rd_kafka_version_str(), o.bootstrap, o.topic, o.messages, o.partitions);
    produce_all(&o, &st);
    int64_t *count = check_delivery_offsets(&o, &st);
    check_stored_codec(&o);
    if (fail_count == 0)
        consume_all(&o, &st, count);
    free(count);
    free(st.partition);
    free(st.offset);
    free(st.delivered);
    if (fail_count) {
        fprintf(stderr, "FAIL: %d mismatches\n", fail_count);
        return 1;
    }
    fprintf(stderr, "PASS: %" PRIu32 " messages round-tripped byte-exact\n", o.messages);
    return 0;
}
