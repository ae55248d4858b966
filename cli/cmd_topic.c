/*
 * eddyctl topic create|list|describe|alter|add-partitions|delete.
 * CreateTopics, Metadata (+ ListOffsets and DescribeConfigs for describe),
 * IncrementalAlterConfigs, CreatePartitions and DeleteTopics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eddyctl.h"
#include "protocol/kafka_errors.h"

#define MAX_CONFIG_ARGS 256

static int cmp_str(const void *a, const void *b)
{
    const proto_metadata_resp_topic_t *x = *(const proto_metadata_resp_topic_t *const *)a;
    const proto_metadata_resp_topic_t *y = *(const proto_metadata_resp_topic_t *const *)b;
    int32_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = n > 0 ? memcmp(x->name.ptr, y->name.ptr, (size_t)n) : 0;
    return c ? c : (x->name.len > y->name.len) - (x->name.len < y->name.len);
}

static int cmp_partition(const void *a, const void *b)
{
    const proto_metadata_resp_partition_t *x = a, *y = b;
    return (x->partition_index > y->partition_index) - (x->partition_index < y->partition_index);
}

/* "1,2,3" for a list of broker ids (static storage per slot). */
static const char *ids_str(const proto_arr_int32_t *ids, int slot)
{
    static char out[3][256];
    char *s = out[slot];
    size_t o = 0;
    s[0] = '\0';
    for (int32_t i = 0; i < ids->n && o < sizeof(out[0]) - 16; i++)
        o += (size_t)snprintf(s + o, sizeof(out[0]) - o, "%s%d", i ? "," : "", ids->items[i]);
    return s;
}

static void json_ids(cli_json_t *js, const char *key, const proto_arr_int32_t *ids)
{
    cli_json_key(js, key);
    cli_json_arr_begin(js);
    for (int32_t i = 0; i < ids->n; i++)
        cli_json_int(js, ids->items[i]);
    cli_json_arr_end(js);
}

/* --- create ------------------------------------------------------------ */

static int topic_create(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *name = NULL, *v;
    int32_t partitions = -1;
    int16_t rf = -1;
    bool validate_only = false;
    const char *keys[MAX_CONFIG_ARGS], *vals[MAX_CONFIG_ARGS];
    int nconf = 0;
    for (int i = 0; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--partitions", &v))
            partitions = (int32_t)cli_parse_int(v, 1, 1000000, "--partitions");
        else if (cli_opt(argc, argv, &i, "--replication-factor", &v))
            rf = (int16_t)cli_parse_int(v, 1, 32767, "--replication-factor");
        else if (cli_opt(argc, argv, &i, "--config", &v)) {
            if (nconf == MAX_CONFIG_ARGS)
                cli_usage_error("too many --config options");
            cli_split_kv((char *)(uintptr_t)v, &keys[nconf], &vals[nconf]);
            nconf++;
        } else if (strcmp(argv[i], "--validate-only") == 0 || strcmp(argv[i], "--dry-run") == 0)
            validate_only = true;
        else if (argv[i][0] == '-')
            cli_usage_error("unknown option %s for topic create", argv[i]);
        else if (!name)
            name = argv[i];
        else
            cli_usage_error("topic create takes one topic name ('%s' is extra)", argv[i]);
    }
    if (!name)
        cli_usage_error("topic create needs a topic name");
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    cli_conn_t *conn = &ctx->conn;
    int16_t ver = cli_api_version(conn, CLI_API_CREATE_TOPICS);
    if (ver < 0)
        return cli_unsupported(ctx, CLI_API_CREATE_TOPICS, "creating topics");
    /* Before v4, -1 (the broker's default) is not allowed. */
    if (ver < 4 && partitions < 0)
        partitions = 1;
    if (ver < 4 && rf < 0)
        rf = 1;

    proto_create_topics_req_t req;
    proto_msg_init(&proto_create_topics_req_desc, ver, &req);
    req.timeout_ms = ctx->timeout_ms;
    req.validate_only = validate_only;
    CLI_ARRAY(conn, req.topics, proto_create_topics_req_desc, "topics", ver, 1);
    proto_create_topics_req_topic_t *t = &req.topics.items[0];
    t->name = proto_str_c(name);
    t->num_partitions = partitions;
    t->replication_factor = rf;
    CLI_ARRAY(conn, t->configs, proto_create_topics_req_desc, "topics.configs", ver, nconf);
    for (int i = 0; i < nconf; i++) {
        t->configs.items[i].name = proto_str_c(keys[i]);
        t->configs.items[i].value = proto_str_c(vals[i]);
    }
    proto_create_topics_resp_t resp;
    if (cli_call(conn, CLI_API_CREATE_TOPICS, ver, &req, &resp) != 0)
        return cli_request_failed(ctx);
    if (resp.topics.n < 1)
        return cli_fail("the broker did not answer for topic %s", name);
    const proto_create_topics_resp_topic_t *rt = &resp.topics.items[0];
    if (rt->error_code != KERR_NONE)
        return cli_fail("cannot create topic %s: %s", name, cli_kafka_error(rt->error_code, rt->error_message));
    int32_t np = ver >= 5 ? rt->num_partitions : partitions;
    int16_t nrf = ver >= 5 ? rt->replication_factor : rf;
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "topic", name);
        if (ver >= 7)
            cli_json_kstr(&js, "topic_id", cli_uuid_str(&rt->topic_id));
        cli_json_kint(&js, "partitions", np);
        cli_json_kint(&js, "replication_factor", nrf);
        cli_json_kbool(&js, "validate_only", validate_only);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
    } else {
        printf("%s topic %s", validate_only ? "validated (not created)" : "created", name);
        if (np > 0)
            printf(" with %d partition%s", np, np == 1 ? "" : "s");
        if (nrf > 0)
            printf(", replication factor %d", nrf);
        printf("\n");
    }
    return CLI_EXIT_OK;
}

/* --- list -------------------------------------------------------------- */

static int topic_list(cli_ctx_t *ctx, int argc, char **argv)
{
    bool all = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0 || strcmp(argv[i], "-a") == 0)
            all = true;
        else
            cli_usage_error("unexpected '%s' for topic list (it takes only --all)", argv[i]);
    }
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    proto_metadata_resp_t md;
    if ((rc = cli_metadata(ctx, NULL, -1, &md)) != 0)
        return rc;
    const proto_metadata_resp_topic_t **sorted = cli_alloc(&ctx->conn, (size_t)md.topics.n, sizeof(*sorted));
    int32_t n = 0;
    for (int32_t i = 0; i < md.topics.n; i++) {
        const proto_metadata_resp_topic_t *t = &md.topics.items[i];
        bool internal = t->is_internal || (t->name.len > 2 && t->name.ptr[0] == '_' && t->name.ptr[1] == '_');
        if (internal && !all)
            continue;
        sorted[n++] = t;
    }
    if (n > 1)
        qsort(sorted, (size_t)n, sizeof(*sorted), cmp_str);
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_key(&js, "topics");
        cli_json_arr_begin(&js);
        for (int32_t i = 0; i < n; i++) {
            const proto_metadata_resp_topic_t *t = sorted[i];
            cli_json_obj_begin(&js);
            cli_json_key(&js, "name");
            cli_json_strn(&js, (const char *)t->name.ptr, t->name.len);
            cli_json_kstr(&js, "topic_id", cli_uuid_str(&t->topic_id));
            cli_json_kint(&js, "partitions", t->partitions.n);
            cli_json_kint(&js, "replication_factor", t->partitions.n > 0 ? t->partitions.items[0].replica_nodes.n : 0);
            cli_json_kbool(&js, "internal", t->is_internal);
            cli_json_kint(&js, "error_code", t->error_code);
            cli_json_obj_end(&js);
        }
        cli_json_arr_end(&js);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
        return CLI_EXIT_OK;
    }
    static const char *const head[] = {"TOPIC", "PARTITIONS", "REPLICAS", "INTERNAL"};
    cli_table_t tab;
    cli_table_init(&tab, all ? 4 : 3, head);
    for (int32_t i = 0; i < n; i++) {
        const proto_metadata_resp_topic_t *t = sorted[i];
        cli_table_cell(&tab, "%.*s", (int)t->name.len, (const char *)t->name.ptr);
        cli_table_cell(&tab, "%d", t->partitions.n);
        cli_table_cell(&tab, "%d", t->partitions.n > 0 ? t->partitions.items[0].replica_nodes.n : 0);
        if (all)
            cli_table_cell(&tab, "%s", t->is_internal ? "yes" : "no");
    }
    if (n == 0)
        printf("no topics%s\n", all ? "" : " (internal topics are shown with --all)");
    else
        cli_table_print(&tab, stdout);
    cli_table_fini(&tab);
    return CLI_EXIT_OK;
}

/* --- describe ---------------------------------------------------------- */

/* The topic's metadata, or a reported failure. */
static int metadata_one(cli_ctx_t *ctx, const char *name, proto_metadata_resp_topic_t **out)
{
    proto_metadata_resp_t *md = cli_alloc(&ctx->conn, 1, sizeof(*md));
    const char *names[1] = {name};
    int rc = cli_metadata(ctx, names, 1, md);
    if (rc)
        return rc;
    for (int32_t i = 0; i < md->topics.n; i++) {
        proto_metadata_resp_topic_t *t = &md->topics.items[i];
        if (cli_str_eq(t->name, name)) {
            if (t->error_code != KERR_NONE)
                return cli_fail("topic %s: %s", name, cli_kafka_error(t->error_code, proto_str_c(NULL)));
            if (t->partitions.n > 1)
                qsort(t->partitions.items, (size_t)t->partitions.n, sizeof(*t->partitions.items), cmp_partition);
            *out = t;
            return 0;
        }
    }
    return cli_fail("the broker did not answer for topic %s", name);
}

static int topic_describe(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *name = NULL;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-')
            cli_usage_error("unknown option %s for topic describe", argv[i]);
        else if (!name)
            name = argv[i];
        else
            cli_usage_error("topic describe takes one topic name ('%s' is extra)", argv[i]);
    }
    if (!name)
        cli_usage_error("topic describe needs a topic name");
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    cli_conn_t *conn = &ctx->conn;
    proto_metadata_resp_topic_t *t = NULL;
    if ((rc = metadata_one(ctx, name, &t)) != 0)
        return rc;
    int32_t np = t->partitions.n;
    int32_t *parts = cli_alloc(conn, (size_t)np, sizeof(int32_t));
    int64_t *earliest = cli_alloc(conn, (size_t)np, sizeof(int64_t));
    int64_t *latest = cli_alloc(conn, (size_t)np, sizeof(int64_t));
    int16_t *eerr = cli_alloc(conn, (size_t)np, sizeof(int16_t));
    int16_t *lerr = cli_alloc(conn, (size_t)np, sizeof(int16_t));
    for (int32_t i = 0; i < np; i++)
        parts[i] = t->partitions.items[i].partition_index;
    if ((rc = cli_list_offsets(ctx, name, parts, np, -2, earliest, eerr)) != 0 ||
        (rc = cli_list_offsets(ctx, name, parts, np, -1, latest, lerr)) != 0)
        return rc;

    /* Configs set on the topic (all of them with --verbose), when the broker can say. */
    cli_config_t *cfg = NULL;
    int32_t ncfg = 0;
    bool have_cfg = cli_configs_describable(ctx);
    if (have_cfg && cli_describe_configs(ctx, CLI_RESOURCE_TOPIC, name, NULL, 0, &cfg, &ncfg) != 0)
        have_cfg = false; /* already reported; the rest is still worth showing */

    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "name", name);
        cli_json_kstr(&js, "topic_id", cli_uuid_str(&t->topic_id));
        cli_json_kbool(&js, "internal", t->is_internal);
        cli_json_key(&js, "partitions");
        cli_json_arr_begin(&js);
        for (int32_t i = 0; i < np; i++) {
            const proto_metadata_resp_partition_t *p = &t->partitions.items[i];
            cli_json_obj_begin(&js);
            cli_json_kint(&js, "partition", p->partition_index);
            cli_json_kint(&js, "leader", p->leader_id);
            cli_json_kint(&js, "leader_epoch", p->leader_epoch);
            json_ids(&js, "replicas", &p->replica_nodes);
            json_ids(&js, "isr", &p->isr_nodes);
            json_ids(&js, "offline_replicas", &p->offline_replicas);
            cli_json_kint(&js, "earliest_offset", earliest[i]);
            cli_json_kint(&js, "latest_offset", latest[i]);
            cli_json_kint(&js, "error_code", p->error_code != KERR_NONE ? p->error_code : lerr[i]);
            cli_json_obj_end(&js);
        }
        cli_json_arr_end(&js);
        if (have_cfg) {
            cli_json_key(&js, "configs");
            cli_json_arr_begin(&js);
            for (int32_t i = 0; i < ncfg; i++) {
                cli_json_obj_begin(&js);
                cli_json_kstr(&js, "name", cfg[i].name);
                cli_json_kstr(&js, "value", cfg[i].value);
                cli_json_kstr(&js, "source", cli_config_source_name(cfg[i].source));
                cli_json_kbool(&js, "read_only", cfg[i].read_only);
                cli_json_kbool(&js, "sensitive", cfg[i].sensitive);
                cli_json_obj_end(&js);
            }
            cli_json_arr_end(&js);
        }
        cli_json_obj_end(&js);
        cli_json_finish(&js);
        return CLI_EXIT_OK;
    }

    printf("Topic: %s\tTopicId: %s\tPartitions: %d\tReplicationFactor: %d%s\n", name, cli_uuid_str(&t->topic_id), np,
           np > 0 ? t->partitions.items[0].replica_nodes.n : 0, t->is_internal ? "\tInternal" : "");
    if (have_cfg) {
        int shown = 0;
        for (int32_t i = 0; i < ncfg; i++) {
            /* DYNAMIC_TOPIC_CONFIG (1): what was set on this topic. */
            if (!ctx->verbose && cfg[i].source != 1)
                continue;
            printf("%s%s=%s", shown++ ? "," : "Configs: ", cfg[i].name, cfg[i].value ? cfg[i].value : "(null)");
        }
        printf(shown ? "\n" : "Configs: (none set on the topic; `eddyctl config get topic %s` shows all)\n", name);
    }
    static const char *const head[] = {"PARTITION", "LEADER", "REPLICAS", "ISR", "EARLIEST", "LATEST", "ERROR"};
    cli_table_t tab;
    cli_table_init(&tab, 7, head);
    for (int32_t i = 0; i < np; i++) {
        const proto_metadata_resp_partition_t *p = &t->partitions.items[i];
        cli_table_cell(&tab, "%d", p->partition_index);
        cli_table_cell(&tab, "%d", p->leader_id);
        cli_table_cell(&tab, "%s", ids_str(&p->replica_nodes, 0));
        cli_table_cell(&tab, "%s", ids_str(&p->isr_nodes, 1));
        cli_table_cell(&tab, "%lld", (long long)earliest[i]);
        cli_table_cell(&tab, "%lld", (long long)latest[i]);
        int16_t e = p->error_code != KERR_NONE ? p->error_code : lerr[i] != KERR_NONE ? lerr[i] : eerr[i];
        cli_table_cell(&tab, "%s", e == KERR_NONE ? "-" : proto_kafka_error_name(e));
    }
    cli_table_print(&tab, stdout);
    cli_table_fini(&tab);
    return CLI_EXIT_OK;
}

/* --- alter ------------------------------------------------------------- */

static int topic_alter(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *name = NULL, *v;
    const char *keys[MAX_CONFIG_ARGS], *vals[MAX_CONFIG_ARGS], *dels[MAX_CONFIG_ARGS];
    int nset = 0, ndel = 0;
    for (int i = 0; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--config", &v)) {
            if (nset == MAX_CONFIG_ARGS)
                cli_usage_error("too many --config options");
            cli_split_kv((char *)(uintptr_t)v, &keys[nset], &vals[nset]);
            nset++;
        } else if (cli_opt(argc, argv, &i, "--delete-config", &v)) {
            if (ndel == MAX_CONFIG_ARGS)
                cli_usage_error("too many --delete-config options");
            dels[ndel++] = v;
        } else if (argv[i][0] == '-')
            cli_usage_error("unknown option %s for topic alter", argv[i]);
        else if (!name)
            name = argv[i];
        else
            cli_usage_error("topic alter takes one topic name ('%s' is extra)", argv[i]);
    }
    if (!name)
        cli_usage_error("topic alter needs a topic name");
    if (nset + ndel == 0)
        cli_usage_error("topic alter needs --config K=V or --delete-config K");
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    if ((rc = cli_alter_configs(ctx, CLI_RESOURCE_TOPIC, name, keys, vals, nset, dels, ndel)) != 0)
        return rc;
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "topic", name);
        cli_json_kint(&js, "set", nset);
        cli_json_kint(&js, "deleted", ndel);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
    } else {
        printf("altered topic %s: %d set, %d deleted\n", name, nset, ndel);
    }
    return CLI_EXIT_OK;
}

/* --- add-partitions ---------------------------------------------------- */

static int topic_add_partitions(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *name = NULL, *v;
    int32_t total = -1;
    bool validate_only = false;
    for (int i = 0; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--total", &v) || cli_opt(argc, argv, &i, "--partitions", &v))
            total = (int32_t)cli_parse_int(v, 1, 1000000, "--total");
        else if (strcmp(argv[i], "--validate-only") == 0 || strcmp(argv[i], "--dry-run") == 0)
            validate_only = true;
        else if (argv[i][0] == '-')
            cli_usage_error("unknown option %s for topic add-partitions", argv[i]);
        else if (!name)
            name = argv[i];
        else
            cli_usage_error("topic add-partitions takes one topic name ('%s' is extra)", argv[i]);
    }
    if (!name || total < 0)
        cli_usage_error("usage: topic add-partitions NAME --total N (N: the new partition count)");
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
#ifdef EDDYCTL_HAVE_CREATE_PARTITIONS
    cli_conn_t *conn = &ctx->conn;
    int16_t ver = cli_api_version(conn, CLI_API_CREATE_PARTITIONS);
    if (ver < 0)
        return cli_unsupported(ctx, CLI_API_CREATE_PARTITIONS, "adding partitions");
    proto_create_partitions_req_t req;
    proto_msg_init(&proto_create_partitions_req_desc, ver, &req);
    req.timeout_ms = ctx->timeout_ms;
    req.validate_only = validate_only;
    CLI_ARRAY(conn, req.topics, proto_create_partitions_req_desc, "topics", ver, 1);
    req.topics.items[0].name = proto_str_c(name);
    req.topics.items[0].count = total;
    req.topics.items[0].assignments.n = -1; /* the broker places them */
    req.topics.items[0].assignments.items = NULL;
    proto_create_partitions_resp_t resp;
    if (cli_call(conn, CLI_API_CREATE_PARTITIONS, ver, &req, &resp) != 0)
        return cli_request_failed(ctx);
    if (resp.results.n < 1)
        return cli_fail("the broker did not answer for topic %s", name);
    if (resp.results.items[0].error_code != KERR_NONE)
        return cli_fail("cannot add partitions to %s: %s", name,
                        cli_kafka_error(resp.results.items[0].error_code, resp.results.items[0].error_message));
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "topic", name);
        cli_json_kint(&js, "partitions", total);
        cli_json_kbool(&js, "validate_only", validate_only);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
    } else {
        printf("%s topic %s to %d partitions\n", validate_only ? "validated growing" : "grew", name, total);
    }
    return CLI_EXIT_OK;
#else
    (void)validate_only;
    return cli_fail("this eddyctl was built before eddy's protocol module had CreatePartitions; rebuild it");
#endif
}

/* --- delete ------------------------------------------------------------ */

static int topic_delete(cli_ctx_t *ctx, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (argv[i][0] == '-')
            cli_usage_error("unknown option %s for topic delete", argv[i]);
    if (argc == 0)
        cli_usage_error("topic delete needs at least one topic name");
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    cli_conn_t *conn = &ctx->conn;
    int16_t ver = cli_api_version(conn, CLI_API_DELETE_TOPICS);
    if (ver < 0)
        return cli_unsupported(ctx, CLI_API_DELETE_TOPICS, "deleting topics");
    proto_delete_topics_req_t req;
    proto_msg_init(&proto_delete_topics_req_desc, ver, &req);
    req.timeout_ms = ctx->timeout_ms;
    if (ver >= 6) {
        CLI_ARRAY(conn, req.topics, proto_delete_topics_req_desc, "topics", ver, argc);
        for (int i = 0; i < argc; i++)
            req.topics.items[i].name = proto_str_c(argv[i]);
    } else {
        CLI_ARRAY(conn, req.topic_names, proto_delete_topics_req_desc, "topic_names", ver, argc);
        for (int i = 0; i < argc; i++)
            req.topic_names.items[i] = proto_str_c(argv[i]);
    }
    proto_delete_topics_resp_t resp;
    if (cli_call(conn, CLI_API_DELETE_TOPICS, ver, &req, &resp) != 0)
        return cli_request_failed(ctx);
    cli_results_t res;
    cli_results_begin(&res, ctx, "topics", "topic", "delete");
    for (int32_t i = 0; i < resp.responses.n; i++) {
        const proto_delete_topics_resp_result_t *r = &resp.responses.items[i];
        cli_results_add(&res, r->name, r->error_code, r->error_message);
    }
    return cli_results_end(&res, argc);
}

int cli_cmd_topic(cli_ctx_t *ctx, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(cli_ctx_t *ctx, int argc, char **argv);
    } subs[] = {
        {"create", topic_create},     {"list", topic_list},   {"ls", topic_list},
        {"describe", topic_describe}, {"alter", topic_alter}, {"add-partitions", topic_add_partitions},
        {"delete", topic_delete},     {"rm", topic_delete},
    };
    if (argc < 1)
        cli_usage_error("topic needs a subcommand: create, list, describe, alter, add-partitions, delete");
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (strcmp(argv[0], subs[i].name) == 0)
            return subs[i].run(ctx, argc - 1, argv + 1);
    cli_usage_error("unknown topic subcommand '%s' (create, list, describe, alter, add-partitions, delete)", argv[0]);
}
