/* ds_config.h - dropshipd's settings: one table, read from the environment
 * and the command line.
 *
 * Every setting has a flag (--listen) and an environment variable
 * (DROPSHIP_LISTEN); defaults come first, then the environment, then the
 * flags, so a flag wins. Flags are "--name value" or "--name=value" and may
 * come before or after the command words; "--" ends the flags. The table
 * lives in ds_config.c and is printed by ds_config_print_help.
 *
 * Threads: ds_config_load reads the environment (getenv); call it from one
 * thread at start-up. The filled ds_config is plain data (no heap).
 */
#ifndef DS_CONFIG_H
#define DS_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "ds_status.h"

enum {
    DS_CONFIG_URL_MAX = 2048, /* longest accepted database URL, with NUL */
    DS_CONFIG_PATH_MAX = 1024,
    DS_CONFIG_ADDR_MAX = 256,
    DS_CONFIG_ARGS_MAX = 8 /* positional words (command and its arguments) */
};

typedef struct ds_config {
    char database_url[DS_CONFIG_URL_MAX]; /* "" when not set */
    char listen[DS_CONFIG_ADDR_MAX];      /* "host:port"; port 0 = any free port */
    int cq_threads;                       /* 0 = number of cores */
    int handler_threads;                  /* 0 = automatic */
    int db_pool_size;
    int statement_timeout_ms;
    int max_recv_bytes;
    int shutdown_grace_ms;
    char migrations_dir[DS_CONFIG_PATH_MAX];
    int log_level; /* a ds_log_level */
    int workflow_time_scale; /* workflow durations are divided by it (tests) */
    int workflow_workers;
    int offer_sync_s; /* offer sync interval per supplier, seconds (before scaling) */
    int workflow_purchase_attempts; /* tries of the purchase step before a hold */
    int workflow_step_attempts;     /* tries of the other order steps before a hold */
    int workflow_lease_ms;          /* task lease length */
    int case_escalate_after_s; /* stuck parcel -> automatic case, seconds (before scaling) */
    int adapter_queue_ms;      /* longest wait of a supplier call for its endpoint's limits */

    bool help;    /* --help / -h was given */
    bool version; /* --version was given */
    int n_args;   /* positional words, pointing into argv */
    const char *args[DS_CONFIG_ARGS_MAX];
} ds_config;

/* Fill cfg from defaults, the environment, then argv[1..argc). On error
 * (unknown flag, missing value, value out of range or badly formed, too many
 * words) returns DS_ERR_CONFIG with a message that names the setting, its
 * flag and its variable; cfg is then partly filled and must not be used. */
ds_status ds_config_load(ds_config *cfg, int argc, char **argv, ds_error *err);

/* DS_ERR_CONFIG ("--database-url / DROPSHIP_DATABASE_URL is required")
 * unless a database URL was given. */
ds_status ds_config_need_database(const ds_config *cfg, ds_error *err);

/* Print the settings table (flag, variable, default, help) to f. */
void ds_config_print_help(FILE *f);

#endif
