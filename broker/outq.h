/*
 * broker/outq: a connection's queue of response frames on their way to the
 * socket. A frame is a run of parts: bytes in memory (header and encoded
 * fields) and ranges of segment files (a Fetch answer's records). Memory
 * parts of consecutive frames go out in one writev; file ranges go out with
 * sendfile, so records are never copied through user space on a plaintext
 * connection. Order on the wire is the queue's order, whatever the parts.
 *
 * The queue owns what it holds: each frame's buffer and the segment
 * reference of each file part (released once sent, or when the queue is
 * cleared), so retention or compaction may unlink a segment that still has
 * bytes to send. It does not own the socket or decide when to write: the
 * connection calls broker_outq_flush when the socket may take more.
 */
#ifndef EDDY_BROKER_OUTQ_H
#define EDDY_BROKER_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "log/log.h"

typedef struct broker_out_part_s {
    size_t off, len; /* memory: bytes [off, off+len) of the frame's buffer */
    log_read_t file; /* file: file.len bytes at file.pos; file.seg is NULL for memory */
} broker_out_part_t;

typedef struct broker_out_frame_s {
    struct broker_out_frame_s *next;
    uint8_t *mem;    /* owned */
    size_t mem_cap;  /* bytes allocated at mem */
    size_t total;    /* bytes of all parts */
    uint32_t nparts; /* used entries of parts[] */
    uint32_t cap;
    uint32_t cur;    /* first part not wholly sent */
    size_t cur_done; /* bytes of parts[cur] already sent */
    broker_out_part_t parts[];
} broker_out_frame_t;

/*
 * Sent frames kept for reuse with their buffers, so a warm broker answers
 * without allocating: only frames of up to BROKER_OUT_POOL_PARTS parts and
 * BROKER_OUT_POOL_BYTES of memory are kept, at most BROKER_OUT_POOL_MAX.
 */
#define BROKER_OUT_POOL_PARTS 3
#define BROKER_OUT_POOL_BYTES (16u * 1024u)
#define BROKER_OUT_POOL_MAX   128u
typedef struct broker_out_pool_s {
    broker_out_frame_t *free;
    uint32_t n;
} broker_out_pool_t;

typedef struct broker_outq_s {
    broker_out_frame_t *head, *tail;
    size_t bytes;            /* not yet sent, over all frames */
    size_t held;             /* memory the queued frames hold: structs and buffers (not file ranges) */
    uint64_t file_bytes;     /* ever sent with sendfile (the caller may reset it) */
    broker_out_pool_t *pool; /* where sent frames go; NULL frees them */
} broker_outq_t;

/* A frame with room for nparts parts, taking the memory of mem (left empty). */
broker_out_frame_t *broker_out_frame_new(buf_t *mem, uint32_t nparts);
/* Appends the memory part [off, off+len) of the frame's buffer (no-op for len 0). */
void broker_out_frame_mem(broker_out_frame_t *f, size_t off, size_t len);
/* Appends a file part; the frame takes file's segment reference (file is cleared). */
void broker_out_frame_file(broker_out_frame_t *f, log_read_t *file);
/* Frees a frame never queued, releasing its references. */
void broker_out_frame_free(broker_out_frame_t *f);

/*
 * A frame for nparts parts, from the pool when one fits (pool may be NULL);
 * *mem is its buffer, empty with room for mem_bytes, to encode into and hand
 * back with broker_out_frame_set_mem (it may have grown meanwhile).
 */
broker_out_frame_t *broker_out_frame_get(broker_out_pool_t *pool, uint32_t nparts, size_t mem_bytes, buf_t *mem);
void broker_out_frame_set_mem(broker_out_frame_t *f, buf_t *mem);
/* Releases a frame's references and keeps it in pool, or frees it. */
void broker_out_frame_put(broker_out_pool_t *pool, broker_out_frame_t *f);
/* Frees every pooled frame (shutdown). */
void broker_out_pool_fini(broker_out_pool_t *pool);

static inline void broker_outq_init(broker_outq_t *q, broker_out_pool_t *pool)
{
    q->head = q->tail = NULL;
    q->bytes = 0;
    q->held = 0;
    q->file_bytes = 0;
    q->pool = pool;
}
void broker_outq_push(broker_outq_t *q, broker_out_frame_t *f);
/* The memory one frame holds while queued: its struct, parts and buffer. */
size_t broker_out_frame_held(const broker_out_frame_t *f);
/*
 * Writes to the non-blocking socket fd until the queue is empty or the socket
 * is full (*blocked set). Returns the bytes written, or a negative errno on a
 * socket error or a file range that came up short (the frame's size was
 * promised: the connection must close).
 */
ssize_t broker_outq_flush(broker_outq_t *q, int fd, bool *blocked);
/* Drops everything queued (the connection is closing). */
void broker_outq_clear(broker_outq_t *q);

#endif
