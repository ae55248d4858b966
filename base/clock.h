/*
 * base/clock: the two clocks the broker reads.
 *
 * Wall time (ms since the epoch) stamps records and drives retention;
 * monotonic time drives timeouts. Both are plain functions so tests of the
 * log and coordinator can pass their own times instead of calling these.
 */
#ifndef EDDY_BASE_CLOCK_H
#define EDDY_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
