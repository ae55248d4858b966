#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_MIN (16u * 1024u)
#define ARENA_ALIGN     16u

struct arena_chunk_s {
    arena_chunk_t *next;
    size_t size; /* usable bytes in data */
    _Alignas(16) unsigned char data[];
};

void arena_init(arena_t *arena, size_t limit)
{
    arena->head = NULL;
    arena->used = 0;
    arena->total = 0;
    arena->limit = limit;
}

void *arena_alloc(arena_t *arena, size_t size)
{
    size_t need = (size + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < size) /* overflow */
        return NULL;
    if (need == 0)
        need = ARENA_ALIGN;
    if (arena->limit && (need > arena->limit || arena->total > arena->limit - need))
        return NULL;
    if (!arena->head || arena->head->size - arena->used < need) {
        size_t csize = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
        if (arena->head && arena->head->size * 2 > csize && arena->head->size * 2 <= 1024 * 1024)
            csize = arena->head->size * 2;
        if (csize > SIZE_MAX - sizeof(arena_chunk_t))
            return NULL;
        arena_chunk_t *chunk = malloc(sizeof(*chunk) + csize);
        if (!chunk)
            return NULL;
        chunk->size = csize;
        chunk->next = arena->head;
        arena->head = chunk;
        arena->used = 0;
    }
    void *p = arena->head->data + arena->used;
    arena->used += need;
    arena->total += need;
    memset(p, 0, size);
    return p;
}

void *arena_memdup(arena_t *arena, const void *src, size_t size)
{
    void *p = arena_alloc(arena, size);
    if (p && size)
        memcpy(p, src, size);
    return p;
}

void arena_reset(arena_t *arena)
{
    if (!arena->head)
        return;
    /* Keep the largest (newest) chunk, free the rest. */
    arena_chunk_t *keep = arena->head;
    arena_chunk_t *c = keep->next;
    while (c) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    keep->next = NULL;
    /* A huge one-off chunk is not worth keeping around. */
    if (keep->size > 4u * 1024u * 1024u) {
        free(keep);
        arena->head = NULL;
    }
    arena->used = 0;
    arena->total = 0;
}

void arena_fini(arena_t *arena)
{
    arena_chunk_t *c = arena->head;
    while (c) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    arena->head = NULL;
    arena->used = 0;
    arena->total = 0;
}
