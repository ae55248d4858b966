#include "protocol/compress.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* First growth step of a streaming decompression; later steps double. */
#define GROW_MIN ((size_t)64 * 1024)
/*
 * zstd frames may ask for a window up to 1 << 27 (the library default).
 * Writers without a known content size (the Java client streams) pick a
 * window from the level, at most 1 << 23 below the "ultra" levels, so the
 * limit follows max_out but never drops below 1 << 24 to keep them working.
 */
#define ZSTD_WINDOW_LOG_FLOOR 24
#define ZSTD_WINDOW_LOG_CEIL  27

const char *proto_codec_name(int codec)
{
    static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    if (codec < 0 || codec > 4)
        return "unknown";
    return names[codec];
}

/* ---- bounded output ---------------------------------------------------- */

/*
 * The output side of one decompression: out grows geometrically, but its
 * capacity is clamped to start + max_out so a bomb never allocates beyond
 * the caller's limit. Growth uses realloc directly because buf_reserve's
 * doubling may overshoot the limit by up to 2x; buf_t frees with free().
 */
typedef struct sink_s {
    buf_t *out;
    size_t start; /* out->len on entry, restored on failure */
    size_t limit; /* max bytes this call may append */
} sink_t;

static size_t sink_used(const sink_t *sk)
{
    return sk->out->len - sk->start;
}
static size_t sink_left(const sink_t *sk)
{
    return sk->limit - sink_used(sk);
}

/* Makes room for at least want more bytes (want <= sink_left). */
static int sink_reserve(sink_t *sk, size_t want)
{
    buf_t *out = sk->out;
    if (out->cap - out->len >= want)
        return 0;
    size_t hard = sk->start + sk->limit; /* no overflow: checked in sink_init */
    size_t cap = out->cap > SIZE_MAX / 2 ? SIZE_MAX : out->cap * 2;
    if (cap < out->len + want)
        cap = out->len + want;
    if (cap > hard)
        cap = hard;
    if (cap < 256 && hard >= 256)
        cap = 256;
    uint8_t *p = realloc(out->data, cap);
    if (!p)
        return PROTO_ENOMEM;
    out->data = p;
    out->cap = cap;
    return 0;
}

/*
 * Returns a window to decompress into, growing out when it is full. A
 * window of 0 bytes means the limit is reached.
 */
static int sink_window(sink_t *sk, uint8_t **dst, size_t *n)
{
    size_t left = sink_left(sk);
    if (left == 0) {
        *dst = NULL;
        *n = 0;
        return 0;
    }
    if (sk->out->cap == sk->out->len) {
        size_t want = sink_used(sk) > GROW_MIN ? sink_used(sk) : GROW_MIN;
        if (want > left)
            want = left;
        int rc = sink_reserve(sk, want);
        if (rc)
            return rc;
    }
    size_t room = sk->out->cap - sk->out->len;
    *dst = sk->out->data + sk->out->len;
    *n = room < left ? room : left;
    return 0;
}

static void sink_init(sink_t *sk, buf_t *out, size_t max_out)
{
    sk->out = out;
    sk->start = out->len;
    sk->limit = max_out > SIZE_MAX - out->len ? SIZE_MAX - out->len : max_out;
}

static int sink_fail(sink_t *sk, int rc)
{
    sk->out->len = sk->start;
    return rc;
}

/* ---- gzip -------------------------------------------------------------- */

static int gzip_magic(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static int zlib_header(const uint8_t *p, size_t n)
{
    return n >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0;
}

/*
 * Kafka's gzip is the gzip file format (RFC 1952). Concatenated members are
 * read as one stream, as gzip readers do. A zlib stream or raw deflate is
 * accepted too: it costs two byte comparisons.
 */
static int gzip_decompress(const uint8_t *src, size_t len, sink_t *sk)
{
    int wbits = 15 + 32; /* auto-detect gzip or zlib */
    if (!gzip_magic(src, len) && !zlib_header(src, len))
        wbits = -15;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, wbits) != Z_OK)
        return PROTO_ENOMEM;
    size_t pos = 0;
    int rc = PROTO_EINVALID;
    uint8_t probe[16];
    for (;;) {
        uint8_t *dst;
        size_t room;
        int wrc = sink_window(sk, &dst, &room);
        if (wrc) {
            rc = wrc;
            break;
        }
        int probing = room == 0;
        if (probing) {
            dst = probe;
            room = sizeof(probe);
        }
        size_t in_n = len - pos > UINT_MAX ? UINT_MAX : len - pos;
        size_t out_n = room > UINT_MAX ? UINT_MAX : room;
        zs.next_in = (Bytef *)(uintptr_t)(src + pos); /* zlib never writes input */
        zs.avail_in = (uInt)in_n;
        zs.next_out = dst;
        zs.avail_out = (uInt)out_n;
        int zrc = inflate(&zs, Z_NO_FLUSH);
        size_t consumed = in_n - zs.avail_in;
        size_t produced = out_n - zs.avail_out;
        pos += consumed;
        if (probing && produced) {
            rc = PROTO_ELIMIT;
            break;
        }
        if (!probing)
            sk->out->len += produced;
        if (zrc == Z_STREAM_END) {
            if (pos == len) {
                rc = 0;
                break;
            }
            if (wbits == -15 || !gzip_magic(src + pos, len - pos))
                break; /* trailing garbage */
            if (inflateReset(&zs) != Z_OK)
                break;
            continue;
        }
        if (zrc == Z_MEM_ERROR) {
            rc = PROTO_ENOMEM;
            break;
        }
        if (zrc != Z_OK && zrc != Z_BUF_ERROR)
            break; /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
        if (!consumed && !produced)
            break; /* truncated: no input left and the stream did not end */
    }
    inflateEnd(&zs);
    return rc;
}

static int gzip_compress(const uint8_t *src, size_t len, buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* 15 + 16: gzip wrapper, as Java's GZIPOutputStream writes. */
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return PROTO_ENOMEM;
    size_t start = out->len;
    int rc = 0;
    size_t pos = 0;
    for (;;) {
        size_t bound = deflateBound(&zs, len - pos > UINT_MAX ? UINT_MAX : (uLong)(len - pos));
        if (buf_reserve(out, bound)) {
            rc = PROTO_ENOMEM;
            break;
        }
        size_t in_n = len - pos > UINT_MAX ? UINT_MAX : len - pos;
        size_t out_n = out->cap - out->len > UINT_MAX ? UINT_MAX : out->cap - out->len;
        zs.next_in = (Bytef *)(uintptr_t)(src + pos);
        zs.avail_in = (uInt)in_n;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)out_n;
        int last = pos + in_n == len;
        int zrc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
        pos += in_n - zs.avail_in;
        out->len += out_n - zs.avail_out;
        if (zrc == Z_STREAM_END)
            break;
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = PROTO_ENOMEM;
            break;
        }
    }
    deflateEnd(&zs);
    if (rc)
        out->len = start;
    return rc;
}

/* ---- snappy ------------------------------------------------------------ */

/*
 * The Java client wraps snappy in xerial's stream framing:
 *   off  field        type
 *   0    magic        8 bytes 0x82 "SNAPPY" 0x00
 *   8    version      int32 BE (1)
 *   12   compatible   int32 BE (1)
 *   16   chunks...    [int32 BE compressed length][raw snappy block]
 * librdkafka and most others write one raw snappy block.
 */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_SIZE 16

static int snappy_block(const uint8_t *src, size_t len, sink_t *sk)
{
    size_t n;
    if (len == 0 || snappy_uncompressed_length((const char *)src, len, &n) != SNAPPY_OK)
        return PROTO_EINVALID;
    if (n > sink_left(sk))
        return PROTO_ELIMIT;
    if (n == 0)
        return len == 1 ? 0 : PROTO_EINVALID;
    int rc = sink_reserve(sk, n);
    if (rc)
        return rc;
    size_t got = n;
    if (snappy_uncompress((const char *)src, len, (char *)sk->out->data + sk->out->len, &got) != SNAPPY_OK || got != n)
        return PROTO_EINVALID;
    sk->out->len += n;
    return 0;
}

static int snappy_decompress(const uint8_t *src, size_t len, sink_t *sk)
{
    if (len < XERIAL_HEADER_SIZE || memcmp(src, xerial_magic, sizeof(xerial_magic)) != 0)
        return snappy_block(src, len, sk);
    proto_reader_t rd;
    proto_reader_init(&rd, src + XERIAL_HEADER_SIZE, len - XERIAL_HEADER_SIZE);
    while (proto_rd_remaining(&rd) > 0) {
        int32_t n = proto_rd_i32(&rd);
        if (n <= 0)
            return PROTO_EINVALID;
        const uint8_t *blk = proto_rd_raw(&rd, (size_t)n);
        if (!blk)
            return PROTO_EINVALID;
        int rc = snappy_block(blk, (size_t)n, sk);
        if (rc)
            return rc;
    }
    return rd.err ? PROTO_EINVALID : 0;
}

static int snappy_compress_raw(const uint8_t *src, size_t len, buf_t *out)
{
    size_t n = snappy_max_compressed_length(len);
    if (buf_reserve(out, n))
        return PROTO_ENOMEM;
    if (snappy_compress((const char *)src, len, (char *)out->data + out->len, &n) != SNAPPY_OK)
        return PROTO_ENOMEM; /* only fails when the output is too small */
    out->len += n;
    return 0;
}

/* ---- lz4 --------------------------------------------------------------- */

/*
 * Decompression contexts are costly to set up (LZ4F allocates its block
 * buffers on first use, zstd its window), and a Produce of small batches
 * decompresses one batch per partition to validate it: each thread keeps
 * one context per codec, reused after a frame that decompressed cleanly and
 * dropped after any failure. They live as long as their thread (the loop,
 * or a pool thread that compacts).
 */
static _Thread_local LZ4F_dctx *lz4_dctx;
static _Thread_local ZSTD_DCtx *zstd_dctx;

static int lz4_decompress(const uint8_t *src, size_t len, sink_t *sk)
{
    if (!lz4_dctx && LZ4F_isError(LZ4F_createDecompressionContext(&lz4_dctx, LZ4F_VERSION))) {
        lz4_dctx = NULL;
        return PROTO_ENOMEM;
    }
    LZ4F_dctx *dctx = lz4_dctx;
    size_t pos = 0;
    size_t hint = 1; /* 0 once a frame has ended */
    int rc = PROTO_EINVALID;
    uint8_t probe[16];
    for (;;) {
        if (hint == 0 && pos == len) {
            rc = 0;
            break;
        }
        uint8_t *dst;
        size_t room;
        int wrc = sink_window(sk, &dst, &room);
        if (wrc) {
            rc = wrc;
            break;
        }
        int probing = room == 0;
        if (probing) {
            dst = probe;
            room = sizeof(probe);
        }
        size_t in_n = len - pos;
        size_t out_n = room;
        hint = LZ4F_decompress(dctx, dst, &out_n, src + pos, &in_n, NULL);
        if (LZ4F_isError(hint))
            break;
        pos += in_n;
        if (probing && out_n) {
            rc = PROTO_ELIMIT;
            break;
        }
        if (!probing)
            sk->out->len += out_n;
        if (!in_n && !out_n && hint != 0)
            break; /* truncated frame */
    }
    if (rc != 0) {
        /* Only a context that finished its frames is reused: one left
         * mid-frame (an error, the size limit) is dropped, not reset. */
        LZ4F_freeDecompressionContext(dctx);
        lz4_dctx = NULL;
    }
    return rc;
}

static int lz4_compress(const uint8_t *src, size_t len, buf_t *out)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    if (buf_reserve(out, bound))
        return PROTO_ENOMEM;
    size_t n = LZ4F_compressFrame(out->data + out->len, out->cap - out->len, src, len, &prefs);
    if (LZ4F_isError(n))
        return PROTO_ENOMEM;
    out->len += n;
    return 0;
}

/* ---- zstd -------------------------------------------------------------- */

static int zstd_window_log(size_t max_out)
{
    int log = ZSTD_WINDOW_LOG_FLOOR;
    while (log < ZSTD_WINDOW_LOG_CEIL && ((size_t)1 << log) < max_out)
        log++;
    return log;
}

/*
 * Streaming, because Java's zstd-jni output stream writes frames without a
 * content size. Concatenated and skippable frames are handled by the
 * library.
 */
static int zstd_decompress(const uint8_t *src, size_t len, sink_t *sk)
{
    if (!zstd_dctx && !(zstd_dctx = ZSTD_createDCtx()))
        return PROTO_ENOMEM;
    ZSTD_DCtx *dctx = zstd_dctx;
    if (ZSTD_isError(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters)) ||
        ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, zstd_window_log(sk->limit))))
        return PROTO_ENOMEM;
    ZSTD_inBuffer in = {src, len, 0};
    size_t hint = 1;
    int rc = PROTO_EINVALID;
    uint8_t probe[16];
    for (;;) {
        if (hint == 0 && in.pos == in.size) {
            rc = 0;
            break;
        }
        uint8_t *dst;
        size_t room;
        int wrc = sink_window(sk, &dst, &room);
        if (wrc) {
            rc = wrc;
            break;
        }
        int probing = room == 0;
        if (probing) {
            dst = probe;
            room = sizeof(probe);
        }
        ZSTD_outBuffer ob = {dst, room, 0};
        size_t in_before = in.pos;
        hint = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(hint)) {
            if (ZSTD_getErrorCode(hint) == ZSTD_error_memory_allocation)
                rc = PROTO_ENOMEM;
            break;
        }
        if (probing && ob.pos) {
            rc = PROTO_ELIMIT;
            break;
        }
        if (!probing)
            sk->out->len += ob.pos;
        if (in.pos == in_before && ob.pos == 0 && hint != 0)
            break; /* truncated frame */
    }
    if (rc != 0) {
        ZSTD_freeDCtx(dctx);
        zstd_dctx = NULL;
    }
    return rc;
}

static int zstd_compress(const uint8_t *src, size_t len, buf_t *out)
{
    size_t bound = ZSTD_compressBound(len);
    if (ZSTD_isError(bound) || buf_reserve(out, bound))
        return PROTO_ENOMEM;
    /* One CCtx per call (~1 MiB at level 3): fine for the builder's uses. */
    size_t n = ZSTD_compress(out->data + out->len, out->cap - out->len, src, len, 3);
    if (ZSTD_isError(n))
        return PROTO_ENOMEM;
    out->len += n;
    return 0;
}

/* ---- dispatch ---------------------------------------------------------- */

int proto_decompress(proto_codec_t codec, const uint8_t *src, size_t len, buf_t *out, size_t max_out)
{
    sink_t sk;
    sink_init(&sk, out, max_out);
    int rc;
    switch (codec) {
    case PROTO_CODEC_NONE:
        if (len > sk.limit)
            return PROTO_ELIMIT;
        rc = buf_append(out, src, len) ? PROTO_ENOMEM : 0;
        break;
    case PROTO_CODEC_GZIP: rc = gzip_decompress(src, len, &sk); break;
    case PROTO_CODEC_SNAPPY: rc = snappy_decompress(src, len, &sk); break;
    case PROTO_CODEC_LZ4: rc = lz4_decompress(src, len, &sk); break;
    case PROTO_CODEC_ZSTD: rc = zstd_decompress(src, len, &sk); break;
    default: rc = PROTO_EINVALID; break;
    }
    return rc ? sink_fail(&sk, rc) : 0;
}

int proto_compress(proto_codec_t codec, const uint8_t *src, size_t len, buf_t *out)
{
    size_t start = out->len;
    int rc;
    switch (codec) {
    case PROTO_CODEC_NONE: rc = buf_append(out, src, len) ? PROTO_ENOMEM : 0; break;
    case PROTO_CODEC_GZIP: rc = gzip_compress(src, len, out); break;
    case PROTO_CODEC_SNAPPY: rc = snappy_compress_raw(src, len, out); break;
    case PROTO_CODEC_LZ4: rc = lz4_compress(src, len, out); break;
    case PROTO_CODEC_ZSTD: rc = zstd_compress(src, len, out); break;
    default: rc = PROTO_EINVALID; break;
    }
    if (rc)
        out->len = start;
    return rc;
}
