/*
 * A real etcd for a test: loopback ports found by binding port 0, a temp
 * data dir, started with fork+exec and killed with SIGKILL at the end.
 * Header-only so each test_*.c stays one executable. etcd_fixture_missing()
 * is the one reason a test may skip.
 */
#ifndef EDDY_CLUSTER_TESTS_ETCD_FIXTURE_H
#define EDDY_CLUSTER_TESTS_ETCD_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ETCD_FIXTURE_BIN "/usr/bin/etcd"

typedef struct etcd_fixture_s {
    pid_t pid;
    int client_port, peer_port;
    char dir[64];
    char url[64];
} etcd_fixture_t;

static inline int etcd_fixture_missing(void)
{
    return access(ETCD_FIXTURE_BIN, X_OK) != 0;
}

static inline int etcd_fixture_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static inline int etcd_fixture_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* (Re)starts etcd on the fixture's ports and dir; waits up to 10 s for its port. */
static inline int etcd_fixture_start(etcd_fixture_t *fx)
{
    if (!fx->dir[0]) {
        snprintf(fx->dir, sizeof fx->dir, "/tmp/eddy-etcd-XXXXXX");
        if (!mkdtemp(fx->dir))
            return -1;
        fx->client_port = etcd_fixture_free_port();
        fx->peer_port = etcd_fixture_free_port();
        snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%d", fx->client_port);
    }
    char data[96], client[64], peer[64], cluster[96];
    snprintf(data, sizeof data, "%s/data", fx->dir);
    snprintf(client, sizeof client, "http://127.0.0.1:%d", fx->client_port);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d", fx->peer_port);
    snprintf(cluster, sizeof cluster, "default=%s", peer);
    fx->pid = fork();
    if (fx->pid < 0)
        return -1;
    if (fx->pid == 0) {
        char log[96];
        snprintf(log, sizeof log, "%s/etcd.log", fx->dir);
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
            _exit(127);
        execl(ETCD_FIXTURE_BIN, "etcd", "--data-dir", data, "--listen-client-urls", client, "--advertise-client-urls",
              client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (etcd_fixture_port_open(fx->client_port))
            return 0;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static inline void etcd_fixture_kill(etcd_fixture_t *fx)
{
    if (fx->pid > 0) {
        kill(fx->pid, SIGKILL);
        waitpid(fx->pid, NULL, 0);
        fx->pid = 0;
    }
}

/* Kills etcd and removes its data dir. */
static inline void etcd_fixture_stop(etcd_fixture_t *fx)
{
    etcd_fixture_kill(fx);
    if (fx->dir[0]) {
        char cmd[96];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "etcd_fixture: could not remove %s\n", fx->dir);
        fx->dir[0] = 0;
    }
}

#endif
