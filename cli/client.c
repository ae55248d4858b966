#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/buf.h"
#include "protocol/gen/messages.h"
#include "protocol/header.h"
#include "protocol/kafka_errors.h"

#ifndef EDDYCTL_VERSION
#define EDDYCTL_VERSION "0.1.0"
#endif

#define API_VERSIONS_KEY 18

static void set_err(cli_conn_t *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(cli_conn_t *conn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(conn->err, sizeof(conn->err), fmt, ap);
    va_end(ap);
}

void *cli_alloc(cli_conn_t *conn, size_t n, size_t size)
{
    if (n == 0)
        n = 1; /* a valid pointer even for empty arrays */
    if (size != 0 && n > SIZE_MAX / size) {
        fprintf(stderr, "eddyctl: out of memory\n");
        exit(CLI_EXIT_FAILED);
    }
    void *p = arena_alloc(&conn->arena, n * size);
    if (!p) {
        fprintf(stderr, "eddyctl: out of memory\n");
        exit(CLI_EXIT_FAILED);
    }
    memset(p, 0, n * size);
    return p;
}

const char *cli_str(cli_conn_t *conn, proto_str_t str)
{
    if (str.len <= 0 || !str.ptr)
        return "";
    char *s = cli_alloc(conn, (size_t)str.len + 1, 1);
    memcpy(s, str.ptr, (size_t)str.len);
    s[str.len] = '\0';
    return s;
}

static const proto_field_t *find_field(const proto_struct_desc_t *desc, const char *name, size_t len)
{
    for (uint32_t i = 0; desc && i < desc->nfields; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
            return f;
    }
    return NULL;
}

void *cli_array_for(cli_conn_t *conn, const proto_struct_desc_t *top, const char *path, int16_t version, int32_t n,
                    size_t elem_size)
{
    const proto_struct_desc_t *desc = top;
    const proto_field_t *f = NULL;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        f = find_field(desc, p, len);
        if (!f || !f->is_array) {
            fprintf(stderr, "eddyctl: internal error: no array field %s in %s\n", path, top->name);
            exit(CLI_EXIT_FAILED);
        }
        if (!dot)
            break;
        desc = f->sub;
        p = dot + 1;
    }
    if (f->elem_size != elem_size) {
        fprintf(stderr, "eddyctl: internal error: %s elements are %u bytes, not %zu\n", path, f->elem_size, elem_size);
        exit(CLI_EXIT_FAILED);
    }
    uint8_t *items = cli_alloc(conn, n > 0 ? (size_t)n : 0, elem_size);
    for (int32_t i = 0; f->sub && i < n; i++)
        proto_msg_init(f->sub, version, items + (size_t)i * elem_size);
    return items;
}

/* --- sockets --------------------------------------------------------- */

/* Splits "host:port" or "[v6]:port" (port optional: 9092). 0 or -1. */
static int split_addr(const char *s, size_t len, char *host, size_t host_cap, char *port, size_t port_cap)
{
    const char *hs = s, *he, *ps = NULL;
    const char *end = s + len;
    if (len > 0 && s[0] == '[') {
        hs = s + 1;
        he = memchr(hs, ']', (size_t)(end - hs));
        if (!he)
            return -1;
        if (he + 1 < end) {
            if (he[1] != ':')
                return -1;
            ps = he + 2;
        }
    } else {
        he = memchr(s, ':', len);
        if (he) {
            ps = he + 1;
            if (memchr(ps, ':', (size_t)(end - ps)))
                return -1; /* bare IPv6 without brackets: ambiguous */
        } else {
            he = end;
        }
    }
    size_t hl = (size_t)(he - hs);
    size_t pl = ps ? (size_t)(end - ps) : 4;
    if (hl == 0 || hl >= host_cap || pl == 0 || pl >= port_cap)
        return -1;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    if (ps) {
        memcpy(port, ps, pl);
        port[pl] = '\0';
    } else {
        memcpy(port, "9092", 5);
    }
    for (const char *c = port; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    return 0;
}

/* Non-blocking connect bounded by timeout_ms; returns fd or -errno. */
static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            return -e;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int rc;
        do
            rc = poll(&pfd, 1, timeout_ms);
        while (rc < 0 && errno == EINTR);
        if (rc <= 0) {
            close(fd);
            return rc == 0 ? -ETIMEDOUT : -errno;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            close(fd);
            return -(soerr ? soerr : errno);
        }
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int io_error(cli_conn_t *conn, const char *what, int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK)
        set_err(conn, "no answer from %s within %d ms while %s — is the broker overloaded or stopped?", conn->addr,
                conn->timeout_ms, what);
    else if (e == 0)
        set_err(conn, "%s closed the connection while %s — see the broker's log", conn->addr, what);
    else
        set_err(conn, "%s failed talking to %s: %s", what, conn->addr, strerror(e));
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
    return -1;
}

static int write_all(cli_conn_t *conn, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(conn->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return io_error(conn, "sending a request", w < 0 ? errno : 0);
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(cli_conn_t *conn, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(conn->fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return io_error(conn, "waiting for an answer", r < 0 ? errno : 0);
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* --- one request, one answer ------------------------------------------ */

/*
 * Request frame, as written here:
 *   size           int32, bytes that follow
 *   header         api_key, api_version, correlation_id, client_id "eddyctl",
 *                  tagged fields in flexible versions (header v2)
 *   body           the request struct, encoded by its descriptor
 */
static int send_request(cli_conn_t *conn, const proto_api_desc_t *api, int16_t version, const void *req,
                        int32_t *correlation_id)
{
    if (conn->fd < 0) {
        set_err(conn, "not connected");
        return -1;
    }
    buf_t buf;
    buf_init(&buf);
    proto_writer_t wr;
    proto_writer_init(&wr, &buf);
    proto_wr_i32(&wr, 0); /* size, patched below */
    proto_req_header_t hdr = {
        .api_key = api->key,
        .api_version = version,
        .correlation_id = conn->next_correlation_id++,
        .client_id = proto_str_c("eddyctl"),
    };
    proto_req_header_write(&wr, &hdr, api);
    int rc = proto_msg_encode(api->request, &wr, version, proto_api_flexible(api, version), req);
    if (rc != 0 || wr.err != 0 || buf.len < 4) {
        buf_fini(&buf);
        set_err(conn, "cannot encode %s v%d request (error %d)", api->name, version, rc ? rc : wr.err);
        return -1;
    }
    proto_wr_patch_i32(&wr, 0, (int32_t)(buf.len - 4));
    rc = write_all(conn, buf.data, buf.len);
    buf_fini(&buf);
    *correlation_id = hdr.correlation_id;
    return rc;
}

/*
 * Response frame, as read here:
 *   size           int32, 4 <= size <= CLI_MAX_FRAME
 *   correlation_id int32, must match the request's
 *   tagged fields  flexible versions, except ApiVersions (header v0 always)
 *   body           decoded by the caller
 * The frame is kept in the arena because decoded strings point into it.
 */
static int recv_response(cli_conn_t *conn, const proto_api_desc_t *api, int16_t version, int32_t correlation_id,
                         proto_reader_t *rd)
{
    uint8_t sz[4];
    if (read_all(conn, sz, 4) != 0)
        return -1;
    int32_t size = (int32_t)((uint32_t)sz[0] << 24 | (uint32_t)sz[1] << 16 | (uint32_t)sz[2] << 8 | sz[3]);
    if (size < 4 || size > CLI_MAX_FRAME) {
        set_err(conn,
                "%s answered %s with a frame size of %d bytes, which no Kafka broker sends — is it a Kafka "
                "listener?",
                conn->addr, api->name, size);
        close(conn->fd);
        conn->fd = -1;
        return -1;
    }
    uint8_t *frame = cli_alloc(conn, (size_t)size, 1);
    if (read_all(conn, frame, (size_t)size) != 0)
        return -1;
    proto_reader_init(rd, frame, (size_t)size);
    int32_t got = proto_rd_i32(rd);
    if (got != correlation_id) {
        set_err(conn, "%s answered request %d with correlation id %d", conn->addr, correlation_id, got);
        close(conn->fd);
        conn->fd = -1;
        return -1;
    }
    if (proto_resp_header_flexible(api, version))
        proto_rd_skip_tags(rd);
    if (rd->err) {
        set_err(conn, "malformed %s answer header from %s", api->name, conn->addr);
        return -1;
    }
    return 0;
}

static int decode_body(cli_conn_t *conn, const proto_api_desc_t *api, int16_t version, proto_reader_t *rd, void *resp)
{
    proto_msg_init(api->response, version, resp);
    int rc = proto_msg_decode(api->response, rd, version, proto_api_flexible(api, version), &conn->arena, resp);
    if (rc != 0 || rd->err != 0) {
        set_err(conn, "malformed %s v%d answer from %s (decode error %d)", api->name, version, conn->addr,
                rc ? rc : rd->err);
        return -1;
    }
    return 0;
}

int cli_call(cli_conn_t *conn, int16_t key, int16_t version, const void *req, void *resp)
{
    const proto_api_desc_t *api = proto_api_find(key);
    if (!api || version < 0) {
        set_err(conn, "the broker at %s does not support API %d", conn->addr, key);
        return -1;
    }
    int32_t cid;
    proto_reader_t rd;
    if (send_request(conn, api, version, req, &cid) != 0 || recv_response(conn, api, version, cid, &rd) != 0)
        return -1;
    return decode_body(conn, api, version, &rd, resp);
}

/* --- versions ------------------------------------------------------------ */

int16_t cli_api_version(const cli_conn_t *conn, int16_t key)
{
    const proto_api_desc_t *api = proto_api_find(key);
    if (!api || key < 0 || key >= CLI_MAX_API_KEY)
        return -1;
    cli_api_range_t b = conn->broker_apis[key];
    if (b.max < 0)
        return -1;
    int16_t hi = b.max < api->max_version ? b.max : api->max_version;
    int16_t lo = b.min > api->min_version ? b.min : api->min_version;
    return hi >= lo ? hi : -1;
}

bool cli_api_usable(const cli_conn_t *conn, int16_t key)
{
    return cli_api_version(conn, key) >= 0;
}

/*
 * ApiVersions v3 first (it names us to the broker); a broker that does not
 * know v3 answers UNSUPPORTED_VERSION in the v0 layout (KIP-511), and then
 * v0 is asked. The error code is the first field in every version, so it is
 * peeked before the body is decoded in the layout it was written in.
 */
static int api_versions(cli_conn_t *conn)
{
    const proto_api_desc_t *api = proto_api_find(API_VERSIONS_KEY);
    int16_t versions[2] = {api->max_version < 3 ? api->max_version : 3, 0};
    for (int attempt = 0; attempt < 2; attempt++) {
        int16_t v = versions[attempt];
        proto_api_versions_req_t req;
        proto_msg_init(api->request, v, &req);
        req.client_software_name = proto_str_c("eddyctl");
        req.client_software_version = proto_str_c(EDDYCTL_VERSION);
        int32_t cid;
        proto_reader_t rd;
        if (send_request(conn, api, v, &req, &cid) != 0 || recv_response(conn, api, v, cid, &rd) != 0)
            return -1;
        proto_reader_t peek = rd;
        int16_t ec = proto_rd_i16(&peek);
        if (peek.err) {
            set_err(conn, "malformed ApiVersions answer from %s", conn->addr);
            return -1;
        }
        /*
         * UNSUPPORTED_VERSION (answered in the v0 layout), INVALID_REQUEST (a
         * software name refused) and the like: v0 has nothing to object to.
         */
        if (ec != KERR_NONE && v > 0)
            continue;
        proto_api_versions_resp_t resp;
        if (decode_body(conn, api, v, &rd, &resp) != 0)
            return -1;
        if (resp.error_code != KERR_NONE) {
            set_err(conn, "%s refused ApiVersions: %s", conn->addr, proto_kafka_error_name(resp.error_code));
            return -1;
        }
        for (int i = 0; i < CLI_MAX_API_KEY; i++)
            conn->broker_apis[i].min = conn->broker_apis[i].max = -1;
        for (int32_t i = 0; i < resp.api_keys.n; i++) {
            const proto_api_versions_resp_api_version_t *e = &resp.api_keys.items[i];
            if (e->api_key >= 0 && e->api_key < CLI_MAX_API_KEY && e->min_version >= 0 &&
                e->max_version >= e->min_version) {
                conn->broker_apis[e->api_key].min = e->min_version;
                conn->broker_apis[e->api_key].max = e->max_version;
            }
        }
        conn->api_versions_version = v;
        return 0;
    }
    set_err(conn, "%s answered neither ApiVersions v3 nor v0 — is it a Kafka broker?", conn->addr);
    return -1;
}

int cli_conn_open(cli_conn_t *conn, const char *bootstrap, int timeout_ms)
{
    memset(conn, 0, sizeof(*conn));
    conn->fd = -1;
    conn->timeout_ms = timeout_ms > 0 ? timeout_ms : CLI_DEFAULT_TIMEOUT_MS;
    conn->next_correlation_id = 1;
    arena_init(&conn->arena, 0);
    for (int i = 0; i < CLI_MAX_API_KEY; i++)
        conn->broker_apis[i].min = conn->broker_apis[i].max = -1;

    const char *s = bootstrap;
    char first_err[512] = "";
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char host[256], port[16];
        if (split_addr(s, len, host, sizeof(host), port, sizeof(port)) != 0) {
            set_err(conn, "bad broker address '%.*s': expected host:port, e.g. 127.0.0.1:9092", (int)len, s);
            return CLI_EXIT_USAGE;
        }
        snprintf(conn->addr, sizeof(conn->addr), "%s:%s", host, port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        int gai = getaddrinfo(host, port, &hints, &res);
        if (gai != 0) {
            set_err(conn, "cannot resolve %s: %s", host, gai_strerror(gai));
        } else {
            int last = 0;
            for (struct addrinfo *ai = res; ai && conn->fd < 0; ai = ai->ai_next) {
                int fd = connect_one(ai, conn->timeout_ms);
                if (fd >= 0)
                    conn->fd = fd;
                else
                    last = -fd;
            }
            freeaddrinfo(res);
            if (conn->fd < 0) {
                if (last == ECONNREFUSED)
                    set_err(conn,
                            "cannot connect to %s: connection refused — is eddy running? start it with `make run`, "
                            "or point eddyctl elsewhere with -b HOST:PORT or EDDY_BOOTSTRAP",
                            conn->addr);
                else if (last == ETIMEDOUT)
                    set_err(conn, "cannot connect to %s: no answer within %d ms — check the address and firewall",
                            conn->addr, conn->timeout_ms);
                else
                    set_err(conn, "cannot connect to %s: %s", conn->addr, strerror(last));
            }
        }
        if (conn->fd >= 0) {
            if (api_versions(conn) == 0)
                return CLI_EXIT_OK;
            if (conn->fd >= 0) {
                close(conn->fd);
                conn->fd = -1;
            }
        }
        if (!first_err[0])
            memcpy(first_err, conn->err, sizeof(first_err));
        if (!comma)
            break;
        s = comma + 1;
    }
    if (first_err[0])
        memcpy(conn->err, first_err, sizeof(first_err));
    else
        set_err(conn, "no broker address given");
    arena_fini(&conn->arena);
    return CLI_EXIT_CONNECT;
}

void cli_conn_close(cli_conn_t *conn)
{
    if (conn->fd >= 0)
        close(conn->fd);
    conn->fd = -1;
    arena_fini(&conn->arena);
}
