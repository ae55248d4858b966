/*
 * broker/server: the listener, signals, start-up and shutdown of a broker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/diag.h"
#include "broker/broker.h"
#include "broker/conn.h"
#include "broker/meta.h"
#include "log/io.h"

/* A non-blocking listening socket bound to addr, or a negative errno. */
static int server_socket(const struct sockaddr *addr, socklen_t len)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* Restarts must not wait out TIME_WAIT connections of the previous run. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, addr, len) != 0 || listen(fd, 511) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/*
 * SIGUSR1: one line with what the broker holds. Input and response bytes are
 * counters kept where buffers change; arenas and scratch buffers are summed
 * here, since only a signal asks.
 */
static void server_on_usr1(uv_signal_t *sig, int signum)
{
    broker_t *broker = sig->data;
    (void)signum;
    size_t arenas = 0, held = 0, held_max = 0;
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &broker->conns) {
        broker_conn_t *conn = list_entry(pos, broker_conn_t, node);
        arenas += conn->req.arena.total;
        held += conn->out.held;
        if (conn->out.held > held_max)
            held_max = conn->out.held;
    }
    size_t partitions = 0, nparts = 0, tpos = 0;
    broker_topic_t *t;
    while ((t = broker_topics_next(&broker->topics, &tpos)))
        for (int32_t i = 0; i < t->nparts; i++)
            if (t->parts[i].log) {
                partitions += log_partition_memory(t->parts[i].log);
                nparts++;
            }
    LOG_INFO("mem", "%zu partitions hold %zu bytes (indexes in memory, producer state)", nparts, partitions);
    LOG_INFO("net",
             "sent %llu response bytes, %llu of them records sent from segment files with sendfile; "
             "%u response frames pooled for reuse",
             (unsigned long long)broker->mem.sent_bytes, (unsigned long long)broker->mem.sent_file, broker->out_pool.n);
    LOG_INFO("mem", "unsent answers hold %zu bytes of memory, at most %zu on one connection", held, held_max);
    LOG_INFO("net", "%llu requests carried %llu bytes after their known fields (ignored)",
             (unsigned long long)broker->mem.trailing_requests, (unsigned long long)broker->mem.trailing_bytes);
    LOG_INFO("mem",
             "connections %d, request input buffers %zu bytes (queued.max.request.bytes %lld), "
             "queued responses %zu bytes, request arenas %zu bytes in use, produce scratch %zu bytes, "
             "fetch scratch %zu bytes, parked requests %d (fetches %d), connections paused for memory %d",
             broker->nconns, broker->mem.in_bytes, (long long)broker->cfg->queued_max_request_bytes,
             broker->mem.write_pending, arenas, broker->batch_scratch.cap, broker->fetch_data.cap, broker->mem.nparked,
             broker->mem.nparked_fetches, broker->mem.nmem_paused);
}

static void server_on_signal(uv_signal_t *sig, int signum)
{
    broker_t *broker = sig->data;
    LOG_INFO("broker", "received signal %d, shutting down", signum);
    broker_stop(broker);
}

int broker_init(broker_t *broker, uv_loop_t *loop, broker_config_t *cfg)
{
    memset(broker, 0, sizeof(*broker));
    broker->loop = loop;
    broker->cfg = cfg;
    broker->listen_fd = -1;
    list_init(&broker->conns);
    list_init(&broker->parked.list);
    list_init(&broker->parked_flush.list);
    list_init(&broker->parked_replicas.list);
    map_init(&broker->conns_by_ip);
    int rc = broker_meta_load(cfg->log_dirs, cfg->node_id, broker->cluster_id, sizeof(broker->cluster_id));
    if (rc != 0)
        return rc;
    rc = broker_storage_open(broker);
    if (rc != 0)
        return rc;
    broker_mstore_t *store = NULL;
    if (cfg->test_metadata_delay_ms > 0) {
        broker_mstore_t *files;
        broker_mstore_listener_t none = broker_topics_listener(&broker->topics);
        rc = broker_mstore_local_open(cfg->log_dirs, &none, &files);
        if (rc == 0 && (rc = broker_mstore_delay_open(loop, files, cfg->test_metadata_delay_ms, &store)) != 0)
            files->ops->close(files);
        if (rc != 0)
            return rc;
    }
    rc = broker_topics_init(&broker->topics, cfg, &broker->storage.recovery, &broker->storage.start,
                            &broker->storage.cleaner, broker->storage.clean_shutdown, store);
    if (rc != 0)
        return rc;
    broker_storage_start(broker);
    rc = broker_groups_init(broker);
    if (rc != 0)
        return rc;
    /* After the groups: restart recovery may write markers into __consumer_offsets. */
    rc = broker_txns_init(broker);
    if (rc != 0)
        return rc;
    /* Producer ids only need to be unique per broker lifetime for now; the
     * exactly-once issue persists them. Start from the clock so a restart
     * does not hand out an id an old producer still uses. */
    broker->next_producer_id = (int64_t)(uv_hrtime() / 1000000u) * 1000;
    return 0;
}

int broker_listen(broker_t *broker)
{
    broker_config_t *cfg = broker->cfg;
    struct sockaddr_storage addr;
    int rc;
    if (strchr(cfg->listen_host, ':'))
        rc = uv_ip6_addr(cfg->listen_host, cfg->listen_port, (struct sockaddr_in6 *)&addr);
    else
        rc = uv_ip4_addr(cfg->listen_host[0] ? cfg->listen_host : "0.0.0.0", cfg->listen_port,
                         (struct sockaddr_in *)&addr);
    if (rc != 0) {
        LOG_ERROR("net", "listeners: bad address %s: %s", cfg->listen_host, uv_strerror(rc));
        return rc;
    }
    /* eddy accepts, reads and writes its sockets itself (libuv only reports
     * readiness), so that answers can go out with writev and sendfile. */
    int fd = server_socket((struct sockaddr *)&addr,
                           addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    if (fd < 0) {
        LOG_ERROR("net", "cannot listen on %s:%d: %s", cfg->listen_host, cfg->listen_port, strerror(-fd));
        return fd;
    }
    broker->listen_fd = fd;
    uv_poll_init(broker->loop, &broker->listener, fd);
    broker->listener.data = broker;
    uv_poll_start(&broker->listener, UV_READABLE, broker_conn_on_listener);
    struct sockaddr_storage bound;
    socklen_t len = sizeof(bound);
    getsockname(fd, (struct sockaddr *)&bound, &len);
    int port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                 : ((struct sockaddr_in *)&bound)->sin_port);
    cfg->listen_port = port;
    if (cfg->advertised_port == 0)
        cfg->advertised_port = port;
    uv_signal_init(broker->loop, &broker->sigterm);
    uv_signal_init(broker->loop, &broker->sigint);
    broker->sigterm.data = broker->sigint.data = broker;
    uv_signal_start(&broker->sigterm, server_on_signal, SIGTERM);
    uv_signal_start(&broker->sigint, server_on_signal, SIGINT);
    uv_signal_init(broker->loop, &broker->sigusr1);
    broker->sigusr1.data = broker;
    uv_signal_start(&broker->sigusr1, server_on_usr1, SIGUSR1);
    broker_conn_limits_start(broker);
    /* Tests and scripts wait for exactly this line. */
    printf("eddy ready on %s:%d\n", cfg->listen_host, port);
    fflush(stdout);
    LOG_INFO("broker", "node %d, cluster %s, data in %s, advertising %s:%d", cfg->node_id, broker->cluster_id,
             cfg->log_dirs, cfg->advertised_host, cfg->advertised_port);
    return 0;
}

static void server_on_closed(uv_handle_t *h)
{
    (void)h;
}

static void server_close_idle(uv_timer_t *t);

/*
 * Shutdown: stop accepting, answer parked requests now (a Fetch gets what is
 * there), let queued responses drain, then close every connection and stop.
 */
void broker_stop(broker_t *broker)
{
    if (broker->stopping)
        return;
    broker->stopping = true;
    if (broker->listen_fd >= 0) {
        uv_close((uv_handle_t *)&broker->listener, server_on_closed);
        close(broker->listen_fd); /* the handle no longer watches it */
        broker->listen_fd = -1;
    }
    uv_close((uv_handle_t *)&broker->sigterm, server_on_closed);
    uv_close((uv_handle_t *)&broker->sigint, server_on_closed);
    uv_close((uv_handle_t *)&broker->sigusr1, server_on_closed);
    broker_conn_limits_stop(broker, server_on_closed);
    broker_storage_stop(broker);
    broker_groups_stop(broker);
    broker_txns_stop(broker);
    /* Fetches answer with what they have; durable produces not yet on disk get
     * REQUEST_TIMED_OUT (their data is flushed at exit, but was not promised). */
    broker_resume_parked(broker, true);
    static uv_timer_t drain;
    uv_timer_init(broker->loop, &drain);
    drain.data = broker;
    uv_timer_start(&drain, server_close_idle, 0, 20);
}

static void server_close_idle(uv_timer_t *t)
{
    broker_t *broker = t->data;
    static int ticks;
    list_t *pos, *tmp;
    bool left = false;
    list_foreach_safe (pos, tmp, &broker->conns) {
        broker_conn_t *conn = list_entry(pos, broker_conn_t, node);
        /* Give pending writes up to ~2 s to reach the client. */
        if (conn->out.bytes == 0 || ticks > 100)
            broker_conn_close(conn, NULL);
        else
            left = true;
    }
    ticks++;
    if (!left) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, server_on_closed);
    }
}

void broker_fini(broker_t *broker)
{
    /* The loop has ended, so no flush job is running: make everything durable,
     * record how far, close the logs, and only then mark the stop clean. */
    bool clean = broker->stopping && broker->storage.jobs_inflight == 0;
    size_t pos = 0;
    broker_topic_t *t;
    while (clean && (t = broker_topics_next(&broker->topics, &pos)))
        for (int32_t i = 0; i < t->nparts; i++)
            if (t->parts[i].log && log_partition_flush(t->parts[i].log) != 0)
                clean = false;
    if (clean && broker_storage_checkpoint(broker) != 0)
        clean = false;
    broker_txns_fini(broker);
    broker_groups_fini(broker);
    log_io_set_unlinker(NULL, NULL); /* the loop is gone: unlink in place from here on */
    broker_topics_fini(&broker->topics);
    broker_storage_close(broker, clean);
    buf_fini(&broker->batch_scratch);
    buf_fini(&broker->fetch_data);
    broker_out_pool_fini(&broker->out_pool);
    broker_admit_fini(broker);
}
