/*
 * DeleteTopics (20), v0-6. Up to v5 the request is a list of names; v6
 * lists {name, topic_id} and a topic may be named by id alone (null name).
 * v1 adds throttle_time_ms; v4 is flexible; v5 adds error_message. With
 * delete.topic.enable=false every topic fails, known or not:
 * TOPIC_DELETION_DISABLED from v3, INVALID_REQUEST before it. Deletion is immediate: the topic's
 * metadata goes first, then its partition directories.
 */
#include "broker/broker.h"

static int16_t delete_named(broker_req_t *req, const char *name, size_t len, const proto_uuid_t *id,
                            proto_delete_topics_resp_result_t *out)
{
    broker_t *broker = req->broker;
    if (!broker->cfg->delete_topic_enable)
        return req->version >= 3 ? KERR_TOPIC_DELETION_DISABLED : KERR_INVALID_REQUEST;
    broker_topic_t *t =
        name ? broker_topics_get(&broker->topics, name, len) : broker_topics_get_by_id(&broker->topics, id);
    if (!t)
        return name ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_UNKNOWN_TOPIC_ID;
    if (broker_topic_is_internal(t->name, t->name_len))
        return KERR_INVALID_TOPIC_EXCEPTION;
    out->topic_id = t->id;
    if (out->name.len < 0) /* named by id: answer with the name, copied before the topic goes */
        out->name = broker_strf(req, "%s", t->name);
    return broker_topics_delete(&broker->topics, t);
}

broker_result_t broker_handle_delete_topics(broker_req_t *req)
{
    const proto_delete_topics_req_t *body = req->body;
    proto_delete_topics_resp_t *resp = req->resp;
    if (req->version < 6) {
        int32_t n = body->topic_names.n > 0 ? body->topic_names.n : 0;
        if (!BROKER_FILL_ARRAY(req, resp->responses, proto_delete_topics_resp_result_desc, n))
            return BROKER_CLOSE;
        for (int32_t i = 0; i < n; i++) {
            proto_str_t name = body->topic_names.items[i];
            proto_delete_topics_resp_result_t *out = &resp->responses.items[i];
            out->name = name;
            out->error_code =
                delete_named(req, (const char *)name.ptr, (size_t)(name.len > 0 ? name.len : 0), NULL, out);
        }
        return BROKER_RESPOND;
    }
    int32_t n = body->topics.n > 0 ? body->topics.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->responses, proto_delete_topics_resp_result_desc, n))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        const proto_delete_topics_req_topic_t *rt = &body->topics.items[i];
        proto_delete_topics_resp_result_t *out = &resp->responses.items[i];
        out->name = rt->name;
        out->topic_id = rt->topic_id;
        if (rt->name.len >= 0)
            out->error_code = delete_named(req, (const char *)rt->name.ptr, (size_t)rt->name.len, NULL, out);
        else
            out->error_code = delete_named(req, NULL, 0, &rt->topic_id, out);
    }
    return BROKER_RESPOND;
}
