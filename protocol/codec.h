/*
 * protocol/codec: one interpreter for every Kafka message.
 *
 * Messages are described once (protocol/schema/NN_name.def files); the generator turns
 * each description into a C struct and a const descriptor table
 * (protocol/gen/messages.h). This module walks those tables to decode bytes
 * into structs and encode structs into bytes for any API, version and
 * direction, so a version is implemented exactly when its description is.
 *
 * Decoding borrows: strings and bytes point into the caller's frame, arrays
 * are allocated from the caller's arena. Counts are checked against the
 * bytes left before anything is allocated. Unknown tagged fields are skipped.
 * The codec knows nothing of sockets, files or handlers.
 */
#ifndef EDDY_PROTOCOL_CODEC_H
#define EDDY_PROTOCOL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "protocol/reader.h"
#include "protocol/writer.h"

typedef enum proto_type_e {
    PROTO_T_BOOL,
    PROTO_T_INT8,
    PROTO_T_INT16,
    PROTO_T_INT32,
    PROTO_T_INT64,
    PROTO_T_UINT16,
    PROTO_T_FLOAT64,
    PROTO_T_STRING,
    PROTO_T_BYTES,
    PROTO_T_RECORDS,
    PROTO_T_UUID,
    PROTO_T_STRUCT,
} proto_type_t;

/* Every array field has this layout, whatever its element type. */
typedef struct proto_array_s {
    int32_t n; /* -1: null */
    void *items;
} proto_array_t;

#define PROTO_ARRAY_OF(T)                                                                                              \
    struct {                                                                                                           \
        int32_t n;                                                                                                     \
        T *items;                                                                                                      \
    }
typedef PROTO_ARRAY_OF(int8_t) proto_arr_int8_t;
typedef PROTO_ARRAY_OF(int16_t) proto_arr_int16_t;
typedef PROTO_ARRAY_OF(int32_t) proto_arr_int32_t;
typedef PROTO_ARRAY_OF(int64_t) proto_arr_int64_t;
typedef PROTO_ARRAY_OF(proto_str_t) proto_arr_string_t;
typedef PROTO_ARRAY_OF(proto_uuid_t) proto_arr_uuid_t;

typedef struct proto_struct_desc_s proto_struct_desc_t;

typedef struct proto_field_s {
    const char *name;
    uint8_t type; /* proto_type_t; of the element for arrays */
    uint8_t is_array;
    int16_t ver_min; /* versions the field exists in */
    int16_t ver_max;
    int16_t null_min; /* versions in which null is allowed; -1 none */
    int16_t null_max;
    int32_t tag;     /* >= 0: tagged field */
    uint32_t offset; /* in the parent struct */
    uint32_t elem_size;
    const proto_struct_desc_t *sub; /* struct and struct-array fields */
    int64_t def_int;                /* default of numeric and bool fields */
    uint8_t def_null;               /* strings: default null rather than "" */
} proto_field_t;

struct proto_struct_desc_s {
    const char *name;
    uint32_t size;
    uint32_t nfields;
    const proto_field_t *fields;
};

typedef struct proto_api_desc_s {
    int16_t key;
    const char *name;
    int16_t min_version; /* lowest version decoded */
    int16_t max_version;
    int16_t adv_min_version; /* lowest version advertised */
    int16_t flex_min;        /* first flexible version; -1 never */
    const proto_struct_desc_t *request;
    const proto_struct_desc_t *response;
} proto_api_desc_t;

static inline bool proto_api_flexible(const proto_api_desc_t *api, int16_t version)
{
    return api->flex_min >= 0 && version >= api->flex_min;
}

/* Looks an API up in the generated table; NULL when we have no description. */
const proto_api_desc_t *proto_api_find(int16_t key);

/* Sets every field of msg to its default for this version (arrays empty). */
void proto_msg_init(const proto_struct_desc_t *desc, int16_t version, void *msg);
/*
 * Decodes one message body. Returns 0 or a PROTO_E* code (and leaves the
 * reader's err set). Bytes left in the reader afterwards are not an error
 * here; the caller decides (a request frame must be consumed exactly).
 */
int proto_msg_decode(const proto_struct_desc_t *desc, proto_reader_t *rd, int16_t version, bool flexible,
                     arena_t *arena, void *msg);
int proto_msg_encode(const proto_struct_desc_t *desc, proto_writer_t *wr, int16_t version, bool flexible,
                     const void *msg);

#endif
