/* wf_case_escalate.h - automatic after-sales cases for parcels that stopped
 * moving: the order workflow's tracking step calls wf_case_escalate inside
 * its transaction (docs/after-sales.md, "Automatic escalation").
 *
 * A parcel of the order that is not DELIVERED and is EXCEPTION, EXPIRED or
 * RETURNING_TO_SENDER, or has had no new checkpoint or status for its
 * supplier's tracking.stale_after, else settings.escalate_after_ms
 * (--case-escalate-after-s; divided by the workflow time scale; a parcel
 * the courier never knew counts from when the supplier reported it), gets
 * one case opened by the server (actor SYSTEM "escalation", auto_opened):
 * DAMAGED when the parcel is EXCEPTION and its newest checkpoint speaks of
 * damage, LOST_IN_TRANSIT otherwise. The case covers the lines of the
 * parcel's supplier order and names the parcel (carrier, tracking_number).
 * Its evidence is the tracking history: kind TRACKING_HISTORY, a data: URI
 * (text/plain, base64) holding one line per checkpoint (the newest ones
 * when they do not all fit in 2000 characters), the SHA-256 of that text.
 * At most one automatic case per parcel, ever (unique index
 * cases_auto_parcel_key): a closed one is not reopened.
 *
 * Threads: any thread that owns the connection.
 */
#ifndef WF_CASE_ESCALATE_H
#define WF_CASE_ESCALATE_H

#include <stdbool.h>

#include "ds_status.h"
#include "store.h"
#include "wf_order_steps.h"

/* In tx, with the order row locked by the caller: open the automatic
 * cases the order's parcels call for now (CASE_OPENED and
 * CASE_EVIDENCE_ADDED events on the order). *opened (may be NULL) gets how
 * many. On error nothing is opened that the caller's rollback would keep. */
ds_status wf_case_escalate(store_conn *tx, const wf_order_env *env, const char *shop_id,
                           const char *order_id, int *opened, ds_error *err);

/* Outside a transaction, on a pooled connection: whether wf_case_escalate
 * would open a case now (the tracking step then commits even when its
 * polls found nothing new). */
ds_status wf_case_escalate_due(const wf_order_env *env, const char *shop_id, const char *order_id,
                               bool *due, ds_error *err);

#endif
