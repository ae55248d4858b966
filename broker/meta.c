#include "broker/meta.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/diag.h"

int broker_meta_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int broker_meta_mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return -ENAMETOOLONG;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof(dir), ".");
    int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int broker_meta_write_atomic(const char *path, const void *data, size_t len)
{
    /* The temp file sits beside the target under a name no topic can have ('~'). */
    char tmp[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 1;
    if (snprintf(tmp, sizeof(tmp), "%.*s/~tmp.XXXXXX", dirlen, slash ? path : ".") >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -errno;
    (void)fchmod(fd, 0644);
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            close(fd);
            unlink(tmp);
            return e;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        int e = -errno;
        close(fd);
        unlink(tmp);
        return e;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = -errno;
        unlink(tmp);
        return e;
    }
    return fsync_dir_of(path);
}

/* Kafka cluster ids are a random UUID in unpadded base64url: 22 characters. */
static void make_cluster_id(char *out, size_t outlen)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t raw[16];
    if (broker_meta_random(raw, sizeof(raw)) != 0)
        memset(raw, 0x5a, sizeof(raw));
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < sizeof(raw) && n + 1 < outlen; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6 && n + 1 < outlen) {
            bits -= 6;
            out[n++] = b64[(acc >> bits) & 63];
        }
    }
    if (bits > 0 && n + 1 < outlen)
        out[n++] = b64[(acc << (6 - bits)) & 63];
    out[n] = 0;
}

int broker_meta_load(const char *dir, int32_t node_id, char *cluster_id, size_t cluster_id_len)
{
    int rc = broker_meta_mkdirs(dir);
    if (rc != 0)
        return rc;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/meta.properties", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    FILE *f = fopen(path, "r");
    if (f) {
        char line[512];
        int32_t stored_node = -1;
        cluster_id[0] = 0;
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\r\n")] = 0;
            if (strncmp(line, "cluster.id=", 11) == 0)
                snprintf(cluster_id, cluster_id_len, "%s", line + 11);
            else if (strncmp(line, "node.id=", 8) == 0)
                stored_node = (int32_t)strtol(line + 8, NULL, 10);
        }
        fclose(f);
        if (!cluster_id[0]) {
            LOG_ERROR("broker", "%s has no cluster.id", path);
            return -EINVAL;
        }
        if (stored_node != node_id) {
            LOG_ERROR("broker", "%s belongs to node %d, not node.id=%d", path, stored_node, node_id);
            return -EINVAL;
        }
        return 0;
    }
    if (errno != ENOENT)
        return -errno;
    make_cluster_id(cluster_id, cluster_id_len);
    char text[256];
    int n = snprintf(text, sizeof(text), "# written by eddy on first start\nversion=1\ncluster.id=%s\nnode.id=%d\n",
                     cluster_id, node_id);
    return broker_meta_write_atomic(path, text, (size_t)n);
}
