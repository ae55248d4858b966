/* cluster/etcd_watch: a resumable watch over the gateway's stream; see etcd.h. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cluster/etcd_internal.h"

#define BACKOFF_FIRST_MS 25
#define BACKOFF_MAX_MS   1000
#define MAX_DEPTH        64 /* nesting in one object; etcd's is 5 */

struct etcd_watch_s {
    etcd_client_t *cli;
    char *key_b64;
    char *end_b64;    /* NULL: just the key */
    int64_t next_rev; /* the revision the next create asks for; 0: now */
    etcd_watch_cb cb;
    void *arg;
    etcd_http_stream_t *stream;
    uv_timer_t timer;
    unsigned attempt;
    int done; /* a final error was reported, or stopped */
    /* the partial object of the stream, and where scanning it stopped */
    buf_t buf;
    size_t scan;
    int depth, in_str, esc;
};

static void watch_closed(uv_handle_t *handle)
{
    etcd_watch_t *w = handle->data;
    buf_fini(&w->buf);
    free(w->key_b64);
    free(w->end_b64);
    free(w);
}

static void attempt(etcd_watch_t *w);

static void on_timer(uv_timer_t *timer)
{
    attempt(timer->data);
}

/* Backoff as etcd_client.c's: 25 ms doubling to 1 s, drawn in [half, full],
 * and on to the next endpoint. */
static void retry(etcd_watch_t *w)
{
    unsigned shift = w->attempt < 6 ? w->attempt : 6;
    int64_t full = BACKOFF_FIRST_MS << shift;
    if (full > BACKOFF_MAX_MS)
        full = BACKOFF_MAX_MS;
    int64_t wait = full / 2 + (int64_t)(random() % (full / 2 + 1));
    w->attempt++;
    uv_timer_start(&w->timer, on_timer, (uint64_t)wait, 0);
}

/* The final error: reported once, then the watch only waits for stop. */
static void fail(etcd_watch_t *w, int rc)
{
    if (w->done)
        return;
    w->done = 1;
    w->cb(w->arg, rc, NULL, 0, 0);
}

static int deliver(etcd_watch_t *w, const etcd_event_t *evs, size_t n, int64_t revision)
{
    w->cb(w->arg, 0, evs, n, revision);
    return w->done;
}

/* Values for on_object: go on, end this stream and reconnect, or stop. */
enum { OBJ_OK = 0, OBJ_RECONNECT = 1, OBJ_STOP = 2 };

static int on_object(etcd_watch_t *w, const char *p, size_t len)
{
    etcd_watch_msg_t msg;
    int rc = etcd_json_parse_watch(p, len, &msg);
    int ret = OBJ_OK;
    if (rc == ETCD_ESERVER) {
        ret = OBJ_RECONNECT; /* the gateway lost its stream to etcd */
    } else if (rc) {
        fail(w, rc);
        ret = OBJ_STOP;
    } else if (msg.compact_revision > 0) {
        fail(w, ETCD_ECOMPACTED);
        ret = OBJ_STOP;
    } else if (msg.canceled) {
        fail(w, ETCD_ESERVER);
        ret = OBJ_STOP;
    } else if (msg.created) {
        if (w->next_rev == 0)
            w->next_rev = msg.revision + 1;
        w->attempt = 0;
        if (deliver(w, NULL, 0, msg.revision))
            ret = OBJ_STOP;
    } else if (msg.n_events) {
        /* Events below next_rev were delivered before a reconnect; etcd
         * sends every event of one revision in one message. */
        size_t skip = 0;
        while (skip < msg.n_events && msg.events[skip].kv.mod_revision < w->next_rev)
            skip++;
        int64_t last = w->next_rev - 1;
        for (size_t i = skip; i < msg.n_events; i++) {
            if (msg.events[i].kv.mod_revision < last)
                ret = OBJ_STOP; /* out of order: not etcd */
            last = msg.events[i].kv.mod_revision;
        }
        if (ret == OBJ_STOP) {
            fail(w, ETCD_EMALFORMED);
        } else if (skip < msg.n_events) {
            w->next_rev = last + 1;
            if (deliver(w, msg.events + skip, msg.n_events - skip, msg.revision))
                ret = OBJ_STOP;
        }
    }
    etcd_json_watch_fini(&msg);
    return ret;
}

/* Splits the stream into top-level JSON objects, whatever the chunking:
 * tracks nesting outside strings, keeps only the unfinished object, and
 * refuses one larger than max_reply or anything between objects but
 * whitespace. */
static int scan(etcd_watch_t *w, const char *data, size_t len);

/* Returning nonzero ends the stream with no end call: forget it then. */
static int on_data(void *arg, const char *data, size_t len)
{
    etcd_watch_t *w = arg;
    int end = scan(w, data, len);
    if (end)
        w->stream = NULL;
    return end;
}

static int scan(etcd_watch_t *w, const char *data, size_t len)
{
    if (w->done)
        return 1;
    if (buf_append(&w->buf, data, len) != 0) {
        fail(w, ETCD_ENOMEM);
        return 1;
    }
    const char *p = (const char *)w->buf.data;
    size_t start = 0, i;
    int ret = OBJ_OK;
    for (i = w->scan; i < w->buf.len && ret == OBJ_OK; i++) {
        char c = p[i];
        if (w->depth == 0) {
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                start = i + 1;
                continue;
            }
            if (c != '{') {
                fail(w, ETCD_EMALFORMED);
                return 1;
            }
            start = i;
            w->depth = 1;
        } else if (w->in_str) {
            if (w->esc)
                w->esc = 0;
            else if (c == '\\')
                w->esc = 1;
            else if (c == '"')
                w->in_str = 0;
        } else if (c == '"') {
            w->in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++w->depth > MAX_DEPTH) {
                fail(w, ETCD_EMALFORMED);
                return 1;
            }
        } else if ((c == '}' || c == ']') && --w->depth == 0) {
            ret = on_object(w, p + start, i + 1 - start);
            start = i + 1;
        }
    }
    if (ret != OBJ_OK) {
        if (ret == OBJ_RECONNECT)
            retry(w);
        return 1;
    }
    buf_consume(&w->buf, start);
    w->scan = w->buf.len;
    if (w->buf.len > etcd_client_max_reply(w->cli)) {
        fail(w, ETCD_ETOOBIG);
        return 1;
    }
    return 0;
}

static void on_end(void *arg, int rc, long status)
{
    etcd_watch_t *w = arg;
    w->stream = NULL;
    if (!w->done)
        retry(w); /* closed, refused or broken: resume from next_rev */
}

static char *create_request(etcd_watch_t *w)
{
    char rev[24];
    snprintf(rev, sizeof rev, "%" PRId64, w->next_rev);
    json_t *root = w->end_b64 ? json_pack("{s:{s:s,s:s,s:s}}", "create_request", "key", w->key_b64, "range_end",
                                          w->end_b64, "start_revision", rev)
                              : json_pack("{s:{s:s,s:s}}", "create_request", "key", w->key_b64, "start_revision", rev);
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

static void attempt(etcd_watch_t *w)
{
    if (w->done)
        return;
    buf_consume(&w->buf, w->buf.len);
    w->scan = 0;
    w->depth = w->in_str = w->esc = 0;
    char url[512];
    char *body = create_request(w);
    int rc = body ? etcd_client_url(w->cli, w->attempt > 0, "/v3/watch", url, sizeof url) : ETCD_ENOMEM;
    if (!rc)
        rc = etcd_http_stream(etcd_client_http(w->cli), url, body, etcd_client_request_timeout(w->cli), on_data, on_end,
                              w, &w->stream);
    free(body);
    if (rc == ETCD_ENOMEM)
        retry(w); /* memory may come back; the watch must not end silently */
    else if (rc)
        fail(w, rc);
}

etcd_watch_t *etcd_watch_start(etcd_client_t *cli, const void *key, size_t key_len, int prefix, int64_t start_revision,
                               etcd_watch_cb cb, void *arg)
{
    etcd_watch_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (etcd_b64_encode(key, key_len, &w->key_b64) || (prefix && etcd_prefix_end(key, key_len, &w->end_b64))) {
        free(w->key_b64);
        free(w);
        return NULL;
    }
    w->cli = cli;
    w->next_rev = start_revision > 0 ? start_revision : 0;
    w->cb = cb;
    w->arg = arg;
    buf_init(&w->buf);
    uv_timer_init(etcd_client_loop(cli), &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, on_timer, 0, 0);
    return w;
}

void etcd_watch_stop(etcd_watch_t *w)
{
    if (!w)
        return;
    w->done = 1;
    if (w->stream)
        etcd_http_stream_cancel(w->stream); /* deferred when inside curl */
    w->stream = NULL;
    uv_close((uv_handle_t *)&w->timer, watch_closed);
}
