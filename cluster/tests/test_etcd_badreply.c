/* cluster/etcd against a fake HTTP server that answers garbage: clean errors, no crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "cluster/etcd.h"
#include "etcd_fixture.h"

/* A child process that answers every connection with reply, then closes. */
static pid_t serve(const char *reply, size_t len, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 64; i++) {
            int c = accept(fd, NULL, NULL);
            if (c < 0)
                _exit(0);
            char req[4096];
            if (read(c, req, sizeof req) > 0 && write(c, reply, len) < 0)
                _exit(1);
            close(c);
        }
        _exit(0);
    }
    close(fd);
    return pid;
}

/* A child that answers one connection with reply written byte by byte
 * (so objects split across reads), then holds it open until killed. */
static pid_t serve_slowly(const char *reply, size_t len, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(fd, NULL, NULL);
        char req[4096];
        if (c < 0 || read(c, req, sizeof req) <= 0)
            _exit(1);
        for (size_t i = 0; i < len; i++) {
            if (write(c, reply + i, 1) != 1)
                _exit(1);
            struct timespec ts = {0, 200 * 1000};
            nanosleep(&ts, NULL);
        }
        pause();
        _exit(0);
    }
    close(fd);
    return pid;
}

typedef struct watched_s {
    int rc, final, created, n;
    char key[32];
} watched_t;

static void on_watch(void *arg, int rc, const etcd_event_t *evs, size_t n, int64_t revision)
{
    watched_t *w = arg;
    if (rc) {
        w->rc = rc;
        w->final++;
        return;
    }
    if (!n)
        w->created++;
    if (n && !w->n)
        snprintf(w->key, sizeof w->key, "%.*s", (int)evs[0].kv.key_len, evs[0].kv.key);
    w->n += (int)n;
}

/* Watches through a fake server streaming body; the final rc (0: none in 3 s). */
static int watch_from(const char *body, size_t max_reply, watched_t *w)
{
    static char reply[1 << 16];
    int hl = snprintf(reply, sizeof reply,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
                      strlen(body));
    assert_true(hl + strlen(body) + 2 < sizeof reply);
    memcpy(reply + hl, body, strlen(body));
    memcpy(reply + hl + strlen(body), "\r\n", 2);
    int port;
    pid_t pid = serve_slowly(reply, (size_t)hl + strlen(body) + 2, &port);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, url, &(etcd_opts_t){.request_timeout_ms = 300, .max_reply = max_reply});
    memset(w, 0, sizeof *w);
    etcd_watch_t *wa = etcd_watch_start(cli, "k", 1, 1, 0, on_watch, w);
    assert_non_null(wa);
    int64_t end = clock_mono_ms() + 3000;
    while (!w->final && clock_mono_ms() < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    etcd_watch_stop(wa);
    etcd_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(w->final <= 1); /* a final error is reported once */
    return w->rc;
}

#define CREATED "{\"result\":{\"header\":{\"revision\":\"5\"},\"created\":true}}\n"
#define EVENT                                                                                                          \
    "{\"result\":{\"header\":{\"revision\":\"6\"},\"events\":[{\"kv\":{\"key\":\"a3g=\",\"mod_revision\":\"6\"}}]}}\n"

/* Split objects still parse; the garbage object after them ends the watch. */
static void watch_stream_garbage_object_is_malformed(void **state)
{
    watched_t w;
    assert_int_equal(watch_from(CREATED EVENT "{\"result\": nonsense}\n", 1 << 20, &w), ETCD_EMALFORMED);
    assert_int_equal(w.created, 1);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.key, "kx");
    assert_int_equal(watch_from(CREATED "]\n", 1 << 20, &w), ETCD_EMALFORMED); /* not an object */
    assert_int_equal(
        watch_from("{\"result\":{\"header\":{},\"events\":[{\"type\":\"BOGUS\",\"kv\":{}}]}}", 1 << 20, &w),
        ETCD_EMALFORMED);
    /* an event below one already delivered, in the same stream: not etcd */
    assert_int_equal(watch_from(CREATED EVENT
                                "{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[{\"kv\":{\"key\":\"a3g=\","
                                "\"mod_revision\":\"7\"}},{\"kv\":{\"key\":\"a3g=\",\"mod_revision\":\"6\"}}]}}",
                                1 << 20, &w),
                     ETCD_EMALFORMED);
}

/* An object that never ends is bounded by max_reply. */
static void watch_stream_endless_object_is_too_big(void **state)
{
    static char body[4096];
    memset(body, ' ', sizeof body - 1);
    memcpy(body, "{\"result\":\"", 11);
    watched_t w;
    assert_int_equal(watch_from(body, 1024, &w), ETCD_ETOOBIG);
}

typedef struct got_s {
    int done, rc;
} got_t;

static void on_get(void *arg, int rc, etcd_range_t *rng)
{
    got_t *g = arg;
    g->done = 1;
    g->rc = rc;
    if (rc == 0)
        etcd_range_fini(rng);
}

static int get_from(const char *reply, size_t max_reply)
{
    int port;
    pid_t pid = serve(reply, strlen(reply), &port);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    uv_loop_t loop;
    uv_loop_init(&loop);
    etcd_client_t *cli = etcd_client_new(&loop, url, &(etcd_opts_t){.request_timeout_ms = 300, .max_reply = max_reply});
    got_t g = {0};
    assert_int_equal(etcd_get(cli, "k", 1, 0, 0, clock_mono_ms() + 600, on_get, &g), 0);
    while (!g.done)
        uv_run(&loop, UV_RUN_ONCE);
    etcd_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return g.rc;
}

static void garbage_body_is_malformed(void **state)
{
    assert_int_equal(get_from("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ngarbage", 1 << 20), ETCD_EMALFORMED);
}

static void wrong_json_shape_is_malformed(void **state)
{
    assert_int_equal(get_from("HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"kvs\":[1,2,3],\"x\"}", 1 << 20),
                     ETCD_EMALFORMED);
}

static void oversized_body_is_too_big(void **state)
{
    static char reply[8192];
    int n = snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n");
    memset(reply + n, ' ', 4000);
    assert_int_equal(get_from(reply, 1024), ETCD_ETOOBIG);
}

static void truncated_body_is_unavailable_by_the_deadline(void **state)
{
    assert_int_equal(get_from("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"header\":{", 1 << 20),
                     ETCD_EUNAVAILABLE);
}

static void not_http_is_unavailable_by_the_deadline(void **state)
{
    assert_int_equal(get_from("\x01\x02 not http at all\r\n\r\n", 1 << 20), ETCD_EUNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(garbage_body_is_malformed),
        cmocka_unit_test(wrong_json_shape_is_malformed),
        cmocka_unit_test(oversized_body_is_too_big),
        cmocka_unit_test(truncated_body_is_unavailable_by_the_deadline),
        cmocka_unit_test(not_http_is_unavailable_by_the_deadline),
        cmocka_unit_test(watch_stream_garbage_object_is_malformed),
        cmocka_unit_test(watch_stream_endless_object_is_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
