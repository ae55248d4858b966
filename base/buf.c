#include "base/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void buf_fini(buf_t *buf)
{
    free(buf->data);
    buf_init(buf);
}

int buf_reserve(buf_t *buf, size_t extra)
{
    if (extra > SIZE_MAX - buf->len)
        return -ENOMEM;
    size_t need = buf->len + extra;
    if (need <= buf->cap)
        return 0;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(buf->data, cap);
    if (!p)
        return -ENOMEM;
    buf->data = p;
    buf->cap = cap;
    return 0;
}

int buf_append(buf_t *buf, const void *src, size_t len)
{
    int rc = buf_reserve(buf, len);
    if (rc)
        return rc;
    if (len)
        memcpy(buf->data + buf->len, src, len);
    buf->len += len;
    return 0;
}

void buf_consume(buf_t *buf, size_t n)
{
    if (n >= buf->len) {
        buf->len = 0;
        return;
    }
    memmove(buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
}

void buf_shrink(buf_t *buf, size_t keep)
{
    if (buf->len == 0 && buf->cap > keep) {
        free(buf->data);
        buf_init(buf);
    }
}
