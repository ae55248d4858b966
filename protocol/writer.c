#include "protocol/writer.h"

#include <string.h>

void proto_wr_raw(proto_writer_t *wr, const void *src, size_t len)
{
    wr->count += len;
    if (!wr->buf || wr->err)
        return;
    if (buf_append(wr->buf, src, len))
        wr->err = PROTO_ENOMEM;
}

void proto_wr_i8(proto_writer_t *wr, int8_t v)
{
    uint8_t b = (uint8_t)v;
    proto_wr_raw(wr, &b, 1);
}

void proto_wr_i16(proto_writer_t *wr, int16_t v)
{
    uint16_t u = (uint16_t)v;
    uint8_t b[2] = {(uint8_t)(u >> 8), (uint8_t)u};
    proto_wr_raw(wr, b, 2);
}

void proto_wr_u32(proto_writer_t *wr, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    proto_wr_raw(wr, b, 4);
}

void proto_wr_i32(proto_writer_t *wr, int32_t v)
{
    proto_wr_u32(wr, (uint32_t)v);
}

void proto_wr_i64(proto_writer_t *wr, int64_t v)
{
    uint64_t u = (uint64_t)v;
    uint8_t b[8];
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)u;
        u >>= 8;
    }
    proto_wr_raw(wr, b, 8);
}

void proto_wr_f64(proto_writer_t *wr, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    proto_wr_i64(wr, (int64_t)u);
}

void proto_wr_uvarlong(proto_writer_t *wr, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    proto_wr_raw(wr, b, n);
}

void proto_wr_uvarint(proto_writer_t *wr, uint32_t v)
{
    proto_wr_uvarlong(wr, v);
}

void proto_wr_varint(proto_writer_t *wr, int32_t v)
{
    proto_wr_uvarint(wr, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void proto_wr_varlong(proto_writer_t *wr, int64_t v)
{
    proto_wr_uvarlong(wr, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void proto_wr_uuid(proto_writer_t *wr, const proto_uuid_t *u)
{
    proto_wr_raw(wr, u->b, 16);
}

void proto_wr_string(proto_writer_t *wr, proto_str_t s)
{
    if (s.len < 0) {
        proto_wr_i16(wr, -1);
        return;
    }
    proto_wr_i16(wr, (int16_t)s.len);
    proto_wr_raw(wr, s.ptr, (size_t)s.len);
}

void proto_wr_compact_string(proto_writer_t *wr, proto_str_t s)
{
    if (s.len < 0) {
        proto_wr_uvarint(wr, 0);
        return;
    }
    proto_wr_uvarint(wr, (uint32_t)s.len + 1);
    proto_wr_raw(wr, s.ptr, (size_t)s.len);
}

void proto_wr_bytes(proto_writer_t *wr, proto_bytes_t b)
{
    if (b.len < 0) {
        proto_wr_i32(wr, -1);
        return;
    }
    proto_wr_i32(wr, b.len);
    proto_wr_raw(wr, b.ptr, (size_t)b.len);
}

void proto_wr_compact_bytes(proto_writer_t *wr, proto_bytes_t b)
{
    proto_wr_compact_string(wr, b);
}

void proto_wr_array_len(proto_writer_t *wr, int compact, int32_t n)
{
    if (compact)
        proto_wr_uvarint(wr, n < 0 ? 0 : (uint32_t)n + 1);
    else
        proto_wr_i32(wr, n < 0 ? -1 : n);
}

size_t proto_uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void proto_wr_patch_i32(proto_writer_t *wr, size_t pos, int32_t v)
{
    if (!wr->buf || wr->err || pos + 4 > wr->buf->len)
        return;
    uint32_t u = (uint32_t)v;
    uint8_t *p = wr->buf->data + pos;
    p[0] = (uint8_t)(u >> 24);
    p[1] = (uint8_t)(u >> 16);
    p[2] = (uint8_t)(u >> 8);
    p[3] = (uint8_t)u;
}
