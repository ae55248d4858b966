/*
 * broker/mstore: where topic metadata lives — the one interface between the
 * topic registry (broker/topics.c) and the store that holds the truth.
 *
 * A single broker keeps its metadata in files under <log.dirs>/eddy-meta/
 * (mstore_local.c). A cluster member will keep it in etcd, where a change is
 * a compare-and-swap transaction and every broker learns of it through a
 * watch. The interface is shaped for the second case and the first fits in
 * it:
 *
 *   - every change is asynchronous: the caller passes done(arg, rc), which
 *     a store may call before returning (files) or later on the loop thread
 *     (etcd); rc is 0 or a negative errno (-EEXIST: create of a topic that
 *     exists; -ENOENT: change of one that does not; -EAGAIN: the store is
 *     unreachable and nothing changed);
 *   - a change is APPLIED through the listener, not by the caller: the store
 *     calls topic_put / topic_removed / broker_configs for every change it
 *     learns of, its own or (etcd) another broker's, and the registry opens,
 *     reconfigures or deletes its partitions there. The local store calls
 *     the listener inline, before done, so a single broker's answer sees the
 *     change applied, as before this interface existed;
 *   - at start, load() replays everything the store holds through the
 *     listener.
 *
 * Records passed to the listener and to the change calls are borrowed for
 * the duration of the call.
 */
#ifndef EDDY_BROKER_MSTORE_H
#define EDDY_BROKER_MSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/config.h"
#include "protocol/reader.h"

/* One topic as the store keeps it. */
typedef struct broker_mstore_topic_s {
    const char *name;
    proto_uuid_t id;
    int32_t nparts;
    const broker_topic_config_t *configs; /* the topic's overrides */
    int nconfigs;
} broker_mstore_topic_t;

/* What the store tells the registry. */
typedef struct broker_mstore_listener_s {
    void *arg;
    /* A topic was created or changed (partition count, overrides). */
    void (*topic_put)(void *arg, const broker_mstore_topic_t *t);
    /* A topic was deleted. */
    void (*topic_removed)(void *arg, const char *name);
    /* The dynamic broker configs: this node's and the cluster default, each set whole. */
    void (*broker_configs)(void *arg, const broker_topic_config_t *node, int nnode, const broker_topic_config_t *def,
                           int ndef);
} broker_mstore_listener_t;

typedef void (*broker_mstore_done_fn)(void *arg, int rc);

typedef struct broker_mstore_s broker_mstore_t;

typedef struct broker_mstore_ops_s {
    /* Replays every topic and the dynamic broker configs through the listener; 0 or -errno. */
    int (*load)(broker_mstore_t *s);
    /* Creates t (-EEXIST when a topic of that name exists). */
    void (*create_topic)(broker_mstore_t *s, const broker_mstore_topic_t *t, broker_mstore_done_fn done, void *arg);
    /* Replaces an existing topic's record (-ENOENT when there is none). */
    void (*update_topic)(broker_mstore_t *s, const broker_mstore_topic_t *t, broker_mstore_done_fn done, void *arg);
    void (*delete_topic)(broker_mstore_t *s, const char *name, broker_mstore_done_fn done, void *arg);
    /* Replaces both sets of dynamic broker configs. */
    void (*put_broker_configs)(broker_mstore_t *s, const broker_topic_config_t *node, int nnode,
                               const broker_topic_config_t *def, int ndef, broker_mstore_done_fn done, void *arg);
    void (*close)(broker_mstore_t *s);
} broker_mstore_ops_t;

struct broker_mstore_s {
    const broker_mstore_ops_t *ops;
    broker_mstore_listener_t listener;
    char where[64]; /* for log lines and error messages: "files", "etcd" */
};

/* The single-broker store: files under <log_dirs>/eddy-meta/. 0 or -errno; *out owned by the caller (ops->close). */
int broker_mstore_local_open(const char *log_dirs, const broker_mstore_listener_t *listener, broker_mstore_t **out);

/*
 * Test hook (eddy.test.metadata.delay.ms): a store that passes each change
 * to inner after delay_ms on loop's timers, so changes finish later, as on
 * etcd. Takes ownership of inner.
 */
struct uv_loop_s;
int broker_mstore_delay_open(struct uv_loop_s *loop, broker_mstore_t *inner, int64_t delay_ms, broker_mstore_t **out);

#endif
