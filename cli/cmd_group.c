/*
 * eddyctl group list|describe|lag|reset-offsets|delete. ListGroups,
 * DescribeGroups (with the consumer protocol's assignments decoded),
 * OffsetFetch + ListOffsets for lag, OffsetCommit as a standalone commit
 * (generation -1, no member id) for resets, and DeleteGroups.
 *
 * A standalone commit is only accepted by a group with no live members, so
 * reset-offsets checks the group's state first and says to stop the
 * consumers rather than let the broker refuse with a generation error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/assignment.h"
#include "cli/eddyctl.h"
#include "protocol/kafka_errors.h"

#define MAX_TOPIC_ARGS 64

static bool is_consumer_group(const proto_describe_groups_resp_group_t *g)
{
    return cli_str_eq(g->protocol_type, "consumer");
}

/* The decoded assignment of a member, or NULL when it has none or it is not a consumer group. */
static const cli_assignment_t *member_assignment(cli_ctx_t *ctx, const proto_describe_groups_resp_group_t *g,
                                                 const proto_describe_groups_resp_member_t *m)
{
    if (!is_consumer_group(g) || m->member_assignment.len <= 0)
        return NULL;
    cli_assignment_t *a = cli_alloc(&ctx->conn, 1, sizeof(*a));
    if (cli_assignment_decode(m->member_assignment.ptr, (size_t)m->member_assignment.len, &ctx->conn.arena, a) != 0)
        return NULL;
    return a;
}

/* "orders:0,1 audit:2" (arena memory). */
static const char *assignment_str(cli_ctx_t *ctx, const cli_assignment_t *a)
{
    if (!a || a->ntopics == 0)
        return "-";
    size_t cap = 1;
    for (int32_t t = 0; t < a->ntopics; t++)
        cap += (size_t)a->topics[t].topic.len + 2 + (size_t)a->topics[t].npartitions * 12;
    char *s = cli_alloc(&ctx->conn, cap, 1);
    size_t o = 0;
    for (int32_t t = 0; t < a->ntopics; t++) {
        const cli_assigned_topic_t *at = &a->topics[t];
        o += (size_t)snprintf(s + o, cap - o, "%s%.*s:", t ? " " : "", (int)at->topic.len, (const char *)at->topic.ptr);
        for (int32_t p = 0; p < at->npartitions; p++)
            o += (size_t)snprintf(s + o, cap - o, "%s%d", p ? "," : "", at->partitions[p]);
    }
    return s;
}

/* --- list -------------------------------------------------------------- */

static int cmp_group(const void *a, const void *b)
{
    const proto_list_groups_resp_group_t *x = a, *y = b;
    int32_t n = x->group_id.len < y->group_id.len ? x->group_id.len : y->group_id.len;
    int c = n > 0 ? memcmp(x->group_id.ptr, y->group_id.ptr, (size_t)n) : 0;
    return c ? c : (x->group_id.len > y->group_id.len) - (x->group_id.len < y->group_id.len);
}

static int group_list(cli_ctx_t *ctx, int argc, char **argv)
{
    if (argc > 0)
        cli_usage_error("unexpected '%s' for group list", argv[0]);
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    cli_conn_t *conn = &ctx->conn;
    int16_t ver = cli_api_version(conn, CLI_API_LIST_GROUPS);
    if (ver < 0)
        return cli_unsupported(ctx, CLI_API_LIST_GROUPS, "listing groups");
    proto_list_groups_req_t req;
    proto_msg_init(&proto_list_groups_req_desc, ver, &req);
    proto_list_groups_resp_t resp;
    if (cli_call(conn, CLI_API_LIST_GROUPS, ver, &req, &resp) != 0)
        return cli_request_failed(ctx);
    if (resp.error_code != KERR_NONE)
        return cli_fail("cannot list groups: %s", cli_kafka_error(resp.error_code, proto_str_c(NULL)));
    if (resp.groups.n > 1)
        qsort(resp.groups.items, (size_t)resp.groups.n, sizeof(*resp.groups.items), cmp_group);
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_key(&js, "groups");
        cli_json_arr_begin(&js);
        for (int32_t i = 0; i < resp.groups.n; i++) {
            const proto_list_groups_resp_group_t *g = &resp.groups.items[i];
            cli_json_obj_begin(&js);
            cli_json_key(&js, "group");
            cli_json_strn(&js, (const char *)g->group_id.ptr, g->group_id.len);
            cli_json_key(&js, "protocol_type");
            cli_json_strn(&js, (const char *)g->protocol_type.ptr, g->protocol_type.len);
            cli_json_key(&js, "state");
            if (ver >= 4)
                cli_json_strn(&js, (const char *)g->group_state.ptr, g->group_state.len);
            else
                cli_json_null(&js);
            cli_json_obj_end(&js);
        }
        cli_json_arr_end(&js);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
        return CLI_EXIT_OK;
    }
    if (resp.groups.n == 0) {
        printf("no groups\n");
        return CLI_EXIT_OK;
    }
    static const char *const head[] = {"GROUP", "STATE", "PROTOCOL-TYPE"};
    cli_table_t tab;
    cli_table_init(&tab, 3, head);
    for (int32_t i = 0; i < resp.groups.n; i++) {
        const proto_list_groups_resp_group_t *g = &resp.groups.items[i];
        cli_table_cell(&tab, "%.*s", (int)g->group_id.len, (const char *)g->group_id.ptr);
        if (ver >= 4)
            cli_table_cell(&tab, "%.*s", (int)g->group_state.len, (const char *)g->group_state.ptr);
        else
            cli_table_cell(&tab, "?");
        cli_table_cell(&tab, "%s", g->protocol_type.len > 0 ? cli_str(conn, g->protocol_type) : "-");
    }
    cli_table_print(&tab, stdout);
    cli_table_fini(&tab);
    return CLI_EXIT_OK;
}

/* --- describe ---------------------------------------------------------- */

static const char *one_group_arg(int argc, char **argv, const char *cmd)
{
    if (argc < 1 || argv[0][0] == '-')
        cli_usage_error("group %s needs a group id", cmd);
    return argv[0];
}

static bool group_exists(const proto_describe_groups_resp_group_t *g)
{
    return !cli_str_eq(g->group_state, "Dead") || g->members.n > 0;
}

static int group_describe(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *group = one_group_arg(argc, argv, "describe");
    if (argc > 1)
        cli_usage_error("unexpected '%s' for group describe", argv[1]);
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    proto_describe_groups_resp_group_t *g;
    if ((rc = cli_describe_group(ctx, group, &g)) != 0)
        return rc;
    if (!group_exists(g))
        return cli_fail("group %s does not exist (see `eddyctl group list`)", group);
    int32_t nm = g->members.n > 0 ? g->members.n : 0;
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "group", group);
        cli_json_key(&js, "state");
        cli_json_strn(&js, (const char *)g->group_state.ptr, g->group_state.len);
        cli_json_key(&js, "protocol_type");
        cli_json_strn(&js, (const char *)g->protocol_type.ptr, g->protocol_type.len);
        cli_json_key(&js, "protocol");
        cli_json_strn(&js, (const char *)g->protocol_data.ptr, g->protocol_data.len);
        cli_json_key(&js, "members");
        cli_json_arr_begin(&js);
        for (int32_t i = 0; i < nm; i++) {
            const proto_describe_groups_resp_member_t *m = &g->members.items[i];
            cli_json_obj_begin(&js);
            cli_json_key(&js, "member_id");
            cli_json_strn(&js, (const char *)m->member_id.ptr, m->member_id.len);
            cli_json_key(&js, "group_instance_id");
            cli_json_strn(&js, (const char *)m->group_instance_id.ptr, m->group_instance_id.len);
            cli_json_key(&js, "client_id");
            cli_json_strn(&js, (const char *)m->client_id.ptr, m->client_id.len);
            cli_json_key(&js, "client_host");
            cli_json_strn(&js, (const char *)m->client_host.ptr, m->client_host.len);
            cli_json_key(&js, "assignment");
            const cli_assignment_t *a = member_assignment(ctx, g, m);
            if (!a) {
                cli_json_null(&js);
            } else {
                cli_json_arr_begin(&js);
                for (int32_t t = 0; t < a->ntopics; t++) {
                    cli_json_obj_begin(&js);
                    cli_json_key(&js, "topic");
                    cli_json_strn(&js, (const char *)a->topics[t].topic.ptr, a->topics[t].topic.len);
                    cli_json_key(&js, "partitions");
                    cli_json_arr_begin(&js);
                    for (int32_t p = 0; p < a->topics[t].npartitions; p++)
                        cli_json_int(&js, a->topics[t].partitions[p]);
                    cli_json_arr_end(&js);
                    cli_json_obj_end(&js);
                }
                cli_json_arr_end(&js);
            }
            cli_json_obj_end(&js);
        }
        cli_json_arr_end(&js);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
        return CLI_EXIT_OK;
    }
    printf("Group: %s\tState: %.*s\tProtocolType: %.*s\tProtocol: %.*s\tMembers: %d\n", group, (int)g->group_state.len,
           (const char *)g->group_state.ptr, (int)g->protocol_type.len, (const char *)g->protocol_type.ptr,
           (int)g->protocol_data.len, (const char *)g->protocol_data.ptr, nm);
    if (nm == 0)
        return CLI_EXIT_OK;
    static const char *const head[] = {"MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"};
    cli_table_t tab;
    cli_table_init(&tab, 4, head);
    for (int32_t i = 0; i < nm; i++) {
        const proto_describe_groups_resp_member_t *m = &g->members.items[i];
        cli_table_cell(&tab, "%.*s", (int)m->member_id.len, (const char *)m->member_id.ptr);
        cli_table_cell(&tab, "%.*s", (int)(m->client_id.len > 0 ? m->client_id.len : 0),
                       (const char *)m->client_id.ptr);
        cli_table_cell(&tab, "%.*s", (int)(m->client_host.len > 0 ? m->client_host.len : 0),
                       (const char *)m->client_host.ptr);
        const cli_assignment_t *a = member_assignment(ctx, g, m);
        cli_table_cell(&tab, "%s", is_consumer_group(g) ? assignment_str(ctx, a) : "(not a consumer group)");
    }
    cli_table_print(&tab, stdout);
    cli_table_fini(&tab);
    return CLI_EXIT_OK;
}

/* --- lag --------------------------------------------------------------- */

typedef struct lag_row_s {
    const char *topic;
    int32_t partition;
    int64_t committed; /* -1: none */
    int64_t end;       /* -1: unknown */
    int16_t end_error;
    const proto_describe_groups_resp_member_t *owner;
} lag_row_t;

static int cmp_row(const void *a, const void *b)
{
    const lag_row_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static lag_row_t *row_find(lag_row_t *rows, int32_t n, const char *topic, int32_t partition)
{
    for (int32_t i = 0; i < n; i++)
        if (rows[i].partition == partition && strcmp(rows[i].topic, topic) == 0)
            return &rows[i];
    return NULL;
}

/* Fills rows[].end with each topic's high watermark, one ListOffsets per topic. */
static int fill_end_offsets(cli_ctx_t *ctx, lag_row_t *rows, int32_t n)
{
    cli_conn_t *conn = &ctx->conn;
    int32_t *parts = cli_alloc(conn, (size_t)n, sizeof(int32_t));
    int64_t *offs = cli_alloc(conn, (size_t)n, sizeof(int64_t));
    int16_t *errs = cli_alloc(conn, (size_t)n, sizeof(int16_t));
    for (int32_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(rows[i].topic, rows[i - 1].topic) == 0)
            continue; /* rows are sorted: this topic is done */
        int32_t k = 0;
        for (int32_t j = i; j < n && strcmp(rows[j].topic, rows[i].topic) == 0; j++)
            parts[k++] = rows[j].partition;
        int rc = cli_list_offsets(ctx, rows[i].topic, parts, k, -1, offs, errs);
        if (rc)
            return rc;
        for (int32_t j = 0; j < k; j++) {
            rows[i + j].end = offs[j];
            rows[i + j].end_error = errs[j];
        }
    }
    return 0;
}

static int group_lag(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *group = one_group_arg(argc, argv, "lag");
    const char *topic = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--topic", &v))
            topic = v;
        else
            cli_usage_error("unexpected '%s' for group lag", argv[i]);
    }
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    cli_conn_t *conn = &ctx->conn;
    proto_describe_groups_resp_group_t *g;
    cli_committed_t *com;
    int32_t ncom;
    if ((rc = cli_describe_group(ctx, group, &g)) != 0 || (rc = cli_offset_fetch(ctx, group, topic, &com, &ncom)) != 0)
        return rc;

    /* Rows: every committed partition, and every assigned one without a commit yet. */
    int32_t cap = ncom;
    int32_t nm = g->members.n > 0 ? g->members.n : 0;
    const cli_assignment_t **assign = cli_alloc(conn, (size_t)nm, sizeof(*assign));
    for (int32_t m = 0; m < nm; m++) {
        assign[m] = member_assignment(ctx, g, &g->members.items[m]);
        for (int32_t t = 0; assign[m] && t < assign[m]->ntopics; t++)
            cap += assign[m]->topics[t].npartitions;
    }
    lag_row_t *rows = cli_alloc(conn, (size_t)cap, sizeof(*rows));
    int32_t n = 0;
    for (int32_t i = 0; i < ncom; i++) {
        if (com[i].offset < 0 && com[i].error_code == KERR_NONE)
            continue; /* asked for but never committed */
        rows[n] =
            (lag_row_t){.topic = com[i].topic, .partition = com[i].partition, .committed = com[i].offset, .end = -1};
        n++;
    }
    for (int32_t m = 0; m < nm; m++) {
        for (int32_t t = 0; assign[m] && t < assign[m]->ntopics; t++) {
            const cli_assigned_topic_t *at = &assign[m]->topics[t];
            const char *tname = cli_str(conn, at->topic);
            if (topic && strcmp(tname, topic) != 0)
                continue;
            for (int32_t p = 0; p < at->npartitions; p++) {
                lag_row_t *r = row_find(rows, n, tname, at->partitions[p]);
                if (!r) {
                    r = &rows[n++];
                    *r = (lag_row_t){.topic = tname, .partition = at->partitions[p], .committed = -1, .end = -1};
                }
                r->owner = &g->members.items[m];
            }
        }
    }
    if (n > 1)
        qsort(rows, (size_t)n, sizeof(*rows), cmp_row);
    if ((rc = fill_end_offsets(ctx, rows, n)) != 0)
        return rc;

    int64_t total = 0;
    bool complete = true;
    for (int32_t i = 0; i < n; i++) {
        if (rows[i].committed >= 0 && rows[i].end >= 0)
            total += rows[i].end > rows[i].committed ? rows[i].end - rows[i].committed : 0;
        else
            complete = false;
    }
    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "group", group);
        cli_json_key(&js, "state");
        cli_json_strn(&js, (const char *)g->group_state.ptr, g->group_state.len);
        cli_json_key(&js, "partitions");
        cli_json_arr_begin(&js);
        for (int32_t i = 0; i < n; i++) {
            const lag_row_t *r = &rows[i];
            cli_json_obj_begin(&js);
            cli_json_kstr(&js, "topic", r->topic);
            cli_json_kint(&js, "partition", r->partition);
            cli_json_key(&js, "committed");
            r->committed >= 0 ? cli_json_int(&js, r->committed) : cli_json_null(&js);
            cli_json_key(&js, "end");
            r->end >= 0 ? cli_json_int(&js, r->end) : cli_json_null(&js);
            cli_json_key(&js, "lag");
            if (r->committed >= 0 && r->end >= 0)
                cli_json_int(&js, r->end > r->committed ? r->end - r->committed : 0);
            else
                cli_json_null(&js);
            cli_json_key(&js, "member_id");
            if (r->owner)
                cli_json_strn(&js, (const char *)r->owner->member_id.ptr, r->owner->member_id.len);
            else
                cli_json_null(&js);
            cli_json_key(&js, "client_id");
            if (r->owner)
                cli_json_strn(&js, (const char *)r->owner->client_id.ptr, r->owner->client_id.len);
            else
                cli_json_null(&js);
            cli_json_obj_end(&js);
        }
        cli_json_arr_end(&js);
        cli_json_kint(&js, "total_lag", total);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
        return CLI_EXIT_OK;
    }
    if (n == 0) {
        if (!group_exists(g))
            return cli_fail("group %s does not exist (see `eddyctl group list`)", group);
        printf("group %s has no committed offsets%s%s\n", group, topic ? " for topic " : "", topic ? topic : "");
        return CLI_EXIT_OK;
    }
    static const char *const head[] = {"TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "CONSUMER"};
    cli_table_t tab;
    cli_table_init(&tab, 6, head);
    for (int32_t i = 0; i < n; i++) {
        const lag_row_t *r = &rows[i];
        cli_table_cell(&tab, "%s", r->topic);
        cli_table_cell(&tab, "%d", r->partition);
        if (r->committed >= 0)
            cli_table_cell(&tab, "%lld", (long long)r->committed);
        else
            cli_table_cell(&tab, "-");
        if (r->end >= 0)
            cli_table_cell(&tab, "%lld", (long long)r->end);
        else
            cli_table_cell(&tab, "%s", proto_kafka_error_name(r->end_error));
        if (r->committed >= 0 && r->end >= 0)
            cli_table_cell(&tab, "%lld", (long long)(r->end > r->committed ? r->end - r->committed : 0));
        else
            cli_table_cell(&tab, "-");
        if (r->owner)
            cli_table_cell(&tab, "%.*s/%.*s", (int)(r->owner->client_id.len > 0 ? r->owner->client_id.len : 0),
                           (const char *)r->owner->client_id.ptr,
                           (int)(r->owner->client_host.len > 0 ? r->owner->client_host.len : 0),
                           (const char *)r->owner->client_host.ptr);
        else
            cli_table_cell(&tab, "-");
    }
    cli_table_print(&tab, stdout);
    cli_table_fini(&tab);
    printf("Group: %s\tState: %.*s\tTotal lag: %lld%s\n", group, (int)g->group_state.len,
           (const char *)g->group_state.ptr, (long long)total,
           complete ? "" : " (partitions without a commit left out)");
    return CLI_EXIT_OK;
}

/* --- reset-offsets ----------------------------------------------------- */

typedef enum reset_mode_e { RESET_NONE, RESET_EARLIEST, RESET_LATEST, RESET_TIMESTAMP, RESET_OFFSET } reset_mode_t;

typedef struct reset_row_s {
    const char *topic;
    int32_t partition;
    int64_t current; /* -1: none */
    int64_t target;
} reset_row_t;

/* Partitions of one --topic argument ("T" or "T:0,2"): appends rows. */
static int plan_topic(cli_ctx_t *ctx, char *arg, reset_mode_t mode, int64_t value, reset_row_t **rows, int32_t *n,
                      int32_t *cap)
{
    cli_conn_t *conn = &ctx->conn;
    char *colon = strchr(arg, ':');
    if (colon)
        *colon = '\0';
    const char *topic = arg;
    const char *names[1] = {topic};
    proto_metadata_resp_t md;
    int rc = cli_metadata(ctx, names, 1, &md);
    if (rc)
        return rc;
    if (md.topics.n < 1 || !cli_str_eq(md.topics.items[0].name, topic))
        return cli_fail("the broker did not answer for topic %s", topic);
    const proto_metadata_resp_topic_t *t = &md.topics.items[0];
    if (t->error_code != KERR_NONE)
        return cli_fail("topic %s: %s", topic, cli_kafka_error(t->error_code, proto_str_c(NULL)));
    int32_t np = t->partitions.n;
    int32_t *parts = cli_alloc(conn, (size_t)np, sizeof(int32_t));
    int32_t k = 0;
    if (colon) {
        for (char *s = colon + 1, *tok; (tok = strsep(&s, ",")) != NULL;) {
            int32_t p = (int32_t)cli_parse_int(tok, 0, INT32_MAX, "a partition number");
            bool found = false;
            for (int32_t i = 0; i < np; i++)
                found |= t->partitions.items[i].partition_index == p;
            if (!found)
                return cli_fail("topic %s has no partition %d", topic, p);
            if (k == np)
                cli_usage_error("a partition is repeated in --topic %s", topic);
            parts[k++] = p;
        }
    } else {
        for (int32_t i = 0; i < np; i++)
            parts[k++] = t->partitions.items[i].partition_index;
    }
    int64_t *lo = cli_alloc(conn, (size_t)k, sizeof(int64_t)), *hi = cli_alloc(conn, (size_t)k, sizeof(int64_t));
    int64_t *at = cli_alloc(conn, (size_t)k, sizeof(int64_t));
    int16_t *elo = cli_alloc(conn, (size_t)k, sizeof(int16_t)), *ehi = cli_alloc(conn, (size_t)k, sizeof(int16_t));
    int16_t *eat = cli_alloc(conn, (size_t)k, sizeof(int16_t));
    if ((rc = cli_list_offsets(ctx, topic, parts, k, -2, lo, elo)) != 0 ||
        (rc = cli_list_offsets(ctx, topic, parts, k, -1, hi, ehi)) != 0)
        return rc;
    if (mode == RESET_TIMESTAMP && (rc = cli_list_offsets(ctx, topic, parts, k, value, at, eat)) != 0)
        return rc;
    if (*n + k > *cap) {
        int32_t ncap = (*n + k) * 2;
        reset_row_t *grown = cli_alloc(conn, (size_t)ncap, sizeof(**rows));
        if (*n)
            memcpy(grown, *rows, (size_t)*n * sizeof(**rows));
        *rows = grown;
        *cap = ncap;
    }
    for (int32_t i = 0; i < k; i++) {
        if (elo[i] != KERR_NONE || ehi[i] != KERR_NONE || (mode == RESET_TIMESTAMP && eat[i] != KERR_NONE))
            return cli_fail("cannot read offsets of %s-%d: %s", topic, parts[i],
                            proto_kafka_error_name(elo[i]   ? elo[i]
                                                   : ehi[i] ? ehi[i]
                                                            : eat[i]));
        int64_t target;
        switch (mode) {
        case RESET_EARLIEST: target = lo[i]; break;
        case RESET_LATEST: target = hi[i]; break;
        case RESET_TIMESTAMP: target = at[i] >= 0 ? at[i] : hi[i]; break; /* nothing that late: the end */
        default: target = value < lo[i] ? lo[i] : value > hi[i] ? hi[i] : value; break;
        }
        (*rows)[(*n)++] = (reset_row_t){.topic = topic, .partition = parts[i], .current = -1, .target = target};
    }
    return 0;
}

static int commit_offsets(cli_ctx_t *ctx, const char *group, const reset_row_t *rows, int32_t n)
{
    cli_conn_t *conn = &ctx->conn;
    int16_t ver = cli_api_version(conn, CLI_API_OFFSET_COMMIT);
    if (ver < 0)
        return cli_unsupported(ctx, CLI_API_OFFSET_COMMIT, "committing offsets");
    proto_offset_commit_req_t req;
    proto_msg_init(&proto_offset_commit_req_desc, ver, &req);
    req.group_id = proto_str_c(group);
    req.generation_id_or_member_epoch = -1; /* a standalone commit, outside any generation */
    req.member_id = proto_str_c("");
    req.group_instance_id = proto_str_c(NULL);
    req.retention_time_ms = -1;
    /* One request topic per distinct topic; rows of a topic are adjacent (one --topic each). */
    int32_t ntopics = 0;
    for (int32_t i = 0; i < n; i++)
        if (i == 0 || strcmp(rows[i].topic, rows[i - 1].topic) != 0)
            ntopics++;
    CLI_ARRAY(conn, req.topics, proto_offset_commit_req_desc, "topics", ver, ntopics);
    int32_t t = -1;
    for (int32_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(rows[i].topic, rows[i - 1].topic) != 0) {
            t++;
            int32_t k = 0;
            for (int32_t j = i; j < n && strcmp(rows[j].topic, rows[i].topic) == 0; j++)
                k++;
            req.topics.items[t].name = proto_str_c(rows[i].topic);
            CLI_ARRAY(conn, req.topics.items[t].partitions, proto_offset_commit_req_desc, "topics.partitions", ver, k);
            req.topics.items[t].partitions.n = 0; /* filled below */
        }
        proto_offset_commit_req_partition_t *p =
            &req.topics.items[t].partitions.items[req.topics.items[t].partitions.n++];
        p->partition_index = rows[i].partition;
        p->committed_offset = rows[i].target;
        p->committed_leader_epoch = -1;
        p->committed_metadata = proto_str_c("");
    }
    proto_offset_commit_resp_t resp;
    if (cli_call(conn, CLI_API_OFFSET_COMMIT, ver, &req, &resp) != 0)
        return cli_request_failed(ctx);
    int failed = 0;
    for (int32_t i = 0; i < resp.topics.n; i++) {
        const proto_offset_commit_resp_topic_t *rt = &resp.topics.items[i];
        for (int32_t p = 0; p < rt->partitions.n; p++) {
            int16_t e = rt->partitions.items[p].error_code;
            if (e == KERR_NONE)
                continue;
            failed++;
            cli_fail("cannot commit %.*s-%d for group %s: %s", (int)rt->name.len, (const char *)rt->name.ptr,
                     rt->partitions.items[p].partition_index, group, cli_kafka_error(e, proto_str_c(NULL)));
        }
    }
    return failed ? CLI_EXIT_FAILED : 0;
}

static int group_reset_offsets(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *group = one_group_arg(argc, argv, "reset-offsets");
    char *topics[MAX_TOPIC_ARGS];
    int ntopics = 0;
    reset_mode_t mode = RESET_NONE;
    int64_t value = 0;
    bool execute = false;
    const char *v;
    for (int i = 1; i < argc; i++) {
        reset_mode_t m = RESET_NONE;
        if (cli_opt(argc, argv, &i, "--topic", &v)) {
            if (ntopics == MAX_TOPIC_ARGS)
                cli_usage_error("too many --topic options");
            topics[ntopics++] = (char *)(uintptr_t)v;
        } else if (strcmp(argv[i], "--to-earliest") == 0) {
            m = RESET_EARLIEST;
        } else if (strcmp(argv[i], "--to-latest") == 0) {
            m = RESET_LATEST;
        } else if (cli_opt(argc, argv, &i, "--to-timestamp", &v)) {
            m = RESET_TIMESTAMP;
            value = cli_parse_int(v, 0, INT64_MAX, "--to-timestamp (milliseconds since the epoch)");
        } else if (cli_opt(argc, argv, &i, "--to-offset", &v)) {
            m = RESET_OFFSET;
            value = cli_parse_int(v, 0, INT64_MAX, "--to-offset");
        } else if (strcmp(argv[i], "--execute") == 0) {
            execute = true;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            execute = false;
        } else {
            cli_usage_error("unexpected '%s' for group reset-offsets", argv[i]);
        }
        if (m != RESET_NONE) {
            if (mode != RESET_NONE)
                cli_usage_error("give only one of --to-earliest, --to-latest, --to-timestamp, --to-offset");
            mode = m;
        }
    }
    if (ntopics == 0)
        cli_usage_error("group reset-offsets needs --topic T (or T:P,P for some partitions)");
    if (mode == RESET_NONE)
        cli_usage_error("group reset-offsets needs one of --to-earliest, --to-latest, --to-timestamp MS, "
                        "--to-offset N");
    int rc = cli_connect(ctx);
    if (rc)
        return rc;

    proto_describe_groups_resp_group_t *g;
    if ((rc = cli_describe_group(ctx, group, &g)) != 0)
        return rc;
    bool active = g->members.n > 0 && !cli_str_eq(g->group_state, "Empty") && !cli_str_eq(g->group_state, "Dead");
    if (active && execute)
        return cli_fail("group %s is %.*s with %d member%s: its consumers must be stopped before its offsets "
                        "can be reset (see `eddyctl group describe %s`)",
                        group, (int)g->group_state.len, (const char *)g->group_state.ptr, g->members.n,
                        g->members.n == 1 ? "" : "s", group);

    reset_row_t *rows = NULL;
    int32_t n = 0, cap = 0;
    for (int i = 0; i < ntopics; i++)
        if ((rc = plan_topic(ctx, topics[i], mode, value, &rows, &n, &cap)) != 0)
            return rc;
    cli_committed_t *com;
    int32_t ncom;
    if ((rc = cli_offset_fetch(ctx, group, NULL, &com, &ncom)) != 0)
        return rc;
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < ncom; j++)
            if (com[j].partition == rows[i].partition && strcmp(com[j].topic, rows[i].topic) == 0)
                rows[i].current = com[j].offset;
    if (execute && (rc = commit_offsets(ctx, group, rows, n)) != 0)
        return rc;

    if (ctx->json) {
        cli_json_t js;
        cli_json_init(&js, stdout);
        cli_json_obj_begin(&js);
        cli_json_kstr(&js, "group", group);
        cli_json_kbool(&js, "executed", execute);
        cli_json_key(&js, "partitions");
        cli_json_arr_begin(&js);
        for (int32_t i = 0; i < n; i++) {
            cli_json_obj_begin(&js);
            cli_json_kstr(&js, "topic", rows[i].topic);
            cli_json_kint(&js, "partition", rows[i].partition);
            cli_json_key(&js, "current");
            rows[i].current >= 0 ? cli_json_int(&js, rows[i].current) : cli_json_null(&js);
            cli_json_kint(&js, "new", rows[i].target);
            cli_json_obj_end(&js);
        }
        cli_json_arr_end(&js);
        cli_json_obj_end(&js);
        cli_json_finish(&js);
    } else {
        static const char *const head[] = {"TOPIC", "PARTITION", "CURRENT", "NEW"};
        cli_table_t tab;
        cli_table_init(&tab, 4, head);
        for (int32_t i = 0; i < n; i++) {
            cli_table_cell(&tab, "%s", rows[i].topic);
            cli_table_cell(&tab, "%d", rows[i].partition);
            if (rows[i].current >= 0)
                cli_table_cell(&tab, "%lld", (long long)rows[i].current);
            else
                cli_table_cell(&tab, "-");
            cli_table_cell(&tab, "%lld", (long long)rows[i].target);
        }
        cli_table_print(&tab, stdout);
        cli_table_fini(&tab);
        if (execute)
            printf("committed new offsets for %d partition%s of group %s\n", n, n == 1 ? "" : "s", group);
    }
    if (!execute) {
        fprintf(stderr, "eddyctl: dry run — nothing was committed; add --execute to commit these offsets\n");
        if (active)
            fprintf(stderr, "eddyctl: note: group %s has %d active member%s; stop its consumers before --execute\n",
                    group, g->members.n, g->members.n == 1 ? "" : "s");
    }
    return CLI_EXIT_OK;
}

/* --- delete ------------------------------------------------------------ */

static int group_delete(cli_ctx_t *ctx, int argc, char **argv)
{
    if (argc == 0)
        cli_usage_error("group delete needs at least one group id");
    for (int i = 0; i < argc; i++)
        if (argv[i][0] == '-')
            cli_usage_error("unknown option %s for group delete", argv[i]);
    int rc = cli_connect(ctx);
    if (rc)
        return rc;
    cli_conn_t *conn = &ctx->conn;
    int16_t ver = cli_api_version(conn, CLI_API_DELETE_GROUPS);
    if (ver < 0)
        return cli_unsupported(ctx, CLI_API_DELETE_GROUPS, "deleting groups");
    proto_delete_groups_req_t req;
    proto_msg_init(&proto_delete_groups_req_desc, ver, &req);
    CLI_ARRAY(conn, req.groups_names, proto_delete_groups_req_desc, "groups_names", ver, argc);
    for (int i = 0; i < argc; i++)
        req.groups_names.items[i] = proto_str_c(argv[i]);
    proto_delete_groups_resp_t resp;
    if (cli_call(conn, CLI_API_DELETE_GROUPS, ver, &req, &resp) != 0)
        return cli_request_failed(ctx);
    cli_results_t res;
    cli_results_begin(&res, ctx, "groups", "group", "delete");
    for (int32_t i = 0; i < resp.results.n; i++)
        cli_results_add(&res, resp.results.items[i].group_id, resp.results.items[i].error_code, proto_str_c(NULL));
    return cli_results_end(&res, argc);
}

int cli_cmd_group(cli_ctx_t *ctx, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(cli_ctx_t *ctx, int argc, char **argv);
    } subs[] = {
        {"list", group_list},
        {"ls", group_list},
        {"describe", group_describe},
        {"lag", group_lag},
        {"reset-offsets", group_reset_offsets},
        {"delete", group_delete},
        {"rm", group_delete},
    };
    if (argc < 1)
        cli_usage_error("group needs a subcommand: list, describe, lag, reset-offsets, delete");
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (strcmp(argv[0], subs[i].name) == 0)
            return subs[i].run(ctx, argc - 1, argv + 1);
    cli_usage_error("unknown group subcommand '%s' (list, describe, lag, reset-offsets, delete)", argv[0]);
}
