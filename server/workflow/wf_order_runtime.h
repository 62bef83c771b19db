/* wf_order_runtime.h - the order workflow as a running service: its
 * settings, the task engine with the order step kinds registered, the HTTP
 * client its supplier and courier adapters share, and the hook CreateOrder
 * calls to start an order's workflow (docs/order-workflow.md).
 *
 * Threads: wf_order_runtime_start/stop on one controlling thread;
 * wf_order_on_created from any thread that owns the connection.
 */
#ifndef WF_ORDER_RUNTIME_H
#define WF_ORDER_RUNTIME_H

#include <stdint.h>

#include "ds_status.h"
#include "store.h"

/* Durations of the workflow. Production defaults come from
 * wf_order_settings_default; every duration is divided by time_scale
 * (tests run whole lifecycles in seconds), and polls never run more often
 * than min_poll_ms after scaling. */
typedef struct wf_order_settings {
    int time_scale;              /* >= 1; 1 in production */
    int workers;                 /* engine worker threads; 0 = 4 */
    int64_t min_poll_ms;         /* floor of every scaled poll delay (200) */
    int64_t offer_max_age_ms;    /* stored offers younger than this are trusted (1 h) */
    int64_t ship_poll_ms;        /* supplier poll until tracking numbers come (2 h) */
    int64_t track_poll_ms;       /* courier poll of a moving parcel (4 h) */
    int64_t track_poll_near_ms;  /* out for delivery / pickup / failed attempt (1 h) */
    int64_t track_poll_max_ms;   /* slowest poll when nothing changes (24 h) */
    int64_t return_window_ms;    /* when no return rules are bound (7 days) */
    int64_t offer_sync_ms;       /* offer sync interval per supplier (15 min) */
    int purchase_attempts;       /* tries of the purchase step before the order is held
                                    SUPPLIER_UNAVAILABLE (8); 0 = default */
    int lease_ms;                /* task lease; 0 = the engine's default (30 s) */
    int step_attempts;           /* tries of every other step (payment, return address,
                                    tracking, cancel, verify) before STEP_FAILED (12) */
    int64_t escalate_after_ms;   /* a parcel unchanged this long opens a case (10 days) */
    int adapter_queue_ms;        /* longest wait of a supplier or courier call for its
                                    endpoint's limits before the step gives its worker
                                    back and snoozes (2000); real time, not scaled */
} wf_order_settings;

void wf_order_settings_default(wf_order_settings *s);

typedef struct wf_order_runtime wf_order_runtime;

/* Create the engine (own connections from conninfo), register the order
 * kinds, start it. `pool` serves the steps' reads and must outlive the
 * runtime. NULL + err on failure. */
wf_order_runtime *wf_order_runtime_start(store_pool *pool, const char *conninfo,
                                         const wf_order_settings *s, ds_error *err);

/* Stop the engine (running steps get grace_ms), free everything. NULL is a
 * no-op. */
void wf_order_runtime_stop(wf_order_runtime *rt, int grace_ms);

/* The time scale of the running workflow (1 when none runs), for callers
 * that schedule timers (ResolveHold restarting the payment timer). */
int wf_order_time_scale(void);

/* Attempts a task of order step `kind` gets (the running workflow's
 * purchase_attempts / step_attempts; the defaults when none runs). */
int wf_order_max_attempts(const char *kind);

/* Start the workflow of an order just created in tx (CreateOrder's
 * transaction): schedules its verify step. */
ds_status wf_order_on_created(store_conn *tx, const char *shop_id, const char *order_id,
                              ds_error *err);

#endif
