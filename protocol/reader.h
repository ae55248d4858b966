/*
 * protocol/reader: a bounds-checked cursor over bytes from the network.
 *
 * Every read compares against the bytes remaining. The first failure sticks:
 * err is set, line records the source line that found it, and every later
 * read returns zero, so a decoder checks rd->err once at the end rather than
 * after every field. Strings and bytes come back as views into the caller's
 * buffer (never copied, never NUL-terminated) that live as long as it does.
 * Counts are checked against the bytes left before a caller allocates for
 * them. Varints longer than their type allows are errors.
 */
#ifndef EDDY_PROTOCOL_READER_H
#define EDDY_PROTOCOL_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct proto_reader_s {
    const uint8_t *p;
    const uint8_t *end;
    int err;  /* 0, or the first PROTO_E* that happened */
    int line; /* __LINE__ of the check that failed, for debug logs */
} proto_reader_t;

/* A view of bytes: len -1 means null. */
typedef struct proto_bytes_s {
    const uint8_t *ptr;
    int32_t len;
} proto_bytes_t;
typedef proto_bytes_t proto_str_t;

typedef struct proto_uuid_s {
    uint8_t b[16];
} proto_uuid_t;

enum {
    PROTO_OK = 0,
    PROTO_ESHORT = -1,    /* ran past the end */
    PROTO_EVARINT = -2,   /* varint too long */
    PROTO_ENEGATIVE = -3, /* negative length where not allowed */
    PROTO_ECOUNT = -4,    /* count larger than the bytes left */
    PROTO_ENOMEM = -5,
    PROTO_ETRAILING = -6, /* bytes left over after a decode */
    PROTO_EINVALID = -7,  /* a value the schema forbids */
    PROTO_ELIMIT = -8,    /* output would pass the caller's limit (decompression) */
};

static inline void proto_reader_init(proto_reader_t *rd, const void *data, size_t len)
{
    /* NULL + 0 is undefined behaviour in C; an empty view still needs a real pointer. */
    rd->p = data ? (const uint8_t *)data : (const uint8_t *)"";
    rd->end = rd->p + (data ? len : 0);
    rd->err = 0;
    rd->line = 0;
}
static inline size_t proto_rd_remaining(const proto_reader_t *rd)
{
    return (size_t)(rd->end - rd->p);
}

void proto_rd_fail(proto_reader_t *rd, int err, int line);
#define PROTO_RD_FAIL(rd, e) proto_rd_fail((rd), (e), __LINE__)

/*
 * The primitives record batches are made of are inline: a Produce walks
 * every record of every batch through them, and a call per byte showed in
 * profiles. The rest stays out of line.
 */
static inline const uint8_t *proto_rd_take_(proto_reader_t *rd, size_t n, int line)
{
    if (rd->err || (size_t)(rd->end - rd->p) < n) {
        proto_rd_fail(rd, PROTO_ESHORT, line);
        return NULL;
    }
    const uint8_t *p = rd->p;
    rd->p += n;
    return p;
}

static inline int8_t proto_rd_i8(proto_reader_t *rd)
{
    const uint8_t *p = proto_rd_take_(rd, 1, __LINE__);
    return p ? (int8_t)p[0] : 0;
}

static inline uint32_t proto_rd_uvarint(proto_reader_t *rd)
{
    if (!rd->err && rd->p < rd->end && !(*rd->p & 0x80)) /* the common one-byte case */
        return *rd->p++;
    uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        const uint8_t *p = proto_rd_take_(rd, 1, __LINE__);
        if (!p)
            return 0;
        if (shift == 28 && (*p & 0xf0)) /* more than 32 bits */
            break;
        v |= (uint32_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80))
            return v;
    }
    PROTO_RD_FAIL(rd, PROTO_EVARINT);
    return 0;
}

static inline uint64_t proto_rd_uvarlong(proto_reader_t *rd)
{
    if (!rd->err && rd->p < rd->end && !(*rd->p & 0x80))
        return *rd->p++;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        const uint8_t *p = proto_rd_take_(rd, 1, __LINE__);
        if (!p)
            return 0;
        if (shift == 63 && (*p & 0x7e)) /* more than 64 bits */
            break;
        v |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80))
            return v;
    }
    PROTO_RD_FAIL(rd, PROTO_EVARINT);
    return 0;
}

/* Zig-zag. */
static inline int32_t proto_rd_varint(proto_reader_t *rd)
{
    uint32_t u = proto_rd_uvarint(rd);
    return (int32_t)((u >> 1) ^ (0u - (u & 1u)));
}

static inline int64_t proto_rd_varlong(proto_reader_t *rd)
{
    uint64_t u = proto_rd_uvarlong(rd);
    return (int64_t)((u >> 1) ^ (0ull - (u & 1ull)));
}

/* Returns a pointer to n bytes and advances, or NULL (and err) if fewer remain. */
static inline const uint8_t *proto_rd_raw(proto_reader_t *rd, size_t n)
{
    return proto_rd_take_(rd, n, __LINE__);
}

int16_t proto_rd_i16(proto_reader_t *rd);
int32_t proto_rd_i32(proto_reader_t *rd);
int64_t proto_rd_i64(proto_reader_t *rd);
uint16_t proto_rd_u16(proto_reader_t *rd);
uint32_t proto_rd_u32(proto_reader_t *rd);
double proto_rd_f64(proto_reader_t *rd);
proto_uuid_t proto_rd_uuid(proto_reader_t *rd);
void proto_rd_skip(proto_reader_t *rd, size_t n);

/* Kafka strings and bytes. nullable=0 turns a null into PROTO_ENEGATIVE. */
proto_str_t proto_rd_string(proto_reader_t *rd, int nullable);          /* int16 length */
proto_str_t proto_rd_compact_string(proto_reader_t *rd, int nullable);  /* uvarint length+1 */
proto_bytes_t proto_rd_bytes(proto_reader_t *rd, int nullable);         /* int32 length */
proto_bytes_t proto_rd_compact_bytes(proto_reader_t *rd, int nullable); /* uvarint length+1 */

/*
 * Array count: int32 (-1 = null) or compact (uvarint n+1, 0 = null). Returns
 * -1 for null. A count larger than min_elem_size * count > remaining bytes is
 * rejected, so callers may allocate count elements safely.
 */
int32_t proto_rd_array_len(proto_reader_t *rd, int compact, size_t min_elem_size);
/* Skips a whole tagged-field section, unknown tags included. */
void proto_rd_skip_tags(proto_reader_t *rd);

#endif
