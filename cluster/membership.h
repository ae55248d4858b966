/*
 * cluster/membership: a broker's place in the cluster (prefix cluster_member_).
 *
 * Joining grants an etcd lease of the broker's session timeout and creates
 * <prefix>/brokers/<node.id> under it with a compare-and-swap that succeeds
 * only when no such key exists, so two live brokers can never hold one node
 * id: the second is told who holds it and must not serve. The key's value
 * is text, one key=value per line: node.id, rack (empty: none), host, port
 * (the advertised listener) and incarnation (random per process, so a
 * restarted broker is told apart from the one before it). Once joined the
 * lease is renewed every heartbeat; when renewing fails for a whole session
 * timeout, measured from the last successful renewal's send (etcd's own
 * expiry can only come later), lost() is called once and the broker must
 * stop acting as a member — by then another may take its node id and its
 * partitions.
 *
 * Also here: watching the live brokers (cluster_member_list_watch) and the
 * controller election (cluster_controller_campaign). Not here yet: the
 * broker wiring.
 */
#ifndef EDDY_CLUSTER_MEMBERSHIP_H
#define EDDY_CLUSTER_MEMBERSHIP_H

#include <stdint.h>

#include "cluster/etcd.h"

typedef struct cluster_member_opts_s {
    const char *prefix; /* e.g. "/eddy" (cluster.etcd.prefix) */
    int32_t node_id;
    const char *rack; /* NULL: none */
    const char *host; /* advertised listener */
    int port;
    int64_t session_timeout_ms; /* broker.session.timeout.ms: the lease TTL, rounded up to seconds */
    int64_t heartbeat_ms;       /* broker.heartbeat.interval.ms: renewal period */
    int64_t join_deadline_ms;   /* how long joining may take (clock_mono_ms based); 0: 10 s */
} cluster_member_opts_t;

typedef struct cluster_member_s cluster_member_t;

/*
 * rc 0: joined. ETCD_ECOMPARE: the node id is held by a live broker; why
 * says by whom ("node.id 2 is already registered by 127.0.0.1:9093"). Other
 * ETCD_E*: etcd could not be reached or answered badly (why says so). why
 * is valid during the call.
 */
typedef void (*cluster_joined_cb)(void *arg, int rc, const char *why);
/* The lease is gone (ETCD_ELEASE) or could not be renewed in time (ETCD_EUNAVAILABLE). */
typedef void (*cluster_lost_cb)(void *arg, int rc);

/* Starts joining; NULL when out of memory or opts are unusable. joined() is called once, then (when it said 0) lost()
 * at most once. */
cluster_member_t *cluster_member_join(etcd_client_t *cli, const cluster_member_opts_t *opts, cluster_joined_cb joined,
                                      cluster_lost_cb lost, void *arg);
/* The lease id once joined (0 before): keys that must go with this broker are put under it. */
int64_t cluster_member_lease(const cluster_member_t *m);
/*
 * Leaves and frees m; called once in every case (joined, refused, lost).
 * Stops renewing and revokes the lease (its keys go at once, so others
 * need not wait for the session timeout); no callback is called after
 * this. The client must outlive the revoke (run the loop before freeing
 * it).
 */
void cluster_member_leave(cluster_member_t *m);

/* A registered broker, parsed from its <prefix>/brokers/<id> value. */
typedef struct cluster_broker_s {
    int32_t node_id;
    char rack[64];
    char host[256];
    int port;
    char incarnation[24];
} cluster_broker_t;

/* 0 when value is a registration (node.id, host and port present). */
int cluster_broker_parse(const char *value, size_t len, cluster_broker_t *out);

/*
 * The live brokers: a get of <prefix>/brokers/, then a watch from the
 * revision after it. changed(arg, 1, b) for each broker present at first
 * and each that joins, changed(arg, 0, b) with its last value when one
 * leaves (key deleted or its lease expired); a broker re-registered with a
 * new incarnation leaves, then joins. When etcd compacted the watch's
 * revision the list is reloaded and the difference reported, so callers
 * never miss a change. error(arg, rc) is called once for a failure that
 * ends the list (the first get failed, a malformed stream); stop either way.
 */
typedef struct cluster_member_list_s cluster_member_list_t;
typedef void (*cluster_broker_cb)(void *arg, int joined, const cluster_broker_t *b);
typedef void (*cluster_list_error_cb)(void *arg, int rc);
cluster_member_list_t *cluster_member_list_watch(etcd_client_t *cli, const char *prefix, cluster_broker_cb changed,
                                                 cluster_list_error_cb error, void *arg);
/* No callback after this; call once before the client is freed. */
void cluster_member_list_stop(cluster_member_list_t *l);

/*
 * Controller election on <prefix>/controller: a txn creates the key (value
 * the node id) under the member's lease only if it is absent; its holder is
 * the controller and the key's create_revision is the controller epoch
 * (strictly increasing across holders). Everyone, holder included, watches
 * the key; when it is deleted (resigned, or the holder's lease went) each
 * campaigns again. changed(arg, rc, controller, epoch) reports every change
 * (controller == own node id: this broker now is it; -1: nobody, or rc != 0
 * when etcd cannot be reached, after which it keeps trying every 500 ms).
 */
typedef struct cluster_election_s cluster_election_t;
typedef void (*cluster_controller_cb)(void *arg, int rc, int32_t controller, int64_t epoch);
cluster_election_t *cluster_controller_campaign(etcd_client_t *cli, const char *prefix, int32_t node_id, int64_t lease,
                                                cluster_controller_cb changed, void *arg);
/* Stops campaigning and watching; a holder deletes the key (only if still
 * its own) so the others need not wait for its lease. No callback after. */
void cluster_controller_resign(cluster_election_t *e);

#endif
