/*
 * fuzz/fuzz_request: libFuzzer entry for the message codec, both directions.
 *
 * The first byte picks the direction; the rest is laid out as follows.
 *
 *   direction  bytes after the first       what is exercised
 *   even       request frame body          the broker's path: request header
 *                                          (v1 part), API lookup, version
 *                                          check, header tags, request body
 *   odd        api_key int16,              the client's path: response header
 *              api_version int16,          (correlation id, tags when the
 *              response frame body         response header is flexible),
 *                                          response body
 *
 * A response frame does not name its API or version (the client knows them
 * from the correlation id), so the response direction takes both from the
 * input. A frame body is what follows the 4-byte size prefix.
 *
 * Whatever decodes must survive the round trip: encoding the decoded message,
 * decoding that encoding and encoding again gives the same bytes, and the
 * second decode consumes its input exactly. The first encoding may differ from
 * the input (unknown tags are dropped, tagged fields at their default are not
 * written), which is why the comparison is between the two encodings. A
 * violation aborts, which libFuzzer and the replay test both report.
 *
 * The arena limit stands in for the broker's per-request limit, scaled down so
 * that a fuzzer hitting it finds ENOMEM paths rather than the RSS limit.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "protocol/codec.h"
#include "protocol/gen/messages.h"
#include "protocol/header.h"
#include "protocol/reader.h"
#include "protocol/writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ARENA_LIMIT (16u * 1024u * 1024u)

/* Reused across runs like the broker reuses its per-connection buffers. */
static buf_t enc1;
static buf_t enc2;

static void encode_into(buf_t *out, const proto_struct_desc_t *desc, int16_t version, bool flex, const void *msg)
{
    proto_writer_t wr;
    out->len = 0;
    proto_writer_init(&wr, out);
    /* Encoding a decoded message can only fail by running out of memory. */
    if (proto_msg_encode(desc, &wr, version, flex, msg) != 0 || wr.err != 0)
        abort();
}

/* decode(x) succeeded into msg: encode, decode, encode must be a fixed point. */
static void check_roundtrip(const proto_struct_desc_t *desc, int16_t version, bool flex, const void *msg)
{
    encode_into(&enc1, desc, version, flex, msg);

    arena_t arena;
    arena_init(&arena, FUZZ_ARENA_LIMIT);
    void *back = arena_alloc(&arena, desc->size);
    if (!back)
        abort();
    proto_reader_t rd;
    proto_reader_init(&rd, enc1.data, enc1.len);
    if (proto_msg_decode(desc, &rd, version, flex, &arena, back) != 0)
        abort(); /* we could not read what we wrote */
    if (proto_rd_remaining(&rd) != 0)
        abort(); /* what we wrote was longer than what we read back */

    encode_into(&enc2, desc, version, flex, back);
    if (enc1.len != enc2.len || (enc1.len && memcmp(enc1.data, enc2.data, enc1.len) != 0))
        abort(); /* the message changed on the way through */
    arena_fini(&arena);
}

static void decode_body(const proto_struct_desc_t *desc, proto_reader_t *rd, int16_t version, bool flex)
{
    arena_t arena;
    arena_init(&arena, FUZZ_ARENA_LIMIT);
    void *msg = arena_alloc(&arena, desc->size);
    if (msg && proto_msg_decode(desc, rd, version, flex, &arena, msg) == 0) {
        /* The broker ignores bytes left after the message, as Kafka does; the round trip holds either way. */
        check_roundtrip(desc, version, flex, msg);
    }
    arena_fini(&arena);
}

/* The header we read must come back unchanged when written and read again. */
static void check_header_roundtrip(const proto_req_header_t *hdr, const proto_api_desc_t *api)
{
    buf_t out;
    buf_init(&out);
    proto_writer_t wr;
    proto_writer_init(&wr, &out);
    proto_req_header_write(&wr, hdr, api);
    if (wr.err)
        abort();
    proto_reader_t rd;
    proto_reader_init(&rd, out.data, out.len);
    proto_req_header_t back;
    if (proto_req_header_read(&rd, &back) != 0 || proto_req_header_finish(&rd, api, hdr->api_version) != 0)
        abort();
    if (proto_rd_remaining(&rd) != 0 || back.api_key != hdr->api_key || back.api_version != hdr->api_version ||
        back.correlation_id != hdr->correlation_id || back.client_id.len != hdr->client_id.len)
        abort();
    if (back.client_id.len > 0 && memcmp(back.client_id.ptr, hdr->client_id.ptr, (size_t)back.client_id.len) != 0)
        abort();
    buf_fini(&out);
}

static void fuzz_request(const uint8_t *frame, size_t len)
{
    proto_reader_t rd;
    proto_reader_init(&rd, frame, len);
    proto_req_header_t hdr;
    if (proto_req_header_read(&rd, &hdr) != 0)
        return;
    const proto_api_desc_t *api = proto_api_find(hdr.api_key);
    if (!api)
        return;
    int16_t v = hdr.api_version;
    if (v < api->min_version || v > api->max_version)
        return;
    if (proto_req_header_finish(&rd, api, v) != 0)
        return;
    check_header_roundtrip(&hdr, api);
    decode_body(api->request, &rd, v, proto_api_flexible(api, v));
}

static void fuzz_response(const uint8_t *data, size_t len)
{
    proto_reader_t rd;
    proto_reader_init(&rd, data, len);
    int16_t key = proto_rd_i16(&rd);
    int16_t v = proto_rd_i16(&rd);
    if (rd.err)
        return;
    const proto_api_desc_t *api = proto_api_find(key);
    if (!api || v < api->min_version || v > api->max_version)
        return;
    (void)proto_rd_i32(&rd); /* correlation_id */
    if (proto_resp_header_flexible(api, v))
        proto_rd_skip_tags(&rd);
    if (rd.err)
        return;
    decode_body(api->response, &rd, v, proto_api_flexible(api, v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_response(data + 1, size - 1);
    else
        fuzz_request(data + 1, size - 1);
    return 0;
}
