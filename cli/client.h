/*
 * cli/client: eddyctl's blocking Kafka client, built on protocol/.
 *
 * It owns one TCP connection to one broker, the broker's advertised API
 * ranges (learned with ApiVersions right after connecting) and the memory of
 * every decoded response: frames and arrays live in the connection's arena
 * until cli_conn_close, so a command can keep several answers side by side.
 * A request goes out as int32 size + request header + body (encoded by the
 * generated descriptors); the answer is read whole, its correlation id
 * checked and its header skipped, then the body decoded. The version used
 * for each API is the highest that both the broker advertises and our codec
 * describes.
 *
 * It does not route requests: everything goes to the bootstrap broker, which
 * is right for single-node eddy (it is the leader, controller and
 * coordinator of everything). It prints nothing; errors are left in
 * conn->err as one sentence for the caller to show.
 */
#ifndef EDDY_CLI_CLIENT_H
#define EDDY_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "protocol/codec.h"

/* Process exit codes, which the status codes below map onto one to one. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1,  /* a request failed, or the broker reported a Kafka error */
    CLI_EXIT_USAGE = 2,   /* bad command line */
    CLI_EXIT_CONNECT = 3, /* no broker to talk to */
};

#define CLI_DEFAULT_BOOTSTRAP  "127.0.0.1:9092"
#define CLI_DEFAULT_TIMEOUT_MS 10000
#define CLI_MAX_API_KEY        128
/* Larger answers than this are refused rather than buffered. */
#define CLI_MAX_FRAME (256 * 1024 * 1024)

typedef struct cli_api_range_s {
    int16_t min; /* -1 in both: not advertised */
    int16_t max;
} cli_api_range_t;

typedef struct cli_conn_s {
    int fd;
    char addr[300]; /* host:port actually connected to */
    int timeout_ms;
    int32_t next_correlation_id;
    cli_api_range_t broker_apis[CLI_MAX_API_KEY];
    int16_t api_versions_version; /* the ApiVersions version that was answered */
    arena_t arena;                /* response frames and decoded arrays */
    char err[512];
} cli_conn_t;

/*
 * Connects to the first reachable address of a comma-separated bootstrap
 * list ("host:port", "[v6addr]:port") and runs ApiVersions. Returns
 * CLI_EXIT_OK, CLI_EXIT_CONNECT (nothing reachable, or ApiVersions failed)
 * or CLI_EXIT_USAGE (unparsable address). On failure the connection is
 * closed and conn->err says why and what to do.
 */
int cli_conn_open(cli_conn_t *conn, const char *bootstrap, int timeout_ms);
void cli_conn_close(cli_conn_t *conn);

/*
 * The version to use for an API: the highest in both the broker's
 * advertised range and our codec's, or -1 when the ranges do not meet.
 */
int16_t cli_api_version(const cli_conn_t *conn, int16_t key);
/* True when the broker advertises the API and our codec has it. */
bool cli_api_usable(const cli_conn_t *conn, int16_t key);

/*
 * Sends req (a generated request struct for this API and version) and
 * decodes the answer into resp (the matching response struct). Returns 0, or
 * -1 with conn->err set (I/O error, timeout, malformed answer); after an
 * error the connection is closed. Strings in resp point into memory owned
 * by the connection.
 */
int cli_call(cli_conn_t *conn, int16_t key, int16_t version, const void *req, void *resp);

/* n zeroed elements of size bytes from the connection's arena (exits on OOM). */
void *cli_alloc(cli_conn_t *conn, size_t n, size_t size);

/*
 * Elements for an array field of a request, found by its dotted path from
 * the top-level descriptor ("topics.partitions"), each set to the defaults
 * of this version. Looking the field up by name keeps eddyctl independent
 * of the generated names of nested struct types. elem_size must match the
 * field's (a programming error otherwise: exits).
 */
void *cli_array_for(cli_conn_t *conn, const proto_struct_desc_t *top, const char *path, int16_t version, int32_t n,
                    size_t elem_size);
#define CLI_ARRAY(conn, arr, top, path, version, count)                                                                \
    ((arr).n = (count), (arr).items = cli_array_for((conn), &(top), (path), (version), (count), sizeof(*(arr).items)))

/* A NUL-terminated copy of a wire string, in the connection's arena ("" for null). */
const char *cli_str(cli_conn_t *conn, proto_str_t str);

#endif
