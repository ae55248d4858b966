/*
 * coordinator/group_internal: the structures behind group.h, shared by the
 * files of the group coordinator (group.c: membership and rebalancing;
 * group_offsets.c: commits, fetches, deletion, retention and replay;
 * group_records.c: the __consumer_offsets encodings; group_timer.c: the
 * deadline heap). Nothing outside coordinator/ includes this.
 *
 * Ownership: the coordinator owns its groups (map by id); a group owns its
 * members, pending member ids, offsets and subscribed-topic set. Strings
 * kept from requests are heap copies (gstr_t, NUL-terminated for logs).
 */
#ifndef EDDY_COORDINATOR_GROUP_INTERNAL_H
#define EDDY_COORDINATOR_GROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/list.h"
#include "base/map.h"
#include "coordinator/group.h"

/* Kafka's NewMemberJoinTimeoutMs: a new member's JoinGroup is dropped after this. */
#define GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS 300000

/* A copied string; p == NULL is null. */
typedef struct gstr_s {
    char *p;
    int32_t len;
} gstr_t;

gstr_t gstr_dup(proto_str_t s);
gstr_t gstr_dup_c(const char *s);
void gstr_free(gstr_t *s);
static inline proto_str_t gstr_view(gstr_t s)
{
    proto_str_t v = {(const uint8_t *)s.p, s.p ? s.len : -1};
    return v;
}
bool gstr_eq(gstr_t a, proto_str_t b);
bool view_eq(proto_str_t a, proto_str_t b);
/* A printable form for log lines ("" for null). */
static inline const char *gstr_c(gstr_t s)
{
    return s.p ? s.p : "";
}
void *grp_xmalloc(size_t n);
void *grp_xcalloc(size_t n, size_t sz);

/* ---- timers: one binary min-heap over every deadline ---- */

typedef enum gtimer_kind_e {
    GTIMER_SESSION = 1,   /* owner: member */
    GTIMER_PENDING = 2,   /* owner: pending member id */
    GTIMER_JOIN = 3,      /* owner: group (DelayedJoin / InitialDelayedJoin) */
    GTIMER_SYNC = 4,      /* owner: group (DelayedSync) */
    GTIMER_RETENTION = 5, /* owner: coordinator */
} gtimer_kind_t;

typedef struct gtimer_s {
    int64_t deadline;
    int32_t idx; /* position in the heap, -1 when not armed */
    gtimer_kind_t kind;
    void *owner;
} gtimer_t;

typedef struct gheap_s {
    gtimer_t **items;
    int32_t n, cap;
} gheap_t;

void gtimer_init(gtimer_t *t, gtimer_kind_t kind, void *owner);
void gheap_arm(gheap_t *h, gtimer_t *t, int64_t deadline);
void gheap_disarm(gheap_t *h, gtimer_t *t);
gtimer_t *gheap_top(const gheap_t *h);
void gheap_fini(gheap_t *h);
static inline bool gtimer_armed(const gtimer_t *t)
{
    return t->idx >= 0;
}

/* ---- groups ---- */

typedef struct gprotocol_s {
    gstr_t name;
    uint8_t *meta;
    int32_t meta_len;
} gprotocol_t;

typedef struct group_s group_t;

typedef struct member_s {
    list_t node; /* in group->members, join order */
    group_t *grp;
    gstr_t id;
    gstr_t instance_id;
    gstr_t client_id;
    gstr_t client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    gprotocol_t *protocols;
    int32_t nprotocols;
    uint8_t *assignment;
    int32_t assignment_len;
    bool awaiting_join;         /* joined this round (its waiter may be gone) */
    group_waiter_t *join_waiter;
    group_waiter_t *sync_waiter;
    bool is_new;
    bool pending_sync;
    gtimer_t session;
} member_t;

typedef struct pending_s {
    list_t node;
    group_t *grp;
    gstr_t id;
    gtimer_t timer;
} pending_t;

typedef struct offset_s {
    uint8_t *key; /* topic bytes then the partition big-endian: the map key */
    size_t klen;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    gstr_t metadata;
    int64_t commit_ts;
    int64_t expire_ts; /* -1: none (v1 records only) */
    uint64_t seq;      /* order of the append that wrote it: a later commit wins */
} offset_t;

struct group_s {
    gstr_t id;
    int32_t partition;
    group_state_t state;
    int64_t state_ts;
    int32_t generation;
    gstr_t protocol_type; /* null: none yet */
    gstr_t protocol_name; /* null: none */
    member_t *leader;
    list_t members;
    int32_t nmembers;
    int32_t nawaiting_join;
    int32_t npending_sync;
    map_t members_by_id;
    map_t static_members; /* instance id -> member */
    list_t pending;
    map_t pending_by_id;
    int32_t npending;
    gtimer_t join_timer;
    bool join_initial;    /* join_timer is an InitialDelayedJoin */
    int32_t initial_delay_ms;
    int32_t initial_remaining_ms;
    bool new_member_added;
    gtimer_t sync_timer;
    int32_t sync_generation;
    map_t offsets;
    /*
     * Pending transactional offsets (NULL until the first): offset_t whose
     * key is the producer id (8 bytes big-endian) + topic + partition.
     */
    map_t *txn_offsets;
    bool subscribed_known;
    gstr_t *subscribed;
    int32_t nsubscribed;
};

struct group_coordinator_s {
    group_config_t cfg;
    group_callbacks_t cb;
    void *cb_arg;
    map_t groups;
    gheap_t heap;
    gtimer_t retention;
    list_t ready; /* completed waiters not yet told */
    uint64_t rng;
    uint8_t *loading; /* per partition: 1 while loading */
    int32_t nloading;
    int64_t now;
    int depth; /* nesting of public calls, for the delivery point */
    bool in_append;
    uint64_t offset_seq; /* last offset_t.seq handed out */
    group_append_txn_fn append_txn; /* NULL: TxnOffsetCommit is refused */
};

/* group.c */
void coord_enter(group_coordinator_t *coord, int64_t now_ms);
void coord_leave(group_coordinator_t *coord);
group_t *group_find(const group_coordinator_t *coord, proto_str_t id);
group_t *group_create(group_coordinator_t *coord, proto_str_t id);
void group_destroy(group_coordinator_t *coord, group_t *grp, int16_t waiter_error);
void grp_transition(group_coordinator_t *coord, group_t *grp, group_state_t to, const char *reason);
bool grp_partition_loading(const group_coordinator_t *coord, int32_t partition);
bool grp_is_subscribed(const group_t *grp, proto_str_t topic);
void grp_arm_session(group_coordinator_t *coord, member_t *m, int32_t timeout_ms);
member_t *grp_member(const group_t *grp, proto_str_t id);
/* m's metadata for a protocol ("" when it has none). */
proto_bytes_t grp_member_meta(const member_t *m, proto_str_t protocol);
int16_t grp_validate_member(const group_t *grp, proto_str_t member_id, proto_str_t instance_id);
/* Appends the group's metadata record (assign as for grec_add_group). */
int16_t grp_store(group_coordinator_t *coord, group_t *grp, uint8_t *const *assign, const int32_t *assign_len);
/* Maps an append error to what clients of group APIs understand. */
int16_t grp_store_error(int16_t err, bool commit);

/* group_offsets.c */
void off_free_all(group_t *grp);
void off_expire_all(group_coordinator_t *coord);

/* group_records.c: a batch of records for one append, built in one buffer. */
typedef struct grec_ent_s {
    size_t key_off, key_len;
    size_t val_off;
    int32_t val_len; /* -1: tombstone */
} grec_ent_t;

typedef struct grec_batch_s {
    buf_t buf;
    grec_ent_t *ents;
    int n, cap;
    int err; /* sticky: out of memory while encoding */
} grec_batch_t;

void grec_batch_init(grec_batch_t *b);
void grec_batch_fini(grec_batch_t *b);
void grec_batch_reset(grec_batch_t *b);
void grec_add_offset(grec_batch_t *b, proto_str_t group, const offset_t *off);
void grec_add_offset_tombstone(grec_batch_t *b, proto_str_t group, proto_str_t topic, int32_t partition);
/* assign: per member in join order, or NULL for the members' own assignments. */
void grec_add_group(grec_batch_t *b, const group_t *grp, uint8_t *const *assign, const int32_t *assign_len);
void grec_add_group_tombstone(grec_batch_t *b, proto_str_t group);
/* Hands the batch to the append callback (nothing when empty); returns its error code. */
int16_t grec_batch_append(group_coordinator_t *coord, int32_t partition, grec_batch_t *b);
/* The same through append_txn, as a transactional batch of the producer. */
int16_t grec_batch_append_txn(group_coordinator_t *coord, int32_t partition, int64_t producer_id,
                              int16_t producer_epoch, grec_batch_t *b);
int32_t grec_partition_for(proto_str_t group_id, int32_t partitions);

#endif
