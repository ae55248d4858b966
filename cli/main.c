/*
 * eddyctl: command line, global options and dispatch to the command
 * families. Global options may appear anywhere on the line; everything else
 * is passed, in order, to the command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/eddyctl.h"

#ifndef EDDYCTL_VERSION
#define EDDYCTL_VERSION "0.1.0"
#endif

static const char usage_text[] =
    "usage: eddyctl [-b HOST:PORT] [--json] [--timeout MS] [-v] COMMAND ...\n"
    "\n"
    "Topics\n"
    "  topic create NAME [--partitions N] [--replication-factor R] [--config K=V ...]\n"
    "  topic list [--all]                      internal topics too with --all\n"
    "  topic describe NAME                     partitions, leaders, offsets, configs\n"
    "  topic alter NAME --config K=V ... [--delete-config K ...]\n"
    "  topic add-partitions NAME --total N\n"
    "  topic delete NAME ...\n"
    "Consumer groups\n"
    "  group list\n"
    "  group describe GROUP                    state, members and their partitions\n"
    "  group lag GROUP [--topic T]             committed offset, end offset and lag per partition\n"
    "  group reset-offsets GROUP --topic T (--to-earliest | --to-latest | --to-timestamp MS |\n"
    "                      --to-offset N) [--execute]   (a dry run without --execute)\n"
    "  group delete GROUP ...\n"
    "Configs\n"
    "  config get topic NAME [KEY ...]  |  config get broker ID [KEY ...]\n"
    "  config set topic NAME K=V ... [--delete K ...]  |  config set broker ID K=V ...\n"
    "Cluster\n"
    "  cluster info [--verbose]                cluster id, controller, brokers (and API versions)\n"
    "\n"
    "Options\n"
    "  -b, --bootstrap HOST:PORT  broker to talk to (default $EDDY_BOOTSTRAP, else " CLI_DEFAULT_BOOTSTRAP ")\n"
    "  --json                     machine-readable output on stdout\n"
    "  --timeout MS               connect and request timeout (default 10000)\n"
    "  -v, --verbose              more detail\n"
    "  -h, --help                 this text;  --version  eddyctl's version\n"
    "\n"
    "Exit codes: 0 ok, 1 a request failed or the broker reported an error, 2 usage error,\n"
    "3 cannot connect to the broker.\n";

int main(int argc, char **argv)
{
    cli_ctx_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
    const char *env = getenv("EDDY_BOOTSTRAP");
    ctx.bootstrap = env && *env ? env : CLI_DEFAULT_BOOTSTRAP;

    /* Global options are taken out wherever they are; the rest keep their order. */
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest)
        return CLI_EXIT_FAILED;
    int nrest = 0;
    bool help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                rest[nrest++] = argv[i];
            break;
        }
        if (cli_opt(argc, argv, &i, "-b", &v) || cli_opt(argc, argv, &i, "--bootstrap", &v) ||
            cli_opt(argc, argv, &i, "--bootstrap-server", &v)) {
            ctx.bootstrap = v;
        } else if (cli_opt(argc, argv, &i, "--timeout", &v)) {
            ctx.timeout_ms = (int)cli_parse_int(v, 1, 3600 * 1000, "--timeout");
        } else if (strcmp(a, "--json") == 0) {
            ctx.json = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            ctx.verbose = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0) {
            help = true;
        } else if (strcmp(a, "--version") == 0) {
            printf("eddyctl %s\n", EDDYCTL_VERSION);
            free(rest);
            return CLI_EXIT_OK;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    if (help) {
        fputs(usage_text, stdout);
        free(rest);
        return CLI_EXIT_OK;
    }
    if (nrest == 0) {
        fputs(usage_text, stderr);
        free(rest);
        return CLI_EXIT_USAGE;
    }

    static const struct {
        const char *name;
        int (*run)(cli_ctx_t *ctx, int argc, char **argv);
    } commands[] = {
        {"topic", cli_cmd_topic},     {"topics", cli_cmd_topic},  {"group", cli_cmd_group},
        {"groups", cli_cmd_group},    {"config", cli_cmd_config}, {"configs", cli_cmd_config},
        {"cluster", cli_cmd_cluster},
    };
    int rc = -1;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(rest[0], commands[i].name) == 0) {
            rc = commands[i].run(&ctx, nrest - 1, rest + 1);
            break;
        }
    }
    if (rc < 0)
        cli_usage_error("unknown command '%s' (commands: topic, group, config, cluster)", rest[0]);
    if (ctx.connected)
        cli_conn_close(&ctx.conn);
    free(rest);
    return rc;
}
