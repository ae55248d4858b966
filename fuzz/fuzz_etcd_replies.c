/*
 * fuzz/fuzz_etcd_replies: libFuzzer entry for what eddy reads from etcd.
 *
 * Byte 0 picks the reader (% 8), the rest is the input: a range reply, a
 * put-if-absent txn reply, a lease reply, an error body, a topic record, a
 * partition record (cluster/meta_records), a general txn reply, one watch
 * stream object (cluster/etcd_json). Anything
 * may come back as an error; nothing may crash or leak, and a record that
 * decodes must encode again and decode to the same record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/etcd_json.h"
#include "cluster/meta_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_partition(const char *in, size_t len)
{
    cluster_rec_partition_t p, q;
    if (cluster_rec_partition_decode(in, len, &p) != 0)
        return;
    char *js = NULL;
    if (cluster_rec_partition_encode(&p, &js) != 0 || cluster_rec_partition_decode(js, strlen(js), &q) != 0 ||
        memcmp(&p, &q, sizeof(p)) != 0)
        __builtin_trap();
    free(js);
}

static void check_topic(const char *in, size_t len)
{
    cluster_rec_topic_t t, u;
    if (cluster_rec_topic_decode(in, len, &t) != 0)
        return;
    char *js = NULL;
    if (cluster_rec_topic_encode(&t, &js) != 0 || cluster_rec_topic_decode(js, strlen(js), &u) != 0 ||
        memcmp(t.id, u.id, 16) != 0 || t.nparts != u.nparts || t.nconfigs != u.nconfigs)
        __builtin_trap();
    free(js);
    cluster_rec_topic_fini(&t);
    cluster_rec_topic_fini(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 8) {
    case 0: {
        etcd_range_t rng;
        if (etcd_json_parse_range(in, len, &rng) == 0)
            etcd_range_fini(&rng);
        break;
    }
    case 1: {
        int ok = 0;
        etcd_range_t ex;
        memset(&ex, 0, sizeof(ex));
        if (etcd_json_parse_put_if_absent(in, len, &ok, &ex) == 0)
            etcd_range_fini(&ex);
        break;
    }
    case 2: {
        int64_t id, ttl;
        (void)etcd_json_parse_lease(in, len, &id, &ttl);
        break;
    }
    case 3: (void)etcd_json_parse_error(in, len); break;
    case 4: check_topic(in, len); break;
    case 5: check_partition(in, len); break;
    case 6: {
        etcd_txn_result_t res;
        memset(&res, 0, sizeof(res));
        (void)etcd_json_parse_txn(in, len, &res);
        etcd_json_txn_fini(&res);
        break;
    }
    default: {
        etcd_watch_msg_t msg;
        memset(&msg, 0, sizeof(msg));
        (void)etcd_json_parse_watch(in, len, &msg);
        etcd_json_watch_fini(&msg);
        break;
    }
    }
    return 0;
}
