/*
 * base/: crc32c against known vectors and the portable path, the arena's
 * limit and reuse, the map's insert/replace/delete/iterate, buf growth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/map.h"

static void crc32c_matches_the_castagnoli_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c("", 0), 0);
    uint8_t zeros[32] = {0};
    assert_int_equal(crc32c(zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
}

static void crc32c_hardware_and_portable_paths_agree(void **state)
{
    (void)state;
    /* Long enough for the three-chain path (chunks of 3 KiB) and its joins. */
    static uint8_t data[10007];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 131 + 7 + (i >> 9));
    for (size_t len = 0; len < sizeof(data); len += len < 1100 ? 13 : 97) {
        assert_int_equal(crc32c(data, len), crc32c_update_sw(0, data, len));
        /* incremental equals one-shot */
        uint32_t c = crc32c_update(0, data, len / 2);
        c = crc32c_update(c, data + len / 2, len - len / 2);
        assert_int_equal(c, crc32c(data, len));
    }
    const size_t edges[] = {3071, 3072, 3073, 6143, 6144, 6151, 9216, 9223};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        for (size_t off = 0; off < 9; off += 4)
            assert_int_equal(crc32c(data + off, edges[i]), crc32c_update_sw(0, data + off, edges[i]));
}

static void arena_enforces_its_limit_and_returns_zeroed_memory(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 1000);
    uint8_t *p = arena_alloc(&a, 500);
    assert_non_null(p);
    for (int i = 0; i < 500; i++)
        assert_int_equal(p[i], 0);
    assert_null(arena_alloc(&a, 600));
    assert_null(arena_alloc(&a, SIZE_MAX));
    arena_reset(&a);
    assert_non_null(arena_alloc(&a, 900));
    arena_fini(&a);
}

static void arena_serves_many_small_and_one_large_allocation(void **state)
{
    (void)state;
    arena_t a;
    arena_init(&a, 0);
    for (int i = 0; i < 10000; i++) {
        int *p = arena_alloc(&a, sizeof(int));
        assert_non_null(p);
        *p = i;
        assert_int_equal(((uintptr_t)p) % 16, 0);
    }
    assert_non_null(arena_alloc(&a, 5 * 1024 * 1024));
    arena_reset(&a);
    arena_fini(&a);
}

static void map_inserts_replaces_deletes_and_iterates(void **state)
{
    (void)state;
    map_t m;
    map_init(&m);
    static char keys[500][16];
    for (int i = 0; i < 500; i++) {
        snprintf(keys[i], sizeof(keys[i]), "topic-%d", i);
        assert_int_equal(map_put(&m, keys[i], strlen(keys[i]), keys[i]), 0);
    }
    assert_int_equal(m.count, 500);
    assert_ptr_equal(map_get(&m, "topic-42", 8), keys[42]);
    assert_null(map_get(&m, "topic-4", 6)); /* a prefix is not a key */
    for (int i = 0; i < 500; i += 2)
        assert_ptr_equal(map_del(&m, keys[i], strlen(keys[i])), keys[i]);
    assert_null(map_get(&m, "topic-42", 8));
    assert_ptr_equal(map_get(&m, "topic-43", 8), keys[43]);
    size_t pos = 0, n = 0;
    while (map_next(&m, &pos))
        n++;
    assert_int_equal(n, 250);
    /* tombstones are reused and rehashed away */
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 500; i += 2)
            assert_int_equal(map_put(&m, keys[i], strlen(keys[i]), keys[i]), 0);
        for (int i = 0; i < 500; i += 2)
            assert_non_null(map_del(&m, keys[i], strlen(keys[i])));
    }
    assert_int_equal(m.count, 250);
    map_fini(&m);
}

static void buf_grows_consumes_and_shrinks(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(b.len, 10000);
    buf_consume(&b, 9995);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "56789", 5);
    assert_int_equal(buf_reserve(&b, SIZE_MAX), -12);
    buf_consume(&b, 100);
    buf_shrink(&b, 0);
    assert_null(b.data);
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32c_matches_the_castagnoli_check_value),
        cmocka_unit_test(crc32c_hardware_and_portable_paths_agree),
        cmocka_unit_test(arena_enforces_its_limit_and_returns_zeroed_memory),
        cmocka_unit_test(arena_serves_many_small_and_one_large_allocation),
        cmocka_unit_test(map_inserts_replaces_deletes_and_iterates),
        cmocka_unit_test(buf_grows_consumes_and_shrinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
