/*
 * DeleteTopics (20), v0-6. Up to v5 the request is a list of names; v6
 * lists {name, topic_id} and a topic may be named by id alone (null name).
 * v1 adds throttle_time_ms; v4 is flexible; v5 adds error_message. With
 * delete.topic.enable=false every topic fails, known or not:
 * TOPIC_DELETION_DISABLED from v3, INVALID_REQUEST before it. Deletion is immediate: the topic's
 * metadata goes first, then its partition directories.
 */
#include "broker/broker.h"

#define DELETE_SUBMITTED (-2) /* went to the store: delete_fill gets the result */

static int16_t delete_named(broker_req_t *req, const char *name, size_t len, const proto_uuid_t *id,
                            proto_delete_topics_resp_result_t *out, broker_store_wait_t *w, int32_t index)
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
    broker_topics_delete(&broker->topics, t, broker_store_wait_done, broker_store_wait_slot(w, index));
    return DELETE_SUBMITTED;
}

static void delete_fill(broker_req_t *req, int32_t i, int16_t err, const char *errmsg)
{
    proto_delete_topics_resp_result_t *out = &((proto_delete_topics_resp_t *)req->resp)->responses.items[i];
    out->error_code = err;
    if (err != KERR_NONE && req->version >= 5)
        out->error_message = broker_strf(req, "%s", errmsg);
}

broker_result_t broker_handle_delete_topics(broker_req_t *req)
{
    const proto_delete_topics_req_t *body = req->body;
    proto_delete_topics_resp_t *resp = req->resp;
    int32_t n = req->version < 6 ? body->topic_names.n : body->topics.n;
    if (n < 0)
        n = 0;
    if (!BROKER_FILL_ARRAY(req, resp->responses, proto_delete_topics_resp_result_desc, n))
        return BROKER_CLOSE;
    broker_store_wait_t *w = broker_store_wait_new(req, n, delete_fill);
    if (!w)
        return BROKER_CLOSE;
    int16_t err;
    if (req->version < 6) {
        for (int32_t i = 0; i < n; i++) {
            proto_str_t name = body->topic_names.items[i];
            proto_delete_topics_resp_result_t *out = &resp->responses.items[i];
            out->name = name;
            err = delete_named(req, (const char *)name.ptr, (size_t)(name.len > 0 ? name.len : 0), NULL, out, w, i);
            if (err != DELETE_SUBMITTED)
                out->error_code = err;
        }
        return broker_store_wait_end(w);
    }
    for (int32_t i = 0; i < n; i++) {
        const proto_delete_topics_req_topic_t *rt = &body->topics.items[i];
        proto_delete_topics_resp_result_t *out = &resp->responses.items[i];
        out->name = rt->name;
        out->topic_id = rt->topic_id;
        if (rt->name.len >= 0)
            err = delete_named(req, (const char *)rt->name.ptr, (size_t)rt->name.len, NULL, out, w, i);
        else
            err = delete_named(req, NULL, 0, &rt->topic_id, out, w, i);
        if (err != DELETE_SUBMITTED)
            out->error_code = err;
    }
    return broker_store_wait_end(w);
}
