/*
 * eddyctl cluster info: Metadata without topics (cluster id, controller,
 * brokers) and, with --verbose, the ApiVersions ranges learned at connect
 * beside the versions eddyctl would use.
 */
#include <stdio.h>
#include <string.h>

#include "cli/eddyctl.h"

static int cluster_info(cli_ctx_t *ctx, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        cli_usage_error("unexpected '%s' for cluster info", argv[i]);
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    cli_conn_t *conn = &ctx->conn;
    proto_metadata_resp_t md;
    if ((rc = cli_metadata(ctx, NULL, 0, &md)) != 0)
        return rc;
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_key(&js, "cluster_id");
        cli_json_strn(&js, (const char *)md.cluster_id.ptr, md.cluster_id.len);
        cli_json_kint(&js, "controller_id", md.controller_id);
        cli_json_kstr(&js, "bootstrap", conn->addr);
        cli_json_key(&js, "brokers");
        cli_json_arr_begin(&js);
        for (int32_t i = 0; i < md.brokers.n; i++) {
            const proto_metadata_resp_broker_t *b = &md.brokers.items[i];
            cli_json_obj_begin(&js);
            cli_json_kint(&js, "node_id", b->node_id);
            cli_json_key(&js, "host");
            cli_json_strn(&js, (const char *)b->host.ptr, b->host.len);
            cli_json_kint(&js, "port", b->port);
            cli_json_key(&js, "rack");
            cli_json_strn(&js, (const char *)b->rack.ptr, b->rack.len);
            cli_json_obj_end(&js);
        }
        cli_json_arr_end(&js);
        if (ctx->verbose) {
            cli_json_key(&js, "api_versions");
            cli_json_arr_begin(&js);
            for (int16_t k = 0; k < CLI_MAX_API_KEY; k++) {
                cli_api_range_t r = conn->broker_apis[k];
                if (r.max < 0)
                    continue;
                const proto_api_desc_t *api = proto_api_find(k);
                cli_json_obj_begin(&js);
                cli_json_kint(&js, "api_key", k);
                cli_json_kstr(&js, "name", api ? api->name : NULL);
                cli_json_kint(&js, "min_version", r.min);
                cli_json_kint(&js, "max_version", r.max);
                cli_json_key(&js, "eddyctl_version");
                int16_t use = cli_api_version(conn, k);
                use >= 0 ? cli_json_int(&js, use) : cli_json_null(&js);
                cli_json_obj_end(&js);
            }
            cli_json_arr_end(&js);
        }
        cli_json_obj_end(&js);
        cli_json_finish(&js);
        return CLI_EXIT_OK;
    }
    printf("Cluster ID: %.*s\n", (int)(md.cluster_id.len > 0 ? md.cluster_id.len : 0), (const char *)md.cluster_id.ptr);
    printf("Controller: %d\n", md.controller_id);
    static const char *const head[] = {"ID", "HOST", "PORT", "RACK", ""};
    cli_table_t tab;
    cli_table_init(&tab, 5, head);
    for (int32_t i = 0; i < md.brokers.n; i++) {
        const proto_metadata_resp_broker_t *b = &md.brokers.items[i];
        cli_table_cell(&tab, "%d", b->node_id);
        cli_table_cell(&tab, "%.*s", (int)(b->host.len > 0 ? b->host.len : 0), (const char *)b->host.ptr);
        cli_table_cell(&tab, "%d", b->port);
        cli_table_cell(&tab, "%s", b->rack.len > 0 ? cli_str(conn, b->rack) : "-");
        cli_table_cell(&tab, "%s", b->node_id == md.controller_id ? "(controller)" : "");
    }
    cli_table_print(&tab, stdout);
    if (ctx->verbose) {
        printf("\nAPI versions offered by %s (ApiVersions v%d):\n", conn->addr, conn->api_versions_version);
        static const char *const vhead[] = {"KEY", "NAME", "BROKER", "EDDYCTL-USES"};
        cli_table_t vt;
        cli_table_init(&vt, 4, vhead);
        for (int16_t k = 0; k < CLI_MAX_API_KEY; k++) {
            cli_api_range_t r = conn->broker_apis[k];
            if (r.max < 0)
                continue;
            const proto_api_desc_t *api = proto_api_find(k);
            int16_t use = cli_api_version(conn, k);
            cli_table_cell(&vt, "%d", k);
            cli_table_cell(&vt, "%s", api ? api->name : "-");
            cli_table_cell(&vt, "%d-%d", r.min, r.max);
            if (use >= 0)
                cli_table_cell(&vt, "v%d", use);
            else
                cli_table_cell(&vt, "-");
        }
        cli_table_print(&vt, stdout);
        cli_table_fini(&vt);
    }
    cli_table_fini(&tab);
    return CLI_EXIT_OK;
}

int cli_cmd_cluster(cli_ctx_t *ctx, int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "info") == 0 || strcmp(argv[0], "describe") == 0))
        return cluster_info(ctx, argc - 1, argv + 1);
    cli_usage_error("cluster needs a subcommand: info");
}
