/*
 * fuzz/fuzz_replica_append: libFuzzer entry for a follower's append of a
 * fetched record set (log_partition_append_replica), then a truncation.
 *
 * Input layout:
 *   0    cut      uint8   the truncation target after the append is
 *                         cut % (end offset + 2)
 *   1..  records  the fetched record set, appended to an empty partition
 *
 * Checked, else a trap: a failed append leaves the log empty; a successful
 * one stores exactly the first res.bytes of the input, byte for byte, and
 * ends at res.end_offset; truncation never leaves the end above the target
 * (and leaves it unchanged past the end); a reopen after a clean close
 * finds the same log end (or the data end, at most the target, after a cut
 * inside a batch). The corpus lives in fuzz/corpus/replica_append and is
 * replayed by ctest fuzz_corpus_replica_append.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/diag.h"
#include "log/log.h"
#include "protocol/record_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base_dir[64];
static char part_dir[96];
static buf_t rd_buf;

static void remove_base(void)
{
    if (base_dir[0])
        (void)rmdir(base_dir);
}

static int setup_once(void)
{
    if (base_dir[0])
        return 0;
    diag_set_level(DIAG_ERROR);
    struct stat st;
    const char *root = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(base_dir, sizeof base_dir, "%s/eddy-fuzz-repl-XXXXXX", root);
    if (!mkdtemp(base_dir)) {
        base_dir[0] = '\0';
        return -1;
    }
    snprintf(part_dir, sizeof part_dir, "%s/t-0", base_dir);
    atexit(remove_base);
    return 0;
}

static void wipe_part_dir(void)
{
    DIR *d = opendir(part_dir);
    if (!d)
        return;
    struct dirent *de;
    char path[512];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", part_dir, de->d_name);
        (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(part_dir);
}

/* Every stored byte from offset 0 on, into rd_buf. */
static void read_all(log_partition_t *p)
{
    int64_t next = 0, end = log_partition_end_offset(p);
    rd_buf.len = 0;
    while (next < end) {
        log_read_t rd;
        if (log_partition_read(p, next, 1 << 20, 1, &rd) != 0)
            __builtin_trap();
        if (rd.len == 0) {
            log_read_release(&rd);
            return;
        }
        size_t before = rd_buf.len;
        if (log_read_copy(&rd, &rd_buf) != 0)
            __builtin_trap();
        log_read_release(&rd);
        /* The next offset after the last batch read. */
        size_t pos = before;
        while (pos < rd_buf.len) {
            proto_batch_header_t hdr;
            if (proto_batch_header_parse(rd_buf.data + pos, rd_buf.len - pos, &hdr) != 0)
                __builtin_trap();
            next = hdr.base_offset + hdr.last_offset_delta + 1;
            pos += proto_batch_total_size(&hdr);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || setup_once() < 0)
        return 0;
    log_config_t cfg;
    log_config_defaults(&cfg);
    cfg.segment_bytes = 512; /* rolls inside one input */
    cfg.index_interval_bytes = 64;
    cfg.index_max_bytes = 4096;
    wipe_part_dir();
    log_partition_t *p;
    if (log_partition_open(part_dir, &cfg, &p) != 0)
        __builtin_trap();
    log_replica_append_result_t res;
    int rc = log_partition_append_replica(p, data + 1, size - 1, &res);
    if (rc < 0) {
        if (log_partition_end_offset(p) != 0)
            __builtin_trap();
    } else {
        if (res.end_offset != log_partition_end_offset(p) || res.bytes > size - 1)
            __builtin_trap();
        read_all(p);
        if (rd_buf.len != res.bytes || (res.bytes > 0 && memcmp(rd_buf.data, data + 1, res.bytes) != 0))
            __builtin_trap();
    }
    int64_t end = log_partition_end_offset(p);
    int64_t target = (int64_t)(data[0] % (uint64_t)(end + 2));
    rc = log_partition_truncate_to(p, target);
    if (rc < 0)
        __builtin_trap();
    int64_t after = log_partition_end_offset(p);
    if (target >= end ? after != end : after != target)
        __builtin_trap();
    log_partition_close(p);
    if (log_partition_open(part_dir, &cfg, &p) != 0)
        __builtin_trap();
    if (log_partition_end_offset(p) > after)
        __builtin_trap();
    log_partition_close(p);
    wipe_part_dir();
    return 0;
}
