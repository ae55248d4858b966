/*
 * log/validate: Kafka's rules for a record batch a client appends, in one
 * place for every path that appends on a client's behalf (Produce today;
 * converted legacy message sets and mirrored batches as they come). It owns
 * what Kafka 3.9 checks and rewrites between the request and the log — the
 * framing checks of ProduceRequest.validateRecords, the size and CRC checks
 * of UnifiedLog.analyzeAndValidateRecords, and LogValidator's per-batch and
 * per-record rules — and it changes bytes only where Kafka does:
 *
 *   - exactly one v2 batch per partition; bytes after it that do not make a
 *     complete second batch are dropped (Kafka trims them), a complete
 *     second batch is INVALID_RECORD, a bad size there CORRUPT_MESSAGE;
 *   - size (MESSAGE_TOO_LARGE), CRC-32C (CORRUPT_MESSAGE), offset range and
 *     record count, no control batches, a sequence with a producer id
 *     (INVALID_RECORD); zstd below Produce v7 (UNSUPPORTED_COMPRESSION_TYPE);
 *   - every record parses and the count is exact (INVALID_RECORD); a
 *     compacted topic needs a key in every record (INVALID_RECORD, per
 *     record); CreateTime timestamps within message.timestamp.before.max.ms
 *     / after.max.ms of now, and no client-set LogAppendTime on a
 *     LogAppendTime topic (INVALID_TIMESTAMP, per record);
 *   - the max timestamp is recomputed from the records (CreateTime) or set
 *     to now with the LogAppendTime bit (LogAppendTime); the CRC is
 *     recomputed only when that changed a byte — a producer that fills the
 *     header right is stored as sent, in place, with no copy;
 *   - a batch is rebuilt (records re-encoded into the caller's buffer) when
 *     compression.type names another codec, or when its records' offset
 *     deltas are not 0..n-1 (Kafka rebuilds compressed ones; eddy rebuilds
 *     uncompressed ones too, so offsets in the log stay unique).
 *
 * Offsets, the partition leader epoch, idempotence and transactions are the
 * log's and the coordinator's (log_partition_append_checked, txn_*). No I/O,
 * no clock: the caller passes now.
 */
#ifndef EDDY_LOG_VALIDATE_H
#define EDDY_LOG_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "protocol/record_batch.h"

typedef struct log_validate_rules_s {
    size_t max_batch_bytes;        /* max.message.bytes */
    size_t max_decompressed_bytes; /* bound on one batch's records once decompressed */
    bool allow_zstd;               /* Produce v7 and later */
    bool compacted;                /* cleanup.policy includes compact: every record needs a key */
    bool log_append_time;          /* message.timestamp.type=LogAppendTime */
    int64_t timestamp_before_max_ms;
    int64_t timestamp_after_max_ms;
    int target_codec; /* compression.type as a codec (0-4); -1 keeps the producer's */
    int64_t now_ms;
} log_validate_rules_t;

/* Defaults: Kafka's, nothing bounded but the sizes given. */
void log_validate_rules_init(log_validate_rules_t *rules, size_t max_batch_bytes, int64_t now_ms);

#define LOG_VALIDATE_RECORD_ERRORS_MAX 16

typedef struct log_validated_s {
    uint8_t *batch;           /* what to append: the input (in place) or the caller's out buffer */
    size_t len;               /* its size (bytes after the batch excluded) */
    proto_batch_header_t hdr; /* of that batch, as it will be appended */
    size_t ignored;           /* bytes after the batch that Kafka trims */
    bool rewritten;           /* the header changed in place (max timestamp, timestamp type) and its CRC */
    bool rebuilt;             /* the records were re-encoded into out */
    int64_t log_append_time;  /* now on a LogAppendTime topic, else -1 */
    const char *message;      /* why the batch was refused (static text), or NULL */
    int32_t nrecord_errors;   /* records refused, all of them; the first ones below */
    int32_t record_errors[LOG_VALIDATE_RECORD_ERRORS_MAX];
} log_validated_t;

/*
 * Checks the records field of one partition of a Produce (len bytes at
 * records, which the call may rewrite in place) against rules. Returns a
 * Kafka error code (0 = accepted) and fills *res. scratch holds decompressed
 * records meanwhile; a rebuilt batch is written to out (cleared first), which
 * then owns its bytes until the caller appends them.
 */
int16_t log_validate_batch(const log_validate_rules_t *rules, uint8_t *records, size_t len, buf_t *scratch,
                           buf_t *out, log_validated_t *res);

#endif
