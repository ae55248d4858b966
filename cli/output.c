#include "cli/output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "eddyctl: out of memory\n");
        exit(1);
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xrealloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

/* --- tables ---------------------------------------------------------- */

static void table_push(cli_table_t *t, char *cell)
{
    size_t idx = t->nrows * (size_t)t->ncols + (size_t)t->col;
    if (idx >= t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->cells = xrealloc(t->cells, t->cap * sizeof(*t->cells));
    }
    t->cells[idx] = cell;
    if (++t->col == t->ncols) {
        t->col = 0;
        t->nrows++;
    }
}

void cli_table_init(cli_table_t *t, int ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    for (int i = 0; i < ncols; i++)
        table_push(t, xstrdup(headers[i]));
}

void cli_table_cell(cli_table_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        fprintf(stderr, "eddyctl: out of memory\n");
        exit(1);
    }
    va_end(ap);
    table_push(t, s);
}

void cli_table_print(const cli_table_t *t, FILE *out)
{
    size_t *width = xrealloc(NULL, (size_t)t->ncols * sizeof(*width));
    for (int c = 0; c < t->ncols; c++) {
        width[c] = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    /* Cells are padded only when something follows them: no trailing blanks. */
    for (size_t r = 0; r < t->nrows; r++) {
        int last = t->ncols - 1;
        while (last > 0 && t->cells[r * (size_t)t->ncols + (size_t)last][0] == '\0')
            last--;
        for (int c = 0; c <= last; c++) {
            const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
            if (c == last)
                fprintf(out, "%s\n", cell);
            else
                fprintf(out, "%-*s  ", (int)width[c], cell);
        }
    }
    free(width);
}

void cli_table_fini(cli_table_t *t)
{
    size_t n = t->nrows * (size_t)t->ncols + (size_t)t->col;
    for (size_t i = 0; i < n; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* --- JSON ------------------------------------------------------------ */

void cli_json_init(cli_json_t *js, FILE *out)
{
    memset(js, 0, sizeof(*js));
    js->out = out;
    js->first[0] = true;
}

/* Writes the comma that separates this value from the previous one. */
static void before_value(cli_json_t *js)
{
    if (js->after_key) {
        js->after_key = false;
        return;
    }
    if (!js->first[js->depth])
        fputc(',', js->out);
    js->first[js->depth] = false;
}

static void open_level(cli_json_t *js, char c)
{
    before_value(js);
    fputc(c, js->out);
    if (js->depth < CLI_JSON_MAX_DEPTH - 1)
        js->depth++;
    js->first[js->depth] = true;
}

static void close_level(cli_json_t *js, char c)
{
    fputc(c, js->out);
    if (js->depth > 0)
        js->depth--;
}

void cli_json_obj_begin(cli_json_t *js)
{
    open_level(js, '{');
}
void cli_json_obj_end(cli_json_t *js)
{
    close_level(js, '}');
}
void cli_json_arr_begin(cli_json_t *js)
{
    open_level(js, '[');
}
void cli_json_arr_end(cli_json_t *js)
{
    close_level(js, ']');
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void write_escaped(cli_json_t *js, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', js->out);
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', js->out);
            fputc(c, js->out);
            i++;
        } else if (c == '\n') {
            fputs("\\n", js->out);
            i++;
        } else if (c == '\t') {
            fputs("\\t", js->out);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(js->out, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, js->out);
            i++;
        } else {
            size_t len = utf8_len(p + i, n - i);
            if (len == 0) {
                fprintf(js->out, "\\u%04x", c);
                i++;
            } else {
                fwrite(p + i, 1, len, js->out);
                i += len;
            }
        }
    }
    fputc('"', js->out);
}

void cli_json_key(cli_json_t *js, const char *key)
{
    before_value(js);
    write_escaped(js, key, strlen(key));
    fputc(':', js->out);
    js->after_key = true;
}

void cli_json_strn(cli_json_t *js, const char *s, int32_t len)
{
    before_value(js);
    if (len < 0 || (!s && len > 0))
        fputs("null", js->out);
    else if (len == 0)
        fputs("\"\"", js->out);
    else
        write_escaped(js, s, (size_t)len);
}

void cli_json_str(cli_json_t *js, const char *s)
{
    cli_json_strn(js, s, s ? (int32_t)strlen(s) : -1);
}

void cli_json_int(cli_json_t *js, int64_t v)
{
    before_value(js);
    fprintf(js->out, "%lld", (long long)v);
}

void cli_json_bool(cli_json_t *js, bool v)
{
    before_value(js);
    fputs(v ? "true" : "false", js->out);
}

void cli_json_null(cli_json_t *js)
{
    before_value(js);
    fputs("null", js->out);
}

void cli_json_finish(cli_json_t *js)
{
    fputc('\n', js->out);
    fflush(js->out);
}

void cli_json_kstr(cli_json_t *js, const char *key, const char *s)
{
    cli_json_key(js, key);
    cli_json_str(js, s);
}

void cli_json_kint(cli_json_t *js, const char *key, int64_t v)
{
    cli_json_key(js, key);
    cli_json_int(js, v);
}

void cli_json_kbool(cli_json_t *js, const char *key, bool v)
{
    cli_json_key(js, key);
    cli_json_bool(js, v);
}
