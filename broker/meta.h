/*
 * broker/meta: the data directory's identity and small metadata files.
 *
 * meta.properties names the cluster and node the directory belongs to (as
 * Kafka's does); it is created on first start. The atomic file writer here
 * (temp file, fsync, rename, fsync of the directory) is what every metadata
 * file of the broker layer uses.
 */
#ifndef EDDY_BROKER_META_H
#define EDDY_BROKER_META_H

#include <stddef.h>
#include <stdint.h>

/* Creates dir if needed, reads or writes meta.properties; fills cluster_id. */
int broker_meta_load(const char *dir, int32_t node_id, char *cluster_id, size_t cluster_id_len);
/* Replaces path with data atomically. 0 or -errno. */
int broker_meta_write_atomic(const char *path, const void *data, size_t len);
/* Fills buf with len random bytes. 0 or -errno. */
int broker_meta_random(void *buf, size_t len);
/* mkdir -p; 0 or -errno. */
int broker_meta_mkdirs(const char *path);

#endif
