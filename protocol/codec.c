#include "protocol/codec.h"

#include <string.h>

#include "protocol/gen/messages.h"

/* Tag written by the test hook; above any tag a schema uses. */
#define PROTO_INJECTED_TAG 10000u

static inline bool field_present(const proto_field_t *f, int16_t version)
{
    return version >= f->ver_min && version <= f->ver_max;
}

static inline bool field_nullable(const proto_field_t *f, int16_t version)
{
    return f->null_min >= 0 && version >= f->null_min && version <= f->null_max;
}

const proto_api_desc_t *proto_api_find(int16_t key)
{
    for (size_t i = 0; i < proto_api_table_len; i++)
        if (proto_api_table[i].key == key)
            return &proto_api_table[i];
    return NULL;
}

/* ---- defaults ---------------------------------------------------------- */

static void init_value(const proto_field_t *f, int16_t version, void *p)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: *(bool *)p = f->def_int != 0; break;
    case PROTO_T_INT8: *(int8_t *)p = (int8_t)f->def_int; break;
    case PROTO_T_INT16: *(int16_t *)p = (int16_t)f->def_int; break;
    case PROTO_T_INT32: *(int32_t *)p = (int32_t)f->def_int; break;
    case PROTO_T_INT64: *(int64_t *)p = f->def_int; break;
    case PROTO_T_UINT16: *(uint16_t *)p = (uint16_t)f->def_int; break;
    case PROTO_T_FLOAT64: *(double *)p = 0.0; break;
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: {
        proto_bytes_t *b = p;
        b->ptr = f->def_null ? NULL : (const uint8_t *)"";
        b->len = f->def_null ? -1 : 0;
        break;
    }
    case PROTO_T_UUID: memset(p, 0, sizeof(proto_uuid_t)); break;
    case PROTO_T_STRUCT: proto_msg_init(f->sub, version, p); break;
    }
}

void proto_msg_init(const proto_struct_desc_t *desc, int16_t version, void *msg)
{
    memset(msg, 0, desc->size);
    for (uint32_t i = 0; i < desc->nfields; i++) {
        const proto_field_t *f = &desc->fields[i];
        void *p = (char *)msg + f->offset;
        if (f->is_array) {
            proto_array_t *a = p;
            a->n = 0;
            a->items = NULL;
        } else {
            init_value(f, version, p);
        }
    }
}

/* ---- decode ------------------------------------------------------------ */

static int decode_struct(const proto_struct_desc_t *desc, proto_reader_t *rd, int16_t version, bool flex,
                         arena_t *arena, void *out, int depth);

/* Smallest wire size of one element, to bound array counts before allocating. */
static size_t min_wire_size(const proto_field_t *f, bool flex)
{
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL:
    case PROTO_T_INT8: return 1;
    case PROTO_T_INT16:
    case PROTO_T_UINT16: return 2;
    case PROTO_T_INT32: return 4;
    case PROTO_T_INT64:
    case PROTO_T_FLOAT64: return 8;
    case PROTO_T_STRING: return flex ? 1 : 2;
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: return flex ? 1 : 4;
    case PROTO_T_UUID: return 16;
    case PROTO_T_STRUCT: return 1;
    }
    return 1;
}

static void decode_value(const proto_field_t *f, proto_reader_t *rd, int16_t version, bool flex, arena_t *arena,
                         void *p, int depth)
{
    bool nullable = field_nullable(f, version);
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: *(bool *)p = proto_rd_i8(rd) != 0; break; /* any non-zero byte is true, as in Kafka */
    case PROTO_T_INT8: *(int8_t *)p = proto_rd_i8(rd); break;
    case PROTO_T_INT16: *(int16_t *)p = proto_rd_i16(rd); break;
    case PROTO_T_INT32: *(int32_t *)p = proto_rd_i32(rd); break;
    case PROTO_T_INT64: *(int64_t *)p = proto_rd_i64(rd); break;
    case PROTO_T_UINT16: *(uint16_t *)p = proto_rd_u16(rd); break;
    case PROTO_T_FLOAT64: *(double *)p = proto_rd_f64(rd); break;
    case PROTO_T_STRING:
        *(proto_str_t *)p = flex ? proto_rd_compact_string(rd, nullable) : proto_rd_string(rd, nullable);
        break;
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS:
        *(proto_bytes_t *)p = flex ? proto_rd_compact_bytes(rd, nullable) : proto_rd_bytes(rd, nullable);
        break;
    case PROTO_T_UUID: *(proto_uuid_t *)p = proto_rd_uuid(rd); break;
    case PROTO_T_STRUCT: decode_struct(f->sub, rd, version, flex, arena, p, depth + 1); break;
    }
}

static void decode_field(const proto_field_t *f, proto_reader_t *rd, int16_t version, bool flex, arena_t *arena,
                         void *p, int depth)
{
    if (!f->is_array) {
        decode_value(f, rd, version, flex, arena, p, depth);
        return;
    }
    proto_array_t *a = p;
    int32_t n = proto_rd_array_len(rd, flex, min_wire_size(f, flex));
    if (rd->err)
        return;
    if (n < 0) {
        if (!field_nullable(f, version))
            PROTO_RD_FAIL(rd, PROTO_ENEGATIVE);
        a->n = -1;
        a->items = NULL;
        return;
    }
    a->n = n;
    a->items = NULL;
    if (n == 0)
        return;
    a->items = arena_alloc(arena, (size_t)n * f->elem_size);
    if (!a->items) {
        a->n = 0;
        PROTO_RD_FAIL(rd, PROTO_ENOMEM);
        return;
    }
    for (int32_t i = 0; i < n && !rd->err; i++)
        decode_value(f, rd, version, flex, arena, (char *)a->items + (size_t)i * f->elem_size, depth);
}

/* The field a tag names in this struct, present or not at this version. */
static const proto_field_t *find_tag(const proto_struct_desc_t *desc, uint32_t tag)
{
    for (uint32_t i = 0; i < desc->nfields; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (f->tag >= 0 && (uint32_t)f->tag == tag)
            return f;
    }
    return NULL;
}

/*
 * Decoding follows Kafka's generated readers, leniency included, so that a
 * request means here what it means to Kafka:
 *   - tagged fields may come in any order (a repeated tag overwrites);
 *   - a known tag's value is read from the stream itself and its size is not
 *     consulted (Kafka reads the field, then the next tag); only unknown tags
 *     are skipped by their size;
 *   - a tag the schema has but not at this version is an error (Kafka throws);
 *   - bytes left after the message are the caller's to ignore.
 */
static int decode_struct(const proto_struct_desc_t *desc, proto_reader_t *rd, int16_t version, bool flex,
                         arena_t *arena, void *out, int depth)
{
    /* Schemas nest a few levels; anything deeper is a bug, not input. */
    if (depth > 16) {
        PROTO_RD_FAIL(rd, PROTO_EINVALID);
        return rd->err;
    }
    proto_msg_init(desc, version, out);
    for (uint32_t i = 0; i < desc->nfields && !rd->err; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (f->tag >= 0 || !field_present(f, version))
            continue;
        decode_field(f, rd, version, flex, arena, (char *)out + f->offset, depth);
    }
    if (!flex || rd->err)
        return rd->err;
    uint32_t count = proto_rd_uvarint(rd);
    /* Each tagged field takes at least two bytes (tag, size). */
    if (count > proto_rd_remaining(rd) / 2) {
        PROTO_RD_FAIL(rd, PROTO_ECOUNT);
        return rd->err;
    }
    for (uint32_t i = 0; i < count && !rd->err; i++) {
        uint32_t tag = proto_rd_uvarint(rd);
        uint32_t size = proto_rd_uvarint(rd);
        if (rd->err)
            break;
        const proto_field_t *f = find_tag(desc, tag);
        if (!f) {
            proto_rd_skip(rd, size); /* unknown tags are skipped, as the protocol requires */
            continue;
        }
        if (!field_present(f, version)) {
            PROTO_RD_FAIL(rd, PROTO_EINVALID);
            break;
        }
        decode_field(f, rd, version, flex, arena, (char *)out + f->offset, depth);
    }
    return rd->err;
}

int proto_msg_decode(const proto_struct_desc_t *desc, proto_reader_t *rd, int16_t version, bool flexible,
                     arena_t *arena, void *msg)
{
    return decode_struct(desc, rd, version, flexible, arena, msg, 0);
}

/* ---- encode ------------------------------------------------------------ */

static void encode_struct(const proto_struct_desc_t *desc, proto_writer_t *wr, int16_t version, bool flex,
                          const void *in);

static void encode_value(const proto_field_t *f, proto_writer_t *wr, int16_t version, bool flex, const void *p)
{
    bool nullable = field_nullable(f, version);
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: proto_wr_i8(wr, *(const bool *)p ? 1 : 0); break;
    case PROTO_T_INT8: proto_wr_i8(wr, *(const int8_t *)p); break;
    case PROTO_T_INT16: proto_wr_i16(wr, *(const int16_t *)p); break;
    case PROTO_T_INT32: proto_wr_i32(wr, *(const int32_t *)p); break;
    case PROTO_T_INT64: proto_wr_i64(wr, *(const int64_t *)p); break;
    case PROTO_T_UINT16: proto_wr_i16(wr, (int16_t) * (const uint16_t *)p); break;
    case PROTO_T_FLOAT64: proto_wr_f64(wr, *(const double *)p); break;
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: {
        proto_bytes_t b = *(const proto_bytes_t *)p;
        /* Null where the version has no null: send empty rather than an invalid frame. */
        if (b.len < 0 && !nullable) {
            b.ptr = (const uint8_t *)"";
            b.len = 0;
        }
        if (f->type == PROTO_T_RECORDS && b.len > 0 && wr->splice && wr->splice->owns(wr->splice->ctx, b)) {
            if (flex)
                proto_wr_uvarint(wr, (uint32_t)b.len + 1);
            else
                proto_wr_i32(wr, b.len);
            wr->splice->take(wr->splice->ctx, wr, b);
            wr->count += (size_t)b.len;
            wr->spliced += (size_t)b.len;
        } else if (f->type == PROTO_T_STRING)
            flex ? proto_wr_compact_string(wr, b) : proto_wr_string(wr, b);
        else
            flex ? proto_wr_compact_bytes(wr, b) : proto_wr_bytes(wr, b);
        break;
    }
    case PROTO_T_UUID: proto_wr_uuid(wr, p); break;
    case PROTO_T_STRUCT: encode_struct(f->sub, wr, version, flex, p); break;
    }
}

static void encode_field(const proto_field_t *f, proto_writer_t *wr, int16_t version, bool flex, const void *p)
{
    if (!f->is_array) {
        encode_value(f, wr, version, flex, p);
        return;
    }
    const proto_array_t *a = p;
    int32_t n = a->n;
    if (n < 0 && !field_nullable(f, version))
        n = 0;
    proto_wr_array_len(wr, flex, n);
    for (int32_t i = 0; i < n; i++)
        encode_value(f, wr, version, flex, (const char *)a->items + (size_t)i * f->elem_size);
}

static bool struct_is_default(const proto_struct_desc_t *desc, int16_t version, const void *in);

static bool field_is_default(const proto_field_t *f, int16_t version, const void *p)
{
    if (f->is_array)
        return ((const proto_array_t *)p)->n <= 0;
    switch ((proto_type_t)f->type) {
    case PROTO_T_BOOL: return *(const bool *)p == (f->def_int != 0);
    case PROTO_T_INT8: return *(const int8_t *)p == (int8_t)f->def_int;
    case PROTO_T_INT16: return *(const int16_t *)p == (int16_t)f->def_int;
    case PROTO_T_INT32: return *(const int32_t *)p == (int32_t)f->def_int;
    case PROTO_T_INT64: return *(const int64_t *)p == f->def_int;
    case PROTO_T_UINT16: return *(const uint16_t *)p == (uint16_t)f->def_int;
    case PROTO_T_FLOAT64: return *(const double *)p == 0.0;
    case PROTO_T_STRING:
    case PROTO_T_BYTES:
    case PROTO_T_RECORDS: {
        const proto_bytes_t *b = p;
        return f->def_null ? b->len < 0 : b->len == 0;
    }
    case PROTO_T_UUID: {
        static const proto_uuid_t zero;
        return memcmp(p, &zero, sizeof(zero)) == 0;
    }
    case PROTO_T_STRUCT: return struct_is_default(f->sub, version, p);
    }
    return true;
}

static bool struct_is_default(const proto_struct_desc_t *desc, int16_t version, const void *in)
{
    for (uint32_t i = 0; i < desc->nfields; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (field_present(f, version) && !field_is_default(f, version, (const char *)in + f->offset))
            return false;
    }
    return true;
}

static void encode_struct(const proto_struct_desc_t *desc, proto_writer_t *wr, int16_t version, bool flex,
                          const void *in)
{
    uint32_t ntagged = 0;
    for (uint32_t i = 0; i < desc->nfields; i++) {
        const proto_field_t *f = &desc->fields[i];
        if (!field_present(f, version))
            continue;
        const void *p = (const char *)in + f->offset;
        if (f->tag >= 0) {
            if (flex && !field_is_default(f, version, p))
                ntagged++;
            continue;
        }
        encode_field(f, wr, version, flex, p);
    }
    if (!flex)
        return;
    proto_wr_uvarint(wr, ntagged + (wr->inject_unknown_tags ? 1u : 0u));
    /* Tagged fields go out in ascending tag order whatever the schema order. */
    int64_t last = -1;
    for (uint32_t k = 0; k < ntagged; k++) {
        const proto_field_t *next = NULL;
        for (uint32_t i = 0; i < desc->nfields; i++) {
            const proto_field_t *f = &desc->fields[i];
            if (f->tag <= last || !field_present(f, version) ||
                field_is_default(f, version, (const char *)in + f->offset))
                continue;
            if (!next || f->tag < next->tag)
                next = f;
        }
        if (!next)
            break;
        last = next->tag;
        const void *p = (const char *)in + next->offset;
        proto_writer_t sizer;
        proto_writer_init(&sizer, NULL);
        sizer.inject_unknown_tags = wr->inject_unknown_tags;
        encode_field(next, &sizer, version, flex, p);
        proto_wr_uvarint(wr, (uint32_t)next->tag);
        proto_wr_uvarint(wr, (uint32_t)sizer.count);
        encode_field(next, wr, version, flex, p);
    }
    if (wr->inject_unknown_tags) {
        proto_wr_uvarint(wr, PROTO_INJECTED_TAG);
        proto_wr_uvarint(wr, 3);
        proto_wr_raw(wr, "eddy", 3);
    }
}

int proto_msg_encode(const proto_struct_desc_t *desc, proto_writer_t *wr, int16_t version, bool flexible,
                     const void *msg)
{
    encode_struct(desc, wr, version, flexible, msg);
    return wr->err;
}
