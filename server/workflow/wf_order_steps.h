/* wf_order_steps.h - the order workflow's steps as task handlers (internal
 * to wf_order_runtime.c and wf_order_steps*.c).
 *
 * Each handler reads what it needs through the runtime's pool, talks to
 * the supplier or courier outside any transaction (idempotency keys derived
 * from the order and supplier ids), then commits the outcome with the
 * engine's outbox: lock the order, write rows, wf_order_apply, complete the
 * task, all in one transaction.
 */
#ifndef WF_ORDER_STEPS_H
#define WF_ORDER_STEPS_H

#include <jansson.h>

#include "ad_http.h"
#include "ad_op.h"
#include "ad_supplier.h"
#include "ad_tracking.h"
#include "store_supplier_orders.h"
#include "wf_engine.h"
#include "wf_order_fsm.h"
#include "wf_order_runtime.h"

typedef struct wf_order_env {
    store_pool *pool;
    ad_http *http;
    wf_order_settings set;
} wf_order_env;

/* d scaled by the time scale (at least 1 ms). */
int64_t wf_order_scaled(const wf_order_env *env, int64_t d);

/* Writes of a step inside its transaction, after the order row is locked
 * into *cur. Return DS_OK with nothing written when the order has moved on. */
typedef ds_status (*wf_step_write_fn)(store_conn *tx, const char *shop_id, const char *order_id,
                                      wf_order_cur *cur, void *arg, ds_error *err);

/* Begin the outbox transaction, lock the order, run fn, commit and
 * complete the task; any failure rolls back and sets res to WF_RETRY. */
void wf_step_commit(wf_ctx *ctx, const wf_task *t, const char *order_id, wf_step_write_fn fn,
                    void *arg, wf_result *res);

/* The order's current state (no lock). */
ds_status wf_step_state(wf_order_env *env, const char *shop_id, const char *order_id,
                        int32_t *state, ds_error *err);

/* store_so_view_get through the pool (no lock): the order's state, supplier
 * orders and their suppliers' settings in one round trip. The caller
 * store_so_view_free()s *v, also after an error. */
ds_status wf_step_view(wf_order_env *env, const char *shop_id, const char *order_id,
                       store_so_view *v, ds_error *err);

/* The settings of supplier_id in v; DS_ERR_NOT_FOUND when it is gone. */
ds_status wf_view_supplier(const store_so_view *v, const char *supplier_id,
                           const store_so_supplier **s, ds_error *err);

/* Requests one supplier's API (or its courier integration) may have in
 * flight at once, from this process. A call not sent within the settings'
 * adapter_queue_ms (its endpoint paused, out of tokens or at this cap)
 * gives its worker thread back: wf_ad_finish notes it (wf_defer_note) and
 * the step, failing as for any transient error, is snoozed by the engine
 * for the endpoint's estimate (at least WF_DEFER_MIN_MS; WF_DEFER_AT_CAP_MS
 * when only the concurrency cap held it) without spending an attempt. */
enum { WF_SUPPLIER_CONCURRENCY = 32, WF_DEFER_MIN_MS = 200, WF_DEFER_AT_CAP_MS = 1000 };

/* Adapters for a supplier: *out NULL for MANUAL suppliers (no API), and
 * for tracking when the supplier has no tracking configured. Each supplier
 * is a limit key of its own in env->http ("supplier:<id>",
 * "tracking:<id>"): its configured rate limit (adapter.default_rate_limit,
 * tracking.rate_limit), WF_SUPPLIER_CONCURRENCY and its Retry-After pauses
 * apply to it alone. Errors: DS_ERR_RESOURCE_EXHAUSTED past the HTTP
 * client's endpoint cap (4096 keys per process). Free with
 * ad_supplier_free / ad_tracking_free. */
ds_status wf_adapter_supplier(wf_order_env *env, const store_so_supplier *s, ad_supplier **out,
                              ds_error *err);
ds_status wf_adapter_tracking(wf_order_env *env, const store_so_supplier *s, ad_tracking **out,
                              ds_error *err);

/* Complete a blocking adapter call started with ad_sync_done/sy: st is what
 * the start returned; *ar gets the result either way. Calls wf_defer_note
 * with when to come back if the request was never sent (ar->not_sent),
 * else clears the note. Worker threads only. */
void wf_ad_finish(ds_status st, ad_sync *sy, ad_result *ar, const ds_error *err);

/* Set res to action with a printf-style error text. */
void wf_res_set(wf_result *res, wf_action action, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A details object as JSON text (malloc'd, free()): pairs of key, value
 * strings ending with NULL. NULL on out of memory. */
char *wf_details(const char *key, ...);

/* In tx, with the order locked in *cur: when it is AWAITING_PAYMENT and
 * every live supplier order has a proof, move it to AWAITING_SHIPMENT. */
ds_status wf_order_after_paid(store_conn *tx, const char *shop_id, const char *order_id,
                              wf_order_cur *cur, const char *actor, ds_error *err);

void wf_step_verify(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg);
void wf_step_purchase(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg);
void wf_step_payment(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg);
void wf_step_payment_timer(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg);
void wf_step_return_address(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg);
void wf_step_tracking(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg);
void wf_step_complete(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg);
void wf_step_cancel(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg);

/* on_exhausted callbacks: put the order on hold (SUPPLIER_UNAVAILABLE for
 * purchase, STEP_FAILED otherwise) when it is still in the step's state. */
ds_status wf_step_purchase_exhausted(store_conn *tx, const wf_task *t, const char *error,
                                     void *arg);
ds_status wf_step_failed_exhausted(store_conn *tx, const wf_task *t, const char *error,
                                   void *arg);

#endif
