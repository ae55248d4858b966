/*
 * eddy: the broker executable. Reads the configuration, opens the data
 * directory, listens, and runs the loop until SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "base/diag.h"
#include "broker/broker.h"

extern char **environ;

static void usage(void)
{
    fprintf(stderr, "usage: eddy [server.properties] [--config FILE] [--<kafka.property> VALUE ...]\n"
                    "  e.g. eddy --listeners PLAINTEXT://127.0.0.1:9092 --log.dirs ./data\n"
                    "  Properties may also come from EDDY_<PROPERTY> environment variables\n"
                    "  (EDDY_LOG_DIRS=./data). See README.md for the list.\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return 0;
    }
    broker_config_t cfg;
    broker_config_defaults(&cfg);
    char err[512];
    if (broker_config_from_args(&cfg, argc, argv, environ, err, sizeof(err)) != 0) {
        fprintf(stderr, "eddy: %s\n", err);
        usage();
        broker_config_free(&cfg);
        return 2;
    }
    diag_set_level((diag_level_t)diag_parse_level(cfg.log_level));
    signal(SIGPIPE, SIG_IGN);
    /* Every partition holds its active segment's .log open and every client a
     * socket: take the whole descriptor allowance the hard limit grants. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    broker_t broker;
    int rc = broker_init(&broker, &loop, &cfg);
    if (rc != 0) {
        LOG_ERROR("broker", "cannot open data directory %s: %s", cfg.log_dirs, strerror(rc < 0 ? -rc : rc));
        broker_config_free(&cfg);
        return 1;
    }
    rc = broker_listen(&broker);
    if (rc != 0) {
        broker_fini(&broker);
        broker_config_free(&cfg);
        return 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    broker_fini(&broker);
    uv_loop_close(&loop);
    LOG_INFO("broker", "stopped");
    broker_config_free(&cfg);
    return broker.exit_code;
}
