/*
 * log/io: the one door between the partition log and the file system.
 *
 * Every open, read, write, fsync, truncate, rename, unlink, mkdir, rmdir and
 * directory listing the log does goes through these wrappers, so that tests
 * can make any of them fail (EIO, ENOSPC, a short write) and so that a future
 * backend (io_uring, a thread-pool fsync) has a single place to change. The
 * wrappers retry EINTR and short transfers themselves and return 0, a byte
 * count, or a negative errno; they never log and hold no state besides the
 * fault hook. They know nothing of segments or batches.
 *
 * The fault hook is process-wide and meant for tests only: it is read without
 * locking, so set it while no other thread uses the log.
 */
#ifndef EDDY_LOG_IO_H
#define EDDY_LOG_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum log_io_op_e {
    LOG_IO_OPEN,
    LOG_IO_CLOSE,
    LOG_IO_READ,
    LOG_IO_WRITE,
    LOG_IO_FSYNC,
    LOG_IO_TRUNCATE,
    LOG_IO_STAT,
    LOG_IO_RENAME,
    LOG_IO_UNLINK,
    LOG_IO_MKDIR,
    LOG_IO_RMDIR,
    LOG_IO_LISTDIR,
} log_io_op_t;

/*
 * Called before each operation with the path (path operations) or the file
 * descriptor (fd operations; path is NULL then). Return 0 to let it run, or
 * a negative errno to make it fail with that code. For LOG_IO_WRITE the hook
 * may also set *partial to a byte count smaller than the request: that many
 * bytes are really written before the failure is reported, which is how a
 * torn write looks to the caller. *partial starts at 0.
 */
typedef int (*log_io_fault_fn)(void *arg, log_io_op_t op, const char *path, int fd, size_t *partial);

/* Installs (or with NULL removes) the fault hook. */
void log_io_set_fault(log_io_fault_fn fn, void *arg);

/* open(2); returns the descriptor or a negative errno. O_CLOEXEC is added. */
int log_io_open(const char *path, int flags, mode_t mode);
/* close(2); the descriptor is released even when an error is returned. */
int log_io_close(int fd);
/*
 * Reads up to len bytes at off, looping over short reads; returns the bytes
 * read (fewer than len only at end of file) or a negative errno.
 */
ssize_t log_io_pread(int fd, void *buf, size_t len, int64_t off);
/*
 * Writes all len bytes at off; returns 0 or a negative errno. After an error
 * an unknown prefix of the bytes may be on disk: the caller truncates.
 */
int log_io_pwrite(int fd, const void *buf, size_t len, int64_t off);
int log_io_fsync(int fd);
/*
 * fdatasync(2): the data and the metadata needed to read it back (size,
 * block allocation), not the times. What the log's files need, and cheaper:
 * an append-only file's mtime change alone forces no journal commit. The
 * fault hook sees it as LOG_IO_FSYNC.
 */
int log_io_fdatasync(int fd);
int log_io_ftruncate(int fd, int64_t len);
/* Size of the open file in *size. */
int log_io_fsize(int fd, int64_t *size);
int log_io_rename(const char *from, const char *to);
int log_io_unlink(const char *path);
/*
 * Unlinking a large file frees its blocks, which can take milliseconds: the
 * broker installs an unlinker that does it on a pool thread. The function
 * gets a malloc'd path it must free. Without one (tests, shutdown),
 * log_io_unlink_later unlinks at once. Call only from the loop thread.
 */
typedef void (*log_io_unlinker_fn)(char *path, void *arg);
void log_io_set_unlinker(log_io_unlinker_fn fn, void *arg);
int log_io_unlink_later(const char *path);
/* mkdir(2); an existing directory is not an error. */
int log_io_mkdir(const char *path, mode_t mode);
int log_io_rmdir(const char *path);
/* Opens the directory and fsyncs it, making created or removed names durable. */
int log_io_fsync_dir(const char *path);
/*
 * Calls fn for every entry of the directory except "." and "..". A non-zero
 * return from fn stops the walk and is returned; otherwise 0 or a negative
 * errno.
 */
int log_io_list_dir(const char *path, int (*fn)(void *arg, const char *name), void *arg);

#endif
