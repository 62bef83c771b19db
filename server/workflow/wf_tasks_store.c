/* wf_tasks_store.c - the task engine's SQL: claim, fenced updates, sweep,
 * exhaustion and scheduling on the `tasks` table. */
#include "wf_tasks_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_row.h"

/* Rows to fence, as three parallel arrays: $1 uuid[], $2 int8[], $3 int4[]. */
#define REFS_SQL "unnest($1::uuid[], $2::int8[], $3::int4[]) AS d(shop_id, task_id, attempt)"
/* Only running tasks have a lease owner (a CHECK in 0004_tasks.sql), so the
 * owner test is the state test; leaving `state = 'running'` out keeps the
 * planner on the primary key instead of the tasks_lease index, whose dead
 * entries make a scan of it slow while a large backlog drains. */
#define FENCE_SQL                                                                                \
    "t.shop_id = d.shop_id AND t.task_id = d.task_id AND t.attempt = d.attempt"                  \
    " AND t.lease_owner = $4"
#define MS_SQL(p) "(" p "::int8 * interval '1 millisecond')"

/* The picked rows are found again by their physical address (a TID scan)
 * rather than through the primary key: this statement holds their row locks
 * from the FOR UPDATE on, so no one can move them in between, and the
 * claim saves one index descent per row. */
static const store_stmt stmt_claim = {
    "wf_claim",
    "WITH picked AS MATERIALIZED ("
    " SELECT ctid AS tid FROM tasks"
    " WHERE state = 'available' AND run_at <= now() AND kind = ANY($3::text[])"
    " ORDER BY run_at, task_id LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " UPDATE tasks t SET state = 'running', attempt = t.attempt + 1, lease_owner = $1,"
    " lease_until = now() + " MS_SQL("$4") " FROM picked"
    " WHERE t.ctid = picked.tid"
    " RETURNING t.shop_id, t.task_id, t.attempt, t.max_attempts, t.kind, t.key, t.payload,"
    " t.last_error"};

/* The end of a run deletes the task; a task whose key was scheduled again
 * while it ran (rerun_at, 0012_task_rerun.sql) comes back as a fresh task
 * in the same statement. The deleted row is the newest version even when a
 * schedule set rerun_at while the DELETE waited for its lock, so no rerun
 * is lost. These statements return (runs ended, reruns due now). */
#define GONE_SQL "RETURNING t.shop_id, t.kind, t.key, t.payload, t.max_attempts, t.rerun_at"
#define RERUN_SQL                                                                                \
    " again AS (INSERT INTO tasks (shop_id, kind, key, payload, run_at, max_attempts)"          \
    " SELECT shop_id, kind, key, payload, rerun_at, max_attempts FROM gone"                     \
    " WHERE rerun_at IS NOT NULL"                                                               \
    " ON CONFLICT (shop_id, kind, key) WHERE key IS NOT NULL DO NOTHING"                        \
    " RETURNING run_at <= now() AS due)"                                                        \
    " SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM again WHERE due)"

/* Batched completion, in two statements so that the common case stays a
 * plain DELETE: the first leaves rows with rerun_at (also one whose
 * rerun_at a schedule committed while the DELETE waited for it: the
 * recheck of the newer version fails), the second, only sent when the
 * first deleted fewer rows than asked, ends those with their reruns. */
static const store_stmt stmt_complete = {
    "wf_complete", "DELETE FROM tasks t USING " REFS_SQL " WHERE " FENCE_SQL
                   " AND t.rerun_at IS NULL RETURNING t.task_id"};

static const store_stmt stmt_complete_rerun = {
    "wf_complete_rerun", "WITH gone AS (DELETE FROM tasks t USING " REFS_SQL " WHERE " FENCE_SQL
                         " " GONE_SQL ")," RERUN_SQL};

static const store_stmt stmt_release = {
    "wf_release",
    "UPDATE tasks t SET state = 'available', attempt = t.attempt - 1, lease_owner = NULL,"
    " lease_until = NULL, rerun_at = NULL FROM " REFS_SQL " WHERE " FENCE_SQL
    " RETURNING t.task_id"};

static const store_stmt stmt_heartbeat = {
    "wf_heartbeat",
    "UPDATE tasks t SET lease_until = now() + " MS_SQL("$5") " FROM ("
    " SELECT t.shop_id, t.task_id FROM tasks t JOIN " REFS_SQL " ON " FENCE_SQL
    " FOR UPDATE OF t SKIP LOCKED) s"
    " WHERE t.shop_id = s.shop_id AND t.task_id = s.task_id"};

static const store_stmt stmt_reschedule = {
    "wf_reschedule",
    "UPDATE tasks SET state = 'available', run_at = least(now() + " MS_SQL("$5") ", rerun_at),"
    " last_error = coalesce($6, last_error), attempt = attempt - $7::int4,"
    " lease_owner = NULL, lease_until = NULL, rerun_at = NULL"
    " WHERE shop_id = $1 AND task_id = $2 AND attempt = $3 AND lease_owner = $4"};

static const store_stmt stmt_reclaim = {
    "wf_reclaim",
    "UPDATE tasks t SET state = 'available', lease_owner = NULL, lease_until = NULL,"
    " rerun_at = NULL,"
    " last_error = 'lease of ' || t.lease_owner || ' lapsed during attempt ' || t.attempt"
    " FROM (SELECT shop_id, task_id FROM tasks WHERE state = 'running' AND lease_until < now()"
    " ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED) s"
    " WHERE t.shop_id = s.shop_id AND t.task_id = s.task_id"};

static const store_stmt stmt_exhaust = {
    "wf_exhaust",
    "WITH gone AS (DELETE FROM tasks t WHERE shop_id = $1 AND task_id = $2 AND attempt = $3"
    " AND lease_owner = $4 " GONE_SQL ", t.task_id, t.created_at),"
    " hist AS (INSERT INTO task_history (shop_id, task_id, kind, key, outcome, attempts,"
    " last_error, created_at) SELECT shop_id, task_id, kind, key, $5, $3, $6, created_at"
    " FROM gone)," RERUN_SQL};

static const store_stmt stmt_take = {
    "wf_take", "WITH gone AS (DELETE FROM tasks t WHERE shop_id = $1 AND task_id = $2"
               " AND attempt = $3 AND lease_owner = $4 " GONE_SQL ")," RERUN_SQL};

static const store_stmt stmt_schedule = {
    "wf_schedule",
    "WITH ins AS (INSERT INTO tasks (shop_id, kind, key, payload, run_at, max_attempts)"
    " VALUES ($1, $2, $3, $4::bytea, now() + " MS_SQL("$5") ", $6)"
    " ON CONFLICT (shop_id, kind, key) WHERE key IS NOT NULL"
    " DO UPDATE SET rerun_at = least(tasks.rerun_at, EXCLUDED.run_at)"
    " WHERE tasks.state = 'running'"
    " RETURNING rerun_at IS NULL AS created, run_at <= now() AS due)"
    " SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE created AND due) FROM ins"};

static const store_stmt stmt_run_now = {
    "wf_run_now",
    "WITH live AS (SELECT 1 FROM tasks WHERE shop_id = $1 AND kind = $2 AND key = $3),"
    " u AS (UPDATE tasks SET run_at = CASE state WHEN 'available' THEN now() ELSE run_at END,"
    " rerun_at = CASE state WHEN 'running' THEN least(rerun_at, now()) END"
    " WHERE shop_id = $1 AND kind = $2 AND key = $3"
    " AND ((state = 'available' AND run_at > now()) OR state = 'running')"
    " RETURNING state = 'available' AS due)"
    " SELECT (SELECT count(*) FROM live), (SELECT count(*) FROM u WHERE due)"};

bool wf_store_kind_ok(const char *s)
{
    size_t n = s != NULL ? strnlen(s, WF_KIND_MAX + 1) : 0;

    if (n == 0 || n > WF_KIND_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                  ch == '.' || ch == ':' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

char *wf_store_kinds_literal(const char *const *names, int n)
{
    size_t cap = 3;
    size_t len = 0;
    char *buf;

    for (int i = 0; i < n; i++)
        cap += strlen(names[i]) + 3;
    buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    buf[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s\"%s\"", i > 0 ? "," : "", names[i]);
    buf[len++] = '}';
    buf[len] = '\0';
    return buf;
}

/* The three array literals of refs ("{...}"), malloc'ed into a[0..2]. */
static ds_status refs_literals(const wf_ref *refs, int n, char *a[3], ds_error *err)
{
    size_t caps[3] = {3 + (size_t)n * 38, 3 + (size_t)n * 21, 3 + (size_t)n * 12};
    size_t lens[3] = {1, 1, 1};

    for (int k = 0; k < 3; k++) {
        a[k] = malloc(caps[k]);
        if (a[k] == NULL) {
            for (int j = 0; j < k; j++)
                free(a[j]);
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory fencing %d tasks", n);
        }
        a[k][0] = '{';
    }
    for (int i = 0; i < n; i++) {
        const char *sep = i > 0 ? "," : "";
        lens[0] += (size_t)snprintf(a[0] + lens[0], caps[0] - lens[0], "%s%s", sep,
                                    refs[i].shop_id);
        lens[1] += (size_t)snprintf(a[1] + lens[1], caps[1] - lens[1], "%s%" PRId64, sep,
                                    refs[i].task_id);
        lens[2] += (size_t)snprintf(a[2] + lens[2], caps[2] - lens[2], "%s%d", sep,
                                    refs[i].attempt);
    }
    for (int k = 0; k < 3; k++)
        snprintf(a[k] + lens[k], caps[k] - lens[k], "}");
    return DS_OK;
}

/* The result of a statement ending runs (GONE_SQL, RERUN_SQL): *ended =
 * runs ended (may be NULL). A rerun due now wakes the engines (none for a
 * later one, like a schedule): store_notify, at once outside a
 * transaction, else right after its commit. */
static ds_status runs_ended(store_conn *c, const PGresult *res, int *ended, ds_error *err)
{
    if (ended != NULL)
        *ended = (int)store_row_int64(res, 0, 0, 0);
    return store_row_int64(res, 0, 1, 0) > 0 ? store_notify(c, WF_CHANNEL, "", err) : DS_OK;
}

/* Run a batched fenced statement: $1..$3 refs, $4 owner, $5 extra (may be
 * NULL). *rows = affected rows, or for a statement ending runs (`ends`)
 * the runs ended. */
static ds_status exec_refs(store_conn *c, const store_stmt *st, const char *owner,
                           const wf_ref *refs, int n, const char *extra, bool ends, int *rows,
                           ds_error *err)
{
    char *a[3] = {NULL, NULL, NULL};
    PGresult *res = NULL;
    ds_status status;

    if (rows != NULL)
        *rows = 0;
    if (n <= 0)
        return DS_OK;
    if (n > WF_STORE_BATCH_MAX)
        return ds_error_set(err, DS_ERR_INVALID, "batch of %d tasks is over %d", n,
                            WF_STORE_BATCH_MAX);
    status = refs_literals(refs, n, a, err);
    if (status != DS_OK)
        return status;
    {
        const char *params[5] = {a[0], a[1], a[2], owner, extra};
        status = store_exec(c, st, extra != NULL ? 5 : 4, params, &res, err);
    }
    if (status == DS_OK && ends)
        status = runs_ended(c, res, rows, err);
    else if (status == DS_OK && rows != NULL)
        *rows = (int)strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    for (int k = 0; k < 3; k++)
        free(a[k]);
    return status;
}

ds_status wf_store_complete(store_conn *c, const char *owner, const wf_ref *refs, int n,
                            int *held, ds_error *err)
{
    int more = 0;
    ds_status st = exec_refs(c, &stmt_complete, owner, refs, n, NULL, false, held, err);

    if (st == DS_OK && *held < n)
        st = exec_refs(c, &stmt_complete_rerun, owner, refs, n, NULL, true, &more, err);
    *held += more;
    return st;
}

ds_status wf_store_release(store_conn *c, const char *owner, const wf_ref *refs, int n,
                           int *released, ds_error *err)
{
    return exec_refs(c, &stmt_release, owner, refs, n, NULL, false, released, err);
}

ds_status wf_store_heartbeat(store_conn *c, const char *owner, const wf_ref *refs, int n,
                             int lease_ms, ds_error *err)
{
    char lease[24];

    return exec_refs(c, &stmt_heartbeat, owner, refs, n, store_param_int64(lease, lease_ms),
                     false, NULL, err);
}

/* Copy one claimed row into a single malloc'ed block. */
static wf_claimed *claimed_from_row(const PGresult *r, int row)
{
    const char *kind = store_row_text(r, row, 4);
    const char *key = store_row_text(r, row, 5);
    const char *payload = store_row_text(r, row, 6);
    const char *lerr = store_row_text(r, row, 7);
    size_t plen = payload != NULL ? strlen(payload) / 2 : 0; /* upper bound of the bytes */
    size_t size = sizeof(wf_claimed) + strlen(kind) + 1 + (key ? strlen(key) + 1 : 0) + plen +
                  1 + (lerr ? strlen(lerr) + 1 : 0);
    wf_claimed *t = calloc(1, size);
    char *p;

    if (t == NULL)
        return NULL;
    p = (char *)(t + 1);
    snprintf(t->ref.shop_id, sizeof(t->ref.shop_id), "%s", store_row_text(r, row, 0));
    t->ref.task_id = store_row_int64(r, row, 1, 0);
    t->ref.attempt = store_row_int32(r, row, 2, 0);
    t->max_attempts = store_row_int32(r, row, 3, 1);
    t->kind = p;
    p = stpcpy(p, kind) + 1;
    if (key != NULL) {
        t->key = p;
        p = stpcpy(p, key) + 1;
    }
    if (payload != NULL) {
        size_t n = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)payload, &n);
        if (raw == NULL || n > plen) {
            PQfreemem(raw);
            free(t);
            return NULL;
        }
        t->payload = (uint8_t *)p;
        memcpy(p, raw, n);
        t->payload_len = n;
        PQfreemem(raw);
        p += plen + 1;
    }
    if (lerr != NULL) {
        t->last_error = p;
        stpcpy(p, lerr);
    }
    return t;
}

ds_status wf_store_claim(store_conn *c, const char *owner, const char *kinds, int limit,
                         int lease_ms, wf_claimed ***out, int *n, ds_error *err)
{
    char lim[24], lease[24];
    const char *params[4] = {owner, store_param_int64(lim, limit), kinds,
                             store_param_int64(lease, lease_ms)};
    PGresult *res = NULL;
    wf_claimed **v = NULL;
    ds_status st;
    int rows;

    *out = NULL;
    *n = 0;
    st = store_exec(c, &stmt_claim, 4, params, &res, err);
    if (st != DS_OK)
        return st;
    rows = PQntuples(res);
    if (rows > 0)
        v = calloc((size_t)rows, sizeof(*v));
    if (rows > 0 && v == NULL) {
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory claiming %d tasks", rows);
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        v[i] = claimed_from_row(res, i);
        if (v[i] == NULL) {
            /* The claimed rows stay leased; the sweep hands them out again. */
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory reading a claimed task");
            for (int j = 0; j < i; j++)
                free(v[j]);
            free(v);
            v = NULL;
            goto out;
        }
    }
    *out = v;
    *n = rows;
out:
    PQclear(res);
    return st;
}

ds_status wf_store_reschedule(store_conn *c, const char *owner, const wf_ref *ref,
                              int64_t delay_ms, const char *error, bool give_back, bool *held,
                              ds_error *err)
{
    char id[24], att[24], delay[24];
    const char *params[7] = {ref->shop_id, store_param_int64(id, ref->task_id),
                             store_param_int64(att, ref->attempt), owner,
                             store_param_int64(delay, delay_ms), error, give_back ? "1" : "0"};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_reschedule, 7, params, &res, err);

    *held = st == DS_OK && strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return st;
}

ds_status wf_store_reclaim(store_conn *c, int limit, int *n, ds_error *err)
{
    char lim[24];
    const char *params[1] = {store_param_int64(lim, limit)};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_reclaim, 1, params, &res, err);

    *n = st == DS_OK ? (int)strtol(PQcmdTuples(res), NULL, 10) : 0;
    PQclear(res);
    return st;
}

ds_status wf_store_exhaust(store_conn *c, const char *owner, const wf_ref *ref,
                           const char *outcome, const char *error, bool *held, ds_error *err)
{
    char id[24], att[24];
    const char *params[6] = {ref->shop_id, store_param_int64(id, ref->task_id),
                             store_param_int64(att, ref->attempt), owner, outcome, error};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_exhaust, 6, params, &res, err);
    int ended = 0;

    if (st == DS_OK)
        st = runs_ended(c, res, &ended, err);
    *held = st == DS_OK && ended == 1;
    PQclear(res);
    return st;
}

store_batch_item wf_store_take_item(const char *owner, const wf_ref *ref, wf_take_args *args,
                                    PGresult **res)
{
    store_batch_item item = {.stmt = &stmt_take, .nparams = 4, .values = args->params, .out = res};

    args->params[0] = ref->shop_id;
    args->params[1] = store_param_int64(args->id, ref->task_id);
    args->params[2] = store_param_int64(args->attempt, ref->attempt);
    args->params[3] = owner;
    return item;
}

ds_status wf_store_took(store_conn *c, const PGresult *res, bool *took, ds_error *err)
{
    int ended = 0;
    ds_status st = res != NULL ? runs_ended(c, res, &ended, err) : DS_OK;

    *took = st == DS_OK && ended == 1;
    return st;
}

/* Check a task before it reaches the database. */
static ds_status check_new_task(const wf_new_task *t, ds_error *err)
{
    if (t == NULL || t->shop_id == NULL || strlen(t->shop_id) != 36)
        return ds_error_set(err, DS_ERR_INVALID, "task: shop_id must be a uuid");
    if (!wf_store_kind_ok(t->kind))
        return ds_error_set(err, DS_ERR_INVALID, "task: bad kind name");
    if (t->key != NULL && (t->key[0] == '\0' || strnlen(t->key, WF_KEY_MAX + 1) > WF_KEY_MAX))
        return ds_error_set(err, DS_ERR_INVALID, "task: key must be 1..%d bytes", WF_KEY_MAX);
    if (t->payload_len > WF_PAYLOAD_MAX || (t->payload == NULL && t->payload_len > 0))
        return ds_error_set(err, DS_ERR_INVALID, "task: payload over %d bytes", WF_PAYLOAD_MAX);
    if (t->delay_ms < 0 || t->max_attempts < 0 || t->max_attempts > 1000)
        return ds_error_set(err, DS_ERR_INVALID, "task: bad delay or max_attempts");
    return DS_OK;
}

/* "\x..." hex text of a payload, malloc'ed; NULL payload gives NULL. */
static char *payload_hex(const uint8_t *p, size_t n, bool *nomem)
{
    static const char digits[] = "0123456789abcdef";
    char *s;

    *nomem = false;
    if (p == NULL)
        return NULL;
    s = malloc(2 * n + 3);
    if (s == NULL) {
        *nomem = true;
        return NULL;
    }
    s[0] = '\\';
    s[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        s[2 + 2 * i] = digits[p[i] >> 4];
        s[3 + 2 * i] = digits[p[i] & 15];
    }
    s[2 + 2 * n] = '\0';
    return s;
}

ds_status wf_store_schedule(store_conn *c, const wf_new_task *t, bool notify, bool *created,
                            bool *notified, ds_error *err)
{
    char delay[24], maxa[24];
    bool nomem = false;
    char *hex = NULL;
    PGresult *res = NULL;
    ds_status st = check_new_task(t, err);

    if (created != NULL)
        *created = false;
    if (notified != NULL)
        *notified = false;
    if (st != DS_OK)
        return st;
    hex = payload_hex(t->payload, t->payload_len, &nomem);
    if (nomem)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory scheduling a task");
    {
        int ma = t->max_attempts > 0 ? t->max_attempts : WF_DEFAULT_MAX_ATTEMPTS;
        const char *params[6] = {t->shop_id, t->kind, t->key, hex,
                                 store_param_int64(delay, t->delay_ms),
                                 store_param_int64(maxa, ma)};
        st = store_exec(c, &stmt_schedule, 6, params, &res, err);
    }
    if (st == DS_OK && created != NULL)
        *created = store_row_int64(res, 0, 0, 0) > 0;
    if (st == DS_OK && notify && store_row_int64(res, 0, 1, 0) > 0) {
        st = store_notify(c, WF_CHANNEL, "", err);
        if (st == DS_OK && notified != NULL)
            *notified = true;
    }
    PQclear(res);
    free(hex);
    return st;
}

ds_status wf_store_run_now(store_conn *c, const char *shop_id, const char *kind, const char *key,
                           bool *found, ds_error *err)
{
    const char *params[3] = {shop_id, kind, key};
    PGresult *res = NULL;
    ds_status st = DS_OK;

    *found = false;
    if (shop_id == NULL || key == NULL || !wf_store_kind_ok(kind))
        return ds_error_set(err, DS_ERR_INVALID, "run now: shop, kind and key are required");
    st = store_exec(c, &stmt_run_now, 3, params, &res, err);
    if (st == DS_OK)
        *found = store_row_int64(res, 0, 0, 0) > 0;
    if (st == DS_OK && store_row_int64(res, 0, 1, 0) > 0)
        st = store_notify(c, WF_CHANNEL, "", err);
    PQclear(res);
    return st;
}
