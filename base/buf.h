/*
 * base/buf: a growable byte buffer.
 *
 * Used for connection input, response output and file scratch space. The
 * buffer owns its memory; buf_fini releases it. Growth is geometric so that a
 * buffer reused across requests stops allocating once it reached its size.
 */
#ifndef EDDY_BASE_BUF_H
#define EDDY_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf_s {
    uint8_t *data;
    size_t len;
    size_t cap;
} buf_t;

void buf_init(buf_t *buf);
void buf_fini(buf_t *buf);
/* Ensures room for extra more bytes; 0 or -ENOMEM. */
int buf_reserve(buf_t *buf, size_t extra);
int buf_append(buf_t *buf, const void *src, size_t len);
/* Drops the first n bytes, moving the rest to the front. */
void buf_consume(buf_t *buf, size_t n);
/* Frees memory beyond keep bytes of capacity when the buffer is empty. */
void buf_shrink(buf_t *buf, size_t keep);

#endif
