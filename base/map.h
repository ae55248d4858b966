/*
 * base/map: a string-keyed hash map with open addressing.
 *
 * Maps topic names (and later group and transactional ids) to their owners.
 * The map copies nothing: keys are borrowed from the values they index, so a
 * value must outlive its entry. Lookups take a length-delimited key, so names
 * straight off the wire (not NUL-terminated) need no copy.
 */
#ifndef EDDY_BASE_MAP_H
#define EDDY_BASE_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct map_entry_s {
    const char *key; /* NULL: empty; MAP_TOMBSTONE: deleted */
    size_t klen;
    uint64_t hash;
    void *value;
} map_entry_t;

typedef struct map_s {
    map_entry_t *slots;
    size_t cap;   /* power of two, or 0 */
    size_t count; /* live entries */
    size_t used;  /* live + tombstones */
} map_t;

void map_init(map_t *map);
void map_fini(map_t *map);
void *map_get(const map_t *map, const char *key, size_t klen);
/* Inserts or replaces; 0 or -ENOMEM. key must stay valid while present. */
int map_put(map_t *map, const char *key, size_t klen, void *value);
/* Returns the removed value or NULL. */
void *map_del(map_t *map, const char *key, size_t klen);
/* Iteration: pass *pos = 0 first; returns NULL at the end. */
void *map_next(const map_t *map, size_t *pos);

#endif
