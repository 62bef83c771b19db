/* store_offers.h - what the offer sync reads and writes: the bindings of a
 * supplier in batches, each binding's latest offer (bindings.offer_*) with
 * its history of changes (migrations/0008_offers.sql), and the orders an
 * offer change may concern.
 *
 * Every function filters by shop_id (except store_offer_suppliers with
 * shop_id NULL, the start-up seeding over every shop) and runs on a
 * connection the caller owns. Errors are those of store_exec.
 *
 * Threads: any thread that owns the connection.
 */
#ifndef STORE_OFFERS_H
#define STORE_OFFERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_status.h"
#include "store.h"
#include "store_supplier_orders.h"

enum {
    STORE_OFFER_BATCH_MAX = 100, /* bindings per batch (the contract's SKUs per offers call) */
    STORE_OFFER_ORDERS_MAX = 500 /* orders looked at per shop SKU and sync */
};

/* One binding to sync. */
typedef struct store_offer_target {
    char binding_id[STORE_SO_ID];
    char shop_sku[STORE_SO_SKU];
    char supplier_sku[STORE_SO_SKU];
} store_offer_target;

/* An offer as stored. known false: never read (NULL columns). */
typedef struct store_offer_val {
    bool known;
    int64_t stock;
    store_so_money cost; /* currency "" = unknown (keep the stored cost) */
    int32_t ship_days;   /* < 0 = unknown (keep the stored value) */
} store_offer_val;

/* A (shop, supplier) that has bindings and an adapter other than MANUAL. */
typedef struct store_offer_supplier {
    char shop_id[STORE_SO_ID];
    char supplier_id[STORE_SO_ID];
} store_offer_supplier;

/* An order line that an offer change of its shop SKU may concern. */
typedef struct store_offer_order {
    char order_id[STORE_SO_ID];
} store_offer_order;

/* Suppliers to sync: of one shop (shop_id), optionally only supplier_id;
 * or of every shop (shop_id NULL). Up to cap rows into out. */
ds_status store_offer_suppliers(store_conn *c, const char *shop_id, const char *supplier_id,
                                store_offer_supplier *out, size_t cap, size_t *n, ds_error *err);

/* The next bindings of supplier_id after binding id `after` ("" = from the
 * start), in binding id order, up to cap (<= STORE_OFFER_BATCH_MAX). */
ds_status store_offer_targets(store_conn *c, const char *shop_id, const char *supplier_id,
                              const char *after, store_offer_target *out, size_t cap, size_t *n,
                              ds_error *err);

/* In one transaction on c: lock the binding, compare its stored offer with
 * *nv, write *nv as the latest offer (sync time now, error cleared) and,
 * when stock, cost or ship days differ, append a history row. *old gets
 * the offer before, *changed whether a history row was written.
 * DS_ERR_NOT_FOUND when the binding is gone. */
ds_status store_offer_record(store_conn *c, const char *shop_id, const char *binding_id,
                             const store_offer_val *nv, store_offer_val *old, bool *changed,
                             ds_error *err);

/* A failed sync attempt: attempt time now, sync_error (cut to 500
 * characters); the last good offer stays. */
ds_status store_offer_failed(store_conn *c, const char *shop_id, const char *binding_id,
                             const char *error, ds_error *err);

/* Orders of the shop with a line of shop_sku that nothing was bought for
 * yet, and that are RECEIVED, VERIFYING, PURCHASING, or ON_HOLD
 * OUT_OF_STOCK / PRICE_CHANGED from one of those states. */
ds_status store_offer_orders(store_conn *c, const char *shop_id, const char *shop_sku,
                             store_offer_order *out, size_t cap, size_t *n, ds_error *err);

/* The line ids of the order's hold (orders.hold_line_ids), space-separated
 * into out ("" when none). */
ds_status store_offer_hold_lines(store_conn *c, const char *shop_id, const char *order_id,
                                 char *out, size_t cap, ds_error *err);

#endif
