/* store_migrate.c - apply numbered SQL migrations once, safely from several
 * processes at a time, and check the schema version at start-up. */
#include "store_migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ds_log.h"

/* "dropship" in ASCII: the advisory lock every migrator takes. */
#define MIGRATE_LOCK_SQL "SELECT pg_advisory_xact_lock(7237954613468326256)"

typedef struct migration {
    int version;
    char name[STORE_MIGRATION_NAME_MAX];
} migration;

static const store_stmt stmt_applied = {"migrate_applied",
                                        "SELECT 1 FROM schema_migrations WHERE version = $1"};
static const store_stmt stmt_record = {
    "migrate_record", "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"};
static const store_stmt stmt_latest = {"migrate_latest",
                                       "SELECT coalesce(max(version), 0) FROM schema_migrations"};

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version int PRIMARY KEY,"
                                       " name text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Version of a file named NNNN_name.sql, or -1 if the name doesn't fit. */
static int parse_name(const char *name)
{
    size_t len = strlen(name);
    size_t i = 0;
    long v = 0;

    if (len < 6 || len >= STORE_MIGRATION_NAME_MAX || strcmp(name + len - 4, ".sql") != 0)
        return -1;
    while (isdigit((unsigned char)name[i]) && v < 100000000)
        v = v * 10 + (name[i++] - '0');
    if (i == 0 || name[i] != '_' || i + 1 >= len - 4)
        return -1;
    for (i++; i < len - 4; i++)
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '_')
            return -1;
    return v > 0 && v < 100000000 ? (int)v : -1;
}

static int by_version(const void *a, const void *b)
{
    const migration *x = a, *y = b;

    return (x->version > y->version) - (x->version < y->version);
}

/* The migrations of dir, sorted; *out is malloc'ed (caller frees). */
static ds_status list_dir(const char *dir, migration **out, size_t *n, ds_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    migration *v = NULL;
    ds_status st = DS_OK;

    *out = NULL;
    *n = 0;
    if (d == NULL)
        return ds_error_set(err, DS_ERR_CONFIG, "cannot open migrations dir %s: %s", dir,
                            strerror(errno));
    v = calloc(STORE_MIGRATIONS_MAX, sizeof(*v));
    if (v == NULL) {
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory listing %s", dir);
        goto out;
    }
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        int version = parse_name(e->d_name);
        if (version < 0)
            continue;
        if (*n == STORE_MIGRATIONS_MAX) {
            st = ds_error_set(err, DS_ERR_CONFIG, "more than %d migrations in %s",
                              STORE_MIGRATIONS_MAX, dir);
            goto out;
        }
        v[*n].version = version;
        snprintf(v[*n].name, sizeof(v[*n].name), "%.127s", e->d_name);
        (*n)++;
    }
    qsort(v, *n, sizeof(*v), by_version);
    for (size_t i = 1; i < *n; i++)
        if (v[i].version == v[i - 1].version) {
            st = ds_error_set(err, DS_ERR_CONFIG, "migrations %s and %s have the same version",
                              v[i - 1].name, v[i].name);
            goto out;
        }
out:
    closedir(d);
    if (st != DS_OK) {
        free(v);
        v = NULL;
        *n = 0;
    }
    *out = v;
    return st;
}

/* Read dir/name into a NUL-terminated malloc'ed string (caller frees). */
static ds_status read_file(const char *dir, const char *name, char **out, ds_error *err)
{
    char path[4096];
    struct stat sb;
    char *buf = NULL;
    ssize_t got = 0;
    ds_status st = DS_OK;
    int fd;

    *out = NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        st = ds_error_set(err, DS_ERR_CONFIG, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (sb.st_size > STORE_MIGRATION_MAX_BYTES) {
        st = ds_error_set(err, DS_ERR_CONFIG, "%s is larger than %d bytes", path,
                          STORE_MIGRATION_MAX_BYTES);
        goto out;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (buf == NULL) {
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    while (got < sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)(sb.st_size - got));
        if (r <= 0) {
            st = ds_error_set(err, DS_ERR_CONFIG, "cannot read %s: %s", path,
                              r == 0 ? "file shrank" : strerror(errno));
            goto out;
        }
        got += r;
    }
    buf[got] = '\0';
    if (strlen(buf) != (size_t)got)
        st = ds_error_set(err, DS_ERR_CONFIG, "%s contains a NUL byte", path);
out:
    if (fd >= 0)
        close(fd);
    if (st != DS_OK) {
        free(buf);
        buf = NULL;
    }
    *out = buf;
    return st;
}

/* Open the migration transaction: lock, no timeout, bookkeeping table. */
static ds_status begin_locked(store_conn *c, ds_error *err)
{
    ds_status st = store_begin(c, err);

    if (st == DS_OK)
        st = store_exec_sql(c, "SET LOCAL statement_timeout = 0", err);
    if (st == DS_OK)
        st = store_exec_sql(c, MIGRATE_LOCK_SQL, err);
    if (st == DS_OK)
        st = store_exec_sql(c, create_table_sql, err);
    return st;
}

/* Apply one migration unless already there; *applied tells which. */
static ds_status apply_one(store_conn *c, const char *dir, const migration *m, bool *applied,
                           ds_error *err)
{
    char ver[16];
    const char *params[2] = {ver, m->name};
    PGresult *res = NULL;
    char *sql = NULL;
    ds_status st;

    *applied = false;
    snprintf(ver, sizeof(ver), "%d", m->version);
    st = read_file(dir, m->name, &sql, err);
    if (st == DS_OK)
        st = begin_locked(c, err);
    if (st == DS_OK)
        st = store_exec(c, &stmt_applied, 1, params, &res, err);
    if (st != DS_OK || PQntuples(res) > 0)
        goto out;
    st = store_exec_sql(c, sql, err);
    if (st != DS_OK) {
        char msg[DS_ERROR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err != NULL ? err->message : "");
        ds_error_set(err, st, "migration %s failed: %s", m->name, msg);
        goto out;
    }
    st = store_exec(c, &stmt_record, 2, params, NULL, err);
    if (st == DS_OK)
        st = store_commit(c, err);
    *applied = st == DS_OK;
out:
    PQclear(res);
    free(sql);
    store_rollback(c);
    return st;
}

ds_status store_migrate(store_pool *p, const char *dir, store_migrate_fn cb, void *arg,
                        ds_error *err)
{
    migration *v = NULL;
    size_t n = 0;
    store_conn *c = NULL;
    ds_status st;

    st = list_dir(dir, &v, &n, err);
    if (st == DS_OK)
        st = store_acquire(p, now_ms() + 10000, &c, err);
    for (size_t i = 0; st == DS_OK && i < n; i++) {
        bool applied = false;
        st = apply_one(c, dir, &v[i], &applied, err);
        if (st == DS_OK && applied && cb != NULL)
            cb(v[i].version, v[i].name, arg);
        if (st == DS_OK && applied)
            DS_INFO("store", "applied migration %s", v[i].name);
    }
    store_release(p, c);
    free(v);
    return st;
}

ds_status store_migrations_latest(const char *dir, int *version, ds_error *err)
{
    migration *v = NULL;
    size_t n = 0;
    ds_status st = list_dir(dir, &v, &n, err);

    *version = st == DS_OK && n > 0 ? v[n - 1].version : 0;
    free(v);
    return st;
}

ds_status store_schema_version(store_pool *p, int *version, ds_error *err)
{
    store_conn *c = NULL;
    PGresult *res = NULL;
    ds_status st;

    *version = 0;
    st = store_acquire(p, now_ms() + 5000, &c, err);
    if (st != DS_OK)
        goto out;
    st = store_exec(c, &stmt_latest, 0, NULL, &res, err);
    if (st != DS_OK && strcmp(store_last_sqlstate(c), "42P01") == 0) {
        ds_error_clear(err);
        st = DS_OK; /* no schema_migrations table: nothing applied yet */
    } else if (st == DS_OK) {
        *version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    }
out:
    PQclear(res);
    store_release(p, c);
    return st;
}

ds_status store_schema_check(store_pool *p, const char *dir, ds_error *err)
{
    int known = 0;
    int have = 0;
    ds_status st = store_migrations_latest(dir, &known, err);

    if (st == DS_OK)
        st = store_schema_version(p, &have, err);
    if (st != DS_OK)
        return st;
    if (have > known)
        return ds_error_set(err, DS_ERR_FAILED_PRECONDITION,
                            "the database schema (version %d) is newer than this dropshipd "
                            "knows (version %d in %s): run a newer dropshipd",
                            have, known, dir);
    if (have < known)
        return ds_error_set(err, DS_ERR_FAILED_PRECONDITION,
                            "the database schema is at version %d but this dropshipd needs "
                            "version %d: run `dropshipd migrate` first",
                            have, known);
    return DS_OK;
}
