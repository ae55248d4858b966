/*
 * fuzz/fuzz_message_set: libFuzzer entry for legacy message sets (magic 0/1).
 *
 * Byte 0 picks the mode, the rest is the input:
 *   bit 0 clear: a produced message set for proto_msgset_to_batch; with
 *                bit 1 set, the outer entries' CRCs are made right first
 *                (random bytes almost never carry one). Whatever converts
 *                must be a batch proto_batch_validate accepts with exactly
 *                the converted count, and down-converting it to magic 0 and
 *                1 must give that many messages back, as whole entries with
 *                good CRCs.
 *   bit 0 set:   stored v2 batches for proto_msgset_down_convert to magic
 *                (bit 3); the output must parse as whole entries.
 * A violation traps. The corpus lives in fuzz/corpus/message_set and is
 * replayed by ctest fuzz_corpus_message_set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "protocol/compress.h"
#include "protocol/kafka_errors.h"
#include "protocol/message_set.h"
#include "protocol/record_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_DECOMPRESSED (4u << 20)

static const proto_legacy_limits_t fuzz_lim = {1 << 20, FUZZ_MAX_DECOMPRESSED, false};

/* Reused across runs like the broker's scratch buffers. */
static buf_t scratch, inner, out, down;

/* Counts the messages of a down-converted set (wrappers opened); traps on anything malformed. */
static int32_t count_down(const buf_t *set, int8_t magic)
{
    proto_reader_t rd;
    proto_reader_init(&rd, set->data, set->len);
    proto_legacy_msg_t m;
    int16_t kerr;
    int rc;
    int32_t n = 0;
    buf_t plain;
    buf_init(&plain);
    while ((rc = proto_legacy_next(&rd, &m, &kerr)) == 1) {
        if (m.magic != magic)
            __builtin_trap();
        int codec = m.attributes & PROTO_LEGACY_CODEC_MASK;
        if (codec == 0) {
            n++;
            continue;
        }
        if (m.value.len < 0 || codec > PROTO_CODEC_LZ4)
            __builtin_trap();
        /* Magic 0 lz4 carries Kafka's broken header checksum: put the right one in a copy to read it. */
        const uint8_t *src = m.value.ptr;
        uint8_t *fixed = NULL;
        size_t vlen = (size_t)m.value.len;
        if (codec == PROTO_CODEC_LZ4 && magic == 0 && vlen >= 7) {
            size_t hc = 6 + ((src[4] & 0x08) ? 8 : 0) + ((src[4] & 0x01) ? 4 : 0);
            if (hc >= vlen || src[hc] != (uint8_t)(proto_xxh32(src, hc) >> 8))
                __builtin_trap();
            fixed = malloc(vlen);
            if (!fixed)
                abort();
            memcpy(fixed, src, vlen);
            fixed[hc] = (uint8_t)(proto_xxh32(src + 4, hc - 4) >> 8);
            src = fixed;
        }
        plain.len = 0;
        int drc = proto_decompress((proto_codec_t)codec, src, vlen, &plain, FUZZ_MAX_DECOMPRESSED * 4);
        free(fixed);
        if (drc != 0)
            __builtin_trap();
        proto_reader_t ird;
        proto_reader_init(&ird, plain.data, plain.len);
        proto_legacy_msg_t im;
        int32_t got = 0;
        while ((rc = proto_legacy_next(&ird, &im, &kerr)) == 1) {
            if (im.magic != magic || (im.attributes & PROTO_LEGACY_CODEC_MASK) != 0)
                __builtin_trap();
            got++;
        }
        if (rc != 0 || ird.p != ird.end || got == 0)
            __builtin_trap();
        n += got;
    }
    buf_fini(&plain);
    if (rc != 0 || rd.p != rd.end)
        __builtin_trap();
    return n;
}

/* Makes the CRC of every outer entry that fits right. */
static void fix_crcs(uint8_t *p, size_t len)
{
    size_t pos = 0;
    while (len - pos >= PROTO_LEGACY_LOG_OVERHEAD + PROTO_LEGACY_MIN_SIZE_V0) {
        uint32_t size = ((uint32_t)p[pos + 8] << 24) | ((uint32_t)p[pos + 9] << 16) | ((uint32_t)p[pos + 10] << 8) |
                        p[pos + 11];
        if (size < PROTO_LEGACY_MIN_SIZE_V0 || size > len - pos - PROTO_LEGACY_LOG_OVERHEAD)
            return;
        uint8_t *m = p + pos + PROTO_LEGACY_LOG_OVERHEAD;
        uint32_t crc = (uint32_t)crc32(0, m + 4, (uInt)(size - 4));
        m[0] = (uint8_t)(crc >> 24);
        m[1] = (uint8_t)(crc >> 16);
        m[2] = (uint8_t)(crc >> 8);
        m[3] = (uint8_t)crc;
        pos += PROTO_LEGACY_LOG_OVERHEAD + size;
    }
}

static void produce_path(const uint8_t *set, size_t len)
{
    out.len = 0;
    int32_t n = 0;
    int16_t e = proto_msgset_to_batch(set, len, &fuzz_lim, &out, &scratch, &n);
    if (e != KERR_NONE || n == 0) {
        if (out.len != 0)
            __builtin_trap();
        return;
    }
    proto_batch_limits_t blim = {SIZE_MAX, FUZZ_MAX_DECOMPRESSED * 2, 1};
    proto_batch_header_t hdr;
    if (proto_batch_validate(out.data, out.len, &blim, &scratch, &hdr) != KERR_NONE || hdr.records_count != n)
        __builtin_trap();
    for (int8_t magic = 0; magic <= 1; magic++) {
        down.len = 0;
        proto_downconvert_t dc = {magic, 0, SIZE_MAX, FUZZ_MAX_DECOMPRESSED * 2};
        if (proto_msgset_down_convert(out.data, out.len, &dc, &down, &scratch, &inner) != KERR_NONE)
            __builtin_trap();
        if (count_down(&down, magic) != n)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    if (mode & 1) {
        down.len = 0;
        int8_t magic = (mode & 8) ? 1 : 0;
        proto_downconvert_t dc = {magic, (mode >> 4) & 3, (size_t)(mode >> 6) * 100 + 1, FUZZ_MAX_DECOMPRESSED};
        int16_t e = proto_msgset_down_convert(p, len, &dc, &down, &scratch, &inner);
        if (e != KERR_NONE && down.len != 0)
            __builtin_trap();
        if (e == KERR_NONE)
            (void)count_down(&down, magic);
        return 0;
    }
    produce_path(p, len);
    if (mode & 2) {
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
            return 0;
        memcpy(copy, p, len);
        fix_crcs(copy, len);
        produce_path(copy, len);
        free(copy);
    }
    return 0;
}
