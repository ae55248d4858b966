#include "broker/replicas.h"

#include "base/clock.h"
#include "base/diag.h"
#include "broker/broker.h"

/* The replica layer answers with Kafka's numbers; they must be protocol/kafka_errors.h's. */
_Static_assert(REPLICA_ERR_NOT_LEADER_OR_FOLLOWER == KERR_NOT_LEADER_OR_FOLLOWER, "error codes");
_Static_assert(REPLICA_ERR_NOT_ENOUGH_REPLICAS == KERR_NOT_ENOUGH_REPLICAS, "error codes");
_Static_assert(REPLICA_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND == KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, "error codes");
_Static_assert(REPLICA_ERR_FENCED_LEADER_EPOCH == KERR_FENCED_LEADER_EPOCH, "error codes");
_Static_assert(REPLICA_ERR_UNKNOWN_LEADER_EPOCH == KERR_UNKNOWN_LEADER_EPOCH, "error codes");
_Static_assert(REPLICA_ERR_OFFSET_NOT_AVAILABLE == KERR_OFFSET_NOT_AVAILABLE, "error codes");

void broker_replica_init_single(broker_partition_t *part, const broker_config_t *cfg, int32_t min_insync)
{
    replica_t *r = &part->replica;
    replica_init(r, cfg->node_id, cfg->replica_lag_time_max_ms);
    replica_set_min_insync(r, min_insync);
    int64_t leo = part->log ? log_partition_end_offset(part->log) : 0;
    const int32_t self = cfg->node_id;
    /* Cannot fail: one replica, in its own assignment, on a fresh state. */
    int rc = replica_become_leader(r, -1, -1, &self, 1, &self, 1, leo, leo, clock_mono_ms(), NULL);
    DIAG_ASSERT(rc == 0);
    if (part->log)
        replica_on_log_start(r, log_partition_start_offset(part->log));
}

bool broker_replica_sync(broker_partition_t *part)
{
    replica_t *r = &part->replica;
    if (!part->log)
        return false;
    int64_t leo = log_partition_end_offset(part->log);
    /* Only the clock read is worth skipping: on one broker this is every HW read, and nothing changed. */
    if (leo == r->leo && (r->role != REPLICA_ROLE_LEADER || r->hw == leo))
        return false;
    return replica_on_local_append(r, leo, clock_mono_ms());
}

/* No store to write to: the proposal is dropped as an AlterPartition that was not attempted. */
static void replicas_submit(broker_t *broker, broker_topic_t *t, int32_t partition, const replica_proposal_t *p)
{
    if (broker->isr_submit) {
        broker->isr_submit(broker, t, partition, p);
        return;
    }
    broker_partition_t *part = broker_topic_partition(t, partition);
    if (part)
        replica_abort_isr(&part->replica);
    LOG_DEBUG("replicas", "%s-%d: ISR %s proposal dropped (no metadata store)", t->name, partition,
              p->kind == REPLICA_ISR_PENDING_EXPAND ? "expansion" : "shrink");
}

bool broker_replica_follower_fetched(broker_t *broker, broker_topic_t *t, int32_t partition, int32_t follower_id,
                                     int64_t fetch_offset, int64_t follower_log_start, int64_t leo_at_read)
{
    broker_partition_t *part = broker_topic_partition(t, partition);
    if (!part)
        return false;
    replica_fetch_result_t res;
    int rc = replica_on_follower_fetch(&part->replica, follower_id, fetch_offset, follower_log_start, leo_at_read,
                                       clock_mono_ms(), &res);
    if (rc != 0)
        return false; /* checked before the read; a race with a leadership change only loses this record */
    if (res.proposal.kind != REPLICA_ISR_COMMITTED)
        replicas_submit(broker, t, partition, &res.proposal);
    return res.hw_advanced;
}

void broker_replicas_advanced(broker_t *broker)
{
    broker_wake_replicated(broker);
    broker_wake_parked(broker); /* consumers read up to the HW */
}

int broker_replicas_tick(broker_t *broker)
{
    int made = 0;
    int64_t now = clock_mono_ms();
    size_t pos = 0;
    broker_topic_t *t;
    while ((t = broker_topics_next(&broker->topics, &pos))) {
        for (int32_t i = 0; i < t->nparts; i++) {
            replica_t *r = &t->parts[i].replica;
            if (r->role != REPLICA_ROLE_LEADER || r->nfollowers == 0)
                continue;
            (void)broker_replica_sync(&t->parts[i]);
            replica_proposal_t p;
            if (replica_tick(r, now, &p)) {
                replicas_submit(broker, t, i, &p);
                made++;
            }
        }
    }
    return made;
}
