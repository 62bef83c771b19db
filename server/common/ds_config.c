/* ds_config.c - the settings table and its parsing from env and argv. */
#include "ds_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds_log.h"

#ifndef DS_DEFAULT_MIGRATIONS_DIR
#define DS_DEFAULT_MIGRATIONS_DIR "migrations"
#endif

typedef enum cfg_type {
    CFG_STRING, /* copied into a char[] field; longer values are rejected */
    CFG_INT,    /* decimal, within [min, max] */
    CFG_ADDR,   /* "host:port" with port 0..65535 */
    CFG_LEVEL   /* debug | info | warn | error */
} cfg_type;

typedef struct cfg_row {
    const char *flag; /* without the leading "--" */
    const char *env;
    cfg_type type;
    const char *def; /* default as text; "" = none */
    const char *metavar;
    const char *help;
    size_t off;  /* offset of the field in ds_config */
    size_t size; /* size of a CFG_STRING/CFG_ADDR field */
    long min, max;
} cfg_row;

#define STR(field) offsetof(ds_config, field), sizeof(((ds_config *)0)->field), 0, 0
#define INT(field, lo, hi) offsetof(ds_config, field), sizeof(int), lo, hi

/* Every setting of dropshipd, in --help order. */
static const cfg_row rows[] = {
    {"database-url", "DROPSHIP_DATABASE_URL", CFG_STRING, "", "URL",
     "PostgreSQL URL or key=value conninfo (required)", STR(database_url)},
    {"listen", "DROPSHIP_LISTEN", CFG_ADDR, "127.0.0.1:50051", "HOST:PORT",
     "gRPC listen address (port 0 = any free port)", STR(listen)},
    {"cq-threads", "DROPSHIP_CQ_THREADS", CFG_INT, "0", "N",
     "completion-queue threads (0 = number of cores)", INT(cq_threads, 0, 256)},
    {"handler-threads", "DROPSHIP_HANDLER_THREADS", CFG_INT, "0", "N",
     "handler threads (0 = automatic)", INT(handler_threads, 0, 1024)},
    {"db-pool-size", "DROPSHIP_DB_POOL_SIZE", CFG_INT, "8", "N",
     "PostgreSQL connections in the pool", INT(db_pool_size, 1, 1000)},
    {"statement-timeout-ms", "DROPSHIP_STATEMENT_TIMEOUT_MS", CFG_INT, "5000", "MS",
     "statement_timeout of every database session", INT(statement_timeout_ms, 1, 3600000)},
    {"max-recv-bytes", "DROPSHIP_MAX_RECV_BYTES", CFG_INT, "4194304", "BYTES",
     "largest request message accepted", INT(max_recv_bytes, 1024, 1073741824)},
    {"shutdown-grace-ms", "DROPSHIP_SHUTDOWN_GRACE_MS", CFG_INT, "10000", "MS",
     "time in-flight calls get on SIGTERM", INT(shutdown_grace_ms, 0, 3600000)},
    {"migrations-dir", "DROPSHIP_MIGRATIONS_DIR", CFG_STRING, DS_DEFAULT_MIGRATIONS_DIR, "DIR",
     "directory of NNNN_name.sql migrations", STR(migrations_dir)},
    {"log-level", "DROPSHIP_LOG_LEVEL", CFG_LEVEL, "info", "LEVEL", "debug, info, warn or error",
     INT(log_level, 0, 3)},
    {"workflow-time-scale", "DROPSHIP_WORKFLOW_TIME_SCALE", CFG_INT, "1", "X",
     "divide every order workflow duration by X (tests and demos)",
     INT(workflow_time_scale, 1, 100000000)},
    {"workflow-workers", "DROPSHIP_WORKFLOW_WORKERS", CFG_INT, "4", "N",
     "order workflow task threads (0 = no workflow in this process)",
     INT(workflow_workers, 0, 256)},
    {"offer-sync-interval-s", "DROPSHIP_OFFER_SYNC_INTERVAL_S", CFG_INT, "900", "S",
     "offer sync period per supplier (divided by the workflow time scale)",
     INT(offer_sync_s, 1, 604800)},
    {"workflow-purchase-attempts", "DROPSHIP_WORKFLOW_PURCHASE_ATTEMPTS", CFG_INT, "8", "N",
     "tries of an order's purchase before it is held SUPPLIER_UNAVAILABLE",
     INT(workflow_purchase_attempts, 1, 1000)},
    {"workflow-step-attempts", "DROPSHIP_WORKFLOW_STEP_ATTEMPTS", CFG_INT, "12", "N",
     "tries of the other order steps (payment, tracking, ...) before a STEP_FAILED hold",
     INT(workflow_step_attempts, 1, 1000)},
    {"workflow-lease-ms", "DROPSHIP_WORKFLOW_LEASE_MS", CFG_INT, "30000", "MS",
     "task lease: how long a task claimed by a process that died waits before another "
     "takes it over (extended every third while the task runs)",
     INT(workflow_lease_ms, 300, 3600000)},
    {"case-escalate-after-s", "DROPSHIP_CASE_ESCALATE_AFTER_S", CFG_INT, "864000", "S",
     "a parcel with no new checkpoint this long opens a LOST_IN_TRANSIT case (divided by the "
     "workflow time scale)",
     INT(case_escalate_after_s, 1, 31536000)},
    {"adapter-queue-wait-ms", "DROPSHIP_ADAPTER_QUEUE_WAIT_MS", CFG_INT, "2000", "MS",
     "longest a supplier or courier call waits for its API's limits (Retry-After pause, rate, "
     "32 at once) before its step gives the worker back and snoozes until the API can take it",
     INT(adapter_queue_ms, 10, 3600000)},
};

enum { N_ROWS = sizeof(rows) / sizeof(rows[0]) };

/* Complain about `value` of row r, naming the flag and the variable. */
static ds_status bad_value(const cfg_row *r, const char *value, const char *why, ds_error *err)
{
    return ds_error_set(err, DS_ERR_CONFIG, "invalid value \"%.200s\" for --%s / %s: %s", value,
                        r->flag, r->env, why);
}

static ds_status set_int(const cfg_row *r, ds_config *cfg, const char *value, ds_error *err)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (value[0] == '\0' || *end != '\0' || errno != 0 || v < r->min || v > r->max) {
        char why[96];
        snprintf(why, sizeof(why), "expected a whole number from %ld to %ld", r->min, r->max);
        return bad_value(r, value, why, err);
    }
    *(int *)((char *)cfg + r->off) = (int)v;
    return DS_OK;
}

/* "host:port", "[v6]:port"; host non-empty, port 0..65535. */
static bool addr_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    char *end = NULL;
    long port;

    if (colon == NULL || colon == s || colon[1] == '\0')
        return false;
    if (s[0] == '[' && colon[-1] != ']')
        return false;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    return *end == '\0' && errno == 0 && port >= 0 && port <= 65535;
}

static ds_status set_value(const cfg_row *r, ds_config *cfg, const char *value, ds_error *err)
{
    char *field = (char *)cfg + r->off;
    int level;

    switch (r->type) {
    case CFG_INT:
        return set_int(r, cfg, value, err);
    case CFG_LEVEL:
        level = ds_log_level_parse(value);
        if (level < 0)
            return bad_value(r, value, "expected debug, info, warn or error", err);
        *(int *)field = level;
        return DS_OK;
    case CFG_ADDR:
        if (!addr_ok(value))
            return bad_value(r, value, "expected HOST:PORT with a port from 0 to 65535", err);
        break;
    case CFG_STRING:
        break;
    }
    if (strlen(value) >= r->size)
        return bad_value(r, value, "too long", err);
    memcpy(field, value, strlen(value) + 1);
    return DS_OK;
}

static const cfg_row *find_flag(const char *name, size_t len)
{
    for (int i = 0; i < N_ROWS; i++)
        if (strlen(rows[i].flag) == len && strncmp(rows[i].flag, name, len) == 0)
            return &rows[i];
    return NULL;
}

/* Defaults, then the environment. */
static ds_status load_env(ds_config *cfg, ds_error *err)
{
    ds_status st = DS_OK;

    for (int i = 0; st == DS_OK && i < N_ROWS; i++) {
        const char *v = getenv(rows[i].env);
        st = set_value(&rows[i], cfg, rows[i].def, err);
        if (st == DS_OK && v != NULL && v[0] != '\0')
            st = set_value(&rows[i], cfg, v, err);
    }
    return st;
}

/* One "--flag[=value]" at argv[*i]; may consume argv[*i + 1]. */
static ds_status load_flag(ds_config *cfg, int argc, char **argv, int *i, ds_error *err)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    const cfg_row *r = find_flag(arg, len);

    if (eq == NULL && strcmp(arg, "help") == 0) {
        cfg->help = true;
        return DS_OK;
    }
    if (eq == NULL && strcmp(arg, "version") == 0) {
        cfg->version = true;
        return DS_OK;
    }
    if (r == NULL)
        return ds_error_set(err, DS_ERR_CONFIG, "unknown flag --%.*s (see --help)", (int)len, arg);
    if (eq != NULL)
        return set_value(r, cfg, eq + 1, err);
    if (*i + 1 >= argc)
        return ds_error_set(err, DS_ERR_CONFIG, "--%s needs a value (%s)", r->flag, r->metavar);
    (*i)++;
    return set_value(r, cfg, argv[*i], err);
}

static ds_status add_word(ds_config *cfg, const char *word, ds_error *err)
{
    if (cfg->n_args >= DS_CONFIG_ARGS_MAX)
        return ds_error_set(err, DS_ERR_CONFIG, "too many arguments (at most %d)",
                            DS_CONFIG_ARGS_MAX);
    cfg->args[cfg->n_args++] = word;
    return DS_OK;
}

ds_status ds_config_load(ds_config *cfg, int argc, char **argv, ds_error *err)
{
    bool flags_done = false;
    ds_status st;

    memset(cfg, 0, sizeof(*cfg));
    st = load_env(cfg, err);
    for (int i = 1; st == DS_OK && i < argc; i++) {
        const char *a = argv[i];
        if (!flags_done && strcmp(a, "--") == 0)
            flags_done = true;
        else if (!flags_done && strcmp(a, "-h") == 0)
            cfg->help = true;
        else if (!flags_done && strncmp(a, "--", 2) == 0)
            st = load_flag(cfg, argc, argv, &i, err);
        else if (!flags_done && a[0] == '-' && a[1] != '\0')
            st = ds_error_set(err, DS_ERR_CONFIG, "unknown flag %.100s (see --help)", a);
        else
            st = add_word(cfg, a, err);
    }
    return st;
}

ds_status ds_config_need_database(const ds_config *cfg, ds_error *err)
{
    if (cfg->database_url[0] != '\0')
        return DS_OK;
    return ds_error_set(err, DS_ERR_CONFIG,
                        "no database: set --database-url or DROPSHIP_DATABASE_URL");
}

void ds_config_print_help(FILE *f)
{
    fprintf(f, "Settings (a flag wins over its environment variable):\n");
    for (int i = 0; i < N_ROWS; i++) {
        const cfg_row *r = &rows[i];
        fprintf(f, "  --%s %s\n      %s\n      env %s", r->flag, r->metavar, r->help, r->env);
        if (r->def[0] != '\0')
            fprintf(f, ", default %s", r->def);
        fprintf(f, "\n");
    }
}
