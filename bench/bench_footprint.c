/*
 * bench_footprint: how small eddy is. It starts fresh broker processes
 * itself (fork/exec on a loopback port it picked) and measures:
 *
 *   - start-up: from just before exec to the first answered Metadata
 *     request, the client retrying connect in a tight loop; the median of
 *     several starts on an empty data directory, and of restarts on a data
 *     directory that already holds the internal topics (__consumer_offsets
 *     and __transaction_state, created by FindCoordinator), so the restart
 *     includes their loading;
 *   - idle RSS (VmRSS of /proc/PID/status) once it accepts connections, and
 *     again after one Metadata request;
 *   - one topic of 10,000 partitions created with CreateTopics: the RSS it
 *     adds per partition, the broker's open descriptors, and the latency of
 *     Metadata for all topics (median and p99 of 50 requests);
 *   - 10,000 connections held open (each has sent one ApiVersions and had
 *     its answer): the RSS each adds.
 *
 * Requests are written by hand (a few fixed layouts, the old non-flexible
 * versions), since the figures are about the broker, not the client.
 *
 * Output: progress on stderr, a markdown table on stdout (figure, measured,
 * target, met?). Figures are reported, never asserted: the exit status is
 * 0 when everything ran to completion, 1 when a step failed, 2 on usage.
 *
 *   bench_footprint EDDY_BINARY WORK_DIR [--starts N] [--partitions N] [--connections N]
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *eddy_path;
static const char *work_dir;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_footprint: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- the broker process ------------------------------------------------ */

typedef struct broker_proc_s {
    pid_t pid;
    int port;
} broker_proc_t;

/* A port the kernel says is free right now (a small race with others is accepted). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* Forks and execs the broker; *t0 is taken just before the fork. */
static int broker_start(broker_proc_t *bp, const char *data_dir, double *t0, const char *max_conns)
{
    bp->port = free_port();
    if (bp->port < 0)
        return -1;
    char listeners[64], logpath[4096];
    snprintf(listeners, sizeof(listeners), "PLAINTEXT://127.0.0.1:%d", bp->port);
    snprintf(logpath, sizeof(logpath), "%s/eddy.log", work_dir);
    *t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(eddy_path, eddy_path, "--listeners", listeners, "--log.dirs", data_dir, "--max.connections", max_conns,
              (char *)NULL);
        _exit(127);
    }
    bp->pid = pid;
    return 0;
}

static void broker_stop(broker_proc_t *bp)
{
    if (bp->pid <= 0)
        return;
    kill(bp->pid, SIGTERM);
    int st;
    double deadline = now_ms() + 10000;
    while (waitpid(bp->pid, &st, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(bp->pid, SIGKILL);
            waitpid(bp->pid, &st, 0);
            break;
        }
        usleep(1000);
    }
    bp->pid = 0;
}

/* A /proc/PID/status field in kB, or -1. */
static long proc_status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long proc_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* ---- a minimal blocking client ---------------------------------------- */

typedef struct wbuf_s {
    uint8_t b[512];
    size_t n;
} wbuf_t;

static void w16(wbuf_t *w, int v)
{
    w->b[w->n++] = (uint8_t)(v >> 8);
    w->b[w->n++] = (uint8_t)v;
}
static void w32(wbuf_t *w, int32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        w->b[w->n++] = (uint8_t)((uint32_t)v >> s);
}
static void wstr(wbuf_t *w, const char *s)
{
    size_t l = strlen(s);
    w16(w, (int)l);
    memcpy(w->b + w->n, s, l);
    w->n += l;
}
/* Size placeholder, then the v1 request header (non-flexible). */
static void wheader(wbuf_t *w, int16_t key, int16_t version, int32_t corr)
{
    w->n = 4;
    w16(w, key);
    w16(w, version);
    w32(w, corr);
    wstr(w, "footprint");
}
static void wfinish(wbuf_t *w)
{
    uint32_t sz = (uint32_t)(w->n - 4);
    w->b[0] = (uint8_t)(sz >> 24);
    w->b[1] = (uint8_t)(sz >> 16);
    w->b[2] = (uint8_t)(sz >> 8);
    w->b[3] = (uint8_t)sz;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads one response frame into *buf (grown as needed); its length, or -1. */
static long read_frame(int fd, uint8_t **buf, size_t *cap)
{
    uint8_t hdr[4];
    if (read_all(fd, hdr, 4) != 0)
        return -1;
    uint32_t sz = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (sz > (256u << 20))
        return -1;
    if (sz > *cap) {
        uint8_t *n = realloc(*buf, sz);
        if (!n)
            return -1;
        *buf = n;
        *cap = sz;
    }
    if (read_all(fd, *buf, sz) != 0)
        return -1;
    return (long)sz;
}

static uint8_t *rx;
static size_t rx_cap;

/* Sends one request and waits for its answer; the answer's length, or -1. */
static long call(int fd, wbuf_t *w)
{
    wfinish(w);
    if (write_all(fd, w->b, w->n) != 0)
        return -1;
    return read_frame(fd, &rx, &rx_cap);
}

static long metadata_all(int fd, int32_t corr)
{
    wbuf_t w;
    wheader(&w, 3, 1, corr);
    w32(&w, -1); /* v1+: null topics means every topic */
    return call(fd, &w);
}

static int connect_once(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {.tv_sec = 30};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/*
 * Connects in a tight loop until the broker listens (or 10 s pass, or it
 * exits). The fd, or -1.
 */
static int connect_retry(const broker_proc_t *bp)
{
    double deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        int fd = connect_once(bp->port);
        if (fd >= 0)
            return fd;
        int st;
        if (waitpid(bp->pid, &st, WNOHANG) == bp->pid) {
            note("eddy exited during start-up (see %s/eddy.log)", work_dir);
            return -1;
        }
        usleep(20);
    }
    note("eddy did not listen within 10 s");
    return -1;
}

/* Starts a broker and times exec to the first answered Metadata. */
static int timed_start(broker_proc_t *bp, const char *data_dir, double *ms, int *fd_out, long *rss_before)
{
    double t0;
    if (broker_start(bp, data_dir, &t0, "20000") != 0)
        return -1;
    int fd = connect_retry(bp);
    if (fd < 0)
        return -1;
    if (rss_before)
        *rss_before = proc_status_kb(bp->pid, "VmRSS");
    if (metadata_all(fd, 1) < 0) {
        close(fd);
        return -1;
    }
    *ms = now_ms() - t0;
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n sorted values, nearest rank. */
static double quantile(const double *v, int n, double q)
{
    int i = (int)(q * n + 0.999999) - 1;
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return v[i];
}

/* FindCoordinator v1 for a group and a transactional id: where Kafka creates the internal topics. */
static int find_coordinators(int fd)
{
    wbuf_t w;
    wheader(&w, 10, 1, 2);
    wstr(&w, "footprint-group");
    w.b[w.n++] = 0;
    if (call(fd, &w) < 0)
        return -1;
    wheader(&w, 10, 1, 3);
    wstr(&w, "footprint-txn");
    w.b[w.n++] = 1;
    return call(fd, &w) < 0 ? -1 : 0;
}

/* CreateTopics v2 of one topic; the topic's error code, or -1. */
static int create_topic(int fd, const char *name, int32_t nparts)
{
    wbuf_t w;
    wheader(&w, 19, 2, 4);
    w32(&w, 1);
    wstr(&w, name);
    w32(&w, nparts);
    w16(&w, 1);
    w32(&w, 0);     /* assignments */
    w32(&w, 0);     /* configs */
    w32(&w, 60000); /* timeout_ms */
    w.b[w.n++] = 0; /* validate_only */
    long n = call(fd, &w);
    /* correlation int32, throttle_time_ms int32, topics int32 count, name string, error_code int16 */
    if (n < 14)
        return -1;
    size_t nl = (size_t)(rx[12] << 8 | rx[13]);
    if ((size_t)n < 14 + nl + 2)
        return -1;
    return (int16_t)(rx[14 + nl] << 8 | rx[15 + nl]);
}

/* ---- the report ----------------------------------------------------- */

typedef struct row_s {
    char figure[96];
    char measured[64];
    char target[32];
    int met; /* 1 yes, 0 no, -1 not applicable */
} row_t;

static row_t rows[32];
static int nrows;

static void row(const char *figure, int met, const char *target, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void row(const char *figure, int met, const char *target, const char *fmt, ...)
{
    if (nrows >= (int)(sizeof(rows) / sizeof(rows[0])))
        return;
    row_t *r = &rows[nrows++];
    snprintf(r->figure, sizeof(r->figure), "%s", figure);
    snprintf(r->target, sizeof(r->target), "%s", target);
    r->met = met;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->measured, sizeof(r->measured), fmt, ap);
    va_end(ap);
}

static void print_table(void)
{
    printf("| figure | measured | target | met? |\n| --- | --- | --- | --- |\n");
    for (int i = 0; i < nrows; i++)
        printf("| %s | %s | %s | %s |\n", rows[i].figure, rows[i].measured, rows[i].target,
               rows[i].met < 0 ? ""
               : rows[i].met   ? "yes"
                               : "**no**");
}

static int make_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", work_dir, name);
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        note("mkdir %s: %s", out, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the phases ------------------------------------------------------ */

static int phase_startup(int starts)
{
    double fresh[64], restart[64];
    char dir[4096], name[32];
    if (starts > 64)
        starts = 64;
    for (int i = 0; i < starts; i++) {
        snprintf(name, sizeof(name), "start-%d", i);
        if (make_dir(dir, sizeof(dir), name) != 0)
            return -1;
        broker_proc_t bp = {0};
        int fd;
        if (timed_start(&bp, dir, &fresh[i], &fd, NULL) != 0) {
            broker_stop(&bp);
            return -1;
        }
        /* leave the internal topics behind so the restart loads them */
        int rc = find_coordinators(fd);
        close(fd);
        broker_stop(&bp);
        if (rc != 0)
            return -1;
        if (timed_start(&bp, dir, &restart[i], NULL, NULL) != 0) {
            broker_stop(&bp);
            return -1;
        }
        broker_stop(&bp);
    }
    qsort(fresh, (size_t)starts, sizeof(double), cmp_double);
    qsort(restart, (size_t)starts, sizeof(double), cmp_double);
    double f = quantile(fresh, starts, 0.5), r = quantile(restart, starts, 0.5);
    note("start-up fresh: min %.2f median %.2f max %.2f ms", fresh[0], f, fresh[starts - 1]);
    note("start-up restart: min %.2f median %.2f max %.2f ms", restart[0], r, restart[starts - 1]);
    char fig[96];
    snprintf(fig, sizeof(fig), "start to first Metadata, empty data dir (median of %d)", starts);
    row(fig, f <= 5.0, "<= 5 ms", "%.2f ms", f);
    snprintf(fig, sizeof(fig), "start to first Metadata, restart with internal topics (median of %d)", starts);
    row(fig, r <= 5.0, "<= 5 ms", "%.2f ms", r);
    return 0;
}

static int phase_partitions(int nparts)
{
    char dir[4096];
    if (make_dir(dir, sizeof(dir), "partitions") != 0)
        return -1;
    broker_proc_t bp = {0};
    double ms;
    int fd;
    long rss_start = -1;
    if (timed_start(&bp, dir, &ms, &fd, &rss_start) != 0)
        goto fail;
    usleep(100000);
    long rss_idle = proc_status_kb(bp.pid, "VmRSS");
    long fds_idle = proc_fds(bp.pid);
    row("idle RSS, after start", rss_start >= 0 && rss_start <= 2048, "<= 2 MB", "%ld kB", rss_start);
    row("idle RSS, after one Metadata", rss_idle <= 2048, "<= 2 MB", "%ld kB", rss_idle);
    /* VmRSS counts the shared libraries' resident pages; RssAnon is what the broker itself holds. */
    long anon = proc_status_kb(bp.pid, "RssAnon"), file = proc_status_kb(bp.pid, "RssFile");
    row("idle RSS: private (RssAnon) / shared libraries and binary (RssFile)", -1, "", "%ld kB / %ld kB", anon, file);

    double t = now_ms();
    int err = create_topic(fd, "footprint", nparts);
    double create_ms = now_ms() - t;
    if (err != 0) {
        note("CreateTopics of %d partitions failed: error %d", nparts, err);
        goto fail;
    }
    note("CreateTopics of %d partitions took %.1f ms", nparts, create_ms);
    /* one Metadata first, so its one-time allocations count as the partitions' */
    if (metadata_all(fd, 5) < 0)
        goto fail;
    usleep(200000);
    long rss_parts = proc_status_kb(bp.pid, "VmRSS");
    long fds_parts = proc_fds(bp.pid);
    double per = (double)(rss_parts - rss_idle) * 1024.0 / nparts;
    char fig[96];
    snprintf(fig, sizeof(fig), "RSS with %d partitions", nparts);
    row(fig, -1, "", "%ld kB", rss_parts);
    row("broker memory per partition", per <= 4096, "<= 4 KB", "%.0f bytes", per);
    snprintf(fig, sizeof(fig), "broker open fds, idle / with %d partitions", nparts);
    row(fig, -1, "", "%ld / %ld", fds_idle, fds_parts);

    enum { NREQ = 50 };
    double lat[NREQ];
    long size = 0;
    for (int i = 0; i < NREQ; i++) {
        t = now_ms();
        size = metadata_all(fd, 100 + i);
        lat[i] = now_ms() - t;
        if (size < 0)
            goto fail;
    }
    qsort(lat, NREQ, sizeof(double), cmp_double);
    double med = quantile(lat, NREQ, 0.5), p99 = quantile(lat, NREQ, 0.99);
    note("Metadata of %d partitions: %ld bytes, min %.2f median %.2f p99 %.2f ms", nparts, size, lat[0], med, p99);
    snprintf(fig, sizeof(fig), "Metadata, all topics (%d partitions), median", nparts);
    row(fig, med <= 20.0, "<= 20 ms", "%.2f ms", med);
    snprintf(fig, sizeof(fig), "Metadata, all topics (%d partitions), p99 of %d", nparts, NREQ);
    row(fig, p99 <= 20.0, "<= 20 ms", "%.2f ms", p99);
    close(fd);
    broker_stop(&bp);
    return 0;
fail:
    broker_stop(&bp);
    return -1;
}

static int phase_connections(int nconns)
{
    char dir[4096];
    if (make_dir(dir, sizeof(dir), "connections") != 0)
        return -1;
    broker_proc_t bp = {0};
    double ms;
    int fd0;
    int *fds = calloc((size_t)nconns, sizeof(int));
    if (!fds)
        return -1;
    for (int i = 0; i < nconns; i++)
        fds[i] = -1;
    int rc = -1, open_n = 0;
    if (timed_start(&bp, dir, &ms, &fd0, NULL) != 0)
        goto out;
    usleep(100000);
    long rss0 = proc_status_kb(bp.pid, "VmRSS");
    long fds0 = proc_fds(bp.pid);
    for (; open_n < nconns; open_n++) {
        fds[open_n] = connect_once(bp.port);
        if (fds[open_n] < 0) {
            note("connection %d: %s", open_n, strerror(errno));
            goto out;
        }
    }
    /* wait until the broker has accepted them all */
    double deadline = now_ms() + 30000;
    while (proc_fds(bp.pid) < fds0 + nconns && now_ms() < deadline)
        usleep(10000);
    usleep(300000);
    long rss_accepted = proc_status_kb(bp.pid, "VmRSS");
    /* one ApiVersions v0 on each, then read every answer */
    wbuf_t w;
    wheader(&w, 18, 0, 7);
    wfinish(&w);
    for (int i = 0; i < nconns; i++)
        if (write_all(fds[i], w.b, w.n) != 0) {
            note("ApiVersions on connection %d: %s", i, strerror(errno));
            goto out;
        }
    for (int i = 0; i < nconns; i++)
        if (read_frame(fds[i], &rx, &rx_cap) < 0) {
            note("ApiVersions answer on connection %d: %s", i, strerror(errno));
            goto out;
        }
    usleep(300000);
    long rss_used = proc_status_kb(bp.pid, "VmRSS");
    double per_acc = (double)(rss_accepted - rss0) * 1024.0 / nconns;
    double per_used = (double)(rss_used - rss0) * 1024.0 / nconns;
    note("connections: RSS %ld kB idle, %ld kB with %d accepted, %ld kB after one ApiVersions each", rss0, rss_accepted,
         nconns, rss_used);
    char fig[96];
    snprintf(fig, sizeof(fig), "RSS with %d idle connections", nconns);
    row(fig, -1, "", "%ld kB", rss_used);
    row("memory per connection, accepted", per_acc <= 16384, "<= 16 KB", "%.0f bytes", per_acc);
    row("memory per connection, after one ApiVersions", per_used <= 16384, "<= 16 KB", "%.0f bytes", per_used);
    rc = 0;
out:
    for (int i = 0; i < open_n && i < nconns; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    broker_stop(&bp);
    return rc;
}

int main(int argc, char **argv)
{
    int starts = 7, nparts = 10000, nconns = 10000;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_footprint EDDY_BINARY WORK_DIR [--starts N] [--partitions N] "
                        "[--connections N]\n");
        return 2;
    }
    eddy_path = argv[1];
    work_dir = argv[2];
    for (int i = 3; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--starts") == 0 && v > 0)
            starts = v;
        else if (strcmp(argv[i], "--partitions") == 0 && v > 0)
            nparts = v;
        else if (strcmp(argv[i], "--connections") == 0 && v >= 0)
            nconns = v;
        else {
            fprintf(stderr, "bench_footprint: bad option %s %s\n", argv[i], argv[i + 1]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconns + 64) {
        note("RLIMIT_NOFILE is %llu: measuring %llu connections instead of %d", (unsigned long long)rl.rlim_cur,
             (unsigned long long)(rl.rlim_cur - 64), nconns);
        nconns = (int)(rl.rlim_cur - 64);
    }
    int failed = 0;
    note("start-up, %d starts", starts);
    if (phase_startup(starts) != 0) {
        note("start-up phase failed");
        failed = 1;
    }
    note("partitions: %d", nparts);
    if (phase_partitions(nparts) != 0) {
        note("partitions phase failed");
        failed = 1;
    }
    if (nconns > 0) {
        note("connections: %d", nconns);
        if (phase_connections(nconns) != 0) {
            note("connections phase failed");
            failed = 1;
        }
    }
    print_table();
    free(rx);
    return failed;
}
