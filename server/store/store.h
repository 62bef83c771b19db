/* store.h - the PostgreSQL connection pool and statement execution.
 *
 * A fixed-size pool of libpq connections. Every connection sets
 * statement_timeout and idle_in_transaction_session_timeout on connect and
 * prepares named statements lazily (first use on that connection). When the
 * database goes away, calls fail with DS_ERR_UNAVAILABLE; a broken
 * connection is reset on release or next acquire, so the pool heals by
 * itself once the database is back, with no restart.
 *
 * libpq errors are converted to ds_status here and nowhere else:
 *   connection failure, 08xxx but 08P01, 57P01..57P03,
 *   25P03 (idle-in-transaction timeout)     -> DS_ERR_UNAVAILABLE
 *   53xxx (too many connections, ...)       -> DS_ERR_UNAVAILABLE
 *   57014 (statement timeout / cancel)       -> DS_ERR_DEADLINE
 *   23505 unique_violation                  -> DS_ERR_ALREADY_EXISTS
 *   40001, 40P01 (serialization, deadlock)  -> DS_ERR_ABORTED
 *   22xxx data exception (bad uuid text...)  -> DS_ERR_INVALID
 *   anything else (08P01 protocol violation
 *   included: a programming error)          -> DS_ERR_INTERNAL
 * The SQLSTATE and constraint name are kept in the store_conn for callers
 * that need to tell constraints apart (store_last_sqlstate, _constraint).
 *
 * Threads: the pool is thread-safe; a store_conn is used by one thread
 * between acquire and release.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "ds_status.h"

typedef struct store_pool store_pool;
typedef struct store_conn store_conn;

/* A named SQL statement. Define them `static const` next to the store code
 * that uses them; the address identifies the statement. Parameters are
 * text-format $1..$n; the SQL never comes from input. */
typedef struct store_stmt {
    const char *name; /* unique across the program: "orders_get" */
    const char *sql;
} store_stmt;

typedef struct store_config {
    const char *conninfo;         /* libpq URL or key=value string */
    int pool_size;                /* 0 = 8 */
    int statement_timeout_ms;     /* 0 = 5000 */
    int acquire_timeout_ms;       /* wait for a free connection; 0 = 2000 */
    const char *application_name; /* NULL = "dropshipd" */
} store_config;

/* Create the pool. Connections are opened lazily, so this succeeds while
 * the database is down (DS_ERR_CONFIG only for a malformed conninfo or
 * DS_ERR_NOMEM). Copies cfg strings. */
store_pool *store_pool_new(const store_config *cfg, ds_error *err);

/* Close all connections. All must have been released. NULL is a no-op. */
void store_pool_free(store_pool *p);

/* Borrow a connected connection, waiting at most until deadline_ms
 * (CLOCK_REALTIME ms) and never longer than the pool's acquire timeout.
 * An idle connection the server has closed (restart) is noticed here and
 * reopened.
 * DS_ERR_UNAVAILABLE if the database can't be reached,
 * DS_ERR_RESOURCE_EXHAUSTED if no connection frees up in time. */
ds_status store_acquire(store_pool *p, int64_t deadline_ms, store_conn **out, ds_error *err);

/* Give the connection back. An open transaction is rolled back; a broken
 * connection is closed and reopened on a later acquire. NULL is a no-op. */
void store_release(store_pool *p, store_conn *c);

/* Run a prepared statement with text parameters (values[i] NULL = SQL NULL).
 * On DS_OK *out (if out != NULL) owns a PGresult the caller PQclear()s;
 * on error *out is NULL and err says why (message includes the server's). */
ds_status store_exec(store_conn *c, const store_stmt *st, int nparams, const char *const *values,
                     PGresult **out, ds_error *err);

/* Acquire a connection (store_acquire, same deadline and errors), run one
 * prepared statement (store_exec, same *out contract) and release it. For
 * single-statement reads and writes that need no transaction. */
ds_status store_exec_once(store_pool *p, int64_t deadline_ms, const store_stmt *st, int nparams,
                          const char *const *values, PGresult **out, ds_error *err);

/* Run a parameterless SQL string (BEGIN, COMMIT, migrations, LISTEN). */
ds_status store_exec_sql(store_conn *c, const char *sql, ds_error *err);

/* Transactions. store_commit/rollback are safe after a failed statement. */
ds_status store_begin(store_conn *c, ds_error *err);

/* One prepared statement for store_begin_with. */
typedef struct store_batch_item {
    const store_stmt *stmt;
    int nparams;
    const char *const *values;
    PGresult **out; /* the result, for the caller to PQclear(); NULL: dropped */
} store_batch_item;

/* BEGIN, then the n statements, in one round trip (libpq pipeline mode;
 * a statement's first use on c still prepares it on its own). Results come
 * back in order. On DS_OK the transaction is open and every item's *out is
 * set. On error nothing after the failed statement ran, every *out is NULL,
 * err is what store_exec would say, and the transaction (if it began) is
 * open and failed: store_rollback or store_release end it. */
ds_status store_begin_with(store_conn *c, const store_batch_item *items, int n, ds_error *err);

/* The n statements in one round trip and one implicit transaction, outside
 * any transaction block (autocommit: they commit together, or on an error
 * none of them). Results and errors as store_begin_with. For reads that
 * belong together. */
ds_status store_exec_batch(store_conn *c, const store_batch_item *items, int n, ds_error *err);

/* Commit. Notifications queued by store_notify go in the same round trip,
 * after the COMMIT, as a transaction of their own (see store_notify); they
 * are dropped when the transaction does not commit. DS_ERR_ABORTED when the
 * transaction had failed and was rolled back. The transaction has ended
 * whatever this returns (a COMMIT that fails leaves nothing open). */
ds_status store_commit(store_conn *c, ds_error *err);

/* Roll back the open transaction, if any, and drop queued notifications. */
void store_rollback(store_conn *c);

enum {
    STORE_NOTIFY_MAX = 8,          /* distinct notifications queued per transaction */
    STORE_NOTIFY_CHANNEL_MAX = 63, /* bytes of a channel name (PostgreSQL's NAMEDATALEN - 1) */
    STORE_NOTIFY_PAYLOAD_MAX = 127 /* bytes of a payload queued for after the commit */
};

/* NOTIFY channel with payload ("" for none) as a hint to LISTENers.
 *
 * Inside a transaction block the notification is queued and sent right
 * after the COMMIT (store_commit), in the same round trip but as a
 * transaction of its own, so that the writing transaction's commit does not
 * take PostgreSQL's notification lock. That lock is database-wide and is
 * held until the notifying transaction's commit record is flushed to disk,
 * so transactions that NOTIFY commit one after another, each waiting for
 * its own WAL flush; a transaction that only notifies writes nothing, so it
 * commits without waiting for the disk. The price: a process that dies
 * between the COMMIT and the notification loses the hint, so listeners
 * must not depend on it alone (they poll as well). A transaction that rolls
 * back, or whose COMMIT fails, sends none. Identical pending pairs are sent
 * once. When STORE_NOTIFY_MAX pairs are already queued, or the payload is
 * longer than STORE_NOTIFY_PAYLOAD_MAX, the notification is sent inside the
 * transaction instead (PostgreSQL delivers it at commit).
 *
 * Outside a transaction block it is sent at once. Errors as store_exec
 * (DS_ERR_INVALID for a channel name that is empty or too long).
 * Threads: as the connection (its owner's thread). */
ds_status store_notify(store_conn *c, const char *channel, const char *payload, ds_error *err);

/* SQLSTATE ("23505") and constraint name of the last failed statement on
 * this connection, "" if none. Valid until the next call on c. */
const char *store_last_sqlstate(const store_conn *c);
const char *store_last_constraint(const store_conn *c);

/* The one SQLSTATE -> ds_status mapping above, as a pure function ("" =
 * no SQLSTATE at all, i.e. the connection failed). Any thread. */
ds_status store_status_of_sqlstate(const char *sqlstate);

/* The raw connection, for LISTEN/NOTIFY and COPY only. */
PGconn *store_conn_pg(store_conn *c);

/* Cheap liveness check (SELECT 1 on a pooled connection, 1 s budget): DS_OK,
 * DS_ERR_UNAVAILABLE when the database can't be reached, or
 * DS_ERR_RESOURCE_EXHAUSTED when every connection is busy (the database is
 * then presumably fine). Used for health. Any thread. */
ds_status store_ping(store_pool *p, ds_error *err);

#endif
