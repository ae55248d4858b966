#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eddyctl.h"
#include "protocol/kafka_errors.h"

int cli_connect(cli_ctx_t *ctx)
{
    if (ctx->connected)
        return CLI_EXIT_OK;
    int rc = cli_conn_open(&ctx->conn, ctx->bootstrap, ctx->timeout_ms);
    if (rc != CLI_EXIT_OK) {
        fprintf(stderr, "eddyctl: %s\n", ctx->conn.err);
        return rc;
    }
    ctx->connected = true;
    return CLI_EXIT_OK;
}

/* --- arguments --------------------------------------------------------- */

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("eddyctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(run `eddyctl --help` for usage)\n", stderr);
    exit(CLI_EXIT_USAGE);
}

bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    if (*i + 1 >= argc)
        cli_usage_error("%s needs a value", name);
    *value = argv[++*i];
    return true;
}

int64_t cli_parse_int(const char *s, int64_t min, int64_t max, const char *what)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        cli_usage_error("%s must be a whole number from %lld to %lld, not '%s'", what, (long long)min, (long long)max,
                        s);
    return v;
}

void cli_split_kv(char *s, const char **key, const char **value)
{
    char *eq = strchr(s, '=');
    if (!eq || eq == s)
        cli_usage_error("expected key=value, not '%s'", s);
    *eq = '\0';
    *key = s;
    *value = eq + 1;
}

/* --- reporting --------------------------------------------------------- */

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("eddyctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAILED;
}

int cli_request_failed(cli_ctx_t *ctx)
{
    return cli_fail("%s", ctx->conn.err);
}

int cli_unsupported(cli_ctx_t *ctx, int16_t key, const char *what)
{
    cli_api_range_t r = key >= 0 && key < CLI_MAX_API_KEY ? ctx->conn.broker_apis[key] : (cli_api_range_t){-1, -1};
    if (r.max < 0)
        return cli_fail("%s needs API %d, which the broker at %s does not offer (see `eddyctl cluster info "
                        "--verbose`)",
                        what, key, ctx->conn.addr);
    return cli_fail("%s needs API %d; the broker offers versions %d-%d, which this eddyctl cannot speak", what, key,
                    r.min, r.max);
}

static const char *error_hint(int16_t code)
{
    switch (code) {
    case KERR_UNKNOWN_TOPIC_OR_PARTITION: return "see `eddyctl topic list`";
    case KERR_TOPIC_ALREADY_EXISTS: return "pick another name, or `eddyctl topic delete` it first";
    case KERR_INVALID_PARTITIONS:
        return "a topic needs at least 1 partition, and partitions can be added but not removed";
    case KERR_INVALID_REPLICATION_FACTOR: return "a single eddy broker can only hold replication factor 1";
    case KERR_INVALID_CONFIG: return "see the README's list of topic configs";
    case KERR_NON_EMPTY_GROUP: return "the group still has members: stop its consumers first";
    case KERR_GROUP_ID_NOT_FOUND: return "see `eddyctl group list`";
    case KERR_COORDINATOR_LOAD_IN_PROGRESS: return "the broker is still loading groups: retry in a moment";
    case KERR_UNKNOWN_MEMBER_ID:
    case KERR_ILLEGAL_GENERATION:
    case KERR_REBALANCE_IN_PROGRESS: return "the group is active: stop its consumers first";
    case KERR_TOPIC_DELETION_DISABLED: return "the broker runs with delete.topic.enable=false";
    default: return NULL;
    }
}

const char *cli_kafka_error(int16_t code, proto_str_t message)
{
    static char out[768];
    const char *name = proto_kafka_error_name(code);
    int n;
    if (strcmp(name, "UNKNOWN") == 0)
        n = snprintf(out, sizeof(out), "Kafka error %d", code);
    else
        n = snprintf(out, sizeof(out), "%s", name);
    if (message.len > 0 && message.ptr && n >= 0 && (size_t)n < sizeof(out))
        n += snprintf(out + n, sizeof(out) - (size_t)n, ": %.*s", (int)(message.len > 400 ? 400 : message.len),
                      (const char *)message.ptr);
    const char *hint = error_hint(code);
    if (hint && n >= 0 && (size_t)n < sizeof(out))
        snprintf(out + n, sizeof(out) - (size_t)n, " (%s)", hint);
    return out;
}

const char *cli_uuid_str(const proto_uuid_t *id)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static char out[32];
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 16; i++) {
        acc = acc << 8 | id->b[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return out;
}

bool cli_str_eq(proto_str_t a, const char *b)
{
    return a.len >= 0 && (size_t)a.len == strlen(b) && (a.len == 0 || memcmp(a.ptr, b, (size_t)a.len) == 0);
}

/* --- shared requests ----------------------------------------------------- */

int cli_metadata(cli_ctx_t *ctx, const char *const *topics, int ntopics, proto_metadata_resp_t *resp)
{
    cli_conn_t *conn = &ctx->conn;
    int16_t v = cli_api_version(conn, CLI_API_METADATA);
    if (v < 0)
        return cli_unsupported(ctx, CLI_API_METADATA, "reading metadata");
    if (v == 0 && ntopics == 0)
        ntopics = -1; /* v0 cannot ask for no topics (an empty list means all): ask for all */
    proto_metadata_req_t req;
    proto_msg_init(&proto_metadata_req_desc, v, &req);
    req.allow_auto_topic_creation = false;
    if (ntopics < 0) {
        req.topics.n = v >= 1 ? -1 : 0;
        req.topics.items = NULL;
    } else {
        CLI_ARRAY(conn, req.topics, proto_metadata_req_desc, "topics", v, ntopics);
        for (int i = 0; i < ntopics; i++)
            req.topics.items[i].name = proto_str_c(topics[i]);
    }
    if (cli_call(conn, CLI_API_METADATA, v, &req, resp) != 0)
        return cli_request_failed(ctx);
    return 0;
}

int cli_list_offsets(cli_ctx_t *ctx, const char *topic, const int32_t *parts, int32_t nparts, int64_t timestamp,
                     int64_t *offsets, int16_t *errs)
{
    cli_conn_t *conn = &ctx->conn;
    int16_t v = cli_api_version(conn, CLI_API_LIST_OFFSETS);
    if (v < 0)
        return cli_unsupported(ctx, CLI_API_LIST_OFFSETS, "reading offsets");
    for (int32_t i = 0; i < nparts; i++) {
        offsets[i] = -1;
        errs[i] = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (nparts == 0)
        return 0;
    proto_list_offsets_req_t req;
    proto_msg_init(&proto_list_offsets_req_desc, v, &req);
    req.replica_id = -1;
    req.isolation_level = 0; /* read_uncommitted: the high watermark, as consumer lag tools use */
    CLI_ARRAY(conn, req.topics, proto_list_offsets_req_desc, "topics", v, 1);
    req.topics.items[0].name = proto_str_c(topic);
    CLI_ARRAY(conn, req.topics.items[0].partitions, proto_list_offsets_req_desc, "topics.partitions", v, nparts);
    for (int32_t i = 0; i < nparts; i++) {
        req.topics.items[0].partitions.items[i].partition_index = parts[i];
        req.topics.items[0].partitions.items[i].current_leader_epoch = -1;
        req.topics.items[0].partitions.items[i].timestamp = timestamp;
    }
    proto_list_offsets_resp_t resp;
    if (cli_call(conn, CLI_API_LIST_OFFSETS, v, &req, &resp) != 0)
        return cli_request_failed(ctx);
    for (int32_t t = 0; t < resp.topics.n; t++) {
        const proto_list_offsets_resp_topic_t *rt = &resp.topics.items[t];
        if (!cli_str_eq(rt->name, topic))
            continue;
        for (int32_t p = 0; p < rt->partitions.n; p++) {
            const proto_list_offsets_resp_partition_t *rp = &rt->partitions.items[p];
            for (int32_t i = 0; i < nparts; i++) {
                if (parts[i] == rp->partition_index) {
                    offsets[i] = rp->error_code == KERR_NONE ? rp->offset : -1;
                    errs[i] = rp->error_code;
                }
            }
        }
    }
    return 0;
}

int cli_offset_fetch(cli_ctx_t *ctx, const char *group, const char *topic, cli_committed_t **out, int32_t *n)
{
    cli_conn_t *conn = &ctx->conn;
    int16_t v = cli_api_version(conn, CLI_API_OFFSET_FETCH);
    if (v < 0)
        return cli_unsupported(ctx, CLI_API_OFFSET_FETCH, "reading committed offsets");
    if (v < 2 && !topic)
        return cli_fail("the broker only offers OffsetFetch v%d, which cannot list all of a group's offsets", v);
    proto_offset_fetch_req_t req;
    proto_msg_init(&proto_offset_fetch_req_desc, v, &req);
    /*
     * All topics (null), or one topic by its partitions: the partitions are
     * not known here, so one topic is asked as all and filtered below.
     */
    if (v >= 8) {
        CLI_ARRAY(conn, req.groups, proto_offset_fetch_req_desc, "groups", v, 1);
        req.groups.items[0].group_id = proto_str_c(group);
        req.groups.items[0].member_id = proto_str_c(NULL);
        req.groups.items[0].member_epoch = -1;
        req.groups.items[0].topics.n = -1;
        req.groups.items[0].topics.items = NULL;
    } else {
        req.group_id = proto_str_c(group);
        req.topics.n = -1;
        req.topics.items = NULL;
    }
    req.require_stable = false;
    proto_offset_fetch_resp_t resp;
    if (cli_call(conn, CLI_API_OFFSET_FETCH, v, &req, &resp) != 0)
        return cli_request_failed(ctx);

    int32_t cap = 0;
    int16_t group_err = KERR_NONE;
    if (v >= 8) {
        for (int32_t g = 0; g < resp.groups.n; g++) {
            if (resp.groups.items[g].error_code != KERR_NONE)
                group_err = resp.groups.items[g].error_code;
            for (int32_t t = 0; t < resp.groups.items[g].topics.n; t++)
                cap += resp.groups.items[g].topics.items[t].partitions.n;
        }
    } else {
        group_err = resp.error_code;
        for (int32_t t = 0; t < resp.topics.n; t++)
            cap += resp.topics.items[t].partitions.n;
    }
    if (group_err != KERR_NONE)
        return cli_fail("cannot read the offsets of group %s: %s", group,
                        cli_kafka_error(group_err, proto_str_c(NULL)));
    cli_committed_t *c = cli_alloc(conn, (size_t)cap, sizeof(*c));
    int32_t k = 0;
    if (v >= 8) {
        for (int32_t g = 0; g < resp.groups.n; g++) {
            for (int32_t t = 0; t < resp.groups.items[g].topics.n; t++) {
                const proto_offset_fetch_resp_group_topic_t *rt = &resp.groups.items[g].topics.items[t];
                if (topic && !cli_str_eq(rt->name, topic))
                    continue;
                for (int32_t p = 0; p < rt->partitions.n && k < cap; p++, k++) {
                    c[k].topic = cli_str(conn, rt->name);
                    c[k].partition = rt->partitions.items[p].partition_index;
                    c[k].offset = rt->partitions.items[p].committed_offset;
                    c[k].error_code = rt->partitions.items[p].error_code;
                }
            }
        }
    } else {
        for (int32_t t = 0; t < resp.topics.n; t++) {
            const proto_offset_fetch_resp_topic_t *rt = &resp.topics.items[t];
            if (topic && !cli_str_eq(rt->name, topic))
                continue;
            for (int32_t p = 0; p < rt->partitions.n && k < cap; p++, k++) {
                c[k].topic = cli_str(conn, rt->name);
                c[k].partition = rt->partitions.items[p].partition_index;
                c[k].offset = rt->partitions.items[p].committed_offset;
                c[k].error_code = rt->partitions.items[p].error_code;
            }
        }
    }
    *out = c;
    *n = k;
    return 0;
}

int cli_describe_group(cli_ctx_t *ctx, const char *group, proto_describe_groups_resp_group_t **out)
{
    cli_conn_t *conn = &ctx->conn;
    int16_t v = cli_api_version(conn, CLI_API_DESCRIBE_GROUPS);
    if (v < 0)
        return cli_unsupported(ctx, CLI_API_DESCRIBE_GROUPS, "describing groups");
    proto_describe_groups_req_t req;
    proto_msg_init(&proto_describe_groups_req_desc, v, &req);
    CLI_ARRAY(conn, req.groups, proto_describe_groups_req_desc, "groups", v, 1);
    req.groups.items[0] = proto_str_c(group);
    proto_describe_groups_resp_t *resp = cli_alloc(conn, 1, sizeof(*resp));
    if (cli_call(conn, CLI_API_DESCRIBE_GROUPS, v, &req, resp) != 0)
        return cli_request_failed(ctx);
    for (int32_t i = 0; i < resp->groups.n; i++) {
        proto_describe_groups_resp_group_t *g = &resp->groups.items[i];
        if (!cli_str_eq(g->group_id, group))
            continue;
        if (g->error_code != KERR_NONE)
            return cli_fail("cannot describe group %s: %s", group, cli_kafka_error(g->error_code, proto_str_c(NULL)));
        *out = g;
        return 0;
    }
    return cli_fail("the broker did not answer for group %s", group);
}

void cli_results_begin(cli_results_t *r, cli_ctx_t *ctx, const char *list_key, const char *kind, const char *verb)
{
    r->ctx = ctx;
    r->kind = kind;
    r->verb = verb;
    r->failed = 0;
    r->answered = 0;
    if (ctx->json) {
        cli_json_init(&r->js, stdout);
        cli_json_obj_begin(&r->js);
        cli_json_key(&r->js, list_key);
        cli_json_arr_begin(&r->js);
    }
}

void cli_results_add(cli_results_t *r, proto_str_t name, int16_t error_code, proto_str_t message)
{
    r->answered++;
    if (error_code != KERR_NONE)
        r->failed++;
    if (r->ctx->json) {
        cli_json_obj_begin(&r->js);
        cli_json_key(&r->js, r->kind);
        cli_json_strn(&r->js, (const char *)name.ptr, name.len);
        cli_json_kint(&r->js, "error_code", error_code);
        cli_json_kstr(&r->js, "error", error_code ? proto_kafka_error_name(error_code) : NULL);
        cli_json_obj_end(&r->js);
    } else if (error_code != KERR_NONE) {
        cli_fail("cannot %s %s %.*s: %s", r->verb, r->kind, (int)name.len, (const char *)name.ptr,
                 cli_kafka_error(error_code, message));
    } else {
        printf("%sd %s %.*s\n", r->verb, r->kind, (int)name.len, (const char *)name.ptr);
    }
}

int cli_results_end(cli_results_t *r, int asked)
{
    if (r->ctx->json) {
        cli_json_arr_end(&r->js);
        cli_json_obj_end(&r->js);
        cli_json_finish(&r->js);
    }
    if (r->answered < asked)
        return cli_fail("the broker answered for %d of %d %ss", r->answered, asked, r->kind);
    return r->failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
