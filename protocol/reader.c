#include "protocol/reader.h"

#include <string.h>

void proto_rd_fail(proto_reader_t *rd, int err, int line)
{
    if (!rd->err) {
        rd->err = err;
        rd->line = line;
    }
    /* Park the cursor at the end so every later read fails fast. */
    rd->p = rd->end;
}

#define rd_take proto_rd_take_

uint16_t proto_rd_u16(proto_reader_t *rd)
{
    const uint8_t *p = rd_take(rd, 2, __LINE__);
    return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

int16_t proto_rd_i16(proto_reader_t *rd)
{
    return (int16_t)proto_rd_u16(rd);
}

uint32_t proto_rd_u32(proto_reader_t *rd)
{
    const uint8_t *p = rd_take(rd, 4, __LINE__);
    return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3] : 0;
}

int32_t proto_rd_i32(proto_reader_t *rd)
{
    return (int32_t)proto_rd_u32(rd);
}

int64_t proto_rd_i64(proto_reader_t *rd)
{
    const uint8_t *p = rd_take(rd, 8, __LINE__);
    if (!p)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

double proto_rd_f64(proto_reader_t *rd)
{
    uint64_t v = (uint64_t)proto_rd_i64(rd);
    double d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

proto_uuid_t proto_rd_uuid(proto_reader_t *rd)
{
    proto_uuid_t u;
    const uint8_t *p = rd_take(rd, 16, __LINE__);
    if (p)
        memcpy(u.b, p, 16);
    else
        memset(u.b, 0, 16);
    return u;
}

void proto_rd_skip(proto_reader_t *rd, size_t n)
{
    (void)rd_take(rd, n, __LINE__);
}

static proto_bytes_t rd_view(proto_reader_t *rd, int64_t len, int nullable, int line)
{
    proto_bytes_t v = {NULL, -1};
    /* Kafka reads any negative length as null, and refuses it only where null is not allowed. */
    if (len < 0) {
        if (!nullable)
            proto_rd_fail(rd, PROTO_ENEGATIVE, line);
        return v;
    }
    const uint8_t *p = rd_take(rd, (size_t)len, line);
    if (!p)
        return v;
    v.ptr = p;
    v.len = (int32_t)len;
    return v;
}

proto_str_t proto_rd_string(proto_reader_t *rd, int nullable)
{
    int16_t len = proto_rd_i16(rd);
    return rd_view(rd, len, nullable, __LINE__);
}

proto_str_t proto_rd_compact_string(proto_reader_t *rd, int nullable)
{
    uint32_t n = proto_rd_uvarint(rd);
    if (rd->err)
        return (proto_str_t){NULL, -1};
    /* Strings are capped at int16 like their non-compact form. */
    if (n > 0x8000u) {
        PROTO_RD_FAIL(rd, PROTO_ECOUNT);
        return (proto_str_t){NULL, -1};
    }
    return rd_view(rd, (int64_t)n - 1, nullable, __LINE__);
}

proto_bytes_t proto_rd_bytes(proto_reader_t *rd, int nullable)
{
    int32_t len = proto_rd_i32(rd);
    return rd_view(rd, len, nullable, __LINE__);
}

proto_bytes_t proto_rd_compact_bytes(proto_reader_t *rd, int nullable)
{
    uint32_t n = proto_rd_uvarint(rd);
    if (rd->err)
        return (proto_bytes_t){NULL, -1};
    if (n > 0x7fffffffu) {
        PROTO_RD_FAIL(rd, PROTO_ECOUNT);
        return (proto_bytes_t){NULL, -1};
    }
    return rd_view(rd, (int64_t)n - 1, nullable, __LINE__);
}

int32_t proto_rd_array_len(proto_reader_t *rd, int compact, size_t min_elem_size)
{
    int64_t n;
    if (compact) {
        uint32_t u = proto_rd_uvarint(rd);
        n = (int64_t)u - 1;
    } else {
        n = proto_rd_i32(rd);
    }
    if (rd->err)
        return 0;
    /* Any negative count reads as null, as in Kafka; the caller refuses it where null is not allowed. */
    if (n < 0)
        return -1;
    if (n > 0) {
        /* Every element takes at least one byte on the wire, even an empty struct's tag section. */
        size_t min = min_elem_size ? min_elem_size : 1;
        if ((uint64_t)n > proto_rd_remaining(rd) / min) {
            PROTO_RD_FAIL(rd, PROTO_ECOUNT);
            return 0;
        }
    }
    return (int32_t)n;
}

void proto_rd_skip_tags(proto_reader_t *rd)
{
    uint32_t count = proto_rd_uvarint(rd);
    if (count > proto_rd_remaining(rd)) {
        PROTO_RD_FAIL(rd, PROTO_ECOUNT);
        return;
    }
    for (uint32_t i = 0; i < count && !rd->err; i++) {
        (void)proto_rd_uvarint(rd);
        uint32_t size = proto_rd_uvarint(rd);
        proto_rd_skip(rd, size);
    }
}
