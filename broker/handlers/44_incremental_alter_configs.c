/*
 * IncrementalAlterConfigs (44), v0-1. Each resource's operations apply, in
 * order, to its current set of overrides (a topic's, or the broker's dynamic
 * configs for this node or, with name "", the cluster default): SET (0)
 * puts a value, DELETE (1) removes the override so the default applies
 * again, APPEND (2) and SUBTRACT (3) add or remove items of a LIST config
 * such as cleanup.policy (starting from its effective value when there is
 * no override). The resulting set is validated as a whole and then replaces
 * the old one, so a request either applies entirely or not at all.
 * validate_only checks and changes nothing; v1 is flexible.
 */
#include "broker/broker.h"

enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 };

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

static int find(const broker_topic_config_t *pairs, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(pairs[i].key, key) == 0)
            return i;
    return -1;
}

/* The LIST value an APPEND / SUBTRACT starts from: the override, else what is in effect. */
static const char *list_base(broker_req_t *req, broker_topic_t *t, bool node, const broker_topic_config_t *pairs, int n,
                             const char *key, const broker_cfg_def_t *def, char *buf, size_t len)
{
    int j = find(pairs, n, key);
    if (j >= 0)
        return pairs[j].value;
    broker_cfg_layers_t layers;
    broker_topics_layers(&req->broker->topics, &layers);
    if (t) {
        broker_tcfg_value(&layers, NULL, 0, def, buf, len, NULL);
        return buf;
    }
    const broker_bcfg_def_t *bd = broker_bcfg_find(key);
    if (!bd)
        return "";
    if (!node) {
        layers.ndyn_node = 0;
    }
    broker_cfg_synonym_t syn[4];
    broker_bcfg_synonyms(&layers, bd, syn, 4);
    snprintf(buf, len, "%s", syn[0].value);
    return buf;
}

#define ALTER_SUBMITTED (-2) /* went to the store: alter_fill gets the result */

static int16_t alter_one(broker_req_t *req, const proto_incremental_alter_configs_req_resource_t *rr,
                         bool validate_only, char *errmsg, size_t errlen,
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
    const broker_topic_config_t *cur = t ? t->configs : node ? topics->dyn_node : topics->dyn_default;
    int ncur = t ? t->nconfigs : node ? topics->ndyn_node : topics->ndyn_default;
    int32_t nops = rr->configs.n > 0 ? rr->configs.n : 0;
    int cap = ncur + nops;
    broker_topic_config_t *pairs = cap ? arena_alloc(&req->arena, sizeof(*pairs) * (size_t)cap) : NULL;
    if (cap && !pairs)
        return KERR_UNKNOWN_SERVER_ERROR;
    int n = 0;
    for (int i = 0; i < ncur; i++)
        pairs[n++] = cur[i]; /* borrowed: the alter call copies what it keeps */
    for (int32_t i = 0; i < nops; i++) {
        const proto_incremental_alter_configs_req_config_t *c = &rr->configs.items[i];
        char *key = dupz(req, c->name);
        if (!key)
            return KERR_UNKNOWN_SERVER_ERROR;
        /* A broker name in no row is a custom config (Kafka keeps those); a topic one is an error. */
        const broker_cfg_def_t *def = t ? broker_tcfg_find(key) : broker_bcfg_find(key);
        if (!def && t) {
            snprintf(errmsg, errlen, "Unknown topic config name: %s", key);
            return KERR_INVALID_CONFIG;
        }
        int j = find(pairs, n, key);
        if (c->config_operation == OP_DELETE) {
            if (j >= 0)
                pairs[j] = pairs[--n];
            continue;
        }
        if (c->config_operation < OP_SET || c->config_operation > OP_SUBTRACT) {
            snprintf(errmsg, errlen, "Unknown config operation %d for %s", c->config_operation, key);
            return KERR_INVALID_REQUEST;
        }
        if (c->value.len < 0) {
            snprintf(errmsg, errlen, "Null value not supported for %s", key);
            return KERR_INVALID_CONFIG;
        }
        char *value = dupz(req, c->value);
        if (!value)
            return KERR_UNKNOWN_SERVER_ERROR;
        if (c->config_operation != OP_SET) {
            if (!def) {
                snprintf(errmsg, errlen, "Unknown config name: %s", key);
                return KERR_INVALID_CONFIG;
            }
            if (def->type != BROKER_CFG_LIST) {
                snprintf(errmsg, errlen, "Config %s is not a list: %s is only for list configs", key,
                         c->config_operation == OP_APPEND ? "APPEND" : "SUBTRACT");
                return KERR_INVALID_CONFIG;
            }
            char base[BROKER_CFG_VALUE_MAX];
            const char *from = list_base(req, t, node, pairs, n, key, def, base, sizeof(base));
            char *res = arena_alloc(&req->arena, BROKER_CFG_VALUE_MAX);
            if (!res)
                return KERR_UNKNOWN_SERVER_ERROR;
            int rc = c->config_operation == OP_APPEND
                         ? broker_cfg_list_append(from, value, res, BROKER_CFG_VALUE_MAX)
                         : broker_cfg_list_subtract(from, value, res, BROKER_CFG_VALUE_MAX);
            if (rc != 0) {
                snprintf(errmsg, errlen, "Config %s would be too long", key);
                return KERR_INVALID_CONFIG;
            }
            value = res;
        }
        if (j >= 0)
            pairs[j].value = value;
        else
            pairs[n++] = (broker_topic_config_t){key, value};
    }
    if (t)
        broker_topics_alter(topics, t, pairs, n, validate_only, broker_store_wait_done, broker_store_wait_slot(w, index));
    else
        broker_topics_alter_broker(topics, node, pairs, n, validate_only, broker_store_wait_done,
                                   broker_store_wait_slot(w, index));
    return ALTER_SUBMITTED;
}

static void alter_fill(broker_req_t *req, int32_t i, int16_t err, const char *errmsg)
{
    proto_incremental_alter_configs_resp_resource_t *out = &((proto_incremental_alter_configs_resp_t *)req->resp)->responses.items[i];
    out->error_code = err;
    out->error_message = err != KERR_NONE ? broker_strf(req, "%s", errmsg) : proto_str_c(NULL);
}

broker_result_t broker_handle_incremental_alter_configs(broker_req_t *req)
{
    const proto_incremental_alter_configs_req_t *body = req->body;
    proto_incremental_alter_configs_resp_t *resp = req->resp;
    int32_t n = body->resources.n > 0 ? body->resources.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->responses, proto_incremental_alter_configs_resp_resource_desc, n))
        return BROKER_CLOSE;
    broker_store_wait_t *w = broker_store_wait_new(req, n, alter_fill);
    if (!w)
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        const proto_incremental_alter_configs_req_resource_t *rr = &body->resources.items[i];
        proto_incremental_alter_configs_resp_resource_t *out = &resp->responses.items[i];
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
