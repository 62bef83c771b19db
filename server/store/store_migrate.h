/* store_migrate.h - numbered SQL migrations and the schema version check.
 *
 * A migrations directory holds files named NNNN_name.sql (digits, '_',
 * then [a-z0-9_]; other files are ignored). Each file is applied once, in
 * version order, in its own transaction that also records
 * (version, name, applied_at) in schema_migrations. Each transaction first
 * takes pg_advisory_xact_lock(STORE_MIGRATE_LOCK) and re-checks
 * schema_migrations, so several processes may migrate at the same time and
 * every version is still applied exactly once. A file must not contain its
 * own BEGIN/COMMIT. statement_timeout is lifted inside these transactions.
 *
 * Caps: at most STORE_MIGRATIONS_MAX files of at most STORE_MIGRATION_MAX_BYTES.
 * Threads: any thread; each call borrows one pooled connection.
 */
#ifndef STORE_MIGRATE_H
#define STORE_MIGRATE_H

#include "ds_status.h"
#include "store.h"

enum {
    STORE_MIGRATIONS_MAX = 1000,
    STORE_MIGRATION_MAX_BYTES = 1 << 20,
    STORE_MIGRATION_NAME_MAX = 128
};

/* Told about each migration this call applied (not the skipped ones). */
typedef void (*store_migrate_fn)(int version, const char *file_name, void *arg);

/* Apply every migration of `dir` the database does not have yet.
 * DS_ERR_CONFIG for an unreadable dir, a bad/oversized file or two files
 * with one version; DS_ERR_UNAVAILABLE when the database can't be reached;
 * the mapped database error (message names the file) when a file fails, in
 * which case that file's changes are rolled back and later files are not
 * tried. `cb` may be NULL. */
ds_status store_migrate(store_pool *p, const char *dir, store_migrate_fn cb, void *arg,
                        ds_error *err);

/* Highest version found in `dir` (0 if none) into *version. */
ds_status store_migrations_latest(const char *dir, int *version, ds_error *err);

/* Highest version applied to the database (0 when schema_migrations does
 * not exist) into *version. */
ds_status store_schema_version(store_pool *p, int *version, ds_error *err);

/* For serve: DS_OK when the database is exactly at the latest version of
 * `dir`; DS_ERR_FAILED_PRECONDITION with an explanation when it is newer
 * (the binary is older than the schema) or older (run `dropshipd migrate`). */
ds_status store_schema_check(store_pool *p, const char *dir, ds_error *err);

#endif
