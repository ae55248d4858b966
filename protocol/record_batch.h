/*
 * protocol/record_batch: Kafka RecordBatch v2 (magic 2) as bytes.
 *
 * Batches are kept byte-for-byte as the producer sent them; the broker only
 * reads the fixed header, checks the CRC and the records inside, and rewrites
 * the fields it owns (base offset, partition leader epoch, and for
 * LogAppendTime topics the timestamps). Nothing here allocates except the
 * decompression scratch buffer the caller passes in, which it reuses.
 * Validation answers in Kafka error codes (int16, the Produce response's
 * vocabulary), not PROTO_E* statuses, because its verdict goes on the wire.
 * The builder writes whole batches for tests, benchmarks and the broker's
 * own records (transaction markers, offsets); it is the one allocating part.
 * Record-level encoding lives in protocol/record, codecs in protocol/compress.
 *
 * Header layout (61 bytes, big-endian):
 *   off  field                  type   note
 *   0    base_offset            int64  set by the broker on append
 *   8    batch_length           int32  bytes after this field
 *   12   partition_leader_epoch int32  set by the broker; not in the CRC
 *   16   magic                  int8   2
 *   17   crc                    uint32 CRC-32C of bytes [21, end)
 *   21   attributes             int16  codec 0x07, log-append-time 0x08,
 *                                      transactional 0x10, control 0x20
 *   23   last_offset_delta      int32
 *   27   base_timestamp         int64
 *   35   max_timestamp          int64
 *   43   producer_id            int64
 *   51   producer_epoch         int16
 *   53   base_sequence          int32
 *   57   records_count          int32  never compressed
 *   61   records...                    compressed as a whole when codec != 0
 */
#ifndef EDDY_PROTOCOL_RECORD_BATCH_H
#define EDDY_PROTOCOL_RECORD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "protocol/compress.h" /* proto_codec_t */
#include "protocol/reader.h"
#include "protocol/record.h"

#define PROTO_BATCH_HEADER_SIZE  61
#define PROTO_BATCH_LOG_OVERHEAD 12 /* base_offset + batch_length */
#define PROTO_BATCH_CRC_OFFSET   17
#define PROTO_BATCH_ATTR_OFFSET  21

#define PROTO_BATCH_CODEC_MASK      0x07
#define PROTO_BATCH_LOG_APPEND_TIME 0x08
#define PROTO_BATCH_TRANSACTIONAL   0x10
#define PROTO_BATCH_CONTROL         0x20
#define PROTO_BATCH_DELETE_HORIZON  0x40

typedef struct proto_batch_header_s {
    int64_t base_offset;
    int32_t batch_length;
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
} proto_batch_header_t;

/*
 * Parses the fixed header at p (len bytes available, at least the header).
 * Returns 0, PROTO_ESHORT when fewer than PROTO_BATCH_HEADER_SIZE bytes are
 * given, or PROTO_EINVALID when magic is not 2 or batch_length is smaller
 * than the header. It does not check the CRC or that the whole batch is there.
 */
int proto_batch_header_parse(const uint8_t *p, size_t len, proto_batch_header_t *hdr);
/* Total bytes of the batch (batch_length + 12) as read from its header. */
static inline size_t proto_batch_total_size(const proto_batch_header_t *hdr)
{
    return (size_t)hdr->batch_length + PROTO_BATCH_LOG_OVERHEAD;
}
/* CRC-32C over bytes [21, total) of a whole batch. */
uint32_t proto_batch_compute_crc(const uint8_t *batch, size_t total);
/* 1 when the stored CRC matches the bytes. */
int proto_batch_crc_ok(const uint8_t *batch, size_t total);

/* In-place rewrites of broker-owned fields; neither is covered by the CRC. */
void proto_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void proto_batch_set_leader_epoch(uint8_t *batch, int32_t epoch);

static inline int64_t proto_batch_last_offset(const proto_batch_header_t *hdr)
{
    return hdr->base_offset + hdr->last_offset_delta;
}

/*
 * Points rd at the plain records section of a whole batch (total bytes,
 * header already parsed into hdr): the bytes after the header for an
 * uncompressed batch, or their decompression, written to scratch (its len
 * reset first) and bounded by max_decompressed. Returns 0 or the
 * proto_decompress status (PROTO_EINVALID also for a codec of 5-7 or a
 * compressed batch without scratch, PROTO_ESHORT for total < header); rd is
 * then empty.
 */
int proto_batch_records(const uint8_t *batch, size_t total, const proto_batch_header_t *hdr, buf_t *scratch,
                        size_t max_decompressed, proto_reader_t *rd);

typedef struct proto_batch_limits_s {
    size_t max_batch_bytes;        /* the topic's max.message.bytes */
    size_t max_decompressed_bytes; /* bound on the decompressed records section */
    int allow_zstd;                /* 0 for Produce < v7 */
} proto_batch_limits_t;

/*
 * Validates one batch a client produced, which must occupy exactly len
 * bytes, and fills *hdr (when the header could be read). Returns a Kafka
 * error code:
 *   0  NONE
 *   10 MESSAGE_TOO_LARGE   len > max_batch_bytes, or the records decompress
 *                          to more than max_decompressed_bytes (the Java
 *                          producer splits the batch and retries on this)
 *   2  CORRUPT_MESSAGE     shorter than a header, batch_length + 12 != len,
 *                          or a CRC mismatch
 *   87 INVALID_RECORD      magic != 2; records_count <= 0 or !=
 *                          last_offset_delta + 1; control bit set; a
 *                          producer id without a sequence; codec 5-7; a
 *                          payload that does not decompress; records that do
 *                          not parse, are not records_count many, have offset
 *                          deltas other than 0..n-1, or are followed by bytes
 *   76 UNSUPPORTED_COMPRESSION_TYPE  zstd when !allow_zstd
 *   -1 UNKNOWN_SERVER_ERROR          out of memory
 * For a compressed batch, scratch (reused, its len reset) holds the
 * decompressed records section afterwards. scratch may be NULL: a
 * compressed batch then costs a temporary buffer, freed before returning.
 * base_offset is not checked (Kafka trunk rejects non-zero; clients send 0).
 */
int16_t proto_batch_validate(const uint8_t *batch, size_t len, const proto_batch_limits_t *lim, buf_t *scratch,
                             proto_batch_header_t *hdr);

/*
 * For topics with message.timestamp.type=LogAppendTime: sets the timestamp
 * type bit and max_timestamp = now_ms, then recomputes the CRC. The batch
 * must have been validated (total >= header); shorter input is left alone.
 */
void proto_batch_set_log_append_time(uint8_t *batch, size_t total, int64_t now_ms);

/* The fixed fields of a batch the builder writes. */
typedef struct proto_batch_build_s {
    proto_codec_t codec;
    int16_t attributes;     /* extra bits: PROTO_BATCH_TRANSACTIONAL, _CONTROL, ... */
    int64_t producer_id;    /* -1: none */
    int16_t producer_epoch; /* -1: none */
    int32_t base_sequence;  /* -1: none */
    int64_t base_timestamp;
    int32_t partition_leader_epoch;
} proto_batch_build_t;

/* No codec, no extra bits, no producer (-1s), timestamp 0, epoch -1. */
void proto_batch_build_init(proto_batch_build_t *spec);

/*
 * Appends one complete batch with base offset 0, record i at offset delta i,
 * max_timestamp = base_timestamp + the largest timestamp delta, and a
 * correct CRC; the records section is compressed when spec->codec is not
 * NONE. Returns 0, PROTO_EINVALID (count < 0, unknown codec, a header with
 * a null key, a batch over 2 GiB) or PROTO_ENOMEM; out is unchanged on
 * failure.
 */
int proto_batch_build(buf_t *out, const proto_batch_build_t *spec, const proto_record_spec_t *records, int count);

/*
 * A transaction marker: a control batch (attributes transactional|control)
 * of the producer's id and epoch, base sequence -1, holding one record:
 *   key   version int16 (0), type int16 (0 ABORT, 1 COMMIT)
 *   value version int16 (0), coordinator_epoch int32
 */
#define PROTO_MARKER_ABORT 0
#define PROTO_MARKER_COMMIT 1
int proto_batch_build_marker(buf_t *out, int64_t producer_id, int16_t producer_epoch, int16_t type,
                             int32_t coordinator_epoch, int64_t timestamp);

#endif
