#include "log/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static log_io_fault_fn io_fault;
static void *io_fault_arg;

void log_io_set_fault(log_io_fault_fn fn, void *arg)
{
    io_fault = fn;
    io_fault_arg = arg;
}

static int io_check(log_io_op_t op, const char *path, int fd, size_t *partial)
{
    size_t dummy = 0;
    if (io_fault == NULL)
        return 0;
    return io_fault(io_fault_arg, op, path, fd, partial != NULL ? partial : &dummy);
}

int log_io_open(const char *path, int flags, mode_t mode)
{
    int rc = io_check(LOG_IO_OPEN, path, -1, NULL);
    if (rc < 0)
        return rc;
    for (;;) {
        int fd = open(path, flags | O_CLOEXEC, mode);
        if (fd >= 0)
            return fd;
        if (errno != EINTR)
            return -errno;
    }
}

int log_io_close(int fd)
{
    int rc = io_check(LOG_IO_CLOSE, NULL, fd, NULL);
    /* The descriptor goes away whatever the hook says, so that an injected
     * failure never leaks it; close is not retried on EINTR (Linux frees the
     * descriptor first). */
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

ssize_t log_io_pread(int fd, void *buf, size_t len, int64_t off)
{
    int rc = io_check(LOG_IO_READ, NULL, fd, NULL);
    if (rc < 0)
        return rc;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + (int64_t)done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int io_write_all(int fd, const uint8_t *p, size_t len, int64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, p + done, len - done, (off_t)(off + (int64_t)done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

int log_io_pwrite(int fd, const void *buf, size_t len, int64_t off)
{
    size_t partial = 0;
    int rc = io_check(LOG_IO_WRITE, NULL, fd, &partial);
    if (rc < 0) {
        if (partial > 0)
            (void)io_write_all(fd, buf, partial < len ? partial : len, off);
        return rc;
    }
    return io_write_all(fd, buf, len, off);
}

int log_io_fsync(int fd)
{
    int rc = io_check(LOG_IO_FSYNC, NULL, fd, NULL);
    if (rc < 0)
        return rc;
    while (fsync(fd) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

int log_io_fdatasync(int fd)
{
    int rc = io_check(LOG_IO_FSYNC, NULL, fd, NULL);
    if (rc < 0)
        return rc;
    while (fdatasync(fd) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

int log_io_ftruncate(int fd, int64_t len)
{
    int rc = io_check(LOG_IO_TRUNCATE, NULL, fd, NULL);
    if (rc < 0)
        return rc;
    while (ftruncate(fd, (off_t)len) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

int log_io_fsize(int fd, int64_t *size)
{
    struct stat st;
    int rc = io_check(LOG_IO_STAT, NULL, fd, NULL);
    if (rc < 0)
        return rc;
    if (fstat(fd, &st) < 0)
        return -errno;
    *size = (int64_t)st.st_size;
    return 0;
}

int log_io_rename(const char *from, const char *to)
{
    int rc = io_check(LOG_IO_RENAME, from, -1, NULL);
    if (rc < 0)
        return rc;
    return rename(from, to) < 0 ? -errno : 0;
}

static log_io_unlinker_fn io_unlinker;
static void *io_unlinker_arg;

void log_io_set_unlinker(log_io_unlinker_fn fn, void *arg)
{
    io_unlinker = fn;
    io_unlinker_arg = arg;
}

int log_io_unlink_later(const char *path)
{
    if (io_unlinker) {
        char *copy = strdup(path);
        if (copy) {
            io_unlinker(copy, io_unlinker_arg);
            return 0;
        }
    }
    return log_io_unlink(path);
}

int log_io_unlink(const char *path)
{
    int rc = io_check(LOG_IO_UNLINK, path, -1, NULL);
    if (rc < 0)
        return rc;
    return unlink(path) < 0 ? -errno : 0;
}

int log_io_mkdir(const char *path, mode_t mode)
{
    int rc = io_check(LOG_IO_MKDIR, path, -1, NULL);
    if (rc < 0)
        return rc;
    if (mkdir(path, mode) == 0)
        return 0;
    if (errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        return -ENOTDIR;
    }
    return -errno;
}

int log_io_rmdir(const char *path)
{
    int rc = io_check(LOG_IO_RMDIR, path, -1, NULL);
    if (rc < 0)
        return rc;
    return rmdir(path) < 0 ? -errno : 0;
}

int log_io_fsync_dir(const char *path)
{
    int rc = io_check(LOG_IO_FSYNC, path, -1, NULL);
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while (fsync(fd) < 0) {
        if (errno != EINTR) {
            rc = -errno;
            break;
        }
    }
    close(fd);
    return rc;
}

int log_io_list_dir(const char *path, int (*fn)(void *arg, const char *name), void *arg)
{
    int rc = io_check(LOG_IO_LISTDIR, path, -1, NULL);
    if (rc < 0)
        return rc;
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -errno;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dir);
        if (de == NULL) {
            rc = errno != 0 ? -errno : 0;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        rc = fn(arg, de->d_name);
        if (rc != 0)
            break;
    }
    closedir(dir);
    return rc;
}
