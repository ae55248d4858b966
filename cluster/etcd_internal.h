/*
 * cluster/etcd_internal: what etcd_client.c shares with the files of the
 * client that do not go through etcd_call (the watch stream). Not API.
 */
#ifndef EDDY_CLUSTER_ETCD_INTERNAL_H
#define EDDY_CLUSTER_ETCD_INTERNAL_H

#include <stddef.h>

#include "cluster/etcd.h"
#include "cluster/etcd_http.h"

etcd_http_t *etcd_client_http(etcd_client_t *cli);
/* The endpoint in use joined with path, after moving to the next endpoint
 * when advance; 0, or ETCD_ETOOBIG when it does not fit out. */
int etcd_client_url(etcd_client_t *cli, int advance, const char *path, char *out, size_t cap);
long etcd_client_request_timeout(etcd_client_t *cli);
size_t etcd_client_max_reply(etcd_client_t *cli);
/* The base64 range_end of a prefix: the prefix with its last byte below 0xff
 * incremented and what follows dropped; "\0" (every key) when there is
 * none. 0, or ETCD_ENOMEM; *out is the caller's to free. */
int etcd_prefix_end(const void *key, size_t len, char **out);

#endif
