/* store_orders.h - the orders, order_lines and order_events tables: create
 * (idempotent by request_id), read, filtered keyset list, history pages.
 *
 * Orders go in and come out as dropship.v1.Order messages with their lines,
 * hold and shipping address; supplier orders and case ids stay empty until
 * the tables for them exist. Every statement filters by shop_id: an order
 * of another shop is DS_ERR_NOT_FOUND, exactly like a missing one.
 *
 * Ownership: returned messages, arrays and strings live in the caller's
 * arena. Inputs are only read. Every function borrows one pooled connection
 * for its duration, waiting at most until deadline_ms (CLOCK_REALTIME ms).
 * Threads: any thread.
 */
#ifndef STORE_ORDERS_H
#define STORE_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/orders.pb-c.h"
#include "store.h"
#include "store_events.h"

/* An order as read from the tables. The message's etag is left empty: the
 * API layer formats it from `version`. */
typedef struct store_order_row {
    Dropship__V1__Order *msg;
    int64_t version;   /* row version, >= 1 */
    int64_t create_us; /* create_time in epoch microseconds (list position) */
} store_order_row;

/* What CreateOrder writes. */
typedef struct store_order_new {
    const char *shop_id;
    const char *key_id;       /* API key id: actor of the CREATED event */
    const char *request_id;   /* NULL or "" = no idempotency key */
    const char *request_hash; /* 64 hex digits; used only with a request_id */
    /* Validated; only input fields are read; every line has its line_id. */
    const Dropship__V1__Order *order;
    /* Called in the create transaction after the rows are written (NULL =
     * none): starts the order's workflow. */
    ds_status (*on_created)(store_conn *tx, const char *shop_id, const char *order_id,
                            ds_error *err);
} store_order_new;

/* Create the order in state RECEIVED with its lines and history event 1
 * (CREATED, actor the API key), in one transaction.
 * - request_id already used with the same hash: the existing order,
 *   *replayed = true, nothing written;
 * - request_id used with another hash: DS_ERR_ALREADY_EXISTS, reason
 *   REQUEST_ID_REUSED, nothing written;
 * - external_order_id taken: DS_ERR_ALREADY_EXISTS, reason
 *   DUPLICATE_EXTERNAL_ORDER_ID, the existing order's id in
 *   dup_order_id (and in the message), nothing written.
 * Concurrent identical creates produce one order and the same answer:
 * the losers of the unique-index race read the winner's order. */
ds_status store_order_create(store_pool *p, int64_t deadline_ms, const store_order_new *in,
                             ds_arena *a, store_order_row *out, bool *replayed,
                             char dup_order_id[37], ds_error *err);

/* Read one order with its workflow view (supplier orders, parcels, case
 * ids: store_wf_fill_order) in one read-only snapshot. DS_ERR_NOT_FOUND
 * when absent or of another shop; order_id must be a UUID (DS_ERR_INVALID
 * otherwise). */
ds_status store_order_get(store_pool *p, int64_t deadline_ms, const char *shop_id,
                          const char *order_id, ds_arena *a, store_order_row *out, ds_error *err);

/* ListOrders filters; combined with AND, values of one array with OR. */
typedef struct store_order_filter {
    bool has_start, has_end;
    int64_t start_us, end_us; /* create_time in [start, end) */
    const int32_t *states;    /* OrderState values, n_states of them */
    size_t n_states;
    const int32_t *hold_reasons; /* HoldReason values: only ON_HOLD orders */
    size_t n_hold_reasons;
    const char *external_order_id; /* NULL or "" = no filter */
    const char *supplier_id;       /* NULL or "" = no filter */
} store_order_filter;

/* Up to `limit` orders matching f, newest first (create_time, then id,
 * descending), after the position (after_us, after_id) when after_id is not
 * NULL. *more tells whether rows follow the last one returned. */
ds_status store_order_list(store_pool *p, int64_t deadline_ms, const char *shop_id,
                           const store_order_filter *f, int64_t after_us, const char *after_id,
                           int limit, ds_arena *a, store_order_row **out, size_t *n_out, bool *more,
                           ds_error *err);

/* One history entry; msg->cursor is left empty (the API formats it from
 * pos, as WatchOrderEvents does). */
typedef struct store_event_row {
    Dropship__V1__OrderEvent *msg;
    store_events_pos pos; /* position in the shop's event stream */
} store_event_row;

/* Up to `limit` events of the order with sequence > after_seq, oldest
 * first. DS_ERR_NOT_FOUND when the order is absent or of another shop. */
ds_status store_order_history(store_pool *p, int64_t deadline_ms, const char *shop_id,
                              const char *order_id, int64_t after_seq, int limit, ds_arena *a,
                              store_event_row **out, size_t *n_out, bool *more, ds_error *err);

#endif
