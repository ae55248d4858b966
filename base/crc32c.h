/*
 * base/crc32c: CRC-32C (Castagnoli), the checksum of Kafka record batches.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it and a slicing-by-8
 * table otherwise; both give the same result. Pure function, no state beyond
 * tables built once on first use.
 */
#ifndef EDDY_BASE_CRC32C_H
#define EDDY_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over data; start with crc = 0. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);
static inline uint32_t crc32c(const void *data, size_t len)
{
    return crc32c_update(0, data, len);
}
/* The portable path, exposed so tests can compare it with the hardware one. */
uint32_t crc32c_update_sw(uint32_t crc, const void *data, size_t len);

#endif
