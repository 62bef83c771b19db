/* wf_tasks_store.h - every SQL statement of the task engine: claim, fenced
 * completion/retry/snooze/release, heartbeat, lapsed-lease sweep,
 * exhaustion and scheduling, over the `tasks` table of 0004_tasks.sql.
 *
 * Fence: a statement about a claimed task only touches the row if it still
 * has the same task id and attempt, is 'running' and is leased by `owner`.
 * A task whose lease lapsed and that was claimed again fails the fence, so
 * its earlier run can never complete it.
 *
 * Errors are those of store_exec. Threads: like store_conn (one thread per
 * connection); the functions keep no state.
 */
#ifndef WF_TASKS_STORE_H
#define WF_TASKS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "wf_engine.h"

enum { WF_STORE_BATCH_MAX = 4096 }; /* refs per batched statement */

/* What identifies one run of a task (the fence, with the owner). */
typedef struct wf_ref {
    char shop_id[37];
    int64_t task_id;
    int attempt;
} wf_ref;

/* A claimed row: one malloc'ed block (strings and payload inside it);
 * free() releases all of it. */
typedef struct wf_claimed {
    wf_ref ref;
    int max_attempts;
    char *kind;
    char *key;         /* NULL if none */
    uint8_t *payload;  /* NULL if none */
    size_t payload_len;
    char *last_error;  /* NULL if none */
} wf_claimed;

/* Claim up to `limit` due tasks of the given kinds (a text[] literal built
 * by wf_store_kinds_literal) for `owner` with a lease of lease_ms, in one
 * autocommit statement. *out gets a malloc'ed array of *n rows (caller
 * frees each row and the array); *out is NULL when none. */
ds_status wf_store_claim(store_conn *c, const char *owner, const char *kinds, int limit,
                         int lease_ms, wf_claimed ***out, int *n, ds_error *err);

/* Build '{"a","b"}' from kind names (which never hold quotes or
 * backslashes: wf_engine_register checks). malloc'ed; NULL on no memory. */
char *wf_store_kinds_literal(const char *const *names, int n);

/* Delete the fenced tasks (plain successes). *held = rows deleted; the
 * rest failed the fence. n <= WF_STORE_BATCH_MAX.
 *
 * Reruns: this, wf_store_exhaust and the take-over delete a task whose key
 * was scheduled again while it ran (rerun_at, 0012_task_rerun.sql) and
 * insert it afresh (attempt 0, same kind, key, payload and max_attempts,
 * due at rerun_at) in the same statement, with a NOTIFY hint when that is
 * now (store_notify). */
ds_status wf_store_complete(store_conn *c, const char *owner, const wf_ref *refs, int n,
                            int *held, ds_error *err);

/* Give fenced tasks back (available now, attempt not spent). */
ds_status wf_store_release(store_conn *c, const char *owner, const wf_ref *refs, int n,
                           int *released, ds_error *err);

/* Extend the lease of the fenced tasks that no other transaction has
 * locked. */
ds_status wf_store_heartbeat(store_conn *c, const char *owner, const wf_ref *refs, int n,
                             int lease_ms, ds_error *err);

/* Back to available at now + delay_ms, or at rerun_at when the key was
 * scheduled again meanwhile and that is sooner. error != NULL replaces
 * last_error; give_back returns the attempt (snooze). *held false = fence
 * failed. */
ds_status wf_store_reschedule(store_conn *c, const char *owner, const wf_ref *ref,
                              int64_t delay_ms, const char *error, bool give_back, bool *held,
                              ds_error *err);

/* Put up to `limit` tasks whose lease lapsed back to available (attempt
 * stays spent; a rerun asked for is dropped, the task runs again anyway).
 * *n = how many. */
ds_status wf_store_reclaim(store_conn *c, int limit, int *n, ds_error *err);

/* In the caller's transaction: delete the fenced task and record it in
 * task_history with outcome ("exhausted" or "failed") and error. */
ds_status wf_store_exhaust(store_conn *c, const char *owner, const wf_ref *ref,
                           const char *outcome, const char *error, bool *held, ds_error *err);

/* The outbox take-over as the first statement of a store_begin_with: the
 * fenced task is deleted in the caller's transaction. args holds the
 * parameters and must outlive the call; *res receives the result, and
 * wf_store_took(c, *res, &took) says whether the fence held (and queues the
 * rerun's hint on c). */
typedef struct wf_take_args {
    char id[24], attempt[24];
    const char *params[4];
} wf_take_args;
store_batch_item wf_store_take_item(const char *owner, const wf_ref *ref, wf_take_args *args,
                                    PGresult **res);
ds_status wf_store_took(store_conn *c, const PGresult *res, bool *took, ds_error *err);

/* Insert t. A live task with the same dedupe key makes it a no-op while
 * it waits; while it runs, it gets rerun_at = the least of the asked run
 * times (it runs again after this run, see wf_store_complete). *created:
 * a new row was inserted. When the new task is
 * due now and `notify` is set, NOTIFY the engine channel (store_notify: in
 * a transaction, right after its commit); *notified says whether that
 * happened (may be NULL).
 * DS_ERR_INVALID when t is malformed. */
ds_status wf_store_schedule(store_conn *c, const wf_new_task *t, bool notify, bool *created,
                            bool *notified, ds_error *err);

/* Bring the live task (shop_id, kind, key) forward: an available task
 * waiting for a later run_at becomes due now, with a NOTIFY hint
 * (store_notify); a running one runs again after this run (rerun_at =
 * now); a due one is left alone; its attempt count is kept. *found: a
 * live task with that key exists (any state).
 * DS_ERR_INVALID for a missing shop/key or a bad kind. */
ds_status wf_store_run_now(store_conn *c, const char *shop_id, const char *kind, const char *key,
                           bool *found, ds_error *err);

/* Is s a valid kind name (1..WF_KIND_MAX of [a-z0-9_.:-])? */
bool wf_store_kind_ok(const char *s);

/* The NOTIFY channel. */
#define WF_CHANNEL "ds_tasks"

#endif
