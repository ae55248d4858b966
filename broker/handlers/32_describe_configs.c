/*
 * DescribeConfigs (32), v0-4. Per resource (TOPIC or BROKER) the configs
 * asked for (configuration_keys; null or empty = all, as Kafka's
 * ConfigHelper reads it; unknown names are left out),
 * each with its value, read_only, config_source and is_sensitive. v0 has
 * is_default instead of config_source: true when the value is the built-in
 * default (Kafka 3.9's broker leaves it false for every entry, a leftover
 * of its rewrite around config_source; clients such as sarama's
 * ClusterAdmin read it as "not overridden", so eddy fills it). v1 adds
 * config_source and, when include_synonyms, the synonyms in precedence
 * order (topic override, then the broker properties' dynamic, static and
 * default values); v3 adds config_type and, when include_documentation, the
 * documentation; v4 is flexible. A BROKER resource named by this node's id
 * shows every property of broker/configs.def (those eddy only accepts too)
 * and then the custom names set on it at run time; the one named "" (the
 * cluster default) shows only the dynamic defaults set on it, as Kafka does.
 * Passwords are sensitive: their values (and their synonyms') are null.
 */
#include "broker/broker.h"

static bool wanted(broker_req_t *req, const proto_describe_configs_req_resource_t *rr, const char *name)
{
    if (rr->configuration_keys.n <= 0)
        return true;
    for (int32_t i = 0; i < rr->configuration_keys.n; i++) {
        proto_str_t k = rr->configuration_keys.items[i];
        if (k.len >= 0 && broker_str_eq(k, name))
            return true;
    }
    (void)req;
    return false;
}

static proto_str_t arena_str(broker_req_t *req, const char *s)
{
    return broker_strf(req, "%s", s);
}

/* Fills one answered config from its synonyms (syn[0] is in effect; value already scaled). */
static bool fill_config(broker_req_t *req, proto_describe_configs_resp_config_t *c, const char *name, const char *value,
                        bool read_only, broker_cfg_type_t type, const char *doc, const broker_cfg_synonym_t *syn,
                        int nsyn)
{
    const proto_describe_configs_req_t *body = req->body;
    bool sensitive = type == BROKER_CFG_PASSWORD;
    c->name = proto_str_c(name);
    c->value = value && !sensitive ? arena_str(req, value) : proto_str_c(NULL);
    c->read_only = read_only;
    c->config_source = (int8_t)syn[0].source;
    c->is_default = syn[0].source == BROKER_CFG_SRC_DEFAULT;
    c->is_sensitive = sensitive;
    c->config_type = (int8_t)type;
    c->documentation = body->include_documentation ? proto_str_c(doc) : proto_str_c(NULL);
    c->synonyms.n = 0;
    if (body->include_synonyms) {
        if (!BROKER_FILL_ARRAY(req, c->synonyms, proto_describe_configs_resp_synonym_desc, nsyn))
            return false;
        for (int i = 0; i < nsyn; i++) {
            c->synonyms.items[i].name = proto_str_c(syn[i].name);
            c->synonyms.items[i].value =
                syn[i].is_null || sensitive ? proto_str_c(NULL) : arena_str(req, syn[i].value);
            c->synonyms.items[i].source = (int8_t)syn[i].source;
        }
    }
    return true;
}

static bool describe_topic(broker_req_t *req, const proto_describe_configs_req_resource_t *rr, broker_topic_t *t,
                           proto_describe_configs_resp_result_t *out)
{
    broker_cfg_layers_t layers;
    broker_topics_layers(&req->broker->topics, &layers);
    int32_t n = 0;
    for (size_t i = 0; i < broker_cfg_topic_count; i++)
        n += wanted(req, rr, broker_cfg_topic_defs[i].name);
    if (!BROKER_FILL_ARRAY(req, out->configs, proto_describe_configs_resp_config_desc, n))
        return false;
    int32_t k = 0;
    for (size_t i = 0; i < broker_cfg_topic_count; i++) {
        const broker_tcfg_def_t *def = &broker_cfg_topic_defs[i];
        if (!wanted(req, rr, def->name))
            continue;
        broker_cfg_synonym_t syn[2 + 3 * BROKER_CFG_MAX_SYNONYMS];
        int nsyn =
            broker_tcfg_synonyms(&layers, t->configs, t->nconfigs, def, syn, (int)(sizeof(syn) / sizeof(syn[0])));
        char value[BROKER_CFG_VALUE_MAX];
        broker_tcfg_value(&layers, t->configs, t->nconfigs, def, value, sizeof(value), NULL);
        if (!fill_config(req, &out->configs.items[k++], def->name, value, false, def->type, def->doc, syn, nsyn))
            return false;
    }
    return true;
}

/* Custom (unknown to the table) names among dynamic pairs: Kafka describes them too. */
static int32_t count_custom(broker_req_t *req, const proto_describe_configs_req_resource_t *rr,
                            const broker_topic_config_t *pairs, int n, const broker_topic_config_t *skip, int nskip)
{
    int32_t k = 0;
    for (int i = 0; i < n; i++)
        if (!broker_bcfg_find(pairs[i].key) && !broker_cfg_pairs_get(skip, nskip, pairs[i].key) &&
            wanted(req, rr, pairs[i].key))
            k++;
    return k;
}

static bool fill_custom(broker_req_t *req, const proto_describe_configs_req_resource_t *rr,
                        const broker_topic_config_t *pairs, int n, const broker_topic_config_t *skip, int nskip,
                        broker_cfg_source_t source, proto_describe_configs_resp_result_t *out, int32_t *k)
{
    for (int i = 0; i < n; i++) {
        if (broker_bcfg_find(pairs[i].key) || broker_cfg_pairs_get(skip, nskip, pairs[i].key) ||
            !wanted(req, rr, pairs[i].key))
            continue;
        broker_cfg_synonym_t syn = {.name = pairs[i].key, .source = source, .scale = 1};
        snprintf(syn.value, sizeof(syn.value), "%s", pairs[i].value);
        if (!fill_config(req, &out->configs.items[(*k)++], pairs[i].key, pairs[i].value, false, BROKER_CFG_UNKNOWN,
                         NULL, &syn, 1))
            return false;
    }
    return true;
}

static bool describe_broker(broker_req_t *req, const proto_describe_configs_req_resource_t *rr, bool node,
                            proto_describe_configs_resp_result_t *out)
{
    broker_topics_t *topics = &req->broker->topics;
    broker_cfg_layers_t layers;
    broker_topics_layers(topics, &layers);
    if (!node) {
        /* The cluster-default resource holds only what was set on it. */
        layers.cfg = NULL;
        layers.ndyn_node = 0;
    }
    size_t total = broker_bcfg_count();
    int32_t n = 0;
    for (size_t i = 0; i < total; i++) {
        const broker_bcfg_def_t *def = broker_bcfg_at(i);
        if (wanted(req, rr, def->name) &&
            (node || broker_cfg_pairs_get(topics->dyn_default, topics->ndyn_default, def->name)))
            n++;
    }
    /* Custom names: this node's, then the cluster default's not shadowed by this node's. */
    if (node)
        n += count_custom(req, rr, topics->dyn_node, topics->ndyn_node, NULL, 0);
    n += count_custom(req, rr, topics->dyn_default, topics->ndyn_default, layers.dyn_node, layers.ndyn_node);
    if (!BROKER_FILL_ARRAY(req, out->configs, proto_describe_configs_resp_config_desc, n))
        return false;
    int32_t k = 0;
    for (size_t i = 0; i < total; i++) {
        const broker_bcfg_def_t *def = broker_bcfg_at(i);
        if (!wanted(req, rr, def->name) ||
            (!node && !broker_cfg_pairs_get(topics->dyn_default, topics->ndyn_default, def->name)))
            continue;
        broker_cfg_synonym_t syn[4];
        int nsyn = broker_bcfg_synonyms(&layers, def, syn, 4);
        /* -2 is the "not set" default of log.retention.ms/minutes: Kafka shows no value. */
        const char *value = syn[0].is_null || (syn[0].source == BROKER_CFG_SRC_DEFAULT &&
                                               strcmp(syn[0].value, "-2") == 0 &&
                                               strncmp(def->name, "log.retention.", 14) == 0)
                                ? NULL
                                : syn[0].value;
        if (!fill_config(req, &out->configs.items[k++], def->name, value, !def->alterable, def->type, def->doc, syn,
                         nsyn))
            return false;
    }
    if (node && !fill_custom(req, rr, topics->dyn_node, topics->ndyn_node, NULL, 0, BROKER_CFG_SRC_DYNAMIC_BROKER, out,
                             &k))
        return false;
    return fill_custom(req, rr, topics->dyn_default, topics->ndyn_default, layers.dyn_node, layers.ndyn_node,
                       BROKER_CFG_SRC_DYNAMIC_DEFAULT, out, &k);
}

broker_result_t broker_handle_describe_configs(broker_req_t *req)
{
    const proto_describe_configs_req_t *body = req->body;
    proto_describe_configs_resp_t *resp = req->resp;
    int32_t n = body->resources.n > 0 ? body->resources.n : 0;
    if (!BROKER_FILL_ARRAY(req, resp->results, proto_describe_configs_resp_result_desc, n))
        return BROKER_CLOSE;
    for (int32_t i = 0; i < n; i++) {
        const proto_describe_configs_req_resource_t *rr = &body->resources.items[i];
        proto_describe_configs_resp_result_t *out = &resp->results.items[i];
        out->resource_type = rr->resource_type;
        out->resource_name = rr->resource_name;
        out->error_message = proto_str_c(NULL);
        char errmsg[256];
        broker_topic_t *t;
        bool node;
        out->error_code = broker_topics_config_resource(
            &req->broker->topics, rr->resource_type, (const char *)rr->resource_name.ptr,
            rr->resource_name.len > 0 ? (size_t)rr->resource_name.len : 0, &t, &node, errmsg, sizeof(errmsg));
        if (out->error_code != KERR_NONE) {
            out->error_message = broker_strf(req, "%s", errmsg);
            continue;
        }
        bool ok = t ? describe_topic(req, rr, t, out) : describe_broker(req, rr, node, out);
        if (!ok)
            return BROKER_CLOSE;
    }
    return BROKER_RESPOND;
}
