/*
 * coordinator/group_offsets: committed offsets of groups — OffsetCommit,
 * OffsetFetch, OffsetDelete, DeleteGroups, offsets retention, and the
 * replay of __consumer_offsets at start.
 *
 * Every change is first appended through the append callback and applied
 * to memory only when that succeeded, so memory and log agree; when the
 * append fails nothing changes and the caller gets an error (retention
 * simply tries again at its next run).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "coordinator/group_internal.h"

/* ---- the offsets map: key = topic bytes + partition (big-endian) ---- */

typedef struct okey_s {
    uint8_t small[300];
    uint8_t *p;
    size_t len;
} okey_t;

static void okey_make(okey_t *k, proto_str_t topic, int32_t partition)
{
    size_t tl = topic.len > 0 ? (size_t)topic.len : 0;
    k->len = tl + 4;
    k->p = k->len <= sizeof(k->small) ? k->small : grp_xmalloc(k->len);
    if (tl)
        memcpy(k->p, topic.ptr, tl);
    uint32_t u = (uint32_t)partition;
    k->p[tl] = (uint8_t)(u >> 24);
    k->p[tl + 1] = (uint8_t)(u >> 16);
    k->p[tl + 2] = (uint8_t)(u >> 8);
    k->p[tl + 3] = (uint8_t)u;
}

static void okey_done(okey_t *k)
{
    if (k->p != k->small)
        free(k->p);
}

static proto_str_t off_topic(const offset_t *off)
{
    return (proto_str_t){off->key, (int32_t)(off->klen - 4)};
}

static offset_t *off_get(const group_t *grp, proto_str_t topic, int32_t partition)
{
    okey_t k;
    okey_make(&k, topic, partition);
    offset_t *off = map_get(&grp->offsets, (const char *)k.p, k.len);
    okey_done(&k);
    return off;
}

static void off_free(offset_t *off)
{
    gstr_free(&off->metadata);
    free(off->key);
    free(off);
}

/* Inserts or replaces from a template whose key/metadata are views; returns the entry. */
static offset_t *off_put(group_coordinator_t *coord, group_t *grp, proto_str_t topic, int32_t partition, int64_t offset,
                         int32_t epoch, proto_str_t metadata, int64_t commit_ts, int64_t expire_ts)
{
    offset_t *off = off_get(grp, topic, partition);
    if (!off) {
        okey_t k;
        okey_make(&k, topic, partition);
        off = grp_xcalloc(1, sizeof(*off));
        off->key = grp_xmalloc(k.len);
        memcpy(off->key, k.p, k.len);
        off->klen = k.len;
        off->partition = partition;
        okey_done(&k);
        if (map_put(&grp->offsets, (const char *)off->key, off->klen, off) != 0) {
            LOG_ERROR("group", "out of memory storing an offset");
            abort();
        }
    } else {
        gstr_free(&off->metadata);
    }
    off->offset = offset;
    off->leader_epoch = epoch;
    off->metadata = gstr_dup(metadata.len < 0 ? proto_str_c("") : metadata);
    off->commit_ts = commit_ts;
    off->expire_ts = expire_ts;
    off->seq = ++coord->offset_seq;
    return off;
}

static void off_del(group_t *grp, offset_t *off)
{
    map_del(&grp->offsets, (const char *)off->key, off->klen);
    off_free(off);
}

static size_t txn_pending_count(const group_t *grp)
{
    return grp->txn_offsets ? grp->txn_offsets->count : 0;
}

void off_free_all(group_t *grp)
{
    size_t pos = 0;
    offset_t *off;
    while ((off = map_next(&grp->offsets, &pos)) != NULL)
        off_del(grp, off);
    if (grp->txn_offsets) {
        pos = 0;
        while ((off = map_next(grp->txn_offsets, &pos)) != NULL) {
            map_del(grp->txn_offsets, (const char *)off->key, off->klen);
            off_free(off);
        }
        map_fini(grp->txn_offsets);
        free(grp->txn_offsets);
        grp->txn_offsets = NULL;
    }
}

/* Kafka's cleanupGroupMetadata: an Empty group with nothing left is Dead. */
static bool group_would_die(const group_t *grp, size_t offsets_left)
{
    return grp->state == GROUP_EMPTY && offsets_left == 0 && grp->npending == 0 && txn_pending_count(grp) == 0;
}

static void group_die(group_coordinator_t *coord, group_t *grp, const char *why)
{
    grp_transition(coord, grp, GROUP_DEAD, why);
    group_destroy(coord, grp, GROUP_ERR_COORDINATOR_NOT_AVAILABLE);
}

/* ---- OffsetCommit ---- */

static int16_t validate_commit(const group_t *grp, const group_commit_args_t *args)
{
    if (args->generation_id < 0 && grp->state == GROUP_EMPTY)
        return GROUP_ERR_NONE; /* admin client or a consumer without group management */
    if (args->generation_id >= 0 || args->member_id.len > 0 || args->group_instance_id.len >= 0) {
        int16_t err = grp_validate_member(grp, args->member_id, args->group_instance_id);
        if (err)
            return err;
        return args->generation_id != grp->generation ? GROUP_ERR_ILLEGAL_GENERATION : GROUP_ERR_NONE;
    }
    /* Only members may commit to a group that has some. */
    return grp->state != GROUP_EMPTY ? GROUP_ERR_UNKNOWN_MEMBER_ID : GROUP_ERR_NONE;
}

/* commit_ts: each partition's commit time (OffsetCommit v1), -1 for now; NULL: all now. */
static int16_t store_offsets(group_coordinator_t *coord, group_t *grp, const group_commit_args_t *args,
                             const int64_t *commit_ts)
{
    grec_batch_t b;
    grec_batch_init(&b);
    int64_t expire = args->retention_time_ms >= 0 ? coord->now + args->retention_time_ms : -1;
    for (int32_t i = 0; i < args->partitions_count; i++) {
        group_commit_partition_t *cp = &args->partitions[i];
        if (cp->error_code)
            continue;
        if (cp->metadata.len > coord->cfg.offset_metadata_max_bytes) {
            cp->error_code = GROUP_ERR_OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        okey_t k;
        okey_make(&k, cp->topic, cp->partition);
        int64_t ts = commit_ts && commit_ts[i] != -1 ? commit_ts[i] : coord->now; /* Kafka keeps any value but -1 */
        offset_t tmp = {
            .key = k.p,
            .klen = k.len,
            .partition = cp->partition,
            .offset = cp->offset,
            .leader_epoch = cp->leader_epoch,
            .metadata = {(char *)(uintptr_t)(cp->metadata.len > 0 ? cp->metadata.ptr : (const uint8_t *)""),
                         cp->metadata.len > 0 ? cp->metadata.len : 0},
            .commit_ts = ts,
            .expire_ts = expire,
        };
        grec_add_offset(&b, gstr_view(grp->id), &tmp);
        okey_done(&k);
    }
    int16_t err = grec_batch_append(coord, grp->partition, &b);
    grec_batch_fini(&b);
    if (err) {
        err = grp_store_error(err, true);
        LOG_WARN("group", "group %s: storing offsets failed with error %d", gstr_c(grp->id), err);
        for (int32_t i = 0; i < args->partitions_count; i++)
            if (!args->partitions[i].error_code)
                args->partitions[i].error_code = err;
        return err;
    }
    for (int32_t i = 0; i < args->partitions_count; i++) {
        const group_commit_partition_t *cp = &args->partitions[i];
        if (cp->error_code)
            continue;
        /* A commit with a retention time is stored as a v1 value, which has no leader epoch:
         * keep memory equal to what a replay of that record rebuilds. */
        off_put(coord, grp, cp->topic, cp->partition, cp->offset, expire >= 0 ? -1 : cp->leader_epoch, cp->metadata,
                commit_ts && commit_ts[i] != -1 ? commit_ts[i] : coord->now, expire);
    }
    return GROUP_ERR_NONE;
}

int16_t group_offset_commit(group_coordinator_t *coord, const group_commit_args_t *args, int64_t now_ms)
{
    return group_offset_commit_at(coord, args, NULL, now_ms);
}

int16_t group_offset_commit_at(group_coordinator_t *coord, const group_commit_args_t *args, const int64_t *commit_ts,
                               int64_t now_ms)
{
    coord_enter(coord, now_ms);
    int16_t err = GROUP_ERR_NONE;
    group_t *grp = NULL;
    bool created = false;
    if (args->group_id.len < 0) {
        err = GROUP_ERR_INVALID_GROUP_ID;
    } else if (grp_partition_loading(coord, group_partition_for(coord, args->group_id))) {
        err = GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (!(grp = group_find(coord, args->group_id))) {
        if (args->generation_id < 0) {
            grp = group_create(coord, args->group_id);
            created = true;
            LOG_INFO("group", "group %s created by a simple offset commit", gstr_c(grp->id));
        } else {
            err = GROUP_ERR_ILLEGAL_GENERATION;
        }
    }
    if (!err && grp) {
        err = validate_commit(grp, args);
        if (!err && grp->state == GROUP_COMPLETING_REBALANCE)
            err = GROUP_ERR_REBALANCE_IN_PROGRESS;
        if (!err) {
            member_t *m = grp_member(grp, args->member_id);
            if (m && (grp->state == GROUP_STABLE || grp->state == GROUP_PREPARING_REBALANCE))
                grp_arm_session(coord, m, m->session_timeout_ms);
            (void)store_offsets(coord, grp, args, commit_ts);
        }
    }
    if (err) {
        for (int32_t i = 0; i < args->partitions_count; i++)
            if (!args->partitions[i].error_code)
                args->partitions[i].error_code = err;
    }
    if (created && grp->offsets.count == 0)
        group_destroy(coord, grp, 0);
    coord_leave(coord);
    return err;
}

/* ---- OffsetFetch ---- */

static int cmp_fetch(const void *a, const void *b)
{
    const group_fetch_partition_t *x = a, *y = b;
    int32_t n = x->topic.len < y->topic.len ? x->topic.len : y->topic.len;
    int c = n > 0 ? memcmp(x->topic.ptr, y->topic.ptr, (size_t)n) : 0;
    if (c)
        return c;
    if (x->topic.len != y->topic.len)
        return x->topic.len < y->topic.len ? -1 : 1;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

static bool fill_fetch(arena_t *arena, group_fetch_partition_t *fp, const offset_t *off)
{
    fp->error_code = GROUP_ERR_NONE;
    if (!off) {
        fp->offset = -1;
        fp->leader_epoch = -1;
        fp->metadata = proto_str_c("");
        return true;
    }
    fp->offset = off->offset;
    fp->leader_epoch = off->leader_epoch;
    fp->metadata = proto_str_c("");
    if (off->metadata.len > 0) {
        void *p = arena ? arena_memdup(arena, off->metadata.p, (size_t)off->metadata.len) : NULL;
        if (!p)
            return false;
        fp->metadata = (proto_str_t){p, off->metadata.len};
    }
    return true;
}

/* Whether some producer has offsets of topic/partition pending in grp. */
static bool txn_pending_has(const group_t *grp, proto_str_t topic, int32_t partition)
{
    if (txn_pending_count(grp) == 0)
        return false;
    size_t pos = 0;
    const offset_t *off;
    while ((off = map_next(grp->txn_offsets, &pos)) != NULL)
        if (off->partition == partition && off->klen == (size_t)(topic.len > 0 ? topic.len : 0) + 12 &&
            (topic.len <= 0 || memcmp(off->key + 8, topic.ptr, (size_t)topic.len) == 0))
            return true;
    return false;
}

/* OffsetFetch require_stable on a partition a transaction is about to change. */
static void unstable(group_fetch_partition_t *fp)
{
    fp->offset = -1;
    fp->leader_epoch = -1;
    fp->metadata = proto_str_c("");
    fp->error_code = GROUP_ERR_UNSTABLE_OFFSET_COMMIT;
}

int16_t group_offset_fetch(group_coordinator_t *coord, proto_str_t group_id, group_fetch_partition_t *partitions,
                           int32_t count, bool require_stable, arena_t *arena, group_fetch_partition_t **all,
                           int32_t *all_count, int64_t now_ms)
{
    coord_enter(coord, now_ms);
    int16_t err = GROUP_ERR_NONE;
    if (all) {
        *all = NULL;
        *all_count = 0;
    }
    if (group_id.len < 0) {
        err = GROUP_ERR_INVALID_GROUP_ID;
    } else if (grp_partition_loading(coord, group_partition_for(coord, group_id))) {
        err = GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else {
        /* Offsets are answered whatever the group's state: simple consumers have no membership. */
        const group_t *grp = group_find(coord, group_id);
        if (partitions) {
            for (int32_t i = 0; i < count && !err; i++) {
                const offset_t *off = grp ? off_get(grp, partitions[i].topic, partitions[i].partition) : NULL;
                if (!fill_fetch(arena, &partitions[i], off))
                    err = GROUP_ERR_UNKNOWN_SERVER_ERROR;
                else if (require_stable && grp && txn_pending_has(grp, partitions[i].topic, partitions[i].partition))
                    unstable(&partitions[i]);
            }
        } else if (all && grp && grp->offsets.count > 0) {
            group_fetch_partition_t *out = arena_alloc(arena, sizeof(*out) * grp->offsets.count);
            if (!out) {
                err = GROUP_ERR_UNKNOWN_SERVER_ERROR;
            } else {
                size_t pos = 0;
                int32_t n = 0;
                const offset_t *off;
                while (!err && (off = map_next(&grp->offsets, &pos)) != NULL) {
                    group_fetch_partition_t *fp = &out[n++];
                    proto_str_t t = off_topic(off);
                    void *tp = t.len > 0 ? arena_memdup(arena, t.ptr, (size_t)t.len) : (void *)(uintptr_t) "";
                    if (!tp || !fill_fetch(arena, fp, off)) {
                        err = GROUP_ERR_UNKNOWN_SERVER_ERROR;
                        break;
                    }
                    fp->topic = (proto_str_t){tp, t.len};
                    fp->partition = off->partition;
                    if (require_stable && txn_pending_has(grp, fp->topic, fp->partition))
                        unstable(fp);
                }
                if (!err) {
                    qsort(out, (size_t)n, sizeof(*out), cmp_fetch);
                    *all = out;
                    *all_count = n;
                }
            }
        }
    }
    coord_leave(coord);
    return err;
}

/* ---- OffsetDelete ---- */

int16_t group_offset_delete(group_coordinator_t *coord, proto_str_t group_id, group_delete_partition_t *partitions,
                            int32_t count, int64_t now_ms)
{
    coord_enter(coord, now_ms);
    int16_t err = GROUP_ERR_NONE;
    group_t *grp = NULL;
    if (group_id.len <= 0)
        err = GROUP_ERR_INVALID_GROUP_ID;
    else if (grp_partition_loading(coord, group_partition_for(coord, group_id)))
        err = GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    else if (!(grp = group_find(coord, group_id)))
        err = GROUP_ERR_GROUP_ID_NOT_FOUND;
    else if (grp->state != GROUP_EMPTY && !(grp->protocol_type.p && strcmp(grp->protocol_type.p, "consumer") == 0))
        err = GROUP_ERR_NON_EMPTY_GROUP;
    if (!err) {
        /* Eligible partitions keep error 0; the subscribed ones are refused. */
        grec_batch_t b;
        grec_batch_init(&b);
        size_t removing = 0;
        for (int32_t i = 0; i < count; i++) {
            group_delete_partition_t *dp = &partitions[i];
            dp->error_code = GROUP_ERR_NONE;
            if (grp->state != GROUP_EMPTY && grp_is_subscribed(grp, dp->topic)) {
                dp->error_code = GROUP_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
                continue;
            }
            if (off_get(grp, dp->topic, dp->partition)) {
                /* A partition named twice is removed (and counted) once. */
                bool dup = false;
                for (int32_t j = 0; j < i; j++)
                    if (!partitions[j].error_code && partitions[j].partition == dp->partition &&
                        view_eq(partitions[j].topic, dp->topic))
                        dup = true;
                if (!dup) {
                    grec_add_offset_tombstone(&b, gstr_view(grp->id), dp->topic, dp->partition);
                    removing++;
                }
            }
        }
        bool dies = removing > 0 && group_would_die(grp, grp->offsets.count - removing);
        if (dies && grp->generation > 0)
            grec_add_group_tombstone(&b, gstr_view(grp->id));
        int16_t aerr = grec_batch_append(coord, grp->partition, &b);
        grec_batch_fini(&b);
        if (aerr) {
            aerr = grp_store_error(aerr, false);
            for (int32_t i = 0; i < count; i++)
                if (!partitions[i].error_code)
                    partitions[i].error_code = aerr;
        } else {
            for (int32_t i = 0; i < count; i++) {
                if (partitions[i].error_code)
                    continue;
                offset_t *off = off_get(grp, partitions[i].topic, partitions[i].partition);
                if (off)
                    off_del(grp, off);
            }
            LOG_INFO("group", "group %s: %zu offsets deleted", gstr_c(grp->id), removing);
            if (dies)
                group_die(coord, grp, "its last offsets were deleted");
        }
    }
    coord_leave(coord);
    return err;
}

/* ---- DeleteGroups ---- */

int16_t group_delete(group_coordinator_t *coord, proto_str_t group_id, int64_t now_ms)
{
    coord_enter(coord, now_ms);
    int16_t err = GROUP_ERR_NONE;
    group_t *grp = NULL;
    if (group_id.len < 0) {
        err = GROUP_ERR_INVALID_GROUP_ID;
    } else if (grp_partition_loading(coord, group_partition_for(coord, group_id))) {
        err = GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (!(grp = group_find(coord, group_id))) {
        err = GROUP_ERR_GROUP_ID_NOT_FOUND;
    } else if (grp->state != GROUP_EMPTY) {
        err = GROUP_ERR_NON_EMPTY_GROUP;
    } else {
        grec_batch_t b;
        grec_batch_init(&b);
        size_t pos = 0;
        const offset_t *off;
        while ((off = map_next(&grp->offsets, &pos)) != NULL)
            grec_add_offset_tombstone(&b, gstr_view(grp->id), off_topic(off), off->partition);
        /* A group that never had a generation only stored offsets: no metadata record to remove. */
        if (grp->generation > 0)
            grec_add_group_tombstone(&b, gstr_view(grp->id));
        int16_t aerr = grec_batch_append(coord, grp->partition, &b);
        grec_batch_fini(&b);
        if (aerr) {
            err = grp_store_error(aerr, false);
        } else {
            LOG_INFO("group", "group %s deleted with %zu offsets", gstr_c(grp->id), grp->offsets.count);
            group_die(coord, grp, "DeleteGroups");
        }
    }
    coord_leave(coord);
    return err;
}

/* ---- retention ---- */

/* Kafka's removeExpiredOffsets rule for one offset of grp. */
static bool offset_expired(const group_coordinator_t *coord, const group_t *grp, const offset_t *off)
{
    int64_t now = coord->now, keep = coord->cfg.offsets_retention_ms;
    bool typed = grp->protocol_type.p != NULL;
    int64_t base;
    if (typed && grp->state == GROUP_EMPTY) {
        base = grp->state_ts; /* retention counts from the moment the group became empty */
    } else if (typed && strcmp(grp->protocol_type.p, "consumer") == 0 && grp->subscribed_known &&
               grp->state == GROUP_STABLE) {
        if (grp_is_subscribed(grp, off_topic(off)))
            return false;
        base = off->commit_ts; /* topics the group no longer reads */
    } else if (!typed) {
        base = off->commit_ts; /* simple consumers: since the last commit */
    } else {
        return false;
    }
    if (off->expire_ts >= 0)
        return now >= off->expire_ts;
    return now - base >= keep;
}

static void expire_group(group_coordinator_t *coord, group_t *grp)
{
    grec_batch_t b;
    grec_batch_init(&b);
    size_t pos = 0, expired = 0;
    const offset_t *off;
    while ((off = map_next(&grp->offsets, &pos)) != NULL) {
        if (offset_expired(coord, grp, off)) {
            grec_add_offset_tombstone(&b, gstr_view(grp->id), off_topic(off), off->partition);
            expired++;
        }
    }
    bool dies = group_would_die(grp, grp->offsets.count - expired);
    if (expired == 0 && !dies) {
        grec_batch_fini(&b);
        return;
    }
    if (dies && grp->generation > 0)
        grec_add_group_tombstone(&b, gstr_view(grp->id));
    int16_t err = grec_batch_append(coord, grp->partition, &b);
    grec_batch_fini(&b);
    if (err) {
        LOG_WARN("group", "group %s: writing expired offsets failed with error %d; retrying at the next check",
                 gstr_c(grp->id), err);
        return;
    }
    pos = 0;
    offset_t *o;
    while ((o = map_next(&grp->offsets, &pos)) != NULL)
        if (offset_expired(coord, grp, o))
            off_del(grp, o);
    if (expired)
        LOG_INFO("group", "group %s: %zu offsets expired", gstr_c(grp->id), expired);
    if (dies)
        group_die(coord, grp, "empty with no offsets left");
}

void off_expire_all(group_coordinator_t *coord)
{
    size_t pos = 0;
    group_t *grp;
    /* Deleting map entries while iterating is safe: the map never shrinks on delete. */
    while ((grp = map_next(&coord->groups, &pos)) != NULL)
        if (!grp_partition_loading(coord, grp->partition))
            expire_group(coord, grp);
}

/* ---- replay ---- */

static bool group_has_metadata(const group_t *grp)
{
    return grp->generation > 0 || grp->protocol_type.p != NULL;
}

int group_coordinator_replay(group_coordinator_t *coord, int32_t partition, proto_bytes_t key, proto_bytes_t value,
                             int64_t now_ms)
{
    (void)partition; /* the group id in the key decides where it lives now */
    group_rec_key_t k;
    int rc = group_rec_parse_key(key, &k);
    if (rc)
        return rc;
    if (k.kind == GROUP_REC_OTHER)
        return 0;
    coord_enter(coord, now_ms);
    group_t *grp = group_find(coord, k.group);
    if (k.kind == GROUP_REC_OFFSET) {
        if (value.len < 0) {
            offset_t *off = grp ? off_get(grp, k.topic, k.partition) : NULL;
            if (off)
                off_del(grp, off);
        } else {
            group_rec_offset_t v;
            rc = group_rec_parse_offset(value, &v);
            if (!rc) {
                if (!grp)
                    grp = group_create(coord, k.group);
                off_put(coord, grp, k.topic, k.partition, v.offset, v.leader_epoch, v.metadata, v.commit_timestamp,
                        v.expire_timestamp);
            }
        }
    } else if (value.len < 0) {
        if (grp && grp->nmembers == 0) {
            grp->generation = 0;
            gstr_free(&grp->protocol_type);
            gstr_free(&grp->protocol_name);
        }
    } else {
        group_rec_group_t v;
        rc = group_rec_parse_group(value, &v);
        if (!rc) {
            if (!grp)
                grp = group_create(coord, k.group);
            if (grp->nmembers == 0) {
                /* Members are not restored: the group comes back Empty and its consumers rejoin. */
                grp->generation = v.generation;
                gstr_free(&grp->protocol_type);
                if (v.protocol_type.len > 0)
                    grp->protocol_type = gstr_dup(v.protocol_type);
                grp->state_ts =
                    v.members_count == 0 && v.current_state_timestamp >= 0 ? v.current_state_timestamp : now_ms;
            }
        }
    }
    if (grp && grp->nmembers == 0 && grp->npending == 0 && grp->offsets.count == 0 && txn_pending_count(grp) == 0 &&
        !group_has_metadata(grp))
        group_destroy(coord, grp, 0);
    coord_leave(coord);
    return rc;
}

/* ---- transactional offsets ---- */

void group_coordinator_set_append_txn(group_coordinator_t *coord, group_append_txn_fn append_txn)
{
    coord->append_txn = append_txn;
}

/* The pending-map key: producer id (8 bytes big-endian), topic, partition (4 bytes big-endian). */
static uint8_t *txn_key(int64_t producer_id, proto_str_t topic, int32_t partition, size_t *klen)
{
    size_t tl = topic.len > 0 ? (size_t)topic.len : 0;
    *klen = 12 + tl;
    uint8_t *k = grp_xmalloc(*klen);
    uint64_t u = (uint64_t)producer_id;
    for (int i = 7; i >= 0; i--, u >>= 8)
        k[i] = (uint8_t)u;
    if (tl)
        memcpy(k + 8, topic.ptr, tl);
    uint32_t p = (uint32_t)partition;
    k[8 + tl] = (uint8_t)(p >> 24);
    k[9 + tl] = (uint8_t)(p >> 16);
    k[10 + tl] = (uint8_t)(p >> 8);
    k[11 + tl] = (uint8_t)p;
    return k;
}

static int64_t txn_key_pid(const offset_t *off)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | off->key[i];
    return (int64_t)u;
}

static proto_str_t txn_key_topic(const offset_t *off)
{
    return (proto_str_t){off->key + 8, (int32_t)(off->klen - 12)};
}

/* Stages one pending offset of producer_id (replacing that producer's earlier one for the partition). */
static void txn_put(group_coordinator_t *coord, group_t *grp, int64_t producer_id, proto_str_t topic, int32_t partition,
                    int64_t offset, int32_t epoch, proto_str_t metadata, int64_t commit_ts, int64_t expire_ts)
{
    if (!grp->txn_offsets) {
        grp->txn_offsets = grp_xcalloc(1, sizeof(*grp->txn_offsets));
        map_init(grp->txn_offsets);
    }
    size_t klen;
    uint8_t *key = txn_key(producer_id, topic, partition, &klen);
    offset_t *off = map_get(grp->txn_offsets, (const char *)key, klen);
    if (off) {
        free(key);
        gstr_free(&off->metadata);
    } else {
        off = grp_xcalloc(1, sizeof(*off));
        off->key = key;
        off->klen = klen;
        off->partition = partition;
        if (map_put(grp->txn_offsets, (const char *)off->key, off->klen, off) != 0) {
            LOG_ERROR("group", "out of memory staging a transactional offset");
            abort();
        }
    }
    off->offset = offset;
    off->leader_epoch = epoch;
    off->metadata = gstr_dup(metadata.len < 0 ? proto_str_c("") : metadata);
    off->commit_ts = commit_ts;
    off->expire_ts = expire_ts;
    off->seq = ++coord->offset_seq;
}

/* Kafka's validateOffsetCommit with isTransactional: non-members may commit (pre-v3 clients send none). */
static int16_t validate_txn_commit(const group_t *grp, const group_commit_args_t *args)
{
    if (args->generation_id < 0 && grp->state == GROUP_EMPTY)
        return GROUP_ERR_NONE;
    if (args->generation_id >= 0 || args->member_id.len > 0 || args->group_instance_id.len >= 0) {
        int16_t err = grp_validate_member(grp, args->member_id, args->group_instance_id);
        if (err)
            return err;
        return args->generation_id != grp->generation ? GROUP_ERR_ILLEGAL_GENERATION : GROUP_ERR_NONE;
    }
    return GROUP_ERR_NONE;
}

static void store_txn_offsets(group_coordinator_t *coord, group_t *grp, const group_commit_args_t *args,
                              int64_t producer_id, int16_t producer_epoch)
{
    grec_batch_t b;
    grec_batch_init(&b);
    for (int32_t i = 0; i < args->partitions_count; i++) {
        group_commit_partition_t *cp = &args->partitions[i];
        if (cp->error_code)
            continue;
        if (cp->metadata.len > coord->cfg.offset_metadata_max_bytes) {
            cp->error_code = GROUP_ERR_OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        okey_t k;
        okey_make(&k, cp->topic, cp->partition);
        offset_t tmp = {
            .key = k.p,
            .klen = k.len,
            .partition = cp->partition,
            .offset = cp->offset,
            .leader_epoch = cp->leader_epoch,
            .metadata = {(char *)(uintptr_t)(cp->metadata.len > 0 ? cp->metadata.ptr : (const uint8_t *)""),
                         cp->metadata.len > 0 ? cp->metadata.len : 0},
            .commit_ts = coord->now,
            .expire_ts = -1,
        };
        grec_add_offset(&b, gstr_view(grp->id), &tmp);
        okey_done(&k);
    }
    int16_t err = grec_batch_append_txn(coord, grp->partition, producer_id, producer_epoch, &b);
    grec_batch_fini(&b);
    if (err) {
        err = grp_store_error(err, true);
        LOG_WARN("group", "group %s: storing transactional offsets of producer %" PRId64 " failed with error %d",
                 gstr_c(grp->id), producer_id, err);
        for (int32_t i = 0; i < args->partitions_count; i++)
            if (!args->partitions[i].error_code)
                args->partitions[i].error_code = err;
        return;
    }
    for (int32_t i = 0; i < args->partitions_count; i++) {
        const group_commit_partition_t *cp = &args->partitions[i];
        if (!cp->error_code)
            txn_put(coord, grp, producer_id, cp->topic, cp->partition, cp->offset, cp->leader_epoch, cp->metadata,
                    coord->now, -1);
    }
}

int16_t group_txn_offset_commit(group_coordinator_t *coord, const group_commit_args_t *args, int64_t producer_id,
                                int16_t producer_epoch, int64_t now_ms)
{
    coord_enter(coord, now_ms);
    int16_t err = GROUP_ERR_NONE;
    group_t *grp = NULL;
    bool created = false;
    if (args->group_id.len < 0) {
        err = GROUP_ERR_INVALID_GROUP_ID;
    } else if (grp_partition_loading(coord, group_partition_for(coord, args->group_id))) {
        err = GROUP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (!(grp = group_find(coord, args->group_id))) {
        grp = group_create(coord, args->group_id);
        created = true;
    }
    if (!err) {
        err = validate_txn_commit(grp, args);
        if (!err)
            store_txn_offsets(coord, grp, args, producer_id, producer_epoch);
    }
    if (err) {
        for (int32_t i = 0; i < args->partitions_count; i++)
            if (!args->partitions[i].error_code)
                args->partitions[i].error_code = err;
    }
    if (created && grp->offsets.count == 0 && txn_pending_count(grp) == 0)
        group_destroy(coord, grp, 0);
    coord_leave(coord);
    return err;
}

/* Applies or drops producer_id's pending offsets in grp; returns how many it had. */
static size_t txn_complete_group(group_coordinator_t *coord, group_t *grp, int64_t producer_id, bool commit)
{
    size_t pos = 0, n = 0;
    offset_t *off;
    while ((off = map_next(grp->txn_offsets, &pos)) != NULL) {
        if (txn_key_pid(off) != producer_id)
            continue;
        n++;
        proto_str_t topic = txn_key_topic(off);
        if (commit) {
            const offset_t *cur = off_get(grp, topic, off->partition);
            /* A plain commit appended after this one is newer and stays (Kafka compares log offsets). */
            if (!cur || cur->seq < off->seq) {
                uint64_t seq = off->seq;
                offset_t *now_off = off_put(coord, grp, topic, off->partition, off->offset, off->leader_epoch,
                                            gstr_view(off->metadata), off->commit_ts, off->expire_ts);
                now_off->seq = seq;
            }
        }
        map_del(grp->txn_offsets, (const char *)off->key, off->klen);
        off_free(off);
    }
    return n;
}

void group_txn_complete(group_coordinator_t *coord, int32_t partition, int64_t producer_id, bool commit, int64_t now_ms)
{
    coord_enter(coord, now_ms);
    size_t pos = 0, total = 0;
    group_t *grp;
    while ((grp = map_next(&coord->groups, &pos)) != NULL) {
        if (grp->partition != partition || txn_pending_count(grp) == 0)
            continue;
        total += txn_complete_group(coord, grp, producer_id, commit);
        if (grp->state == GROUP_EMPTY && grp->nmembers == 0 && grp->npending == 0 && grp->offsets.count == 0 &&
            txn_pending_count(grp) == 0 && !group_has_metadata(grp))
            group_destroy(coord, grp, 0);
    }
    if (total)
        LOG_DEBUG("group", "__consumer_offsets-%d: %zu transactional offsets of producer %" PRId64 " %s", partition,
                  total, producer_id, commit ? "committed" : "aborted");
    coord_leave(coord);
}

int group_coordinator_replay_txn(group_coordinator_t *coord, int32_t partition, int64_t producer_id, proto_bytes_t key,
                                 proto_bytes_t value, int64_t now_ms)
{
    group_rec_key_t k;
    int rc = group_rec_parse_key(key, &k);
    if (rc)
        return rc;
    /* Only offset commits are transactional; anything else is replayed as written. */
    if (k.kind != GROUP_REC_OFFSET || value.len < 0)
        return group_coordinator_replay(coord, partition, key, value, now_ms);
    group_rec_offset_t v;
    rc = group_rec_parse_offset(value, &v);
    if (rc)
        return rc;
    coord_enter(coord, now_ms);
    group_t *grp = group_find(coord, k.group);
    if (!grp)
        grp = group_create(coord, k.group);
    txn_put(coord, grp, producer_id, k.topic, k.partition, v.offset, v.leader_epoch, v.metadata, v.commit_timestamp,
            v.expire_timestamp);
    coord_leave(coord);
    return 0;
}

int32_t group_txn_pending_count(const group_coordinator_t *coord, proto_str_t group_id)
{
    const group_t *grp = group_find(coord, group_id);
    return grp ? (int32_t)txn_pending_count(grp) : 0;
}
