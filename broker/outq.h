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
    size_t total;    /* bytes of all parts */
    uint32_t nparts; /* used entries of parts[] */
    uint32_t cap;
    uint32_t cur;    /* first part not wholly sent */
    size_t cur_done; /* bytes of parts[cur] already sent */
    broker_out_part_t parts[];
} broker_out_frame_t;

typedef struct broker_outq_s {
    broker_out_frame_t *head, *tail;
    size_t bytes;        /* not yet sent, over all frames */
    uint64_t file_bytes; /* ever sent with sendfile (the caller may reset it) */
} broker_outq_t;

/* A frame with room for nparts parts, taking the memory of mem (left empty). */
broker_out_frame_t *broker_out_frame_new(buf_t *mem, uint32_t nparts);
/* Appends the memory part [off, off+len) of the frame's buffer (no-op for len 0). */
void broker_out_frame_mem(broker_out_frame_t *f, size_t off, size_t len);
/* Appends a file part; the frame takes file's segment reference (file is cleared). */
void broker_out_frame_file(broker_out_frame_t *f, log_read_t *file);
/* Frees a frame never queued, releasing its references. */
void broker_out_frame_free(broker_out_frame_t *f);

static inline void broker_outq_init(broker_outq_t *q)
{
    q->head = q->tail = NULL;
    q->bytes = 0;
    q->file_bytes = 0;
}
void broker_outq_push(broker_outq_t *q, broker_out_frame_t *f);
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
