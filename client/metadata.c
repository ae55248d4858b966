/*
 * client/metadata.c: the metadata cache and its refreshes.
 *
 * The cache lives in one arena and is rebuilt whole from each answer (the
 * previous cache's topics that the answer did not cover are copied over),
 * so a reader never sees half an update. One Metadata request runs at a
 * time; refreshes asked for meanwhile are merged into the next round, whose
 * waiters are called when it completes.
 */
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "client/internal.h"
#include "protocol/gen/messages.h"
#include "protocol/kafka_errors.h"

#define KCL_META_MAX_TOPICS 100000

static void meta_start(kcl_client_t *cl);

const kcl_metadata_t *kcl_metadata(const kcl_client_t *cl)
{
    return &cl->meta;
}

const kcl_broker_t *kcl_metadata_broker(const kcl_client_t *cl, int32_t node_id)
{
    for (int32_t i = 0; i < cl->meta.nbrokers; i++)
        if (cl->meta.brokers[i].node_id == node_id)
            return &cl->meta.brokers[i];
    return NULL;
}

const kcl_topic_t *kcl_metadata_topic(const kcl_client_t *cl, const char *name)
{
    for (int32_t i = 0; i < cl->meta.ntopics; i++)
        if (strcmp(cl->meta.topics[i].name, name) == 0)
            return &cl->meta.topics[i];
    return NULL;
}

int kcl_metadata_leader(const kcl_client_t *cl, const char *topic, int32_t partition, int32_t *leader_id,
                        int32_t *leader_epoch)
{
    const kcl_topic_t *t = kcl_metadata_topic(cl, topic);
    if (!t || t->error_code != KERR_NONE)
        return KCL_ENOTFOUND;
    for (int32_t i = 0; i < t->npartitions; i++) {
        const kcl_partition_t *p = &t->partitions[i];
        if (p->partition != partition)
            continue;
        if (p->leader_id < 0)
            return KCL_ENOTFOUND;
        *leader_id = p->leader_id;
        if (leader_epoch)
            *leader_epoch = p->leader_epoch;
        return KCL_OK;
    }
    return KCL_ENOTFOUND;
}

/* --- building the cache ------------------------------------------------ */

static const char *dup_str(arena_t *a, const uint8_t *p, int32_t len, bool *oom)
{
    if (len < 0 || !p)
        return NULL;
    char *s = arena_alloc(a, (size_t)len + 1);
    if (!s) {
        *oom = true;
        return NULL;
    }
    memcpy(s, p, (size_t)len);
    s[len] = '\0';
    return s;
}

static const int32_t *dup_ids(arena_t *a, const int32_t *ids, int32_t n, bool *oom)
{
    if (n <= 0)
        return NULL;
    int32_t *out = arena_alloc(a, (size_t)n * sizeof(*out));
    if (!out) {
        *oom = true;
        return NULL;
    }
    memcpy(out, ids, (size_t)n * sizeof(*out));
    return out;
}

static int partition_cmp(const void *a, const void *b)
{
    const kcl_partition_t *x = a, *y = b;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

static bool topic_in_resp(const proto_metadata_resp_t *resp, const char *name)
{
    size_t len = strlen(name);
    for (int32_t i = 0; i < resp->topics.n; i++) {
        proto_str_t s = resp->topics.items[i].name;
        if (s.len >= 0 && (size_t)s.len == len && memcmp(s.ptr, name, len) == 0)
            return true;
    }
    return false;
}

static void copy_topic(arena_t *a, kcl_topic_t *dst, const kcl_topic_t *src, bool *oom)
{
    *dst = *src;
    dst->name = dup_str(a, (const uint8_t *)src->name, (int32_t)strlen(src->name), oom);
    kcl_partition_t *parts = src->npartitions > 0 ? arena_alloc(a, (size_t)src->npartitions * sizeof(*parts)) : NULL;
    if (src->npartitions > 0 && !parts) {
        *oom = true;
        return;
    }
    for (int32_t i = 0; i < src->npartitions; i++) {
        parts[i] = src->partitions[i];
        parts[i].replicas = dup_ids(a, src->partitions[i].replicas, src->partitions[i].nreplicas, oom);
        parts[i].isr = dup_ids(a, src->partitions[i].isr, src->partitions[i].nisr, oom);
    }
    dst->partitions = parts;
}

static int meta_apply(kcl_client_t *cl, const proto_metadata_resp_t *resp, bool all)
{
    arena_t a;
    arena_init(&a, 0);
    bool oom = false;
    kcl_metadata_t md = {.controller_id = resp->controller_id, .updated_ms = kcl_now(cl)};
    md.cluster_id = dup_str(&a, resp->cluster_id.ptr, resp->cluster_id.len, &oom);
    int32_t nb = resp->brokers.n > 0 ? resp->brokers.n : 0;
    kcl_broker_t *brokers = nb ? arena_alloc(&a, (size_t)nb * sizeof(*brokers)) : NULL;
    int32_t nkeep = 0;
    if (!all)
        for (int32_t i = 0; i < cl->meta.ntopics; i++)
            nkeep += !topic_in_resp(resp, cl->meta.topics[i].name);
    int32_t nt_resp = resp->topics.n > 0 ? resp->topics.n : 0;
    kcl_topic_t *topics = nt_resp + nkeep ? arena_alloc(&a, (size_t)(nt_resp + nkeep) * sizeof(*topics)) : NULL;
    if ((nb && !brokers) || (nt_resp + nkeep && !topics))
        oom = true;
    for (int32_t i = 0; !oom && i < nb; i++) {
        const proto_metadata_resp_broker_t *b = &resp->brokers.items[i];
        brokers[md.nbrokers++] = (kcl_broker_t){
            .node_id = b->node_id,
            .host = dup_str(&a, b->host.ptr, b->host.len < 0 ? 0 : b->host.len, &oom),
            .port = b->port,
            .rack = dup_str(&a, b->rack.ptr, b->rack.len, &oom),
        };
    }
    for (int32_t i = 0; !oom && i < nt_resp; i++) {
        const proto_metadata_resp_topic_t *t = &resp->topics.items[i];
        if (t->name.len < 0)
            continue; /* a topic-id-only answer: we look topics up by name */
        kcl_topic_t *dst = &topics[md.ntopics++];
        *dst = (kcl_topic_t){.error_code = t->error_code, .topic_id = t->topic_id, .is_internal = t->is_internal};
        dst->name = dup_str(&a, t->name.ptr, t->name.len, &oom);
        int32_t np = t->partitions.n > 0 ? t->partitions.n : 0;
        kcl_partition_t *parts = np ? arena_alloc(&a, (size_t)np * sizeof(*parts)) : NULL;
        if (np && !parts) {
            oom = true;
            break;
        }
        for (int32_t j = 0; j < np; j++) {
            const proto_metadata_resp_partition_t *p = &t->partitions.items[j];
            parts[j] = (kcl_partition_t){
                .partition = p->partition_index,
                .error_code = p->error_code,
                .leader_id = p->leader_id,
                .leader_epoch = p->leader_epoch,
                .nreplicas = p->replica_nodes.n > 0 ? p->replica_nodes.n : 0,
                .nisr = p->isr_nodes.n > 0 ? p->isr_nodes.n : 0,
            };
            parts[j].replicas = dup_ids(&a, p->replica_nodes.items, parts[j].nreplicas, &oom);
            parts[j].isr = dup_ids(&a, p->isr_nodes.items, parts[j].nisr, &oom);
        }
        qsort(parts, (size_t)np, sizeof(*parts), partition_cmp);
        dst->npartitions = np;
        dst->partitions = parts;
    }
    for (int32_t i = 0; !oom && !all && i < cl->meta.ntopics; i++)
        if (!topic_in_resp(resp, cl->meta.topics[i].name))
            copy_topic(&a, &topics[md.ntopics++], &cl->meta.topics[i], &oom);
    if (oom) {
        arena_fini(&a);
        return KCL_ENOMEM;
    }
    md.brokers = brokers;
    md.topics = topics;
    arena_fini(&cl->meta_arena);
    cl->meta_arena = a;
    cl->meta = md;
    return KCL_OK;
}

/* --- refresh rounds ------------------------------------------------------ */

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void meta_call_waiters(list_t *waiters, int status)
{
    while (!list_empty(waiters)) {
        kcl_meta_waiter_t *w = list_entry(waiters->next, kcl_meta_waiter_t, link);
        list_remove(&w->link);
        kcl_metadata_cb cb = w->cb;
        void *arg = w->arg;
        free(w);
        cb(arg, status);
    }
}

/* Bootstrap connections with nothing to do close once the metadata names the brokers. */
static void meta_retire_bootstrap(kcl_client_t *cl)
{
    list_t *pos, *tmp;
    list_foreach_safe (pos, tmp, &cl->conns) {
        kcl_conn_t *conn = list_entry(pos, kcl_conn_t, link);
        if (conn->node_id < 0 && conn->state == KCL_CONN_READY && list_empty(&conn->inflight) &&
            list_empty(&conn->waiting))
            kcl_conn_fail(conn, KCL_OK, "the metadata names the brokers");
    }
}

static void meta_on_response(void *arg, const kcl_response_t *resp)
{
    kcl_client_t *cl = arg;
    bool all = cl->meta_run_ntopics < 0;
    int status = resp->status;
    if (status == KCL_OK) {
        status = meta_apply(cl, resp->body, all);
        if (status == KCL_OK && cl->meta.nbrokers > 0 && !cl->closing)
            meta_retire_bootstrap(cl);
    } else {
        LOG_INFO(KCL_SUBSYS, "metadata refresh failed: %s", resp->error ? resp->error : kcl_strerror(status));
    }
    free_names(cl->meta_run_topics, cl->meta_run_ntopics);
    cl->meta_run_topics = NULL;
    cl->meta_run_ntopics = 0;
    proto_metadata_req_t *body = cl->meta_req_body;
    if (body)
        free(body->topics.items);
    free(body);
    cl->meta_req_body = NULL;
    cl->meta_running = false;
    list_t waiters;
    list_init(&waiters);
    while (!list_empty(&cl->meta_waiters)) {
        list_t *n = cl->meta_waiters.next;
        list_remove(n);
        list_insert_tail(&waiters, n);
    }
    meta_call_waiters(&waiters, status);
    if (cl->meta_next && !cl->closing && !cl->meta_running)
        meta_start(cl);
}

static void meta_start(kcl_client_t *cl)
{
    bool all = cl->meta_next_all;
    cl->meta_run_topics = cl->meta_next_topics;
    cl->meta_run_ntopics = all ? -1 : cl->meta_next_ntopics;
    if (all) {
        free_names(cl->meta_next_topics, cl->meta_next_ntopics);
        cl->meta_run_topics = NULL;
    }
    cl->meta_next_topics = NULL;
    cl->meta_next_ntopics = 0;
    cl->meta_next_all = false;
    cl->meta_next = false;
    while (!list_empty(&cl->meta_next_waiters)) {
        list_t *n = cl->meta_next_waiters.next;
        list_remove(n);
        list_insert_tail(&cl->meta_waiters, n);
    }
    proto_metadata_req_t *body = calloc(1, sizeof(*body));
    int n = all ? 0 : cl->meta_run_ntopics;
    proto_metadata_req_topic_t *items = calloc((size_t)(n > 0 ? n : 1), sizeof(*items));
    int rc = KCL_ENOMEM;
    if (body && items) {
        const proto_api_desc_t *api = proto_api_find(PROTO_API_METADATA);
        proto_msg_init(api->request, api->max_version, body);
        body->allow_auto_topic_creation = false;
        /* null asks for every topic (v1+); the client caps all-topic requests at v1 or above */
        body->topics.n = all ? -1 : n;
        body->topics.items = items;
        for (int i = 0; i < n; i++) {
            proto_msg_init(&proto_metadata_req_topic_desc, api->max_version, &items[i]);
            items[i].name = proto_str_c(cl->meta_run_topics[i]);
        }
        cl->meta_req_body = body;
        cl->meta_running = true;
        kcl_request_t req;
        kcl_request_init(&req, PROTO_API_METADATA, body, meta_on_response, cl);
        rc = kcl_request_submit(cl, &req);
        if (rc == KCL_OK)
            return;
        cl->meta_running = false;
        cl->meta_req_body = NULL;
    }
    free(items);
    free(body);
    free_names(cl->meta_run_topics, cl->meta_run_ntopics);
    cl->meta_run_topics = NULL;
    cl->meta_run_ntopics = 0;
    /* Callbacks must not run inside kcl_metadata_refresh: they stay queued for the next round. */
    while (!list_empty(&cl->meta_waiters)) {
        list_t *w = cl->meta_waiters.next;
        list_remove(w);
        list_insert_tail(&cl->meta_next_waiters, w);
    }
    cl->meta_next = true;
    LOG_WARN(KCL_SUBSYS, "cannot start a metadata refresh: %s", kcl_strerror(rc));
}

int kcl_metadata_refresh(kcl_client_t *cl, const char *const *topics, int ntopics, kcl_metadata_cb cb, void *arg)
{
    if (cl->closing)
        return KCL_EINVAL;
    if (cb) {
        kcl_meta_waiter_t *w = calloc(1, sizeof(*w));
        if (!w)
            return KCL_ENOMEM;
        w->cb = cb;
        w->arg = arg;
        list_insert_tail(&cl->meta_next_waiters, &w->link);
    }
    if (ntopics < 0) {
        cl->meta_next_all = true;
    } else if (!cl->meta_next_all) {
        for (int i = 0; i < ntopics; i++) {
            bool have = false;
            for (int j = 0; j < cl->meta_next_ntopics && !have; j++)
                have = strcmp(cl->meta_next_topics[j], topics[i]) == 0;
            if (have)
                continue;
            if (cl->meta_next_ntopics >= KCL_META_MAX_TOPICS) {
                cl->meta_next_all = true; /* past the bound, one all-topics round does it */
                break;
            }
            char **grown = realloc(cl->meta_next_topics, (size_t)(cl->meta_next_ntopics + 1) * sizeof(char *));
            char *name = strdup(topics[i]);
            if (!grown || !name) {
                free(name);
                if (grown)
                    cl->meta_next_topics = grown;
                return KCL_ENOMEM;
            }
            cl->meta_next_topics = grown;
            cl->meta_next_topics[cl->meta_next_ntopics++] = name;
        }
    }
    cl->meta_next = true;
    if (!cl->meta_running)
        meta_start(cl);
    return KCL_OK;
}

bool kcl_metadata_report_error(kcl_client_t *cl, const char *topic, int16_t kafka_error)
{
    switch (kafka_error) {
    case KERR_NOT_LEADER_OR_FOLLOWER:
    case KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KERR_LEADER_NOT_AVAILABLE:
    case KERR_KAFKA_STORAGE_ERROR:
    case 72: /* LISTENER_NOT_FOUND */
    case 74: /* FENCED_LEADER_EPOCH */
    case 75: /* UNKNOWN_LEADER_EPOCH */
    case 100: /* UNKNOWN_TOPIC_ID */ break;
    default: return false;
    }
    const char *one[1] = {topic};
    return kcl_metadata_refresh(cl, topic ? one : NULL, topic ? 1 : -1, NULL, NULL) == KCL_OK;
}

void kcl_metadata_cancel(kcl_client_t *cl)
{
    meta_call_waiters(&cl->meta_next_waiters, KCL_ECANCELLED);
    meta_call_waiters(&cl->meta_waiters, KCL_ECANCELLED);
    free_names(cl->meta_next_topics, cl->meta_next_ntopics);
    cl->meta_next_topics = NULL;
    cl->meta_next_ntopics = 0;
    cl->meta_next = false;
}

void kcl_metadata_fini(kcl_client_t *cl)
{
    arena_fini(&cl->meta_arena);
    free_names(cl->meta_next_topics, cl->meta_next_ntopics);
    free_names(cl->meta_run_topics, cl->meta_run_ntopics);
    proto_metadata_req_t *body = cl->meta_req_body;
    if (body)
        free(body->topics.items);
    free(body);
    cl->meta_req_body = NULL;
    cl->meta_run_topics = cl->meta_next_topics = NULL;
    cl->meta_run_ntopics = cl->meta_next_ntopics = 0;
    meta_call_waiters(&cl->meta_next_waiters, KCL_ECANCELLED);
    meta_call_waiters(&cl->meta_waiters, KCL_ECANCELLED);
}
