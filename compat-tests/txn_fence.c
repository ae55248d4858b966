/*
 * compat_txn_fence: librdkafka (C API) transactional producers that fence each
 * other or misuse the transactional API; the client half of the
 * txn_fence_rdkafka_c and txn_misuse_rdkafka_c cases of
 * test_txn_rdkafka_c.py.
 *
 * --mode fence: for each of three ways the old producer can next talk to the
 * broker, a fresh transactional id:
 *   produce   p1 begins and produces (flushed) to partition 0; p2 (same
 *             transactional.id) runs init_transactions; p1 produces to
 *             partition 0 again. That Produce must fail with a fatal fenced
 *             error (Kafka answers INVALID_PRODUCER_EPOCH to Produce, which
 *             librdkafka turns into its fatal _FENCED), and so must p1's
 *             commit_transaction.
 *   add       as produce, but p1's second record goes to partition 1, which
 *             is not yet in its transaction (AddPartitionsToTxn is fenced).
 *   commit    p1 calls commit_transaction right after p2's init (EndTxn is
 *             fenced).
 * In every case p2 then commits a transaction of its own, and a
 * read_committed consumer must see exactly p2's records (p1's transaction
 * was aborted by the fence).
 *
 * --mode misuse: librdkafka's own transaction-misuse sequence (its test
 * 0103's do_test_misuse_txn), --iterations times in a row on one
 * transactional id: init with transaction.timeout.ms above the broker's
 * transaction.max.timeout.ms (must fail, fatal, INVALID_TRANSACTION_TIMEOUT);
 * init then init again (must fail with _STATE), begin, init (_STATE); init
 * with a 1 ms timeout (must time out, retriable) then again with 30 s
 * (must succeed); init with 1 ms in a loop until it succeeds, then init
 * (_STATE) and begin (must succeed).
 *
 * Exit status: 0 all checks passed, 1 a failed check, 2 bad usage.
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

static int failures;
static const char *bootstrap;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("txn_fence: FAIL: ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    failures++;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("txn_fence: ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
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
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fail("config %s=%s: %s", name, value, err);
        exit(1);
    }
}

typedef struct {
    const char *name;
    int delivered;
    int failed;
    rd_kafka_resp_err_t last_err;
} dr_state_t;

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    const dr_state_t *st = opaque;
    (void)rk;
    say("%s: client error %s: %s", st ? st->name : "?", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
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

static rd_kafka_t *producer(const char *txn_id, const char *timeout_ms, dr_state_t *st)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", bootstrap);
    set_conf(conf, "transactional.id", txn_id);
    set_conf(conf, "linger.ms", "0");
    if (timeout_ms)
        set_conf(conf, "transaction.timeout.ms", timeout_ms);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fail("rd_kafka_new: %s", err);
        exit(1);
    }
    return rk;
}

/* Prints a transactional call's error; true when there was none. */
static bool call_ok(const char *who, const char *what, rd_kafka_error_t *error)
{
    if (!error)
        return true;
    fail("%s: %s: %s (%s) fatal=%d abortable=%d retriable=%d", who, what, rd_kafka_error_string(error),
         rd_kafka_error_name(error), rd_kafka_error_is_fatal(error), rd_kafka_error_txn_requires_abort(error),
         rd_kafka_error_is_retriable(error));
    rd_kafka_error_destroy(error);
    return false;
}

static bool produce(rd_kafka_t *rk, const char *topic, int32_t partition, const char *value)
{
    rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                                RD_KAFKA_V_VALUE((void *)(uintptr_t)value, strlen(value)),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err) {
        say("produce %s to %s-%" PRId32 " refused at once: %s", value, topic, partition, rd_kafka_err2name(err));
        return false;
    }
    return true;
}

static bool is_fenced(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR__FENCED || err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
           err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

/* Reads partitions 0..nparts-1 of topic under read_committed; returns the values seen, "|"-joined. */
static void read_committed(const char *topic, int nparts, char *out, size_t cap)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", bootstrap);
    set_conf(conf, "group.id", "txn-fence-readback");
    set_conf(conf, "isolation.level", "read_committed");
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "enable.partition.eof", "true");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fail("rd_kafka_new(consumer): %s", err);
        exit(1);
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    out[0] = '\0';
    size_t used = 0;
    int eofs = 0;
    double deadline = now_s() + 15;
    while (eofs < nparts && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            fail("read_committed %s: %s", topic, rd_kafka_message_errstr(m));
        } else {
            int n = snprintf(out + used, cap - used, "%s%.*s", used ? "|" : "", (int)m->len, (const char *)m->payload);
            if (n > 0 && (size_t)n < cap - used)
                used += (size_t)n;
        }
        rd_kafka_message_destroy(m);
    }
    if (eofs < nparts)
        fail("read_committed %s: only %d of %d partitions reached their end", topic, eofs, nparts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* One fencing case; how = "produce", "add" or "commit". */
static void fence_case(const char *topic, const char *how)
{
    char txn_id[256];
    snprintf(txn_id, sizeof txn_id, "%s-fence-%s", topic, how);
    say("[fence/%s] transactional id %s", how, txn_id);
    dr_state_t s1 = {.name = "p1"}, s2 = {.name = "p2"};
    rd_kafka_t *p1 = producer(txn_id, "60000", &s1);
    if (!call_ok("p1", "init_transactions", rd_kafka_init_transactions(p1, 30000)) ||
        !call_ok("p1", "begin_transaction", rd_kafka_begin_transaction(p1))) {
        rd_kafka_destroy(p1);
        return;
    }
    produce(p1, topic, 0, "p1-a");
    rd_kafka_flush(p1, 10000);
    if (s1.delivered != 1)
        fail("[fence/%s] p1's first record was not delivered (%d ok, %d failed)", how, s1.delivered, s1.failed);

    rd_kafka_t *p2 = producer(txn_id, "60000", &s2);
    double t0 = now_s();
    if (!call_ok("p2", "init_transactions", rd_kafka_init_transactions(p2, 30000))) {
        rd_kafka_destroy(p1);
        rd_kafka_destroy(p2);
        return;
    }
    say("[fence/%s] p2 initialised in %.3f s", how, now_s() - t0);

    if (strcmp(how, "commit") != 0) {
        int32_t part = strcmp(how, "add") == 0 ? 1 : 0;
        produce(p1, topic, part, "p1-b");
        rd_kafka_flush(p1, 10000);
        say("[fence/%s] p1's record after the fence: %d delivered, %d failed (last %s)", how, s1.delivered - 1,
            s1.failed, s1.failed ? rd_kafka_err2name(s1.last_err) : "-");
        if (s1.delivered != 1)
            fail("[fence/%s] p1's record to partition %" PRId32 " was delivered after p2 fenced it", how, part);
        char buf[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(p1, buf, sizeof buf);
        say("[fence/%s] p1's fatal error after its produce: %s %s", how, rd_kafka_err2name(ferr), ferr ? buf : "");
        if (!is_fenced(ferr))
            fail("[fence/%s] p1 raised no fatal fencing error after producing (fatal error %s)", how,
                 rd_kafka_err2name(ferr));
    }
    rd_kafka_error_t *error = rd_kafka_commit_transaction(p1, 10000);
    if (!error) {
        fail("[fence/%s] p1's commit_transaction succeeded after p2 fenced it", how);
    } else {
        say("[fence/%s] p1's commit_transaction: %s (%s) fatal=%d abortable=%d", how, rd_kafka_error_string(error),
            rd_kafka_error_name(error), rd_kafka_error_is_fatal(error), rd_kafka_error_txn_requires_abort(error));
        if (!rd_kafka_error_is_fatal(error))
            fail("[fence/%s] p1's commit_transaction failed with a non-fatal error %s", how,
                 rd_kafka_error_name(error));
        char buf[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(p1, buf, sizeof buf);
        if (!is_fenced(ferr))
            fail("[fence/%s] p1's fatal error is %s, not a fencing error", how, rd_kafka_err2name(ferr));
        rd_kafka_error_destroy(error);
    }
    rd_kafka_destroy(p1);

    char value[64];
    snprintf(value, sizeof value, "p2-%s", how);
    if (call_ok("p2", "begin_transaction", rd_kafka_begin_transaction(p2))) {
        produce(p2, topic, 0, value);
        call_ok("p2", "commit_transaction", rd_kafka_commit_transaction(p2, 10000));
    }
    if (s2.delivered != 1)
        fail("[fence/%s] p2's record: %d delivered, %d failed", how, s2.delivered, s2.failed);
    rd_kafka_destroy(p2);
}

static void mode_fence(const char *topic)
{
    fence_case(topic, "produce");
    fence_case(topic, "add");
    fence_case(topic, "commit");
    char got[4096];
    read_committed(topic, 2, got, sizeof got);
    say("read_committed %s: %s", topic, got);
    if (strcmp(got, "p2-produce|p2-add|p2-commit") != 0)
        fail("read_committed read \"%s\", want exactly p2's records \"p2-produce|p2-add|p2-commit\"", got);
}

/* An error of the expected code, or a failed check. */
static void expect_error(const char *what, rd_kafka_error_t *error, rd_kafka_resp_err_t want)
{
    if (!error) {
        fail("%s: expected init_transactions() to fail with %s, it succeeded", what, rd_kafka_err2name(want));
        return;
    }
    if (rd_kafka_error_code(error) != want)
        fail("%s: expected %s, got %s: %s", what, rd_kafka_err2name(want), rd_kafka_error_name(error),
             rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
}

static void misuse_once(const char *txn_id, int iter)
{
    char what[128];
    dr_state_t st = {.name = "misuse"};
    /* 1. transaction.timeout.ms above the broker's transaction.max.timeout.ms */
    rd_kafka_t *p = producer(txn_id, "2147483647", &st);
    rd_kafka_error_t *error = rd_kafka_init_transactions(p, 10000);
    snprintf(what, sizeof what, "[misuse %d] timeout above the maximum", iter);
    if (!error) {
        fail("%s: expected init_transactions() to fail", what);
    } else {
        if (rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT)
            fail("%s: expected INVALID_TRANSACTION_TIMEOUT, got %s: %s", what, rd_kafka_error_name(error),
                 rd_kafka_error_string(error));
        if (!rd_kafka_error_is_fatal(error))
            fail("%s: the error is not fatal", what);
        rd_kafka_error_destroy(error);
        char buf[256];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(p, buf, sizeof buf);
        if (ferr != RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT)
            fail("%s: fatal error %s, want INVALID_TRANSACTION_TIMEOUT", what, rd_kafka_err2name(ferr));
    }
    rd_kafka_destroy(p);

    /* 2. init twice: the second finds the first done */
    p = producer(txn_id, NULL, &st);
    snprintf(what, sizeof what, "[misuse %d] init, then init again", iter);
    if (call_ok(what, "first init_transactions", rd_kafka_init_transactions(p, 30000))) {
        expect_error(what, rd_kafka_init_transactions(p, 1), RD_KAFKA_RESP_ERR__STATE);
        call_ok(what, "begin_transaction", rd_kafka_begin_transaction(p));
        expect_error(what, rd_kafka_init_transactions(p, 3000), RD_KAFKA_RESP_ERR__STATE);
    }
    rd_kafka_destroy(p);

    /* 3a. a first init that cannot finish in time (0 ms), then one that finishes it */
    p = producer(txn_id, NULL, &st);
    snprintf(what, sizeof what, "[misuse %d] init timing out (0 ms), then init", iter);
    error = rd_kafka_init_transactions(p, 0);
    if (!error) {
        fail("%s: expected init_transactions(0 ms) to fail", what);
    } else {
        if (rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR__TIMED_OUT || !rd_kafka_error_is_retriable(error))
            fail("%s: expected a retriable _TIMED_OUT, got %s: %s", what, rd_kafka_error_name(error),
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    call_ok(what, "init_transactions(30 s)", rd_kafka_init_transactions(p, 30000));
    rd_kafka_destroy(p);

    /*
     * 3b. librdkafka's own version uses 1 ms and expects it to time out. That
     * holds against Kafka only because Kafka is slower: against eddy the two
     * connections, ApiVersions, Metadata, FindCoordinator and InitProducerId
     * often all complete within the millisecond (round trips of 10-70 us).
     * Either outcome is right, as long as the next call agrees with it.
     */
    p = producer(txn_id, NULL, &st);
    snprintf(what, sizeof what, "[misuse %d] init with 1 ms, then init", iter);
    double t0 = now_s();
    error = rd_kafka_init_transactions(p, 1);
    double took_ms = (now_s() - t0) * 1e3;
    say("[misuse %d] init_transactions(1 ms) returned %s after %.3f ms", iter,
        error ? rd_kafka_error_name(error) : "success", took_ms);
    if (error) {
        if (rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR__TIMED_OUT || !rd_kafka_error_is_retriable(error))
            fail("%s: expected a retriable _TIMED_OUT, got %s: %s", what, rd_kafka_error_name(error),
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        call_ok(what, "init_transactions(30 s)", rd_kafka_init_transactions(p, 30000));
    } else {
        expect_error(what, rd_kafka_init_transactions(p, 3000), RD_KAFKA_RESP_ERR__STATE);
    }
    rd_kafka_destroy(p);

    /* 4. init with 1 ms until it succeeds */
    p = producer(txn_id, NULL, &st);
    snprintf(what, sizeof what, "[misuse %d] init 1 ms until done", iter);
    int i;
    for (i = 0; i < 5000; i++) {
        error = rd_kafka_init_transactions(p, 1);
        if (!error)
            break;
        if (!rd_kafka_error_is_retriable(error)) {
            fail("%s: call %d: %s (%s) is not retriable", what, i + 1, rd_kafka_error_string(error),
                 rd_kafka_error_name(error));
            rd_kafka_error_destroy(error);
            break;
        }
        rd_kafka_error_destroy(error);
        error = rd_kafka_begin_transaction(p);
        if (!error || rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR__CONFLICT)
            fail("%s: begin_transaction during init: %s", what, error ? rd_kafka_error_name(error) : "succeeded");
        if (error)
            rd_kafka_error_destroy(error);
    }
    if (i == 5000)
        fail("%s: init_transactions did not succeed in 5000 calls", what);
    say("[misuse %d] init_transactions(1 ms) succeeded after %d call(s)", iter, i + 1);
    expect_error(what, rd_kafka_init_transactions(p, 5000), RD_KAFKA_RESP_ERR__STATE);
    call_ok(what, "begin_transaction", rd_kafka_begin_transaction(p));
    rd_kafka_destroy(p);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
    fprintf(stderr, "usage: compat_txn_fence --bootstrap HOST:PORT --mode fence|misuse --topic T [--iterations N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *mode = NULL, *topic = NULL;
    int iterations = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--bootstrap"))
            bootstrap = argv[i + 1];
        else if (!strcmp(argv[i], "--mode"))
            mode = argv[i + 1];
        else if (!strcmp(argv[i], "--topic"))
            topic = argv[i + 1];
        else if (!strcmp(argv[i], "--iterations"))
            iterations = atoi(argv[i + 1]);
        else
            usage();
    }
    if (argc % 2 != 1 || !bootstrap || !mode || !topic || iterations < 1)
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "fence")) {
        mode_fence(topic);
    } else if (!strcmp(mode, "misuse")) {
        char txn_id[256];
        snprintf(txn_id, sizeof txn_id, "%s-misuse", topic);
        for (int i = 1; i <= iterations; i++) {
            double t0 = now_s();
            misuse_once(txn_id, i);
            say("[misuse %d] done in %.3f s", i, now_s() - t0);
        }
    } else {
        usage();
    }
    say("%s: %d failed check(s)", mode, failures);
    return failures ? 1 : 0;
}
