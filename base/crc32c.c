#include "base/crc32c.h"

#include <string.h>

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t crc32c_table[8][256];
static int crc32c_ready;

static void crc32c_build(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
    crc32c_ready = 1;
}

uint32_t crc32c_update_sw(uint32_t crc, const void *data, size_t len)
{
    if (!crc32c_ready)
        crc32c_build();
    const unsigned char *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= crc; /* little-endian hosts only; see the check below */
        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^ crc32c_table[5][(lo >> 16) & 0xff] ^
              crc32c_table[4][lo >> 24] ^ crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
              crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * The crc32 instruction takes 3 cycles but can start one per cycle, so one
 * dependent chain runs at a third of the CPU's speed. Long inputs are cut
 * into chunks of three stripes whose CRCs run as three independent chains
 * and are then joined: the CRC state is linear over GF(2), so the state
 * after stripe A followed by n more bytes is shift_n(state_A) XOR (the
 * state of those n bytes started from 0), where shift_n (the effect of n
 * zero bytes) is a linear map on 32 bits, tabulated per byte of its input.
 */
#define CRC32C_STRIPE 1024 /* bytes per chain per chunk; a multiple of 8 */

static uint32_t crc32c_shift_tab[2][4][256]; /* [0]: over one stripe, [1]: over two */

__attribute__((target("sse4.2"))) static void crc32c_shift_build(void)
{
    for (int k = 0; k < 2; k++) {
        uint32_t bit[32];
        for (int i = 0; i < 32; i++) {
            uint64_t c = 1u << i;
            for (size_t j = 0; j < (size_t)(k + 1) * CRC32C_STRIPE; j += 8)
                c = __builtin_ia32_crc32di(c, 0);
            bit[i] = (uint32_t)c;
        }
        for (int b = 0; b < 4; b++)
            for (uint32_t v = 0; v < 256; v++) {
                uint32_t r = 0;
                for (int j = 0; j < 8; j++)
                    if (v >> j & 1u)
                        r ^= bit[8 * b + j];
                crc32c_shift_tab[k][b][v] = r;
            }
    }
}

static inline uint32_t crc32c_shift(int k, uint32_t c)
{
    return crc32c_shift_tab[k][0][c & 0xff] ^ crc32c_shift_tab[k][1][(c >> 8) & 0xff] ^
           crc32c_shift_tab[k][2][(c >> 16) & 0xff] ^ crc32c_shift_tab[k][3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_update_hw(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t c = ~crc;
    while (len >= 3 * CRC32C_STRIPE) {
        uint64_t a = c, b = 0, d = 0;
        for (size_t i = 0; i < CRC32C_STRIPE; i += 8) {
            uint64_t va, vb, vd;
            memcpy(&va, p + i, 8);
            memcpy(&vb, p + CRC32C_STRIPE + i, 8);
            memcpy(&vd, p + 2 * CRC32C_STRIPE + i, 8);
            a = __builtin_ia32_crc32di(a, va);
            b = __builtin_ia32_crc32di(b, vb);
            d = __builtin_ia32_crc32di(d, vd);
        }
        c = crc32c_shift(1, (uint32_t)a) ^ crc32c_shift(0, (uint32_t)b) ^ (uint32_t)d;
        p += 3 * CRC32C_STRIPE;
        len -= 3 * CRC32C_STRIPE;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

/* Before main (and any thread): the tables are read-only afterwards. */
__attribute__((constructor)) static void crc32c_init(void)
{
    if (__builtin_cpu_supports("sse4.2"))
        crc32c_shift_build();
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len)
{
    static int have_hw = -1;
    if (have_hw < 0)
        have_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    return have_hw ? crc32c_update_hw(crc, data, len) : crc32c_update_sw(crc, data, len);
}
#else
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len)
{
    return crc32c_update_sw(crc, data, len);
}
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crc32c slicing assumes a little-endian host"
#endif
