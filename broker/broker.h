/*
 * broker/broker: the state one broker process owns, and the request model.
 *
 * One libuv loop thread owns everything here: connections, topics, parked
 * requests. Nothing is locked. A connection has at most one request in
 * flight; later frames wait in its input buffer, so responses leave in
 * request order. A handler either answers at once, answers nothing (acks=0
 * Produce), asks for the connection to be closed, or parks the request (a
 * long-poll Fetch) and finishes it later with broker_req_finish. Only this
 * layer includes uv.h.
 */
#ifndef EDDY_BROKER_BROKER_H
#define EDDY_BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/list.h"
#include "base/map.h"
#include "broker/api_floor.h"
#include "broker/config.h"
#include "broker/groups.h"
#include "broker/internal_topics.h"
#include "broker/outq.h"
#include "broker/txns.h"
#include "broker/storage.h"
#include "broker/topics.h"
#include "protocol/codec.h"
#include "protocol/gen/messages.h"
#include "protocol/header.h"
#include "protocol/kafka_errors.h"

typedef struct broker_s broker_t;
typedef struct broker_conn_s broker_conn_t;
typedef struct broker_req_s broker_req_t;

typedef enum broker_result_e {
    BROKER_RESPOND = 0,     /* encode req->resp and send it */
    BROKER_NO_RESPONSE = 1, /* acks=0 Produce: nothing goes back */
    BROKER_PARKED = 2,      /* the handler finishes later via broker_req_finish */
    BROKER_CLOSE = 3,       /* drop the connection (malformed or forbidden) */
} broker_result_t;

typedef broker_result_t (*broker_handler_fn)(broker_req_t *req);
/*
 * Cluster mode: writes an ISR proposal of topic/partition to the metadata
 * store (compare-and-set on proposal->partition_epoch) and, when the write
 * is settled, calls replica_apply_isr or replica_abort_isr on the partition
 * (looked up again: the topic may be gone by then). See broker/replicas.h.
 */
typedef void (*broker_isr_submit_fn)(broker_t *broker, broker_topic_t *topic, int32_t partition,
                                     const replica_proposal_t *proposal);
/* Called when a parked request is woken by new data (timed_out=false) or its timer. */
typedef broker_result_t (*broker_resume_fn)(broker_req_t *req, bool timed_out);
/* Called when the connection of a request waiting elsewhere (a group) closes. */
typedef void (*broker_req_cancel_fn)(broker_req_t *req);

/* What a parked request waits for. */
typedef enum broker_wait_e {
    BROKER_WAIT_DATA = 0,     /* an append or a transaction marker (Fetch) */
    BROKER_WAIT_FLUSH = 1,    /* an fsync (durable Produce, OffsetCommit) */
    BROKER_WAIT_REPLICAS = 2, /* a high watermark moving (acks=all Produce waiting for followers) */
} broker_wait_t;

struct broker_req_s {
    broker_conn_t *conn;
    broker_t *broker;
    proto_req_header_t hdr;
    const proto_api_desc_t *api;
    int16_t version;
    arena_t arena; /* everything of this request; reset after its response */
    void *body;    /* decoded request struct */
    void *resp;    /* response struct, initialised to defaults for version */
    /* Parking (long-poll Fetch). */
    list_t park_node;
    broker_resume_fn resume;
    void *park_state;
    int64_t deadline_ms;
    bool parked;
    broker_wait_t park_kind; /* the list it is on while parked */
    /* JoinGroup / SyncGroup waiting inside the group coordinator. */
    group_waiter_t waiter;
    bool group_waiting;
    broker_req_cancel_fn cancel; /* set while it waits; broker_req_cancel calls it */
    bool parked_fetch; /* counted in broker->nparked_fetches */
    /* Records the answer sends from segment files (Fetch): the response's
     * RECORDS values point at these entries; the frame takes their
     * references when it is built, broker_req_release_files drops the rest. */
    log_read_t *files;
    int32_t nfiles;
};

typedef struct broker_conn_ip_s broker_conn_ip_t; /* connections per client address (admit.c) */

/* Parked requests of one kind, so an event wakes only those it can complete. */
typedef struct broker_parked_s {
    list_t list;     /* broker_req_t.park_node */
    bool waking;     /* being resumed */
    bool wake_again; /* ... and asked again meanwhile */
} broker_parked_t;

struct broker_conn_s {
    uv_poll_t poll;    /* readiness of fd; eddy reads and writes itself (writev, sendfile) */
    int fd;            /* the socket, owned */
    int poll_events;   /* UV_READABLE | UV_WRITABLE as last given to uv_poll_start */
    broker_outq_t out; /* answers not yet written */
    uv_timer_t timer;  /* the parked request's deadline */
    broker_t *broker;
    list_t node; /* in broker->conns */
    buf_t in;
    size_t in_head;   /* start of the first unprocessed frame */
    broker_req_t req; /* the one request in flight */
    bool busy;        /* a request is parked */
    bool reading;
    bool closing;
    int handles_open;
    char peer[64];
    uint64_t id;
    /* Limits and accounting (conn.c). */
    size_t in_accounted;   /* in.cap as counted in broker->mem.in_bytes */
    int64_t last_read_ms;  /* loop time of the last bytes read (or of accept) */
    int64_t last_write_ms; /* loop time of the last write that completed, or began on an empty queue */
    bool mem_paused;       /* reading paused by queued.max.request.bytes */
    broker_conn_ip_t *ip;  /* this connection's entry in broker->conns_by_ip */
};

/* What the broker holds, kept current where buffers change; logged on SIGUSR1. */
typedef struct broker_memstats_s {
    size_t in_bytes;      /* capacity of all request input buffers */
    size_t write_pending; /* response bytes queued, not yet written */
    int nparked;          /* requests on broker->parked */
    int nparked_fetches;  /* ... of which long-poll Fetches */
    int nmem_paused;      /* connections paused by queued.max.request.bytes */
    uint64_t sent_bytes;  /* response bytes written since start */
    uint64_t sent_file;   /* ... of which went from segment files with sendfile */
    uint64_t trailing_requests; /* requests with bytes after their known fields (ignored, as Kafka does) */
    uint64_t trailing_bytes;    /* ... and how many bytes that was */
} broker_memstats_t;

struct broker_s {
    uv_loop_t *loop;
    broker_config_t *cfg;
    uv_poll_t listener; /* readiness of listen_fd; accept4 is ours */
    int listen_fd;
    bool accept_paused; /* out of descriptors: the sweep resumes accepting */
    uv_signal_t sigterm, sigint;
    list_t conns;
    int nconns;
    uint64_t next_conn_id;
    broker_parked_t parked;          /* waiting for data: long-poll Fetch (appends and markers wake it) */
    broker_parked_t parked_flush;    /* waiting for an fsync: durable Produce and OffsetCommit */
    broker_parked_t parked_replicas; /* waiting for a high watermark: acks=all Produce (followers) */
    broker_topics_t topics;
    char cluster_id[32];
    int64_t next_producer_id;
    broker_storage_t storage;
    broker_groups_t groups;
    broker_txns_t txns;
    broker_isr_submit_fn isr_submit; /* NULL on one broker: ISR proposals are dropped (broker/replicas.c) */
    uv_timer_t storage_timer;
    buf_t batch_scratch;        /* decompressed records while validating a Produce */
    buf_t fetch_data;           /* the records of the Fetch response being built */
    broker_out_pool_t out_pool; /* sent response frames, reused */
    broker_memstats_t mem;
    map_t conns_by_ip;       /* host -> broker_conn_ip_t */
    uv_timer_t sweep_timer;  /* idle and stalled connections */
    uv_timer_t resume_timer; /* restarts reading once buffers drop below the bound */
    uv_signal_t sigusr1;     /* logs the memory accounting */
    bool stopping;
    int exit_code;
};

int broker_init(broker_t *broker, uv_loop_t *loop, broker_config_t *cfg);
/* Binds and listens; prints the ready line. */
int broker_listen(broker_t *broker);
void broker_stop(broker_t *broker);
void broker_fini(broker_t *broker);

/*
 * Parking (broker/park.c). Parks req until a wake of its kind finds it ready or deadline_ms (monotonic) passes.
 * A request already parked (called again from its resume) moves to the list of kind, keeping its place in time.
 */
void broker_req_park(broker_req_t *req, broker_wait_t kind, broker_resume_fn resume, void *state, int64_t deadline_ms);
/* Encodes and sends the response of a parked request, then resumes its connection. */
void broker_req_finish(broker_req_t *req, broker_result_t result);
/* Its connection closed: takes req off its list, or tells whoever it waits for (req->cancel). */
void broker_req_cancel(broker_req_t *req);
/* Releases the segment references of req->files that no frame took. */
void broker_req_release_files(broker_req_t *req);
/* Offers requests waiting for data a chance to complete (after appends and markers). */
void broker_wake_parked(broker_t *broker);
/* The same for requests waiting for an fsync (after a flush job completes). */
void broker_wake_flushed(broker_t *broker);
/* The same for requests waiting for a high watermark (the replica layer said it advanced). */
void broker_wake_replicated(broker_t *broker);
/* The same, or with timed_out every parked request is answered now (shutdown). */
void broker_resume_parked(broker_t *broker, bool timed_out);

/*
 * Admin requests waiting for metadata-store changes (broker/store_wait.c).
 * new() makes room for nslots results; each change gets slot(w, i) as the
 * arg of its broker_topics_done_fn, broker_store_wait_done; fill() copies
 * result i into the response (errmsg lives only during the call). end()
 * answers at once when every change finished, else parks the request until
 * the last one does.
 */
typedef void (*broker_store_fill_fn)(broker_req_t *req, int32_t index, int16_t err, const char *errmsg);
typedef struct broker_store_wait_s broker_store_wait_t;
typedef struct broker_store_slot_s {
    broker_store_wait_t *w;
    int32_t index;
} broker_store_slot_t;
broker_store_wait_t *broker_store_wait_new(broker_req_t *req, int32_t nslots, broker_store_fill_fn fill);
void *broker_store_wait_slot(broker_store_wait_t *w, int32_t index);
void broker_store_wait_done(void *slot, int16_t err, const char *errmsg);
broker_result_t broker_store_wait_end(broker_store_wait_t *w);

/* Dispatch table: one entry per implemented API (see broker/dispatch.c). */
typedef struct broker_api_s {
    int16_t key;
    broker_handler_fn handler;
} broker_api_t;
const broker_api_t *broker_api_lookup(int16_t key);
extern const broker_api_t broker_apis[];
extern const size_t broker_apis_len;

/* Handlers, one file each under broker/handlers/. */
broker_result_t broker_handle_produce(broker_req_t *req);
broker_result_t broker_handle_fetch(broker_req_t *req);
broker_result_t broker_handle_list_offsets(broker_req_t *req);
broker_result_t broker_handle_metadata(broker_req_t *req);
broker_result_t broker_handle_find_coordinator(broker_req_t *req);
broker_result_t broker_handle_offset_commit(broker_req_t *req);
broker_result_t broker_handle_offset_fetch(broker_req_t *req);
broker_result_t broker_handle_join_group(broker_req_t *req);
broker_result_t broker_handle_heartbeat(broker_req_t *req);
broker_result_t broker_handle_leave_group(broker_req_t *req);
broker_result_t broker_handle_sync_group(broker_req_t *req);
broker_result_t broker_handle_describe_groups(broker_req_t *req);
broker_result_t broker_handle_list_groups(broker_req_t *req);
broker_result_t broker_handle_delete_groups(broker_req_t *req);
broker_result_t broker_handle_offset_delete(broker_req_t *req);
broker_result_t broker_handle_api_versions(broker_req_t *req);
broker_result_t broker_handle_create_topics(broker_req_t *req);
broker_result_t broker_handle_delete_topics(broker_req_t *req);
broker_result_t broker_handle_delete_records(broker_req_t *req);
broker_result_t broker_handle_init_producer_id(broker_req_t *req);
broker_result_t broker_handle_offset_for_leader_epoch(broker_req_t *req);
broker_result_t broker_handle_add_partitions_to_txn(broker_req_t *req);
broker_result_t broker_handle_add_offsets_to_txn(broker_req_t *req);
broker_result_t broker_handle_end_txn(broker_req_t *req);
broker_result_t broker_handle_describe_cluster(broker_req_t *req);
broker_result_t broker_handle_describe_log_dirs(broker_req_t *req);
broker_result_t broker_handle_describe_producers(broker_req_t *req);
broker_result_t broker_handle_describe_transactions(broker_req_t *req);
broker_result_t broker_handle_list_transactions(broker_req_t *req);
broker_result_t broker_handle_txn_offset_commit(broker_req_t *req);
broker_result_t broker_handle_describe_configs(broker_req_t *req);
broker_result_t broker_handle_alter_configs(broker_req_t *req);
broker_result_t broker_handle_create_partitions(broker_req_t *req);
broker_result_t broker_handle_incremental_alter_configs(broker_req_t *req);

/* ---- helpers for handlers (broker/request.c) ------------------------------ */

/* n structs of desc from the request arena, each set to its defaults. */
void *broker_alloc_structs(broker_req_t *req, const proto_struct_desc_t *desc, int32_t n);
/* Fills a response array field with n default structs; false when out of memory. */
#define BROKER_FILL_ARRAY(req, arr, desc, count)                                                                       \
    ((arr).items = broker_alloc_structs((req), &(desc), (count)), (arr).n = (arr).items ? (count) : 0,                 \
     (arr).items != NULL || (count) == 0)
/* A string formatted into the request arena. */
proto_str_t broker_strf(broker_req_t *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Request bytes live in the connection's input buffer, which the broker owns. */
static inline uint8_t *broker_mutable(const uint8_t *p)
{
    return (uint8_t *)(uintptr_t)p;
}
static inline bool broker_str_same(proto_str_t a, proto_str_t b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}
static inline bool broker_str_eq(proto_str_t s, const char *c)
{
    size_t n = strlen(c);
    return s.len >= 0 && (size_t)s.len == n && memcmp(s.ptr, c, n) == 0;
}

#endif
