#include <stdint.h>
#include <string.h>

#include "log/log.h"

void log_config_defaults(log_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->segment_bytes = 1024 * 1024 * 1024;
    cfg->index_interval_bytes = 4096;
    cfg->index_max_bytes = 10 * 1024 * 1024;
    cfg->roll_ms = 7LL * 24 * 60 * 60 * 1000;
    cfg->retention_ms = -1;
    cfg->retention_bytes = -1;
    cfg->recovery_point = -1;
    cfg->log_start_offset = -1;
    cfg->clean_shutdown = 0;
    cfg->compact = 0;
    cfg->delete_retention_ms = 24LL * 60 * 60 * 1000;
    cfg->min_cleanable_dirty_ratio = 0.5;
    cfg->min_compaction_lag_ms = 0;
    cfg->max_compaction_lag_ms = INT64_MAX;
    cfg->cleaner_point = -1;
    cfg->producer_id_expiration_ms = 24LL * 60 * 60 * 1000;
}

const char *log_strerror(int err)
{
    switch (err) {
#define LOG_ERRNO_TEXT(name, value, text)                                                                              \
    case name: return text;
        LOG_ERRNO_MAP(LOG_ERRNO_TEXT)
#undef LOG_ERRNO_TEXT
    default: break;
    }
    if (err == 0)
        return "success";
    return strerror(-err);
}
