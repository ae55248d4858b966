/*
 * coordinator/txn_records: the records the transaction coordinator keeps in
 * __transaction_state (layouts in txn.h) and the transactional-id hash.
 *
 * Parsers run on bytes read back from disk, so they go through the
 * bounds-checked reader and return an error instead of trusting a length.
 * Trailing bytes after the fields a version defines are ignored, as Kafka's
 * readers do.
 */
#include <stdlib.h>
#include <string.h>

#include "coordinator/txn_internal.h"
#include "protocol/writer.h"

int32_t txn_partition_for(const txn_coordinator_t *coord, proto_str_t transactional_id)
{
    return grec_partition_for(transactional_id, coord->cfg.num_partitions);
}

/* ---- parsers ---- */

int txn_rec_parse_key(proto_bytes_t key, txn_rec_key_t *out)
{
    memset(out, 0, sizeof(*out));
    if (key.len < 0 || !key.ptr)
        return PROTO_ENEGATIVE;
    proto_reader_t rd;
    proto_reader_init(&rd, key.ptr, (size_t)key.len);
    int16_t version = proto_rd_i16(&rd);
    if (rd.err)
        return rd.err;
    if (version == 0) {
        out->kind = TXN_REC_METADATA;
        out->transactional_id = proto_rd_string(&rd, 0);
    } else if (version == TXN_KEY_VERSION_PRODUCER_IDS) {
        out->kind = TXN_REC_PRODUCER_IDS;
    } else {
        out->kind = TXN_REC_OTHER;
    }
    return rd.err;
}

/*
 * transaction_partitions: v0 int32 count (-1 null) of {topic int16 string,
 * partition_ids int32 count + int32s}; v1 compact (uvarint count+1, compact
 * string, compact int32 array, a tagged section per element).
 * Calls fn (when not NULL) for every partition; returns the total count.
 */
static int32_t rd_partitions(proto_reader_t *rd, bool compact,
                             void (*fn)(void *arg, proto_str_t topic, int32_t partition), void *arg)
{
    int32_t total = 0;
    int32_t n = proto_rd_array_len(rd, compact, compact ? 3 : 6);
    for (int32_t i = 0; i < n && !rd->err; i++) {
        proto_str_t topic = compact ? proto_rd_compact_string(rd, 0) : proto_rd_string(rd, 0);
        int32_t m = proto_rd_array_len(rd, compact, 4);
        if (m < 0 && !rd->err)
            PROTO_RD_FAIL(rd, PROTO_ENEGATIVE);
        for (int32_t j = 0; j < m && !rd->err; j++) {
            int32_t p = proto_rd_i32(rd);
            if (!rd->err && p < 0)
                PROTO_RD_FAIL(rd, PROTO_EINVALID);
            if (!rd->err) {
                total++;
                if (fn)
                    fn(arg, topic, p);
            }
        }
        if (compact)
            proto_rd_skip_tags(rd);
    }
    return total;
}

int txn_rec_parse_value(proto_bytes_t value, txn_rec_value_t *out)
{
    memset(out, 0, sizeof(*out));
    out->previous_producer_id = -1;
    if (value.len < 0 || !value.ptr)
        return PROTO_ENEGATIVE;
    proto_reader_t rd;
    proto_reader_init(&rd, value.ptr, (size_t)value.len);
    int16_t version = proto_rd_i16(&rd);
    if (rd.err)
        return rd.err;
    if (version < 0 || version > 1)
        return PROTO_EINVALID;
    bool compact = version >= 1;
    out->compact = compact;
    out->producer_id = proto_rd_i64(&rd);
    out->producer_epoch = proto_rd_i16(&rd);
    out->transaction_timeout_ms = proto_rd_i32(&rd);
    out->transaction_status = proto_rd_i8(&rd);
    const uint8_t *start = rd.p;
    out->partitions_count = rd_partitions(&rd, compact, NULL, NULL);
    out->partitions_raw = (proto_bytes_t){start, rd.err ? 0 : (int32_t)(rd.p - start)};
    out->last_update_timestamp_ms = proto_rd_i64(&rd);
    out->start_timestamp_ms = proto_rd_i64(&rd);
    if (compact && !rd.err) {
        /* Tagged fields: 0 previous_producer_id, 1 next_producer_id, 2 client_transaction_version. */
        uint32_t ntags = proto_rd_uvarint(&rd);
        for (uint32_t i = 0; i < ntags && !rd.err; i++) {
            uint32_t tag = proto_rd_uvarint(&rd);
            uint32_t size = proto_rd_uvarint(&rd);
            if (rd.err)
                break;
            if (size > proto_rd_remaining(&rd)) {
                PROTO_RD_FAIL(&rd, PROTO_ESHORT);
                break;
            }
            if (tag == 0 && size == 8)
                out->previous_producer_id = proto_rd_i64(&rd);
            else
                proto_rd_skip(&rd, size);
        }
    }
    if (!rd.err && (out->transaction_status < 0 || out->transaction_status > TXN_PREPARE_EPOCH_FENCE ||
                    out->producer_id < -1 || out->transaction_timeout_ms < 0))
        PROTO_RD_FAIL(&rd, PROTO_EINVALID);
    return rd.err;
}

int txn_rec_each_partition(const txn_rec_value_t *v, void (*fn)(void *arg, proto_str_t topic, int32_t partition),
                           void *arg)
{
    if (v->partitions_raw.len <= 0 || !v->partitions_raw.ptr)
        return 0;
    proto_reader_t rd;
    proto_reader_init(&rd, v->partitions_raw.ptr, (size_t)v->partitions_raw.len);
    (void)rd_partitions(&rd, v->compact, fn, arg);
    return rd.err;
}

int txn_rec_parse_producer_ids(proto_bytes_t value, int64_t *block_end)
{
    *block_end = -1;
    if (value.len < 0 || !value.ptr)
        return PROTO_ENEGATIVE;
    proto_reader_t rd;
    proto_reader_init(&rd, value.ptr, (size_t)value.len);
    int16_t version = proto_rd_i16(&rd);
    int64_t end = proto_rd_i64(&rd);
    if (rd.err)
        return rd.err;
    if (version != 0 || end < 0)
        return PROTO_EINVALID;
    *block_end = end;
    return 0;
}

/* ---- encoders ---- */

int trec_key_metadata(buf_t *b, proto_str_t transactional_id)
{
    proto_writer_t wr;
    proto_writer_init(&wr, b);
    proto_wr_i16(&wr, 0);
    proto_wr_string(&wr, transactional_id);
    return wr.err;
}

int trec_key_producer_ids(buf_t *b)
{
    proto_writer_t wr;
    proto_writer_init(&wr, b);
    proto_wr_i16(&wr, TXN_KEY_VERSION_PRODUCER_IDS);
    return wr.err;
}

int trec_value_producer_ids(buf_t *b, int64_t block_end)
{
    proto_writer_t wr;
    proto_writer_init(&wr, b);
    proto_wr_i16(&wr, 0);
    proto_wr_i64(&wr, block_end);
    return wr.err;
}

typedef struct tp_view_s {
    proto_str_t topic;
    int32_t partition;
} tp_view_t;

static int cmp_tp(const void *a, const void *b)
{
    const tp_view_t *x = a, *y = b;
    int32_t n = x->topic.len < y->topic.len ? x->topic.len : y->topic.len;
    int c = n > 0 ? memcmp(x->topic.ptr, y->topic.ptr, (size_t)n) : 0;
    if (c)
        return c;
    if (x->topic.len != y->topic.len)
        return x->topic.len < y->topic.len ? -1 : 1;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

int trec_value(buf_t *b, const txn_t *txn, const txn_next_t *next, int64_t now)
{
    /* The partition set after the transition, sorted so one topic's ids sit together. */
    int32_t n = 0, cap = (next->clear_tps ? 0 : txn->ntps) + next->nadd;
    tp_view_t *all = grp_xcalloc(cap > 0 ? (size_t)cap : 1, sizeof(*all));
    if (!next->clear_tps)
        for (int32_t i = 0; i < txn->ntps; i++)
            all[n++] = (tp_view_t){gstr_view(txn->tps[i].topic), txn->tps[i].partition};
    for (int32_t i = 0; i < next->nadd; i++)
        all[n++] = (tp_view_t){gstr_view(next->add[i].topic), next->add[i].partition};
    qsort(all, (size_t)n, sizeof(*all), cmp_tp);
    int32_t m = 0; /* drop duplicates */
    for (int32_t i = 0; i < n; i++)
        if (m == 0 || cmp_tp(&all[m - 1], &all[i]) != 0)
            all[m++] = all[i];

    proto_writer_t wr;
    proto_writer_init(&wr, b);
    proto_wr_i16(&wr, 0);
    proto_wr_i64(&wr, next->producer_id);
    proto_wr_i16(&wr, next->epoch);
    proto_wr_i32(&wr, next->timeout_ms);
    proto_wr_i8(&wr, (int8_t)next->state);
    if (next->state == TXN_EMPTY) {
        proto_wr_i32(&wr, -1); /* Kafka writes null partitions for Empty */
    } else {
        int32_t topics = 0;
        for (int32_t i = 0; i < m; i++)
            if (i == 0 || !view_eq(all[i - 1].topic, all[i].topic))
                topics++;
        proto_wr_i32(&wr, topics);
        for (int32_t i = 0; i < m;) {
            int32_t j = i;
            while (j < m && view_eq(all[j].topic, all[i].topic))
                j++;
            proto_wr_string(&wr, all[i].topic);
            proto_wr_i32(&wr, j - i);
            for (int32_t k = i; k < j; k++)
                proto_wr_i32(&wr, all[k].partition);
            i = j;
        }
    }
    proto_wr_i64(&wr, now);
    proto_wr_i64(&wr, next->start_ts);
    free(all);
    return wr.err;
}

int16_t trec_append(txn_coordinator_t *coord, int32_t partition, const buf_t *key, const buf_t *value)
{
    proto_record_spec_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.key = (proto_bytes_t){key->data, (int32_t)key->len};
    rec.value = value ? (proto_bytes_t){value->data, (int32_t)value->len} : (proto_bytes_t){NULL, -1};
    if (!coord->cb.append)
        return TXN_ERR_NONE;
    coord->in_append = true;
    int16_t err = coord->cb.append(coord->cb_arg, partition, &rec, 1, coord->now);
    coord->in_append = false;
    return err;
}
