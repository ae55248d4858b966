/*
 * AlterConfigs (33), v0-2: the legacy, non-incremental form. Each resource's
 * configs REPLACE its whole set of overrides (a topic's, or the broker's
 * dynamic configs for this node or, with name "", the cluster default);
 * configs left out go back to their defaults. A null value leaves that
 * config out as well. validate_only checks everything and changes nothing.
 * v1 changes nothing on the wire; v2 is flexible.
 */
#include "broker/broker.h"

static char *dupz(broker_req_t *req, proto_str_t s)
{
    char *c = arena_alloc(&req->arena, (size_t)(s.len > 0 ? s.len : 0) + 1);
    if (c) {
        if (s.len > 0)
            memcpy(c, s.ptr, (size_t)s.len);
        c[s.len > 0 ? s.len : 0] = 0;
    }
    return c;
}

#define ALTER_SUBMITTED (-2) /* went to the store: alter_fill gets the result */

static int16_t alter_one(broker_req_t *req, const proto_alter_configs_req_resource_t *rr, bool validate_only,
                         char *errmsg, size_t errlen,
                         broker_store_wait_t *w, int32_t index)
{
    broker_topics_t *topics = &req->broker->topics;
    broker_topic_t *t;
    bool node;
    int16_t err = broker_topics_config_resource(topics, rr->resource_type, (const char *)rr->resource_name.ptr,
                                                rr->resource_name.len > 0 ? (size_t)rr->resource_name.len : 0, &t,
                                                &node, errmsg, errlen);
    if (err != KERR_NONE)
        return err;
    int32_t n = rr->configs.n > 0 ? rr->configs.n : 0;
    broker_topic_config_t *pairs = n ? arena_alloc(&req->arena, sizeof(*pairs) * (size_t)n) : NULL;
    if (n && !pairs)
        return KERR_UNKNOWN_SERVER_ERROR;
    int k = 0;
    for (int32_t i = 0; i < n; i++) {
        const proto_alter_configs_req_config_t *c = &rr->configs.items[i];
        if (c->value.len < 0)
            continue;
        pairs[k].key = dupz(req, c->name);
        pairs[k].value = dupz(req, c->value);
        if (!pairs[k].key || !pairs[k].value)
            return KERR_UNKNOWN_SERVER_ERROR;
        k++;
    }
    if (t)
        broker_topics_alter(topics, t, pairs, k, validate_only, broker_store_wait_done, broker_store_wait_slot(w, index));
    else
        broker_topics_alter_broker(topics, node, pairs, k, validate_only, broker_store_wait_done,
                                   broker_store_wait_slot(w, index));
    return ALTER_SUBMITTED;
}

static void alter_fill(broker_req_t *req, int32_t i, int16_t err, const char *errmsg)
{
    proto_alter_configs_resp_resource_t *out = &((proto_alter_configs_resp_t *)req->resp)->responses.items[i];
    out->error_code = err;
    out->error_message = err != KERR_NONE ? broker_strf(req, "%s", errmsg) : proto_str_c(NULL);
}

broker_result_t broker_handle_alter_configs(broker_req_t *req)
{
    const proto_alter_configs_req_t *body = req->body;
    proto_alter_configs_resp_t *resp = req->resp;
    int32_t n = body->resources.n > 0 ? body->resources.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->responses, proto_alter_configs_resp_resource_desc, n))
        return BROKER_CLOSE;
    broker_store_wait_t *w = broker_store_wait_new(req, n, alter_fill);
    if (!w)
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        const proto_alter_configs_req_resource_t *rr = &body->resources.items[i];
        proto_alter_configs_resp_resource_t *out = &resp->responses.items[i];
        out->resource_type = rr->resource_type;
        out->resource_name = rr->resource_name;
        char errmsg[320];
        int16_t err = alter_one(req, rr, body->validate_only, errmsg, sizeof(errmsg), w, i);
        if (err != ALTER_SUBMITTED) {
            out->error_code = err;
            out->error_message = err != KERR_NONE ? broker_strf(req, "%s", errmsg) : proto_str_c(NULL);
        }
    }
    return broker_store_wait_end(w);
}
