/* Tests for protocol/compress: round trips, corrupt input, framings, bombs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "protocol/compress.h"

static const proto_codec_t all_codecs[] = {PROTO_CODEC_NONE, PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4,
                                           PROTO_CODEC_ZSTD};
static const proto_codec_t real_codecs[] = {PROTO_CODEC_GZIP, PROTO_CODEC_SNAPPY, PROTO_CODEC_LZ4, PROTO_CODEC_ZSTD};
#define NCODECS(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

/* Half text-like (compressible), half random, so every codec does real work. */
static uint8_t *make_data(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    static const char words[] = "kafka eddy broker record batch offset partition ";
    for (size_t i = 0; i < n; i++)
        p[i] = (i / 4096) % 2 ? (uint8_t)rnd() : (uint8_t)words[i % (sizeof(words) - 1)];
    return p;
}

static void round_trip(proto_codec_t codec, size_t n)
{
    uint8_t *data = make_data(n);
    buf_t comp, plain;
    buf_init(&comp);
    buf_init(&plain);
    assert_int_equal(proto_compress(codec, data, n, &comp), 0);
    /* Output is appended after what the buffer already holds. */
    assert_int_equal(buf_append(&plain, "xyz", 3), 0);
    assert_int_equal(proto_decompress(codec, comp.data, comp.len, &plain, n), 0);
    assert_int_equal(plain.len, n + 3);
    assert_memory_equal(plain.data, "xyz", 3);
    if (n)
        assert_memory_equal(plain.data + 3, data, n);
    buf_fini(&comp);
    buf_fini(&plain);
    free(data);
}

static void every_codec_round_trips_at_many_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 100, 4095, 65536, 65537, 300000, 1 << 20};
    for (size_t c = 0; c < NCODECS(all_codecs); c++)
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
            round_trip(all_codecs[c], sizes[s]);
}

static void compress_appends_after_existing_bytes(void **state)
{
    uint8_t *data = make_data(5000);
    for (size_t c = 0; c < NCODECS(all_codecs); c++) {
        buf_t comp, plain;
        buf_init(&comp);
        buf_init(&plain);
        assert_int_equal(buf_append(&comp, "HEAD", 4), 0);
        assert_int_equal(proto_compress(all_codecs[c], data, 5000, &comp), 0);
        assert_memory_equal(comp.data, "HEAD", 4);
        assert_int_equal(proto_decompress(all_codecs[c], comp.data + 4, comp.len - 4, &plain, 5000), 0);
        assert_int_equal(plain.len, 5000);
        assert_memory_equal(plain.data, data, 5000);
        buf_fini(&comp);
        buf_fini(&plain);
    }
    free(data);
}

static void every_truncation_of_compressed_data_fails_and_leaves_output_alone(void **state)
{
    uint8_t *data = make_data(3000);
    for (size_t c = 0; c < NCODECS(real_codecs); c++) {
        buf_t comp, plain;
        buf_init(&comp);
        buf_init(&plain);
        assert_int_equal(proto_compress(real_codecs[c], data, 3000, &comp), 0);
        assert_int_equal(buf_append(&plain, "keep", 4), 0);
        for (size_t len = 0; len < comp.len; len++) {
            /* An exact-size copy lets ASan catch any read past the end. */
            uint8_t *cut = malloc(len ? len : 1);
            assert_non_null(cut);
            memcpy(cut, comp.data, len);
            int rc = proto_decompress(real_codecs[c], cut, len, &plain, 1 << 20);
            free(cut);
            if (rc == 0)
                fail_msg("%s accepted a %zu-byte prefix of %zu", proto_codec_name(real_codecs[c]), len, comp.len);
            assert_int_equal(rc, PROTO_EINVALID);
            assert_int_equal(plain.len, 4);
            assert_memory_equal(plain.data, "keep", 4);
        }
        buf_fini(&comp);
        buf_fini(&plain);
    }
    free(data);
}

static void random_garbage_is_rejected_by_every_codec(void **state)
{
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 1 + rnd() % 300;
        uint8_t *junk = malloc(n);
        assert_non_null(junk);
        for (size_t i = 0; i < n; i++)
            junk[i] = (uint8_t)rnd();
        for (size_t c = 0; c < NCODECS(real_codecs); c++) {
            buf_t out;
            buf_init(&out);
            int rc = proto_decompress(real_codecs[c], junk, n, &out, 1 << 20);
            assert_true(rc == PROTO_EINVALID || rc == PROTO_ELIMIT);
            assert_int_equal(out.len, 0);
            buf_fini(&out);
        }
        free(junk);
    }
}

static void trailing_garbage_after_a_stream_is_rejected(void **state)
{
    uint8_t *data = make_data(1000);
    for (size_t c = 0; c < NCODECS(real_codecs); c++) {
        buf_t comp, plain;
        buf_init(&comp);
        buf_init(&plain);
        assert_int_equal(proto_compress(real_codecs[c], data, 1000, &comp), 0);
        assert_int_equal(buf_append(&comp, "\x01\x02\x03\x04\x05\x06\x07", 7), 0);
        assert_int_not_equal(proto_decompress(real_codecs[c], comp.data, comp.len, &plain, 1 << 20), 0);
        assert_int_equal(plain.len, 0);
        buf_fini(&comp);
        buf_fini(&plain);
    }
    free(data);
}

static void unknown_codec_is_invalid(void **state)
{
    buf_t out;
    buf_init(&out);
    assert_int_equal(proto_decompress((proto_codec_t)5, (const uint8_t *)"ab", 2, &out, 100), PROTO_EINVALID);
    assert_int_equal(proto_compress((proto_codec_t)7, (const uint8_t *)"ab", 2, &out), PROTO_EINVALID);
    assert_int_equal(out.len, 0);
    assert_string_equal(proto_codec_name(PROTO_CODEC_LZ4), "lz4");
    assert_string_equal(proto_codec_name(6), "unknown");
    buf_fini(&out);
}

/* ---- framings written by other clients --------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends xerial framing around raw snappy blocks of the given pieces. */
static void xerial_encode(buf_t *out, const uint8_t *data, const size_t *pieces, int npieces)
{
    static const uint8_t hdr[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    assert_int_equal(buf_append(out, hdr, sizeof(hdr)), 0);
    size_t off = 0;
    for (int i = 0; i < npieces; i++) {
        size_t max = snappy_max_compressed_length(pieces[i]);
        assert_int_equal(buf_reserve(out, 4 + max), 0);
        size_t n = max;
        assert_int_equal(snappy_compress((const char *)data + off, pieces[i], (char *)out->data + out->len + 4, &n),
                         SNAPPY_OK);
        put_be32(out->data + out->len, (uint32_t)n);
        out->len += 4 + n;
        off += pieces[i];
    }
}

static void snappy_accepts_xerial_framing(void **state)
{
    uint8_t *data = make_data(100000);
    static const size_t pieces[] = {32768, 32768, 34464};
    buf_t comp, plain;
    buf_init(&comp);
    buf_init(&plain);
    xerial_encode(&comp, data, pieces, 3);
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, comp.data, comp.len, &plain, 100000), 0);
    assert_int_equal(plain.len, 100000);
    assert_memory_equal(plain.data, data, 100000);

    /* A header with no chunks is an empty payload. */
    plain.len = 0;
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, comp.data, 16, &plain, 100), 0);
    assert_int_equal(plain.len, 0);
    buf_fini(&comp);
    buf_fini(&plain);
    free(data);
}

static void snappy_rejects_bad_xerial_chunks(void **state)
{
    uint8_t *data = make_data(5000);
    static const size_t pieces[] = {5000};
    buf_t comp, plain;
    buf_init(&comp);
    buf_init(&plain);
    xerial_encode(&comp, data, pieces, 1);
    /* Truncated inside a chunk, and inside a chunk length. */
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, comp.data, comp.len - 1, &plain, 1 << 20), PROTO_EINVALID);
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, comp.data, 18, &plain, 1 << 20), PROTO_EINVALID);
    /* A negative, a zero and an oversized chunk length. */
    uint8_t saved[4];
    memcpy(saved, comp.data + 16, 4);
    put_be32(comp.data + 16, 0xfffffff0u);
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, comp.data, comp.len, &plain, 1 << 20), PROTO_EINVALID);
    put_be32(comp.data + 16, 0);
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, comp.data, comp.len, &plain, 1 << 20), PROTO_EINVALID);
    put_be32(comp.data + 16, (uint32_t)comp.len);
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, comp.data, comp.len, &plain, 1 << 20), PROTO_EINVALID);
    memcpy(comp.data + 16, saved, 4);
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, comp.data, comp.len, &plain, 1 << 20), 0);
    assert_int_equal(plain.len, 5000);
    buf_fini(&comp);
    buf_fini(&plain);
    free(data);
}

static void gzip_accepts_zlib_raw_deflate_and_concatenated_members(void **state)
{
    uint8_t *data = make_data(20000);
    buf_t out;
    buf_init(&out);
    for (int wbits = 0; wbits < 2; wbits++) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, wbits ? -15 : 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        uint8_t comp[30000];
        zs.next_in = data;
        zs.avail_in = 20000;
        zs.next_out = comp;
        zs.avail_out = sizeof(comp);
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        size_t n = sizeof(comp) - zs.avail_out;
        deflateEnd(&zs);
        out.len = 0;
        assert_int_equal(proto_decompress(PROTO_CODEC_GZIP, comp, n, &out, 20000), 0);
        assert_int_equal(out.len, 20000);
        assert_memory_equal(out.data, data, 20000);
    }
    buf_t comp;
    buf_init(&comp);
    assert_int_equal(proto_compress(PROTO_CODEC_GZIP, data, 7000, &comp), 0);
    assert_int_equal(proto_compress(PROTO_CODEC_GZIP, data + 7000, 13000, &comp), 0);
    out.len = 0;
    assert_int_equal(proto_decompress(PROTO_CODEC_GZIP, comp.data, comp.len, &out, 20000), 0);
    assert_int_equal(out.len, 20000);
    assert_memory_equal(out.data, data, 20000);
    buf_fini(&comp);
    buf_fini(&out);
    free(data);
}

static void gzip_output_is_the_gzip_file_format(void **state)
{
    buf_t comp;
    buf_init(&comp);
    assert_int_equal(proto_compress(PROTO_CODEC_GZIP, (const uint8_t *)"hello", 5, &comp), 0);
    assert_true(comp.len > 18);
    assert_int_equal(comp.data[0], 0x1f);
    assert_int_equal(comp.data[1], 0x8b);
    assert_int_equal(comp.data[2], 8); /* deflate */
    buf_fini(&comp);
}

static void lz4_output_uses_independent_blocks_and_reads_library_defaults(void **state)
{
    uint8_t *data = make_data(200000);
    buf_t comp, out;
    buf_init(&comp);
    buf_init(&out);
    assert_int_equal(proto_compress(PROTO_CODEC_LZ4, data, 200000, &comp), 0);
    static const uint8_t magic[4] = {0x04, 0x22, 0x4d, 0x18};
    assert_memory_equal(comp.data, magic, 4);
    assert_true(comp.data[4] & 0x20); /* block independence: the Java client needs it */

    /* A frame with content size, checksums and linked 4 MiB blocks. */
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.contentSize = 200000;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    prefs.frameInfo.blockSizeID = LZ4F_max4MB;
    prefs.frameInfo.blockMode = LZ4F_blockLinked;
    size_t bound = LZ4F_compressFrameBound(200000, &prefs);
    uint8_t *frame = malloc(bound);
    assert_non_null(frame);
    size_t n = LZ4F_compressFrame(frame, bound, data, 200000, &prefs);
    assert_false(LZ4F_isError(n));
    assert_int_equal(proto_decompress(PROTO_CODEC_LZ4, frame, n, &out, 200000), 0);
    assert_int_equal(out.len, 200000);
    assert_memory_equal(out.data, data, 200000);
    /* The frame checksums catch a flipped byte near the end. */
    frame[n - 10] ^= 0x40;
    out.len = 0;
    assert_int_equal(proto_decompress(PROTO_CODEC_LZ4, frame, n, &out, 200000), PROTO_EINVALID);
    free(frame);
    buf_fini(&comp);
    buf_fini(&out);
    free(data);
}

static void zstd_reads_frames_without_content_size_and_concatenated_frames(void **state)
{
    uint8_t *data = make_data(300000);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
    size_t cap = ZSTD_compressBound(300000);
    uint8_t *comp = malloc(2 * cap);
    assert_non_null(comp);
    ZSTD_outBuffer ob = {comp, cap, 0};
    ZSTD_inBuffer ib = {data, 300000, 0};
    assert_int_equal(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end), 0);
    assert_true(ZSTD_getFrameContentSize(comp, ob.pos) == ZSTD_CONTENTSIZE_UNKNOWN);
    buf_t out;
    buf_init(&out);
    assert_int_equal(proto_decompress(PROTO_CODEC_ZSTD, comp, ob.pos, &out, 300000), 0);
    assert_int_equal(out.len, 300000);
    assert_memory_equal(out.data, data, 300000);

    /* Two frames back to back decode as one payload. */
    size_t first = ob.pos;
    size_t n2 = ZSTD_compress(comp + first, 2 * cap - first, "tail", 4, 1);
    assert_false(ZSTD_isError(n2));
    out.len = 0;
    assert_int_equal(proto_decompress(PROTO_CODEC_ZSTD, comp, first + n2, &out, 300004), 0);
    assert_int_equal(out.len, 300004);
    assert_memory_equal(out.data + 300000, "tail", 4);
    buf_fini(&out);
    free(comp);
    ZSTD_freeCCtx(cctx);
    free(data);
}

/* ---- decompression bombs ------------------------------------------------ */

static void bomb_stops_at_the_limit_without_allocating_past_it(void **state)
{
    size_t big = 16u << 20;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    for (size_t c = 0; c < NCODECS(all_codecs); c++) {
        buf_t comp, out;
        buf_init(&comp);
        buf_init(&out);
        assert_int_equal(proto_compress(all_codecs[c], zeros, big, &comp), 0);
        size_t limit = 1u << 20;
        assert_int_equal(buf_append(&out, "pre", 3), 0);
        assert_int_equal(proto_decompress(all_codecs[c], comp.data, comp.len, &out, limit), PROTO_ELIMIT);
        assert_int_equal(out.len, 3);
        if (out.cap > 3 + limit && out.cap > 256)
            fail_msg("%s grew the output to %zu bytes for a %zu limit", proto_codec_name(all_codecs[c]), out.cap,
                     limit);
        /* One byte short fails; the exact size succeeds. */
        out.len = 0;
        assert_int_equal(proto_decompress(all_codecs[c], comp.data, comp.len, &out, big - 1), PROTO_ELIMIT);
        assert_int_equal(out.len, 0);
        assert_int_equal(proto_decompress(all_codecs[c], comp.data, comp.len, &out, big), 0);
        assert_int_equal(out.len, big);
        buf_fini(&comp);
        buf_fini(&out);
    }
    free(zeros);
}

static void snappy_declared_length_over_limit_fails_before_allocating(void **state)
{
    /* Varint 0xffffffff: a 4 GiB claim in five bytes, then one literal. */
    static const uint8_t claim[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 'a'};
    buf_t out;
    buf_init(&out);
    assert_int_equal(proto_decompress(PROTO_CODEC_SNAPPY, claim, sizeof(claim), &out, 1 << 20), PROTO_ELIMIT);
    assert_int_equal(out.cap, 0);
    buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_codec_round_trips_at_many_sizes),
        cmocka_unit_test(compress_appends_after_existing_bytes),
        cmocka_unit_test(every_truncation_of_compressed_data_fails_and_leaves_output_alone),
        cmocka_unit_test(random_garbage_is_rejected_by_every_codec),
        cmocka_unit_test(trailing_garbage_after_a_stream_is_rejected),
        cmocka_unit_test(unknown_codec_is_invalid),
        cmocka_unit_test(snappy_accepts_xerial_framing),
        cmocka_unit_test(snappy_rejects_bad_xerial_chunks),
        cmocka_unit_test(gzip_accepts_zlib_raw_deflate_and_concatenated_members),
        cmocka_unit_test(gzip_output_is_the_gzip_file_format),
        cmocka_unit_test(lz4_output_uses_independent_blocks_and_reads_library_defaults),
        cmocka_unit_test(zstd_reads_frames_without_content_size_and_concatenated_frames),
        cmocka_unit_test(bomb_stops_at_the_limit_without_allocating_past_it),
        cmocka_unit_test(snappy_declared_length_over_limit_fails_before_allocating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
