/*
 * fuzz/fuzz_records: libFuzzer entry for the per-record decoder.
 *
 * The input is taken as the records section of a batch (already
 * decompressed): a run of length-prefixed records, read with
 * proto_record_next until the bytes run out or a record is rejected.
 *
 * Properties checked for every record the decoder accepts (a violation
 * aborts):
 *   - the reader advanced, and key, value and headers lie inside the input;
 *   - the header iterator yields exactly headers_count headers, then 0, and
 *     never a null header key (proto_record_next promised it checked them);
 *   - writing the record back with proto_record_write and reading that gives
 *     the same timestamp_delta, offset_delta, key, value and headers, and
 *     consumes the written bytes exactly. Bytes are not compared with the
 *     input: attributes are written as 0 and the input may use over-long
 *     varints, both of which the reader accepts.
 * A rejected record must leave its error in the reader, so the caller's loop
 * ends.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "protocol/reader.h"
#include "protocol/record.h"
#include "protocol/writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static buf_t out;

static bool inside(proto_bytes_t b, const uint8_t *lo, const uint8_t *hi)
{
    if (b.len < 0)
        return b.len == -1;
    return b.ptr >= lo && (size_t)(hi - b.ptr) >= (size_t)b.len;
}

static bool same_bytes(proto_bytes_t a, proto_bytes_t b)
{
    if (a.len != b.len)
        return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

/* Collects the headers of an accepted record; aborts if iteration disagrees with the count. */
static proto_header_spec_t *collect_headers(const proto_record_t *rec, const uint8_t *lo, const uint8_t *hi)
{
    proto_header_spec_t *hs = calloc((size_t)rec->headers_count + 1, sizeof(*hs));
    if (!hs)
        abort();
    proto_header_iter_t it;
    proto_header_iter_init(&it, rec);
    int32_t n = 0;
    int rc;
    proto_bytes_t k, v;
    while ((rc = proto_header_next(&it, &k, &v)) == 1) {
        if (n >= rec->headers_count || k.len < 0 || !inside(k, lo, hi) || !inside(v, lo, hi))
            abort();
        hs[n].key = k;
        hs[n].value = v;
        n++;
    }
    if (rc != 0 || n != rec->headers_count)
        abort();
    return hs;
}

static void check_rewrite(const proto_record_t *rec, const proto_header_spec_t *hs)
{
    proto_record_spec_t spec = {
        .key = rec->key,
        .value = rec->value,
        .timestamp_delta = rec->timestamp_delta,
        .headers = hs,
        .headers_count = rec->headers_count,
    };
    proto_writer_t wr;
    out.len = 0;
    proto_writer_init(&wr, &out);
    proto_record_write(&wr, &spec, rec->offset_delta);
    if (wr.err)
        abort();

    proto_reader_t rd;
    proto_reader_init(&rd, out.data, out.len);
    proto_record_t back;
    if (proto_record_next(&rd, &back) != 0 || proto_rd_remaining(&rd) != 0)
        abort();
    if (back.attributes != 0 || back.timestamp_delta != rec->timestamp_delta ||
        back.offset_delta != rec->offset_delta || back.headers_count != rec->headers_count ||
        !same_bytes(back.key, rec->key) || !same_bytes(back.value, rec->value))
        abort();
    proto_header_iter_t it;
    proto_header_iter_init(&it, &back);
    proto_bytes_t k, v;
    for (int32_t i = 0; i < back.headers_count; i++) {
        if (proto_header_next(&it, &k, &v) != 1 || !same_bytes(k, hs[i].key) || !same_bytes(v, hs[i].value))
            abort();
    }
    if (proto_header_next(&it, &k, &v) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *hi = data + size;
    proto_reader_t rd;
    proto_reader_init(&rd, data, size);
    while (proto_rd_remaining(&rd) > 0) {
        const uint8_t *before = rd.p;
        proto_record_t rec;
        if (proto_record_next(&rd, &rec) != 0) {
            if (rd.err == 0)
                abort();
            break;
        }
        if (rd.p <= before || rd.p > hi)
            abort();
        if (!inside(rec.key, before, rd.p) || !inside(rec.value, before, rd.p))
            abort();
        if (rec.headers_count < 0 || rec.headers < before || rec.headers + rec.headers_len > rd.p)
            abort();
        proto_header_spec_t *hs = collect_headers(&rec, before, rd.p);
        check_rewrite(&rec, hs);
        free(hs);
    }
    /* Once failed, the reader stays failed: a second call must not read on. */
    if (rd.err) {
        proto_record_t rec;
        if (proto_record_next(&rd, &rec) == 0)
            abort();
    }
    return 0;
}
