/*
 * bench_groups: consumer-group figures for eddy, in three modes.
 *
 * --rebalance drives a real broker with N unmodified librdkafka high-level
 * consumers in this one process (one rd_kafka_t and one poll thread each),
 * all subscribed to one topic of P partitions in one group. It times two
 * rebalances end to end: the join, from the first rd_kafka_subscribe() to
 * the moment every member's rebalance callback has received an assignment
 * and the members' assignments together cover every partition exactly once;
 * and the leave, from rd_kafka_consumer_close() on one member to the same
 * condition over the N-1 that remain. The broker's view is then checked
 * with DescribeGroups (state and member count, untimed).
 *
 * --commits drives a real broker with one group member committing the
 * offset of one partition in a loop: synchronous commits one at a time
 * (each waits for its answer), or a window of asynchronous commits kept in
 * flight. Latency is from the commit call to its result.
 *
 * --coordinator runs no broker: it drives the pure group coordinator
 * (coordinator/group.h) in-process with a fake append callback and reports
 * the CPU cost of join storms of N members, heartbeats and commits.
 *
 * Output: informational lines begin with '#'; each measurement ends with
 * one "RESULT phase=... key=value ..." line whose keys never change. It
 * measures; exit 0 when every phase reached its end condition, 1 when one
 * timed out or a client failed, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "coordinator/group.h"
#include "protocol/writer.h"

typedef enum { MODE_NONE, MODE_REBALANCE, MODE_COMMITS, MODE_COORDINATOR } bench_mode_t;

typedef struct {
    bench_mode_t mode;
    const char *bootstrap;
    char topic[200];
    char group[200];
    int members;
    int partitions;
    const char *assignor; /* partition.assignment.strategy */
    int heartbeat_ms;     /* heartbeat.interval.ms; 0: librdkafka's default */
    int session_ms;       /* session.timeout.ms; 0: librdkafka's default */
    double timeout_s;     /* per rebalance phase */
    double duration_s;    /* --commits */
    int window;           /* --commits: async commits in flight; 0: synchronous */
    int rounds;           /* --coordinator */
    const char *debug;    /* librdkafka debug contexts */
    bool keep;            /* leave the topic behind */
} bench_opts_t;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_groups: ", stderr);
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

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Percentile of sorted microsecond samples, in milliseconds (nearest rank). */
static double pct_ms(const uint32_t *sorted, size_t n, unsigned pct)
{
    if (n == 0)
        return 0.0;
    size_t i = (n * pct + 99) / 100;
    if (i == 0)
        i = 1;
    return sorted[i - 1] / 1000.0;
}

static void set_conf(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die("config %s=%s: %s", name, value, err);
}

static void set_conf_int(rd_kafka_conf_t *conf, const char *name, long long value)
{
    char v[32];
    snprintf(v, sizeof(v), "%lld", value);
    set_conf(conf, name, v);
}

static bool debug_forward;

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (level < 7 || debug_forward)
        fprintf(stderr, "%.3f rdkafka %s %d %s: %s\n", (double)(now_us() % 100000000u) / 1e3, rd_kafka_name(rk), level,
                fac, buf);
}

/* A 100-member run opens a few hundred sockets and wakeup fds. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- admin ---------------------------------------------------------------- */

static rd_kafka_t *new_admin(const bench_opts_t *o)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", "eddy-bench-admin");
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new(admin): %s", err);
    return rk;
}

/* CreateTopics, then wait until metadata shows a leader for every partition. */
static void create_topic(rd_kafka_t *rk, const char *topic, int partitions)
{
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof(err));
    if (!nt)
        die("NewTopic(%s): %s", topic, err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    if (!ev)
        die("CreateTopics(%s): no answer within 20 s", topic);
    if (rd_kafka_event_error(ev))
        die("CreateTopics(%s): %s", topic, rd_kafka_event_error_string(ev));
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    if (cnt != 1 || rd_kafka_topic_result_error(tr[0]))
        die("CreateTopics(%s): %s", topic,
            cnt != 1 ? "wrong number of results" : rd_kafka_err2str(rd_kafka_topic_result_error(tr[0])));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);

    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    uint64_t deadline = now_us() + 20000000u;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        bool ready = false;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ready = md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt == partitions;
            for (int i = 0; ready && i < md->topics[0].partition_cnt; i++)
                ready = md->topics[0].partitions[i].leader >= 0;
            rd_kafka_metadata_destroy(md);
        }
        if (ready)
            break;
        if (now_us() > deadline)
            die("topic %s has no leader for every partition after 20 s", topic);
        usleep(50000);
    }
    rd_kafka_topic_destroy(rkt);
}

/* The broker's view of the group (DescribeGroups): state name and member count. */
static void describe_group(rd_kafka_t *rk, const char *group, char *state, size_t cap, int *nmembers)
{
    snprintf(state, cap, "unknown");
    *nmembers = -1;
    const char *groups[] = {group};
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DescribeConsumerGroups(rk, groups, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
    if (ev && !rd_kafka_event_error(ev)) {
        size_t cnt = 0;
        const rd_kafka_ConsumerGroupDescription_t **d =
            rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &cnt);
        if (cnt == 1 && !rd_kafka_ConsumerGroupDescription_error(d[0])) {
            snprintf(state, cap, "%s",
                     rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d[0])));
            *nmembers = (int)rd_kafka_ConsumerGroupDescription_member_count(d[0]);
        }
    } else {
        fprintf(stderr, "bench_groups: DescribeConsumerGroups(%s): %s\n", group,
                ev ? rd_kafka_event_error_string(ev) : "no answer within 10 s");
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
}

/* Best effort: a run leaves no 100-partition topic behind on a shared broker. */
static void delete_topic(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    if (!ev || rd_kafka_event_error(ev))
        fprintf(stderr, "bench_groups: DeleteTopics(%s): %s\n", topic,
                ev ? rd_kafka_event_error_string(ev) : "no answer within 20 s");
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
}

/* ---- --rebalance ------------------------------------------------------------ */

typedef struct member_s {
    int idx;
    rd_kafka_t *rk;
    pthread_t thr;
    atomic_bool stop;
    atomic_bool close_on_stop;
    bool cooperative;
    /* guarded by reb.mu */
    bool active;    /* counted by the end condition */
    uint8_t *owned; /* per partition of the topic */
    int assigns;    /* ASSIGN callbacks since the phase began */
} member_t;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *topic;
    int partitions;
    member_t *members;
    int nmembers;
    int *owners;      /* per partition: how many active members own it */
    uint64_t done_us; /* 0 until the phase's end condition held */
    int errors;
} reb = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Every active member has been assigned in this phase and the assignments
 * partition the topic. Called with reb.mu held. With the eager protocol a
 * member empties its assignment before it rejoins, so once every member has
 * received an assignment that together cover the topic exactly once, they
 * all hold the same generation and nobody is left out. */
static void check_done_locked(void)
{
    if (reb.done_us)
        return;
    for (int i = 0; i < reb.nmembers; i++) {
        const member_t *m = &reb.members[i];
        /* Cooperative rebalances may leave a member's assignment unchanged;
         * librdkafka still calls back (an empty ASSIGN), which counts. */
        if (m->active && m->assigns == 0)
            return;
    }
    for (int p = 0; p < reb.partitions; p++)
        if (reb.owners[p] != 1)
            return;
    reb.done_us = now_us();
    pthread_cond_broadcast(&reb.cv);
}

static void own_locked(member_t *m, const rd_kafka_topic_partition_list_t *parts, bool add)
{
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (strcmp(tp->topic, reb.topic) != 0 || tp->partition < 0 || tp->partition >= reb.partitions)
            continue;
        if (add && !m->owned[tp->partition]) {
            m->owned[tp->partition] = 1;
            reb.owners[tp->partition]++;
        } else if (!add && m->owned[tp->partition]) {
            m->owned[tp->partition] = 0;
            reb.owners[tp->partition]--;
        }
    }
}

static void disown_all_locked(member_t *m)
{
    for (int p = 0; p < reb.partitions; p++) {
        if (m->owned[p]) {
            m->owned[p] = 0;
            reb.owners[p]--;
        }
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    member_t *m = opaque;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    if (m->cooperative)
        error = assign ? rd_kafka_incremental_assign(rk, parts) : rd_kafka_incremental_unassign(rk, parts);
    else
        aerr = rd_kafka_assign(rk, assign ? parts : NULL);
    bool failed = error || aerr;
    if (error) {
        fprintf(stderr, "bench_groups: member %d: %s\n", m->idx, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    if (aerr)
        fprintf(stderr, "bench_groups: member %d: assign: %s\n", m->idx, rd_kafka_err2str(aerr));

    pthread_mutex_lock(&reb.mu);
    if (assign) {
        own_locked(m, parts, true);
        m->assigns++;
    } else if (m->cooperative) {
        own_locked(m, parts, false);
    } else {
        disown_all_locked(m);
    }
    if (failed)
        reb.errors++;
    check_done_locked();
    pthread_mutex_unlock(&reb.mu);
}

static void *member_thread(void *arg)
{
    member_t *m = arg;
    while (!atomic_load(&m->stop)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->rk, 100);
        if (msg)
            rd_kafka_message_destroy(msg);
    }
    /* Members close in parallel at the end; the leaver is closed (and timed) by main. */
    if (atomic_load(&m->close_on_stop))
        rd_kafka_consumer_close(m->rk);
    return NULL;
}

static rd_kafka_t *new_consumer(const bench_opts_t *o, const char *client_id, void *opaque, bool with_rebalance_cb)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set_conf(conf, "bootstrap.servers", o->bootstrap);
    set_conf(conf, "client.id", client_id);
    set_conf(conf, "group.id", o->group);
    set_conf(conf, "enable.auto.commit", "false");
    set_conf(conf, "auto.offset.reset", "earliest");
    set_conf(conf, "partition.assignment.strategy", o->assignor);
    if (o->heartbeat_ms > 0)
        set_conf_int(conf, "heartbeat.interval.ms", o->heartbeat_ms);
    if (o->session_ms > 0)
        set_conf_int(conf, "session.timeout.ms", o->session_ms);
    if (o->debug) {
        set_conf(conf, "debug", o->debug);
        debug_forward = true;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    if (with_rebalance_cb)
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk)
        die("rd_kafka_new(consumer): %s", err);
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Waits for the phase's end condition; returns seconds since start, or -1 on timeout. */
static double wait_phase(uint64_t start, double timeout_s, int *rounds)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)timeout_s;
    pthread_mutex_lock(&reb.mu);
    while (!reb.done_us) {
        if (pthread_cond_timedwait(&reb.cv, &reb.mu, &dl) == ETIMEDOUT)
            break;
    }
    uint64_t done = reb.done_us;
    int max_assigns = 0, missing = 0;
    for (int i = 0; i < reb.nmembers; i++) {
        const member_t *m = &reb.members[i];
        if (m->active && m->assigns > max_assigns)
            max_assigns = m->assigns;
        if (m->active && m->assigns == 0)
            missing++;
    }
    int uncovered = 0, doubled = 0;
    for (int p = 0; p < reb.partitions; p++) {
        uncovered += reb.owners[p] == 0;
        doubled += reb.owners[p] > 1;
    }
    pthread_mutex_unlock(&reb.mu);
    *rounds = max_assigns;
    if (!done) {
        fprintf(stderr,
                "bench_groups: no stable assignment after %.0f s: %d members not yet assigned, %d partitions "
                "unowned, %d owned twice\n",
                timeout_s, missing, uncovered, doubled);
        return -1;
    }
    return (double)(done - start) / 1e6;
}

static void reset_phase(void)
{
    pthread_mutex_lock(&reb.mu);
    reb.done_us = 0;
    for (int i = 0; i < reb.nmembers; i++)
        reb.members[i].assigns = 0;
    pthread_mutex_unlock(&reb.mu);
}

static int run_rebalance(const bench_opts_t *o)
{
    raise_fd_limit();
    rd_kafka_t *admin = new_admin(o);
    create_topic(admin, o->topic, o->partitions);

    reb.topic = o->topic;
    reb.partitions = o->partitions;
    reb.nmembers = o->members;
    reb.members = calloc((size_t)o->members, sizeof(member_t));
    reb.owners = calloc((size_t)o->partitions, sizeof(int));
    if (!reb.members || !reb.owners)
        die("out of memory");
    bool cooperative = strcmp(o->assignor, "cooperative-sticky") == 0;
    for (int i = 0; i < o->members; i++) {
        member_t *m = &reb.members[i];
        char cid[64];
        snprintf(cid, sizeof(cid), "eddy-bench-m%d", i);
        m->idx = i;
        m->active = true;
        m->cooperative = cooperative;
        m->owned = calloc((size_t)o->partitions, 1);
        if (!m->owned)
            die("out of memory");
        m->rk = new_consumer(o, cid, m, true);
    }
    /* Bootstrap connections and ApiVersions are client start-up, not the
     * rebalance: let every client finish them before the clock starts. */
    for (int i = 0; i < o->members; i++) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(reb.members[i].rk, 0, NULL, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
    }
    for (int i = 0; i < o->members; i++)
        if (pthread_create(&reb.members[i].thr, NULL, member_thread, &reb.members[i]) != 0)
            die("pthread_create: %s", strerror(errno));

    char hb[32];
    snprintf(hb, sizeof(hb), "%d", o->heartbeat_ms);
    printf("# %d members, topic %s with %d partitions, group %s, assignor %s, heartbeat.interval.ms %s\n", o->members,
           o->topic, o->partitions, o->group, o->assignor, o->heartbeat_ms > 0 ? hb : "librdkafka's default (3000)");
    fflush(stdout);

    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
    reset_phase();
    uint64_t t0 = now_us();
    for (int i = 0; i < o->members; i++) {
        rd_kafka_resp_err_t err = rd_kafka_subscribe(reb.members[i].rk, sub);
        if (err)
            die("subscribe: %s", rd_kafka_err2str(err));
    }
    double subscribe_ms = (double)(now_us() - t0) / 1000.0;
    rd_kafka_topic_partition_list_destroy(sub);
    int join_rounds = 0;
    double join_s = wait_phase(t0, o->timeout_s, &join_rounds);
    char state[64];
    int described = -1;
    if (join_s >= 0)
        describe_group(admin, o->group, state, sizeof(state), &described);
    else
        snprintf(state, sizeof(state), "timeout");
    printf("RESULT phase=join group=%s members=%d partitions=%d assignor=%s secs=%.3f rounds=%d subscribe_ms=%.1f "
           "state=%s described_members=%d\n",
           o->group, o->members, o->partitions, o->assignor, join_s, join_rounds, subscribe_ms, state, described);
    fflush(stdout);
    int rc = join_s >= 0 && reb.errors == 0 ? 0 : 1;

    /* One member leaves (LeaveGroup from consumer_close); the rest rebalance.
     * They learn of it from their next heartbeat's REBALANCE_IN_PROGRESS. */
    if (rc == 0 && o->members > 1) {
        member_t *leaver = &reb.members[o->members - 1];
        atomic_store(&leaver->stop, true);
        pthread_join(leaver->thr, NULL);
        reset_phase();
        pthread_mutex_lock(&reb.mu);
        leaver->active = false;
        pthread_mutex_unlock(&reb.mu);
        uint64_t t1 = now_us();
        rd_kafka_resp_err_t cerr = rd_kafka_consumer_close(leaver->rk);
        double close_ms = (double)(now_us() - t1) / 1000.0;
        if (cerr)
            fprintf(stderr, "bench_groups: consumer_close: %s\n", rd_kafka_err2str(cerr));
        int leave_rounds = 0;
        double leave_s = wait_phase(t1, o->timeout_s, &leave_rounds);
        if (leave_s >= 0)
            describe_group(admin, o->group, state, sizeof(state), &described);
        else
            snprintf(state, sizeof(state), "timeout");
        printf("RESULT phase=leave group=%s members=%d partitions=%d assignor=%s secs=%.3f rounds=%d close_ms=%.1f "
               "state=%s described_members=%d\n",
               o->group, o->members - 1, o->partitions, o->assignor, leave_s, leave_rounds, close_ms, state, described);
        fflush(stdout);
        if (leave_s < 0)
            rc = 1;
        rd_kafka_destroy(leaver->rk);
        leaver->rk = NULL;
    }

    for (int i = 0; i < o->members; i++) {
        atomic_store(&reb.members[i].close_on_stop, true);
        atomic_store(&reb.members[i].stop, true);
    }
    for (int i = 0; i < o->members; i++)
        if (reb.members[i].rk)
            pthread_join(reb.members[i].thr, NULL);
    for (int i = 0; i < o->members; i++) {
        if (reb.members[i].rk)
            rd_kafka_destroy(reb.members[i].rk);
        free(reb.members[i].owned);
    }
    free(reb.members);
    free(reb.owners);
    if (!o->keep)
        delete_topic(admin, o->topic);
    rd_kafka_destroy(admin);
    return rc;
}

/* ---- --commits ---------------------------------------------------------------- */

typedef struct {
    uint64_t *sent_us; /* per commit sequence number */
    uint32_t *lat_us;
    size_t nlat, cap;
    size_t inflight;
    size_t failed;
} commit_state_t;

static void lat_push(commit_state_t *st, uint64_t us)
{
    if (st->nlat == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 65536;
        st->lat_us = realloc(st->lat_us, st->cap * sizeof(*st->lat_us));
        if (!st->lat_us)
            die("out of memory");
    }
    st->lat_us[st->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void commit_done_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                           void *opaque)
{
    commit_state_t *st = rd_kafka_opaque(rk);
    uint64_t seq = (uint64_t)(uintptr_t)opaque;
    st->inflight--;
    if (err || (offsets && offsets->cnt == 1 && offsets->elems[0].err)) {
        if (st->failed++ == 0)
            fprintf(stderr, "bench_groups: commit: %s\n", rd_kafka_err2str(err ? err : offsets->elems[0].err));
        return;
    }
    lat_push(st, now_us() - st->sent_us[seq]);
}

static int run_commits(const bench_opts_t *o)
{
    rd_kafka_t *admin = new_admin(o);
    create_topic(admin, o->topic, 1);

    commit_state_t st = {0};
    rd_kafka_t *rk = new_consumer(o, "eddy-bench-committer", &st, false);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(rk, sub))
        die("subscribe failed");
    rd_kafka_topic_partition_list_destroy(sub);
    /* Commit as a member of a Stable group (generation checked), as a real consumer does. */
    uint64_t deadline = now_us() + (uint64_t)(o->timeout_s * 1e6);
    for (;;) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        if (msg)
            rd_kafka_message_destroy(msg);
        rd_kafka_topic_partition_list_t *a = NULL;
        bool assigned = rd_kafka_assignment(rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a->cnt == 1;
        if (a)
            rd_kafka_topic_partition_list_destroy(a);
        if (assigned)
            break;
        if (now_us() > deadline)
            die("no assignment after %.0f s", o->timeout_s);
    }

    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    size_t seq_cap = 1u << 20;
    st.sent_us = malloc(seq_cap * sizeof(*st.sent_us));
    if (!st.sent_us)
        die("out of memory");
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(offs, o->topic, 0);

    /* 200 unreported commits first: connection and code paths warm. */
    const size_t warmup = 200;
    uint64_t seq = 0, t0 = 0, end_us = 0;
    size_t measured_from = 0;
    for (;;) {
        uint64_t t = now_us();
        if (seq == warmup && t0 == 0) {
            /* Drain the warm-up, then start the clock. */
            while (st.inflight)
                rd_kafka_queue_poll_callback(q, 100);
            st.nlat = 0;
            measured_from = st.failed;
            t0 = now_us();
            end_us = t0 + (uint64_t)(o->duration_s * 1e6);
            t = t0;
        }
        if (t0 && t >= end_us)
            break;
        if (seq == seq_cap) {
            seq_cap *= 2;
            st.sent_us = realloc(st.sent_us, seq_cap * sizeof(*st.sent_us));
            if (!st.sent_us)
                die("out of memory");
        }
        tp->offset = (int64_t)seq + 1;
        st.sent_us[seq] = now_us();
        if (o->window == 0) {
            rd_kafka_resp_err_t err = rd_kafka_commit(rk, offs, 0);
            if (err || offs->elems[0].err) {
                if (st.failed++ == 0)
                    fprintf(stderr, "bench_groups: commit: %s\n", rd_kafka_err2str(err ? err : offs->elems[0].err));
            } else {
                lat_push(&st, now_us() - st.sent_us[seq]);
            }
            offs->elems[0].err = 0;
        } else {
            rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk, offs, q, commit_done_cb, (void *)(uintptr_t)seq);
            if (err)
                die("commit_queue: %s", rd_kafka_err2str(err));
            st.inflight++;
            while (st.inflight >= (size_t)o->window)
                rd_kafka_queue_poll_callback(q, 100);
            rd_kafka_queue_poll_callback(q, 0);
        }
        seq++;
        /* Keep the group membership alive (max.poll.interval.ms). */
        if ((seq & 1023) == 0) {
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 0);
            if (msg)
                rd_kafka_message_destroy(msg);
        }
    }
    while (st.inflight)
        rd_kafka_queue_poll_callback(q, 100);
    double secs = (double)(now_us() - t0) / 1e6;
    size_t n = st.nlat;
    qsort(st.lat_us, n, sizeof(*st.lat_us), cmp_u32);
    printf("RESULT phase=commits mode=%s window=%d commits=%zu secs=%.3f commits_per_s=%.0f p50_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f failed=%zu\n",
           o->window ? "async" : "sync", o->window ? o->window : 1, n, secs, (double)n / secs, pct_ms(st.lat_us, n, 50),
           pct_ms(st.lat_us, n, 99), n ? st.lat_us[n - 1] / 1000.0 : 0.0, st.failed - measured_from);
    fflush(stdout);
    int rc = st.failed ? 1 : 0;

    /* Read back what the broker kept: the last offset must be there. */
    rd_kafka_topic_partition_list_t *chk = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(chk, o->topic, 0);
    if (rd_kafka_committed(rk, chk, 10000) || chk->elems[0].offset != (int64_t)seq) {
        fprintf(stderr, "bench_groups: committed offset read back as %" PRId64 ", expected %" PRIu64 "\n",
                chk->elems[0].offset, seq);
        rc = 1;
    }
    rd_kafka_topic_partition_list_destroy(chk);
    rd_kafka_topic_partition_list_destroy(offs);
    rd_kafka_queue_destroy(q);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (!o->keep)
        delete_topic(admin, o->topic);
    rd_kafka_destroy(admin);
    free(st.sent_us);
    free(st.lat_us);
    return rc;
}

/* ---- --coordinator -------------------------------------------------------------- */

/*
 * The coordinator alone: no sockets, no log, a clock that only moves when
 * told. The fake append accepts everything and counts, so the figures are
 * the state machine's own CPU cost (group and offset records are still
 * encoded). Members join as librdkafka does: JoinGroup v5 with an empty
 * member id (MEMBER_ID_REQUIRED), again with the id, then SyncGroup.
 */

#define COORD_T0 1700000000000LL

typedef struct {
    uint64_t appends, records;
} coord_sink_t;

static int16_t coord_append(void *arg, int32_t partition, const proto_record_spec_t *records, int n, int64_t now_ms)
{
    (void)partition;
    (void)records;
    (void)now_ms;
    coord_sink_t *s = arg;
    s->appends++;
    s->records += (uint64_t)n;
    return 0;
}

typedef struct {
    group_waiter_t w; /* first: the callbacks get &w */
    arena_t arena;
    bool done;
    int16_t err;
    int32_t generation;
    bool leader;
    int32_t nmembers_seen; /* members in the leader's JoinGroup answer */
    char id[128];
} coord_member_t;

static void coord_keep_join(coord_member_t *cm, const group_join_result_t *r)
{
    cm->done = true;
    cm->err = r->error_code;
    cm->generation = r->generation_id;
    int len = r->member_id.len > 0 && r->member_id.len < (int)sizeof(cm->id) ? r->member_id.len : 0;
    memcpy(cm->id, r->member_id.ptr, (size_t)len);
    cm->id[len] = '\0';
    cm->leader = r->leader.len == r->member_id.len && r->leader.len > 0 &&
                 memcmp(r->leader.ptr, r->member_id.ptr, (size_t)r->leader.len) == 0;
    cm->nmembers_seen = r->members_count;
}

static void coord_join_cb(group_waiter_t *w, const group_join_result_t *r)
{
    coord_keep_join((coord_member_t *)w, r);
}

static void coord_sync_cb(group_waiter_t *w, const group_sync_result_t *r)
{
    coord_member_t *cm = (coord_member_t *)w;
    cm->done = true;
    cm->err = r->error_code;
}

static void coord_waiter_reset(coord_member_t *cm)
{
    arena_reset(&cm->arena);
    cm->done = false;
    group_waiter_init(&cm->w, &cm->arena, coord_join_cb, coord_sync_cb);
}

typedef struct {
    group_coordinator_t *coord;
    coord_sink_t sink;
    int64_t now;
    coord_member_t *m;
    int n;
    proto_bytes_t subscription;
    buf_t sub_buf;
    buf_t *assign_bufs; /* per member */
    group_assignment_t *assignments;
    int partitions;
} coord_env_t;

static const char COORD_GROUP[] = "bench-storm";
static const char COORD_TOPIC[] = "bench-topic";

static group_status_t coord_join(coord_env_t *e, coord_member_t *cm)
{
    group_protocol_t proto = {proto_str_c("range"), e->subscription};
    group_join_args_t a = {
        .group_id = proto_str_c(COORD_GROUP),
        .member_id = proto_str_c(cm->id),
        .group_instance_id = proto_str_c(NULL),
        .protocol_type = proto_str_c("consumer"),
        .protocols = &proto,
        .protocols_count = 1,
        .session_timeout_ms = 45000,
        .rebalance_timeout_ms = 300000,
        .api_version = 5,
        .client_id = proto_str_c("rdkafka"),
        .client_host = proto_str_c("/127.0.0.1"),
        .reason = proto_str_c(NULL),
    };
    coord_waiter_reset(cm);
    group_status_t st = group_join(e->coord, &a, e->now, &cm->w);
    if (st == GROUP_DONE)
        coord_keep_join(cm, &cm->w.join);
    return st;
}

static void coord_sync(coord_env_t *e, coord_member_t *cm, int count)
{
    group_sync_args_t a = {
        .group_id = proto_str_c(COORD_GROUP),
        .generation_id = cm->generation,
        .member_id = proto_str_c(cm->id),
        .group_instance_id = proto_str_c(NULL),
        .protocol_type = proto_str_c("consumer"),
        .protocol_name = proto_str_c("range"),
        .assignments = cm->leader ? e->assignments : NULL,
        .assignments_count = cm->leader ? count : 0,
    };
    if (cm->leader)
        for (int i = 0; i < count; i++)
            e->assignments[i].member_id = proto_str_c(e->m[i].id);
    coord_waiter_reset(cm);
    if (group_sync(e->coord, &a, e->now, &cm->w) == GROUP_DONE) {
        cm->done = true;
        cm->err = cm->w.sync.error_code;
    }
}

/* ConsumerProtocolAssignment v0: topics [topic, partitions [int32]], user_data null. */
static void coord_build_assignments(coord_env_t *e)
{
    e->assign_bufs = calloc((size_t)e->n, sizeof(buf_t));
    e->assignments = calloc((size_t)e->n, sizeof(group_assignment_t));
    if (!e->assign_bufs || !e->assignments)
        die("out of memory");
    for (int i = 0; i < e->n; i++) {
        proto_writer_t wr;
        buf_init(&e->assign_bufs[i]);
        proto_writer_init(&wr, &e->assign_bufs[i]);
        int32_t mine = 0;
        for (int p = i; p < e->partitions; p += e->n)
            mine++;
        proto_wr_i16(&wr, 0);
        proto_wr_i32(&wr, 1);
        proto_wr_string(&wr, proto_str_c(COORD_TOPIC));
        proto_wr_i32(&wr, mine);
        for (int p = i; p < e->partitions; p += e->n)
            proto_wr_i32(&wr, p);
        proto_wr_bytes(&wr, (proto_bytes_t){NULL, -1});
        if (wr.err)
            die("out of memory");
        e->assignments[i].assignment = (proto_bytes_t){e->assign_bufs[i].data, (int32_t)e->assign_bufs[i].len};
    }
}

static void coord_env_init(coord_env_t *e, int n, int partitions)
{
    memset(e, 0, sizeof(*e));
    e->n = n;
    e->partitions = partitions;
    e->now = COORD_T0;
    group_config_t cfg;
    group_config_default(&cfg);
    cfg.initial_rebalance_delay_ms = 0;
    cfg.seed = 0x5eed;
    group_callbacks_t cb = {.append = coord_append};
    e->coord = group_coordinator_new(&cfg, &cb, &e->sink, e->now);
    if (!e->coord)
        die("group_coordinator_new failed");
    e->m = calloc((size_t)n, sizeof(coord_member_t));
    if (!e->m)
        die("out of memory");
    for (int i = 0; i < n; i++)
        arena_init(&e->m[i].arena, 0);
    /* ConsumerProtocolSubscription v1: one topic, null user data, no owned partitions. */
    proto_writer_t wr;
    buf_init(&e->sub_buf);
    proto_writer_init(&wr, &e->sub_buf);
    proto_wr_i16(&wr, 1);
    proto_wr_i32(&wr, 1);
    proto_wr_string(&wr, proto_str_c(COORD_TOPIC));
    proto_wr_bytes(&wr, (proto_bytes_t){NULL, -1});
    proto_wr_i32(&wr, 0);
    if (wr.err)
        die("out of memory");
    e->subscription = (proto_bytes_t){e->sub_buf.data, (int32_t)e->sub_buf.len};
    coord_build_assignments(e);
}

static void coord_env_fini(coord_env_t *e)
{
    group_coordinator_free(e->coord);
    for (int i = 0; i < e->n; i++) {
        arena_fini(&e->m[i].arena);
        buf_fini(&e->assign_bufs[i]);
    }
    buf_fini(&e->sub_buf);
    free(e->assign_bufs);
    free(e->assignments);
    free(e->m);
}

/* Members [0, count) join (new ones twice, as with MEMBER_ID_REQUIRED) and
 * sync; all must end in one Stable generation. */
static void coord_rebalance(coord_env_t *e, int count)
{
    for (int i = 0; i < count; i++) {
        coord_member_t *cm = &e->m[i];
        if (coord_join(e, cm) == GROUP_DONE && cm->err == GROUP_ERR_MEMBER_ID_REQUIRED)
            (void)coord_join(e, cm); /* second round, with the id the coordinator chose */
    }
    /* A first generation completes on the (zero) initial delay's timer; later
     * ones as soon as the last member rejoined. */
    group_coordinator_tick(e->coord, e->now);
    coord_member_t *leader = NULL;
    for (int i = 0; i < count; i++) {
        if (!e->m[i].done || e->m[i].err)
            die("coordinator: member %d has no join answer (error %d)", i, e->m[i].err);
        if (e->m[i].leader)
            leader = &e->m[i];
    }
    if (!leader || leader->nmembers_seen != count)
        die("coordinator: the leader saw %d members, expected %d", leader ? leader->nmembers_seen : -1, count);
    /* Followers first, as they usually arrive (they park until the leader's assignment). */
    for (int i = 0; i < count; i++)
        if (&e->m[i] != leader)
            coord_sync(e, &e->m[i], count);
    coord_sync(e, leader, count);
    for (int i = 0; i < count; i++)
        if (!e->m[i].done || e->m[i].err)
            die("coordinator: member %d has no sync answer (error %d)", i, e->m[i].err);
    if (group_state_of(e->coord, proto_str_c(COORD_GROUP)) != GROUP_STABLE)
        die("coordinator: group not Stable after the syncs");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int run_coordinator(const bench_opts_t *o)
{
    diag_set_level(getenv("BENCH_COORD_DEBUG") ? DIAG_DEBUG : DIAG_ERROR);
    int rounds = o->rounds;
    uint64_t *join_ns = calloc((size_t)rounds, sizeof(uint64_t));
    uint64_t *rejoin_ns = calloc((size_t)rounds, sizeof(uint64_t));
    uint64_t *hb_ns = calloc((size_t)rounds, sizeof(uint64_t));
    uint64_t *commit_ns = calloc((size_t)rounds, sizeof(uint64_t));
    if (!join_ns || !rejoin_ns || !hb_ns || !commit_ns)
        die("out of memory");
    const int commits = 100000;
    uint64_t appends = 0;
    for (int r = 0; r < rounds; r++) {
        coord_env_t e;
        coord_env_init(&e, o->members, o->partitions);

        uint64_t t = now_ns();
        coord_rebalance(&e, e.n);
        join_ns[r] = now_ns() - t;

        /* The last member leaves; the others hear REBALANCE_IN_PROGRESS on
         * their next heartbeat, rejoin and sync (the real broker's leave phase). */
        int rest = e.n - 1;
        if (rest > 0) {
            e.now += 10;
            t = now_ns();
            group_leave_member_t lm = {proto_str_c(e.m[rest].id), proto_str_c(NULL), proto_str_c(NULL), 0};
            if (group_leave(e.coord, proto_str_c(COORD_GROUP), &lm, 1, e.now) || lm.error_code)
                die("coordinator: leave error %d", lm.error_code);
            for (int i = 0; i < rest; i++) {
                int16_t err = group_heartbeat(e.coord, proto_str_c(COORD_GROUP), e.m[i].generation,
                                              proto_str_c(e.m[i].id), proto_str_c(NULL), e.now);
                if (err != GROUP_ERR_REBALANCE_IN_PROGRESS)
                    die("coordinator: heartbeat during the rebalance answered %d", err);
            }
            coord_rebalance(&e, rest);
            rejoin_ns[r] = now_ns() - t;
        }

        e.now += 10;
        int hb_members = rest > 0 ? rest : e.n;
        t = now_ns();
        for (int i = 0; i < hb_members; i++) {
            int16_t err = group_heartbeat(e.coord, proto_str_c(COORD_GROUP), e.m[i].generation, proto_str_c(e.m[i].id),
                                          proto_str_c(NULL), e.now);
            if (err)
                die("coordinator: heartbeat error %d", err);
        }
        hb_ns[r] = (now_ns() - t) / (uint64_t)hb_members;

        /* Member commits of one partition, one record each. */
        coord_member_t *cm = &e.m[0];
        uint64_t before = e.sink.appends;
        t = now_ns();
        for (int i = 0; i < commits; i++) {
            group_commit_partition_t p = {proto_str_c(COORD_TOPIC), 0, i + 1, 0, proto_str_c(""), 0};
            group_commit_args_t a = {
                proto_str_c(COORD_GROUP), cm->generation, proto_str_c(cm->id), proto_str_c(NULL), -1, &p, 1};
            if (group_offset_commit(e.coord, &a, e.now) || p.error_code)
                die("coordinator: commit error %d", p.error_code);
        }
        commit_ns[r] = now_ns() - t;
        appends = e.sink.appends - before;
        coord_env_fini(&e);
    }
    qsort(join_ns, (size_t)rounds, sizeof(uint64_t), cmp_u64);
    qsort(rejoin_ns, (size_t)rounds, sizeof(uint64_t), cmp_u64);
    qsort(hb_ns, (size_t)rounds, sizeof(uint64_t), cmp_u64);
    qsort(commit_ns, (size_t)rounds, sizeof(uint64_t), cmp_u64);
    int mid = rounds / 2;
    printf("RESULT phase=coordinator members=%d partitions=%d rounds=%d join_ms=%.3f leave_ms=%.3f "
           "heartbeat_us=%.3f commits_per_s=%.0f commit_appends=%" PRIu64 "\n",
           o->members, o->partitions, rounds, join_ns[mid] / 1e6, rejoin_ns[mid] / 1e6, hb_ns[mid] / 1e3,
           commits / (commit_ns[mid] / 1e9), appends);
    fflush(stdout);
    free(join_ns);
    free(rejoin_ns);
    free(hb_ns);
    free(commit_ns);
    return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f, "usage:\n"
               "  bench_groups --rebalance -b HOST:PORT [-m MEMBERS] [-p PARTITIONS] [--assignor NAME]\n"
               "               [--heartbeat-ms MS] [--session-ms MS] [--timeout S] [-t TOPIC] [-g GROUP]\n"
               "  bench_groups --commits -b HOST:PORT [-d SECONDS] [--window N] [-t TOPIC] [-g GROUP]\n"
               "  bench_groups --coordinator [-m MEMBERS] [-p PARTITIONS] [--rounds N]\n"
               "options:\n"
               "  -m, --members N       group members (default 10; --coordinator: 1000)\n"
               "  -p, --partitions N    partitions of the topic (default 100)\n"
               "      --assignor NAME   range|roundrobin|cooperative-sticky (default range)\n"
               "      --heartbeat-ms MS heartbeat.interval.ms (default: librdkafka's, 3000)\n"
               "      --session-ms MS   session.timeout.ms (default: librdkafka's, 45000)\n"
               "      --timeout S       give up a rebalance after S seconds (default 60)\n"
               "  -d, --duration S      --commits: measured seconds (default 10)\n"
               "      --window N        --commits: async commits in flight; 0 = sync (default 0)\n"
               "      --rounds N        --coordinator: repetitions, the median is reported (default 5)\n"
               "      --keep            do not delete the topic at the end\n"
               "      --debug CONTEXTS  librdkafka debug contexts, to stderr (timestamped)\n");
}

static long long parse_num(const char *what, const char *s, long long min, long long max)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < min || v > max) {
        fprintf(stderr, "bench_groups: %s must be an integer in [%lld, %lld], got '%s'\n", what, min, max, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    bench_opts_t o = {
        .members = -1,
        .partitions = 100,
        .assignor = "range",
        .timeout_s = 60,
        .duration_s = 10,
        .rounds = 5,
    };
    enum {
        O_REB = 256,
        O_COMMITS,
        O_COORD,
        O_ASSIGNOR,
        O_HB,
        O_SESSION,
        O_TIMEOUT,
        O_WINDOW,
        O_ROUNDS,
        O_DEBUG,
        O_KEEP
    };
    static const struct option longopts[] = {
        {"rebalance", no_argument, NULL, O_REB},
        {"commits", no_argument, NULL, O_COMMITS},
        {"coordinator", no_argument, NULL, O_COORD},
        {"bootstrap", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"group", required_argument, NULL, 'g'},
        {"members", required_argument, NULL, 'm'},
        {"partitions", required_argument, NULL, 'p'},
        {"duration", required_argument, NULL, 'd'},
        {"assignor", required_argument, NULL, O_ASSIGNOR},
        {"heartbeat-ms", required_argument, NULL, O_HB},
        {"session-ms", required_argument, NULL, O_SESSION},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"window", required_argument, NULL, O_WINDOW},
        {"rounds", required_argument, NULL, O_ROUNDS},
        {"debug", required_argument, NULL, O_DEBUG},
        {"keep", no_argument, NULL, O_KEEP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "b:t:g:m:p:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case O_REB: o.mode = MODE_REBALANCE; break;
        case O_COMMITS: o.mode = MODE_COMMITS; break;
        case O_COORD: o.mode = MODE_COORDINATOR; break;
        case 'b': o.bootstrap = optarg; break;
        case 't': snprintf(o.topic, sizeof(o.topic), "%s", optarg); break;
        case 'g': snprintf(o.group, sizeof(o.group), "%s", optarg); break;
        case 'm': o.members = (int)parse_num("--members", optarg, 1, 100000); break;
        case 'p': o.partitions = (int)parse_num("--partitions", optarg, 1, 100000); break;
        case 'd': o.duration_s = (double)parse_num("--duration", optarg, 1, 3600); break;
        case O_ASSIGNOR: o.assignor = optarg; break;
        case O_HB: o.heartbeat_ms = (int)parse_num("--heartbeat-ms", optarg, 1, 3600000); break;
        case O_SESSION: o.session_ms = (int)parse_num("--session-ms", optarg, 1, 3600000); break;
        case O_TIMEOUT: o.timeout_s = (double)parse_num("--timeout", optarg, 1, 3600); break;
        case O_WINDOW: o.window = (int)parse_num("--window", optarg, 0, 100000); break;
        case O_ROUNDS: o.rounds = (int)parse_num("--rounds", optarg, 1, 1000); break;
        case O_DEBUG: o.debug = optarg; break;
        case O_KEEP: o.keep = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || o.mode == MODE_NONE || (o.mode != MODE_COORDINATOR && !o.bootstrap)) {
        usage(stderr);
        return 2;
    }
    if (o.members < 0)
        o.members = o.mode == MODE_COORDINATOR ? 1000 : 10;
    if (!o.topic[0])
        snprintf(o.topic, sizeof(o.topic), "bench-groups-%d-%ld", (int)getpid(), (long)time(NULL));
    if (!o.group[0])
        snprintf(o.group, sizeof(o.group), "%.180s-group", o.topic);
    setvbuf(stdout, NULL, _IOLBF, 0);
    switch (o.mode) {
    case MODE_REBALANCE: return run_rebalance(&o);
    case MODE_COMMITS: return run_commits(&o);
    case MODE_COORDINATOR: return run_coordinator(&o);
    default: return 2;
    }
}
