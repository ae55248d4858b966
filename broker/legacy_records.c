#include "broker/legacy_records.h"

#include <string.h>

#include "base/diag.h"
#include "protocol/message_set.h"

/* The same bound Produce puts on a v2 batch's decompressed records. */
#define LEGACY_MAX_DECOMPRESSED (256u * 1024u * 1024u)

int16_t broker_legacy_produce(broker_req_t *req, const broker_topic_t *t, int32_t partition, const uint8_t **data,
                              size_t *len)
{
    if (*len == 0 || !proto_legacy_magic(*data, *len))
        return KERR_NONE;
    proto_legacy_limits_t lim = {
        .max_message_bytes = (size_t)t->max_message_bytes,
        .max_decompressed_bytes = LEGACY_MAX_DECOMPRESSED,
        .log_append_time = t->log_append_time,
    };
    buf_t out, scratch;
    buf_init(&out);
    buf_init(&scratch);
    int32_t count = 0;
    int16_t err = proto_msgset_to_batch(*data, *len, &lim, &out, &scratch, &count);
    buf_fini(&scratch);
    if (err == KERR_NONE && count > 0) {
        uint8_t *copy = arena_alloc(&req->arena, out.len);
        if (copy) {
            memcpy(copy, out.data, out.len);
            *data = copy;
            *len = out.len;
        } else {
            err = KERR_UNKNOWN_SERVER_ERROR;
        }
    } else if (err == KERR_NONE) {
        *len = 0;
    }
    buf_fini(&out);
    if (err != KERR_NONE) {
        static diag_ratelimit_t rl = DIAG_RATELIMIT_INIT(10);
        unsigned held;
        if (diag_ratelimit_ok(&rl, &held))
            LOG_WARN("produce", "rejected a legacy message set for %s-%d from connection %llu (%s): %s (%u earlier not logged)",
                     t->name, partition, (unsigned long long)req->conn->id, req->conn->peer,
                     proto_kafka_error_name(err), held);
    }
    return err;
}

int broker_legacy_fetch(const log_read_t *rd, int8_t magic, int64_t fetch_offset, buf_t *out, int16_t *kerr)
{
    *kerr = KERR_NONE;
    buf_t raw, scratch, inner;
    buf_init(&raw);
    buf_init(&scratch);
    buf_init(&inner);
    int rc = log_read_copy(rd, &raw);
    if (rc == 0) {
        proto_downconvert_t dc = {
            .magic = magic,
            .fetch_offset = fetch_offset,
            .max_bytes = raw.len, /* Kafka sends at most what it read, except the first batch */
            .max_decompressed_bytes = LEGACY_MAX_DECOMPRESSED,
        };
        *kerr = proto_msgset_down_convert(raw.data, raw.len, &dc, out, &scratch, &inner);
    }
    buf_fini(&raw);
    buf_fini(&scratch);
    buf_fini(&inner);
    return rc;
}
