/*
 * broker/request: small helpers handlers use to build responses in the
 * request's arena.
 */
#include <stdarg.h>
#include <stdio.h>

#include "broker/broker.h"

void *broker_alloc_structs(broker_req_t *req, const proto_struct_desc_t *desc, int32_t n)
{
    if (n <= 0)
        return NULL;
    char *items = arena_alloc(&req->arena, (size_t)n * desc->size);
    if (!items)
        return NULL;
    for (int32_t i = 0; i < n; i++)
        proto_msg_init(desc, req->version, items + (size_t)i * desc->size);
    return items;
}

proto_str_t broker_strf(broker_req_t *req, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return (proto_str_t){NULL, -1};
    if ((size_t)n >= sizeof(tmp))
        n = sizeof(tmp) - 1;
    char *p = arena_memdup(&req->arena, tmp, (size_t)n);
    if (!p)
        return (proto_str_t){NULL, -1};
    return (proto_str_t){(const uint8_t *)p, n};
}
