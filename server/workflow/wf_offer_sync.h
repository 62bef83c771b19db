/* wf_offer_sync.h - the offer sync: a periodic task per supplier that reads
 * stock and cost of every bound supplier SKU through the supplier's adapter
 * (batches of AD_LINES_MAX SKUs, under the adapter's rate limits), stores
 * the latest offer per binding with a history of changes, and holds or
 * resumes the unpurchased orders the change concerns (wf_offer_react.h).
 * See docs/suppliers-and-catalog.md.
 *
 * Task kind "offers.sync", key "offers:<supplier_id>": the engine's dedupe
 * index keeps at most one live sync task per supplier. Each run schedules
 * the next one (interval = offer_sync_ms scaled by the time scale) in the
 * same transaction that completes it; a supplier without bindings, gone,
 * or with a MANUAL adapter is not scheduled again. Tasks are seeded at
 * start for every supplier with bindings, and by CreateBinding/SyncOffers.
 *
 * Threads: wf_offer_register/unregister on the runtime's controlling
 * thread; wf_offer_seed and wf_offer_sync_now from any thread.
 */
#ifndef WF_OFFER_SYNC_H
#define WF_OFFER_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "ds_status.h"
#include "store.h"
#include "wf_engine.h"

#define WF_OFFER_KIND_SYNC "offers.sync"

struct wf_order_env;

/* What one sync of one supplier did. */
typedef struct wf_offer_result {
    int bindings;    /* bindings looked at */
    int synced;      /* offers read and stored */
    int failed;      /* bindings whose offer could not be read (sync_error set) */
    int changed;     /* offers that differ from the stored one (history rows) */
    int held;        /* orders put ON_HOLD */
    int resumed;     /* orders resumed */
    bool skipped;    /* MANUAL adapter: nothing to read */
    char error[512]; /* the last read error, "" if none */
} wf_offer_result;

/* Register the sync kind on e (before wf_engine_start) with env (borrowed
 * until wf_offer_unregister), and seed one sync task per supplier that has
 * bindings (best effort: a database error is only logged). */
ds_status wf_offer_register(wf_engine *e, struct wf_order_env *env, ds_error *err);

/* Forget the env given to wf_offer_register (before freeing it). */
void wf_offer_unregister(void);

/* In tx (or autocommit on c): schedule the sync task of supplier_id of
 * shop_id after delay_ms unless one waits (a running one runs once more
 * after, no sooner than delay_ms: wf_schedule_in). */
ds_status wf_offer_seed(store_conn *c, const char *shop_id, const char *supplier_id,
                        int64_t delay_ms, ds_error *err);

/* Sync the supplier now, in the calling thread (blocks on HTTP), and make
 * sure its periodic task exists. DS_ERR_UNAVAILABLE when no workflow runs
 * in this process; database errors as store_exec. A supplier API failure
 * is not an error: it is counted in res->failed with res->error. */
ds_status wf_offer_sync_now(const char *shop_id, const char *supplier_id, wf_offer_result *res,
                            ds_error *err);

#endif
