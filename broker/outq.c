#include <errno.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "broker/outq.h"

/* Memory parts gathered into one writev; more rarely pays off. */
#define OUTQ_IOV_MAX 64
/* One sendfile call at most this much, so a huge range does not hold the loop. */
#define OUTQ_SENDFILE_MAX (8u << 20)

broker_out_frame_t *broker_out_frame_new(buf_t *mem, uint32_t nparts)
{
    broker_out_frame_t *f = malloc(sizeof(*f) + (size_t)nparts * sizeof(f->parts[0]));
    if (!f)
        return NULL;
    f->next = NULL;
    f->mem = mem->data;
    f->mem_cap = mem->cap;
    buf_init(mem);
    f->total = 0;
    f->nparts = 0;
    f->cap = nparts;
    f->cur = 0;
    f->cur_done = 0;
    return f;
}

void broker_out_frame_mem(broker_out_frame_t *f, size_t off, size_t len)
{
    if (len == 0 || f->nparts == f->cap)
        return;
    broker_out_part_t *p = &f->parts[f->nparts++];
    p->off = off;
    p->len = len;
    p->file = (log_read_t){.fd = -1, .pos = 0, .len = 0, .seg = NULL};
    f->total += len;
}

void broker_out_frame_file(broker_out_frame_t *f, log_read_t *file)
{
    if (file->len == 0 || file->seg == NULL || f->nparts == f->cap)
        return;
    broker_out_part_t *p = &f->parts[f->nparts++];
    p->off = 0;
    p->len = file->len;
    p->file = *file;
    *file = (log_read_t){.fd = -1, .pos = 0, .len = 0, .seg = NULL};
    f->total += p->len;
}

void broker_out_frame_free(broker_out_frame_t *f)
{
    broker_out_frame_put(NULL, f);
}

broker_out_frame_t *broker_out_frame_get(broker_out_pool_t *pool, uint32_t nparts, size_t mem_bytes, buf_t *mem)
{
    buf_init(mem);
    broker_out_frame_t *f = NULL;
    if (pool && pool->free && nparts <= BROKER_OUT_POOL_PARTS && mem_bytes <= BROKER_OUT_POOL_BYTES) {
        f = pool->free;
        pool->free = f->next;
        pool->n--;
        mem->data = f->mem;
        mem->cap = f->mem_cap;
        f->mem = NULL;
        f->mem_cap = 0;
        f->next = NULL;
        f->total = 0;
        f->nparts = 0;
        f->cur = 0;
        f->cur_done = 0;
    } else {
        /* Small answers get a poolable frame even when the pool is empty. */
        uint32_t cap = nparts < BROKER_OUT_POOL_PARTS ? BROKER_OUT_POOL_PARTS : nparts;
        f = broker_out_frame_new(mem, cap);
        if (!f)
            return NULL;
    }
    if (buf_reserve(mem, mem_bytes) != 0) {
        buf_fini(mem);
        broker_out_frame_put(pool, f);
        return NULL;
    }
    return f;
}

void broker_out_frame_set_mem(broker_out_frame_t *f, buf_t *mem)
{
    free(f->mem);
    f->mem = mem->data;
    f->mem_cap = mem->cap;
    buf_init(mem);
}

void broker_out_frame_put(broker_out_pool_t *pool, broker_out_frame_t *f)
{
    if (!f)
        return;
    for (uint32_t i = f->cur; i < f->nparts; i++)
        log_read_release(&f->parts[i].file);
    if (pool && f->cap == BROKER_OUT_POOL_PARTS && f->mem && f->mem_cap <= BROKER_OUT_POOL_BYTES &&
        pool->n < BROKER_OUT_POOL_MAX) {
        f->nparts = 0;
        f->next = pool->free;
        pool->free = f;
        pool->n++;
        return;
    }
    free(f->mem);
    free(f);
}

void broker_out_pool_fini(broker_out_pool_t *pool)
{
    while (pool->free) {
        broker_out_frame_t *f = pool->free;
        pool->free = f->next;
        free(f->mem);
        free(f);
    }
    pool->n = 0;
}

size_t broker_out_frame_held(const broker_out_frame_t *f)
{
    return sizeof(*f) + (size_t)f->cap * sizeof(f->parts[0]) + f->mem_cap;
}

void broker_outq_push(broker_outq_t *q, broker_out_frame_t *f)
{
    f->next = NULL;
    q->held += broker_out_frame_held(f);
    if (q->tail)
        q->tail->next = f;
    else
        q->head = f;
    q->tail = f;
    q->bytes += f->total;
}

/* Marks n bytes as sent from the head of the queue, freeing what is done. */
static void outq_advance(broker_outq_t *q, size_t n)
{
    q->bytes -= n;
    while (n > 0 && q->head) {
        broker_out_frame_t *f = q->head;
        broker_out_part_t *p = &f->parts[f->cur];
        size_t rest = p->len - f->cur_done;
        if (n < rest) {
            f->cur_done += n;
            return;
        }
        n -= rest;
        log_read_release(&p->file);
        f->cur++;
        f->cur_done = 0;
        if (f->cur == f->nparts) {
            q->head = f->next;
            if (!q->head)
                q->tail = NULL;
            q->held -= broker_out_frame_held(f);
            broker_out_frame_put(q->pool, f);
        }
    }
}

/* Gathers the memory parts from the head up to the next file part. */
static int outq_gather(const broker_outq_t *q, struct iovec *iov)
{
    int n = 0;
    for (const broker_out_frame_t *f = q->head; f && n < OUTQ_IOV_MAX; f = f->next) {
        for (uint32_t i = f == q->head ? f->cur : 0; i < f->nparts && n < OUTQ_IOV_MAX; i++) {
            const broker_out_part_t *p = &f->parts[i];
            if (p->file.seg)
                return n;
            size_t skip = f == q->head && i == f->cur ? f->cur_done : 0;
            iov[n].iov_base = f->mem + p->off + skip;
            iov[n].iov_len = p->len - skip;
            n++;
        }
    }
    return n;
}

ssize_t broker_outq_flush(broker_outq_t *q, int fd, bool *blocked)
{
    size_t total = 0;
    *blocked = false;
    while (q->head) {
        broker_out_frame_t *f = q->head;
        broker_out_part_t *p = &f->parts[f->cur];
        ssize_t n;
        if (p->file.seg) {
            off_t off = p->file.pos + (off_t)f->cur_done;
            size_t left = p->len - f->cur_done;
            n = sendfile(fd, p->file.fd, &off, left < OUTQ_SENDFILE_MAX ? left : OUTQ_SENDFILE_MAX);
            if (n == 0)
                return -EIO; /* the file ends before the range we promised */
        } else {
            struct iovec iov[OUTQ_IOV_MAX];
            int cnt = outq_gather(q, iov);
            n = writev(fd, iov, cnt);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                *blocked = true;
                break;
            }
            return -errno;
        }
        if (p->file.seg)
            q->file_bytes += (uint64_t)n;
        outq_advance(q, (size_t)n);
        total += (size_t)n;
    }
    return (ssize_t)total;
}

void broker_outq_clear(broker_outq_t *q)
{
    while (q->head) {
        broker_out_frame_t *f = q->head;
        q->head = f->next;
        broker_out_frame_put(q->pool, f);
    }
    q->tail = NULL;
    q->bytes = 0;
    q->held = 0;
}
