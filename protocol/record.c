#include "protocol/record.h"

/* A varint-length view: -1 is null when nullable, below that is an error. */
static proto_bytes_t rd_varint_bytes(proto_reader_t *rd, int nullable)
{
    proto_bytes_t v = {NULL, -1};
    int32_t n = proto_rd_varint(rd);
    if (rd->err)
        return v;
    if (n < 0) {
        if (n != -1 || !nullable)
            PROTO_RD_FAIL(rd, PROTO_ENEGATIVE);
        return v;
    }
    const uint8_t *p = proto_rd_raw(rd, (size_t)n);
    if (p) {
        v.ptr = p;
        v.len = n;
    }
    return v;
}

/* Reads headers_count headers, checking them; returns nothing, errors stick. */
static void rd_headers(proto_reader_t *rd, int32_t count)
{
    for (int32_t i = 0; i < count && !rd->err; i++) {
        (void)rd_varint_bytes(rd, 0);
        (void)rd_varint_bytes(rd, 1);
    }
}

int proto_record_next(proto_reader_t *rd, proto_record_t *rec)
{
    if (rd->err)
        return rd->err;
    int32_t len = proto_rd_varint(rd);
    if (rd->err)
        return rd->err;
    if (len < 0) {
        PROTO_RD_FAIL(rd, PROTO_ENEGATIVE);
        return rd->err;
    }
    const uint8_t *body = proto_rd_raw(rd, (size_t)len);
    if (!body)
        return rd->err;

    proto_reader_t sub;
    proto_reader_init(&sub, body, (size_t)len);
    rec->attributes = proto_rd_i8(&sub);
    rec->timestamp_delta = proto_rd_varlong(&sub);
    rec->offset_delta = proto_rd_varint(&sub);
    rec->key = rd_varint_bytes(&sub, 1);
    rec->value = rd_varint_bytes(&sub, 1);
    rec->headers_count = proto_rd_varint(&sub);
    rec->headers = sub.p;
    if (!sub.err && rec->headers_count < 0)
        PROTO_RD_FAIL(&sub, PROTO_ENEGATIVE);
    /* Each header takes at least two bytes (two length varints). */
    if (!sub.err && (size_t)rec->headers_count > proto_rd_remaining(&sub) / 2)
        PROTO_RD_FAIL(&sub, PROTO_ECOUNT);
    rd_headers(&sub, rec->headers_count);
    rec->headers_len = sub.err ? 0 : (size_t)(sub.p - rec->headers);
    if (!sub.err && proto_rd_remaining(&sub) != 0)
        PROTO_RD_FAIL(&sub, PROTO_ETRAILING);
    if (sub.err) {
        proto_rd_fail(rd, sub.err, sub.line);
        return rd->err;
    }
    return 0;
}

void proto_header_iter_init(proto_header_iter_t *it, const proto_record_t *rec)
{
    proto_reader_init(&it->rd, rec->headers, rec->headers_len);
    it->left = rec->headers_count;
}

int proto_header_next(proto_header_iter_t *it, proto_bytes_t *key, proto_bytes_t *value)
{
    if (it->rd.err)
        return it->rd.err;
    if (it->left <= 0)
        return 0;
    *key = rd_varint_bytes(&it->rd, 0);
    *value = rd_varint_bytes(&it->rd, 1);
    if (it->rd.err)
        return it->rd.err;
    it->left--;
    return 1;
}

static void wr_varint_bytes(proto_writer_t *wr, proto_bytes_t b)
{
    if (b.len < 0) {
        proto_wr_varint(wr, -1);
        return;
    }
    proto_wr_varint(wr, b.len);
    proto_wr_raw(wr, b.ptr, (size_t)b.len);
}

static void wr_record_body(proto_writer_t *wr, const proto_record_spec_t *spec, int32_t offset_delta)
{
    proto_wr_i8(wr, 0);
    proto_wr_varlong(wr, spec->timestamp_delta);
    proto_wr_varint(wr, offset_delta);
    wr_varint_bytes(wr, spec->key);
    wr_varint_bytes(wr, spec->value);
    int32_t n = spec->headers ? spec->headers_count : 0;
    proto_wr_varint(wr, n < 0 ? 0 : n);
    for (int32_t i = 0; i < n; i++) {
        const proto_header_spec_t *h = &spec->headers[i];
        if (h->key.len < 0 && !wr->err)
            wr->err = PROTO_EINVALID;
        wr_varint_bytes(wr, h->key);
        wr_varint_bytes(wr, h->value);
    }
}

void proto_record_write(proto_writer_t *wr, const proto_record_spec_t *spec, int32_t offset_delta)
{
    /* Measure first: the length prefix is a varint, so it cannot be patched. */
    proto_writer_t sizer;
    proto_writer_init(&sizer, NULL);
    wr_record_body(&sizer, spec, offset_delta);
    if (sizer.err && !wr->err)
        wr->err = sizer.err;
    if (sizer.count > INT32_MAX) {
        if (!wr->err)
            wr->err = PROTO_EINVALID;
        return;
    }
    proto_wr_varint(wr, (int32_t)sizer.count);
    wr_record_body(wr, spec, offset_delta);
}
