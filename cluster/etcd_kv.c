/* cluster/etcd_kv: get (range) on top of etcd_call; see etcd.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/etcd.h"
#include "cluster/etcd_internal.h"

typedef struct kv_op_s {
    etcd_range_cb cb;
    void *arg;
} kv_op_t;

int etcd_prefix_end(const void *key, size_t len, char **out)
{
    const unsigned char *k = key;
    while (len && k[len - 1] == 0xff)
        len--;
    if (!len)
        return etcd_b64_encode("", 1, out);
    unsigned char *end = malloc(len);
    if (!end)
        return ETCD_ENOMEM;
    memcpy(end, k, len);
    end[len - 1]++;
    int rc = etcd_b64_encode(end, len, out);
    free(end);
    return rc;
}

static void on_range(void *arg, int rc, const char *body, size_t len)
{
    kv_op_t *op = arg;
    etcd_range_t rng = {0};
    if (rc == 0)
        rc = etcd_json_parse_range(body, len, &rng);
    op->cb(op->arg, rc, rc ? NULL : &rng);
    free(op);
}

int etcd_get(etcd_client_t *cli, const void *key, size_t key_len, int prefix, int64_t revision, int64_t deadline_ms,
             etcd_range_cb cb, void *arg)
{
    char *k = NULL, *end = NULL, *json = NULL;
    kv_op_t *op = NULL;
    int rc = etcd_b64_encode(key, key_len, &k);
    if (!rc && prefix)
        rc = etcd_prefix_end(key, key_len, &end);
    if (rc)
        goto out;
    size_t cap = strlen(k) + (end ? strlen(end) : 0) + 96;
    json = malloc(cap);
    op = malloc(sizeof *op);
    if (!json || !op) {
        rc = ETCD_ENOMEM;
        goto out;
    }
    snprintf(json, cap, "{\"key\":\"%s\"%s%s%s,\"revision\":\"%" PRId64 "\"}", k, end ? ",\"range_end\":\"" : "",
             end ? end : "", end ? "\"" : "", revision);
    op->cb = cb;
    op->arg = arg;
    rc = etcd_call(cli, "/v3/kv/range", json, deadline_ms, on_range, op);
    if (!rc)
        op = NULL;
out:
    free(k);
    free(end);
    free(json);
    free(op);
    return rc;
}

/* Base64 of (p, n), or of nothing; *out is the caller's to free. */
static int b64(const void *p, size_t n, char **out)
{
    return etcd_b64_encode(p ? p : "", p ? n : 0, out);
}

int etcd_put(etcd_client_t *cli, const void *key, size_t key_len, const void *value, size_t value_len, int64_t lease,
             int64_t deadline_ms, etcd_raw_cb cb, void *arg)
{
    char *k = NULL, *v = NULL, *json = NULL;
    int rc = b64(key, key_len, &k);
    if (!rc)
        rc = b64(value, value_len, &v);
    size_t cap = (k ? strlen(k) : 0) + (v ? strlen(v) : 0) + 96;
    if (!rc && !(json = malloc(cap)))
        rc = ETCD_ENOMEM;
    if (!rc) {
        snprintf(json, cap, "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%" PRId64 "\"}", k, v, lease);
        rc = etcd_call(cli, "/v3/kv/put", json, deadline_ms, cb, arg);
    }
    free(k);
    free(v);
    free(json);
    return rc;
}

int etcd_delete(etcd_client_t *cli, const void *key, size_t key_len, int prefix, int64_t deadline_ms, etcd_raw_cb cb,
                void *arg)
{
    char *k = NULL, *end = NULL, *json = NULL;
    int rc = b64(key, key_len, &k);
    if (!rc && prefix)
        rc = etcd_prefix_end(key, key_len, &end);
    size_t cap = (k ? strlen(k) : 0) + (end ? strlen(end) : 0) + 64;
    if (!rc && !(json = malloc(cap)))
        rc = ETCD_ENOMEM;
    if (!rc) {
        snprintf(json, cap, "{\"key\":\"%s\"%s%s%s}", k, end ? ",\"range_end\":\"" : "", end ? end : "",
                 end ? "\"" : "");
        rc = etcd_call(cli, "/v3/kv/deleterange", json, deadline_ms, cb, arg);
    }
    free(k);
    free(end);
    free(json);
    return rc;
}

typedef struct cas_op_s {
    etcd_cas_cb cb;
    void *arg;
} cas_op_t;

static void on_cas(void *arg, int rc, const char *body, size_t len)
{
    cas_op_t *op = arg;
    etcd_range_t existing = {0};
    int succeeded = 0;
    if (rc == 0)
        rc = etcd_json_parse_put_if_absent(body, len, &succeeded, &existing);
    if (rc == 0 && !succeeded)
        rc = ETCD_ECOMPARE;
    op->cb(op->arg, rc, rc == ETCD_ECOMPARE ? &existing : NULL);
    free(op);
}

int etcd_put_if_absent(etcd_client_t *cli, const void *key, size_t key_len, const void *value, size_t value_len,
                       int64_t lease, int64_t deadline_ms, etcd_cas_cb cb, void *arg)
{
    char *k = NULL, *v = NULL, *json = NULL;
    cas_op_t *op = NULL;
    int rc = b64(key, key_len, &k);
    if (!rc)
        rc = b64(value, value_len, &v);
    size_t cap = (k ? 3 * strlen(k) : 0) + (v ? strlen(v) : 0) + 320;
    if (!rc && (!(json = malloc(cap)) || !(op = malloc(sizeof *op))))
        rc = ETCD_ENOMEM;
    if (!rc) {
        snprintf(json, cap,
                 "{\"compare\":[{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],"
                 "\"success\":[{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%" PRId64 "\"}}],"
                 "\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}",
                 k, k, v, lease, k);
        op->cb = cb;
        op->arg = arg;
        rc = etcd_call(cli, "/v3/kv/txn", json, deadline_ms, on_cas, op);
        if (!rc)
            op = NULL;
    }
    free(k);
    free(v);
    free(json);
    free(op);
    return rc;
}
