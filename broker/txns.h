/*
 * broker/txns: the broker's side of the transaction coordinator.
 *
 * coordinator/txn.c is a pure state machine; this module gives it the
 * internal topic __transaction_state (created on first use, as in Kafka:
 * the first FindCoordinator for a transactional id or the coordinator's
 * first write; replayed before the listener opens when it is on disk), its append callback, a timer for its deadlines,
 * and the writing of transaction markers: a COMMIT or ABORT control batch into every partition of a finished
 * transaction, after which the coordinator is told and read_committed readers move on.
 */
#ifndef EDDY_BROKER_TXNS_H
#define EDDY_BROKER_TXNS_H

#include <uv.h>

#include "coordinator/txn.h"

typedef struct broker_s broker_t;
typedef struct broker_topic_s broker_topic_t;

typedef struct broker_txns_s {
    txn_coordinator_t *coord;
    broker_topic_t *state_topic;
    uv_timer_t timer;
    int64_t timer_due;
} broker_txns_t;

int broker_txns_init(broker_t *broker);
/* Creates __transaction_state if it is not there yet; 0 or a negative errno. */
int broker_txns_topic(broker_t *broker);
/* Writes every marker job the coordinator has queued, then re-arms its timer. */
void broker_txns_run(broker_t *broker);
/* Writes one job's markers and reports the outcome to the coordinator. */
void broker_txns_write_markers(broker_t *broker, const txn_marker_job_t *job);
void broker_txns_stop(broker_t *broker);
void broker_txns_fini(broker_t *broker);

#endif
