/* wf_case_tasks.h - the task kinds of the after-sales case workflow and
 * the calls that schedule them inside a case transaction.
 *
 * Kinds (keys "case:<case_id>:<step>[:<refund_id>]", so a step is never
 * queued twice for one case):
 *   case.return_tracking  polls the buyer's return parcel through the
 *                         supplier's courier adapter (ad_tracking.h) until
 *                         it is DELIVERED, then marks the return received.
 *   case.supplier_dispute opens the dispute of a DISPUTE case with the
 *                         supplier (POST /v1/orders/{id}/disputes), then
 *                         follows its status.
 *   case.supplier_refund  claims a SUPPLIER-paid refund from the supplier
 *                         (POST /v1/orders/{id}/refunds).
 * Supplier calls carry Idempotency-Key "<case_id>:dispute" and
 * "<case_id>:refund:<refund_id>": a repeated attempt, also after a crash,
 * has the supplier's effect once.
 *
 * wf_case_register adds case.return_tracking to an engine and
 * wf_case_supplier_register (wf_case_supplier.h) the two supplier kinds;
 * wf_order_runtime.c calls both with the order workflow's env. Threads: as
 * wf_engine.h.
 */
#ifndef WF_CASE_TASKS_H
#define WF_CASE_TASKS_H

#include <stdint.h>

#include "ds_status.h"
#include "store.h"
#include "wf_engine.h"

#define WF_CASE_KIND_RETURN "case.return_tracking"
#define WF_CASE_KIND_DISPUTE "case.supplier_dispute"
#define WF_CASE_KIND_REFUND "case.supplier_refund"

struct wf_order_env;

/* Schedule step `kind` of the case in tx; `sub` (NULL = none) is appended
 * to the key (the refund id). A waiting task with that key makes it a
 * no-op, a running one runs once more after (wf_schedule_in). */
ds_status wf_case_schedule(store_conn *tx, const char *shop_id, const char *case_id,
                           const char *kind, const char *sub, int64_t delay_ms, ds_error *err);

/* Register the case kinds on engine e; env must outlive it. */
/* on_exhausted of every case task kind: a task that used its last attempt
 * is not dropped silently - the case gets a CASE_STATE_CHANGED event
 * (state unchanged, actor SYSTEM "workflow") with details step, gave_up,
 * attempts and error, on the order's history and event stream, for a
 * person to take over. Nothing for a case that is gone or finished. */
ds_status wf_case_task_exhausted(store_conn *tx, const wf_task *t, const char *error, void *arg);

ds_status wf_case_register(wf_engine *e, struct wf_order_env *env, ds_error *err);

#endif
