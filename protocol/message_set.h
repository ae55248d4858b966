/*
 * protocol/message_set: the legacy message sets (magic 0 and 1) that
 * Produce v0-2 carry and Fetch v0-3 answer with.
 *
 * Owns three things: reading a legacy message set (one entry at a time,
 * CRC-32 checked, compressed wrappers opened), converting a produced set
 * into one RecordBatch v2 (what Kafka's LogValidator does on append), and
 * down-converting stored v2 batches into a magic 0 or 1 set for an old
 * consumer (what Kafka's RecordsUtil.downConvert does). It knows nothing of
 * topics, logs or requests: the caller passes the limits and the topic's
 * timestamp type, and gets Kafka error codes back, since they go on the
 * wire. Reading allocates nothing (views into the caller's bytes);
 * conversion writes to caller-owned buffers and is bounded by the caller's
 * decompression limit. The codecs are protocol/compress.
 *
 * Entry layout (big-endian), one per message:
 *   off  field        type    note
 *   0    offset       int64   producer: anything; magic 1 inner: relative
 *   8    message_size int32   bytes after this field (>= 14)
 *   12   crc          uint32  CRC-32 (IEEE) of bytes [16, 12 + size)
 *   16   magic        int8    0 or 1
 *   17   attributes   int8    codec 0x07; magic 1: log-append-time 0x08
 *   18   timestamp    int64   magic 1 only
 *   ..   key          bytes   int32 length, -1 null
 *   ..   value        bytes   int32 length, -1 null; a wrapper's value is
 *                             the compressed inner message set
 * A compressed wrapper holds inner entries of the same magic, themselves
 * uncompressed. Magic 1 inner offsets count from 0 and the wrapper's offset
 * is the last inner one; magic 0 inner offsets are absolute. Magic 0 lz4
 * frames carry a header checksum computed over the wrong bytes (the frame
 * magic included): Kafka ignores it when reading magic 0 and writes it that
 * way for magic 0, and so does this module.
 */
#ifndef EDDY_PROTOCOL_MESSAGE_SET_H
#define EDDY_PROTOCOL_MESSAGE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "protocol/reader.h"

#define PROTO_LEGACY_LOG_OVERHEAD 12 /* offset + message_size */
#define PROTO_LEGACY_MIN_SIZE_V0  14 /* crc + magic + attributes + two lengths */
#define PROTO_LEGACY_MIN_SIZE_V1  22 /* ... + timestamp */
#define PROTO_LEGACY_MAGIC_OFFSET 16
#define PROTO_LEGACY_CODEC_MASK   0x07
#define PROTO_LEGACY_LOG_APPEND_TIME 0x08

typedef struct proto_legacy_msg_s {
    int64_t offset;
    int32_t size; /* message_size */
    int8_t magic;
    int8_t attributes;
    int64_t timestamp; /* -1 for magic 0 */
    proto_bytes_t key; /* len -1: null */
    proto_bytes_t value;
} proto_legacy_msg_t;

/*
 * Reads the next entry at rd into msg, checking its CRC. Returns 1 for an
 * entry; 0 at the end, which is also what a partial trailing entry gives
 * (Kafka stops there and drops those bytes; *kerr is NONE); -1 for a bad
 * entry, with *kerr CORRUPT_MESSAGE (size below the minimum, magic not 0
 * or 1, CRC mismatch, key or value running past the message) or
 * INVALID_RECORD (magic 2: a v2 batch among legacy entries). Bytes after
 * the value are ignored, as Kafka does. A bad entry leaves rd where it was.
 */
int proto_legacy_next(proto_reader_t *rd, proto_legacy_msg_t *msg, int16_t *kerr);

/* 1 when the magic byte of the entry at p says legacy (0 or 1); 0 also for fewer than 17 bytes. */
int proto_legacy_magic(const uint8_t *p, size_t len);

typedef struct proto_legacy_limits_s {
    size_t max_message_bytes;      /* per outer entry: the topic's max.message.bytes */
    size_t max_decompressed_bytes; /* bound on a wrapper's inner set */
    bool log_append_time;          /* the topic's message.timestamp.type */
} proto_legacy_limits_t;

/*
 * Converts the produced message set set[0, len) into one RecordBatch v2,
 * appended to out: base offset 0, record i at offset delta i, timestamps
 * from the messages (magic 0: -1), CreateTime, the wrapper's codec kept
 * (records recompressed), no producer id, correct CRC-32C. *count gets the
 * messages converted; 0 with NONE when the set holds no complete entry
 * (Kafka then appends nothing). scratch is reused for decompression. Errors
 * (out unchanged):
 *   2  CORRUPT_MESSAGE   a bad entry (see proto_legacy_next), outer or inner
 *   10 MESSAGE_TOO_LARGE an outer entry over max_message_bytes, or a wrapper
 *                        decompressing to more than max_decompressed_bytes
 *   87 INVALID_RECORD    entries of different magic; a compressed wrapper
 *                        followed by more entries, with a null value, no
 *                        inner entries, inner entries of another magic or
 *                        compressed, a magic 1 wrapper offset below its last
 *                        inner one (and not 0); zstd or codec 5-7; a value
 *                        that does not decompress
 *   32 INVALID_TIMESTAMP a magic 1 message claiming LogAppendTime (Kafka
 *                        takes it only on a CreateTime topic with a timestamp)
 *   -1 UNKNOWN_SERVER_ERROR out of memory
 */
int16_t proto_msgset_to_batch(const uint8_t *set, size_t len, const proto_legacy_limits_t *lim, buf_t *out,
                              buf_t *scratch, int32_t *count);

typedef struct proto_downconvert_s {
    int8_t magic;                  /* 0 or 1 */
    int64_t fetch_offset;          /* records of uncompressed batches below it are left out */
    size_t max_bytes;              /* bound on the output, except for the first batch converted */
    size_t max_decompressed_bytes; /* bound on one stored batch's records */
} proto_downconvert_t;

/*
 * Down-converts the stored v2 batches in batches[0, len) to a magic 0 or 1
 * message set appended to out, as Kafka does for old consumers: control
 * batches skipped, headers dropped, an uncompressed batch becomes one entry
 * per record (those below fetch_offset dropped), a compressed one becomes
 * one wrapper of the same codec holding all its records; LogAppendTime
 * batches give every message the batch's max timestamp. Whole entries only:
 * output stops before passing max_bytes, but the first batch converted is
 * always returned whole so a consumer cannot get stuck. Stops quietly at
 * bytes it cannot read (the log vouched for them). Returns NONE, or
 * UNSUPPORTED_COMPRESSION_TYPE when a zstd batch comes before anything was
 * written (zstd has no legacy form; a later one just ends the output), or
 * UNKNOWN_SERVER_ERROR when out of memory. scratch and inner are reused.
 */
int16_t proto_msgset_down_convert(const uint8_t *batches, size_t len, const proto_downconvert_t *dc, buf_t *out,
                                  buf_t *scratch, buf_t *inner);

/* XXH32 (seed 0) of p[0, n): the checksum lz4 frames use. */
uint32_t proto_xxh32(const uint8_t *p, size_t n);

#endif
