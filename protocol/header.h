/*
 * protocol/header: request and response headers.
 *
 * Request header v1 is api_key, api_version, correlation_id and client_id;
 * v2 (flexible request versions) adds a tagged-field section. client_id is
 * an int16-length string in every version, so any header can be read before
 * the broker knows whether it supports the API. Response header v0 is the
 * correlation id; v1 adds tagged fields, except that ApiVersions responses
 * always use v0 so that a client can parse them whatever version it sent.
 */
#ifndef EDDY_PROTOCOL_HEADER_H
#define EDDY_PROTOCOL_HEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/codec.h"
#include "protocol/reader.h"
#include "protocol/writer.h"

typedef struct proto_req_header_s {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    proto_str_t client_id; /* nullable */
} proto_req_header_t;

/* Reads the v1 part of a request header. 0 or a PROTO_E* code. */
int proto_req_header_read(proto_reader_t *rd, proto_req_header_t *hdr);
/* Reads what follows the v1 part for this API version (tags for v2). */
int proto_req_header_finish(proto_reader_t *rd, const proto_api_desc_t *api, int16_t version);
void proto_req_header_write(proto_writer_t *wr, const proto_req_header_t *hdr, const proto_api_desc_t *api);

static inline bool proto_resp_header_flexible(const proto_api_desc_t *api, int16_t version)
{
    return api->key != 18 && proto_api_flexible(api, version);
}
void proto_resp_header_write(proto_writer_t *wr, int32_t correlation_id, bool flexible);

#endif
