/*
 * The client core without a broker: request arrays found by path get the
 * version's defaults, a bad address is a usage error, and a refused
 * connection is a connect error whose message says what to do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/client.h"
#include "protocol/gen/messages.h"

static void array_for_gives_nested_elements_their_version_defaults(void **state)
{
    cli_conn_t conn;
    memset(&conn, 0, sizeof(conn));
    arena_init(&conn.arena, 0);
    proto_list_offsets_req_t req;
    proto_msg_init(&proto_list_offsets_req_desc, 9, &req);
    CLI_ARRAY(&conn, req.topics, proto_list_offsets_req_desc, "topics", 9, 2);
    assert_int_equal(req.topics.n, 2);
    CLI_ARRAY(&conn, req.topics.items[1].partitions, proto_list_offsets_req_desc, "topics.partitions", 9, 3);
    assert_int_equal(req.topics.items[1].partitions.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(req.topics.items[1].partitions.items[i].current_leader_epoch, -1);
    /* a primitive array: zeroed elements */
    proto_describe_groups_req_t dg;
    proto_msg_init(&proto_describe_groups_req_desc, 5, &dg);
    CLI_ARRAY(&conn, dg.groups, proto_describe_groups_req_desc, "groups", 5, 2);
    assert_int_equal(dg.groups.items[1].len, 0);
    arena_fini(&conn.arena);
}

static void a_bad_address_is_a_usage_error(void **state)
{
    cli_conn_t conn;
    assert_int_equal(cli_conn_open(&conn, "host:port", 1000), CLI_EXIT_USAGE);
    assert_non_null(strstr(conn.err, "host:port"));
    assert_int_equal(cli_conn_open(&conn, "::1:9092", 1000), CLI_EXIT_USAGE);
    assert_int_equal(cli_conn_open(&conn, "[::1", 1000), CLI_EXIT_USAGE);
    cli_conn_close(&conn);
}

static void a_refused_connection_says_to_start_eddy(void **state)
{
    cli_conn_t conn;
    /* port 1 on loopback: nothing listens there */
    assert_int_equal(cli_conn_open(&conn, "127.0.0.1:1", 2000), CLI_EXIT_CONNECT);
    assert_non_null(strstr(conn.err, "127.0.0.1:1"));
    assert_non_null(strstr(conn.err, "is eddy running"));
    cli_conn_close(&conn);
}

static void versions_are_unusable_before_api_versions(void **state)
{
    cli_conn_t conn;
    memset(&conn, 0, sizeof(conn));
    for (int i = 0; i < CLI_MAX_API_KEY; i++)
        conn.broker_apis[i].min = conn.broker_apis[i].max = -1;
    assert_int_equal(cli_api_version(&conn, 3), -1);
    conn.broker_apis[3].min = 0;
    conn.broker_apis[3].max = 30000; /* newer than our codec: ours wins */
    assert_int_equal(cli_api_version(&conn, 3), proto_api_find(3)->max_version);
    /* A broker whose whole CreateTopics range is newer than our codec's: nothing in common. */
    conn.broker_apis[19].min = (int16_t)(proto_api_find(19)->max_version + 1);
    conn.broker_apis[19].max = (int16_t)(proto_api_find(19)->max_version + 2);
    assert_int_equal(cli_api_version(&conn, 19), -1);
    assert_false(cli_api_usable(&conn, 19));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(array_for_gives_nested_elements_their_version_defaults),
        cmocka_unit_test(a_bad_address_is_a_usage_error),
        cmocka_unit_test(a_refused_connection_says_to_start_eddy),
        cmocka_unit_test(versions_are_unusable_before_api_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
