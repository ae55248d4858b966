/*
 * broker/records: looking inside stored batches when an answer needs a
 * single record (ListOffsets by timestamp and max timestamp). The log works
 * in whole batches; this reads one batch back, decompresses it if needed
 * and walks its records.
 */
#ifndef EDDY_BROKER_RECORDS_H
#define EDDY_BROKER_RECORDS_H

#include <stdint.h>

#include "base/buf.h"
#include "log/log.h"

/*
 * The first record at or after the batch holding batch_offset whose
 * timestamp is >= ts (want_exact_ts = 0), or equals ts (want_exact_ts = 1,
 * for the max-timestamp lookup). Fills *offset and *timestamp; 0, or a
 * negative code when the batch cannot be read or decoded.
 */
int broker_records_find_time(log_partition_t *log, int64_t batch_offset, int64_t ts, int want_exact_ts, buf_t *scratch,
                             int64_t *offset, int64_t *timestamp);

#endif
