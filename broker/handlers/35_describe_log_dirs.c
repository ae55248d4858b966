/*
 * DescribeLogDirs (35), v0-4. The one data directory with the size of every
 * requested partition (all partitions when topics is null); v2 flexible;
 * v3 adds a top-level error; v4 the directory's total and usable bytes.
 */
#include <sys/statvfs.h>

#include "broker/broker.h"

static void fill_topic(broker_req_t *req, proto_describe_log_dirs_resp_topic_t *ot, broker_topic_t *t,
                       const proto_arr_int32_t *only)
{
    ot->name = (proto_str_t){(const uint8_t *)t->name, (int32_t)t->name_len};
    int32_t n = only ? (only->n > 0 ? only->n : 0) : t->nparts;
    if (!BROKER_FILL_ARRAY(req, ot->partitions, proto_describe_log_dirs_resp_partition_desc, n))
        return;
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t idx = only ? only->items[i] : i;
        broker_partition_t *part = broker_topic_partition(t, idx);
        if (!part || !part->log)
            continue; /* unknown or offline partitions are left out, as Kafka does */
        ot->partitions.items[k].partition_index = idx;
        ot->partitions.items[k].partition_size = log_partition_size_bytes(part->log);
        k++;
    }
    ot->partitions.n = k;
}

broker_result_t broker_handle_describe_log_dirs(broker_req_t *req)
{
    const proto_describe_log_dirs_req_t *body = req->body;
    proto_describe_log_dirs_resp_t *resp = req->resp;
    broker_t *broker = req->broker;
    if (!BROKER_FILL_ARRAY(req, resp->results, proto_describe_log_dirs_resp_result_desc, 1))
        return BROKER_CLOSE;
    proto_describe_log_dirs_resp_result_t *dir = &resp->results.items[0];
    dir->log_dir = proto_str_c(broker->cfg->log_dirs);
    struct statvfs vfs;
    if (statvfs(broker->cfg->log_dirs, &vfs) == 0) {
        dir->total_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
        dir->usable_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    } else {
        dir->total_bytes = dir->usable_bytes = -1;
    }
    if (body->topics.n < 0) {
        int32_t n = (int32_t)broker->topics.by_name.count;
        if (!BROKER_FILL_ARRAY(req, dir->topics, proto_describe_log_dirs_resp_topic_desc, n))
            return BROKER_CLOSE;
        size_t pos = 0;
        broker_topic_t *t;
        for (int32_t i = 0; i < n && (t = broker_topics_next(&broker->topics, &pos)); i++)
            fill_topic(req, &dir->topics.items[i], t, NULL);
        return BROKER_RESPOND;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < body->topics.n; i++)
        if (broker_topics_get(&broker->topics, (const char *)body->topics.items[i].topic.ptr,
                              (size_t)(body->topics.items[i].topic.len > 0 ? body->topics.items[i].topic.len : 0)))
            n++;
    if (!BROKER_FILL_ARRAY(req, dir->topics, proto_describe_log_dirs_resp_topic_desc, n))
        return BROKER_CLOSE;
    int32_t k = 0;
    for (int32_t i = 0; i < body->topics.n; i++) {
        const proto_describe_log_dirs_req_topic_t *rt = &body->topics.items[i];
        broker_topic_t *t = rt->topic.len > 0 ? broker_topics_get(&broker->topics, (const char *)rt->topic.ptr,
                                                                  (size_t)rt->topic.len)
                                              : NULL;
        if (t)
            fill_topic(req, &dir->topics.items[k++], t, &rt->partitions);
    }
    return BROKER_RESPOND;
}
