/*
 * fuzz/fuzz_record_batch: libFuzzer entry for record-batch validation.
 *
 * Feeds arbitrary bytes to proto_batch_validate twice: as given, then with
 * batch_length and the CRC made consistent, since random bytes almost never
 * carry a valid CRC and would otherwise stop at the first check. Whatever
 * validation accepts must also iterate cleanly, with exactly records_count
 * records, and must stay valid after a LogAppendTime rewrite; a violation
 * traps. The corpus lives in fuzz/corpus/record_batch and is replayed by
 * ctest fuzz_corpus_record_batch (and protocol/tests/test_record_batch.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/compress.h"
#include "protocol/record.h"
#include "protocol/record_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const proto_batch_limits_t fuzz_lim = {1 << 20, 4 << 20, 1};

/* Reused across runs like the broker reuses its scratch buffer. */
static buf_t scratch;

static void check_accepted(uint8_t *batch, size_t len)
{
    proto_batch_header_t hdr;
    if (proto_batch_header_parse(batch, len, &hdr) != 0)
        __builtin_trap();
    proto_reader_t rd;
    if (proto_batch_records(batch, len, &hdr, &scratch, fuzz_lim.max_decompressed_bytes, &rd) != 0)
        __builtin_trap();
    int32_t n = 0;
    proto_record_t rec;
    while (proto_rd_remaining(&rd) > 0) {
        if (proto_record_next(&rd, &rec) != 0 || rec.offset_delta != n)
            __builtin_trap();
        proto_header_iter_t it;
        proto_header_iter_init(&it, &rec);
        proto_bytes_t k, v;
        int32_t h = 0;
        int rc;
        while ((rc = proto_header_next(&it, &k, &v)) == 1)
            h++;
        if (rc != 0 || h != rec.headers_count)
            __builtin_trap();
        n++;
    }
    if (n != hdr.records_count)
        __builtin_trap();
    proto_batch_set_log_append_time(batch, len, 1234567890123);
    if (proto_batch_validate(batch, len, &fuzz_lim, &scratch, NULL) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_batch_header_t hdr;
    (void)proto_batch_validate(data, size, &fuzz_lim, &scratch, &hdr);
    if (size < PROTO_BATCH_HEADER_SIZE || size > fuzz_lim.max_batch_bytes)
        return 0;

    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
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
    if (proto_batch_validate(copy, size, &fuzz_lim, &scratch, &hdr) == 0)
        check_accepted(copy, size);
    free(copy);
    return 0;
}
