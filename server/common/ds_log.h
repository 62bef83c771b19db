/* ds_log.h - readable, line-oriented logging to stderr.
 *
 * Format: "2026-11-22T07:40:01.123Z INFO  rpc: listening on 127.0.0.1:50051".
 * One write(2) per line, so lines from several threads never interleave.
 * Threads: every function may be called from any thread.
 */
#ifndef DS_LOG_H
#define DS_LOG_H

typedef enum ds_log_level {
    DS_LOG_DEBUG = 0, /* chatty detail, off by default */
    DS_LOG_INFO,      /* normal life events: start, stop, migrations */
    DS_LOG_WARN,      /* something recovered by itself: reconnects, retries */
    DS_LOG_ERROR      /* something failed and a person may need to look */
} ds_log_level;

/* Messages below `min` are dropped. Default DS_LOG_INFO. */
void ds_log_set_level(ds_log_level min);

/* Parse "debug"/"info"/"warn"/"error"; returns -1 if unknown. */
int ds_log_level_parse(const char *s);

/* Log one line; `module` is a short tag ("rpc", "store"). */
void ds_log(ds_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define DS_DEBUG(mod, ...) ds_log(DS_LOG_DEBUG, mod, __VA_ARGS__)
#define DS_INFO(mod, ...) ds_log(DS_LOG_INFO, mod, __VA_ARGS__)
#define DS_WARN(mod, ...) ds_log(DS_LOG_WARN, mod, __VA_ARGS__)
#define DS_ERROR(mod, ...) ds_log(DS_LOG_ERROR, mod, __VA_ARGS__)

#endif
