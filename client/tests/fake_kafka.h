/*
 * client/tests/fake_kafka: an in-process fake Kafka broker on the test's loop.
 *
 * It listens on 127.0.0.1, reads request frames, answers ApiVersions and
 * Metadata with canned responses encoded by our codec, and misbehaves on
 * request (wrong correlation id, garbage or oversized frames, truncated
 * bodies, closing mid-response, silence, holding answers back). It counts
 * what it saw so tests can check what the client sent. Header-only: each
 * test program that includes it gets its own copy.
 */
#ifndef EDDY_CLIENT_TESTS_FAKE_KAFKA_H
#define EDDY_CLIENT_TESTS_FAKE_KAFKA_H

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "protocol/codec.h"
#include "protocol/gen/messages.h"
#include "protocol/header.h"
#include "protocol/kafka_errors.h"

#define FAKE_MAX_CONNS 512
#define FAKE_MAX_HELD  64

typedef struct fake_s fake_t;

typedef struct fake_held_s {
    int32_t cid;
    int16_t api_key, version;
} fake_held_t;

typedef struct fake_conn_s {
    uv_tcp_t tcp;
    fake_t *fs;
    buf_t in;
    bool closing;
    fake_held_t held[FAKE_MAX_HELD];
    int nheld;
} fake_conn_t;

struct fake_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listening;
    int port;
    fake_conn_t *conns[FAKE_MAX_CONNS];
    int nconns;  /* accepted so far */
    int nclosed; /* closed by either side */
    int open_handles;
    /* behaviour */
    int16_t api_versions_max; /* higher ApiVersions versions get UNSUPPORTED_VERSION (v0 layout) */
    int16_t metadata_max;     /* advertised Metadata max version */
    int wrong_cid, garbage, oversize, truncated, close_mid, silent; /* count down, one fault per answer */
    int topic_error;                                                /* answers whose topic carries topic_error_code */
    int16_t topic_error_code;
    int random_body; /* answers: right correlation id, random body */
    uint32_t seed;
    bool hold;      /* keep answers back until fake_release */
    int32_t leader; /* partition leader in Metadata answers */
    int32_t leader_epoch;
    /* observations */
    int requests[128];
    int16_t versions[128]; /* of the last request per API */
    int16_t api_versions_seen[8];
    int napi_versions_seen;
    int max_held;
};

static void fake_write(fake_conn_t *c, const void *data, size_t len);

static void fake_write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void fake_write(fake_conn_t *c, const void *data, size_t len)
{
    if (c->closing)
        return;
    uv_write_t *w = malloc(sizeof(*w));
    char *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    w->data = copy;
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, fake_write_done) != 0) {
        free(copy);
        free(w);
    }
}

static void fake_conn_closed(uv_handle_t *h)
{
    fake_conn_t *c = h->data;
    c->fs->open_handles--;
    buf_fini(&c->in);
    for (int i = 0; i < c->fs->nconns; i++)
        if (c->fs->conns[i] == c)
            c->fs->conns[i] = NULL;
    free(c);
}

static void fake_close_conn(fake_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->fs->nclosed++;
    uv_close((uv_handle_t *)&c->tcp, fake_conn_closed);
}

/* Encodes size + response header + body into out. */
static void fake_encode(buf_t *out, int32_t cid, int16_t key, int16_t version, const void *resp)
{
    const proto_api_desc_t *api = proto_api_find(key);
    proto_writer_t wr;
    proto_writer_init(&wr, out);
    size_t at = out->len;
    proto_wr_i32(&wr, 0);
    proto_resp_header_write(&wr, cid, proto_resp_header_flexible(api, version));
    proto_msg_encode(api->response, &wr, version, proto_api_flexible(api, version), resp);
    proto_wr_patch_i32(&wr, at, (int32_t)(out->len - at - 4));
}

static void fake_answer_api_versions(fake_conn_t *c, int32_t cid, int16_t version)
{
    fake_t *fs = c->fs;
    arena_t a;
    arena_init(&a, 0);
    int16_t v = version;
    proto_api_versions_resp_t resp;
    proto_msg_init(&proto_api_versions_resp_desc, 0, &resp);
    if (version > fs->api_versions_max) {
        v = 0;
        resp.error_code = KERR_UNSUPPORTED_VERSION;
    }
    proto_api_versions_resp_api_version_t *items = arena_alloc(&a, 128 * sizeof(*items));
    int n = 0;
    for (int16_t k = 0; k < 128; k++) {
        const proto_api_desc_t *api = proto_api_find(k);
        if (!api)
            continue;
        items[n].api_key = k;
        items[n].min_version = api->min_version;
        items[n].max_version = api->max_version;
        if (k == PROTO_API_METADATA)
            items[n].max_version = fs->metadata_max;
        if (k == PROTO_API_API_VERSIONS)
            items[n].max_version = fs->api_versions_max;
        n++;
    }
    resp.api_keys.n = n;
    resp.api_keys.items = items;
    buf_t out;
    buf_init(&out);
    fake_encode(&out, cid, PROTO_API_API_VERSIONS, v, &resp);
    fake_write(c, out.data, out.len);
    buf_fini(&out);
    arena_fini(&a);
}

static void fake_metadata_resp(fake_t *fs, arena_t *a, int16_t version, proto_metadata_resp_t *resp)
{
    proto_msg_init(&proto_metadata_resp_desc, version, resp);
    proto_metadata_resp_broker_t *b = arena_alloc(a, 2 * sizeof(*b));
    b[0] = (proto_metadata_resp_broker_t){
        .node_id = 1, .host = proto_str_c("127.0.0.1"), .port = fs->port, .rack = proto_str_c("rack-a")};
    b[1] = (proto_metadata_resp_broker_t){
        .node_id = 2, .host = proto_str_c("127.0.0.1"), .port = fs->port, .rack = {NULL, -1}};
    resp->brokers.n = 2;
    resp->brokers.items = b;
    resp->cluster_id = proto_str_c("fake-cluster");
    resp->controller_id = 2;
    proto_metadata_resp_topic_t *t = arena_alloc(a, sizeof(*t));
    proto_msg_init(&proto_metadata_resp_topic_desc, version, t);
    t->name = proto_str_c("events");
    if (fs->topic_error > 0) {
        fs->topic_error--;
        t->error_code = fs->topic_error_code;
    }
    t->topic_id.b[0] = 0xab;
    proto_metadata_resp_partition_t *p = arena_alloc(a, 2 * sizeof(*p));
    static int32_t replicas[2] = {1, 2};
    static int32_t isr[1] = {1};
    for (int i = 0; i < 2; i++) {
        proto_msg_init(&proto_metadata_resp_partition_desc, version, &p[i]);
        p[i].partition_index = 1 - i; /* out of order on purpose: the cache sorts */
        p[i].leader_id = i == 0 ? 2 : fs->leader;
        p[i].leader_epoch = fs->leader_epoch;
        p[i].replica_nodes.n = 2;
        p[i].replica_nodes.items = replicas;
        p[i].isr_nodes.n = 1;
        p[i].isr_nodes.items = isr;
    }
    t->partitions.n = 2;
    t->partitions.items = p;
    resp->topics.n = 1;
    resp->topics.items = t;
}

static void fake_answer(fake_conn_t *c, int32_t cid, int16_t key, int16_t version)
{
    fake_t *fs = c->fs;
    if (fs->silent > 0) {
        fs->silent--;
        return;
    }
    if (fs->garbage > 0) {
        fs->garbage--;
        static const uint8_t junk[] = {0, 0, 0, 2, 0xde, 0xad};
        fake_write(c, junk, sizeof(junk));
        return;
    }
    if (fs->oversize > 0) {
        fs->oversize--;
        static const uint8_t big[] = {0x10, 0, 0, 0, 0, 0, 0, 1};
        fake_write(c, big, sizeof(big));
        return;
    }
    if (fs->random_body > 0) {
        fs->random_body--;
        uint8_t frame[4 + 4 + 256];
        size_t n = 0;
        fs->seed = fs->seed * 1103515245u + 12345u;
        size_t len = (fs->seed >> 16) % 256;
        for (size_t i = 0; i < len; i++) {
            fs->seed = fs->seed * 1103515245u + 12345u;
            /* small values often: they look like lengths and counts */
            uint8_t v = (uint8_t)(fs->seed >> 16);
            frame[8 + i] = (fs->seed >> 28) & 1 ? (uint8_t)(v & 3) : v;
        }
        n = 8 + len;
        uint32_t size = (uint32_t)(n - 4);
        frame[0] = (uint8_t)(size >> 24), frame[1] = (uint8_t)(size >> 16), frame[2] = (uint8_t)(size >> 8);
        frame[3] = (uint8_t)size;
        frame[4] = (uint8_t)((uint32_t)cid >> 24), frame[5] = (uint8_t)((uint32_t)cid >> 16);
        frame[6] = (uint8_t)((uint32_t)cid >> 8), frame[7] = (uint8_t)cid;
        fake_write(c, frame, n);
        return;
    }
    arena_t a;
    arena_init(&a, 0);
    proto_metadata_resp_t resp;
    fake_metadata_resp(fs, &a, version, &resp);
    buf_t out;
    buf_init(&out);
    if (fs->wrong_cid > 0) {
        fs->wrong_cid--;
        cid += 1000;
    }
    /* Every API gets a Metadata-shaped answer: the tests only send Metadata. */
    fake_encode(&out, cid, key, version, &resp);
    if (fs->truncated > 0) {
        fs->truncated--;
        /* a valid frame whose body stops short: the size says 12 bytes, the body is cut */
        uint8_t frame[16] = {0, 0, 0, 12};
        memcpy(frame + 4, out.data + 4, 12);
        fake_write(c, frame, 16);
    } else if (fs->close_mid > 0) {
        fs->close_mid--;
        fake_write(c, out.data, out.len / 2);
        fake_close_conn(c);
    } else {
        fake_write(c, out.data, out.len);
    }
    buf_fini(&out);
    arena_fini(&a);
}

static void fake_release(fake_t *fs)
{
    fs->hold = false;
    for (int i = 0; i < fs->nconns; i++) {
        fake_conn_t *c = fs->conns[i];
        if (!c)
            continue;
        for (int j = 0; j < c->nheld; j++)
            fake_answer(c, c->held[j].cid, c->held[j].api_key, c->held[j].version);
        c->nheld = 0;
    }
}

static void fake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    fake_conn_t *c = h->data;
    buf_reserve(&c->in, 65536);
    *out = uv_buf_init((char *)c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void fake_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    fake_conn_t *c = s->data;
    fake_t *fs = c->fs;
    if (nread < 0) {
        fake_close_conn(c);
        return;
    }
    c->in.len += (size_t)nread;
    while (!c->closing && c->in.len >= 4) {
        uint8_t *p = c->in.data;
        int32_t size = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        if (c->in.len < 4 + (size_t)size)
            break;
        proto_reader_t rd;
        proto_reader_init(&rd, p + 4, (size_t)size);
        proto_req_header_t hdr;
        proto_req_header_read(&rd, &hdr);
        if (hdr.api_key >= 0 && hdr.api_key < 128) {
            fs->requests[hdr.api_key]++;
            fs->versions[hdr.api_key] = hdr.api_version;
        }
        if (hdr.api_key == PROTO_API_API_VERSIONS) {
            if (fs->napi_versions_seen < 8)
                fs->api_versions_seen[fs->napi_versions_seen++] = hdr.api_version;
            fake_answer_api_versions(c, hdr.correlation_id, hdr.api_version);
        } else if (fs->hold && c->nheld < FAKE_MAX_HELD) {
            c->held[c->nheld++] = (fake_held_t){hdr.correlation_id, hdr.api_key, hdr.api_version};
            if (c->nheld > fs->max_held)
                fs->max_held = c->nheld;
        } else {
            fake_answer(c, hdr.correlation_id, hdr.api_key, hdr.api_version);
        }
        buf_consume(&c->in, 4 + (size_t)size);
    }
}

static void fake_on_connection(uv_stream_t *server, int status)
{
    fake_t *fs = server->data;
    if (status < 0)
        return;
    fake_conn_t *c = calloc(1, sizeof(*c));
    c->fs = fs;
    buf_init(&c->in);
    uv_tcp_init(fs->loop, &c->tcp);
    c->tcp.data = c;
    fs->open_handles++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || fs->nconns >= FAKE_MAX_CONNS) {
        fake_close_conn(c);
        return;
    }
    fs->conns[fs->nconns++] = c;
    uv_read_start((uv_stream_t *)&c->tcp, fake_alloc, fake_on_read);
}

static void fake_listener_closed(uv_handle_t *h)
{
    ((fake_t *)h->data)->open_handles--;
}

/* Listens on 127.0.0.1:port (0: any). Returns 0 or a uv error. */
static int fake_start(fake_t *fs, uv_loop_t *loop, int port)
{
    memset(fs, 0, sizeof(*fs));
    fs->loop = loop;
    fs->api_versions_max = 3;
    fs->metadata_max = 12;
    fs->leader = 1;
    fs->leader_epoch = 7;
    uv_tcp_init(loop, &fs->listener);
    fs->listener.data = fs;
    fs->open_handles = 1;
    fs->listening = true;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    int rc = uv_tcp_bind(&fs->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&fs->listener, 16, fake_on_connection);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&fs->listener, (struct sockaddr *)&ss, &len);
    fs->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return rc;
}

static void fake_stop(fake_t *fs)
{
    for (int i = 0; i < fs->nconns; i++)
        if (fs->conns[i])
            fake_close_conn(fs->conns[i]);
    if (fs->listening) {
        fs->listening = false;
        uv_close((uv_handle_t *)&fs->listener, fake_listener_closed);
    }
}

#endif
