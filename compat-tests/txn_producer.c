/*
 * compat_txn_producer: a librdkafka transactional producer written in C, the
 * client half of the eos_txn_rdkafka_c case of test_eos_transactions.py.
 *
 * It runs init_transactions, then --transactions transactions of --per-txn
 * records each; transaction t holds values "t<t>-m<m>" (m = 0..per-1) with
 * key "t<t>", record m going to partition m % --partitions. Transaction
 * number --abort is flushed (so its records are in the log) and aborted;
 * every other one is committed. Each transactional call's error is checked
 * and printed with its fatal / abortable / retriable flags.
 *
 * It then reads the topic back twice with assign() from the beginning and
 * enable.partition.eof, once with isolation.level=read_committed and once
 * with read_uncommitted, and checks both against what it sent: under
 * read_committed exactly the committed records, each once, in send order per
 * partition; under read_uncommitted the aborted records as well. Control
 * records (markers) must never surface. Watermarks under read_committed
 * (ListOffsets latest, isolation 1) must equal the high watermark, since no
 * transaction is left open.
 *
 * Exit status: 0 all checks passed, 1 a client error or a failed check,
 * 2 bad usage.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PARTITIONS 64
#define MAX_TXNS       1000
#define MAX_PER_TXN    100000
#define READ_TIMEOUT_S 30.0

typedef struct {
    const char *bootstrap;
    const char *topic;
    const char *txn_id;
    int32_t partitions;
    int txns;
    int per_txn;
    int abort_at;
} opts_t;

typedef struct {
    uint64_t delivered;
    uint64_t failed;
    rd_kafka_resp_err_t last_err;
} dr_state_t;

/* What one read-back saw: seen[t][m] counts how often record t/m arrived. */
typedef struct {
    uint32_t *seen;
    int64_t last_pos[MAX_PARTITIONS]; /* index (t * per + m) of the last record per partition, for order */
    uint64_t records;
    uint64_t foreign; /* records that are not ours (garbled, markers surfacing) */
    uint64_t out_of_order;
    int64_t high[MAX_PARTITIONS];
} readback_t;

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("txn_producer: FAIL: ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    failures++;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("txn_producer: FAIL: ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
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

/* Transient connection errors are printed for the record; a fatal one ends
 * the producer's usefulness, and the next transactional call reports it. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, buf, sizeof buf);
        printf("txn_producer: fatal client error %s: %s\n", rd_kafka_err2name(ferr), buf);
        return;
    }
    printf("txn_producer: client error %s: %s\n", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    dr_state_t *st = opaque;
    if (msg->err) {
        st->failed++;
        st->last_err = msg->err;
    } else {
        st->delivered++;
    }
}

/* Consumes a transactional call's result; returns false (after printing) on error. */
static bool txn_ok(rd_kafka_error_t *error, const char *what, int txn)
{
    if (!error)
        return true;
    fail("transaction %d: %s: %s (%s) fatal=%d abortable=%d retriable=%d", txn, what, rd_kafka_error_string(error),
         rd_kafka_error_name(error), rd_kafka_error_is_fatal(error), rd_kafka_error_txn_requires_abort(error),
         rd_kafka_error_is_retriable(error));
    rd_kafka_error_destroy(error);
    return false;
}

static int produce_all(const opts_t *o)
{
    char err[512];
    dr_state_t st = {0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "transactional.id", o->txn_id);
    set_conf(conf, "linger.ms", "5");
    set_conf(conf, "transaction.timeout.ms", "60000");
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        die("rd_kafka_new(producer): %s", err);

    double t0 = now_s();
    if (!txn_ok(rd_kafka_init_transactions(rk, 30000), "init_transactions", -1)) {
        rd_kafka_destroy(rk);
        return -1;
    }
    printf("txn_producer: init_transactions took %.3f s\n", now_s() - t0);
    int committed = 0, aborted = 0;
    for (int t = 0; t < o->txns; t++) {
        if (!txn_ok(rd_kafka_begin_transaction(rk), "begin_transaction", t))
            break;
        char key[32], val[64];
        snprintf(key, sizeof key, "t%d", t);
        bool produced = true;
        for (int m = 0; m < o->per_txn; m++) {
            int n = snprintf(val, sizeof val, "t%d-m%d", t, m);
            rd_kafka_resp_err_t perr;
            while ((perr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(m % o->partitions),
                                             RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, (size_t)n),
                                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 10);
            if (perr) {
                fail("transaction %d: produce %s: %s", t, val, rd_kafka_err2str(perr));
                produced = false;
                break;
            }
            rd_kafka_poll(rk, 0);
        }
        if (!produced)
            break;
        if (t == o->abort_at) {
            /* Flushed first, so the aborted records really are in the log. */
            rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 20000);
            if (ferr)
                fail("transaction %d: flush before abort: %s", t, rd_kafka_err2str(ferr));
            if (!txn_ok(rd_kafka_abort_transaction(rk, 20000), "abort_transaction", t))
                break;
            aborted++;
        } else {
            if (!txn_ok(rd_kafka_commit_transaction(rk, 20000), "commit_transaction", t))
                break;
            committed++;
        }
    }
    rd_kafka_flush(rk, 10000);
    printf("txn_producer: %d transactions committed, %d aborted; delivery reports: %" PRIu64 " ok, %" PRIu64
           " failed%s%s\n",
           committed, aborted, st.delivered, st.failed, st.failed ? ", last error " : "",
           st.failed ? rd_kafka_err2name(st.last_err) : "");
    if (committed + aborted != o->txns)
        fail("only %d of %d transactions completed", committed + aborted, o->txns);
    if (st.failed)
        fail("%" PRIu64 " delivery reports carried an error (last %s)", st.failed, rd_kafka_err2name(st.last_err));
    if (st.delivered != (uint64_t)o->txns * (uint64_t)o->per_txn)
        fail("%" PRIu64 " records delivered, want %d", st.delivered, o->txns * o->per_txn);
    rd_kafka_destroy(rk);
    return 0;
}

/* Parses "t<t>-m<m>"; false for anything else. */
static bool parse_value(const void *p, size_t len, int *t, int *m)
{
    char buf[64];
    if (!p || len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char tail;
    return sscanf(buf, "t%d-m%d%c", t, m, &tail) == 2;
}

static void read_back(const opts_t *o, const char *isolation, readback_t *rb)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char group[300];
    snprintf(group, sizeof group, "%s-readback", o->txn_id);
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "group.id", group);
    set_conf(conf, "isolation.level", isolation);
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "enable.auto.offset.store", "false");
    set_conf(conf, "enable.partition.eof", "true");
    set_conf(conf, "auto.offset.reset", "error");
    set_conf(conf, "fetch.wait.max.ms", "100");
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        die("rd_kafka_new(consumer): %s", err);
    rd_kafka_poll_set_consumer(rk);

    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(o->partitions);
    for (int32_t p = 0; p < o->partitions; p++) {
        rd_kafka_topic_partition_list_add(parts, o->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rb->last_pos[p] = -1;
    }
    rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (aerr)
        die("%s: assign: %s", isolation, rd_kafka_err2str(aerr));

    bool eof[MAX_PARTITIONS] = {false};
    int neof = 0;
    double deadline = now_s() + READ_TIMEOUT_S;
    while (neof < o->partitions && now_s() < deadline) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (!msg)
            continue;
        int32_t p = msg->partition;
        if (p < 0 || p >= o->partitions) {
            rb->foreign++;
        } else if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (!eof[p]) {
                eof[p] = true;
                neof++;
            }
        } else if (msg->err) {
            fail("%s: consume: %s", isolation, rd_kafka_message_errstr(msg));
        } else {
            int t, m;
            rb->records++;
            if (eof[p]) { /* more arrived after an end-of-partition: keep reading */
                eof[p] = false;
                neof--;
            }
            if (!parse_value(msg->payload, msg->len, &t, &m) || t < 0 || t >= o->txns || m < 0 || m >= o->per_txn ||
                m % o->partitions != p) {
                if (rb->foreign++ < 5)
                    fail("%s: unexpected record at %" PRId32 "/%" PRId64 " (%zu bytes)", isolation, p, msg->offset,
                         msg->len);
            } else {
                int64_t pos = (int64_t)t * o->per_txn + m;
                if (pos <= rb->last_pos[p] && rb->out_of_order++ < 5)
                    fail("%s: partition %" PRId32 ": t%d-m%d at offset %" PRId64 " after a later record", isolation, p,
                         t, m, msg->offset);
                rb->last_pos[p] = pos;
                rb->seen[pos]++;
            }
        }
        rd_kafka_message_destroy(msg);
    }
    if (neof < o->partitions)
        fail("%s: only %d of %" PRId32 " partitions reached their end within %.0f s", isolation, neof, o->partitions,
             READ_TIMEOUT_S);
    for (int32_t p = 0; p < o->partitions; p++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t werr = rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo, &hi, 10000);
        if (werr)
            fail("%s: query_watermark_offsets(%" PRId32 "): %s", isolation, p, rd_kafka_err2str(werr));
        rb->high[p] = hi;
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* Compares a read-back with what was sent; aborted_visible says whether the
 * aborted transaction's records belong in it. */
static void judge(const opts_t *o, const char *isolation, const readback_t *rb, bool aborted_visible)
{
    uint64_t missing = 0, dups = 0, leaked = 0, want = 0;
    for (int t = 0; t < o->txns; t++) {
        bool visible = t != o->abort_at || aborted_visible;
        for (int m = 0; m < o->per_txn; m++) {
            uint32_t n = rb->seen[(size_t)t * (size_t)o->per_txn + (size_t)m];
            if (visible) {
                want++;
                if (n == 0 && missing++ < 5)
                    fail("%s: t%d-m%d missing", isolation, t, m);
                if (n > 1 && dups++ < 5)
                    fail("%s: t%d-m%d read %u times", isolation, t, m, n);
            } else if (n > 0 && leaked++ < 5) {
                fail("%s: t%d-m%d of the aborted transaction is visible", isolation, t, m);
            }
        }
    }
    printf("txn_producer: %s read %" PRIu64 " records, want %" PRIu64 "; missing %" PRIu64 ", duplicated %" PRIu64
           ", aborted ones seen %" PRIu64 ", out of order %" PRIu64 ", not ours %" PRIu64 "\n",
           isolation, rb->records, want, missing, dups, leaked, rb->out_of_order, rb->foreign);
    if (rb->records != want)
        fail("%s: %" PRIu64 " records, want %" PRIu64, isolation, rb->records, want);
    if (missing || dups || leaked || rb->out_of_order || rb->foreign)
        fail("%s: the records read do not match the transactions", isolation);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    fprintf(stderr, "usage: compat_txn_producer --bootstrap HOST:PORT --topic T [--partitions P] [--transactions N]\n"
                    "           [--per-txn M] [--abort K] [--transactional-id ID]\n");
    exit(2);
}

static long num_arg(const char *name, const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
        fprintf(stderr, "%s: want an integer in [%ld, %ld], got %s\n", name, lo, hi, v);
        usage();
    }
    return n;
}

int main(int argc, char **argv)
{
    opts_t o = {.partitions = 3, .txns = 6, .per_txn = 50, .abort_at = 2, .txn_id = "compat-txn-producer"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--bootstrap"))
            o.bootstrap = v;
        else if (!strcmp(a, "--topic"))
            o.topic = v;
        else if (!strcmp(a, "--transactional-id"))
            o.txn_id = v;
        else if (!strcmp(a, "--partitions"))
            o.partitions = (int32_t)num_arg(a, v, 1, MAX_PARTITIONS);
        else if (!strcmp(a, "--transactions"))
            o.txns = (int)num_arg(a, v, 1, MAX_TXNS);
        else if (!strcmp(a, "--per-txn"))
            o.per_txn = (int)num_arg(a, v, 1, MAX_PER_TXN);
        else if (!strcmp(a, "--abort"))
            o.abort_at = (int)num_arg(a, v, -1, MAX_TXNS);
        else
            usage();
    }
    if (!o.bootstrap || !o.topic)
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (produce_all(&o) != 0)
        return 1;

    size_t n = (size_t)o.txns * (size_t)o.per_txn;
    readback_t committed = {0}, uncommitted = {0};
    committed.seen = calloc(n, sizeof *committed.seen);
    uncommitted.seen = calloc(n, sizeof *uncommitted.seen);
    if (!committed.seen || !uncommitted.seen)
        die("out of memory");
    read_back(&o, "read_committed", &committed);
    read_back(&o, "read_uncommitted", &uncommitted);
    judge(&o, "read_committed", &committed, false);
    judge(&o, "read_uncommitted", &uncommitted, true);
    for (int32_t p = 0; p < o.partitions; p++) {
        if (committed.high[p] != uncommitted.high[p])
            fail("partition %" PRId32 ": latest offset %" PRId64 " under read_committed, %" PRId64
                 " under read_uncommitted, with no transaction open",
                 p, committed.high[p], uncommitted.high[p]);
        /* Each transaction that wrote to a partition left one marker there. */
        int64_t recs = 0;
        for (int t = 0; t < o.txns; t++)
            for (int m = p; m < o.per_txn; m += o.partitions)
                recs++;
        int64_t want = recs + (p < o.per_txn ? o.txns : 0);
        if (uncommitted.high[p] != want)
            fail("partition %" PRId32 ": high watermark %" PRId64 ", want %" PRId64 " (%" PRId64
                 " records and %d markers)",
                 p, uncommitted.high[p], want, recs, p < o.per_txn ? o.txns : 0);
    }
    free(committed.seen);
    free(uncommitted.seen);
    if (failures) {
        printf("txn_producer: %d check(s) failed\n", failures);
        return 1;
    }
    printf("txn_producer: PASS\n");
    return 0;
}
