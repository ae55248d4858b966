/*
 * log/compact (internal): compaction's file names and the repair of a swap a
 * crash interrupted. The jobs themselves are declared in log/log.h.
 *
 * This module owns Kafka-style log cleaning for one partition: the key map,
 * the rewriting of batches (records dropped, offsets kept, CRC recomputed,
 * recompressed with the batch's own codec) and the swap of cleaned files into
 * the partition. It does not decide when to run (the broker's cleaner timer
 * calls prepare) or persist the cleaner checkpoint (the broker does, like the
 * recovery point). Transactions (rules in log/log.h): it reads the last
 * stable offset, the aborted-transaction index and the producers' last
 * records from the partition at prepare, never during run, and decides from
 * them which data and markers go; it does not rewrite `.txnindex` files.
 *
 * Files of one cleaned segment `<base>` (20 digits), in the partition dir:
 *   name                       meaning
 *   <base>.log.cleaned         written and fsynced by the run step; never
 *   <base>.index.cleaned       trusted: a restart unlinks them
 *   <base>.timeindex.cleaned
 *   <base>.index.swap          renamed from .cleaned by complete, before the
 *   <base>.timeindex.swap      log; alone (without <base>.log.swap) they are
 *                              uncommitted and a restart unlinks them
 *   <base>.log.swap            the commit point of that segment's swap
 *
 * Swap order in complete, segment by segment, oldest first:
 *   1. <base>.index.cleaned -> .index.swap, .timeindex.cleaned -> .timeindex.swap
 *   2. <base>.log.cleaned -> <base>.log.swap              (committed)
 *   3. .index.swap -> .index, .timeindex.swap -> .timeindex (rename replaces)
 *   4. <base>.log.swap -> <base>.log                      (done)
 * Renames replace the old names atomically; the old inodes stay alive while
 * the old segment object (and any read holding it) keeps them open, and
 * vanish with the last close. Segments left with nothing are renamed to
 * *.deleted like a retention deletion. The directory is fsynced by the next
 * flush job (dir_gen is bumped).
 *
 * Rule at open (log_compact_recover_dir), before segments are listed:
 *   - every `*.cleaned` is unlinked (its job never committed);
 *   - for every `<base>.log.swap`: each `<base>.{index,timeindex}.swap` that
 *     is still there is renamed over its final name (step 3 had not reached
 *     it; an index without a .swap is already the new one, since step 1
 *     precedes the commit), then the .log.swap over `<base>.log`;
 *   - any other `*.swap` is unlinked (uncommitted).
 * Oldest-first matters: a swap interrupted half-way leaves older segments
 * cleaned and newer ones not, so every removed record still has its
 * successor (and a dropped tombstone's older values are already gone).
 * This assumes the file system persists renames in order (ext4, xfs).
 */
#ifndef EDDY_LOG_COMPACT_H
#define EDDY_LOG_COMPACT_H

#define LOG_COMPACT_CLEANED_SUFFIX ".cleaned"
#define LOG_COMPACT_SWAP_SUFFIX    ".swap"

/*
 * Finishes or rolls back compaction swaps a crash interrupted in dir (rule
 * above) and fsyncs the directory if it changed anything. 0 or an I/O error.
 */
int log_compact_recover_dir(const char *dir);

#endif
