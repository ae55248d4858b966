/*
 * fuzz/fuzz_append_validate: libFuzzer entry for log/validate.c, Kafka's
 * rules for a client's batch.
 *
 * The input is one Produce records field. It is checked as given and again
 * with the first batch's length and CRC made consistent (random bytes almost
 * never carry a valid CRC), under rules picked from the first byte
 * (LogAppendTime, compacted, a target codec, timestamp bounds). Whatever is
 * accepted must be a batch with a valid CRC that the same rules accept again
 * without changing a byte — the rules are a fixed point (a LogAppendTime
 * stamp instead must carry the bit and now, since a client may not send
 * one); a violation traps.
 * The corpus lives in fuzz/corpus/append_validate and is replayed by ctest
 * fuzz_corpus_append_validate.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reused across runs like the broker reuses its scratch buffer. */
static buf_t scratch, out, again_out;

static void rules_from(uint8_t pick, log_validate_rules_t *rules)
{
    log_validate_rules_init(rules, 1u << 20, 1700000000000LL);
    rules->max_decompressed_bytes = 4u << 20;
    rules->log_append_time = pick & 1;
    rules->compacted = (pick >> 1) & 1;
    rules->allow_zstd = !((pick >> 2) & 1);
    int codec = (pick >> 3) & 7;
    rules->target_codec = codec <= 4 ? codec : -1;
    if (pick & 0x40)
        rules->timestamp_before_max_ms = rules->timestamp_after_max_ms = 86400000;
}

static void check(const log_validate_rules_t *rules, uint8_t *records, size_t len)
{
    /* A client's LogAppendTime batch on a CreateTime topic keeps its max as the
     * CreateTime max while its records read base + delta afterwards: Kafka's
     * own result, and no fixed point. */
    bool lat_in = len > PROTO_BATCH_ATTR_OFFSET + 1 && (records[PROTO_BATCH_ATTR_OFFSET + 1] & PROTO_BATCH_LOG_APPEND_TIME);
    log_validated_t v;
    if (log_validate_batch(rules, records, len, &scratch, &out, &v) != 0)
        return;
    if (!proto_batch_crc_ok(v.batch, v.len) || v.len > len + (v.rebuilt ? v.len : 0))
        __builtin_trap();
    if (rules->log_append_time) {
        if (!(v.hdr.attributes & PROTO_BATCH_LOG_APPEND_TIME) || v.hdr.max_timestamp != rules->now_ms)
            __builtin_trap();
        return;
    }
    if (lat_in)
        return;
    uint8_t *copy = malloc(v.len);
    if (!copy)
        return;
    memcpy(copy, v.batch, v.len);
    /* compression.type=zstd rebuilds an old client's batch as zstd: it is checked again as a new client's. */
    log_validate_rules_t again = *rules;
    again.allow_zstd = true;
    log_validated_t v2;
    if (log_validate_batch(&again, copy, v.len, &scratch, &again_out, &v2) != 0 || v2.rebuilt || v2.rewritten ||
        v2.len != v.len || memcmp(copy, v.batch, v.len) != 0)
        __builtin_trap();
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    log_validate_rules_t rules;
    rules_from(data[0], &rules);
    data++, size--;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check(&rules, copy, size);
    if (size >= PROTO_BATCH_HEADER_SIZE) {
        memcpy(copy, data, size);
        uint32_t blen = (uint32_t)(size - PROTO_BATCH_LOG_OVERHEAD);
        copy[8] = (uint8_t)(blen >> 24);
        copy[9] = (uint8_t)(blen >> 16);
        copy[10] = (uint8_t)(blen >> 8);
        copy[11] = (uint8_t)blen;
        uint32_t crc = proto_batch_compute_crc(copy, size);
        copy[17] = (uint8_t)(crc >> 24);
        copy[18] = (uint8_t)(crc >> 16);
        copy[19] = (uint8_t)(crc >> 8);
        copy[20] = (uint8_t)crc;
        check(&rules, copy, size);
    }
    free(copy);
    return 0;
}
