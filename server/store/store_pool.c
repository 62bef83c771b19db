/* store_pool.c - the libpq connection pool, statement execution and the one
 * place where libpq errors become ds_status. */
#include "store.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds_log.h"

enum {
    PREPARED_MAX = 1024, /* distinct statements one connection remembers */
    IDLE_TX_TIMEOUT_MIN_MS = 30000,
    CONNECT_TIMEOUT_MIN_S = 2,
    CONNECT_TIMEOUT_MAX_S = 10
};

struct store_conn {
    store_pool *pool;
    PGconn *pg;                  /* NULL until connected */
    bool in_use;                 /* lent out by store_acquire */
    bool broken;                 /* lost or unusable: reopen on next acquire */
    const store_stmt **prepared; /* statements prepared on this connection */
    size_t n_prepared;
    size_t cap_prepared;
    char sqlstate[6];
    char constraint[64];
    int n_notify; /* queued by store_notify for after the COMMIT */
    struct {
        char channel[STORE_NOTIFY_CHANNEL_MAX + 1];
        char payload[STORE_NOTIFY_PAYLOAD_MAX + 1];
    } notify[STORE_NOTIFY_MAX];
};

struct store_pool {
    pthread_mutex_t mu;
    pthread_cond_t freed; /* signalled whenever a connection is released */
    char *conninfo;
    char *app_name;
    int size;
    int statement_timeout_ms;
    int acquire_timeout_ms;
    store_conn *conns;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Does this SQLSTATE mean the connection or the server is gone? 08P01
 * (protocol violation, e.g. a wrong parameter count) is class 08 but the
 * server keeps the session: it is a programming error, not an outage. */
static bool sqlstate_is_disconnect(const char *st)
{
    if (strncmp(st, "08", 2) == 0)
        return strcmp(st, "08P01") != 0;
    return strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0 ||
           strcmp(st, "25P03") == 0;
}

ds_status store_status_of_sqlstate(const char *st)
{
    if (st[0] == '\0' || sqlstate_is_disconnect(st) || strncmp(st, "53", 2) == 0)
        return DS_ERR_UNAVAILABLE;
    if (strcmp(st, "57014") == 0)
        return DS_ERR_DEADLINE;
    if (strcmp(st, "23505") == 0)
        return DS_ERR_ALREADY_EXISTS;
    if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
        return DS_ERR_ABORTED;
    if (strncmp(st, "22", 2) == 0)
        return DS_ERR_INVALID;
    return DS_ERR_INTERNAL;
}

/* libpq's message on one line: newlines and tabs become single spaces,
 * trailing blanks go. */
static void one_line(char *dst, size_t size, const char *src)
{
    size_t n = 0;

    for (; src != NULL && *src != '\0' && n + 1 < size; src++) {
        bool blank = *src == '\n' || *src == '\t' || *src == '\r' || *src == ' ';
        if (!blank)
            dst[n++] = *src;
        else if (n > 0 && dst[n - 1] != ' ')
            dst[n++] = ' ';
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

/* Record the failure of `res` (NULL = no result at all) on c, mark c broken
 * when the connection is gone, and format err. Returns the mapped status. */
static ds_status conn_fail(store_conn *c, const PGresult *res, const char *what, ds_error *err)
{
    const char *st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *cons = res != NULL ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    const char *raw = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char msg[320];
    ds_status status;

    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", st != NULL ? st : "");
    snprintf(c->constraint, sizeof(c->constraint), "%s", cons != NULL ? cons : "");
    one_line(msg, sizeof(msg), raw != NULL ? raw : PQerrorMessage(c->pg));
    if (PQstatus(c->pg) != CONNECTION_OK || sqlstate_is_disconnect(c->sqlstate))
        c->broken = true;
    status = c->broken ? DS_ERR_UNAVAILABLE : store_status_of_sqlstate(c->sqlstate);
    if (status == DS_ERR_UNAVAILABLE)
        ds_error_set(err, status, "database unavailable: %s", msg);
    else
        ds_error_set(err, status, "%s failed (SQLSTATE %s): %s", what, c->sqlstate, msg);
    return status;
}

/* DS_OK if libpq can parse conninfo. */
static ds_status check_conninfo(const char *conninfo, ds_error *err)
{
    char *perr = NULL;
    PQconninfoOption *opts;

    if (conninfo == NULL || conninfo[0] == '\0')
        return ds_error_set(err, DS_ERR_CONFIG, "database URL is empty");
    opts = PQconninfoParse(conninfo, &perr);
    if (opts == NULL) {
        char msg[320];
        one_line(msg, sizeof(msg), perr != NULL ? perr : "out of memory");
        ds_error_set(err, DS_ERR_CONFIG, "malformed database URL: %s", msg);
        PQfreemem(perr);
        return DS_ERR_CONFIG;
    }
    PQconninfoFree(opts);
    return DS_OK;
}

store_pool *store_pool_new(const store_config *cfg, ds_error *err)
{
    store_pool *p;

    if (check_conninfo(cfg != NULL ? cfg->conninfo : NULL, err) != DS_OK)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        goto nomem;
    p->size = cfg->pool_size > 0 ? cfg->pool_size : 8;
    p->statement_timeout_ms = cfg->statement_timeout_ms > 0 ? cfg->statement_timeout_ms : 5000;
    p->acquire_timeout_ms = cfg->acquire_timeout_ms > 0 ? cfg->acquire_timeout_ms : 2000;
    p->conninfo = strdup(cfg->conninfo);
    p->app_name = strdup(cfg->application_name != NULL ? cfg->application_name : "dropshipd");
    p->conns = calloc((size_t)p->size, sizeof(*p->conns));
    if (p->conninfo == NULL || p->app_name == NULL || p->conns == NULL)
        goto nomem;
    for (int i = 0; i < p->size; i++)
        p->conns[i].pool = p;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    return p;
nomem:
    ds_error_set(err, DS_ERR_NOMEM, "out of memory creating the database pool");
    if (p != NULL) {
        free(p->conninfo);
        free(p->app_name);
        free(p->conns);
        free(p);
    }
    return NULL;
}

/* Close c's connection and forget what was prepared on it. */
static void conn_close(store_conn *c)
{
    PQfinish(c->pg);
    c->pg = NULL;
    c->broken = false;
    c->n_prepared = 0;
}

void store_pool_free(store_pool *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->size; i++) {
        conn_close(&p->conns[i]);
        free(p->conns[i].prepared);
    }
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    free(p->conns);
    free(p->conninfo);
    free(p->app_name);
    free(p);
}

/* An idle connection whose socket is readable has been told something
 * (normally the server's goodbye and EOF after a restart): read it, a few
 * times to reach the EOF, so that PQstatus shows a dead connection before
 * we lend it out. */
static void conn_probe(store_conn *c)
{
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};

    for (int i = 0; i < 4 && !c->broken; i++) {
        if (pfd.fd < 0 || PQstatus(c->pg) != CONNECTION_OK) {
            c->broken = true;
            break;
        }
        if (poll(&pfd, 1, 0) <= 0)
            break;
        if (PQconsumeInput(c->pg) == 0 || PQstatus(c->pg) != CONNECTION_OK)
            c->broken = true;
    }
}

/* Server notices ("relation already exists, skipping") are debug logs,
 * not stray lines on stderr. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    DS_DEBUG("store", "%.*s", (int)strcspn(message, "\n"), message);
}

/* Session settings applied to every new connection. */
static ds_status conn_setup(store_conn *c, ds_error *err)
{
    const store_pool *p = c->pool;
    char sql[160];
    int idle_ms = p->statement_timeout_ms * 6;
    PGresult *res;
    ds_status st = DS_OK;

    if (idle_ms < IDLE_TX_TIMEOUT_MIN_MS)
        idle_ms = IDLE_TX_TIMEOUT_MIN_MS;
    snprintf(sql, sizeof(sql),
             "SET statement_timeout = %d; SET idle_in_transaction_session_timeout = %d",
             p->statement_timeout_ms, idle_ms);
    res = PQexec(c->pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        st = conn_fail(c, res, "session setup", err);
    PQclear(res);
    return st;
}

/* Open c's connection; connect_timeout follows the caller's deadline. */
static ds_status conn_open(store_conn *c, int64_t deadline_ms, ds_error *err)
{
    const store_pool *p = c->pool;
    int64_t left_s = (deadline_ms - now_ms()) / 1000;
    char timeout[16];
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {timeout, p->app_name, p->conninfo, NULL};

    if (left_s < CONNECT_TIMEOUT_MIN_S)
        left_s = CONNECT_TIMEOUT_MIN_S;
    if (left_s > CONNECT_TIMEOUT_MAX_S)
        left_s = CONNECT_TIMEOUT_MAX_S;
    snprintf(timeout, sizeof(timeout), "%d", (int)left_s);
    /* keys before "dbname" are defaults the URL may override */
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (c->pg == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory connecting to the database");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[320];
        one_line(msg, sizeof(msg), PQerrorMessage(c->pg));
        ds_error_set(err, DS_ERR_UNAVAILABLE, "database unavailable: %s", msg);
        conn_close(c);
        return DS_ERR_UNAVAILABLE;
    }
    PQsetNoticeProcessor(c->pg, on_notice, NULL);
    if (conn_setup(c, err) != DS_OK) {
        conn_close(c);
        return err != NULL ? err->status : DS_ERR_UNAVAILABLE;
    }
    return DS_OK;
}

/* Wait for a free slot until `until_ms`; called and returns with p->mu held. */
static store_conn *slot_take(store_pool *p, int64_t until_ms)
{
    struct timespec ts = {.tv_sec = until_ms / 1000, .tv_nsec = (until_ms % 1000) * 1000000};

    for (;;) {
        store_conn *best = NULL;
        for (int i = 0; i < p->size; i++) {
            store_conn *c = &p->conns[i];
            if (!c->in_use && (best == NULL || (best->pg == NULL && c->pg != NULL)))
                best = c; /* prefer an already open connection */
        }
        if (best != NULL) {
            best->in_use = true;
            return best;
        }
        if (pthread_cond_timedwait(&p->freed, &p->mu, &ts) == ETIMEDOUT)
            return NULL;
    }
}

/* Put c back in the free list and wake one waiter. */
static void slot_give(store_pool *p, store_conn *c)
{
    pthread_mutex_lock(&p->mu);
    c->in_use = false;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->mu);
}

ds_status store_acquire(store_pool *p, int64_t deadline_ms, store_conn **out, ds_error *err)
{
    int64_t until = now_ms() + p->acquire_timeout_ms;
    store_conn *c;
    ds_status st;

    *out = NULL;
    if (deadline_ms < until)
        until = deadline_ms;
    pthread_mutex_lock(&p->mu);
    c = slot_take(p, until);
    pthread_mutex_unlock(&p->mu);
    if (c == NULL)
        return ds_error_set(err, DS_ERR_RESOURCE_EXHAUSTED,
                            "no database connection free within the deadline (pool size %d)",
                            p->size);
    if (c->pg != NULL)
        conn_probe(c);
    if (c->broken) {
        DS_WARN("store", "reopening a lost database connection");
        conn_close(c);
    }
    c->sqlstate[0] = '\0';
    c->constraint[0] = '\0';
    if (c->pg == NULL) {
        st = conn_open(c, deadline_ms < INT64_MAX ? deadline_ms : until, err);
        if (st != DS_OK) {
            slot_give(p, c);
            return st;
        }
    }
    *out = c;
    return DS_OK;
}

void store_release(store_pool *p, store_conn *c)
{
    if (c == NULL)
        return;
    c->n_notify = 0;
    if (c->pg != NULL && !c->broken) {
        PGTransactionStatusType ts = PQtransactionStatus(c->pg);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
            store_rollback(c);
        else if (ts != PQTRANS_IDLE)
            c->broken = true;
    }
    if (c->broken)
        conn_close(c);
    slot_give(p, c);
}

static bool is_prepared(const store_conn *c, const store_stmt *st)
{
    for (size_t i = 0; i < c->n_prepared; i++)
        if (c->prepared[i] == st)
            return true;
    return false;
}

/* Prepare st on c unless it already is. */
static ds_status ensure_prepared(store_conn *c, const store_stmt *st, ds_error *err)
{
    PGresult *res;
    ds_status status = DS_OK;

    if (is_prepared(c, st))
        return DS_OK;
    if (c->n_prepared == c->cap_prepared) {
        size_t cap = c->cap_prepared ? c->cap_prepared * 2 : 32;
        const store_stmt **v;
        if (cap > PREPARED_MAX)
            return ds_error_set(err, DS_ERR_INTERNAL, "too many prepared statements");
        v = realloc(c->prepared, cap * sizeof(*v));
        if (v == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory preparing %s", st->name);
        c->prepared = v;
        c->cap_prepared = cap;
    }
    res = PQprepare(c->pg, st->name, st->sql, 0, NULL);
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        c->prepared[c->n_prepared++] = st;
    else
        status = conn_fail(c, res, st->name, err);
    PQclear(res);
    return status;
}

ds_status store_exec(store_conn *c, const store_stmt *st, int nparams, const char *const *values,
                     PGresult **out, ds_error *err)
{
    PGresult *res;
    ExecStatusType rs;
    ds_status status;

    if (out != NULL)
        *out = NULL;
    status = ensure_prepared(c, st, err);
    if (status != DS_OK)
        return status;
    res = PQexecPrepared(c->pg, st->name, nparams, values, NULL, NULL, 0);
    rs = PQresultStatus(res);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        status = conn_fail(c, res, st->name, err);
        PQclear(res);
        return status;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return DS_OK;
}

ds_status store_exec_once(store_pool *p, int64_t deadline_ms, const store_stmt *st, int nparams,
                          const char *const *values, PGresult **out, ds_error *err)
{
    store_conn *c = NULL;
    ds_status status;

    if (out != NULL)
        *out = NULL;
    status = store_acquire(p, deadline_ms, &c, err);
    if (status == DS_OK)
        status = store_exec(c, st, nparams, values, out, err);
    store_release(p, c);
    return status;
}

ds_status store_exec_sql(store_conn *c, const char *sql, ds_error *err)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType rs = PQresultStatus(res);
    ds_status status = DS_OK;

    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
        status = conn_fail(c, res, "statement", err);
    PQclear(res);
    return status;
}

ds_status store_begin(store_conn *c, ds_error *err)
{
    c->n_notify = 0;
    return store_exec_sql(c, "BEGIN", err);
}

/* The results of one pipelined statement: its result (or NULL when the
 * connection gave none), after which libpq's end-of-statement NULL is read. */
static PGresult *pipeline_result(store_conn *c)
{
    PGresult *res = PQgetResult(c->pg);
    PGresult *extra;

    if (res == NULL)
        return NULL;
    while ((extra = PQgetResult(c->pg)) != NULL) { /* no statement here returns more */
        PQclear(extra);
        c->broken = true;
    }
    return res;
}

/* The n statements in one round trip, after `lead` (BEGIN, COMMIT or NULL
 * for none): store_begin_with, store_exec_batch and store_commit. On DS_OK
 * every item's *out is set; on error none is. *lead_res (if lead_res) gets
 * the lead's result when the lead succeeded, else NULL. */
static ds_status pipeline(store_conn *c, const char *lead, const store_batch_item *items, int n,
                          PGresult **lead_res, ds_error *err)
{
    const char *what = lead != NULL ? lead : "batch";
    ds_status status = DS_OK;
    bool sent;
    PGresult *res;

    if (lead_res != NULL)
        *lead_res = NULL;
    for (int i = 0; i < n; i++)
        if (items[i].out != NULL)
            *items[i].out = NULL;
    for (int i = 0; status == DS_OK && i < n; i++)
        status = ensure_prepared(c, items[i].stmt, err);
    if (status != DS_OK)
        return status;
    sent = PQenterPipelineMode(c->pg) == 1 &&
           (lead == NULL || PQsendQueryParams(c->pg, lead, 0, NULL, NULL, NULL, NULL, 0) == 1);
    for (int i = 0; sent && i < n; i++)
        sent = PQsendQueryPrepared(c->pg, items[i].stmt->name, items[i].nparams, items[i].values,
                                   NULL, NULL, 0) == 1;
    if (sent)
        sent = PQpipelineSync(c->pg) == 1;
    if (!sent) {
        c->broken = true;
        return conn_fail(c, NULL, what, err);
    }
    /* the lead, the statements, then the sync point: read them all, in
     * order; after a failure the server skips the rest (PGRES_PIPELINE_ABORTED) */
    for (int i = lead != NULL ? -1 : 0; i < n; i++) {
        ExecStatusType rs;

        res = pipeline_result(c);
        rs = PQresultStatus(res);
        if (res == NULL) {
            c->broken = true;
            if (status == DS_OK)
                status = conn_fail(c, NULL, i < 0 ? what : items[i].stmt->name, err);
            break;
        }
        if (status == DS_OK && rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
            status = conn_fail(c, res, i < 0 ? what : items[i].stmt->name, err);
        if (status == DS_OK && i < 0 && lead_res != NULL)
            *lead_res = res;
        else if (status == DS_OK && i >= 0 && items[i].out != NULL)
            *items[i].out = res;
        else
            PQclear(res);
    }
    res = c->broken ? NULL : PQgetResult(c->pg);
    if (PQresultStatus(res) != PGRES_PIPELINE_SYNC)
        c->broken = true;
    PQclear(res);
    if (PQexitPipelineMode(c->pg) != 1)
        c->broken = true;
    if (status == DS_OK && c->broken)
        status = conn_fail(c, NULL, what, err);
    for (int i = 0; status != DS_OK && i < n; i++)
        if (items[i].out != NULL) {
            PQclear(*items[i].out);
            *items[i].out = NULL;
        }
    return status;
}

ds_status store_begin_with(store_conn *c, const store_batch_item *items, int n, ds_error *err)
{
    c->n_notify = 0;
    return pipeline(c, "BEGIN", items, n, NULL, err);
}

ds_status store_exec_batch(store_conn *c, const store_batch_item *items, int n, ds_error *err)
{
    return pipeline(c, NULL, items, n, NULL, err);
}

static const store_stmt stmt_notify = {"store_notify", "SELECT pg_notify($1, $2)"};

ds_status store_commit(store_conn *c, ds_error *err)
{
    store_batch_item items[STORE_NOTIFY_MAX];
    const char *values[STORE_NOTIFY_MAX][2];
    int n = c->n_notify;
    PGresult *res = NULL;
    ds_status status = DS_OK;
    ds_error e;

    c->n_notify = 0;
    if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        store_rollback(c);
        return ds_error_set(err, DS_ERR_ABORTED, "transaction was rolled back after an error");
    }
    if (n == 0) {
        res = PQexec(c->pg, "COMMIT");
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            status = conn_fail(c, res, "COMMIT", err);
    } else {
        /* COMMIT, then the notifications as one implicit transaction of
         * their own (the statements up to the sync point); if the COMMIT
         * fails the server skips them */
        for (int i = 0; i < n; i++) {
            values[i][0] = c->notify[i].channel;
            values[i][1] = c->notify[i].payload;
            items[i] = (store_batch_item){.stmt = &stmt_notify, .nparams = 2, .values = values[i]};
        }
        ds_error_clear(&e);
        status = pipeline(c, "COMMIT", items, n, &res, &e);
        if (res != NULL) /* committed; a failed notification is a lost hint, not an error */
            status = DS_OK;
        else if (err != NULL)
            *err = e;
        if (res == NULL && !c->broken && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
            store_rollback(c); /* failed before the COMMIT was sent */
    }
    if (status == DS_OK && strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
        status = ds_error_set(err, DS_ERR_ABORTED, "transaction was rolled back");
    PQclear(res);
    return status;
}

void store_rollback(store_conn *c)
{
    PGresult *res;

    if (c == NULL)
        return;
    c->n_notify = 0;
    if (c->pg == NULL || PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        return;
    res = PQexec(c->pg, "ROLLBACK");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        c->broken = true;
    PQclear(res);
}

ds_status store_notify(store_conn *c, const char *channel, const char *payload, ds_error *err)
{
    const char *v[2] = {channel, payload != NULL ? payload : ""};
    size_t clen = channel != NULL ? strlen(channel) : 0;
    int i;

    if (clen == 0 || clen > STORE_NOTIFY_CHANNEL_MAX)
        return ds_error_set(err, DS_ERR_INVALID, "notification channel must be 1-%d bytes",
                            STORE_NOTIFY_CHANNEL_MAX);
    if (PQtransactionStatus(c->pg) != PQTRANS_INTRANS || strlen(v[1]) > STORE_NOTIFY_PAYLOAD_MAX)
        return store_exec(c, &stmt_notify, 2, v, NULL, err);
    for (i = 0; i < c->n_notify; i++)
        if (strcmp(c->notify[i].channel, channel) == 0 && strcmp(c->notify[i].payload, v[1]) == 0)
            return DS_OK;
    if (c->n_notify == STORE_NOTIFY_MAX)
        return store_exec(c, &stmt_notify, 2, v, NULL, err);
    memcpy(c->notify[i].channel, channel, clen + 1);
    memcpy(c->notify[i].payload, v[1], strlen(v[1]) + 1);
    c->n_notify++;
    return DS_OK;
}

const char *store_last_sqlstate(const store_conn *c)
{
    return c->sqlstate;
}

const char *store_last_constraint(const store_conn *c)
{
    return c->constraint;
}

PGconn *store_conn_pg(store_conn *c)
{
    return c->pg;
}

ds_status store_ping(store_pool *p, ds_error *err)
{
    store_conn *c = NULL;
    ds_status st;
    ds_error e;

    ds_error_clear(&e);
    st = store_acquire(p, now_ms() + 1000, &c, &e);
    if (st == DS_OK)
        st = store_exec_sql(c, "SELECT 1", &e);
    store_release(p, c);
    if (st == DS_OK || st == DS_ERR_RESOURCE_EXHAUSTED)
        return st == DS_OK ? DS_OK : ds_error_set(err, st, "%s", e.message);
    return ds_error_set(err, DS_ERR_UNAVAILABLE, "%s", e.message);
}
