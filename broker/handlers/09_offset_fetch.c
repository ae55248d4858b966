/*
 * OffsetFetch (9), v0-9. v0 read ZooKeeper in Kafka 3.9; without ZooKeeper
 * (KRaft, and eddy) every requested partition answers offset -1, no
 * metadata and UNSUPPORTED_VERSION, the group never looked at. v1 names
 * one group and its partitions; v2 allows
 * a null topic list meaning "everything committed" and adds a top-level
 * error; v5 committed_leader_epoch; v6 flexible; v7 require_stable; v8
 * takes a batch of groups and answers per group. A partition never
 * committed answers offset -1 with no error.
 */
#include "base/clock.h"
#include "broker/broker.h"

/* Fetches one group. topics NULL (n < 0): everything committed. Fills *out_topics. */
typedef struct fetch_topic_view_s {
    proto_str_t name;
    const proto_arr_int32_t *partitions;
} fetch_topic_view_t;

static int16_t fetch_group(broker_req_t *req, proto_str_t group, const fetch_topic_view_t *topics, int32_t n,
                           bool require_stable, group_fetch_partition_t **parts_out, int32_t *count_out)
{
    group_coordinator_t *coord = req->broker->groups.coord;
    int64_t now = clock_wall_ms();
    if (n < 0)
        return group_offset_fetch(coord, group, NULL, -1, require_stable, &req->arena, parts_out, count_out, now);
    int32_t total = 0;
    for (int32_t i = 0; i < n; i++)
        total += topics[i].partitions->n > 0 ? topics[i].partitions->n : 0;
    group_fetch_partition_t *parts = arena_alloc(&req->arena, sizeof(*parts) * (size_t)(total ? total : 1));
    if (!parts)
        return KERR_UNKNOWN_SERVER_ERROR;
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < topics[i].partitions->n; j++, k++) {
            parts[k].topic = topics[i].name;
            parts[k].partition = topics[i].partitions->items[j];
        }
    *parts_out = parts;
    *count_out = total;
    if (req->version == 0) {
        for (k = 0; k < total; k++) {
            parts[k].offset = -1;
            parts[k].leader_epoch = -1;
            parts[k].metadata = proto_str_c("");
            parts[k].error_code = KERR_UNSUPPORTED_VERSION;
        }
        return KERR_NONE;
    }
    return group_offset_fetch(coord, group, parts, total, require_stable, &req->arena, NULL, NULL, now);
}

/* Groups the flat partition list by topic, in order. Works for both response layouts. */
#define FILL_TOPICS(req, arr, tdesc, pdesc, parts, count)                                                              \
    do {                                                                                                               \
        int32_t ntop_ = 0;                                                                                             \
        for (int32_t i_ = 0; i_ < (count); i_++)                                                                       \
            if (i_ == 0 || (parts)[i_].topic.len != (parts)[i_ - 1].topic.len ||                                       \
                memcmp((parts)[i_].topic.ptr, (parts)[i_ - 1].topic.ptr, (size_t)(parts)[i_].topic.len) != 0)          \
                ntop_++;                                                                                               \
        if (!BROKER_FILL_ARRAY(req, arr, tdesc, ntop_))                                                                \
            return BROKER_CLOSE;                                                                                       \
        int32_t t_ = -1;                                                                                               \
        for (int32_t i_ = 0; i_ < (count); i_++) {                                                                     \
            if (i_ == 0 || (parts)[i_].topic.len != (parts)[i_ - 1].topic.len ||                                       \
                memcmp((parts)[i_].topic.ptr, (parts)[i_ - 1].topic.ptr, (size_t)(parts)[i_].topic.len) != 0) {        \
                t_++;                                                                                                  \
                int32_t np_ = 0;                                                                                       \
                for (int32_t j_ = i_;                                                                                  \
                     j_ < (count) && (parts)[j_].topic.len == (parts)[i_].topic.len &&                                 \
                     memcmp((parts)[j_].topic.ptr, (parts)[i_].topic.ptr, (size_t)(parts)[i_].topic.len) == 0;         \
                     j_++)                                                                                             \
                    np_++;                                                                                             \
                (arr).items[t_].name = (parts)[i_].topic;                                                              \
                if (!BROKER_FILL_ARRAY(req, (arr).items[t_].partitions, pdesc, np_))                                   \
                    return BROKER_CLOSE;                                                                               \
                (arr).items[t_].partitions.n = 0;                                                                      \
            }                                                                                                          \
            int32_t p_ = (arr).items[t_].partitions.n++;                                                               \
            (arr).items[t_].partitions.items[p_].partition_index = (parts)[i_].partition;                              \
            (arr).items[t_].partitions.items[p_].committed_offset = (parts)[i_].offset;                                \
            (arr).items[t_].partitions.items[p_].committed_leader_epoch = (parts)[i_].leader_epoch;                    \
            (arr).items[t_].partitions.items[p_].metadata = (parts)[i_].metadata;                                      \
            (arr).items[t_].partitions.items[p_].error_code = (parts)[i_].error_code;                                  \
        }                                                                                                              \
    } while (0)

broker_result_t broker_handle_offset_fetch(broker_req_t *req)
{
    const proto_offset_fetch_req_t *body = req->body;
    proto_offset_fetch_resp_t *resp = req->resp;
    bool stable = req->version >= 7 && body->require_stable;
    if (req->version < 8) {
        int32_t n = body->topics.n;
        fetch_topic_view_t *views = n > 0 ? arena_alloc(&req->arena, sizeof(*views) * (size_t)n) : NULL;
        if (n > 0 && !views)
            return BROKER_CLOSE;
        for (int32_t i = 0; i < n; i++) {
            views[i].name = body->topics.items[i].name;
            views[i].partitions = &body->topics.items[i].partition_indexes;
        }
        group_fetch_partition_t *parts = NULL;
        int32_t count = 0;
        int16_t err = fetch_group(req, body->group_id, views, n, stable, &parts, &count);
        resp->error_code = err;
        if (err != KERR_NONE) {
            if (req->version < 2) /* no top-level error before v2: put it on every partition */
                for (int32_t i = 0; i < count; i++)
                    parts[i].error_code = err, parts[i].offset = -1;
            else
                count = 0;
        }
        FILL_TOPICS(req, resp->topics, proto_offset_fetch_resp_topic_desc, proto_offset_fetch_resp_partition_desc,
                    parts, count);
        return BROKER_RESPOND;
    }
    int32_t ng = body->groups.n > 0 ? body->groups.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->groups, proto_offset_fetch_resp_group_desc, ng))
        return BROKER_CLOSE;
    for (int32_t g = 0; g < ng; g++) {
        const proto_offset_fetch_req_group_t *rg = &body->groups.items[g];
        proto_offset_fetch_resp_group_t *og = &resp->groups.items[g];
        og->group_id = rg->group_id;
        int32_t n = rg->topics.n;
        fetch_topic_view_t *views = n > 0 ? arena_alloc(&req->arena, sizeof(*views) * (size_t)n) : NULL;
        if (n > 0 && !views)
            return BROKER_CLOSE;
        for (int32_t i = 0; i < n; i++) {
            views[i].name = rg->topics.items[i].name;
            views[i].partitions = &rg->topics.items[i].partition_indexes;
        }
        group_fetch_partition_t *parts = NULL;
        int32_t count = 0;
        og->error_code = fetch_group(req, rg->group_id, views, n, stable, &parts, &count);
        if (og->error_code != KERR_NONE)
            count = 0;
        FILL_TOPICS(req, og->topics, proto_offset_fetch_resp_group_topic_desc,
                    proto_offset_fetch_resp_group_partition_desc, parts, count);
    }
    return BROKER_RESPOND;
}
