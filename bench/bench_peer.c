/*
 * bench_peer: the reference broker bench/perf.sh measures eddy against,
 * librdkafka's own mock cluster run as a process of its own.
 *
 *   bench_peer [TOPIC:PARTITIONS ...]
 *
 * It starts a one-broker mock cluster on a loopback port the OS picks,
 * creates the topics named on the command line (the mock cluster of
 * librdkafka 2.0 answers no CreateTopics or DeleteTopics, so clients must
 * find their topics there; bench_rdkafka --no-create waits for them),
 * prints "peer ready on HOST:PORT" on stdout, and serves until SIGTERM or
 * SIGINT. The mock cluster lives in memory and keeps roughly the last 5 MiB
 * of batches of each partition (older batches are dropped as new ones
 * arrive), and it answers an empty Fetch only after the request's full
 * max wait, even when data arrives meanwhile; bench/README.md says how
 * perf.sh accounts for both. It asserts nothing; exit 1 if the cluster
 * cannot start.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Silence the "no bootstrap.servers" notice: this handle never connects. */
    if (rd_kafka_conf_set(conf, "log_level", "4", err, sizeof(err)) != RD_KAFKA_CONF_OK)
        fprintf(stderr, "bench_peer: log_level: %s\n", err);
    /* The mock cluster hangs off a client handle; this one never sends. */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_peer: rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        fprintf(stderr, "bench_peer: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        char name[256];
        const char *colon = strrchr(argv[i], ':');
        int parts = colon ? atoi(colon + 1) : 0;
        size_t len = colon ? (size_t)(colon - argv[i]) : 0;
        if (parts < 1 || len == 0 || len >= sizeof(name)) {
            fprintf(stderr, "bench_peer: expected TOPIC:PARTITIONS, got '%s'\n", argv[i]);
            return 2;
        }
        memcpy(name, argv[i], len);
        name[len] = '\0';
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, 1);
        if (e) {
            fprintf(stderr, "bench_peer: create %s: %s\n", name, rd_kafka_err2str(e));
            return 1;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    printf("peer ready on %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (!stop)
        pause();

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
