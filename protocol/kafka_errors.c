#include "protocol/kafka_errors.h"

const char *proto_kafka_error_name(int16_t code)
{
    switch (code) {
#define PROTO_KAFKA_ERROR_NAME(name, value) \
    case value: return &(#name)[5]; /* without "KERR_" */
        PROTO_KAFKA_ERRORS(PROTO_KAFKA_ERROR_NAME)
#undef PROTO_KAFKA_ERROR_NAME
    }
    return "UNKNOWN";
}
