/* store_supplier_orders.h - the tables of the order workflow: line choices,
 * supplier orders with their lines and payment proof, parcels; plus the
 * reads the workflow steps need from orders, bindings and suppliers
 * (migrations/0006_supplier_orders.sql).
 *
 * Every function runs on a connection the caller owns (a pooled one, or the
 * open transaction of a workflow step or an API call) and filters by
 * shop_id. Rows come back in small fixed-size structs (workflow use) or as
 * dropship.v1.SupplierOrder messages in an arena (API use).
 *
 * Threads: any thread that owns the connection.
 */
#ifndef STORE_SUPPLIER_ORDERS_H
#define STORE_SUPPLIER_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/orders.pb-c.h"
#include "store.h"

enum {
    STORE_SO_LINES_MAX = 100,
    STORE_SO_TEXT_MAX = 201,
    STORE_SO_ID = 37,
    STORE_SO_SKU = 101,
    STORE_SO_PARCELS_MAX = 100,
    STORE_SO_BINDINGS_MAX = 20,
    STORE_SO_BYTES_MAX = 8192,
    STORE_SO_ENDPOINTS = 7 /* dropship.v1.SupplierEndpoint numbers 0..6 */
};

typedef struct store_so_money {
    char currency[4]; /* "" = unset */
    int64_t units;
    int32_t nanos;
} store_so_money;

/* One order line with what ResolveHold decided for it. */
typedef struct store_so_line {
    char line_id[65];
    char shop_sku[STORE_SO_SKU];
    int32_t quantity;
    char choice_binding[STORE_SO_ID]; /* "" = none */
    store_so_money accepted;          /* currency "" = none */
} store_so_line;

/* The order's shipping address. */
typedef struct store_so_address {
    char recipient_name[STORE_SO_TEXT_MAX], phone[STORE_SO_TEXT_MAX], country_code[3],
        region[STORE_SO_TEXT_MAX], city[STORE_SO_TEXT_MAX], district[STORE_SO_TEXT_MAX],
        street[STORE_SO_TEXT_MAX * 5], postal_code[16];
} store_so_address;

/* A binding with its stored offer. */
typedef struct store_so_binding {
    char binding_id[STORE_SO_ID], supplier_id[STORE_SO_ID];
    char supplier_sku[STORE_SO_SKU], supplier_variant[STORE_SO_SKU];
    store_so_money max_cost;
    int32_t priority;
    bool offer_fresh;  /* a stored offer younger than the asked age */
    int64_t offer_stock;
    store_so_money offer_cost;
} store_so_binding;

/* What the workflow needs of a supplier. Credentials are secrets: keep them
 * off logs and out of errors. */
typedef struct store_so_supplier {
    char supplier_id[STORE_SO_ID];
    int32_t adapter_kind;  /* SupplierAdapterKind */
    char base_url[2001];
    char credential[4001];
    int64_t request_timeout_ms;
    double rate_per_s;     /* adapter.default_rate_limit; 0 = not configured */
    double burst;
    /* adapter.endpoint_rate_limits by dropship.v1.SupplierEndpoint number
     * (1..6; index 0 unused); rate 0 = that endpoint has none */
    struct {
        double rate_per_s, burst;
    } endpoint_limit[STORE_SO_ENDPOINTS];
    int32_t tracking_kind; /* TrackingProviderKind, 0 = none */
    double tracking_rate_per_s; /* tracking.rate_limit; 0 = not configured */
    double tracking_burst;
    int64_t stale_after_ms;     /* tracking.stale_after; 0 = not configured */
    char tracking_url[2001];
    char tracking_credential[4001];
    int32_t payment_mode;
    int64_t payment_due_us;
    uint8_t return_address[STORE_SO_BYTES_MAX]; /* packed Address */
    size_t return_address_len;                   /* 0 = none */
    uint8_t return_rules[STORE_SO_BYTES_MAX];
    size_t return_rules_len;
} store_so_supplier;

/* One supplier order line, as planned by verify. */
typedef struct store_so_pline {
    char line_id[65];
    char binding_id[STORE_SO_ID];
    char supplier_sku[STORE_SO_SKU], supplier_variant[STORE_SO_SKU];
    int32_t quantity;
    store_so_money unit_cost;
} store_so_pline;

/* A supplier order as the workflow reads it. */
typedef struct store_so_row {
    char supplier_id[STORE_SO_ID];
    char ref[129];
    int32_t state;        /* SupplierOrderState */
    int32_t payment_mode; /* PaymentMode */
    store_so_money cost;
    bool paid;            /* a proof is recorded */
    bool return_bound;
    int64_t payment_due_ms; /* epoch ms, 0 = none */
    store_so_pline lines[STORE_SO_LINES_MAX];
    size_t n_lines;
} store_so_row;

/* A parcel as the workflow reads it. */
typedef struct store_so_parcel {
    char supplier_id[STORE_SO_ID];
    char carrier[65], tracking_number[65];
    int32_t status;        /* TrackingStatus */
    int32_t n_checkpoints;
    int64_t unchanged_ms;  /* since the last change */
} store_so_parcel;

/* ---- reads for the steps ---- */

ds_status store_so_lines(store_conn *c, const char *shop_id, const char *order_id,
                         store_so_line *out, size_t *n, ds_error *err);
ds_status store_so_address_get(store_conn *c, const char *shop_id, const char *order_id,
                               store_so_address *out, ds_error *err);
/* The longest no_reason_return_days of the return rules snapshotted onto
 * the order's supplier orders (the return_address step), leaving out
 * CANCELLED and REJECTED ones; -1 when none is bound. One statement;
 * rules that do not unpack count as none. */
ds_status store_so_return_days(store_conn *c, const char *shop_id, const char *order_id,
                               int *days, ds_error *err);
/* A return address (packed Address) with its rules (packed ReturnRules,
 * may be empty); address_len 0 = none. */
typedef struct store_so_return {
    uint8_t address[STORE_SO_BYTES_MAX];
    size_t address_len;
    uint8_t rules[STORE_SO_BYTES_MAX];
    size_t rules_len;
} store_so_return;

/* The return override of the bindings the supplier order of supplier_id
 * bought its lines through: that of the first line, in the order's line
 * order, whose binding has a return_address. None (address_len 0) when no
 * such binding is left (a binding deleted since the purchase counts as
 * none); a value too large for the buffers counts as none. */
ds_status store_so_binding_return(store_conn *c, const char *shop_id, const char *order_id,
                                  const char *supplier_id, store_so_return *out, ds_error *err);
/* Bindings of shop_sku, lowest priority first (binding_id NULL), or the one
 * binding binding_id (sku ignored). Offers younger than max_age_ms count as
 * fresh. */
ds_status store_so_bindings(store_conn *c, const char *shop_id, const char *shop_sku,
                            const char *binding_id, int64_t max_age_ms, store_so_binding *out,
                            size_t cap, size_t *n, ds_error *err);
/* The supplier's adapter, tracking, payment and return settings. The caller
 * zeroes *out when it is done with the credentials. */
ds_status store_so_supplier_get(store_conn *c, const char *shop_id, const char *supplier_id,
                                store_so_supplier *out, ds_error *err);
/* Every supplier order of the order, by supplier id. *out is malloc'd
 * (free it), *n rows. */
ds_status store_so_list(store_conn *c, const char *shop_id, const char *order_id,
                        store_so_row **out, size_t *n, ds_error *err);
ds_status store_so_parcels(store_conn *c, const char *shop_id, const char *order_id,
                           store_so_parcel *out, size_t cap, size_t *n, ds_error *err);

/* What a step reads before its outside calls, in one round trip and one
 * implicit transaction (store_exec_batch): the order's state, its supplier
 * orders (as store_so_list), and the settings of their suppliers (as
 * store_so_supplier_get, one per supplier id among the rows). */
typedef struct store_so_view {
    int32_t state; /* OrderState; 0 = no such order */
    store_so_row *rows;
    size_t n;
    store_so_supplier *sups; /* holds credentials: store_so_view_free wipes them */
    size_t n_sups;
} store_so_view;
ds_status store_so_view_get(store_conn *c, const char *shop_id, const char *order_id,
                            store_so_view *out, ds_error *err);
/* The settings of supplier_id in v, or NULL (the supplier is gone). */
const store_so_supplier *store_so_view_supplier(const store_so_view *v, const char *supplier_id);
/* Free what store_so_view_get allocated (wiping the credentials); v may be
 * half filled or zeroed. */
void store_so_view_free(store_so_view *v);

/* ---- writes (inside the caller's transaction) ---- */

/* Drop the supplier orders nothing was sent for yet, and REJECTED or
 * CANCELLED ones with no parcels (re-planning after a hold). */
ds_status store_so_drop_unplaced(store_conn *c, const char *shop_id, const char *order_id,
                                 ds_error *err);
/* A new PENDING supplier order with its lines. */
ds_status store_so_insert(store_conn *c, const char *shop_id, const char *order_id,
                          const char *supplier_id, int32_t payment_mode,
                          const store_so_pline *lines, size_t n, ds_error *err);
/* Placed: ref, cost, state ACCEPTED (or state as given), payment due
 * (due_us 0 = none, counted from now). */
ds_status store_so_placed(store_conn *c, const char *shop_id, const char *order_id,
                          const char *supplier_id, const char *ref, const store_so_money *cost,
                          int32_t state, int64_t due_us, ds_error *err);
ds_status store_so_set_state(store_conn *c, const char *shop_id, const char *order_id,
                             const char *supplier_id, int32_t state, const char *supplier_status,
                             ds_error *err);
/* Set supplier_order_ref where it is empty. */
ds_status store_so_set_ref(store_conn *c, const char *shop_id, const char *order_id,
                           const char *supplier_id, const char *ref, ds_error *err);

/* A payment proof. */
typedef struct store_so_proof {
    store_so_money amount;
    int32_t method;
    const char *reference;
    int64_t paid_us;
    const char *attachment_uri, *attachment_sha256;
    int32_t actor_kind;
    const char *actor_id;
} store_so_proof;
/* Record the proof and set state PAID when no proof is there yet; *same is
 * true when an identical proof is already recorded, and DS_ERR_ALREADY_EXISTS
 * when a different one is. */
ds_status store_so_record_proof(store_conn *c, const char *shop_id, const char *order_id,
                                const char *supplier_id, const store_so_proof *p, bool *same,
                                ds_error *err);
ds_status store_so_set_return(store_conn *c, const char *shop_id, const char *order_id,
                              const char *supplier_id, const uint8_t *addr, size_t addr_len,
                              const uint8_t *rules, size_t rules_len, int32_t source,
                              ds_error *err);
/* Upsert the choice of a line (binding NULL = keep, accepted NULL = keep). */
ds_status store_so_choose(store_conn *c, const char *shop_id, const char *order_id,
                          const char *line_id, const char *binding_id,
                          const store_so_money *accepted, ds_error *err);
/* Replace the shipping address. */
ds_status store_so_address_set(store_conn *c, const char *shop_id, const char *order_id,
                               const store_so_address *a, ds_error *err);
/* Add a parcel; *added false when (carrier, number) was already there. */
ds_status store_so_parcel_add(store_conn *c, const char *shop_id, const char *order_id,
                              const char *supplier_id, const char *carrier, const char *number,
                              const char *lines, bool *added, ds_error *err);
/* A poll's result: status, checkpoints (packed Parcel with only
 * checkpoints), next poll; `changed` moves last_change_time. */
ds_status store_so_parcel_polled(store_conn *c, const char *shop_id, const char *order_id,
                                 const store_so_parcel *p, const uint8_t *cps, size_t cps_len,
                                 bool changed, int64_t next_poll_ms, ds_error *err);

/* Restart the payment due time of the unpaid MANUAL supplier orders: now
 * + the supplier's payment_due / scale. *first_ms gets the delay of the
 * earliest (0 when none). */
ds_status store_so_restart_due(store_conn *c, const char *shop_id, const char *order_id,
                               int scale, int64_t *first_ms, ds_error *err);

#endif
