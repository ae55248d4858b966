/*
 * protocol/record: the records inside a RecordBatch v2, one at a time.
 *
 * Owns the per-record encoding (below) for reading and writing. Reading
 * allocates nothing: keys, values and headers come back as views into the
 * caller's (already decompressed) records section. It does not know about
 * batch headers, CRCs or compression; record_batch does, and calls this.
 *
 * Record layout (all varints zig-zag signed):
 *   field             type      note
 *   length            varint    bytes after this field; must be consumed exactly
 *   attributes        int8      unused by Kafka, carried as is
 *   timestamp_delta   varlong   from the batch's base_timestamp
 *   offset_delta      varint    from the batch's base_offset
 *   key_length        varint    -1 = null key
 *   key               bytes
 *   value_length      varint    -1 = null value (a tombstone)
 *   value             bytes
 *   headers_count     varint    >= 0
 *   headers...        [key_length varint >= 0, key, value_length varint
 *                      (-1 = null), value]
 */
#ifndef EDDY_PROTOCOL_RECORD_H
#define EDDY_PROTOCOL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/reader.h"
#include "protocol/writer.h"

typedef struct proto_record_s {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    proto_bytes_t key;   /* len -1: null */
    proto_bytes_t value; /* len -1: null */
    int32_t headers_count;
    const uint8_t *headers; /* the encoded headers, for proto_header_iter_init */
    size_t headers_len;
} proto_record_t;

/*
 * Reads one record at rd and advances past it. Returns 0, or the PROTO_E*
 * code that also sticks in rd->err: PROTO_ESHORT when the record runs past
 * the end (or rd is empty), PROTO_ENEGATIVE for a bad length,
 * PROTO_ETRAILING when the fields do not fill the declared length exactly.
 * Loop with `while (proto_rd_remaining(rd) > 0)`.
 */
int proto_record_next(proto_reader_t *rd, proto_record_t *rec);

/* Walks the headers of a record returned by proto_record_next. */
typedef struct proto_header_iter_s {
    proto_reader_t rd;
    int32_t left;
} proto_header_iter_t;

void proto_header_iter_init(proto_header_iter_t *it, const proto_record_t *rec);
/* 1 and the next header, 0 at the end, or a negative PROTO_E* code. */
int proto_header_next(proto_header_iter_t *it, proto_bytes_t *key, proto_bytes_t *value);

/* What the builder writes for one header and one record. */
typedef struct proto_header_spec_s {
    proto_bytes_t key; /* must not be null */
    proto_bytes_t value;
} proto_header_spec_t;

typedef struct proto_record_spec_s {
    proto_bytes_t key; /* len -1: null */
    proto_bytes_t value;
    int64_t timestamp_delta;
    const proto_header_spec_t *headers;
    int32_t headers_count;
} proto_record_spec_t;

/*
 * Appends one encoded record (length prefix included) with the given
 * offset delta. Errors stick in wr->err; a header with a null key sets
 * PROTO_EINVALID there.
 */
void proto_record_write(proto_writer_t *wr, const proto_record_spec_t *spec, int32_t offset_delta);

#endif
