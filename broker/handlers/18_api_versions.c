/*
 * ApiVersions (18), v0-4. The answer lists every API in the dispatch table
 * with the range its schema implements, which is exactly what its handler
 * serves. v1 adds throttle_time_ms; v3 is flexible and
 * carries the client's software name and version, which must match
 * [a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])? or the answer is INVALID_REQUEST
 * (librdkafka then retries with v0); v4 is v3. The response header is always
 * v0, and a version we do not know is answered by broker/conn.c in the v0
 * layout before this handler runs.
 */
#include "broker/broker.h"

static bool software_token_ok(proto_str_t s)
{
    if (s.len <= 0)
        return false;
    for (int32_t i = 0; i < s.len; i++) {
        char c = (char)s.ptr[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool inner = c == '-' || c == '.';
        if (!alnum && !(inner && i > 0 && i < s.len - 1))
            return false;
    }
    return true;
}

broker_result_t broker_handle_api_versions(broker_req_t *req)
{
    const proto_api_versions_req_t *body = req->body;
    proto_api_versions_resp_t *resp = req->resp;
    if (req->version >= 3 &&
        (!software_token_ok(body->client_software_name) || !software_token_ok(body->client_software_version))) {
        resp->error_code = KERR_INVALID_REQUEST;
        return BROKER_RESPOND;
    }
    if (!BROKER_FILL_ARRAY(req, resp->api_keys, proto_api_versions_resp_api_version_desc, (int32_t)broker_apis_len))
        return BROKER_CLOSE;
    for (size_t i = 0; i < broker_apis_len; i++) {
        const proto_api_desc_t *api = proto_api_find(broker_apis[i].key);
        proto_api_versions_resp_api_version_t *e = &resp->api_keys.items[i];
        e->api_key = api->key;
        e->min_version = api->adv_min_version;
        e->max_version = api->max_version;
    }
    return BROKER_RESPOND;
}
