/*
 * fuzz/fuzz_internal_records: libFuzzer entry for the decoders of data eddy
 * wrote itself and reads back from disk or from its internal topics. A
 * corrupted disk, a half-written file or a record from another Kafka version
 * must give an error, never a crash or a read past the bytes.
 *
 * Byte 0 % 9 picks the decoder; the rest of the input is what it reads:
 *   0  __consumer_offsets key        group_rec_parse_key
 *   1  offset commit value           group_rec_parse_offset
 *   2  group metadata value          group_rec_parse_group
 *   3  consumer subscription         group_rec_subscription_topics
 *   4  __transaction_state key       txn_rec_parse_key
 *   5  transaction metadata value    txn_rec_parse_value + txn_rec_each_partition
 *   6  producer-id block value       txn_rec_parse_producer_ids
 *   7  producer-state snapshot       log_pstate_decode (byte 1 bit 0: pass the stored offset as expected)
 *   8  offset checkpoint file        broker_checkpoint_read on a temp file in /tmp
 *
 * Properties checked (a violation aborts):
 *   - every view a parser returns lies inside the input (or is null, len -1);
 *   - an offset key / offset value that parsed, written back with the
 *     coordinator's own encoder (grec_add_offset*), parses to the same fields
 *     (the value comes back as v3, or v1 when it had an expiry: v1 has no
 *     leader epoch, so that is compared only for v3);
 *   - a transaction key and a producer-id block, re-encoded, are a prefix of
 *     the input (parsers ignore trailing bytes, as Kafka's do) when the input
 *     used the version eddy writes;
 *   - txn_rec_each_partition yields exactly partitions_count partitions, none
 *     negative;
 *   - a snapshot that decoded, encoded again, has the input's length and
 *     decodes (with its offset expected) to the same producers;
 *   - a checkpoint reads into entries with a non-empty topic of at most
 *     BROKER_TOPIC_NAME_MAX bytes, partition >= 0 and offset >= 0.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/diag.h"
#include "broker/checkpoint.h"
#include "broker/topics.h"
#include "coordinator/group.h"
#include "coordinator/group_internal.h"
#include "coordinator/txn.h"
#include "coordinator/txn_internal.h"
#include "log/producer_state.h"
#include "protocol/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            abort();                                                                                                   \
    } while (0)

typedef struct span_s {
    const uint8_t *lo, *hi;
    int32_t count;
} span_t;

static bool inside(proto_bytes_t b, const uint8_t *lo, const uint8_t *hi)
{
    if (b.len < 0)
        return b.len == -1;
    if (b.len == 0)
        return true;
    return b.ptr && b.ptr >= lo && b.ptr <= hi && (size_t)(hi - b.ptr) >= (size_t)b.len;
}

static bool same(proto_bytes_t a, proto_bytes_t b)
{
    if (a.len != b.len)
        return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

static void on_topic(void *arg, proto_str_t topic)
{
    span_t *s = arg;
    CHECK(inside(topic, s->lo, s->hi));
    s->count++;
}

static void on_partition(void *arg, proto_str_t topic, int32_t partition)
{
    span_t *s = arg;
    CHECK(inside(topic, s->lo, s->hi));
    CHECK(partition >= 0);
    s->count++;
}

static proto_bytes_t ent_key(const grec_batch_t *b, int i)
{
    return (proto_bytes_t){b->buf.data + b->ents[i].key_off, (int32_t)b->ents[i].key_len};
}

static proto_bytes_t ent_value(const grec_batch_t *b, int i)
{
    if (b->ents[i].val_len < 0)
        return (proto_bytes_t){NULL, -1};
    return (proto_bytes_t){b->buf.data + b->ents[i].val_off, b->ents[i].val_len};
}

static void group_key(proto_bytes_t in, const uint8_t *lo, const uint8_t *hi)
{
    group_rec_key_t k;
    if (group_rec_parse_key(in, &k) != 0)
        return;
    CHECK(inside(k.group, lo, hi));
    if (k.kind != GROUP_REC_OFFSET) {
        CHECK(k.kind == GROUP_REC_GROUP || k.kind == GROUP_REC_OTHER);
        return;
    }
    CHECK(inside(k.topic, lo, hi));
    if (k.group.len < 0 || k.topic.len < 0)
        return; /* a null string cannot be written back as a string */
    grec_batch_t b;
    grec_batch_init(&b);
    grec_add_offset_tombstone(&b, k.group, k.topic, k.partition);
    if (!b.err) {
        CHECK(b.n == 1);
        group_rec_key_t k2;
        CHECK(group_rec_parse_key(ent_key(&b, 0), &k2) == 0);
        CHECK(k2.kind == GROUP_REC_OFFSET && same(k2.group, k.group) && same(k2.topic, k.topic) &&
              k2.partition == k.partition);
    }
    grec_batch_fini(&b);
}

static void offset_value(proto_bytes_t in, const uint8_t *lo, const uint8_t *hi)
{
    group_rec_offset_t v;
    if (group_rec_parse_offset(in, &v) != 0)
        return;
    CHECK(inside(v.metadata, lo, hi));
    uint8_t key[5] = {'t', 0, 0, 0, 7};
    offset_t off = {
        .key = key,
        .klen = sizeof(key),
        .partition = 7,
        .offset = v.offset,
        .leader_epoch = v.leader_epoch,
        .metadata = {v.metadata.len >= 0 ? (char *)(uintptr_t)v.metadata.ptr : NULL, v.metadata.len},
        .commit_ts = v.commit_timestamp,
        .expire_ts = v.expire_timestamp < 0 ? -1 : v.expire_timestamp,
    };
    if (off.metadata.p == NULL && off.metadata.len == 0)
        off.metadata.p = (char *)(uintptr_t)""; /* a zero-length view may have no pointer */
    grec_batch_t b;
    grec_batch_init(&b);
    grec_add_offset(&b, proto_str_c("g"), &off);
    if (!b.err) {
        CHECK(b.n == 1);
        group_rec_offset_t v2;
        CHECK(group_rec_parse_offset(ent_value(&b, 0), &v2) == 0);
        CHECK(v2.offset == v.offset && v2.commit_timestamp == v.commit_timestamp);
        CHECK(v2.expire_timestamp == off.expire_ts);
        if (off.expire_ts < 0)
            CHECK(v2.leader_epoch == v.leader_epoch);
        /* A null metadata is stored as "". */
        CHECK(v.metadata.len < 0 ? v2.metadata.len == 0 : same(v2.metadata, v.metadata));
        group_rec_key_t k2;
        CHECK(group_rec_parse_key(ent_key(&b, 0), &k2) == 0);
        CHECK(k2.kind == GROUP_REC_OFFSET && k2.partition == 7 && k2.topic.len == 1 && k2.topic.ptr[0] == 't');
    }
    grec_batch_fini(&b);
}

static void group_value(proto_bytes_t in, const uint8_t *lo, const uint8_t *hi)
{
    group_rec_group_t v;
    if (group_rec_parse_group(in, &v) != 0)
        return;
    CHECK(inside(v.protocol_type, lo, hi));
    CHECK(inside(v.protocol, lo, hi));
    CHECK(inside(v.leader, lo, hi));
    CHECK(v.members_count >= 0);
}

static void subscription(proto_bytes_t in, const uint8_t *lo, const uint8_t *hi)
{
    span_t s = {lo, hi, 0};
    int rc = group_rec_subscription_topics(in, on_topic, &s);
    CHECK(rc <= 0);
}

static void txn_key(proto_bytes_t in, const uint8_t *lo, const uint8_t *hi)
{
    txn_rec_key_t k;
    if (txn_rec_parse_key(in, &k) != 0)
        return;
    buf_t b;
    buf_init(&b);
    int rc = 0;
    if (k.kind == TXN_REC_METADATA) {
        CHECK(inside(k.transactional_id, lo, hi));
        rc = k.transactional_id.len >= 0 ? trec_key_metadata(&b, k.transactional_id) : -1;
    } else if (k.kind == TXN_REC_PRODUCER_IDS) {
        rc = trec_key_producer_ids(&b);
    } else {
        CHECK(k.kind == TXN_REC_OTHER);
        rc = -1;
    }
    if (rc == 0) {
        CHECK(b.len <= (size_t)in.len);
        CHECK(memcmp(b.data, in.ptr, b.len) == 0);
    }
    buf_fini(&b);
}

static void txn_value(proto_bytes_t in, const uint8_t *lo, const uint8_t *hi)
{
    txn_rec_value_t v;
    if (txn_rec_parse_value(in, &v) != 0)
        return;
    CHECK(v.partitions_count >= 0);
    CHECK(inside(v.partitions_raw, lo, hi));
    CHECK(v.transaction_status >= TXN_EMPTY && v.transaction_status <= TXN_PREPARE_EPOCH_FENCE);
    span_t s = {lo, hi, 0};
    CHECK(txn_rec_each_partition(&v, on_partition, &s) == 0);
    CHECK(s.count == v.partitions_count);
}

static void producer_ids(proto_bytes_t in)
{
    int64_t end;
    if (txn_rec_parse_producer_ids(in, &end) != 0) {
        CHECK(end == -1);
        return;
    }
    CHECK(end >= 0);
    buf_t b;
    buf_init(&b);
    if (trec_value_producer_ids(&b, end) == 0) {
        CHECK(b.len <= (size_t)in.len);
        CHECK(memcmp(b.data, in.ptr, b.len) == 0);
    }
    buf_fini(&b);
}

static bool same_producer(const log_producer_t *a, const log_producer_t *b)
{
    if (a->producer_id != b->producer_id || a->epoch != b->epoch || a->coordinator_epoch != b->coordinator_epoch ||
        a->last_timestamp != b->last_timestamp || a->txn_first_offset != b->txn_first_offset ||
        a->nbatches != b->nbatches)
        return false;
    for (int i = 0; i < a->nbatches; i++) {
        const log_pstate_batch_t *x = &a->batches[i], *y = &b->batches[i];
        if (x->first_seq != y->first_seq || x->last_seq != y->last_seq || x->first_offset != y->first_offset ||
            x->last_offset != y->last_offset || x->max_timestamp != y->max_timestamp)
            return false;
    }
    return true;
}

static void snapshot(const uint8_t *p, size_t n, bool expect)
{
    int64_t stored = -1;
    if (n >= 18) {
        uint64_t u = 0;
        for (int i = 10; i < 18; i++)
            u = u << 8 | p[i];
        stored = (int64_t)u;
    }
    log_pstate_t ps;
    log_pstate_init(&ps);
    int rc = log_pstate_decode(&ps, p, n, expect && stored >= 0 ? stored : -1);
    if (rc != 0) {
        CHECK(log_pstate_count(&ps) == 0);
        CHECK(log_pstate_first_unstable(&ps) == -1);
        log_pstate_fini(&ps);
        return;
    }
    buf_t b;
    buf_init(&b);
    if (log_pstate_encode(&ps, stored, &b) == 0) {
        CHECK(b.len == n);
        log_pstate_t ps2;
        log_pstate_init(&ps2);
        CHECK(log_pstate_decode(&ps2, b.data, b.len, stored) == 0);
        CHECK(log_pstate_count(&ps2) == log_pstate_count(&ps));
        CHECK(log_pstate_first_unstable(&ps2) == log_pstate_first_unstable(&ps));
        size_t pos = 0;
        const log_producer_t *pr;
        while ((pr = map_next(&ps.producers, &pos))) {
            const log_producer_t *q = log_pstate_get(&ps2, pr->producer_id);
            CHECK(q && same_producer(pr, q));
        }
        log_pstate_fini(&ps2);
    }
    buf_fini(&b);
    log_pstate_fini(&ps);
}

static void checkpoint(const uint8_t *p, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/eddy-fuzz-checkpoint-%ld", (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    if (done == n) {
        broker_checkpoint_t cp;
        broker_checkpoint_init(&cp);
        if (broker_checkpoint_read(&cp, path) == 0) {
            for (size_t i = 0; i < cp.count; i++) {
                const broker_checkpoint_entry_t *e = &cp.entries[i];
                size_t len = strlen(e->topic);
                CHECK(len > 0 && len <= BROKER_TOPIC_NAME_MAX);
                CHECK(e->partition >= 0 && e->offset >= 0);
                CHECK(broker_checkpoint_get(&cp, e->topic, e->partition) >= 0);
            }
        }
        broker_checkpoint_fini(&cp);
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        diag_set_level(DIAG_ERROR); /* malformed checkpoints and snapshots log warnings */
        quiet = true;
    }
    if (size < 1 || size - 1 > INT32_MAX)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    const uint8_t *hi = p + n;
    proto_bytes_t in = {p, (int32_t)n};
    switch (data[0] % 9) {
    case 0:
        group_key(in, p, hi);
        break;
    case 1:
        offset_value(in, p, hi);
        break;
    case 2:
        group_value(in, p, hi);
        break;
    case 3:
        subscription(in, p, hi);
        break;
    case 4:
        txn_key(in, p, hi);
        break;
    case 5:
        txn_value(in, p, hi);
        break;
    case 6:
        producer_ids(in);
        break;
    case 7:
        snapshot(n ? p + 1 : p, n ? n - 1 : 0, n && (p[0] & 1));
        break;
    default:
        checkpoint(p, n);
        break;
    }
    return 0;
}
