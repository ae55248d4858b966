/*
 * broker/replicas: the broker's side of the replica layer (replica/replica.h).
 *
 * Every partition owns a replica_t (broker_partition_t.replica). On one
 * broker each is made leader when its log opens, of replicas = ISR =
 * {node.id} at leader epoch -1, so the high watermark is the log end
 * offset after every append and nothing ever waits for a follower. Cluster
 * mode replaces that with the metadata store's assignment (become_leader /
 * become_follower) and gives the broker an isr_submit hook that writes ISR
 * proposals to the store.
 *
 * This module keeps the replica's LEO in step with the log (every HW read
 * first looks at the log end, so no append path can leave the HW behind),
 * records followers' fetches and hands their ISR proposals to the hook
 * (none: dropped at once, as an AlterPartition that was not attempted), and
 * says which leader epoch clients are told. It owns no memory and never
 * allocates; Produce, Fetch, ListOffsets, Metadata and DeleteRecords call it
 * per partition.
 */
#ifndef EDDY_BROKER_REPLICAS_H
#define EDDY_BROKER_REPLICAS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/config.h"
#include "broker/topics.h"
#include "replica/replica.h"

typedef struct broker_s broker_t;

/* One broker: leader of {node.id}, epoch -1, HW = LEO; min.insync.replicas from the topic. */
void broker_replica_init_single(broker_partition_t *part, const broker_config_t *cfg, int32_t min_insync);

/* The replica's LEO brought up to the log's; true when that advanced the HW. */
bool broker_replica_sync(broker_partition_t *part);

/* The high watermark, after bringing the LEO up to the log's (-1 for an offline partition). */
static inline int64_t broker_replica_hw(broker_partition_t *part)
{
    if (!part->log)
        return -1;
    (void)broker_replica_sync(part);
    return replica_hw(&part->replica);
}

/*
 * The leader epoch clients are told (Metadata, ListOffsets): -1 for now,
 * in every mode, so that no client validates its position with
 * OffsetForLeaderEpoch (API 23), which eddy does not serve yet. The epoch
 * the replica layer fences requests with is the real one.
 */
static inline int32_t broker_replica_reported_epoch(const replica_t *r)
{
    (void)r;
    return -1;
}

/*
 * A client's current_leader_epoch as it is checked: not at all while clients
 * are told -1 (librdkafka 2.x sends 0 for it, which would be fenced for
 * ever). Followers' epochs (Fetch with replica id >= 0) are always checked.
 */
static inline int32_t broker_replica_client_epoch(const replica_t *r, int32_t current_leader_epoch)
{
    return broker_replica_reported_epoch(r) < 0 ? -1 : current_leader_epoch;
}

/*
 * A follower's fetch of the partition was read: records it (fetch_offset is
 * its LEO, leo_at_read the leader's LEO when it was read), submits any ISR
 * expansion it proposes, and returns whether the HW advanced (the caller
 * wakes what waits for it: broker_replicas_advanced).
 */
bool broker_replica_follower_fetched(broker_t *broker, broker_topic_t *topic, int32_t partition, int32_t follower_id,
                                     int64_t fetch_offset, int64_t follower_log_start, int64_t leo_at_read);

/* The HW of some partition advanced: acks=all Produce and consumer Fetch may complete now. */
void broker_replicas_advanced(broker_t *broker);

/*
 * The periodic ISR check over every partition this node leads with
 * followers (cluster mode calls it every replica.lag.time.max.ms / 2):
 * shrink proposals go to the hook. Returns how many were made.
 */
int broker_replicas_tick(broker_t *broker);

#endif
