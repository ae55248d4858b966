/*
 * fuzz/replay_main: runs a libFuzzer entry point over saved inputs, without
 * libFuzzer.
 *
 * Linked with one fuzz target, it becomes fuzz_replay_<name>, which ctest runs
 * over fuzz/corpus/<name>/ in every build (gcc included, and the sanitizer
 * build), so every committed seed and every past crash is re-checked on each
 * change. Arguments are directories (every regular file in them, in name
 * order, dot files skipped) or single files, which is how one crash is
 * reproduced under a debugger. Each input is copied into a buffer of exactly
 * its size so that ASan catches a read one byte past the end.
 *
 * Exit status: 0 when at least one input ran (a target reports a failure by
 * crashing or aborting), 1 when nothing ran or an input could not be read, so
 * a mistyped or emptied corpus path fails the test instead of passing it.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, size_t *ran)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    while (data) {
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        cap *= 2;
        uint8_t *grown = realloc(data, cap);
        if (!grown) {
            free(data);
            data = NULL;
        } else {
            data = grown;
        }
    }
    int failed = !data || ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
        return -1;
    }
    /* Exact-size copy: no slack after the last byte for an over-read to hide in. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*ran)++;
    return 0;
}

static int run_dir(const char *dir, size_t *ran)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "fuzz_replay: cannot list %s\n", dir);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] != '.' && rc == 0) {
            size_t plen = strlen(dir) + strlen(name) + 2;
            char *path = malloc(plen);
            if (!path) {
                rc = -1;
            } else {
                snprintf(path, plen, "%s/%s", dir, name);
                struct stat st;
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                    rc = run_file(path, ran);
                free(path);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 1;
    }
    size_t ran = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_replay: %s does not exist\n", argv[i]);
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &ran) : run_file(argv[i], &ran);
        if (rc != 0)
            return 1;
    }
    printf("fuzz_replay: ran %zu inputs\n", ran);
    if (ran == 0) {
        fprintf(stderr, "fuzz_replay: no inputs found\n");
        return 1;
    }
    return 0;
}
