/*
 * fuzz/fuzz_log_recovery: libFuzzer entry for opening a partition directory
 * whose files hold arbitrary bytes (a crash mid-write, a bad disk, a hand
 * edit).
 *
 * Input layout:
 *   0    flags        uint8   bits 0-2 % 6 pick the files written (below);
 *                             bit 3: open once with clean_shutdown 1 first,
 *                             trusting the raw files (only "no crash" there)
 *   1    split        uint16  little-endian, % (payload length + 1): where
 *                             the payload is cut in two for layouts 1-5
 *   3    offset       uint8   base offset of the second segment (layout 3)
 *                             or offset of the snapshot file (layout 5)
 *   4..  payload
 *
 *   layout  files (base offset 0 unless said)
 *   0       .log = payload
 *   1       .log = first part, .index = second part
 *   2       .log = first part, .timeindex = second part
 *   3       .log = first part, <offset>.log = second part
 *   4       .log = first part, .txnindex = second part
 *   5       .log = first part, <offset>.snapshot = second part
 *
 * The files go into a fresh directory under /dev/shm (or /tmp), one per
 * process. The partition is opened as after a crash (recovery point -1,
 * clean_shutdown 0), which must cut everything invalid: every batch read
 * back then has a good CRC, offsets only grow, and the last batch ends at the
 * log end offset. One valid batch is appended and must read back at the old
 * end offset. The directory is then reopened as after a clean shutdown and
 * must hold the same log. A violation traps. The corpus lives in
 * fuzz/corpus/log_recovery and is replayed by ctest fuzz_corpus_log_recovery.
 */
#include <dirent.h>
#include <fcntl.h>
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
static buf_t rd_buf, batch_buf;

static int64_t fixed_clock(void *arg)
{
    (void)arg;
    return 1700000000000LL;
}

static void remove_base(void)
{
    if (base_dir[0])
        (void)rmdir(base_dir);
}

static int setup_once(void)
{
    if (base_dir[0])
        return 0;
    diag_set_level(DIAG_ERROR); /* every cut tail logs a warning */
    struct stat st;
    const char *root = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(base_dir, sizeof base_dir, "%s/eddy-fuzz-log-XXXXXX", root);
    if (!mkdtemp(base_dir)) {
        base_dir[0] = '\0';
        return -1;
    }
    snprintf(part_dir, sizeof part_dir, "%s/t-0", base_dir);
    atexit(remove_base);
    return 0;
}

/* Removes the partition directory whatever the partition left in it (flat: no subdirectories). */
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

static void write_file(int64_t offset, const char *suffix, const uint8_t *p, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%020" PRId64 "%s", part_dir, offset, suffix);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        __builtin_trap(); /* the harness itself failed, not the code under test */
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            __builtin_trap();
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

static void config(log_config_t *cfg, int clean, int64_t recovery_point)
{
    log_config_defaults(cfg);
    cfg->segment_bytes = 1 << 20;
    cfg->index_interval_bytes = 64; /* index entries even in small inputs */
    cfg->index_max_bytes = 4096;
    cfg->now_ms = fixed_clock;
    cfg->recovery_point = recovery_point;
    cfg->clean_shutdown = clean;
}

/*
 * Reads the whole log batch by batch. With strict set (after a recovery
 * scan) every batch must be well-formed with a good CRC, offsets must grow
 * and the last batch must end at the log end offset. Returns that end.
 */
static int64_t read_all(log_partition_t *p, int strict)
{
    int64_t start = log_partition_start_offset(p);
    int64_t end = log_partition_end_offset(p);
    if (start < 0 || start > end)
        __builtin_trap();
    int64_t next = start;
    int rounds = 0;
    while (next < end) {
        log_read_t rd;
        int rc = log_partition_read(p, next, 64 << 10, 1, &rd);
        if (rc != 0) {
            if (strict)
                __builtin_trap();
            return end;
        }
        if (rd.len == 0) {
            /*
             * Offsets with no batch at or after them: segments left empty
             * (a torn tail cut to nothing) still move the end offset to the
             * last segment's base. A gap followed by data reads that data.
             */
            log_read_release(&rd);
            return end;
        }
        rd_buf.len = 0;
        rc = log_read_copy(&rd, &rd_buf);
        log_read_release(&rd);
        if (rc != 0) {
            if (strict)
                __builtin_trap();
            return end;
        }
        size_t pos = 0;
        int first = 1;
        while (pos < rd_buf.len) {
            proto_batch_header_t hdr;
            if (proto_batch_header_parse(rd_buf.data + pos, rd_buf.len - pos, &hdr) != 0) {
                if (strict)
                    __builtin_trap();
                return end;
            }
            size_t total = proto_batch_total_size(&hdr);
            if (total > rd_buf.len - pos || hdr.last_offset_delta < 0) {
                if (strict)
                    __builtin_trap();
                return end;
            }
            int64_t last = hdr.base_offset + hdr.last_offset_delta;
            if (strict) {
                if (!proto_batch_crc_ok(rd_buf.data + pos, total))
                    __builtin_trap();
                /* The first batch holds `next` or starts after it; later ones follow on. */
                if (first ? last < next : hdr.base_offset < next)
                    __builtin_trap();
                if (last >= end)
                    __builtin_trap();
            } else if (last < next || last >= end) {
                return end;
            }
            next = last + 1;
            first = 0;
            pos += total;
        }
        if (++rounds > 100000)
            __builtin_trap(); /* no progress */
    }
    if (strict && next != end)
        __builtin_trap();
    return end;
}

/* Appends a fresh two-record batch and checks it reads back at the old end offset. */
static void append_and_check(log_partition_t *p)
{
    int64_t end = log_partition_end_offset(p);
    proto_batch_build_t spec;
    proto_batch_build_init(&spec);
    spec.base_timestamp = 1700000000000LL;
    proto_record_spec_t recs[2] = {
        {.key = {(const uint8_t *)"k", 1}, .value = {(const uint8_t *)"v1", 2}},
        {.key = {NULL, -1}, .value = {(const uint8_t *)"v2", 2}, .timestamp_delta = 1},
    };
    batch_buf.len = 0;
    if (proto_batch_build(&batch_buf, &spec, recs, 2) != 0)
        return;
    int64_t base = -1;
    int rc = log_partition_append(p, batch_buf.data, batch_buf.len, 7, &base);
    if (rc != 0) {
        /* Only a log too close to the int64 offset limit may refuse it, and then nothing changed. */
        if (log_partition_end_offset(p) != end)
            __builtin_trap();
        return;
    }
    if (base != end || log_partition_end_offset(p) != end + 2)
        __builtin_trap();
    log_read_t rd;
    if (log_partition_read(p, end, 1 << 20, 1, &rd) != 0)
        __builtin_trap();
    rd_buf.len = 0;
    rc = log_read_copy(&rd, &rd_buf);
    log_read_release(&rd);
    if (rc != 0 || rd_buf.len != batch_buf.len || memcmp(rd_buf.data, batch_buf.data, batch_buf.len) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || setup_once() != 0)
        return 0;
    int layout = (data[0] & 7) % 6;
    int clean_first = (data[0] >> 3) & 1;
    const uint8_t *payload = data + 4;
    size_t len = size - 4;
    size_t split = layout == 0 ? len : ((size_t)data[1] | (size_t)data[2] << 8) % (len + 1);
    int64_t offset = data[3];

    wipe_part_dir();
    if (mkdir(part_dir, 0755) != 0)
        __builtin_trap();
    static const char *const second_suffix[6] = {NULL, ".index", ".timeindex", ".log", ".txnindex", ".snapshot"};
    write_file(0, ".log", payload, split);
    if (layout != 0) {
        int64_t second_base = layout == 3 || layout == 5 ? offset : 0;
        if (!(layout == 3 && second_base == 0))
            write_file(second_base, second_suffix[layout], payload + split, len - split);
    }

    log_config_t cfg;
    log_partition_t *p = NULL;
    if (clean_first) {
        config(&cfg, 1, -1);
        if (log_partition_open(part_dir, &cfg, &p) == 0) {
            (void)read_all(p, 0);
            log_partition_close(p);
            p = NULL;
        }
    }

    config(&cfg, 0, -1);
    if (log_partition_open(part_dir, &cfg, &p) != 0) {
        wipe_part_dir();
        return 0;
    }
    (void)read_all(p, 1);
    append_and_check(p);
    int64_t end = read_all(p, 1);
    int64_t start = log_partition_start_offset(p);
    log_partition_close(p);
    p = NULL;

    config(&cfg, 1, end);
    if (log_partition_open(part_dir, &cfg, &p) != 0)
        __builtin_trap(); /* it opened a moment ago and was closed cleanly */
    if (log_partition_end_offset(p) != end || log_partition_start_offset(p) != start)
        __builtin_trap();
    (void)read_all(p, 1);
    if (log_partition_remove(p) != 0)
        wipe_part_dir();
    wipe_part_dir();
    return 0;
}
