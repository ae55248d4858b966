/*
 * protocol/compress: the four record-batch codecs (gzip, snappy, lz4, zstd).
 *
 * Owns the translation between a batch's compressed records section and its
 * plain bytes, in the formats Kafka clients actually write: gzip streams
 * (zlib and raw deflate are accepted too), raw snappy and the xerial-framed
 * snappy of the Java client, LZ4 frames, and zstd frames whose content size
 * may be absent. It knows nothing about records or batches; record_batch
 * calls it. Output always goes to a caller-owned buf_t, appended after what
 * is already there; on failure the buffer's length is restored (its capacity
 * may have grown). Decompression is bounded: the output never grows past
 * max_out bytes, so a small hostile payload cannot make the broker allocate
 * much more than the caller allowed.
 *
 * Thread safety: every call creates and frees its own library context, so
 * the functions may run on any thread at once. The price is one allocation
 * per call (zlib ~40 KiB of state and window, zstd's DCtx ~100 KiB plus its
 * window buffer, an LZ4F context of a few KiB, plus the block buffer for
 * non-contiguous output); a hot path may later keep one context per thread.
 */
#ifndef EDDY_PROTOCOL_COMPRESS_H
#define EDDY_PROTOCOL_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "protocol/reader.h"

/* Batch attribute bits 0-2 (PROTOCOL.md §2.2). 5-7 are unassigned. */
typedef enum proto_codec_e {
    PROTO_CODEC_NONE = 0,
    PROTO_CODEC_GZIP = 1,
    PROTO_CODEC_SNAPPY = 2,
    PROTO_CODEC_LZ4 = 3,
    PROTO_CODEC_ZSTD = 4,
} proto_codec_t;

/* Name for logs ("none", "gzip", ...); "unknown" outside 0-4. */
const char *proto_codec_name(int codec);

/*
 * Appends the decompression of src[0, len) to out. Returns 0,
 * PROTO_EINVALID (corrupt, truncated or trailing garbage, or an unknown
 * codec), PROTO_ELIMIT (more than max_out bytes would result) or
 * PROTO_ENOMEM. PROTO_CODEC_NONE copies.
 */
int proto_decompress(proto_codec_t codec, const uint8_t *src, size_t len, buf_t *out, size_t max_out);

/*
 * Appends the compression of src[0, len) to out: a gzip member, raw snappy
 * (what librdkafka writes; every client reads it), an LZ4 frame with
 * independent 64 KiB blocks (the only kind the Java client reads), or a
 * zstd frame at level 3. Returns 0, PROTO_EINVALID for an unknown codec or
 * PROTO_ENOMEM.
 */
int proto_compress(proto_codec_t codec, const uint8_t *src, size_t len, buf_t *out);

#endif
