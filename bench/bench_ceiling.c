/*
 * bench_ceiling: the fastest "broker" a Kafka client can talk to, so that
 * bench/perf.sh can tell how much of a figure is the client and the
 * loopback network rather than the broker under test.
 *
 *   bench_ceiling        prints "ceiling ready on 127.0.0.1:PORT", serves until SIGTERM
 *
 * It stores nothing it does not need to answer. Produce is answered at
 * once: the partition's next offset advances by the batches' record count,
 * and the first batch of the request is kept as the partition's "canned"
 * batch when it is the largest seen, and copied into a ring of the
 * partition's RECENT most recent batches when it is small (a latency probe
 * sends one record at a time; copying every megabyte batch of a throughput
 * run would make the ceiling pay page faults and copies no broker needs). Fetch at an offset below the next offset is
 * answered at once with one batch: the real one from the ring when the
 * offset is still there, else the canned batch with its base offset
 * rewritten to the requested offset (the batch CRC starts after the base
 * offset, length, leader epoch and magic, so the rewrite keeps it valid).
 * Fetch at the next offset waits, like a real long poll, until a Produce to
 * any partition or the request's max wait. So a consumer reading a large
 * topic gets the same batch over and over at the speed of the network, and
 * a latency probe that keeps up gets each produced batch back, unchanged,
 * as soon as it arrives.
 *
 * Besides Produce and Fetch it answers just what librdkafka and
 * bench_rdkafka send: ApiVersions, Metadata (one broker, node 0, leader of
 * everything), CreateTopics, DeleteTopics, ListOffsets (earliest 0, latest
 * the next offset) and FindCoordinator (itself). It uses eddy's protocol
 * codec (protocol/gen) but none of eddy's broker. One thread, epoll,
 * non-blocking sockets; a connection with a parked Fetch reads no further
 * requests until it is answered, as a broker processes one request per
 * connection at a time. Input is untrusted as anywhere: a frame that does
 * not decode closes its connection. It measures nothing itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "protocol/gen/messages.h"
#include "protocol/header.h"
#include "protocol/kafka_errors.h"
#include "protocol/reader.h"
#include "protocol/writer.h"

#define MAX_FRAME  (128u << 20) /* larger frames close the connection */
#define MAX_TOPICS 4096
#define MAX_FDS    4096
#define READ_CHUNK (256u << 10)
#define HOST       "127.0.0.1"
#define RECENT     16          /* small batches per partition kept as they were produced */
#define RECENT_MAX (64u << 10) /* larger batches are not kept in the ring */

/*
 * Record batch header fields the ceiling reads or writes (big-endian):
 *
 *   offset  size  field
 *        0     8  base offset           rewritten on Fetch; outside the CRC
 *        8     4  batch length          bytes after this field
 *       12     4  partition leader epoch
 *       16     1  magic                 2
 *       17     4  crc                   covers bytes 21..end
 *       23     4  last offset delta     record count - 1
 *       57     4  record count
 *       61        first record
 */
#define BATCH_HEADER     61
#define BATCH_LEN_OFF    8
#define BATCH_MAGIC_OFF  16
#define BATCH_LAST_DELTA 23

typedef struct {
    uint8_t *data;
    size_t len, cap;
    int64_t base;  /* offset it was given (ring) */
    int64_t count; /* records in the batch */
} ceil_batch_t;

typedef struct {
    int64_t next_offset;
    ceil_batch_t recent[RECENT]; /* first batch of each of the last Produces */
    unsigned n_produced;         /* Produces so far: recent[n_produced % RECENT] is the next slot */
    ceil_batch_t canned;         /* largest batch seen */
} ceil_part_t;

typedef struct {
    char *name;
    int32_t name_len;
    proto_uuid_t id;
    int32_t nparts;
    ceil_part_t *parts;
} ceil_topic_t;

typedef struct {
    int fd;
    buf_t in;
    size_t in_off; /* start of the first unhandled frame in `in` */
    buf_t out;
    size_t out_off;
    bool want_out; /* EPOLLOUT registered */
    bool parked;   /* the frame at in_off is a Fetch waiting for data */
    int64_t park_deadline_ms;
    arena_t arena;
} ceil_conn_t;

typedef enum { CEIL_RESPOND, CEIL_SILENT, CEIL_PARK, CEIL_CLOSE } ceil_result_t;

static ceil_topic_t *topics[MAX_TOPICS];
static ceil_conn_t *conns[MAX_FDS];
static int max_fd = -1; /* highest fd in conns, so scans stay short */
static int epfd;
static int32_t listen_port;
static uint64_t topic_serial;
static bool produced; /* a Produce arrived: parked Fetches may have data */
static volatile sig_atomic_t stop;

static const int16_t served_apis[] = {
    PROTO_API_PRODUCE,          PROTO_API_FETCH,        PROTO_API_LIST_OFFSETS,  PROTO_API_METADATA,
    PROTO_API_FIND_COORDINATOR, PROTO_API_API_VERSIONS, PROTO_API_CREATE_TOPICS, PROTO_API_DELETE_TOPICS,
};
#define N_SERVED (sizeof(served_apis) / sizeof(served_apis[0]))

static int32_t node0[1] = {0}; /* replica and ISR lists: node 0 only */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t rd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr_be64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)u;
        u >>= 8;
    }
}

/* ---- topics ------------------------------------------------------------ */

static int topic_slot(const uint8_t *name, int32_t len)
{
    for (int i = 0; i < MAX_TOPICS; i++)
        if (topics[i] && topics[i]->name_len == len && memcmp(topics[i]->name, name, (size_t)len) == 0)
            return i;
    return -1;
}

static ceil_topic_t *topic_by_name(proto_str_t name)
{
    int i = name.len > 0 ? topic_slot(name.ptr, name.len) : -1;
    return i < 0 ? NULL : topics[i];
}

static ceil_topic_t *topic_by_id(const proto_uuid_t *id)
{
    for (int i = 0; i < MAX_TOPICS; i++)
        if (topics[i] && memcmp(topics[i]->id.b, id->b, sizeof(id->b)) == 0)
            return topics[i];
    return NULL;
}

static int16_t topic_create(proto_str_t name, int32_t nparts, proto_uuid_t *id_out)
{
    if (name.len <= 0 || name.len > 249 || nparts < 1 || nparts > 100000)
        return KERR_INVALID_REQUEST;
    if (topic_by_name(name))
        return KERR_TOPIC_ALREADY_EXISTS;
    int slot = -1;
    for (int i = 0; i < MAX_TOPICS && slot < 0; i++)
        if (!topics[i])
            slot = i;
    ceil_topic_t *t = calloc(1, sizeof(*t));
    if (slot < 0 || !t)
        goto fail;
    t->name = malloc((size_t)name.len);
    t->parts = calloc((size_t)nparts, sizeof(*t->parts));
    if (!t->name || !t->parts)
        goto fail;
    memcpy(t->name, name.ptr, (size_t)name.len);
    t->name_len = name.len;
    t->nparts = nparts;
    uint64_t serial = ++topic_serial;
    memcpy(t->id.b, "ceiling!", 8);
    memcpy(t->id.b + 8, &serial, 8);
    *id_out = t->id;
    topics[slot] = t;
    return KERR_NONE;
fail:
    if (t) {
        free(t->name);
        free(t->parts);
        free(t);
    }
    return KERR_UNKNOWN_SERVER_ERROR;
}

static void topic_free(ceil_topic_t *t)
{
    for (int32_t p = 0; p < t->nparts; p++) {
        for (int i = 0; i < RECENT; i++)
            free(t->parts[p].recent[i].data);
        free(t->parts[p].canned.data);
    }
    free(t->parts);
    free(t->name);
    free(t);
}

static bool batch_store(ceil_batch_t *b, const uint8_t *data, size_t len, int64_t base, int64_t count)
{
    if (len > b->cap) {
        uint8_t *n = realloc(b->data, len);
        if (!n)
            return false;
        b->data = n;
        b->cap = len;
    }
    memcpy(b->data, data, len);
    b->len = len;
    b->base = base;
    b->count = count;
    return true;
}

/* ---- handlers ---------------------------------------------------------- */

static void *alloc_structs(arena_t *arena, const proto_struct_desc_t *desc, int16_t version, int32_t n)
{
    if (n <= 0)
        return NULL;
    char *items = arena_alloc(arena, (size_t)n * desc->size);
    if (items)
        for (int32_t i = 0; i < n; i++)
            proto_msg_init(desc, version, items + (size_t)i * desc->size);
    return items;
}

#define FILL(arena, arr, desc, v, count)                                                                               \
    ((arr).n = (count), (arr).items = alloc_structs((arena), &(desc), (v), (count)), (count) <= 0 || (arr).items)

static ceil_result_t handle_api_versions(arena_t *a, int16_t v, const void *body, void *resp_)
{
    (void)body;
    proto_api_versions_resp_t *resp = resp_;
    if (!FILL(a, resp->api_keys, proto_api_versions_resp_api_version_desc, v, (int32_t)N_SERVED))
        return CEIL_CLOSE;
    for (size_t i = 0; i < N_SERVED; i++) {
        const proto_api_desc_t *api = proto_api_find(served_apis[i]);
        resp->api_keys.items[i].api_key = api->key;
        resp->api_keys.items[i].min_version = api->adv_min_version;
        resp->api_keys.items[i].max_version = api->max_version;
    }
    return CEIL_RESPOND;
}

static void metadata_topic(arena_t *a, int16_t v, proto_metadata_resp_topic_t *out, const ceil_topic_t *t)
{
    out->name = (proto_str_t){(const uint8_t *)t->name, t->name_len};
    out->topic_id = t->id;
    if (!FILL(a, out->partitions, proto_metadata_resp_partition_desc, v, t->nparts)) {
        out->partitions.n = 0;
        out->error_code = KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    for (int32_t p = 0; p < t->nparts; p++) {
        proto_metadata_resp_partition_t *mp = &out->partitions.items[p];
        mp->partition_index = p;
        mp->leader_id = 0;
        mp->leader_epoch = 0;
        mp->replica_nodes = (proto_arr_int32_t){1, node0};
        mp->isr_nodes = (proto_arr_int32_t){1, node0};
    }
}

static ceil_result_t handle_metadata(arena_t *a, int16_t v, const void *body, void *resp_)
{
    const proto_metadata_req_t *req = body;
    proto_metadata_resp_t *resp = resp_;
    if (!FILL(a, resp->brokers, proto_metadata_resp_broker_desc, v, 1))
        return CEIL_CLOSE;
    resp->brokers.items[0].node_id = 0;
    resp->brokers.items[0].host = proto_str_c(HOST);
    resp->brokers.items[0].port = listen_port;
    resp->cluster_id = proto_str_c("bench-ceiling");
    resp->controller_id = 0;
    if (req->topics.n < 0) {
        int32_t n = 0;
        for (int i = 0; i < MAX_TOPICS; i++)
            n += topics[i] != NULL;
        if (!FILL(a, resp->topics, proto_metadata_resp_topic_desc, v, n))
            return CEIL_CLOSE;
        int32_t k = 0;
        for (int i = 0; i < MAX_TOPICS; i++)
            if (topics[i])
                metadata_topic(a, v, &resp->topics.items[k++], topics[i]);
        return CEIL_RESPOND;
    }
    if (!FILL(a, resp->topics, proto_metadata_resp_topic_desc, v, req->topics.n))
        return CEIL_CLOSE;
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_metadata_req_topic_t *rt = &req->topics.items[i];
        const ceil_topic_t *t = rt->name.len >= 0 ? topic_by_name(rt->name) : topic_by_id(&rt->topic_id);
        if (t) {
            metadata_topic(a, v, &resp->topics.items[i], t);
        } else {
            resp->topics.items[i].name = rt->name;
            resp->topics.items[i].topic_id = rt->topic_id;
            resp->topics.items[i].error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    return CEIL_RESPOND;
}

static ceil_result_t handle_create_topics(arena_t *a, int16_t v, const void *body, void *resp_)
{
    const proto_create_topics_req_t *req = body;
    proto_create_topics_resp_t *resp = resp_;
    if (!FILL(a, resp->topics, proto_create_topics_resp_topic_desc, v, req->topics.n))
        return CEIL_CLOSE;
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_create_topics_req_topic_t *rt = &req->topics.items[i];
        proto_create_topics_resp_topic_t *out = &resp->topics.items[i];
        int32_t nparts = rt->num_partitions < 0 ? 1 : rt->num_partitions;
        out->name = rt->name;
        out->num_partitions = nparts;
        out->replication_factor = 1;
        if (req->validate_only)
            out->error_code = topic_by_name(rt->name) ? KERR_TOPIC_ALREADY_EXISTS : KERR_NONE;
        else
            out->error_code = topic_create(rt->name, nparts, &out->topic_id);
    }
    return CEIL_RESPOND;
}

static int16_t delete_one(proto_str_t name, const proto_uuid_t *id)
{
    for (int i = 0; i < MAX_TOPICS; i++) {
        ceil_topic_t *t = topics[i];
        if (!t)
            continue;
        bool hit = name.len > 0 ? (t->name_len == name.len && memcmp(t->name, name.ptr, (size_t)name.len) == 0)
                                : (id && memcmp(t->id.b, id->b, sizeof(id->b)) == 0);
        if (hit) {
            topics[i] = NULL;
            topic_free(t);
            return KERR_NONE;
        }
    }
    return KERR_UNKNOWN_TOPIC_OR_PARTITION;
}

static ceil_result_t handle_delete_topics(arena_t *a, int16_t v, const void *body, void *resp_)
{
    const proto_delete_topics_req_t *req = body;
    proto_delete_topics_resp_t *resp = resp_;
    int32_t n = v >= 6 ? req->topics.n : req->topic_names.n;
    if (!FILL(a, resp->responses, proto_delete_topics_resp_result_desc, v, n))
        return CEIL_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        proto_delete_topics_resp_result_t *out = &resp->responses.items[i];
        if (v >= 6) {
            out->name = req->topics.items[i].name;
            out->topic_id = req->topics.items[i].topic_id;
            out->error_code = delete_one(out->name, &out->topic_id);
        } else {
            out->name = req->topic_names.items[i];
            out->error_code = delete_one(out->name, NULL);
        }
    }
    return CEIL_RESPOND;
}

static ceil_result_t handle_list_offsets(arena_t *a, int16_t v, const void *body, void *resp_)
{
    const proto_list_offsets_req_t *req = body;
    proto_list_offsets_resp_t *resp = resp_;
    if (!FILL(a, resp->topics, proto_list_offsets_resp_topic_desc, v, req->topics.n))
        return CEIL_CLOSE;
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_list_offsets_req_topic_t *rt = &req->topics.items[i];
        proto_list_offsets_resp_topic_t *out = &resp->topics.items[i];
        const ceil_topic_t *t = topic_by_name(rt->name);
        out->name = rt->name;
        if (!FILL(a, out->partitions, proto_list_offsets_resp_partition_desc, v, rt->partitions.n))
            return CEIL_CLOSE;
        for (int32_t j = 0; j < rt->partitions.n; j++) {
            const proto_list_offsets_req_partition_t *rp = &rt->partitions.items[j];
            proto_list_offsets_resp_partition_t *op = &out->partitions.items[j];
            op->partition_index = rp->partition_index;
            op->timestamp = -1;
            if (!t || rp->partition_index < 0 || rp->partition_index >= t->nparts) {
                op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                op->offset = -1;
                continue;
            }
            op->leader_epoch = 0;
            op->offset = rp->timestamp == -1 ? t->parts[rp->partition_index].next_offset : 0;
        }
    }
    return CEIL_RESPOND;
}

static ceil_result_t handle_find_coordinator(arena_t *a, int16_t v, const void *body, void *resp_)
{
    const proto_find_coordinator_req_t *req = body;
    proto_find_coordinator_resp_t *resp = resp_;
    if (v < 4) {
        resp->node_id = 0;
        resp->host = proto_str_c(HOST);
        resp->port = listen_port;
        return CEIL_RESPOND;
    }
    if (!FILL(a, resp->coordinators, proto_find_coordinator_resp_coordinator_desc, v, req->coordinator_keys.n))
        return CEIL_CLOSE;
    for (int32_t i = 0; i < req->coordinator_keys.n; i++) {
        proto_find_coordinator_resp_coordinator_t *c = &resp->coordinators.items[i];
        c->key = req->coordinator_keys.items[i];
        c->node_id = 0;
        c->host = proto_str_c(HOST);
        c->port = listen_port;
    }
    return CEIL_RESPOND;
}

/* Walks the batches of one partition's records: counts their records and
 * keeps a copy of the first. KERR_NONE or KERR_CORRUPT_MESSAGE. */
static int16_t produce_partition(ceil_part_t *part, proto_bytes_t recs, int64_t *base_out)
{
    if (recs.len <= 0)
        return KERR_CORRUPT_MESSAGE;
    const uint8_t *p = recs.ptr;
    size_t left = (size_t)recs.len;
    int64_t count = 0;
    bool first = true;
    while (left > 0) {
        if (left < BATCH_HEADER || p[BATCH_MAGIC_OFF] != 2)
            return KERR_CORRUPT_MESSAGE;
        uint32_t blen = rd_be32(p + BATCH_LEN_OFF);
        int32_t delta = (int32_t)rd_be32(p + BATCH_LAST_DELTA);
        if (blen < BATCH_HEADER - 12 || blen > left - 12 || delta < 0)
            return KERR_CORRUPT_MESSAGE;
        size_t total = 12 + (size_t)blen;
        if (first) {
            if (total <= RECENT_MAX) {
                ceil_batch_t *slot = &part->recent[part->n_produced++ % RECENT];
                if (!batch_store(slot, p, total, part->next_offset, (int64_t)delta + 1))
                    return KERR_UNKNOWN_SERVER_ERROR;
                wr_be64(slot->data, part->next_offset);
            }
            if (total > part->canned.len && !batch_store(&part->canned, p, total, 0, (int64_t)delta + 1))
                return KERR_UNKNOWN_SERVER_ERROR;
            first = false;
        }
        count += (int64_t)delta + 1;
        p += total;
        left -= total;
    }
    *base_out = part->next_offset;
    part->next_offset += count;
    return KERR_NONE;
}

static ceil_result_t handle_produce(arena_t *a, int16_t v, const void *body, void *resp_)
{
    const proto_produce_req_t *req = body;
    proto_produce_resp_t *resp = resp_;
    if (!FILL(a, resp->responses, proto_produce_resp_topic_desc, v, req->topic_data.n))
        return CEIL_CLOSE;
    for (int32_t i = 0; i < req->topic_data.n; i++) {
        const proto_produce_req_topic_t *rt = &req->topic_data.items[i];
        proto_produce_resp_topic_t *out = &resp->responses.items[i];
        ceil_topic_t *t = topic_by_name(rt->name);
        out->name = rt->name;
        if (!FILL(a, out->partition_responses, proto_produce_resp_partition_desc, v, rt->partition_data.n))
            return CEIL_CLOSE;
        for (int32_t j = 0; j < rt->partition_data.n; j++) {
            const proto_produce_req_partition_t *rp = &rt->partition_data.items[j];
            proto_produce_resp_partition_t *op = &out->partition_responses.items[j];
            op->index = rp->index;
            op->base_offset = -1;
            op->log_append_time_ms = -1;
            if (!t || rp->index < 0 || rp->index >= t->nparts) {
                op->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            op->error_code = produce_partition(&t->parts[rp->index], rp->records, &op->base_offset);
            op->log_start_offset = 0;
        }
    }
    produced = true;
    return req->acks == 0 ? CEIL_SILENT : CEIL_RESPOND;
}

/* One batch for a read at `off`: the real one when the ring still holds it
 * (the client skips records before `off` in it), else the canned (largest)
 * one, rewritten to begin at `off`. NULL when nothing was produced. */
static ceil_batch_t *pick_batch(ceil_part_t *part, int64_t off)
{
    for (int i = 0; i < RECENT; i++) {
        ceil_batch_t *b = &part->recent[i];
        if (b->len && b->base <= off && off < b->base + b->count)
            return b;
    }
    if (!part->canned.len)
        return NULL;
    /* In place: the response is encoded before anything else reads it. */
    wr_be64(part->canned.data, off);
    return &part->canned;
}

static ceil_result_t handle_fetch(arena_t *a, int16_t v, const void *body, void *resp_, bool force)
{
    const proto_fetch_req_t *req = body;
    proto_fetch_resp_t *resp = resp_;
    int64_t total = 0, budget = v >= 3 && req->max_bytes > 0 ? req->max_bytes : INT32_MAX;
    if (!FILL(a, resp->responses, proto_fetch_resp_topic_desc, v, req->topics.n))
        return CEIL_CLOSE;
    for (int32_t i = 0; i < req->topics.n; i++) {
        const proto_fetch_req_topic_t *rt = &req->topics.items[i];
        proto_fetch_resp_topic_t *out = &resp->responses.items[i];
        ceil_topic_t *t = v >= 13 ? topic_by_id(&rt->topic_id) : topic_by_name(rt->topic);
        out->topic = rt->topic;
        out->topic_id = rt->topic_id;
        if (!FILL(a, out->partitions, proto_fetch_resp_partition_desc, v, rt->partitions.n))
            return CEIL_CLOSE;
        for (int32_t j = 0; j < rt->partitions.n; j++) {
            const proto_fetch_req_partition_t *rp = &rt->partitions.items[j];
            proto_fetch_resp_partition_t *op = &out->partitions.items[j];
            op->partition_index = rp->partition;
            op->high_watermark = -1;
            op->last_stable_offset = -1;
            op->log_start_offset = -1;
            op->preferred_read_replica = -1;
            op->records = (proto_bytes_t){NULL, 0};
            if (!t || rp->partition < 0 || rp->partition >= t->nparts) {
                op->error_code = v >= 13 ? KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            ceil_part_t *part = &t->parts[rp->partition];
            op->high_watermark = op->last_stable_offset = part->next_offset;
            op->log_start_offset = 0;
            int64_t off = rp->fetch_offset;
            if (off < 0 || off > part->next_offset) {
                op->error_code = KERR_OFFSET_OUT_OF_RANGE;
                continue;
            }
            ceil_batch_t *b = off < part->next_offset && total < budget ? pick_batch(part, off) : NULL;
            if (!b)
                continue;
            op->records = (proto_bytes_t){b->data, (int32_t)b->len};
            total += (int64_t)b->len;
        }
    }
    if (total == 0 && !force && req->max_wait_ms > 0)
        return CEIL_PARK;
    return CEIL_RESPOND;
}

/* ---- connections ------------------------------------------------------- */

static void conn_close(ceil_conn_t *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    buf_fini(&c->in);
    buf_fini(&c->out);
    arena_fini(&c->arena);
    free(c);
}

/* Sends what is queued; false when the connection failed. */
static bool conn_flush(ceil_conn_t *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return false;
    }
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
    }
    bool want = c->out.len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.fd = c->fd};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want;
    }
    return true;
}

static bool conn_respond(ceil_conn_t *c, const proto_api_desc_t *api, int16_t v, int32_t corr, const void *resp)
{
    bool flex = proto_api_flexible(api, v);
    proto_writer_t sizer;
    proto_writer_init(&sizer, NULL);
    proto_msg_encode(api->response, &sizer, v, flex, resp);
    if (buf_reserve(&c->out, sizer.count + 16) != 0)
        return false;
    size_t start = c->out.len;
    proto_writer_t wr;
    proto_writer_init(&wr, &c->out);
    proto_wr_i32(&wr, 0);
    proto_resp_header_write(&wr, corr, proto_resp_header_flexible(api, v));
    proto_msg_encode(api->response, &wr, v, flex, resp);
    if (wr.err || c->out.len - start - 4 > INT32_MAX)
        return false;
    uint32_t size = (uint32_t)(c->out.len - start - 4);
    c->out.data[start] = (uint8_t)(size >> 24);
    c->out.data[start + 1] = (uint8_t)(size >> 16);
    c->out.data[start + 2] = (uint8_t)(size >> 8);
    c->out.data[start + 3] = (uint8_t)size;
    return true;
}

/* ApiVersions at a version we cannot decode: v0 layout, UNSUPPORTED_VERSION
 * and our ApiVersions range, so the client retries at one we know. */
static bool conn_api_versions_fallback(ceil_conn_t *c, int32_t corr, const proto_api_desc_t *api)
{
    size_t start = c->out.len;
    proto_writer_t wr;
    proto_writer_init(&wr, &c->out);
    proto_wr_i32(&wr, 0);
    proto_wr_i32(&wr, corr);
    proto_wr_i16(&wr, KERR_UNSUPPORTED_VERSION);
    proto_wr_i32(&wr, 1);
    proto_wr_i16(&wr, api->key);
    proto_wr_i16(&wr, api->adv_min_version);
    proto_wr_i16(&wr, api->max_version);
    if (wr.err)
        return false;
    uint32_t size = (uint32_t)(c->out.len - start - 4);
    for (int i = 0; i < 4; i++)
        c->out.data[start + (size_t)i] = (uint8_t)(size >> (24 - 8 * i));
    return true;
}

static bool served(int16_t key)
{
    for (size_t i = 0; i < N_SERVED; i++)
        if (served_apis[i] == key)
            return true;
    return false;
}

static ceil_result_t conn_frame(ceil_conn_t *c, const uint8_t *frame, size_t len, bool force)
{
    arena_reset(&c->arena);
    proto_reader_t rd;
    proto_reader_init(&rd, frame, len);
    proto_req_header_t hdr;
    if (proto_req_header_read(&rd, &hdr) != 0)
        return CEIL_CLOSE;
    const proto_api_desc_t *api = served(hdr.api_key) ? proto_api_find(hdr.api_key) : NULL;
    if (!api) {
        fprintf(stderr, "bench_ceiling: api key %d not served; closing the connection\n", hdr.api_key);
        return CEIL_CLOSE;
    }
    int16_t v = hdr.api_version;
    if (v < api->min_version || v > api->max_version) {
        if (api->key == PROTO_API_API_VERSIONS)
            return conn_api_versions_fallback(c, hdr.correlation_id, api) ? CEIL_SILENT : CEIL_CLOSE;
        return CEIL_CLOSE;
    }
    bool flex = proto_api_flexible(api, v);
    void *body = arena_alloc(&c->arena, api->request->size);
    void *resp = arena_alloc(&c->arena, api->response->size);
    if (!body || !resp || proto_req_header_finish(&rd, api, v) != 0 ||
        proto_msg_decode(api->request, &rd, v, flex, &c->arena, body) != 0 || proto_rd_remaining(&rd))
        return CEIL_CLOSE;
    proto_msg_init(api->response, v, resp);
    ceil_result_t r;
    switch (api->key) {
    case PROTO_API_PRODUCE: r = handle_produce(&c->arena, v, body, resp); break;
    case PROTO_API_FETCH: r = handle_fetch(&c->arena, v, body, resp, force); break;
    case PROTO_API_LIST_OFFSETS: r = handle_list_offsets(&c->arena, v, body, resp); break;
    case PROTO_API_METADATA: r = handle_metadata(&c->arena, v, body, resp); break;
    case PROTO_API_FIND_COORDINATOR: r = handle_find_coordinator(&c->arena, v, body, resp); break;
    case PROTO_API_API_VERSIONS: r = handle_api_versions(&c->arena, v, body, resp); break;
    case PROTO_API_CREATE_TOPICS: r = handle_create_topics(&c->arena, v, body, resp); break;
    case PROTO_API_DELETE_TOPICS: r = handle_delete_topics(&c->arena, v, body, resp); break;
    default: r = CEIL_CLOSE; break;
    }
    if (r == CEIL_PARK && !c->parked) {
        const proto_fetch_req_t *f = body;
        c->park_deadline_ms = now_ms() + f->max_wait_ms;
    }
    if (r == CEIL_RESPOND && !conn_respond(c, api, v, hdr.correlation_id, resp))
        r = CEIL_CLOSE;
    return r;
}

/* Handles every whole frame in the input, stopping at a parked Fetch.
 * force answers a parked Fetch even without data (its wait is over).
 * Returns false when the connection was closed. */
static bool conn_process(ceil_conn_t *c, bool force)
{
    while (c->in.len - c->in_off >= 4) {
        const uint8_t *p = c->in.data + c->in_off;
        uint32_t size = rd_be32(p);
        if (size > MAX_FRAME) {
            conn_close(c);
            return false;
        }
        if (c->in.len - c->in_off - 4 < size)
            break;
        ceil_result_t r = conn_frame(c, p + 4, size, force);
        force = false;
        if (r == CEIL_CLOSE) {
            conn_close(c);
            return false;
        }
        if (r == CEIL_PARK) {
            c->parked = true;
            break;
        }
        c->parked = false;
        c->in_off += 4 + (size_t)size;
    }
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off > 0 && !c->parked) {
        buf_consume(&c->in, c->in_off);
        c->in_off = 0;
    }
    if (!conn_flush(c)) {
        conn_close(c);
        return false;
    }
    return true;
}

static void conn_readable(ceil_conn_t *c)
{
    size_t want = READ_CHUNK;
    if (c->in.len - c->in_off >= 4) {
        uint32_t size = rd_be32(c->in.data + c->in_off);
        size_t have = c->in.len - c->in_off - 4;
        if (size <= MAX_FRAME && size > have && size - have > want)
            want = size - have;
    }
    if (buf_reserve(&c->in, want) != 0) {
        conn_close(c);
        return;
    }
    ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (n > 0)
        c->in.len += (size_t)n;
    if (!c->parked)
        conn_process(c, false);
}

static void wake_parked(bool timeouts_only)
{
    int64_t now = now_ms();
    for (int fd = 0; fd <= max_fd; fd++) {
        ceil_conn_t *c = conns[fd];
        if (!c || !c->parked)
            continue;
        bool expired = now >= c->park_deadline_ms;
        if (timeouts_only && !expired)
            continue;
        conn_process(c, expired);
    }
}

static int next_timeout_ms(void)
{
    int64_t now = now_ms(), best = -1;
    for (int fd = 0; fd <= max_fd; fd++) {
        ceil_conn_t *c = conns[fd];
        if (c && c->parked) {
            int64_t d = c->park_deadline_ms - now;
            if (d < 0)
                d = 0;
            if (best < 0 || d < best)
                best = d;
        }
    }
    return best < 0 ? 1000 : (int)best;
}

static void accept_all(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (fd >= MAX_FDS) {
            close(fd);
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        ceil_conn_t *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        buf_init(&c->in);
        buf_init(&c->out);
        arena_init(&c->arena, 0);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
            continue;
        }
        conns[fd] = c;
        if (fd > max_fd)
            max_fd = fd;
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, HOST, &addr.sin_addr);
    socklen_t alen = sizeof(addr);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 128) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        perror("bench_ceiling: listen");
        return 1;
    }
    listen_port = ntohs(addr.sin_port);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) != 0) {
        perror("bench_ceiling: epoll");
        return 1;
    }
    printf("ceiling ready on %s:%" PRId32 "\n", HOST, listen_port);
    fflush(stdout);

    struct epoll_event evs[64];
    while (!stop) {
        int n = epoll_wait(epfd, evs, 64, next_timeout_ms());
        if (n < 0 && errno != EINTR) {
            perror("bench_ceiling: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                accept_all(lfd);
                continue;
            }
            ceil_conn_t *c = fd >= 0 && fd < MAX_FDS ? conns[fd] : NULL;
            if (!c)
                continue; /* closed earlier in this batch */
            if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
                conn_close(c);
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && !conn_flush(c)) {
                conn_close(c);
                continue;
            }
            if (evs[i].events & EPOLLIN)
                conn_readable(c);
        }
        while (produced) {
            produced = false;
            wake_parked(false);
        }
        wake_parked(true);
    }
    for (int fd = 0; fd < MAX_FDS; fd++)
        if (conns[fd])
            conn_close(conns[fd]);
    for (int i = 0; i < MAX_TOPICS; i++)
        if (topics[i])
            topic_free(topics[i]);
    close(lfd);
    close(epfd);
    return 0;
}
