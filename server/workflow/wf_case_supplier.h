/* wf_case_supplier.h - the supplier side of after-sales cases: the task
 * kinds case.supplier_dispute and case.supplier_refund (reserved in
 * wf_case_tasks.h) and the calls that schedule them.
 *
 *   case.supplier_dispute  (key "case:<id>:supplier_dispute"), scheduled
 *       when a DISPUTE case is approved: opens the dispute at the supplier
 *       through its adapter (Idempotency-Key "<case_id>:dispute"), then
 *       polls it every ship_poll_ms (scaled, >= min_poll_ms) until ACCEPTED,
 *       REJECTED or REFUNDED. Every change the supplier reports is written
 *       to the case (Case.supplier_dispute) with a CASE_STATE_CHANGED event
 *       (same state, actor ADAPTER "supplier:<id>"). REFUNDED also records
 *       a Refund with payer SUPPLIER (reference and supplier_refund_id = the
 *       supplier's transaction id) and moves the case to REFUNDED when its
 *       state allows, once.
 *   case.supplier_refund   (key "case:<id>:supplier_refund:<refund_id>"),
 *       scheduled by RecordRefund with payer SUPPLIER in its transaction:
 *       claims the refund's amount (capped at what was paid for the
 *       supplier order, same currency) with Idempotency-Key
 *       "<case_id>:refund:<refund_id>" and writes the supplier's
 *       transaction id (status REFUNDED) or its refusal (FAILED) on the
 *       refund row, with an event.
 * Suppliers without an adapter (MANUAL) or whose adapter cannot (CJ) get
 * status MANUAL once, with an event: a person handles them as before.
 * A 4xx answer is final (status FAILED, message kept); 5xx/429/transport
 * errors retry with the engine's backoff.
 *
 * Threads: as wf_engine.h; the schedule calls from any thread owning tx.
 */
#ifndef WF_CASE_SUPPLIER_H
#define WF_CASE_SUPPLIER_H

#include "ds_status.h"
#include "store.h"
#include "wf_case_fsm.h"
#include "wf_engine.h"

struct wf_order_env;

/* In the approval's tx: schedule the dispute task when cur is a DISPUTE
 * case (no-op for the other types). */
ds_status wf_case_supplier_on_approved(store_conn *tx, const char *shop_id,
                                       const wf_case_cur *cur, ds_error *err);

/* In RecordRefund's tx: schedule the claim of refund_id when payer is
 * REFUND_PAYER_SUPPLIER (no-op otherwise). */
ds_status wf_case_supplier_on_refund(store_conn *tx, const char *shop_id, const char *case_id,
                                     const char *refund_id, int payer, ds_error *err);

/* Register both kinds on engine e; env must outlive it. */
ds_status wf_case_supplier_register(wf_engine *e, struct wf_order_env *env, ds_error *err);

#endif
