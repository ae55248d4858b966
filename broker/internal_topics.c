#include "broker/internal_topics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/diag.h"
#include "broker/broker.h"

#define INTERNAL_REPLAY_MAX_DECOMPRESSED (64u * 1024u * 1024u)

bool broker_topic_is_internal(const char *name, size_t len)
{
    static const char *const names[] = {BROKER_OFFSETS_TOPIC, BROKER_TXN_STATE_TOPIC};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (len == strlen(names[i]) && memcmp(name, names[i], len) == 0)
            return true;
    return false;
}

int broker_internal_topic(broker_t *broker, const char *name, int32_t nparts, int64_t segment_bytes,
                          broker_topic_t **out)
{
    broker_topic_t *t = broker_topics_get(&broker->topics, name, strlen(name));
    if (!t) {
        char segment[32];
        snprintf(segment, sizeof(segment), "%lld", (long long)segment_bytes);
        broker_topic_config_t configs[] = {{"cleanup.policy", "compact"}, {"segment.bytes", segment}};
        int16_t err = broker_topics_create_detached(&broker->topics, name, strlen(name), nparts, configs, 2);
        if (err != KERR_NONE) {
            LOG_ERROR("internal", "cannot create %s: %s", name, proto_kafka_error_name(err));
            return -EIO;
        }
        /* NULL while the store has not applied it yet: the coordinator answers as not available. */
        t = broker_topics_get(&broker->topics, name, strlen(name));
        if (!t)
            return -EAGAIN;
    }
    *out = t;
    return 0;
}

int16_t broker_internal_append(broker_t *broker, broker_topic_t *t, int32_t partition, const proto_batch_build_t *spec,
                               const proto_record_spec_t *records, int n)
{
    broker_partition_t *part = t ? broker_topic_partition(t, partition) : NULL;
    if (!part || !part->log)
        return KERR_KAFKA_STORAGE_ERROR;
    buf_t batch;
    buf_init(&batch);
    if (proto_batch_build(&batch, spec, records, n) != 0) {
        buf_fini(&batch);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    int64_t base;
    int rc = log_partition_append(part->log, batch.data, batch.len, part->replica.leader_epoch, &base);
    buf_fini(&batch);
    if (rc != 0) {
        LOG_ERROR("internal", "append to %s-%d failed: %s", t->name, partition, log_strerror(rc));
        return KERR_KAFKA_STORAGE_ERROR;
    }
    broker_storage_appended(broker, t, partition);
    return KERR_NONE;
}

static void replay_batch(int32_t partition, const uint8_t *batch, size_t len, buf_t *scratch,
                         const broker_replay_t *rp)
{
    proto_batch_header_t hdr;
    if (proto_batch_header_parse(batch, len, &hdr) != 0)
        return;
    proto_reader_t rd;
    if (proto_batch_records(batch, len, &hdr, scratch, INTERNAL_REPLAY_MAX_DECOMPRESSED, &rd) != 0)
        return;
    proto_record_t rec;
    while (proto_rd_remaining(&rd) > 0 && proto_record_next(&rd, &rec) == 0) {
        if (hdr.attributes & PROTO_BATCH_CONTROL) {
            /* marker key: version int16, type int16 */
            if (rec.key.len >= 4 && rp->marker)
                rp->marker(rp->arg, partition, &hdr, (int16_t)((rec.key.ptr[2] << 8) | rec.key.ptr[3]));
        } else if (rp->record) {
            rp->record(rp->arg, partition, &hdr, &rec);
        }
    }
}

void broker_internal_replay(broker_t *broker, broker_topic_t *t, int32_t partition, const broker_replay_t *rp)
{
    (void)broker;
    log_partition_t *log = t->parts[partition].log;
    if (!log)
        return;
    buf_t data, scratch;
    buf_init(&data);
    buf_init(&scratch);
    int64_t offset = log_partition_start_offset(log);
    int64_t end = log_partition_end_offset(log);
    while (offset < end) {
        log_read_t rd;
        if (log_partition_read(log, offset, 1u << 20, 1, &rd) != 0 || rd.len == 0) {
            log_read_release(&rd);
            break;
        }
        data.len = 0;
        int rc = log_read_copy(&rd, &data);
        log_read_release(&rd);
        if (rc != 0)
            break;
        size_t pos = 0;
        int64_t next = offset;
        while (pos + PROTO_BATCH_HEADER_SIZE <= data.len) {
            proto_batch_header_t hdr;
            if (proto_batch_header_parse(data.data + pos, data.len - pos, &hdr) != 0 ||
                proto_batch_total_size(&hdr) > data.len - pos)
                break;
            replay_batch(partition, data.data + pos, proto_batch_total_size(&hdr), &scratch, rp);
            next = proto_batch_last_offset(&hdr) + 1;
            pos += proto_batch_total_size(&hdr);
        }
        if (next <= offset)
            break; /* no progress: stop rather than spin */
        offset = next;
    }
    buf_fini(&data);
    buf_fini(&scratch);
}
