/* store_wf_view.h - an order's supplier orders, payment proofs, return
 * snapshots, parcels and case ids as dropship.v1 messages, for GetOrder
 * and the workflow RPCs' responses.
 *
 * Ownership: everything is allocated in the caller's arena. Threads: any
 * thread that owns the connection.
 */
#ifndef STORE_WF_VIEW_H
#define STORE_WF_VIEW_H

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/orders.pb-c.h"
#include "store.h"

/* Fill order->supplier_orders (order->id names the order) from the tables
 * of migrations/0006. Replaces whatever the field held. */
ds_status store_wf_fill_order(store_conn *c, const char *shop_id, ds_arena *a,
                              Dropship__V1__Order *order, ds_error *err);

#endif
