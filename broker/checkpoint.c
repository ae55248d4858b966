#include "broker/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/diag.h"
#include "broker/meta.h"
#include "broker/topics.h"

void broker_checkpoint_init(broker_checkpoint_t *cp)
{
    memset(cp, 0, sizeof(*cp));
}

void broker_checkpoint_fini(broker_checkpoint_t *cp)
{
    for (size_t i = 0; i < cp->count; i++)
        free(cp->entries[i].topic);
    free(cp->entries);
    broker_checkpoint_init(cp);
}

int broker_checkpoint_add(broker_checkpoint_t *cp, const char *topic, int32_t partition, int64_t offset)
{
    if (cp->count == cp->cap) {
        size_t cap = cp->cap ? cp->cap * 2 : 64;
        broker_checkpoint_entry_t *e = realloc(cp->entries, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        cp->entries = e;
        cp->cap = cap;
    }
    char *copy = strdup(topic);
    if (!copy)
        return -ENOMEM;
    cp->entries[cp->count++] = (broker_checkpoint_entry_t){copy, partition, offset};
    return 0;
}

int64_t broker_checkpoint_get(const broker_checkpoint_t *cp, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < cp->count; i++)
        if (cp->entries[i].partition == partition && strcmp(cp->entries[i].topic, topic) == 0)
            return cp->entries[i].offset;
    return -1;
}

int broker_checkpoint_read(broker_checkpoint_t *cp, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    char line[512];
    long version = -1, count = -1, seen = 0;
    int rc = 0;
    if (fgets(line, sizeof(line), f))
        version = strtol(line, NULL, 10);
    if (fgets(line, sizeof(line), f))
        count = strtol(line, NULL, 10);
    if (version != 0 || count < 0) {
        LOG_WARN("checkpoint", "%s: unknown version or count, ignoring it", path);
        fclose(f);
        return 0;
    }
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        char topic[BROKER_TOPIC_NAME_MAX + 2];
        long long part, off;
        if (sscanf(line, "%250s %lld %lld", topic, &part, &off) != 3 || part < 0 || part > INT32_MAX || off < 0 ||
            broker_topics_check_name(topic, strlen(topic)) != 0) {
            LOG_WARN("checkpoint", "%s: malformed line ignored", path);
            continue;
        }
        rc = broker_checkpoint_add(cp, topic, (int32_t)part, off);
        seen++;
    }
    fclose(f);
    if (rc == 0 && seen != count)
        LOG_WARN("checkpoint", "%s: header says %ld entries, found %ld", path, count, seen);
    return rc;
}

int broker_checkpoint_write(const broker_checkpoint_t *cp, const char *path)
{
    buf_t b;
    buf_init(&b);
    char line[512];
    int n = snprintf(line, sizeof(line), "0\n%zu\n", cp->count);
    int rc = buf_append(&b, line, (size_t)n);
    for (size_t i = 0; rc == 0 && i < cp->count; i++) {
        n = snprintf(line, sizeof(line), "%s %d %lld\n", cp->entries[i].topic, cp->entries[i].partition,
                     (long long)cp->entries[i].offset);
        rc = buf_append(&b, line, (size_t)n);
    }
    if (rc == 0)
        rc = broker_meta_write_atomic(path, b.data, b.len);
    buf_fini(&b);
    return rc;
}
