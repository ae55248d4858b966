/*
 * cli/output: eddyctl's two ways of printing — aligned tables for people
 * and JSON for scripts.
 *
 * A table collects every cell first (copies, so callers may pass temporary
 * strings) and prints with each column as wide as its widest cell. The JSON
 * writer streams one value with commas placed for the caller; strings are
 * escaped so that the output is valid JSON whatever bytes the broker sent
 * (invalid UTF-8 is written as \u00XX per byte). Neither knows anything of
 * Kafka.
 */
#ifndef EDDY_CLI_OUTPUT_H
#define EDDY_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_table_s {
    int ncols;
    size_t nrows; /* header row included */
    size_t cap;
    char **cells; /* nrows * ncols */
    int col;      /* next cell of the row being built */
} cli_table_t;

/* headers: ncols column titles. */
void cli_table_init(cli_table_t *t, int ncols, const char *const *headers);
/* Appends a cell to the current row; a row ends after ncols cells. */
void cli_table_cell(cli_table_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_table_print(const cli_table_t *t, FILE *out);
void cli_table_fini(cli_table_t *t);

#define CLI_JSON_MAX_DEPTH 32

typedef struct cli_json_s {
    FILE *out;
    int depth;
    bool first[CLI_JSON_MAX_DEPTH]; /* nothing written yet at this level */
    bool after_key;
} cli_json_t;

void cli_json_init(cli_json_t *js, FILE *out);
void cli_json_obj_begin(cli_json_t *js);
void cli_json_obj_end(cli_json_t *js);
void cli_json_arr_begin(cli_json_t *js);
void cli_json_arr_end(cli_json_t *js);
void cli_json_key(cli_json_t *js, const char *key);
void cli_json_str(cli_json_t *js, const char *s);               /* NULL writes null */
void cli_json_strn(cli_json_t *js, const char *s, int32_t len); /* len < 0 writes null */
void cli_json_int(cli_json_t *js, int64_t v);
void cli_json_bool(cli_json_t *js, bool v);
void cli_json_null(cli_json_t *js);
/* Ends the document with a newline. */
void cli_json_finish(cli_json_t *js);

/* Shorthands for "key": value. */
void cli_json_kstr(cli_json_t *js, const char *key, const char *s);
void cli_json_kint(cli_json_t *js, const char *key, int64_t v);
void cli_json_kbool(cli_json_t *js, const char *key, bool v);

#endif
