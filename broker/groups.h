/*
 * broker/groups: the broker's side of the group coordinator.
 *
 * coordinator/group.c is a pure state machine; this module gives it what it
 * needs from the outside world: the internal topic __consumer_offsets
 * (created on first use, compacted, replayed into the coordinator before the
 * listener opens when it exists), an append callback that writes its records there, a
 * libuv timer that drives its deadlines, and the glue that parks JoinGroup
 * and SyncGroup requests on the coordinator's waiters.
 */
#ifndef EDDY_BROKER_GROUPS_H
#define EDDY_BROKER_GROUPS_H

#include <stdbool.h>
#include <uv.h>

#include "coordinator/group.h"

#define BROKER_OFFSETS_TOPIC   "__consumer_offsets"
#define BROKER_TXN_STATE_TOPIC "__transaction_state"

typedef struct broker_s broker_t;
typedef struct broker_topic_s broker_topic_t;
typedef struct broker_req_s broker_req_t;

typedef struct broker_groups_s {
    group_coordinator_t *coord;
    broker_topic_t *offsets_topic;
    uv_timer_t timer;
    int64_t timer_due; /* INT64_MAX when idle */
} broker_groups_t;

/*
 * Makes a new coordinator and, when __consumer_offsets is on disk, replays it
 * into it. A broker that never had a group does not create the topic here:
 * broker_groups_topic does, on the first FindCoordinator for a group or the
 * coordinator's first write, as Kafka creates it on first use.
 */
int broker_groups_init(broker_t *broker);
/* Creates __consumer_offsets if it is not there yet; 0 or a negative errno. */
int broker_groups_topic(broker_t *broker);
/* Re-arms the deadline timer; call after every call into the coordinator. */
void broker_groups_schedule(broker_t *broker);
/* A JoinGroup or SyncGroup now waits in the coordinator; its connection's close cancels it. */
void broker_groups_wait(broker_req_t *req);
void broker_groups_stop(broker_t *broker);
void broker_groups_fini(broker_t *broker);

#endif
