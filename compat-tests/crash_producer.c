/*
 * compat_crash_producer: the client half of the crash-consistency test
 * (test_crash_consistency.py). It has two modes.
 *
 * Produce (default): an idempotent librdkafka producer with acks=all sends
 * numbered messages, key "k<id % K>" and value "<id>", at a steady rate, and
 * writes one line per message whose delivery report carried no error:
 *
 *     ack <id> <partition> <offset>
 *
 * It is meant to keep running while the broker is SIGKILLed and restarted
 * under it: retries are unlimited, the message timeout is long enough to
 * ride out a restart, and reconnect backoff is short. It stops producing on
 * SIGTERM/SIGINT, after --duration seconds or after --messages messages,
 * then waits up to --flush-timeout seconds for outstanding delivery reports
 * and prints a summary line on stderr.
 *
 * Consume (--consume): assigns every partition of the topic from the
 * beginning (no group membership, no commits), reads up to the high
 * watermark each partition had when it started, and writes one line per
 * record:
 *
 *     msg <partition> <offset> <key> <value>
 *
 * It only reports what it read; judging it (lost, duplicated, out of order)
 * is the Python test's job. Exit status: 0 done, 1 client or broker error,
 * 2 bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PARTITIONS 64
#define ERR_LINES_MAX  50 /* error-callback lines printed; the rest are only counted */

typedef struct {
    const char *bootstrap;
    const char *topic;
    const char *out_path;
    bool consume;
    uint32_t messages; /* produce at most this many */
    uint32_t keys;
    double rate;          /* messages per second */
    double duration;      /* seconds of producing */
    double flush_timeout; /* seconds to wait for delivery reports at the end */
    int32_t partitions;   /* consume mode */
} opts_t;

typedef struct {
    FILE *out;
    uint64_t acked;
    uint64_t failed;
    uint64_t errors_seen;
    rd_kafka_resp_err_t last_fail;
} producer_state_t;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("crash_producer: ERROR: ", stderr);
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

static void set_conf(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK)
        die("config %s=%s: %s", name, value, err);
}

/* Connection refusals are expected by the dozen while the broker is down, so
 * only the first lines are printed; a fatal error (the idempotent producer
 * giving up) is always printed, since it ends the run's usefulness. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    producer_state_t *st = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, buf, sizeof buf);
        fprintf(stderr, "crash_producer: FATAL %s: %s\n", rd_kafka_err2name(ferr), buf);
        stop_requested = 1;
        return;
    }
    if (st && st->errors_seen++ >= ERR_LINES_MAX)
        return;
    fprintf(stderr, "crash_producer: client error %s: %s\n", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    producer_state_t *st = opaque;
    uint32_t id = (uint32_t)(uintptr_t)msg->_private;
    if (msg->err) {
        if (st->failed < 20)
            fprintf(stderr, "crash_producer: message %" PRIu32 " not delivered: %s\n", id,
                    rd_kafka_err2name(msg->err));
        st->failed++;
        st->last_fail = msg->err;
        return;
    }
    fprintf(st->out, "ack %" PRIu32 " %" PRId32 " %" PRId64 "\n", id, msg->partition, msg->offset);
    st->acked++;
}

static int produce(const opts_t *o)
{
    char err[512];
    producer_state_t st = {0};
    st.out = o->out_path ? fopen(o->out_path, "w") : stdout;
    if (!st.out)
        die("open %s: %s", o->out_path, strerror(errno));

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", "eddy-compat-crash-producer");
    set_conf(conf, "enable.idempotence", "true");
    set_conf(conf, "acks", "all");
    set_conf(conf, "retries", "2147483647");
    set_conf(conf, "max.in.flight.requests.per.connection", "5");
    set_conf(conf, "message.timeout.ms", "60000");
    set_conf(conf, "request.timeout.ms", "5000");
    set_conf(conf, "retry.backoff.ms", "20");
    set_conf(conf, "reconnect.backoff.ms", "10");
    set_conf(conf, "reconnect.backoff.max.ms", "200");
    set_conf(conf, "socket.connection.setup.timeout.ms", "3000");
    set_conf(conf, "topic.metadata.refresh.interval.ms", "1000");
    set_conf(conf, "linger.ms", "5");
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        die("rd_kafka_new(producer): %s", err);

    fprintf(stderr, "crash_producer: librdkafka %s, broker %s, topic %s, %" PRIu32 " keys, %.0f msg/s for up to %.0f s\n",
            rd_kafka_version_str(), o->bootstrap, o->topic, o->keys, o->rate, o->duration);
    double t0 = now_s(), last_flush = t0;
    uint32_t sent = 0;
    char key[16], value[16];
    while (!stop_requested && sent < o->messages) {
        double now = now_s();
        if (now - t0 >= o->duration)
            break;
        /* Pace by elapsed time so the rate holds while the broker is down
         * (messages queue up in the client and go out after reconnecting). */
        uint32_t due = (uint32_t)((now - t0) * o->rate) + 1;
        if (due > o->messages)
            due = o->messages;
        while (sent < due && !stop_requested) {
            uint32_t id = sent;
            int klen = snprintf(key, sizeof key, "k%" PRIu32, id % o->keys);
            int vlen = snprintf(value, sizeof value, "%" PRIu32, id);
            rd_kafka_resp_err_t perr = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(key, (size_t)klen), RD_KAFKA_V_VALUE(value, (size_t)vlen),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)id), RD_KAFKA_V_END);
            if (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (perr)
                die("producev(%" PRIu32 "): %s", id, rd_kafka_err2str(perr));
            sent++;
        }
        rd_kafka_poll(rk, 2);
        if (now - last_flush > 0.2) {
            fflush(st.out);
            last_flush = now;
        }
    }
    double t1 = now_s();
    fprintf(stderr, "crash_producer: stopped producing after %" PRIu32 " messages in %.1f s (%s); flushing\n", sent,
            t1 - t0, stop_requested ? "signal" : sent >= o->messages ? "count" : "duration");

    /* rd_kafka_flush returns early if the signal arrives again; loop until
     * the deadline so the delivery reports still in flight are written. */
    double deadline = now_s() + o->flush_timeout;
    while (rd_kafka_outq_len(rk) > 0 && now_s() < deadline) {
        rd_kafka_flush(rk, 200);
        fflush(st.out);
    }
    int left = rd_kafka_outq_len(rk);
    char fbuf[256];
    rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, fbuf, sizeof fbuf);
    rd_kafka_destroy(rk);
    fflush(st.out);
    if (st.out != stdout)
        fclose(st.out);
    fprintf(stderr,
            "crash_producer: summary sent=%" PRIu32 " acked=%" PRIu64 " failed=%" PRIu64 " unfinished=%d "
            "client_errors=%" PRIu64 " fatal=%s last_fail=%s\n",
            sent, st.acked, st.failed, left, st.errors_seen, fatal ? rd_kafka_err2name(fatal) : "none",
            st.failed ? rd_kafka_err2name(st.last_fail) : "none");
    return fatal ? 1 : 0;
}

static int consume(const opts_t *o)
{
    char err[512], group[300];
    FILE *out = o->out_path ? fopen(o->out_path, "w") : stdout;
    if (!out)
        die("open %s: %s", o->out_path, strerror(errno));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* assign() needs a group.id, but nothing here joins or commits. */
    snprintf(group, sizeof group, "%s-unused-group", o->topic);
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", "eddy-compat-crash-consumer");
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

    int64_t hi[MAX_PARTITIONS], next[MAX_PARTITIONS];
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(o->partitions);
    for (int32_t p = 0; p < o->partitions; p++) {
        int64_t lo = -1;
        rd_kafka_resp_err_t werr = rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo, &hi[p], 10000);
        if (werr)
            die("query_watermark_offsets(%s/%" PRId32 "): %s", o->topic, p, rd_kafka_err2str(werr));
        fprintf(stderr, "crash_producer: partition %" PRId32 " watermarks [%" PRId64 ", %" PRId64 "]\n", p, lo, hi[p]);
        next[p] = 0;
        rd_kafka_topic_partition_list_add(parts, o->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    if (aerr)
        die("assign: %s", rd_kafka_err2str(aerr));

    uint64_t received = 0;
    int errors = 0;
    double t0 = now_s(), deadline = t0 + 60;
    for (;;) {
        bool done = true;
        for (int32_t p = 0; p < o->partitions; p++)
            if (next[p] < hi[p])
                done = false;
        if (done)
            break;
        if (now_s() > deadline) {
            fprintf(stderr, "crash_producer: consume did not reach the high watermarks within 60 s\n");
            errors++;
            break;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (!msg)
            continue;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(msg);
            continue;
        }
        if (msg->err) {
            fprintf(stderr, "crash_producer: consumer error on partition %" PRId32 " offset %" PRId64 ": %s\n",
                    msg->partition, msg->offset, rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
            if (++errors > 20)
                break;
            continue;
        }
        /* Keys and values are short decimal text; print them with a length
         * cap so a corrupt record cannot break the line format. */
        fprintf(out, "msg %" PRId32 " %" PRId64 " %.*s %.*s\n", msg->partition, msg->offset,
                (int)(msg->key_len > 32 ? 32 : msg->key_len), msg->key ? (const char *)msg->key : "",
                (int)(msg->len > 32 ? 32 : msg->len), msg->payload ? (const char *)msg->payload : "");
        if (msg->partition >= 0 && msg->partition < o->partitions && msg->offset + 1 > next[msg->partition])
            next[msg->partition] = msg->offset + 1;
        received++;
        rd_kafka_message_destroy(msg);
    }
    fprintf(stderr, "crash_producer: consumed %" PRIu64 " records in %.2f s\n", received, now_s() - t0);
    rd_kafka_consumer_close(rk);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    fflush(out);
    if (out != stdout)
        fclose(out);
    return errors ? 1 : 0;
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    fprintf(stderr, "usage: compat_crash_producer --bootstrap HOST:PORT --topic T [--out FILE]\n"
                    "         [--messages N] [--keys K] [--rate MSG_PER_S] [--duration S] [--flush-timeout S]\n"
                    "       compat_crash_producer --consume --bootstrap HOST:PORT --topic T --partitions P [--out FILE]\n");
    exit(2);
}

static double parse_num(const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || v < lo || v > hi)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    opts_t o = {.messages = 10000000, .keys = 50, .rate = 2000, .duration = 150, .flush_timeout = 30,
                .partitions = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--consume")) {
            o.consume = true;
        } else if (!v) {
            usage();
        } else if (!strcmp(a, "--bootstrap")) {
            o.bootstrap = v, i++;
        } else if (!strcmp(a, "--topic")) {
            o.topic = v, i++;
        } else if (!strcmp(a, "--out")) {
            o.out_path = v, i++;
        } else if (!strcmp(a, "--messages")) {
            o.messages = (uint32_t)parse_num(v, 1, 100000000), i++;
        } else if (!strcmp(a, "--keys")) {
            o.keys = (uint32_t)parse_num(v, 1, 1000000), i++;
        } else if (!strcmp(a, "--rate")) {
            o.rate = parse_num(v, 1, 1e7), i++;
        } else if (!strcmp(a, "--duration")) {
            o.duration = parse_num(v, 0.1, 86400), i++;
        } else if (!strcmp(a, "--flush-timeout")) {
            o.flush_timeout = parse_num(v, 0, 3600), i++;
        } else if (!strcmp(a, "--partitions")) {
            o.partitions = (int32_t)parse_num(v, 1, MAX_PARTITIONS), i++;
        } else {
            usage();
        }
    }
    if (!o.bootstrap || !o.topic || (o.consume && o.partitions == 0))
        usage();
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    return o.consume ? consume(&o) : produce(&o);
}
