/*
 * broker/legacy_records: the broker side of legacy message sets (magic 0
 * and 1), for the clients that still send Produce v0-2 and Fetch v0-3.
 *
 * Produce hands a partition's records here first: a legacy set comes back
 * as the one RecordBatch v2 Kafka would have converted it to, which then
 * takes the ordinary v2 path (validation, append, answer). Fetch hands the
 * stored batches it read here to be down-converted into the answer. The
 * format work is protocol/message_set; this file only supplies the
 * topic's settings, the request's memory and the logging. Down-converted
 * answers are copies, bounded by what was read plus one batch.
 */
#ifndef EDDY_BROKER_LEGACY_RECORDS_H
#define EDDY_BROKER_LEGACY_RECORDS_H

#include "broker/broker.h"

/*
 * Produce v0-2: when *data holds a legacy message set, replaces *data and *len
 * with the converted v2 batch (in the request's arena); *len becomes 0 when
 * the set held no complete message (Kafka appends nothing and answers
 * NONE). A magic 2 batch is left alone. Returns a Kafka error code.
 */
int16_t broker_legacy_produce(broker_req_t *req, const broker_topic_t *t, int32_t partition, const uint8_t **data,
                              size_t *len);

/*
 * Fetch v0-3: appends the batches of rd down-converted to magic (0 or 1)
 * to out, starting at fetch_offset. Returns 0 or a log error (the read
 * failed); *kerr gets UNSUPPORTED_COMPRESSION_TYPE when the first batch is
 * zstd, NONE otherwise.
 */
int broker_legacy_fetch(const log_read_t *rd, int8_t magic, int64_t fetch_offset, buf_t *out, int16_t *kerr);

#endif
