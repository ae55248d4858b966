/* cluster/etcd_txn: general txns, the request built with jansson; see etcd.h. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/etcd.h"
#include "cluster/etcd_internal.h"

#define TXN_MAX_OPS 128 /* etcd's default --max-txn-ops */

/* base64 of (p, n) as a new jansson string; NULL when out of memory. */
static json_t *b64_str(const void *p, size_t n)
{
    char *s;
    if (etcd_b64_encode(p ? p : "", p ? n : 0, &s))
        return NULL;
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* The end of a prefix range (etcd_prefix_end) as a JSON string; NULL when out of memory. */
static json_t *prefix_end_str(const void *key, size_t len)
{
    char *end = NULL;
    if (etcd_prefix_end(key, len, &end) != 0)
        return NULL;
    json_t *j = json_string(end);
    free(end);
    return j;
}

static json_t *int64_str(int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRId64, v);
    return json_string(s);
}

/* json_object_set_new that remembers a failure (a NULL value included). */
static void set(json_t *obj, const char *name, json_t *v, int *bad)
{
    if (!v || json_object_set_new(obj, name, v) != 0)
        *bad = 1;
}

static json_t *build_cmp(const etcd_cmp_t *c)
{
    static const char *const targets[] = {"VERSION", "CREATE", "MOD", "VALUE"};
    static const char *const results[] = {"EQUAL", "NOT_EQUAL", "LESS", "GREATER"};
    static const char *const fields[] = {"version", "create_revision", "mod_revision"};
    if ((unsigned)c->target > ETCD_CMP_VALUE || (unsigned)c->result > ETCD_CMP_GREATER)
        return NULL;
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        set(o, "key", b64_str(c->key, c->key_len), &bad);
        set(o, "target", json_string(targets[c->target]), &bad);
        set(o, "result", json_string(results[c->result]), &bad);
        if (c->target == ETCD_CMP_VALUE)
            set(o, "value", b64_str(c->value, c->value_len), &bad);
        else
            set(o, fields[c->target], int64_str(c->number), &bad);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *build_op(const etcd_op_t *op)
{
    static const char *const names[] = {"request_put", "request_delete_range", "request_range"};
    if ((unsigned)op->kind > ETCD_OP_RANGE)
        return NULL;
    json_t *req = json_object(), *wrap = json_object();
    int bad = !req || !wrap;
    if (!bad) {
        set(req, "key", b64_str(op->key, op->key_len), &bad);
        if (op->kind == ETCD_OP_PUT) {
            set(req, "value", b64_str(op->value, op->value_len), &bad);
            if (op->lease)
                set(req, "lease", int64_str(op->lease), &bad);
        } else if (op->prefix) {
            set(req, "range_end", prefix_end_str(op->key, op->key_len), &bad);
        }
        set(wrap, names[op->kind], req, &bad);
        req = NULL;
    }
    json_decref(req);
    if (bad) {
        json_decref(wrap);
        return NULL;
    }
    return wrap;
}

static json_t *build_ops(const etcd_op_t *ops, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = build_op(&ops[i]);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The txn request body; NULL on a bad target/kind or out of memory. */
static char *build_txn(const etcd_cmp_t *cmps, size_t n_cmps, const etcd_op_t *success, size_t n_success,
                       const etcd_op_t *failure, size_t n_failure)
{
    json_t *root = json_object(), *arr = json_array();
    int bad = !root || !arr;
    for (size_t i = 0; !bad && i < n_cmps; i++) {
        json_t *c = build_cmp(&cmps[i]);
        if (!c || json_array_append_new(arr, c) != 0)
            bad = 1;
    }
    if (!bad) {
        set(root, "compare", arr, &bad);
        arr = NULL;
        set(root, "success", build_ops(success, n_success), &bad);
        set(root, "failure", build_ops(failure, n_failure), &bad);
    }
    json_decref(arr);
    char *s = bad ? NULL : json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

typedef struct txn_op_s {
    etcd_txn_cb cb;
    void *arg;
    size_t expect[2]; /* ops in the failure, success branch */
} txn_op_t;

static void on_txn(void *arg, int rc, const char *body, size_t len)
{
    txn_op_t *op = arg;
    etcd_txn_result_t res = {0};
    if (rc == 0)
        rc = etcd_json_parse_txn(body, len, &res);
    /* etcd answers one response per op of the branch it ran */
    if (rc == 0 && res.n_ops != op->expect[res.succeeded ? 1 : 0])
        rc = ETCD_EMALFORMED;
    op->cb(op->arg, rc, rc ? NULL : &res);
    etcd_json_txn_fini(&res);
    free(op);
}

int etcd_txn(etcd_client_t *cli, const etcd_cmp_t *cmps, size_t n_cmps, const etcd_op_t *success, size_t n_success,
             const etcd_op_t *failure, size_t n_failure, int64_t deadline_ms, etcd_txn_cb cb, void *arg)
{
    if (n_cmps > TXN_MAX_OPS || n_success > TXN_MAX_OPS || n_failure > TXN_MAX_OPS)
        return ETCD_ETOOBIG;
    for (size_t i = 0; i < n_cmps; i++)
        if ((unsigned)cmps[i].target > ETCD_CMP_VALUE || (unsigned)cmps[i].result > ETCD_CMP_GREATER)
            return ETCD_EMALFORMED;
    for (size_t i = 0; i < n_success + n_failure; i++)
        if ((unsigned)(i < n_success ? success[i] : failure[i - n_success]).kind > ETCD_OP_RANGE)
            return ETCD_EMALFORMED;
    txn_op_t *op = malloc(sizeof *op);
    char *json = build_txn(cmps, n_cmps, success, n_success, failure, n_failure);
    int rc = op && json ? 0 : ETCD_ENOMEM;
    if (!rc) {
        op->cb = cb;
        op->arg = arg;
        op->expect[0] = n_failure;
        op->expect[1] = n_success;
        rc = etcd_call(cli, "/v3/kv/txn", json, deadline_ms, on_txn, op);
    }
    if (rc)
        free(op);
    free(json);
    return rc;
}
