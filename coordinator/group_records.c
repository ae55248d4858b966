/*
 * coordinator/group_records: the records the group coordinator keeps in
 * __consumer_offsets (layouts in group.h), the consumer-protocol
 * subscription reader, and Kafka's group-to-partition hash.
 *
 * Every parser runs on bytes read back from disk or sent by a client, so it
 * goes through the bounds-checked reader and returns an error instead of
 * trusting a length. Trailing bytes after the fields a version defines are
 * ignored, as Kafka's readers do.
 */
#include <stdlib.h>
#include <string.h>

#include "coordinator/group_internal.h"
#include "protocol/writer.h"

/* ---- partition hash ---- */

/* Next code point of UTF-8 (invalid bytes become U+FFFD, as Java's decoder makes them). */
static uint32_t utf8_next(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    uint8_t c = *p++;
    uint32_t cp;
    int more;
    if (c < 0x80) {
        *pp = p;
        return c;
    } else if ((c & 0xe0) == 0xc0 && c >= 0xc2) {
        cp = c & 0x1f;
        more = 1;
    } else if ((c & 0xf0) == 0xe0) {
        cp = c & 0x0f;
        more = 2;
    } else if ((c & 0xf8) == 0xf0 && c <= 0xf4) {
        cp = c & 0x07;
        more = 3;
    } else {
        *pp = p;
        return 0xfffd;
    }
    for (int i = 0; i < more; i++) {
        if (p >= end || (*p & 0xc0) != 0x80) {
            *pp = p;
            return 0xfffd;
        }
        cp = (cp << 6) | (*p++ & 0x3f);
    }
    *pp = p;
    if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0xfffd;
    return cp;
}

int32_t grec_partition_for(proto_str_t group_id, int32_t partitions)
{
    /* Java's String.hashCode: h = 31 * h + c over UTF-16 code units, int32 wrap-around. */
    uint32_t h = 0;
    const uint8_t *p = group_id.ptr, *end = group_id.len > 0 ? group_id.ptr + group_id.len : group_id.ptr;
    while (p && p < end) {
        uint32_t cp = utf8_next(&p, end);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31u * h + (0xd800u + (cp >> 10));
            h = 31u * h + (0xdc00u + (cp & 0x3ff));
        } else {
            h = 31u * h + cp;
        }
    }
    int32_t hs = (int32_t)h;
    int32_t a = hs == INT32_MIN ? 0 : (hs < 0 ? -hs : hs); /* Kafka's Utils.abs */
    return partitions > 0 ? a % partitions : 0;
}

/* ---- parsers ---- */

static proto_str_t rd_str(proto_reader_t *rd, bool compact, int nullable)
{
    return compact ? proto_rd_compact_string(rd, nullable) : proto_rd_string(rd, nullable);
}

static proto_bytes_t rd_bytes(proto_reader_t *rd, bool compact, int nullable)
{
    return compact ? proto_rd_compact_bytes(rd, nullable) : proto_rd_bytes(rd, nullable);
}

int group_rec_parse_key(proto_bytes_t key, group_rec_key_t *out)
{
    memset(out, 0, sizeof(*out));
    if (key.len < 0 || !key.ptr)
        return PROTO_ENEGATIVE;
    proto_reader_t rd;
    proto_reader_init(&rd, key.ptr, (size_t)key.len);
    int16_t version = proto_rd_i16(&rd);
    if (rd.err)
        return rd.err;
    if (version == 0 || version == 1) {
        out->kind = GROUP_REC_OFFSET;
        out->group = proto_rd_string(&rd, 0);
        out->topic = proto_rd_string(&rd, 0);
        out->partition = proto_rd_i32(&rd);
        if (!rd.err && out->partition < 0)
            PROTO_RD_FAIL(&rd, PROTO_EINVALID);
    } else if (version == 2) {
        out->kind = GROUP_REC_GROUP;
        out->group = proto_rd_string(&rd, 0);
    } else {
        out->kind = GROUP_REC_OTHER;
    }
    return rd.err;
}

int group_rec_parse_offset(proto_bytes_t value, group_rec_offset_t *out)
{
    memset(out, 0, sizeof(*out));
    out->leader_epoch = -1;
    out->expire_timestamp = -1;
    if (value.len < 0 || !value.ptr)
        return PROTO_ENEGATIVE;
    proto_reader_t rd;
    proto_reader_init(&rd, value.ptr, (size_t)value.len);
    int16_t version = proto_rd_i16(&rd);
    if (rd.err)
        return rd.err;
    if (version < 0 || version > 4)
        return PROTO_EINVALID;
    bool compact = version >= 4;
    out->offset = proto_rd_i64(&rd);
    if (version >= 3)
        out->leader_epoch = proto_rd_i32(&rd);
    out->metadata = rd_str(&rd, compact, 0);
    out->commit_timestamp = proto_rd_i64(&rd);
    if (version == 1)
        out->expire_timestamp = proto_rd_i64(&rd);
    if (compact)
        proto_rd_skip_tags(&rd);
    return rd.err;
}

int group_rec_parse_group(proto_bytes_t value, group_rec_group_t *out)
{
    memset(out, 0, sizeof(*out));
    out->current_state_timestamp = -1;
    if (value.len < 0 || !value.ptr)
        return PROTO_ENEGATIVE;
    proto_reader_t rd;
    proto_reader_init(&rd, value.ptr, (size_t)value.len);
    int16_t version = proto_rd_i16(&rd);
    if (rd.err)
        return rd.err;
    if (version < 0 || version > 4)
        return PROTO_EINVALID;
    bool compact = version >= 4;
    out->protocol_type = rd_str(&rd, compact, 0);
    out->generation = proto_rd_i32(&rd);
    out->protocol = rd_str(&rd, compact, 1);
    out->leader = rd_str(&rd, compact, 1);
    if (version >= 2)
        out->current_state_timestamp = proto_rd_i64(&rd);
    /* Smallest member: four empty strings, two int32s, two empty bytes. */
    int32_t n = proto_rd_array_len(&rd, compact, compact ? 4 : 8);
    if (n < 0 && !rd.err)
        PROTO_RD_FAIL(&rd, PROTO_ENEGATIVE);
    for (int32_t i = 0; i < n && !rd.err; i++) {
        (void)rd_str(&rd, compact, 0); /* member_id */
        if (version >= 3)
            (void)rd_str(&rd, compact, 1); /* group_instance_id */
        (void)rd_str(&rd, compact, 0);     /* client_id */
        (void)rd_str(&rd, compact, 0);     /* client_host */
        if (version >= 1)
            (void)proto_rd_i32(&rd); /* rebalance_timeout */
        (void)proto_rd_i32(&rd);     /* session_timeout */
        (void)rd_bytes(&rd, compact, 0);
        (void)rd_bytes(&rd, compact, 0);
        if (compact)
            proto_rd_skip_tags(&rd);
    }
    if (compact)
        proto_rd_skip_tags(&rd);
    out->members_count = n < 0 ? 0 : n;
    return rd.err;
}

int group_rec_subscription_topics(proto_bytes_t metadata, void (*fn)(void *arg, proto_str_t topic), void *arg)
{
    if (metadata.len < 0 || !metadata.ptr)
        return PROTO_ENEGATIVE;
    proto_reader_t rd;
    proto_reader_init(&rd, metadata.ptr, (size_t)metadata.len);
    int16_t version = proto_rd_i16(&rd);
    if (!rd.err && version < 0)
        PROTO_RD_FAIL(&rd, PROTO_EINVALID);
    int32_t n = proto_rd_array_len(&rd, 0, 2);
    if (n < 0 && !rd.err)
        PROTO_RD_FAIL(&rd, PROTO_ENEGATIVE);
    /* First check the whole prefix, then report, so a bad tail reports nothing. */
    const uint8_t *topics_start = rd.p;
    for (int32_t i = 0; i < n && !rd.err; i++)
        (void)proto_rd_string(&rd, 0);
    (void)proto_rd_bytes(&rd, 1); /* user_data */
    if (rd.err)
        return rd.err;
    proto_reader_t again;
    proto_reader_init(&again, topics_start, (size_t)(metadata.ptr + metadata.len - topics_start));
    for (int32_t i = 0; i < n; i++)
        fn(arg, proto_rd_string(&again, 0));
    return 0;
}

/* ---- encoders ---- */

void grec_batch_init(grec_batch_t *b)
{
    memset(b, 0, sizeof(*b));
    buf_init(&b->buf);
}

void grec_batch_fini(grec_batch_t *b)
{
    buf_fini(&b->buf);
    free(b->ents);
    memset(b, 0, sizeof(*b));
}

void grec_batch_reset(grec_batch_t *b)
{
    b->buf.len = 0;
    b->n = 0;
    b->err = 0;
}

/* Starts an entry whose key is written next; returns it (NULL on OOM, err set). */
static grec_ent_t *ent_begin(grec_batch_t *b)
{
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 8;
        grec_ent_t *e = realloc(b->ents, (size_t)cap * sizeof(*e));
        if (!e) {
            b->err = PROTO_ENOMEM;
            return NULL;
        }
        b->ents = e;
        b->cap = cap;
    }
    grec_ent_t *e = &b->ents[b->n++];
    e->key_off = b->buf.len;
    e->key_len = 0;
    e->val_off = 0;
    e->val_len = -1;
    return e;
}

static void ent_key_done(grec_batch_t *b, grec_ent_t *e)
{
    e->key_len = b->buf.len - e->key_off;
    e->val_off = b->buf.len;
}

static void ent_value_done(grec_batch_t *b, grec_ent_t *e)
{
    e->val_len = (int32_t)(b->buf.len - e->val_off);
}

static void wr_offset_key(proto_writer_t *wr, proto_str_t group, proto_str_t topic, int32_t partition)
{
    proto_wr_i16(wr, 1);
    proto_wr_string(wr, group);
    proto_wr_string(wr, topic);
    proto_wr_i32(wr, partition);
}

void grec_add_offset(grec_batch_t *b, proto_str_t group, const offset_t *off)
{
    grec_ent_t *e = ent_begin(b);
    if (!e)
        return;
    proto_writer_t wr;
    proto_writer_init(&wr, &b->buf);
    proto_str_t topic = {off->key, (int32_t)(off->klen - 4)};
    wr_offset_key(&wr, group, topic, off->partition);
    ent_key_done(b, e);
    proto_str_t meta = off->metadata.p ? gstr_view(off->metadata) : proto_str_c("");
    if (off->expire_ts >= 0) {
        /* v1 is the only version with an explicit expiry (OffsetCommit v2-4 retention_time). */
        proto_wr_i16(&wr, 1);
        proto_wr_i64(&wr, off->offset);
        proto_wr_string(&wr, meta);
        proto_wr_i64(&wr, off->commit_ts);
        proto_wr_i64(&wr, off->expire_ts);
    } else {
        proto_wr_i16(&wr, 3);
        proto_wr_i64(&wr, off->offset);
        proto_wr_i32(&wr, off->leader_epoch);
        proto_wr_string(&wr, meta);
        proto_wr_i64(&wr, off->commit_ts);
    }
    ent_value_done(b, e);
    if (wr.err)
        b->err = wr.err;
}

void grec_add_offset_tombstone(grec_batch_t *b, proto_str_t group, proto_str_t topic, int32_t partition)
{
    grec_ent_t *e = ent_begin(b);
    if (!e)
        return;
    proto_writer_t wr;
    proto_writer_init(&wr, &b->buf);
    wr_offset_key(&wr, group, topic, partition);
    ent_key_done(b, e);
    if (wr.err)
        b->err = wr.err;
}

void grec_add_group(grec_batch_t *b, const group_t *grp, uint8_t *const *assign, const int32_t *assign_len)
{
    grec_ent_t *e = ent_begin(b);
    if (!e)
        return;
    proto_writer_t wr;
    proto_writer_init(&wr, &b->buf);
    proto_wr_i16(&wr, 2);
    proto_wr_string(&wr, gstr_view(grp->id));
    ent_key_done(b, e);
    proto_wr_i16(&wr, 3);
    proto_wr_string(&wr, grp->protocol_type.p ? gstr_view(grp->protocol_type) : proto_str_c(""));
    proto_wr_i32(&wr, grp->generation);
    proto_wr_string(&wr, gstr_view(grp->protocol_name));
    proto_wr_string(&wr, grp->leader ? gstr_view(grp->leader->id) : proto_str_c(NULL));
    proto_wr_i64(&wr, grp->state_ts);
    proto_wr_i32(&wr, grp->nmembers);
    list_t *pos;
    int i = 0;
    for (pos = grp->members.next; pos != &grp->members; pos = pos->next, i++) {
        const member_t *m = list_entry(pos, member_t, node);
        proto_wr_string(&wr, gstr_view(m->id));
        proto_wr_string(&wr, gstr_view(m->instance_id));
        proto_wr_string(&wr, m->client_id.p ? gstr_view(m->client_id) : proto_str_c(""));
        proto_wr_string(&wr, m->client_host.p ? gstr_view(m->client_host) : proto_str_c(""));
        proto_wr_i32(&wr, m->rebalance_timeout_ms);
        proto_wr_i32(&wr, m->session_timeout_ms);
        proto_wr_bytes(&wr, grp_member_meta(m, gstr_view(grp->protocol_name)));
        proto_bytes_t a = {(const uint8_t *)"", 0};
        if (assign) {
            if (assign[i])
                a = (proto_bytes_t){assign[i], assign_len[i]};
        } else if (m->assignment) {
            a = (proto_bytes_t){m->assignment, m->assignment_len};
        }
        proto_wr_bytes(&wr, a);
    }
    ent_value_done(b, e);
    if (wr.err)
        b->err = wr.err;
}

void grec_add_group_tombstone(grec_batch_t *b, proto_str_t group)
{
    grec_ent_t *e = ent_begin(b);
    if (!e)
        return;
    proto_writer_t wr;
    proto_writer_init(&wr, &b->buf);
    proto_wr_i16(&wr, 2);
    proto_wr_string(&wr, group);
    ent_key_done(b, e);
    if (wr.err)
        b->err = wr.err;
}

/* Views of the batch's records for an append callback; NULL on OOM. */
static proto_record_spec_t *batch_specs(const grec_batch_t *b)
{
    proto_record_spec_t *recs = calloc((size_t)b->n, sizeof(*recs));
    if (!recs)
        return NULL;
    for (int i = 0; i < b->n; i++) {
        const grec_ent_t *e = &b->ents[i];
        recs[i].key = (proto_bytes_t){b->buf.data + e->key_off, (int32_t)e->key_len};
        recs[i].value = e->val_len < 0 ? (proto_bytes_t){NULL, -1}
                                       : (proto_bytes_t){b->buf.data + e->val_off, e->val_len};
    }
    return recs;
}

int16_t grec_batch_append(group_coordinator_t *coord, int32_t partition, grec_batch_t *b)
{
    if (b->err)
        return GROUP_ERR_UNKNOWN_SERVER_ERROR;
    if (b->n == 0)
        return GROUP_ERR_NONE;
    proto_record_spec_t *recs = batch_specs(b);
    if (!recs)
        return GROUP_ERR_UNKNOWN_SERVER_ERROR;
    int16_t err = GROUP_ERR_NONE;
    if (coord->cb.append) {
        coord->in_append = true;
        err = coord->cb.append(coord->cb_arg, partition, recs, b->n, coord->now);
        coord->in_append = false;
    }
    free(recs);
    return err;
}

int16_t grec_batch_append_txn(group_coordinator_t *coord, int32_t partition, int64_t producer_id,
                              int16_t producer_epoch, grec_batch_t *b)
{
    if (b->err || !coord->append_txn)
        return GROUP_ERR_UNKNOWN_SERVER_ERROR;
    if (b->n == 0)
        return GROUP_ERR_NONE;
    proto_record_spec_t *recs = batch_specs(b);
    if (!recs)
        return GROUP_ERR_UNKNOWN_SERVER_ERROR;
    coord->in_append = true;
    int16_t err = coord->append_txn(coord->cb_arg, partition, producer_id, producer_epoch, recs, b->n, coord->now);
    coord->in_append = false;
    free(recs);
    return err;
}
