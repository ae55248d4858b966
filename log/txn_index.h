/*
 * log/txn_index (internal): a segment's aborted-transaction index, Kafka's
 * `<base>.txnindex`, prefix log_txn_index_.
 *
 * Every transaction aborted by a marker stored in the segment has one entry,
 * in marker order: the producer, the transaction's first offset (possibly in
 * an earlier segment), its last offset (the ABORT marker's offset) and the
 * partition's last stable offset right after the abort. read_committed
 * fetches use it to tell clients which producers' data to drop (Kafka's
 * collectAbortedTxns). The entries are kept in memory too (aborts are rare;
 * 40 bytes each), and the file is append-only except when a recovery
 * rewrites it.
 *
 * It does not decide what was aborted (log/producer_state and log/partition
 * do) or when a rebuild is needed beyond noticing that the file is missing or
 * fails its checks. The file is untrusted: a bad one is reported, never
 * asserted on.
 *
 * File layout: back-to-back 34-byte entries (big-endian), Kafka's:
 *   off  field               type
 *   0    version             int16  0
 *   2    producer_id         int64
 *   10   first_offset        int64
 *   18   last_offset         int64  strictly increasing along the file
 *   26   last_stable_offset  int64
 */
#ifndef EDDY_LOG_TXN_INDEX_H
#define EDDY_LOG_TXN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "log/log.h"

#define LOG_TXN_INDEX_ENTRY_SIZE 34
#define LOG_TXN_INDEX_VERSION    0

typedef struct log_txn_index_s {
    int fd;
    int64_t base_offset;
    log_aborted_txn_t *entries;
    size_t count;
    size_t cap;
    unsigned stale : 1; /* missing or failed its checks: the partition must rebuild it */
} log_txn_index_t;

void log_txn_index_init(log_txn_index_t *idx, int fd, int64_t base_offset);
/* Closes the file and frees the entries. */
void log_txn_index_fini(log_txn_index_t *idx);
/*
 * Reads and checks the file: size a multiple of the entry size, version 0,
 * producer id >= 0, first_offset <= last_offset, last offsets strictly
 * increasing, at or above the base and below next_offset when that is >= 0.
 * LOG_ECORRUPT leaves the index empty and stale.
 */
int log_txn_index_load(log_txn_index_t *idx, int64_t next_offset);
/* Adds an entry at the end (file and memory); on failure neither changes. */
int log_txn_index_append(log_txn_index_t *idx, const log_aborted_txn_t *txn);
/* Drops the entries whose last offset is >= offset, from memory and file. */
int log_txn_index_truncate(log_txn_index_t *idx, int64_t offset);
/* Rewrites the whole file from memory and clears stale. */
int log_txn_index_store(log_txn_index_t *idx);
/* Adds an entry in memory only (a rebuild, stored afterwards). */
int log_txn_index_push(log_txn_index_t *idx, const log_aborted_txn_t *txn);
/*
 * Appends to *out (growing it, *cap its capacity) the entries with
 * last_offset >= fetch_offset and first_offset < upper_bound. Returns 1 when
 * an entry's last stable offset reached upper_bound (no later entry can
 * qualify: the search is complete), 0 otherwise, or -ENOMEM.
 */
int log_txn_index_collect(const log_txn_index_t *idx, int64_t fetch_offset, int64_t upper_bound,
                          log_aborted_txn_t **out, size_t *count, size_t *cap);

#endif
