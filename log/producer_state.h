/*
 * log/producer_state (internal): what a partition knows about its idempotent
 * and transactional producers, prefix log_pstate_.
 *
 * For each producer id that wrote to the partition: its epoch, the metadata
 * of its last LOG_PSTATE_BATCHES batches (sequence range, offset range, max
 * timestamp), the coordinator epoch of its last transaction marker, when it
 * was last active, and the first offset of its ongoing transaction if one is
 * open. From this the partition decides whether an incoming batch is new, an
 * exact duplicate of a retained batch (acknowledged with the original
 * offset), out of sequence, or from a fenced (older) epoch, with Kafka's
 * ProducerStateEntry rules (PROTOCOL.md §2.4), and computes its first
 * unstable offset (the smallest first offset of an ongoing transaction; the
 * LSO). It also owns the snapshot file format, `<20-digit offset>.snapshot`
 * in the partition directory: the whole state as of that offset.
 *
 * It does not read the log, decide when to snapshot, or keep the aborted
 * transaction index: log/partition does (log/txn_index.h holds the index).
 * Snapshot files are untrusted on load: a bad one is an error, never a crash.
 * Single-threaded, like the rest of the partition.
 *
 * Snapshot file (big-endian), version 1:
 *   off  field              type    note
 *   0    magic              4 bytes "EPS1" (eddy producer state)
 *   4    version            int16   1
 *   6    crc                uint32  CRC-32C of bytes [10, end)
 *   10   offset             int64   state as of this offset; = the file name
 *   18   producer_count     int32   >= 0
 *   22   producers...
 * Each producer:
 *   0    producer_id        int64   >= 0
 *   8    producer_epoch     int16   -1 (unknown) .. 32767
 *   10   coordinator_epoch  int32   -1 when no marker seen
 *   14   last_timestamp     int64   activity time used for expiry
 *   22   txn_first_offset   int64   -1: no ongoing transaction
 *   30   batch_count        int8    0 .. 5, oldest first
 *   31   batches...         32 bytes each:
 *          first_seq int32, last_seq int32, first_offset int64,
 *          last_offset int64, max_timestamp int64
 * Nothing may follow the last producer. Producer ids must be unique.
 */
#ifndef EDDY_LOG_PRODUCER_STATE_H
#define EDDY_LOG_PRODUCER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/map.h"
#include "log/log.h"
#include "protocol/record_batch.h"

/* Kafka's NUM_BATCHES_TO_RETAIN: matches max.in.flight.requests <= 5. */
#define LOG_PSTATE_BATCHES 5

#define LOG_PSTATE_SNAPSHOT_SUFFIX  ".snapshot"
#define LOG_PSTATE_SNAPSHOT_VERSION 1
#define LOG_PSTATE_SNAPSHOT_HEADER  22
#define LOG_PSTATE_SNAPSHOT_ENTRY   31
#define LOG_PSTATE_SNAPSHOT_BATCH   32

typedef struct log_pstate_batch_s {
    int32_t first_seq;
    int32_t last_seq;
    int64_t first_offset;
    int64_t last_offset;
    int64_t max_timestamp;
} log_pstate_batch_t;

typedef struct log_producer_s {
    int64_t producer_id; /* also the map key's bytes (borrowed by the map) */
    int16_t epoch;       /* -1: unknown (a new entry) */
    int32_t coordinator_epoch;
    int64_t last_timestamp;
    int64_t txn_first_offset; /* -1: no ongoing transaction */
    uint8_t nbatches;         /* retained batches, batches[0] the oldest */
    log_pstate_batch_t batches[LOG_PSTATE_BATCHES];
} log_producer_t;

typedef struct log_pstate_s {
    map_t producers;        /* the 8 bytes of producer_id (in the entry) -> log_producer_t*, owned */
    size_t ongoing;         /* producers with txn_first_offset >= 0 */
    int64_t first_unstable; /* min txn_first_offset over them, -1 when none; kept exact */
} log_pstate_t;

/* A parsed transaction marker (control record key and value, PROTOCOL.md §2.5). */
#define LOG_MARKER_ABORT  0
#define LOG_MARKER_COMMIT 1

typedef struct log_marker_s {
    int16_t type;              /* 0 ABORT, 1 COMMIT, others: not a transaction marker */
    int32_t coordinator_epoch; /* -1 when the value is absent or short */
} log_marker_t;

/* A transaction that a marker just ended (only non-empty ones are reported). */
typedef struct log_completed_txn_s {
    int64_t producer_id;
    int64_t first_offset;
    int64_t last_offset; /* the marker's offset */
    int aborted;
} log_completed_txn_t;

void log_pstate_init(log_pstate_t *ps);
void log_pstate_fini(log_pstate_t *ps);
/* Drops every producer. */
void log_pstate_clear(log_pstate_t *ps);
log_producer_t *log_pstate_get(const log_pstate_t *ps, int64_t producer_id);
size_t log_pstate_count(const log_pstate_t *ps);

/*
 * Decides about a batch about to be appended (hdr as sent; producer_id >= 0,
 * not a control batch). Returns 0 to append, 1 for an exact duplicate of a
 * retained batch (*dup, may be NULL, gets it), LOG_EOUT_OF_ORDER_SEQUENCE,
 * LOG_EINVALID_PRODUCER_EPOCH, or LOG_EINVALID_TXN_STATE (a
 * non-transactional batch while the producer's transaction is open).
 */
int log_pstate_check_data(const log_pstate_t *ps, const proto_batch_header_t *hdr, log_pstate_batch_t *dup);
/* For a marker: 0, LOG_EINVALID_PRODUCER_EPOCH or LOG_ECOORDINATOR_FENCED. */
int log_pstate_check_marker(const log_pstate_t *ps, const proto_batch_header_t *hdr, const log_marker_t *m);

/*
 * Makes sure the producer has an entry (a new one is epoch -1, no batches,
 * which behaves exactly like an unknown producer), so that updating after a
 * write cannot fail. *created says whether it was added. 0 or -ENOMEM.
 */
int log_pstate_reserve(log_pstate_t *ps, int64_t producer_id, int *created);
/* Removes a producer (an entry reserved for an append that failed). */
void log_pstate_remove(log_pstate_t *ps, int64_t producer_id);

/*
 * Records a batch written at its final offsets (hdr->base_offset set). The
 * producer's entry must exist (log_pstate_reserve). m is the parsed marker
 * for a control batch (NULL for data, or for a control batch without one).
 * active_ms is the activity time stored for expiry. Returns 1 with *done
 * when a marker ended a non-empty transaction, else 0.
 */
int log_pstate_update(log_pstate_t *ps, const proto_batch_header_t *hdr, const log_marker_t *m, int64_t active_ms,
                      log_completed_txn_t *done);

/*
 * Expiry (producer.id.expiration.ms): removes producers without an ongoing
 * transaction whose last activity is expiration_ms or more before now.
 * Returns how many went.
 */
size_t log_pstate_expire(log_pstate_t *ps, int64_t now_ms, int64_t expiration_ms);

/* Smallest first offset of an ongoing transaction, or -1 when none is open. */
int64_t log_pstate_first_unstable(const log_pstate_t *ps);
/* The same over producers other than producer_id (the LSO stored with an aborted txn). */
int64_t log_pstate_first_unstable_except(const log_pstate_t *ps, int64_t producer_id);

/*
 * Parses the marker of a control batch (whole batch of total bytes, header
 * parsed): its first record's key (version int16, type int16) and value
 * (version int16, coordinator_epoch int32). scratch is used when the batch is
 * compressed. Returns 1 with *m, 0 when the batch holds no record, or
 * LOG_ECORRUPT when the record or key does not parse.
 */
int log_marker_parse(const uint8_t *batch, size_t total, const proto_batch_header_t *hdr, buf_t *scratch,
                     log_marker_t *m);

/* The snapshot image of the whole state as of offset, into out (appended). */
int log_pstate_encode(const log_pstate_t *ps, int64_t offset, buf_t *out);
/*
 * Replaces ps's content with the image in data (len bytes), checking every
 * field; expect_offset >= 0 must match the stored offset. 0, or LOG_ECORRUPT
 * (ps is then empty) or -ENOMEM.
 */
int log_pstate_decode(log_pstate_t *ps, const uint8_t *data, size_t len, int64_t expect_offset);

/*
 * Snapshot files in dir. write: to `<offset>.snapshot.tmp`, then renamed
 * over `<offset>.snapshot`; fsynced first when sync is set. load: reads and
 * decodes one. list: every `<20 digits>.snapshot` offset, ascending,
 * malloc'd into *offsets (free it; NULL when none). remove: unlinks one.
 */
int log_pstate_write_snapshot(const char *dir, int64_t offset, const log_pstate_t *ps, int sync);
int log_pstate_load_snapshot(const char *dir, int64_t offset, log_pstate_t *ps);
int log_pstate_list_snapshots(const char *dir, int64_t **offsets, size_t *count);
int log_pstate_remove_snapshot(const char *dir, int64_t offset);

#endif
