/* wf_offer_react.h - what an offer change does to orders (internal to
 * wf_offer_sync.c): orders not yet purchased that need the shop SKU go
 * ON_HOLD (OUT_OF_STOCK / PRICE_CHANGED, with the old and new figures in
 * the hold event's details) when no binding they may use fits any more, and
 * orders held for those reasons resume at their held state once every held
 * line fits again. Decisions use the stored offers only (no HTTP).
 *
 * Threads: any thread; takes its own pooled connections.
 */
#ifndef WF_OFFER_REACT_H
#define WF_OFFER_REACT_H

#include "store_offers.h"
#include "wf_order_steps.h"

/* The change that triggered the reaction (for the hold details). */
typedef struct wf_offer_change {
    const char *binding_id;
    const char *supplier_sku;
    store_offer_val old_offer;
    store_offer_val new_offer;
} wf_offer_change;

/* React to the (possibly unchanged) offer of ch->binding_id for orders of
 * shop_sku. Adds to *held / *resumed. */
ds_status wf_offer_react(wf_order_env *env, const char *shop_id, const char *shop_sku,
                         const wf_offer_change *ch, int *held, int *resumed, ds_error *err);

#endif
