/* wf_internal.h - the task engine's shared state, seen only by its own
 * files (wf_engine.c: lifecycle and claiming; wf_worker.c: handlers,
 * settling and the outbox; wf_flush.c: batched completions and heartbeats;
 * wf_listen.c: the LISTEN connection).
 *
 * Locking: one mutex `mu` guards the queue, the lease table, the pending
 * completions, the kind counters and the flags. Database calls never happen
 * with `mu` held.
 */
#ifndef WF_INTERNAL_H
#define WF_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "wf_engine.h"
#include "wf_tasks_store.h"

typedef struct wf_kind_slot {
    wf_kind def;
    char name[WF_KIND_MAX + 1];
    int leased; /* tasks of this kind leased by this engine now */
} wf_kind_slot;

/* Where a leased task is in its life here. */
typedef enum wf_ctx_state {
    WF_CTX_QUEUED = 0, /* claimed, waiting for a worker (on e->queue) */
    WF_CTX_RUNNING,    /* its handler runs */
    WF_CTX_PENDING,    /* handler done, completion waits for the flusher */
    WF_CTX_SETTLING    /* a worker is writing its retry/snooze/exhaustion */
} wf_ctx_state;

struct wf_ctx {
    wf_engine *e;
    wf_claimed *row;     /* owned */
    wf_task task;        /* view of row for the handler */
    wf_kind_slot *kind;
    int lease_index;     /* position in e->leases */
    wf_ctx_state state;
    bool completed;      /* wf_tx_commit_complete committed */
    bool released;       /* given back at stop: its outcome no longer counts */
    bool in_tx;
};

struct wf_tx {
    wf_ctx *ctx;
    store_conn *conn;
    bool notified;
};

typedef struct wf_counters {
    atomic_uint_fast64_t claimed, executed, done, retried, snoozed, deferred, exhausted, stale,
        reclaimed, released, db_errors;
} wf_counters;

struct wf_engine {
    /* settings, resolved at wf_engine_new */
    wf_engine_config cfg;
    char *conninfo;
    char owner[128];
    store_pool *pool;     /* workers, claimer, flusher */
    store_pool *listen_pool; /* the one LISTEN connection */

    wf_kind_slot kinds[WF_KINDS_MAX];
    int n_kinds;
    char *claim_all;      /* text[] literal of the uncapped kinds, NULL if none */

    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* queue got a task, or stopping */
    pthread_cond_t claim_cv; /* claim wanted (notify, freed slots), or stopping */
    pthread_cond_t flush_cv; /* pending completions, or stopping */
    pthread_cond_t idle_cv;  /* a handler finished (stop waits on it) */

    wf_ctx **queue;          /* ring of cfg.slots */
    int q_head, q_len;
    wf_ctx **leases;         /* cfg.slots entries, NULL = free */
    int n_leased;
    int n_running;
    wf_ref *pending;         /* completions to flush (cfg.slots) */
    wf_ctx **pending_ctx;
    int n_pending;

    bool want_claim;         /* a NOTIFY came, the poll timer fired, or the last claim was full */
    bool stopping;           /* no more claims; workers take no new tasks */
    bool cancelled;          /* the grace ran out */
    bool flusher_stop;
    bool started;

    pthread_t claimer, flusher, listener;
    pthread_t *workers;

    wf_counters n;
};

/* Monotonic milliseconds. */
int64_t wf_now_ms(void);

/* A random 32-bit number (libcrypto). */
uint32_t wf_random(void);

/* Absolute CLOCK_MONOTONIC timespec ms from now, for the condition vars. */
void wf_deadline(struct timespec *ts, int64_t ms_from_now);

/* Forget a leased task: drop it from the lease table, free its slot and
 * ctx, wake the claimer. Call with e->mu held. */
void wf_lease_drop_locked(wf_engine *e, wf_ctx *ctx);

/* Thread bodies. */
void *wf_worker_main(void *arg);
void *wf_flusher_main(void *arg);
void *wf_listener_main(void *arg);

/* Give tasks back (attempt not spent); logs failures. */
void wf_release_refs(wf_engine *e, const wf_ref *refs, int n);

#endif
