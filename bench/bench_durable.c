/*
 * bench_durable: the durable-mode probe of issue 8 (bench/durable.sh runs it).
 *
 * N connections, one thread each, send Produce requests (v7, acks=-1) built
 * once with eddy's own batch builder and wait for each response before the
 * next, so that every connection has exactly one batch in flight. Against a
 * broker started with --log.flush.interval.messages 1 a response means an
 * fsync covered the batch, and the acknowledged rate over N connections
 * shows how well fsyncs are shared (group commit). Raw sockets rather than
 * librdkafka: a hundred librdkafka instances would spend the two cores this
 * machine has on their own threads, and the figure is the broker's.
 *
 * It owns only its sockets; it creates the topic through a Metadata request
 * (auto-creation, the broker's num.partitions) and checks nothing but the
 * error codes of the responses it reads. Figures are printed as one line:
 *
 *   RESULT conns=N batches=B msgs=M bytes=BYTES secs=S msgs_per_s=.. mb_per_s=.. errors=E p50_ms=.. p99_ms=..
 *
 * bytes counts the record batches sent (what lands in the .log files); MB is
 * 10^6 bytes.
 *
 * Produce v7 request (after the int32 size):
 *   int16 api_key (0) | int16 api_version (7) | int32 correlation_id | string client_id
 *   nullable string transactional_id (-1) | int16 acks (-1) | int32 timeout_ms
 *   [topics] string name | [partitions] int32 index | bytes records (int32 length)
 * Produce v7 response:
 *   int32 correlation_id | [topics] string name | [partitions] int32 index | int16 error_code
 *   int64 base_offset | int64 log_append_time | int64 log_start_offset | int32 throttle_time_ms
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "protocol/record_batch.h"

#define MAX_SAMPLES (1 << 20)

typedef struct opts_s {
    const char *host;
    int port;
    const char *topic;
    int conns;
    int partitions;
    int records; /* per batch */
    int value_bytes;
    double seconds;
} opts_t;

typedef struct conn_s {
    pthread_t thread;
    const opts_t *o;
    int index;
    uint8_t *req;
    size_t req_len;
    long batches;
    long errors;
    double *lat_ms;
    size_t nlat;
    size_t cap;
    int failed;
} conn_t;

static double start_time, end_time;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
    fprintf(stderr, "bench_durable: %s\n", msg);
    exit(1);
}

static void put16(buf_t *b, int16_t v)
{
    uint8_t x[2] = {(uint8_t)((uint16_t)v >> 8), (uint8_t)v};
    if (buf_append(b, x, 2) != 0)
        die("out of memory");
}

static void put32(buf_t *b, int32_t v)
{
    uint32_t u = (uint32_t)v;
    uint8_t x[4] = {(uint8_t)(u >> 24), (uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u};
    if (buf_append(b, x, 4) != 0)
        die("out of memory");
}

static void put_str(buf_t *b, const char *s)
{
    put16(b, (int16_t)strlen(s));
    if (buf_append(b, s, strlen(s)) != 0)
        die("out of memory");
}

static int32_t get32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int16_t get16(const uint8_t *p)
{
    return (int16_t)((uint16_t)(p[0] << 8) | p[1]);
}

/* Fixes the leading size field once the message is complete. */
static void finish(buf_t *b)
{
    uint32_t n = (uint32_t)(b->len - 4);
    b->data[0] = (uint8_t)(n >> 24);
    b->data[1] = (uint8_t)(n >> 16);
    b->data[2] = (uint8_t)(n >> 8);
    b->data[3] = (uint8_t)n;
}

static void build_produce(buf_t *out, const opts_t *o, int partition, const buf_t *batch)
{
    put32(out, 0);
    put16(out, 0);
    put16(out, 7);
    put32(out, 1);
    put_str(out, "bench_durable");
    put16(out, -1);
    put16(out, -1);
    put32(out, 30000);
    put32(out, 1);
    put_str(out, o->topic);
    put32(out, 1);
    put32(out, partition);
    put32(out, (int32_t)batch->len);
    if (buf_append(out, batch->data, batch->len) != 0)
        die("out of memory");
    finish(out);
}

static int connect_to(const opts_t *o)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one response into buf (its size field stripped); -1 on a broken or oversized one. */
static int read_response(int fd, buf_t *buf)
{
    uint8_t sz[4];
    if (recv_all(fd, sz, 4) != 0)
        return -1;
    int32_t n = get32(sz);
    if (n < 4 || n > (1 << 20))
        return -1;
    buf->len = 0;
    if (buf_reserve(buf, (size_t)n) != 0)
        return -1;
    if (recv_all(fd, buf->data, (size_t)n) != 0)
        return -1;
    buf->len = (size_t)n;
    return 0;
}

/* The first partition's error code of a Produce v7 response, or -1000 when it does not parse. */
static int produce_error(const buf_t *r)
{
    const uint8_t *p = r->data, *end = r->data + r->len;
    if (end - p < 8)
        return -1000;
    p += 4; /* correlation id */
    if (get32(p) < 1)
        return -1000;
    p += 4;
    if (end - p < 2)
        return -1000;
    int16_t nl = get16(p);
    p += 2;
    if (nl < 0 || end - p < nl + 4 + 4 + 2)
        return -1000;
    p += nl + 4 + 4;
    return get16(p);
}

/* Metadata v1 for the topic: creates it (auto.create.topics.enable) and waits for the answer. */
static void create_topic(const opts_t *o)
{
    int fd = connect_to(o);
    if (fd < 0)
        die("cannot connect");
    buf_t b, r;
    buf_init(&b);
    buf_init(&r);
    put32(&b, 0);
    put16(&b, 3);
    put16(&b, 1);
    put32(&b, 7);
    put_str(&b, "bench_durable");
    put32(&b, 1);
    put_str(&b, o->topic);
    finish(&b);
    if (send_all(fd, b.data, b.len) != 0 || read_response(fd, &r) != 0)
        die("metadata request failed");
    buf_fini(&b);
    buf_fini(&r);
    close(fd);
}

static void *conn_run(void *arg)
{
    conn_t *c = arg;
    buf_t r;
    buf_init(&r);
    int fd = connect_to(c->o);
    if (fd < 0) {
        c->failed = 1;
        return NULL;
    }
    /* Until the topic answers, retry (auto-creation may still be under way). */
    for (int tries = 0;; tries++) {
        if (send_all(fd, c->req, c->req_len) != 0 || read_response(fd, &r) != 0) {
            c->failed = 1;
            goto out;
        }
        int err = produce_error(&r);
        if (err == 0)
            break;
        if (tries > 100) {
            fprintf(stderr, "bench_durable: connection %d: error %d\n", c->index, err);
            c->failed = 1;
            goto out;
        }
        usleep(20000);
    }
    /* Wait for everyone, so that all connections run over the same span. */
    while (now_s() < start_time)
        usleep(1000);
    for (;;) {
        double t0 = now_s();
        if (t0 >= end_time)
            break;
        if (send_all(fd, c->req, c->req_len) != 0 || read_response(fd, &r) != 0) {
            c->failed = 1;
            break;
        }
        double t1 = now_s();
        if (produce_error(&r) != 0) {
            c->errors++;
            continue;
        }
        c->batches++;
        if (c->nlat < c->cap)
            c->lat_ms[c->nlat++] = (t1 - t0) * 1e3;
    }
out:
    close(fd);
    buf_fini(&r);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_durable -p PORT [-H HOST] [-t TOPIC] [-c CONNS] [-P PARTITIONS]\n"
                    "                     [-r RECORDS_PER_BATCH] [-v VALUE_BYTES] [-s SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    opts_t o = {"127.0.0.1", 0, "durable", 1, 1, 1, 100, 5.0};
    int ch;
    while ((ch = getopt(argc, argv, "H:p:t:c:P:r:v:s:h")) != -1) {
        switch (ch) {
        case 'H': o.host = optarg; break;
        case 'p': o.port = atoi(optarg); break;
        case 't': o.topic = optarg; break;
        case 'c': o.conns = atoi(optarg); break;
        case 'P': o.partitions = atoi(optarg); break;
        case 'r': o.records = atoi(optarg); break;
        case 'v': o.value_bytes = atoi(optarg); break;
        case 's': o.seconds = atof(optarg); break;
        default: usage();
        }
    }
    if (o.port <= 0 || o.conns <= 0 || o.partitions <= 0 || o.records <= 0 || o.value_bytes < 0 || o.seconds <= 0)
        usage();

    /* One batch for everyone: the broker assigns offsets, so resending it is fine. */
    uint8_t *value = malloc((size_t)o.value_bytes + 1);
    proto_record_spec_t *recs = calloc((size_t)o.records, sizeof *recs);
    if (!value || !recs)
        die("out of memory");
    memset(value, 'v', (size_t)o.value_bytes + 1);
    for (int i = 0; i < o.records; i++) {
        recs[i].key.len = -1;
        recs[i].value.ptr = value;
        recs[i].value.len = o.value_bytes;
    }
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.base_timestamp = (int64_t)time(NULL) * 1000;
    buf_t batch;
    buf_init(&batch);
    if (proto_batch_build(&batch, &spec, recs, o.records) != 0)
        die("cannot build the batch");

    create_topic(&o);
    conn_t *cs = calloc((size_t)o.conns, sizeof *cs);
    if (!cs)
        die("out of memory");
    start_time = now_s() + 0.5 + 0.01 * o.conns;
    end_time = start_time + o.seconds;
    for (int i = 0; i < o.conns; i++) {
        buf_t req;
        buf_init(&req);
        build_produce(&req, &o, i % o.partitions, &batch);
        cs[i].o = &o;
        cs[i].index = i;
        cs[i].req = req.data;
        cs[i].req_len = req.len;
        cs[i].cap = MAX_SAMPLES / (size_t)(o.conns < 64 ? 1 : 16);
        cs[i].lat_ms = malloc(sizeof(double) * cs[i].cap);
        if (!cs[i].lat_ms)
            die("out of memory");
        if (pthread_create(&cs[i].thread, NULL, conn_run, &cs[i]) != 0)
            die("cannot start a thread");
    }
    long batches = 0, errors = 0;
    int failed = 0;
    size_t nlat = 0;
    for (int i = 0; i < o.conns; i++) {
        pthread_join(cs[i].thread, NULL);
        batches += cs[i].batches;
        errors += cs[i].errors;
        failed += cs[i].failed;
        nlat += cs[i].nlat;
    }
    double *all = malloc(sizeof(double) * (nlat + 1));
    if (!all)
        die("out of memory");
    size_t k = 0;
    for (int i = 0; i < o.conns; i++) {
        memcpy(all + k, cs[i].lat_ms, sizeof(double) * cs[i].nlat);
        k += cs[i].nlat;
    }
    qsort(all, nlat, sizeof(double), cmp_double);
    double p50 = nlat ? all[nlat / 2] : 0, p99 = nlat ? all[(size_t)((double)nlat * 0.99)] : 0;
    double secs = o.seconds;
    double bytes = (double)batches * (double)batch.len;
    printf("RESULT conns=%d partitions=%d batches=%ld msgs=%ld bytes=%.0f batch_bytes=%zu secs=%.3f msgs_per_s=%.1f "
           "mb_per_s=%.2f errors=%ld failed=%d p50_ms=%.3f p99_ms=%.3f\n",
           o.conns, o.partitions, batches, batches * o.records, bytes, batch.len, secs,
           (double)batches * o.records / secs, bytes / 1e6 / secs, errors, failed, p50, p99);
    for (int i = 0; i < o.conns; i++) {
        free(cs[i].req);
        free(cs[i].lat_ms);
    }
    free(cs);
    free(all);
    free(value);
    free(recs);
    buf_fini(&batch);
    return failed || errors ? 1 : 0;
}
