/*
 * base/diag: the broker's log lines (diagnostics, not the data log).
 *
 * One line per event on stderr: time, level, subsystem, message. The level is
 * set once at start-up. Always-on assertions live here too: invariants of our
 * own code use DIAG_ASSERT; data read from disk or the network never does.
 */
#ifndef EDDY_BASE_DIAG_H
#define EDDY_BASE_DIAG_H

typedef enum diag_level_e {
    DIAG_ERROR = 0,
    DIAG_WARN = 1,
    DIAG_INFO = 2,
    DIAG_DEBUG = 3,
} diag_level_t;

void diag_set_level(diag_level_t level);
diag_level_t diag_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int diag_parse_level(const char *name);
void diag_log(diag_level_t level, const char *subsys, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
_Noreturn void diag_assert_fail(const char *expr, const char *file, int line);

/*
 * A log line budget: at most `burst` lines per second for one kind of event,
 * so a hostile or broken client cannot flood the log. When lines were held
 * back, the next allowed one is told how many (suppressed).
 */
typedef struct diag_ratelimit_s {
    int      burst;
    int      used;
    long     window; /* the second the budget belongs to */
    unsigned suppressed;
} diag_ratelimit_t;
#define DIAG_RATELIMIT_INIT(burst) {(burst), 0, 0, 0}
/* True when a line may be written now; *suppressed gets the count held back before it. */
int diag_ratelimit_ok(diag_ratelimit_t *rl, unsigned *suppressed);

#define DIAG_ASSERT(e) ((e) ? (void)0 : diag_assert_fail(#e, __FILE__, __LINE__))

#define LOG_ERROR(sub, ...) diag_log(DIAG_ERROR, sub, __VA_ARGS__)
#define LOG_WARN(sub, ...)  diag_log(DIAG_WARN, sub, __VA_ARGS__)
#define LOG_INFO(sub, ...)  diag_log(DIAG_INFO, sub, __VA_ARGS__)
#define LOG_DEBUG(sub, ...) (diag_get_level() >= DIAG_DEBUG ? diag_log(DIAG_DEBUG, sub, __VA_ARGS__) : (void)0)

#endif
