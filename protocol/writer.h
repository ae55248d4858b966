/*
 * protocol/writer: appends Kafka primitives to a growable buffer.
 *
 * A writer with no buffer only counts, which is how tagged-field sizes and
 * frame lengths are measured before the bytes are written. Allocation failure
 * sticks in err like the reader's errors; callers check once at the end.
 */
#ifndef EDDY_PROTOCOL_WRITER_H
#define EDDY_PROTOCOL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "protocol/reader.h"

/*
 * Records that are not in memory. A Fetch answer's records are ranges of
 * segment files that the broker sends with sendfile; the encoder writes
 * their length prefix and leaves a gap, so the frame is built without
 * copying them. `owns` says whether a RECORDS value is such a stand-in;
 * `take` learns where its bytes belong (buf->len after the prefix; it is
 * called in the sizing pass too, with buf NULL).
 */
struct proto_writer_s;
typedef struct proto_splice_s {
    bool (*owns)(void *ctx, proto_bytes_t b);
    void (*take)(void *ctx, const struct proto_writer_s *wr, proto_bytes_t b);
    void *ctx;
} proto_splice_t;

typedef struct proto_writer_s {
    buf_t *buf;   /* NULL: sizing only */
    size_t count; /* bytes written (or that would have been), gaps included */
    int err;
    /* Test hook: add an unknown tag to every tagged-field section written. */
    int inject_unknown_tags;
    const proto_splice_t *splice; /* NULL: every value is in memory */
    size_t spliced;               /* bytes of count left as gaps for splice->take */
} proto_writer_t;

static inline void proto_writer_init(proto_writer_t *wr, buf_t *buf)
{
    wr->buf = buf;
    wr->count = 0;
    wr->err = 0;
    wr->inject_unknown_tags = 0;
    wr->splice = NULL;
    wr->spliced = 0;
}

void proto_wr_raw(proto_writer_t *wr, const void *src, size_t len);
void proto_wr_i8(proto_writer_t *wr, int8_t v);
void proto_wr_i16(proto_writer_t *wr, int16_t v);
void proto_wr_i32(proto_writer_t *wr, int32_t v);
void proto_wr_u32(proto_writer_t *wr, uint32_t v);
void proto_wr_i64(proto_writer_t *wr, int64_t v);
void proto_wr_f64(proto_writer_t *wr, double v);
void proto_wr_uvarint(proto_writer_t *wr, uint32_t v);
void proto_wr_uvarlong(proto_writer_t *wr, uint64_t v);
void proto_wr_varint(proto_writer_t *wr, int32_t v);  /* zig-zag */
void proto_wr_varlong(proto_writer_t *wr, int64_t v); /* zig-zag */
void proto_wr_uuid(proto_writer_t *wr, const proto_uuid_t *u);
void proto_wr_string(proto_writer_t *wr, proto_str_t s);
void proto_wr_compact_string(proto_writer_t *wr, proto_str_t s);
void proto_wr_bytes(proto_writer_t *wr, proto_bytes_t b);
void proto_wr_compact_bytes(proto_writer_t *wr, proto_bytes_t b);
void proto_wr_array_len(proto_writer_t *wr, int compact, int32_t n);
/* Byte length of v as an unsigned varint. */
size_t proto_uvarint_size(uint64_t v);
/* Overwrites 4 bytes at pos (already written) with a big-endian int32. */
void proto_wr_patch_i32(proto_writer_t *wr, size_t pos, int32_t v);

/* A view of a C string (NULL gives a null string). */
static inline proto_str_t proto_str_c(const char *s)
{
    proto_str_t v = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    return v;
}

#endif
