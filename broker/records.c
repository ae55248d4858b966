#include "broker/records.h"

#include <stdbool.h>

#include "protocol/record.h"
#include "protocol/record_batch.h"

#define RECORDS_MAX_DECOMPRESSED (256u * 1024u * 1024u)

int broker_records_find_time(log_partition_t *log, int64_t batch_offset, int64_t ts, int want_exact_ts, buf_t *scratch,
                             int64_t *offset, int64_t *timestamp)
{
    log_read_t rd;
    int rc = log_partition_read(log, batch_offset, 1, 1, &rd);
    if (rc != 0)
        return rc;
    buf_t raw;
    buf_init(&raw);
    rc = log_read_copy(&rd, &raw);
    log_read_release(&rd);
    proto_batch_header_t hdr;
    if (rc == 0)
        rc = proto_batch_header_parse(raw.data, raw.len, &hdr);
    if (rc == 0 && proto_batch_total_size(&hdr) > raw.len)
        rc = PROTO_ESHORT;
    proto_reader_t recs;
    if (rc == 0)
        rc =
            proto_batch_records(raw.data, proto_batch_total_size(&hdr), &hdr, scratch, RECORDS_MAX_DECOMPRESSED, &recs);
    if (rc != 0) {
        buf_fini(&raw);
        return rc;
    }
    /* Fallback: the batch itself (its timestamp is the batch's max). */
    *offset = hdr.base_offset;
    *timestamp = hdr.max_timestamp;
    bool append_time = (hdr.attributes & PROTO_BATCH_LOG_APPEND_TIME) != 0;
    proto_record_t rec;
    while (proto_rd_remaining(&recs) > 0 && proto_record_next(&recs, &rec) == 0) {
        int64_t rts = append_time ? hdr.max_timestamp : hdr.base_timestamp + rec.timestamp_delta;
        int64_t roff = hdr.base_offset + rec.offset_delta;
        if (roff < batch_offset && !want_exact_ts)
            continue;
        if (want_exact_ts ? rts == ts : rts >= ts) {
            *offset = roff;
            *timestamp = rts;
            break;
        }
    }
    buf_fini(&raw);
    return 0;
}
