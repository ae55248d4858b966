/*
 * eddyctl config get|set, and the DescribeConfigs / IncrementalAlterConfigs
 * calls topic describe and topic alter share. Both APIs are compiled only
 * when protocol/gen/messages.h has them (EDDYCTL_HAVE_*, set by CMake);
 * nested request elements are reached through the top-level descriptors
 * and __typeof__, so nothing here depends on the generated names of nested
 * struct types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eddyctl.h"
#include "protocol/kafka_errors.h"

#define MAX_CONFIG_ARGS 256

const char *cli_config_source_name(int8_t source)
{
    static const char *const names[] = {
        "UNKNOWN",
        "DYNAMIC_TOPIC_CONFIG",
        "DYNAMIC_BROKER_CONFIG",
        "DYNAMIC_DEFAULT_BROKER_CONFIG",
        "STATIC_BROKER_CONFIG",
        "DEFAULT_CONFIG",
        "DYNAMIC_BROKER_LOGGER_CONFIG",
        "CLIENT_METRICS_CONFIG",
    };
    return source >= 0 && (size_t)source < sizeof(names) / sizeof(names[0]) ? names[source] : "UNKNOWN";
}

const char *cli_config_type_name(int8_t type)
{
    static const char *const names[] = {"UNKNOWN", "BOOLEAN", "STRING", "INT",   "SHORT",
                                        "LONG",    "DOUBLE",  "LIST",   "CLASS", "PASSWORD"};
    return type >= 0 && (size_t)type < sizeof(names) / sizeof(names[0]) ? names[type] : "UNKNOWN";
}

static const char *resource_kind(int8_t type)
{
    return type == CLI_RESOURCE_TOPIC ? "topic" : type == CLI_RESOURCE_BROKER ? "broker" : "resource";
}

#ifdef EDDYCTL_HAVE_DESCRIBE_CONFIGS

bool cli_configs_describable(cli_ctx_t *ctx)
{
    return cli_api_usable(&ctx->conn, CLI_API_DESCRIBE_CONFIGS);
}

int cli_describe_configs(cli_ctx_t *ctx, int8_t resource_type, const char *resource_name, const char *const *keys,
                         int nkeys, cli_config_t **out, int32_t *n)
{
    cli_conn_t *conn = &ctx->conn;
    int16_t ver = cli_api_version(conn, CLI_API_DESCRIBE_CONFIGS);
    if (ver < 0)
        return cli_unsupported(ctx, CLI_API_DESCRIBE_CONFIGS, "reading configs");
    proto_describe_configs_req_t req;
    proto_msg_init(&proto_describe_configs_req_desc, ver, &req);
    CLI_ARRAY(conn, req.resources, proto_describe_configs_req_desc, "resources", ver, 1);
    __typeof__(*req.resources.items) *r = &req.resources.items[0];
    r->resource_type = resource_type;
    r->resource_name = proto_str_c(resource_name);
    if (nkeys > 0) {
        CLI_ARRAY(conn, r->configuration_keys, proto_describe_configs_req_desc, "resources.configuration_keys", ver,
                  nkeys);
        for (int i = 0; i < nkeys; i++)
            r->configuration_keys.items[i] = proto_str_c(keys[i]);
    } else {
        r->configuration_keys.n = -1; /* null: every key */
        r->configuration_keys.items = NULL;
    }
    req.include_synonyms = false;
    req.include_documentation = ctx->verbose;
    proto_describe_configs_resp_t resp;
    if (cli_call(conn, CLI_API_DESCRIBE_CONFIGS, ver, &req, &resp) != 0)
        return cli_request_failed(ctx);
    for (int32_t i = 0; i < resp.results.n; i++) {
        const __typeof__(*resp.results.items) *res = &resp.results.items[i];
        if (res->resource_type != resource_type || !cli_str_eq(res->resource_name, resource_name))
            continue;
        if (res->error_code != KERR_NONE)
            return cli_fail("cannot read the configs of %s %s: %s", resource_kind(resource_type), resource_name,
                            cli_kafka_error(res->error_code, res->error_message));
        int32_t nc = res->configs.n > 0 ? res->configs.n : 0;
        cli_config_t *c = cli_alloc(conn, (size_t)nc, sizeof(*c));
        for (int32_t k = 0; k < nc; k++) {
            const __typeof__(*res->configs.items) *e = &res->configs.items[k];
            c[k].name = cli_str(conn, e->name);
            c[k].value = e->value.len >= 0 ? cli_str(conn, e->value) : NULL;
            c[k].source = e->config_source;
            c[k].read_only = e->read_only;
            c[k].sensitive = e->is_sensitive;
            c[k].type = ver >= 3 ? e->config_type : 0;
            c[k].documentation = ver >= 3 && e->documentation.len >= 0 ? cli_str(conn, e->documentation) : NULL;
        }
        *out = c;
        *n = nc;
        return 0;
    }
    return cli_fail("the broker did not answer for %s %s", resource_kind(resource_type), resource_name);
}

#else

bool cli_configs_describable(cli_ctx_t *ctx)
{
    return false;
}

int cli_describe_configs(cli_ctx_t *ctx, int8_t resource_type, const char *resource_name, const char *const *keys,
                         int nkeys, cli_config_t **out, int32_t *n)
{
    return cli_fail("this eddyctl was built before eddy's protocol module had DescribeConfigs; rebuild it");
}

#endif

#ifdef EDDYCTL_HAVE_INCREMENTAL_ALTER_CONFIGS

int cli_alter_configs(cli_ctx_t *ctx, int8_t resource_type, const char *resource_name, const char *const *set_keys,
                      const char *const *set_values, int nset, const char *const *del_keys, int ndel)
{
    cli_conn_t *conn = &ctx->conn;
    int16_t ver = cli_api_version(conn, CLI_API_INCREMENTAL_ALTER_CONFIGS);
    if (ver < 0)
        return cli_unsupported(ctx, CLI_API_INCREMENTAL_ALTER_CONFIGS, "changing configs");
    proto_incremental_alter_configs_req_t req;
    proto_msg_init(&proto_incremental_alter_configs_req_desc, ver, &req);
    req.validate_only = false;
    CLI_ARRAY(conn, req.resources, proto_incremental_alter_configs_req_desc, "resources", ver, 1);
    __typeof__(*req.resources.items) *r = &req.resources.items[0];
    r->resource_type = resource_type;
    r->resource_name = proto_str_c(resource_name);
    CLI_ARRAY(conn, r->configs, proto_incremental_alter_configs_req_desc, "resources.configs", ver, nset + ndel);
    for (int i = 0; i < nset; i++) {
        r->configs.items[i].name = proto_str_c(set_keys[i]);
        r->configs.items[i].config_operation = 0; /* SET */
        r->configs.items[i].value = proto_str_c(set_values[i]);
    }
    for (int i = 0; i < ndel; i++) {
        r->configs.items[nset + i].name = proto_str_c(del_keys[i]);
        r->configs.items[nset + i].config_operation = 1; /* DELETE */
        r->configs.items[nset + i].value = proto_str_c(NULL);
    }
    proto_incremental_alter_configs_resp_t resp;
    if (cli_call(conn, CLI_API_INCREMENTAL_ALTER_CONFIGS, ver, &req, &resp) != 0)
        return cli_request_failed(ctx);
    for (int32_t i = 0; i < resp.responses.n; i++) {
        const __typeof__(*resp.responses.items) *res = &resp.responses.items[i];
        if (res->resource_type != resource_type || !cli_str_eq(res->resource_name, resource_name))
            continue;
        if (res->error_code != KERR_NONE)
            return cli_fail("cannot change the configs of %s %s: %s", resource_kind(resource_type), resource_name,
                            cli_kafka_error(res->error_code, res->error_message));
        return 0;
    }
    return cli_fail("the broker did not answer for %s %s", resource_kind(resource_type), resource_name);
}

#else

int cli_alter_configs(cli_ctx_t *ctx, int8_t resource_type, const char *resource_name, const char *const *set_keys,
                      const char *const *set_values, int nset, const char *const *del_keys, int ndel)
{
    return cli_fail("this eddyctl was built before eddy's protocol module had IncrementalAlterConfigs; rebuild it");
}

#endif

/* "topic NAME" or "broker ID" at argv[0..1]. */
static void parse_resource(int argc, char **argv, const char *cmd, int8_t *type, const char **name)
{
    if (argc < 2)
        cli_usage_error("config %s needs a resource: topic NAME or broker ID", cmd);
    if (strcmp(argv[0], "topic") == 0) {
        *type = CLI_RESOURCE_TOPIC;
    } else if (strcmp(argv[0], "broker") == 0) {
        *type = CLI_RESOURCE_BROKER;
        cli_parse_int(argv[1], 0, INT32_MAX, "the broker id");
    } else {
        cli_usage_error("config %s: unknown resource type '%s' (topic or broker)", cmd, argv[0]);
    }
    *name = argv[1];
}

static int config_get(cli_ctx_t *ctx, int argc, char **argv)
{
    int8_t type;
    const char *name;
    parse_resource(argc, argv, "get", &type, &name);
    const char *keys[MAX_CONFIG_ARGS];
    int nkeys = 0;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-')
            cli_usage_error("unknown option %s for config get", argv[i]);
        if (nkeys == MAX_CONFIG_ARGS)
            cli_usage_error("too many keys");
        keys[nkeys++] = argv[i];
    }
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    cli_config_t *cfg;
    int32_t n;
    if ((rc = cli_describe_configs(ctx, type, name, keys, nkeys, &cfg, &n)) != 0)
        return rc;
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "resource_type", resource_kind(type));
        cli_json_kstr(&js, "resource_name", name);
        cli_json_key(&js, "configs");
        cli_json_arr_begin(&js);
        for (int32_t i = 0; i < n; i++) {
            cli_json_obj_begin(&js);
            cli_json_kstr(&js, "name", cfg[i].name);
            cli_json_kstr(&js, "value", cfg[i].value);
            cli_json_kstr(&js, "source", cli_config_source_name(cfg[i].source));
            cli_json_kstr(&js, "type", cli_config_type_name(cfg[i].type));
            cli_json_kbool(&js, "read_only", cfg[i].read_only);
            cli_json_kbool(&js, "sensitive", cfg[i].sensitive);
            if (cfg[i].documentation)
                cli_json_kstr(&js, "documentation", cfg[i].documentation);
            cli_json_obj_end(&js);
        }
        cli_json_arr_end(&js);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
        return CLI_EXIT_OK;
    }
    static const char *const head[] = {"NAME", "VALUE", "SOURCE", "FLAGS"};
    cli_table_t tab;
    cli_table_init(&tab, 4, head);
    for (int32_t i = 0; i < n; i++) {
        cli_table_cell(&tab, "%s", cfg[i].name);
        cli_table_cell(&tab, "%s", cfg[i].sensitive ? "(sensitive)" : cfg[i].value ? cfg[i].value : "(null)");
        cli_table_cell(&tab, "%s", cli_config_source_name(cfg[i].source));
        cli_table_cell(&tab, "%s", cfg[i].read_only ? "read-only" : "-");
    }
    cli_table_print(&tab, stdout);
    cli_table_fini(&tab);
    if (ctx->verbose) {
        for (int32_t i = 0; i < n; i++)
            if (cfg[i].documentation && cfg[i].documentation[0])
                printf("\n%s (%s): %s\n", cfg[i].name, cli_config_type_name(cfg[i].type), cfg[i].documentation);
    }
    return CLI_EXIT_OK;
}

static int config_set(cli_ctx_t *ctx, int argc, char **argv)
{
    int8_t type;
    const char *name, *v;
    parse_resource(argc, argv, "set", &type, &name);
    const char *keys[MAX_CONFIG_ARGS], *vals[MAX_CONFIG_ARGS], *dels[MAX_CONFIG_ARGS];
    int nset = 0, ndel = 0;
    for (int i = 2; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--delete", &v)) {
            if (ndel == MAX_CONFIG_ARGS)
                cli_usage_error("too many --delete options");
            dels[ndel++] = v;
        } else if (argv[i][0] == '-') {
            cli_usage_error("unknown option %s for config set", argv[i]);
        } else {
            if (nset == MAX_CONFIG_ARGS)
                cli_usage_error("too many settings");
            cli_split_kv(argv[i], &keys[nset], &vals[nset]);
            nset++;
        }
    }
    if (nset + ndel == 0)
        cli_usage_error("config set needs K=V settings or --delete K");
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    if ((rc = cli_alter_configs(ctx, type, name, keys, vals, nset, dels, ndel)) != 0)
        return rc;
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "resource_type", resource_kind(type));
        cli_json_kstr(&js, "resource_name", name);
        cli_json_kint(&js, "set", nset);
        cli_json_kint(&js, "deleted", ndel);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
    } else {
        printf("updated %s %s: %d set, %d deleted\n", resource_kind(type), name, nset, ndel);
    }
    return CLI_EXIT_OK;
}

int cli_cmd_config(cli_ctx_t *ctx, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "get") == 0)
        return config_get(ctx, argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "set") == 0 || strcmp(argv[0], "alter") == 0))
        return config_set(ctx, argc - 1, argv + 1);
    cli_usage_error("config needs a subcommand: get or set");
}
