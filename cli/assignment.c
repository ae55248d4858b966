#include "cli/assignment.h"

#include <string.h>

/*
 * ConsumerProtocolAssignment, every version (0-3) alike, never flexible:
 *   version        int16
 *   topics         int32 count, then per topic:
 *     topic        string (int16 length)
 *     partitions   int32 count, then int32 each
 *   user_data      nullable bytes (int32 length); tolerated when absent
 * Bytes after user_data are left alone: a later version may add fields.
 */
int cli_assignment_decode(const uint8_t *data, size_t len, arena_t *arena, cli_assignment_t *out)
{
    memset(out, 0, sizeof(*out));
    out->user_data.len = -1;
    if (len == 0)
        return PROTO_OK;
    proto_reader_t rd;
    proto_reader_init(&rd, data, len);
    out->version = proto_rd_i16(&rd);
    if (!rd.err && out->version < 0)
        PROTO_RD_FAIL(&rd, PROTO_EINVALID);
    /* A topic is at least a 2-byte name length and a 4-byte partition count. */
    int32_t nt = proto_rd_array_len(&rd, 0, 6);
    if (rd.err)
        return rd.err;
    if (nt > 0) {
        out->topics = arena_alloc(arena, (size_t)nt * sizeof(*out->topics));
        if (!out->topics)
            return PROTO_ENOMEM;
        for (int32_t i = 0; i < nt && !rd.err; i++) {
            cli_assigned_topic_t *t = &out->topics[i];
            t->topic = proto_rd_string(&rd, 0);
            int32_t np = proto_rd_array_len(&rd, 0, 4);
            if (rd.err)
                break;
            t->npartitions = np > 0 ? np : 0;
            t->partitions = NULL;
            if (np > 0) {
                t->partitions = arena_alloc(arena, (size_t)np * sizeof(int32_t));
                if (!t->partitions)
                    return PROTO_ENOMEM;
                for (int32_t p = 0; p < np; p++)
                    t->partitions[p] = proto_rd_i32(&rd);
            }
            out->ntopics = i + 1;
        }
    }
    if (!rd.err && proto_rd_remaining(&rd) > 0)
        out->user_data = proto_rd_bytes(&rd, 1);
    return rd.err;
}
