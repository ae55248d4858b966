/*
 * protocol/kafka_errors: the Kafka error codes eddy sends, by name.
 *
 * These are int16 values written into responses (Kafka's Errors.java
 * numbering), a different thing from the negative PROTO_E* and errno codes
 * eddy's own functions return. One table generates the enum and the names
 * used in log lines.
 */
#ifndef EDDY_PROTOCOL_KAFKA_ERRORS_H
#define EDDY_PROTOCOL_KAFKA_ERRORS_H

#include <stdint.h>

#define PROTO_KAFKA_ERRORS(X)                          \
    X(KERR_UNKNOWN_SERVER_ERROR, -1)                   \
    X(KERR_NONE, 0)                                    \
    X(KERR_OFFSET_OUT_OF_RANGE, 1)                     \
    X(KERR_CORRUPT_MESSAGE, 2)                         \
    X(KERR_UNKNOWN_TOPIC_OR_PARTITION, 3)              \
    X(KERR_LEADER_NOT_AVAILABLE, 5)                    \
    X(KERR_NOT_LEADER_OR_FOLLOWER, 6)                  \
    X(KERR_REQUEST_TIMED_OUT, 7)                       \
    X(KERR_MESSAGE_TOO_LARGE, 10)                      \
    X(KERR_INVALID_TOPIC_EXCEPTION, 17)                \
    X(KERR_OFFSET_METADATA_TOO_LARGE, 12)              \
    X(KERR_COORDINATOR_LOAD_IN_PROGRESS, 14)           \
    X(KERR_COORDINATOR_NOT_AVAILABLE, 15)              \
    X(KERR_NOT_COORDINATOR, 16)                        \
    X(KERR_RECORD_LIST_TOO_LARGE, 18)                  \
    X(KERR_NOT_ENOUGH_REPLICAS, 19)                    \
    X(KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20)       \
    X(KERR_INVALID_REQUIRED_ACKS, 21)                  \
    X(KERR_ILLEGAL_GENERATION, 22)                     \
    X(KERR_INCONSISTENT_GROUP_PROTOCOL, 23)            \
    X(KERR_INVALID_GROUP_ID, 24)                       \
    X(KERR_UNKNOWN_MEMBER_ID, 25)                      \
    X(KERR_INVALID_SESSION_TIMEOUT, 26)                \
    X(KERR_REBALANCE_IN_PROGRESS, 27)                  \
    X(KERR_INVALID_COMMIT_OFFSET_SIZE, 28)             \
    X(KERR_INVALID_TIMESTAMP, 32)                      \
    X(KERR_TOPIC_AUTHORIZATION_FAILED, 29)             \
    X(KERR_UNSUPPORTED_VERSION, 35)                    \
    X(KERR_TOPIC_ALREADY_EXISTS, 36)                   \
    X(KERR_INVALID_PARTITIONS, 37)                     \
    X(KERR_INVALID_REPLICATION_FACTOR, 38)             \
    X(KERR_INVALID_REPLICA_ASSIGNMENT, 39)             \
    X(KERR_INVALID_CONFIG, 40)                         \
    X(KERR_INVALID_REQUEST, 42)                        \
    X(KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT, 43)         \
    X(KERR_POLICY_VIOLATION, 44)                       \
    X(KERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 45)           \
    X(KERR_INVALID_PRODUCER_EPOCH, 47)                 \
    X(KERR_INVALID_TXN_STATE, 48)                      \
    X(KERR_INVALID_PRODUCER_ID_MAPPING, 49)            \
    X(KERR_INVALID_TRANSACTION_TIMEOUT, 50)            \
    X(KERR_CONCURRENT_TRANSACTIONS, 51)                \
    X(KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53)  \
    X(KERR_KAFKA_STORAGE_ERROR, 56)                    \
    X(KERR_NON_EMPTY_GROUP, 68)                        \
    X(KERR_GROUP_ID_NOT_FOUND, 69)                     \
    X(KERR_FETCH_SESSION_ID_NOT_FOUND, 70)             \
    X(KERR_TOPIC_DELETION_DISABLED, 73)                \
    X(KERR_FENCED_LEADER_EPOCH, 74)                    \
    X(KERR_UNKNOWN_LEADER_EPOCH, 75)                   \
    X(KERR_OPERATION_NOT_ATTEMPTED, 55)                \
    X(KERR_UNSUPPORTED_COMPRESSION_TYPE, 76)           \
    X(KERR_OFFSET_NOT_AVAILABLE, 78)                   \
    X(KERR_MEMBER_ID_REQUIRED, 79)                     \
    X(KERR_GROUP_MAX_SIZE_REACHED, 81)                 \
    X(KERR_FENCED_INSTANCE_ID, 82)                     \
    X(KERR_GROUP_SUBSCRIBED_TO_TOPIC, 86)              \
    X(KERR_UNSTABLE_OFFSET_COMMIT, 88)                 \
    X(KERR_PRODUCER_FENCED, 90)                        \
    X(KERR_INVALID_RECORD, 87)                         \
    X(KERR_UNKNOWN_TOPIC_ID, 100)                      \
    X(KERR_TRANSACTIONAL_ID_NOT_FOUND, 105)            \
    X(KERR_UNSUPPORTED_ENDPOINT_TYPE, 119)

enum proto_kafka_error_e {
#define PROTO_KAFKA_ERROR_ENUM(name, code) name = code,
    PROTO_KAFKA_ERRORS(PROTO_KAFKA_ERROR_ENUM)
#undef PROTO_KAFKA_ERROR_ENUM
};

/* "CORRUPT_MESSAGE" for 2; "UNKNOWN" for codes not in the table. */
const char *proto_kafka_error_name(int16_t code);

#endif
