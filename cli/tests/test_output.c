/*
 * eddyctl's printing: JSON that any parser accepts whatever bytes the broker
 * sent (quotes, control characters, invalid UTF-8), commas in the right
 * places in nested values, tables padded to their widest cell with no
 * trailing blanks, and topic ids in Kafka's text form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/eddyctl.h"
#include "cli/output.h"

typedef struct capture_s {
    char *text;
    size_t len;
    FILE *f;
} capture_t;

static void capture_begin(capture_t *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
}

static const char *capture_end(capture_t *c)
{
    fclose(c->f);
    return c->text;
}

static void json_escapes_quotes_controls_and_invalid_utf8(void **state)
{
    capture_t c;
    capture_begin(&c);
    cli_json_t js;
    cli_json_init(&js, c.f);
    /* quote, backslash, newline, tab, 0x01, valid 2-byte UTF-8 (é), a lone 0xFF, a truncated 3-byte sequence */
    static const char s[] = "a\"b\\c\nd\te\x01"
                            "f\xc3\xa9g\xffh\xe2\x82";
    cli_json_strn(&js, s, (int32_t)(sizeof(s) - 1));
    cli_json_finish(&js);
    assert_string_equal(capture_end(&c), "\"a\\\"b\\\\c\\nd\\te\\u0001f\xc3\xa9g\\u00ffh\\u00e2\\u0082\"\n");
    free(c.text);
}

static void json_places_commas_in_nested_values(void **state)
{
    capture_t c;
    capture_begin(&c);
    cli_json_t js;
    cli_json_init(&js, c.f);
    cli_json_obj_begin(&js);
    cli_json_kstr(&js, "name", "t");
    cli_json_key(&js, "parts");
    cli_json_arr_begin(&js);
    cli_json_int(&js, 1);
    cli_json_obj_begin(&js);
    cli_json_kbool(&js, "ok", true);
    cli_json_key(&js, "none");
    cli_json_null(&js);
    cli_json_obj_end(&js);
    cli_json_arr_begin(&js);
    cli_json_arr_end(&js);
    cli_json_arr_end(&js);
    cli_json_kint(&js, "n", -5);
    cli_json_kstr(&js, "nul", NULL);
    cli_json_obj_end(&js);
    cli_json_finish(&js);
    assert_string_equal(capture_end(&c),
                        "{\"name\":\"t\",\"parts\":[1,{\"ok\":true,\"none\":null},[]],\"n\":-5,\"nul\":null}\n");
    free(c.text);
}

static void table_pads_columns_to_the_widest_cell_without_trailing_blanks(void **state)
{
    static const char *const head[] = {"A", "LONGER", "C"};
    cli_table_t tab;
    cli_table_init(&tab, 3, head);
    cli_table_cell(&tab, "%s", "wide-cell");
    cli_table_cell(&tab, "%d", 7);
    cli_table_cell(&tab, "%s", "");
    capture_t c;
    capture_begin(&c);
    cli_table_print(&tab, c.f);
    cli_table_fini(&tab);
    assert_string_equal(capture_end(&c), "A          LONGER  C\n"
                                         "wide-cell  7\n");
    free(c.text);
}

static void topic_ids_print_as_url_safe_base64(void **state)
{
    proto_uuid_t id;
    for (int i = 0; i < 16; i++)
        id.b[i] = (uint8_t)(0xF0 + i);
    /* 22 characters, URL-safe alphabet, no padding */
    assert_string_equal(cli_uuid_str(&id), "8PHy8_T19vf4-fr7_P3-_w");
    memset(&id, 0, sizeof(id));
    assert_string_equal(cli_uuid_str(&id), "AAAAAAAAAAAAAAAAAAAAAA");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_escapes_quotes_controls_and_invalid_utf8),
        cmocka_unit_test(json_places_commas_in_nested_values),
        cmocka_unit_test(table_pads_columns_to_the_widest_cell_without_trailing_blanks),
        cmocka_unit_test(topic_ids_print_as_url_safe_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
