/*
 * broker/dispatch: which APIs this broker answers, and with what.
 *
 * The table pairs an API key with its handler; versions come from the
 * API's schema (protocol/gen), so what ApiVersions advertises is exactly
 * what the codec and the handler implement.
 */
#include "broker/broker.h"

const broker_api_t broker_apis[] = {
    {PROTO_API_PRODUCE, broker_handle_produce},
    {PROTO_API_FETCH, broker_handle_fetch},
    {PROTO_API_LIST_OFFSETS, broker_handle_list_offsets},
    {PROTO_API_METADATA, broker_handle_metadata},
    {PROTO_API_OFFSET_COMMIT, broker_handle_offset_commit},
    {PROTO_API_OFFSET_FETCH, broker_handle_offset_fetch},
    {PROTO_API_FIND_COORDINATOR, broker_handle_find_coordinator},
    {PROTO_API_JOIN_GROUP, broker_handle_join_group},
    {PROTO_API_HEARTBEAT, broker_handle_heartbeat},
    {PROTO_API_LEAVE_GROUP, broker_handle_leave_group},
    {PROTO_API_SYNC_GROUP, broker_handle_sync_group},
    {PROTO_API_DESCRIBE_GROUPS, broker_handle_describe_groups},
    {PROTO_API_LIST_GROUPS, broker_handle_list_groups},
    {PROTO_API_API_VERSIONS, broker_handle_api_versions},
    {PROTO_API_CREATE_TOPICS, broker_handle_create_topics},
    {PROTO_API_DELETE_TOPICS, broker_handle_delete_topics},
    {PROTO_API_DELETE_RECORDS, broker_handle_delete_records},
    {PROTO_API_INIT_PRODUCER_ID, broker_handle_init_producer_id},
    {PROTO_API_OFFSET_FOR_LEADER_EPOCH, broker_handle_offset_for_leader_epoch},
    {PROTO_API_ADD_PARTITIONS_TO_TXN, broker_handle_add_partitions_to_txn},
    {PROTO_API_ADD_OFFSETS_TO_TXN, broker_handle_add_offsets_to_txn},
    {PROTO_API_END_TXN, broker_handle_end_txn},
    {PROTO_API_TXN_OFFSET_COMMIT, broker_handle_txn_offset_commit},
    {PROTO_API_DELETE_GROUPS, broker_handle_delete_groups},
    {PROTO_API_OFFSET_DELETE, broker_handle_offset_delete},
    {PROTO_API_DESCRIBE_CONFIGS, broker_handle_describe_configs},
    {PROTO_API_ALTER_CONFIGS, broker_handle_alter_configs},
    {PROTO_API_CREATE_PARTITIONS, broker_handle_create_partitions},
    {PROTO_API_INCREMENTAL_ALTER_CONFIGS, broker_handle_incremental_alter_configs},
    {PROTO_API_DESCRIBE_LOG_DIRS, broker_handle_describe_log_dirs},
    {PROTO_API_DESCRIBE_CLUSTER, broker_handle_describe_cluster},
    {PROTO_API_DESCRIBE_PRODUCERS, broker_handle_describe_producers},
    {PROTO_API_DESCRIBE_TRANSACTIONS, broker_handle_describe_transactions},
    {PROTO_API_LIST_TRANSACTIONS, broker_handle_list_transactions},
};
const size_t broker_apis_len = sizeof(broker_apis) / sizeof(broker_apis[0]);

const broker_api_t *broker_api_lookup(int16_t key)
{
    for (size_t i = 0; i < broker_apis_len; i++)
        if (broker_apis[i].key == key)
            return &broker_apis[i];
    return NULL;
}
