/*
 * fuzz/fuzz_decompress: libFuzzer entry for the four record-batch codecs.
 *
 * Input layout:
 *   0   codec selector   uint8  % 5: none, gzip, snappy (raw or xerial, the
 *                               decoder tells them apart), lz4, zstd
 *   1   output bound     uint8  max_out = byte * 1024 + 17 (17 .. ~256 KiB),
 *                               small enough that hostile expansion hits it
 *   2.. compressed payload
 *
 * proto_decompress must append at most max_out bytes after what the buffer
 * already holds, restore the length on failure, and never read outside the
 * payload (the replay test hands it an exact-size copy). When it succeeds,
 * the plain bytes are compressed with the same codec and decompressed again,
 * and must come back identical. A violation traps. The corpus lives in
 * fuzz/corpus/decompress and is replayed by ctest fuzz_corpus_decompress.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "protocol/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reused across runs, like the broker's scratch buffers. */
static buf_t plain, packed, again;

/* What sits in the output buffer before the call: the decoder must keep it. */
static const uint8_t prefix[3] = {0xde, 0xad, 0x01};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    proto_codec_t codec = (proto_codec_t)(data[0] % 5);
    size_t max_out = (size_t)data[1] * 1024 + 17;
    const uint8_t *src = data + 2;
    size_t len = size - 2;

    plain.len = 0;
    if (buf_append(&plain, prefix, sizeof(prefix)) != 0)
        return 0;
    int rc = proto_decompress(codec, src, len, &plain, max_out);
    if (plain.len < sizeof(prefix) || memcmp(plain.data, prefix, sizeof(prefix)) != 0)
        __builtin_trap();
    if (rc != 0) {
        if (plain.len != sizeof(prefix))
            __builtin_trap();
        return 0;
    }
    size_t out_len = plain.len - sizeof(prefix);
    if (out_len > max_out)
        __builtin_trap();
    if (codec == PROTO_CODEC_NONE && (out_len != len || memcmp(plain.data + sizeof(prefix), src, len) != 0))
        __builtin_trap();

    /* Round trip through our own compressor: what we accept, we can write back. */
    packed.len = 0;
    if (proto_compress(codec, plain.data + sizeof(prefix), out_len, &packed) != 0)
        return 0; /* only PROTO_ENOMEM is possible for a known codec */
    again.len = 0;
    if (proto_decompress(codec, packed.data, packed.len, &again, out_len) != 0)
        __builtin_trap();
    if (again.len != out_len || (out_len && memcmp(again.data, plain.data + sizeof(prefix), out_len) != 0))
        __builtin_trap();
    return 0;
}
