#include "protocol/header.h"

/*
 * Request header, as read here:
 *   api_key        int16
 *   api_version    int16
 *   correlation_id int32
 *   client_id      nullable string, int16 length (even in v2)
 *   tagged fields  v2 only
 */
int proto_req_header_read(proto_reader_t *rd, proto_req_header_t *hdr)
{
    hdr->api_key = proto_rd_i16(rd);
    hdr->api_version = proto_rd_i16(rd);
    hdr->correlation_id = proto_rd_i32(rd);
    hdr->client_id = proto_rd_string(rd, 1);
    return rd->err;
}

int proto_req_header_finish(proto_reader_t *rd, const proto_api_desc_t *api, int16_t version)
{
    if (proto_api_flexible(api, version))
        proto_rd_skip_tags(rd);
    return rd->err;
}

void proto_req_header_write(proto_writer_t *wr, const proto_req_header_t *hdr, const proto_api_desc_t *api)
{
    proto_wr_i16(wr, hdr->api_key);
    proto_wr_i16(wr, hdr->api_version);
    proto_wr_i32(wr, hdr->correlation_id);
    proto_wr_string(wr, hdr->client_id);
    if (api && proto_api_flexible(api, hdr->api_version))
        proto_wr_uvarint(wr, 0);
}

void proto_resp_header_write(proto_writer_t *wr, int32_t correlation_id, bool flexible)
{
    proto_wr_i32(wr, correlation_id);
    if (flexible)
        proto_wr_uvarint(wr, 0);
}
