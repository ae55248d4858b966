#include "base/map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char map_tombstone[1];
#define MAP_TOMBSTONE map_tombstone

static uint64_t map_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return h;
}

void map_init(map_t *map)
{
    memset(map, 0, sizeof(*map));
}

void map_fini(map_t *map)
{
    free(map->slots);
    map_init(map);
}

static map_entry_t *map_find(const map_t *map, const char *key, size_t klen, uint64_t h)
{
    if (!map->cap)
        return NULL;
    size_t mask = map->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        map_entry_t *e = &map->slots[i];
        if (!e->key)
            return NULL;
        if (e->key != MAP_TOMBSTONE && e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
}

void *map_get(const map_t *map, const char *key, size_t klen)
{
    map_entry_t *e = map_find(map, key, klen, map_hash(key, klen));
    return e ? e->value : NULL;
}

static int map_grow(map_t *map)
{
    size_t cap = map->cap ? map->cap * 2 : 16;
    if (map->count * 4 < map->cap) /* mostly tombstones: rehash at the same size */
        cap = map->cap;
    map_entry_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < map->cap; i++) {
        map_entry_t *e = &map->slots[i];
        if (!e->key || e->key == MAP_TOMBSTONE)
            continue;
        size_t j = e->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    free(map->slots);
    map->slots = slots;
    map->cap = cap;
    map->used = map->count;
    return 0;
}

int map_put(map_t *map, const char *key, size_t klen, void *value)
{
    uint64_t h = map_hash(key, klen);
    map_entry_t *e = map_find(map, key, klen, h);
    if (e) {
        e->key = key;
        e->value = value;
        return 0;
    }
    if ((map->used + 1) * 4 > map->cap * 3) {
        int rc = map_grow(map);
        if (rc)
            return rc;
    }
    size_t mask = map->cap - 1;
    size_t i = h & mask;
    while (map->slots[i].key && map->slots[i].key != MAP_TOMBSTONE)
        i = (i + 1) & mask;
    if (!map->slots[i].key)
        map->used++;
    map->slots[i] = (map_entry_t){key, klen, h, value};
    map->count++;
    return 0;
}

void *map_del(map_t *map, const char *key, size_t klen)
{
    map_entry_t *e = map_find(map, key, klen, map_hash(key, klen));
    if (!e)
        return NULL;
    void *v = e->value;
    e->key = MAP_TOMBSTONE;
    e->value = NULL;
    map->count--;
    return v;
}

void *map_next(const map_t *map, size_t *pos)
{
    while (*pos < map->cap) {
        map_entry_t *e = &map->slots[(*pos)++];
        if (e->key && e->key != MAP_TOMBSTONE)
            return e->value;
    }
    return NULL;
}
