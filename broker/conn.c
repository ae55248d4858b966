/*
 * broker/conn: one client connection — framing, dispatch, ordered responses.
 *
 * Frame: int32 size, then size bytes (header + body). The size is checked
 * against socket.request.max.bytes before anything is buffered for it. The
 * frame stays in the input buffer while its request is in flight (decoded
 * strings point into it), so while a request is parked the buffer may only
 * grow into space it already has; when that is full, reading pauses.
 *
 * Limits (reading pauses, the loop never does):
 *   - queued.max.request.bytes bounds the capacity of all input buffers
 *     together; a connection that would need more room waits until buffers
 *     drain (good clients are paused, never closed, for it);
 *   - per connection, unprocessed input is bounded by one maximal frame plus
 *     a read chunk (at least 1 MiB), and unread responses by 1 MiB of memory
 *     held (64 MiB unsent in all);
 *   - connections.max.idle.ms closes a connection with nothing in flight and
 *     no bytes read or written for that long (idle, a frame trickling in that
 *     stalled, or a client that stopped reading its answers);
 *   - max.connections and max.connections.per.ip (with overrides) close a
 *     new connection right after accept (broker/admit.c decides).
 *
 * A request that must wait is parked by broker/park.c, which hands it back
 * through broker_conn_request_done; a closing connection cancels it there.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/diag.h"
#include "broker/broker.h"
#include "broker/conn.h"

#define CONN_READ_CHUNK      (64u * 1024u)
#define CONN_MAX_WRITE_QUEUE (64u * 1024u * 1024u) /* unsent bytes, file ranges included */
/* Memory a connection's unsent answers may hold before it takes no more
 * requests: Kafka mutes a channel while its response is unsent, so one
 * client cannot make it hold more than an answer; here one client that
 * pipelines small requests and never reads costs about this much. */
#define CONN_MAX_HELD (1024u * 1024u)
#define CONN_ARENA_LIMIT     (512u * 1024u * 1024u)
#define CONN_MIN_INPUT_BOUND (1024u * 1024u)
/* Over eddy.queued.max.response.bytes, connections with more unread than this pause. */
#define CONN_SHARE_WRITE_QUEUE (1024u * 1024u)
/* A connection quiet this long gives its input buffer and arena back. */
#define CONN_TRIM_AFTER_MS 1000
/* Queued answers past this are written at once rather than after the whole read is handled. */
#define CONN_FLUSH_AT (256u * 1024u)


static void conn_process(broker_conn_t *conn);
static void conn_update_reading(broker_conn_t *conn);
static void conn_on_poll(uv_poll_t *h, int status, int events);

/* Asks the loop for exactly the readiness the connection waits for now. */
static void conn_set_events(broker_conn_t *conn, int events)
{
    if (conn->closing || events == conn->poll_events)
        return;
    conn->poll_events = events;
    if (events)
        uv_poll_start(&conn->poll, events, conn_on_poll);
    else
        uv_poll_stop(&conn->poll);
}

static bool conn_over_queued_bound(const broker_t *broker)
{
    int64_t bound = broker->cfg->queued_max_request_bytes;
    return bound >= 0 && broker->mem.in_bytes >= (uint64_t)bound;
}

/*
 * Whether conn must stop taking requests until its answers drain: 1 MiB of
 * memory held by its queue or 64 MiB unsent (sendfile ranges hold no
 * memory), or more than a small share while all queues together are over
 * eddy.queued.max.response.bytes (so non-readers cannot add up, and clients
 * that read keep going).
 */
static bool conn_write_full(const broker_conn_t *conn)
{
    if (conn->out.bytes >= CONN_MAX_WRITE_QUEUE || conn->out.held >= CONN_MAX_HELD)
        return true;
    int64_t bound = conn->broker->cfg->queued_max_response_bytes;
    return bound >= 0 && conn->out.bytes >= CONN_SHARE_WRITE_QUEUE &&
           conn->broker->mem.write_pending >= (uint64_t)bound;
}

static void conn_on_resume(uv_timer_t *t)
{
    broker_t *broker = t->data;
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &broker->conns) {
        if (broker->mem.nmem_paused == 0 || conn_over_queued_bound(broker))
            break;
        broker_conn_t *conn = list_entry(pos, broker_conn_t, node);
        if (conn->mem_paused) {
            conn->mem_paused = false;
            broker->mem.nmem_paused--;
            conn_update_reading(conn);
        }
    }
}

/* Brings broker->mem.in_bytes up to date after conn->in changed capacity. */
static void conn_account_in(broker_conn_t *conn)
{
    broker_t *broker = conn->broker;
    broker->mem.in_bytes += conn->in.cap;
    broker->mem.in_bytes -= conn->in_accounted;
    conn->in_accounted = conn->in.cap;
    /* Restart paused readers from a timer: many buffers shrink in one loop turn. */
    if (broker->mem.nmem_paused > 0 && !conn_over_queued_bound(broker) && !broker->stopping &&
        !uv_is_active((uv_handle_t *)&broker->resume_timer))
        uv_timer_start(&broker->resume_timer, conn_on_resume, 0, 0);
}

static void conn_handle_closed(uv_handle_t *h)
{
    broker_conn_t *conn = h->data;
    if (--conn->handles_open > 0)
        return;
    arena_fini(&conn->req.arena);
    buf_fini(&conn->in);
    conn_account_in(conn);
    /* The poll handle is closed: the descriptor may go now. */
    if (conn->fd >= 0)
        close(conn->fd);
    free(conn);
}

void broker_conn_close(broker_conn_t *conn, const char *why)
{
    if (conn->closing)
        return;
    conn->closing = true;
    static diag_ratelimit_t rl = DIAG_RATELIMIT_INIT(20);
    unsigned held;
    if (why && diag_ratelimit_ok(&rl, &held))
        LOG_INFO("net", "closing connection %llu from %s: %s (%u earlier closes not logged)",
                 (unsigned long long)conn->id, conn->peer, why, held);
    broker_req_cancel(&conn->req);
    if (conn->mem_paused) {
        conn->mem_paused = false;
        conn->broker->mem.nmem_paused--;
    }
    broker_admit_release(conn);
    /* Answers to the requests before a bad one go out first, as far as the
     * socket takes them without waiting (a client may read them). */
    if (conn->out.head) {
        bool blocked;
        size_t before = conn->out.bytes;
        (void)broker_outq_flush(&conn->out, conn->fd, &blocked);
        conn->broker->mem.sent_bytes += before - conn->out.bytes;
        conn->broker->mem.sent_file += conn->out.file_bytes;
        conn->out.file_bytes = 0;
    }
    list_remove(&conn->node);
    conn->broker->nconns--;
    broker_req_release_files(&conn->req);
    conn->broker->mem.write_pending -= conn->out.bytes;
    broker_outq_clear(&conn->out);
    uv_close((uv_handle_t *)&conn->timer, conn_handle_closed);
    if (conn->handles_open == 2)
        uv_close((uv_handle_t *)&conn->poll, conn_handle_closed);
}

/* Unprocessed input one connection may hold: a maximal frame and a read chunk. */
static size_t conn_input_bound(const broker_conn_t *conn)
{
    size_t b = (size_t)conn->broker->cfg->socket_request_max_bytes + 4 + CONN_READ_CHUNK;
    return b < CONN_MIN_INPUT_BOUND ? CONN_MIN_INPUT_BOUND : b;
}

/* Room to read into: out->len 0 when the connection must wait (pipelined too far, or memory). */
static void conn_alloc(broker_conn_t *conn, uv_buf_t *out)
{
    out->base = NULL;
    out->len = 0;
    if (conn->in.len - conn->in_head >= conn_input_bound(conn))
        return; /* pipelined too far ahead: wait for the frames to be handled */
    if (!conn->busy) {
        /* Nothing borrowed from the buffer: compact it and grow freely. */
        if (conn->in_head) {
            buf_consume(&conn->in, conn->in_head);
            conn->in_head = 0;
        }
        if (conn->in.cap - conn->in.len < CONN_READ_CHUNK) {
            if (conn_over_queued_bound(conn->broker)) {
                /* All input buffers together are at queued.max.request.bytes:
                 * use only room already held, else wait for buffers to drain.
                 * One read chunk is always allowed, so small requests go on. */
                if (conn->in.cap == 0) {
                    int rc = buf_reserve(&conn->in, CONN_READ_CHUNK);
                    conn_account_in(conn);
                    if (rc != 0)
                        return;
                } else if (conn->in.cap == conn->in.len) {
                    if (!conn->mem_paused) {
                        conn->mem_paused = true;
                        conn->broker->mem.nmem_paused++;
                    }
                    return;
                }
            } else {
                int rc = buf_reserve(&conn->in, CONN_READ_CHUNK);
                conn_account_in(conn);
                if (rc != 0)
                    return;
            }
        }
    }
    out->base = (char *)conn->in.data + conn->in.len;
    out->len = conn->in.cap - conn->in.len;
}

/* Writes what the socket takes; asks for writability when it is full. */
static void conn_flush(broker_conn_t *conn)
{
    if (conn->closing || !conn->out.head)
        return;
    bool blocked;
    size_t before = conn->out.bytes;
    ssize_t n = broker_outq_flush(&conn->out, conn->fd, &blocked);
    size_t sent = before - conn->out.bytes;
    conn->broker->mem.sent_bytes += sent;
    conn->broker->mem.sent_file += conn->out.file_bytes;
    conn->out.file_bytes = 0;
    conn->broker->mem.write_pending -= sent;
    if (n < 0) {
        broker_conn_close(conn, strerror((int)-n));
        return;
    }
    if (sent > 0)
        conn->last_write_ms = (int64_t)uv_now(conn->broker->loop);
    conn_set_events(conn, (conn->reading ? UV_READABLE : 0) | (blocked ? UV_WRITABLE : 0));
}

/* Reads what the socket holds into the room conn_alloc gives, and handles the frames. */
static void conn_read(broker_conn_t *conn)
{
    for (int round = 0; round < 4 && !conn->closing; round++) {
        uv_buf_t b;
        conn_alloc(conn, &b);
        if (b.len == 0) {
            /* Parked with a full buffer, or at a memory bound: whoever frees
             * room (an answer, a drained buffer) calls conn_update_reading. */
            conn->reading = false;
            conn_set_events(conn, conn->poll_events & ~UV_READABLE);
            return;
        }
        ssize_t n = read(conn->fd, b.base, b.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            broker_conn_close(conn, n == 0 ? NULL : strerror(errno));
            return;
        }
        conn->in.len += (size_t)n;
        conn->last_read_ms = (int64_t)uv_now(conn->broker->loop);
        conn_process(conn);
        if ((size_t)n < b.len || !conn->reading)
            return;
    }
}

static void conn_on_poll(uv_poll_t *h, int status, int events)
{
    broker_conn_t *conn = h->data;
    if (status < 0) {
        broker_conn_close(conn, uv_strerror(status));
        return;
    }
    if (events & UV_WRITABLE) {
        conn_flush(conn);
        if (conn->closing)
            return;
        /* A paused connection may go on now that its answers drained. */
        if (!conn->busy && !conn_write_full(conn))
            conn_process(conn);
        conn_update_reading(conn);
    }
    if ((events & (UV_READABLE | UV_DISCONNECT)) && !conn->closing && conn->reading)
        conn_read(conn);
}

static void conn_update_reading(broker_conn_t *conn)
{
    if (conn->closing)
        return;
    bool want = !conn_write_full(conn) && !conn->broker->stopping;
    if (conn->busy && conn->in.len >= conn->in.cap)
        want = false;
    if (conn->in.len - conn->in_head >= conn_input_bound(conn))
        want = false;
    if (conn->mem_paused) {
        if (conn_over_queued_bound(conn->broker))
            want = false;
        else {
            conn->mem_paused = false;
            conn->broker->mem.nmem_paused--;
        }
    }
    conn->reading = want;
    conn_set_events(conn, (want ? UV_READABLE : 0) | (conn->poll_events & UV_WRITABLE));
}

/* Queues one response frame; written at the end of conn_process, or now once much is queued. */
static void conn_queue(broker_conn_t *conn, broker_out_frame_t *f)
{
    if (conn->out.bytes == 0) /* the no-progress clock starts with the queue */
        conn->last_write_ms = (int64_t)uv_now(conn->broker->loop);
    conn->broker->mem.write_pending += f->total;
    broker_outq_push(&conn->out, f);
    if (conn->out.bytes >= CONN_FLUSH_AT && !(conn->poll_events & UV_WRITABLE))
        conn_flush(conn);
}

/* Sends one framed response held in memory; takes the buffer's memory (out is left empty). */
static void conn_send(broker_conn_t *conn, buf_t *out)
{
    size_t len = out->len;
    broker_out_frame_t *f = broker_out_frame_new(out, 1);
    if (!f) {
        buf_fini(out);
        broker_conn_close(conn, "out of memory for a response");
        return;
    }
    broker_out_frame_mem(f, 0, len);
    conn_queue(conn, f);
}

/* Where the encoder left gaps for records sent from segment files. */
typedef struct conn_splice_s {
    const broker_req_t *req;
    uint32_t n;     /* gaps seen (sizing pass) or recorded */
    uint32_t cap;   /* room in pos/file (0 in the sizing pass) */
    size_t *pos;    /* frame offset of each gap */
    uint32_t *file; /* index in req->files of each gap */
} conn_splice_t;

static bool conn_splice_owns(void *ctx, proto_bytes_t b)
{
    const broker_req_t *req = ((const conn_splice_t *)ctx)->req;
    uintptr_t p = (uintptr_t)b.ptr, lo = (uintptr_t)req->files;
    return req->nfiles > 0 && p >= lo && p < lo + (size_t)req->nfiles * sizeof(req->files[0]) &&
           (p - lo) % sizeof(req->files[0]) == 0;
}

static void conn_splice_take(void *ctx, const proto_writer_t *wr, proto_bytes_t b)
{
    conn_splice_t *sp = ctx;
    if (wr->buf && sp->n < sp->cap) {
        sp->pos[sp->n] = wr->buf->len;
        sp->file[sp->n] = (uint32_t)(((uintptr_t)b.ptr - (uintptr_t)sp->req->files) / sizeof(sp->req->files[0]));
    }
    sp->n++;
}

/*
 * Encodes header + body of req's response into one frame and queues it.
 * Records that live in segment files (req->files) are not copied: they
 * become file parts of the frame, between the memory parts around them.
 */
static int conn_respond(broker_conn_t *conn, broker_req_t *req)
{
    bool flex = proto_api_flexible(req->api, req->version);
    conn_splice_t sp = {.req = req};
    proto_splice_t splice = {conn_splice_owns, conn_splice_take, &sp};
    /* Measure first so a large answer is allocated once, not regrown. */
    proto_writer_t sizer;
    proto_writer_init(&sizer, NULL);
    if (req->nfiles > 0)
        sizer.splice = &splice;
    proto_msg_encode(req->api->response, &sizer, req->version, flex, req->resp);
    if (sp.n > 0) {
        sp.cap = sp.n;
        sp.pos = arena_alloc(&req->arena, sp.cap * sizeof(sp.pos[0]));
        sp.file = arena_alloc(&req->arena, sp.cap * sizeof(sp.file[0]));
        if (!sp.pos || !sp.file)
            return -1;
    }
    sp.n = 0;
    buf_t out;
    broker_out_frame_t *f =
        broker_out_frame_get(&conn->broker->out_pool, 2 * sp.cap + 1, sizer.count - sizer.spliced + 16, &out);
    if (!f)
        return -1;
    proto_writer_t wr;
    proto_writer_init(&wr, &out);
    wr.splice = sizer.splice;
    proto_wr_i32(&wr, 0); /* size, patched below */
    proto_resp_header_write(&wr, req->hdr.correlation_id, proto_resp_header_flexible(req->api, req->version));
    proto_msg_encode(req->api->response, &wr, req->version, flex, req->resp);
    if (wr.err || sp.n != sp.cap || wr.count - 4 > INT32_MAX) {
        broker_out_frame_set_mem(f, &out);
        broker_out_frame_put(&conn->broker->out_pool, f);
        return -1;
    }
    proto_wr_patch_i32(&wr, 0, (int32_t)(wr.count - 4));
    size_t len = out.len;
    broker_out_frame_set_mem(f, &out);
    size_t cut = 0;
    for (uint32_t i = 0; i < sp.n; i++) {
        broker_out_frame_mem(f, cut, sp.pos[i] - cut);
        broker_out_frame_file(f, &req->files[sp.file[i]]);
        cut = sp.pos[i];
    }
    broker_out_frame_mem(f, cut, len - cut);
    conn_queue(conn, f);
    return 0;
}

void broker_req_release_files(broker_req_t *req)
{
    for (int32_t i = 0; i < req->nfiles; i++)
        log_read_release(&req->files[i]);
    req->files = NULL;
    req->nfiles = 0;
}

/* Finishes the request in flight: answer (or not), then free its memory. */
static void conn_complete(broker_conn_t *conn, broker_result_t result)
{
    broker_req_t *req = &conn->req;
    /* Test hook (eddy.test.drop.produce.response.rate): lose the answer of an
     * appended Produce, as a network failure would, so tests can show that
     * idempotent retries are not stored twice. */
    double drop = conn->broker->cfg->test_drop_produce_response_rate;
    if (drop > 0 && result == BROKER_RESPOND && req->api && req->api->key == PROTO_API_PRODUCE &&
        (double)rand() / RAND_MAX < drop)
        result = BROKER_CLOSE;
    if (result == BROKER_RESPOND && conn_respond(conn, req) != 0) {
        LOG_WARN("net", "cannot encode %s v%d response for connection %llu", req->api->name, req->version,
                 (unsigned long long)conn->id);
        result = BROKER_CLOSE;
    }
    broker_req_release_files(req);
    arena_reset(&req->arena);
    req->body = req->resp = NULL;
    if (result == BROKER_CLOSE)
        broker_conn_close(conn, "request handler asked to close");
}

void broker_conn_request_done(broker_conn_t *conn, broker_result_t result)
{
    /* The parked request's frame is still the first one in the input buffer. */
    size_t len = conn->in.data
                     ? (size_t)(((uint32_t)conn->in.data[conn->in_head] << 24) |
                                ((uint32_t)conn->in.data[conn->in_head + 1] << 16) |
                                ((uint32_t)conn->in.data[conn->in_head + 2] << 8) | conn->in.data[conn->in_head + 3])
                     : 0;
    conn->busy = false;
    conn_complete(conn, result);
    if (conn->closing)
        return;
    conn->in_head += 4 + len;
    conn_process(conn);
}

/*
 * ApiVersions at a version we do not know: answer in the v0 layout with
 * UNSUPPORTED_VERSION and only our own ApiVersions range, so any client can
 * parse it and retry at a version we support (KIP-511).
 */
static void conn_api_versions_fallback(broker_conn_t *conn, const proto_req_header_t *hdr, const proto_api_desc_t *api)
{
    buf_t out;
    buf_init(&out);
    proto_writer_t wr;
    proto_writer_init(&wr, &out);
    proto_wr_i32(&wr, 0);
    proto_wr_i32(&wr, hdr->correlation_id);
    proto_wr_i16(&wr, KERR_UNSUPPORTED_VERSION);
    proto_wr_i32(&wr, 1);
    proto_wr_i16(&wr, api->key);
    proto_wr_i16(&wr, broker_api_min_advertised(api, conn->broker->cfg->api_floor));
    proto_wr_i16(&wr, api->max_version);
    if (!wr.err) {
        proto_wr_patch_i32(&wr, 0, (int32_t)(out.len - 4));
        conn_send(conn, &out);
    }
    buf_fini(&out);
}

/* Handles one whole frame; returns false when the connection is gone or busy. */
static bool conn_handle_frame(broker_conn_t *conn, const uint8_t *frame, size_t len)
{
    broker_req_t *req = &conn->req;
    proto_reader_t rd;
    proto_reader_init(&rd, frame, len);
    if (proto_req_header_read(&rd, &req->hdr) != 0) {
        broker_conn_close(conn, "malformed request header");
        return false;
    }
    const broker_api_t *entry = broker_api_lookup(req->hdr.api_key);
    const proto_api_desc_t *api = entry ? proto_api_find(req->hdr.api_key) : NULL;
    if (!api) {
        char why[96];
        snprintf(why, sizeof(why), "unknown api key %d", req->hdr.api_key);
        broker_conn_close(conn, why);
        return false;
    }
    int16_t v = req->hdr.api_version;
    /* Below the eddy.min.api.versions floor is unsupported like below the schema: Kafka 4.0 closes too. */
    if (v < broker_api_min_served(api, conn->broker->cfg->api_floor) || v > api->max_version) {
        if (api->key == PROTO_API_API_VERSIONS) {
            conn_api_versions_fallback(conn, &req->hdr, api);
            return !conn->closing;
        }
        char why[96];
        snprintf(why, sizeof(why), "unsupported version %d of %s", v, api->name);
        broker_conn_close(conn, why);
        return false;
    }
    req->api = api;
    req->version = v;
    bool flex = proto_api_flexible(api, v);
    if (proto_req_header_finish(&rd, api, v) != 0) {
        broker_conn_close(conn, "malformed request header tags");
        return false;
    }
    req->body = arena_alloc(&req->arena, api->request->size);
    req->resp = arena_alloc(&req->arena, api->response->size);
    if (!req->body || !req->resp) {
        broker_conn_close(conn, "out of memory");
        return false;
    }
    if (proto_msg_decode(api->request, &rd, v, flex, &req->arena, req->body) != 0) {
        char why[128];
        snprintf(why, sizeof(why), "malformed %s v%d request (decode error, reader line %d)", api->name, v, rd.line);
        arena_reset(&req->arena);
        broker_conn_close(conn, why);
        return false;
    }
    /* Kafka reads the fields it knows and ignores what is left (librdkafka
     * 2.15's all-topics Metadata v12 and 2.0.2's ListGroups v4 leave bytes). */
    size_t left = proto_rd_remaining(&rd);
    if (left) {
        conn->broker->mem.trailing_requests++;
        conn->broker->mem.trailing_bytes += left;
        LOG_DEBUG("net", "conn %llu: %s v%d corr %d: %zu bytes after the request ignored", (unsigned long long)conn->id,
                  api->name, v, req->hdr.correlation_id, left);
    }
    proto_msg_init(api->response, v, req->resp);
    LOG_DEBUG("net", "conn %llu: %s v%d corr %d", (unsigned long long)conn->id, api->name, v, req->hdr.correlation_id);
    broker_result_t result = entry->handler(req);
    if (result == BROKER_PARKED) {
        conn->busy = true;
        return false;
    }
    conn_complete(conn, result);
    return !conn->closing;
}

static void conn_process(broker_conn_t *conn)
{
    uint32_t max = (uint32_t)conn->broker->cfg->socket_request_max_bytes;
    while (!conn->busy && !conn->closing && !conn_write_full(conn)) {
        size_t avail = conn->in.len - conn->in_head;
        if (avail < 4)
            break;
        const uint8_t *p = conn->in.data + conn->in_head;
        int32_t size = (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]);
        /* The smallest header is 8 bytes (key, version, correlation id) plus a 2-byte client id length. */
        if (size < 10 || (uint32_t)size > max) {
            char why[80];
            snprintf(why, sizeof(why), "invalid frame size %d", size);
            broker_conn_close(conn, why);
            return;
        }
        /* Incomplete: the buffer grows as bytes arrive, never ahead of them, so a
         * size field alone cannot make the broker allocate. */
        if (avail - 4 < (size_t)size)
            break;
        size_t start = conn->in_head + 4;
        if (!conn_handle_frame(conn, conn->in.data + start, (size_t)size)) {
            if (conn->busy) /* parked: the frame stays until broker_req_finish */
                break;
            return;
        }
        conn->in_head = start + (size_t)size;
    }
    if (!conn->closing && !conn->busy && conn->in_head == conn->in.len) {
        conn->in.len = 0;
        conn->in_head = 0;
        buf_shrink(&conn->in, 1024u * 1024u);
        conn_account_in(conn);
    }
    /* Every answer of this round in one writev (or a few, around file parts). */
    conn_flush(conn);
    conn_update_reading(conn);
}

static void conn_refuse(broker_conn_t *conn, const char *why)
{
    static diag_ratelimit_t rl = DIAG_RATELIMIT_INIT(1);
    unsigned held;
    if (diag_ratelimit_ok(&rl, &held))
        LOG_WARN("net", "refusing connection from %s: %s (%u more refused, not logged)", conn->peer, why, held);
    broker_conn_close(conn, NULL);
}

/*
 * The sweep: closes connections with nothing in flight and no progress for
 * connections.max.idle.ms, and gives quiet connections' buffers back.
 */
static void conn_on_sweep(uv_timer_t *t)
{
    broker_t *broker = t->data;
    int64_t now = (int64_t)uv_now(broker->loop);
    int64_t idle = broker->cfg->connections_max_idle_ms;
    if (broker->accept_paused && !broker->stopping) {
        broker->accept_paused = false;
        uv_poll_start(&broker->listener, UV_READABLE, broker_conn_on_listener);
    }
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &broker->conns) {
        broker_conn_t *conn = list_entry(pos, broker_conn_t, node);
        if (conn->closing)
            continue;
        if (conn->out.bytes > 0 && now - conn->last_write_ms > idle) {
            broker_conn_close(conn, "does not read its responses");
            continue;
        }
        if (conn->busy || conn->req.group_waiting)
            continue;
        int64_t last = conn->last_read_ms > conn->last_write_ms ? conn->last_read_ms : conn->last_write_ms;
        if (now - last > idle) {
            broker_conn_close(conn, conn->in.len > conn->in_head ? "partial request, no progress" : "idle");
            continue;
        }
        if (now - last > CONN_TRIM_AFTER_MS && conn->in.len == 0 && conn->out.bytes == 0) {
            /* Quiet: an idle connection should cost its socket and this struct, no buffers. */
            if (conn->in.cap) {
                buf_fini(&conn->in);
                conn->in_head = 0;
                conn_account_in(conn);
            }
            arena_fini(&conn->req.arena);
            arena_init(&conn->req.arena, CONN_ARENA_LIMIT);
        }
    }
}

void broker_conn_limits_start(broker_t *broker)
{
    int64_t every = broker->cfg->connections_max_idle_ms / 10;
    if (every < 50)
        every = 50;
    if (every > 1000)
        every = 1000;
    uv_timer_init(broker->loop, &broker->sweep_timer);
    uv_timer_init(broker->loop, &broker->resume_timer);
    broker->sweep_timer.data = broker->resume_timer.data = broker;
    uv_timer_start(&broker->sweep_timer, conn_on_sweep, (uint64_t)every, (uint64_t)every);
}

void broker_conn_limits_stop(broker_t *broker, uv_close_cb on_closed)
{
    uv_close((uv_handle_t *)&broker->sweep_timer, on_closed);
    uv_close((uv_handle_t *)&broker->resume_timer, on_closed);
}

void broker_conn_on_listener(uv_poll_t *h, int status, int events)
{
    broker_t *broker = h->data;
    (void)events;
    if (status < 0) {
        /* libuv has stopped the handle; the sweep starts it again. */
        LOG_WARN("net", "listener: %s; accepting again after a pause", uv_strerror(status));
        uv_poll_stop(h);
        broker->accept_paused = true;
        return;
    }
    /* A bounded batch per wake-up, so a connection storm cannot starve the loop. */
    for (int i = 0; i < 64 && !broker->stopping; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(broker->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            (void)broker_conn_accept(broker, fd, (const struct sockaddr *)&ss);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM)
            continue; /* EINTR, or an error of that one pending connection (ECONNABORTED, EPROTO, EPERM...) */
        static diag_ratelimit_t rl = DIAG_RATELIMIT_INIT(1);
        unsigned held;
        if (diag_ratelimit_ok(&rl, &held))
            LOG_WARN("net", "accept: %s; trying again after a pause (%u earlier failures not logged)", strerror(errno),
                     held);
        /* Out of descriptors or memory: the pending connection stays readable,
         * so waiting for readiness would spin. The sweep timer resumes. */
        uv_poll_stop(h);
        broker->accept_paused = true;
        return;
    }
}

int broker_conn_accept(broker_t *broker, int fd, const struct sockaddr *addr)
{
    broker_conn_t *conn = calloc(1, sizeof(*conn));
    if (!conn) {
        close(fd);
        return -ENOMEM;
    }
    conn->broker = broker;
    conn->id = ++broker->next_conn_id;
    conn->fd = fd;
    buf_init(&conn->in);
    broker_outq_init(&conn->out, &broker->out_pool);
    arena_init(&conn->req.arena, CONN_ARENA_LIMIT);
    conn->req.conn = conn;
    conn->req.broker = broker;
    list_init(&conn->req.park_node);
    uv_timer_init(broker->loop, &conn->timer);
    conn->timer.data = conn;
    conn->handles_open = 1;
    list_insert_tail(&broker->conns, &conn->node);
    broker->nconns++;
    conn->last_read_ms = conn->last_write_ms = (int64_t)uv_now(broker->loop);
    if (uv_poll_init(broker->loop, &conn->poll, fd) != 0) {
        /* Only the timer to close; the descriptor goes with it. */
        broker_conn_close(conn, "cannot watch the socket");
        return -EIO;
    }
    conn->poll.data = conn;
    conn->handles_open = 2;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    snprintf(conn->peer, sizeof(conn->peer), "?");
    char host[48] = "?";
    int port = 0;
    if (addr->sa_family == AF_INET) {
        uv_ip4_name((const struct sockaddr_in *)(const void *)addr, host, sizeof(host));
        port = ntohs(((const struct sockaddr_in *)(const void *)addr)->sin_port);
    } else if (addr->sa_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)(const void *)addr, host, sizeof(host));
        port = ntohs(((const struct sockaddr_in6 *)(const void *)addr)->sin6_port);
    }
    snprintf(conn->peer, sizeof(conn->peer), "%s:%d", host, port);
    if (broker->nconns > broker->cfg->max_connections) {
        conn_refuse(conn, "max.connections reached");
        return 0;
    }
    if (!broker_admit_host(conn, host)) {
        conn_refuse(conn, "max.connections.per.ip reached");
        return 0;
    }
    conn_update_reading(conn);
    return 0;
}
