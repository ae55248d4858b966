/* cluster/etcd_json: see etcd_json.h. */
#include "cluster/etcd_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const char *etcd_strerror(int rc)
{
    switch (rc) {
    case 0: return "ok";
    case ETCD_EUNAVAILABLE: return "etcd unavailable";
    case ETCD_ECOMPARE: return "compare failed";
    case ETCD_ELEASE: return "lease not found";
    case ETCD_EMALFORMED: return "malformed reply";
    case ETCD_ETOOBIG: return "reply too big";
    case ETCD_ECOMPACTED: return "revision compacted";
    case ETCD_ESERVER: return "etcd error";
    case ETCD_ENOMEM: return "out of memory";
    default: return "unknown error";
    }
}

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int etcd_b64_encode(const void *src, size_t len, char **out)
{
    const uint8_t *p = src;
    char *s = malloc((len + 2) / 3 * 4 + 1);
    if (!s)
        return ETCD_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        s[o++] = b64_alphabet[(v >> 18) & 63];
        s[o++] = b64_alphabet[(v >> 12) & 63];
        s[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        s[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    s[o] = 0;
    *out = s;
    return 0;
}

static int b64_value(char c)
{
    const char *at = c ? strchr(b64_alphabet, c) : NULL;
    return at ? (int)(at - b64_alphabet) : -1;
}

int etcd_b64_decode(const char *src, size_t len, char **out, size_t *out_len)
{
    if (len % 4 != 0)
        return ETCD_EMALFORMED;
    /* One spare byte keeps the result NUL-terminated for callers that print it. */
    char *d = malloc(len / 4 * 3 + 1);
    if (!d)
        return ETCD_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int pad = 0;
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            char c = src[i + j];
            int x;
            if (c == '=' && i + 4 == len && j >= 2) {
                pad++;
                x = 0;
            } else if (pad || (x = b64_value(c)) < 0) {
                free(d);
                return ETCD_EMALFORMED;
            }
            v = v << 6 | (uint32_t)x;
        }
        d[o++] = (char)(v >> 16);
        if (pad < 2)
            d[o++] = (char)(v >> 8);
        if (pad < 1)
            d[o++] = (char)v;
    }
    d[o] = 0;
    *out = d;
    *out_len = o;
    return 0;
}

/* An int64 field as the gateway writes it: a decimal string, absent when 0. */
static int json_int64(json_t *obj, const char *name, int64_t *out)
{
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v)
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return ETCD_EMALFORMED;
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return ETCD_EMALFORMED;
    *out = x;
    return 0;
}

/* A base64 field, absent when empty. */
static int json_bytes(json_t *obj, const char *name, char **out, size_t *out_len)
{
    json_t *v = json_object_get(obj, name);
    if (!v)
        return etcd_b64_decode("", 0, out, out_len);
    if (!json_is_string(v))
        return ETCD_EMALFORMED;
    return etcd_b64_decode(json_string_value(v), json_string_length(v), out, out_len);
}

static int parse_kv(json_t *o, etcd_kv_t *kv)
{
    memset(kv, 0, sizeof *kv);
    if (!json_is_object(o))
        return ETCD_EMALFORMED;
    int rc;
    if ((rc = json_bytes(o, "key", &kv->key, &kv->key_len)) ||
        (rc = json_bytes(o, "value", &kv->value, &kv->value_len)) ||
        (rc = json_int64(o, "create_revision", &kv->create_revision)) ||
        (rc = json_int64(o, "mod_revision", &kv->mod_revision)) || (rc = json_int64(o, "version", &kv->version)) ||
        (rc = json_int64(o, "lease", &kv->lease)))
        return rc;
    return 0;
}

static void kv_fini(etcd_kv_t *kv)
{
    free(kv->key);
    free(kv->value);
}

void etcd_range_fini(etcd_range_t *rng)
{
    for (size_t i = 0; i < rng->n_kvs; i++)
        kv_fini(&rng->kvs[i]);
    free(rng->kvs);
    memset(rng, 0, sizeof *rng);
}

static json_t *load(const char *body, size_t len)
{
    json_error_t err;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (root && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* A range response; inside a txn etcd may leave its header out. */
static int parse_range_in(json_t *root, etcd_range_t *rng, int need_header)
{
    memset(rng, 0, sizeof *rng);
    int rc = ETCD_EMALFORMED;
    json_t *hdr = json_object_get(root, "header");
    json_t *kvs = json_object_get(root, "kvs");
    if (!json_is_object(root) || (hdr ? !json_is_object(hdr) : need_header) || (kvs && !json_is_array(kvs)))
        goto out;
    if ((hdr && (rc = json_int64(hdr, "revision", &rng->revision))) || (rc = json_int64(root, "count", &rng->count)))
        goto out;
    size_t n = kvs ? json_array_size(kvs) : 0;
    if (n) {
        rng->kvs = calloc(n, sizeof *rng->kvs);
        if (!rng->kvs) {
            rc = ETCD_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rc = parse_kv(json_array_get(kvs, i), &rng->kvs[i]);
        rng->n_kvs = i + 1; /* a half-parsed kv is freed with the rest */
        if (rc)
            goto out;
    }
    rc = 0;
out:
    if (rc)
        etcd_range_fini(rng);
    return rc;
}

static int parse_range_obj(json_t *root, etcd_range_t *rng)
{
    return parse_range_in(root, rng, 1);
}

int etcd_json_parse_range(const char *body, size_t len, etcd_range_t *rng)
{
    memset(rng, 0, sizeof *rng);
    json_t *root = load(body, len);
    if (!root)
        return ETCD_EMALFORMED;
    int rc = parse_range_obj(root, rng);
    json_decref(root);
    return rc;
}

int etcd_json_parse_put_if_absent(const char *body, size_t len, int *succeeded, etcd_range_t *existing)
{
    memset(existing, 0, sizeof *existing);
    *succeeded = 0;
    json_t *root = load(body, len);
    if (!root)
        return ETCD_EMALFORMED;
    int rc = ETCD_EMALFORMED;
    json_t *ok = json_object_get(root, "succeeded");
    json_t *resps = json_object_get(root, "responses");
    if ((ok && !json_is_boolean(ok)) || !json_is_object(json_object_get(root, "header")))
        goto out;
    *succeeded = ok && json_is_true(ok);
    if (*succeeded) {
        rc = 0;
        goto out;
    }
    /* failure branch: one range of the key that was there */
    if (!json_is_array(resps) || json_array_size(resps) != 1)
        goto out;
    rc = parse_range_obj(json_object_get(json_array_get(resps, 0), "response_range"), existing);
out:
    json_decref(root);
    return rc;
}

int etcd_json_parse_error(const char *body, size_t len)
{
    json_t *root = load(body, len);
    if (!root)
        return ETCD_EMALFORMED;
    json_t *e = json_object_get(root, "error");
    if (!e)
        e = json_object_get(root, "message");
    int rc = ETCD_EMALFORMED;
    if (json_is_string(e))
        rc = strstr(json_string_value(e), "lease not found") ? ETCD_ELEASE : ETCD_ESERVER;
    json_decref(root);
    return rc;
}

int etcd_json_parse_lease(const char *body, size_t len, int64_t *id, int64_t *ttl)
{
    *id = *ttl = 0;
    json_t *root = load(body, len);
    if (!root)
        return ETCD_EMALFORMED;
    json_t *obj = json_object_get(root, "result"); /* keepalive wraps its answer */
    if (!obj)
        obj = root;
    int rc = ETCD_EMALFORMED;
    if (json_is_object(obj) && json_is_object(json_object_get(obj, "header")) && !json_int64(obj, "ID", id) &&
        !json_int64(obj, "TTL", ttl))
        rc = 0;
    if (!json_object_get(root, "result") && json_object_get(root, "error"))
        rc = ETCD_EMALFORMED;
    json_decref(root);
    return rc;
}

void etcd_json_txn_fini(etcd_txn_result_t *res)
{
    for (size_t i = 0; i < res->n_ops; i++)
        etcd_range_fini(&res->ops[i].range);
    free(res->ops);
    memset(res, 0, sizeof *res);
}

/* One element of a txn's "responses": exactly one of the three kinds. */
static int parse_txn_op(json_t *o, etcd_op_result_t *op)
{
    json_t *v;
    if (!json_is_object(o) || json_object_size(o) != 1)
        return ETCD_EMALFORMED;
    if ((v = json_object_get(o, "response_put"))) {
        op->kind = ETCD_OP_PUT;
        return json_is_object(v) ? 0 : ETCD_EMALFORMED;
    }
    if ((v = json_object_get(o, "response_delete_range"))) {
        op->kind = ETCD_OP_DELETE;
        return json_is_object(v) ? json_int64(v, "deleted", &op->deleted) : ETCD_EMALFORMED;
    }
    if ((v = json_object_get(o, "response_range"))) {
        op->kind = ETCD_OP_RANGE;
        return parse_range_in(v, &op->range, 0);
    }
    return ETCD_EMALFORMED;
}

int etcd_json_parse_txn(const char *body, size_t len, etcd_txn_result_t *res)
{
    memset(res, 0, sizeof *res);
    json_t *root = load(body, len);
    if (!root)
        return ETCD_EMALFORMED;
    int rc = ETCD_EMALFORMED;
    json_t *ok = json_object_get(root, "succeeded");
    json_t *hdr = json_object_get(root, "header");
    json_t *resps = json_object_get(root, "responses");
    if ((ok && !json_is_boolean(ok)) || !json_is_object(hdr) || (resps && !json_is_array(resps)))
        goto out;
    if ((rc = json_int64(hdr, "revision", &res->revision)))
        goto out;
    res->succeeded = ok && json_is_true(ok);
    size_t n = resps ? json_array_size(resps) : 0;
    if (n && !(res->ops = calloc(n, sizeof *res->ops))) {
        rc = ETCD_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        res->n_ops = i + 1;
        if ((rc = parse_txn_op(json_array_get(resps, i), &res->ops[i])))
            goto out;
        if (res->ops[i].kind == ETCD_OP_RANGE)
            res->ops[i].range.revision = res->revision;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

void etcd_json_watch_fini(etcd_watch_msg_t *msg)
{
    for (size_t i = 0; i < msg->n_events; i++)
        kv_fini(&msg->events[i].kv);
    free(msg->events);
    memset(msg, 0, sizeof *msg);
}

/* "type" is an enum name, or its number; absent is PUT (proto3's zero). */
static int parse_event(json_t *o, etcd_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    json_t *t = json_object_get(o, "type");
    if (!json_is_object(o))
        return ETCD_EMALFORMED;
    if (!t || (json_is_string(t) && !strcmp(json_string_value(t), "PUT")) ||
        (json_is_integer(t) && json_integer_value(t) == 0))
        ev->type = ETCD_EVENT_PUT;
    else if ((json_is_string(t) && !strcmp(json_string_value(t), "DELETE")) ||
             (json_is_integer(t) && json_integer_value(t) == 1))
        ev->type = ETCD_EVENT_DELETE;
    else
        return ETCD_EMALFORMED;
    json_t *kv = json_object_get(o, "kv");
    if (!kv)
        return ETCD_EMALFORMED;
    int rc = parse_kv(kv, &ev->kv);
    if (!rc && ev->kv.mod_revision <= 0)
        rc = ETCD_EMALFORMED; /* every event happened at some revision */
    return rc;
}

static int json_flag(json_t *obj, const char *name, int *out)
{
    json_t *v = json_object_get(obj, name);
    *out = v && json_is_true(v);
    return !v || json_is_boolean(v) ? 0 : ETCD_EMALFORMED;
}

int etcd_json_parse_watch(const char *body, size_t len, etcd_watch_msg_t *msg)
{
    memset(msg, 0, sizeof *msg);
    json_t *root = load(body, len);
    if (!root)
        return ETCD_EMALFORMED;
    json_t *res = json_object_get(root, "result");
    int rc = ETCD_EMALFORMED;
    if (!res) {
        if (json_is_object(json_object_get(root, "error")))
            rc = ETCD_ESERVER;
        goto out;
    }
    json_t *hdr = json_object_get(res, "header");
    json_t *evs = json_object_get(res, "events");
    if (!json_is_object(res) || !json_is_object(hdr) || (evs && !json_is_array(evs)))
        goto out;
    if ((rc = json_int64(hdr, "revision", &msg->revision)) || (rc = json_flag(res, "created", &msg->created)) ||
        (rc = json_flag(res, "canceled", &msg->canceled)) ||
        (rc = json_int64(res, "compact_revision", &msg->compact_revision)))
        goto out;
    size_t n = evs ? json_array_size(evs) : 0;
    if (n && !(msg->events = calloc(n, sizeof *msg->events))) {
        rc = ETCD_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        msg->n_events = i + 1;
        if ((rc = parse_event(json_array_get(evs, i), &msg->events[i])))
            goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
