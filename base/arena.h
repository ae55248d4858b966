/*
 * base/arena: a bump allocator for memory that dies all at once.
 *
 * Each request owns one arena: the decoded request, the response structs and
 * any scratch space come from it and are released together when the response
 * has been written. The arena never frees single objects. It owns its chunks
 * and nothing else; it calls only malloc/free.
 */
#ifndef EDDY_BASE_ARENA_H
#define EDDY_BASE_ARENA_H

#include <stddef.h>

typedef struct arena_chunk_s arena_chunk_t;

typedef struct arena_s {
    arena_chunk_t *head; /* newest chunk; older chunks follow */
    size_t used;         /* bytes handed out from head */
    size_t total;        /* bytes handed out since the last reset */
    size_t limit;        /* 0 = unlimited; otherwise allocations past it fail */
} arena_t;

void arena_init(arena_t *arena, size_t limit);
/* Returns zeroed, 16-byte aligned memory, or NULL when out of memory or over the limit. */
void *arena_alloc(arena_t *arena, size_t size);
void *arena_memdup(arena_t *arena, const void *src, size_t size);
/* Keeps the first chunk for reuse so a steady request load allocates nothing. */
void arena_reset(arena_t *arena);
void arena_fini(arena_t *arena);

#endif
