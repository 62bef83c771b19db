/* store_cases.h - the tables of after-sales cases (migrations/0007_cases.sql):
 * case rows with their lines, evidence, refunds + compensation lines,
 * reships, return parcels, and the request ids of mutating calls.
 *
 * Every function filters by shop_id: a case of another shop is
 * DS_ERR_NOT_FOUND exactly like a missing one. Writes run inside the
 * caller's transaction (the case locked with wf_case_lock); reads run on any
 * connection the caller owns, or borrow a pooled one (_pool variants).
 * State changes are NOT made here: wf_case_apply owns cases.state.
 *
 * Ownership: messages and strings come from the caller's arena; inputs are
 * only read. Threads: any thread that owns the connection.
 */
#ifndef STORE_CASES_H
#define STORE_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/cases.pb-c.h"
#include "store.h"
#include "store_orders.h"

enum { STORE_CASE_LINES_MAX = 100, STORE_CASE_EVIDENCE_MAX = 100, STORE_CASE_RESULT_MAX = 64 };

/* A case as read: msg complete (lines, evidence, refunds, reships), etag
 * left empty for the API to format from version. */
typedef struct store_case_row {
    Dropship__V1__Case *msg;
    int64_t version;
    int64_t create_us;
} store_case_row;

/* What opening a case writes. */
typedef struct store_case_new {
    const char *shop_id, *order_id, *supplier_id;
    int32_t type;                   /* CaseType */
    const char *description;
    const char *carrier, *tracking_number; /* "" = none */
    const char *line_ids;           /* space-separated */
    const char *quantities;         /* space-separated, same count */
    int32_t actor_kind;             /* ActorKind */
    const char *actor_id;
    bool auto_opened;               /* at most one per (order, parcel) */
} store_case_new;

/* One order line as OpenCase checks it. */
typedef struct store_case_line {
    char line_id[65];
    int32_t quantity;        /* ordered */
    int32_t claimed;         /* already in non-terminal cases */
    char supplier_id[37];    /* "" = not planned onto a supplier order */
    int32_t so_state;        /* SupplierOrderState, 0 = none */
} store_case_line;

/* The order's lines (at most cap), in line order. */
ds_status store_case_order_lines(store_conn *c, const char *shop_id, const char *order_id,
                                 store_case_line *out, size_t cap, size_t *n, ds_error *err);

/* Insert the case (state OPEN) and its lines; case_id gets the new id.
 * For auto_opened cases a case already open(ed) for that parcel makes it a
 * no-op with case_id "". */
ds_status store_case_insert(store_conn *tx, const store_case_new *in, char case_id[37],
                            ds_error *err);

/* request_id bookkeeping for `method`. find: *found with the first call's
 * case id and result when the id was used with the same hash;
 * DS_ERR_ALREADY_EXISTS (reason REQUEST_ID_REUSED) with another hash. */
ds_status store_case_request_find(store_conn *tx, const char *shop_id, const char *method,
                                  const char *request_id, const char *hash, bool *found,
                                  char case_id[37], char result[STORE_CASE_RESULT_MAX + 1],
                                  ds_error *err);
ds_status store_case_request_put(store_conn *tx, const char *shop_id, const char *method,
                                 const char *request_id, const char *hash, const char *case_id,
                                 const char *result, ds_error *err);

/* Read one case (without the supplier dispute fields) on c, which may be
 * inside the caller's transaction. */
ds_status store_case_get(store_conn *c, const char *shop_id, const char *case_id, ds_arena *a,
                         store_case_row *out, ds_error *err);
/* Read one case whole, supplier dispute and supplier refund fields
 * included (store_cd_fill), in one read-only snapshot on a pooled
 * connection. */
ds_status store_case_get_pool(store_pool *p, int64_t deadline_ms, const char *shop_id,
                              const char *case_id, ds_arena *a, store_case_row *out,
                              ds_error *err);

/* ListCases filters (AND; values of one array OR). */
typedef struct store_case_filter {
    const char *order_id;    /* NULL/"" = any */
    const char *supplier_id; /* NULL/"" = any */
    const int32_t *states;
    size_t n_states;
    const int32_t *types;
    size_t n_types;
    bool has_start, has_end;
    int64_t start_us, end_us;
} store_case_filter;

/* Newest first (create_time, case_id descending) after (after_us,
 * after_id) when after_id is not NULL. */
ds_status store_case_list(store_pool *p, int64_t deadline_ms, const char *shop_id,
                          const store_case_filter *f, int64_t after_us, const char *after_id,
                          int limit, ds_arena *a, store_case_row **out, size_t *n_out, bool *more,
                          ds_error *err);

/* The case's events (sequence > after_seq), oldest first. */
ds_status store_case_history(store_pool *p, int64_t deadline_ms, const char *shop_id,
                             const char *case_id, int64_t after_seq, int limit, ds_arena *a,
                             store_event_row **out, size_t *n_out, bool *more, ds_error *err);

/* ---- writes (caller's transaction, case locked) ---- */

ds_status store_case_set_reject(store_conn *tx, const char *shop_id, const char *case_id,
                                const char *reason, ds_error *err);
ds_status store_case_set_resolution(store_conn *tx, const char *shop_id, const char *case_id,
                                    const char *resolution, int32_t root_cause, ds_error *err);

/* The no-reason window inputs: the supplier order's rules (days, -1 when no
 * rules are bound) and the order's delivery time (0 = not delivered). */
ds_status store_case_window(store_conn *tx, const char *shop_id, const char *case_id,
                            ds_arena *a, int32_t *no_reason_days, int64_t *delivered_us,
                            ds_error *err);

/* Record the approval: return_required, and (when required) snapshot the
 * supplier order's return address + rules; *bound false when required and
 * the supplier order has no address bound (nothing written then). */
ds_status store_case_set_approval(store_conn *tx, const char *shop_id, const char *case_id,
                                  bool return_required, bool *bound, ds_error *err);

/* Add evidence; DS_ERR_RESOURCE_EXHAUSTED when the case has 100 already. */
ds_status store_case_evidence_add(store_conn *tx, const char *shop_id, const char *case_id,
                                  const Dropship__V1__Evidence *e, int32_t actor_kind,
                                  const char *actor_id, ds_error *err);

/* What may still be refunded: the order's currency, the paid total of the
 * case's lines and the amount refunded so far (decimal text). *fits tells
 * whether refunded + amount <= paid. */
typedef struct store_case_refundable {
    char currency[4];
    char paid[48], refunded[48];
    bool fits;
} store_case_refundable;
ds_status store_case_refundable_get(store_conn *tx, const char *shop_id, const char *case_id,
                                    const Dropship__V1__Money *amount,
                                    store_case_refundable *out, ds_error *err);

/* Add a refund and its compensation lines; refund_id gets its id. */
ds_status store_case_refund_add(store_conn *tx, const char *shop_id, const char *case_id,
                                const Dropship__V1__Refund *r, int32_t actor_kind,
                                const char *actor_id, char refund_id[37], ds_error *err);

/* Record the supplier's answer to a SUPPLIER-paid refund claim. */
ds_status store_case_refund_supplier(store_conn *c, const char *shop_id, const char *case_id,
                                     const char *refund_id, const char *ref, const char *status,
                                     ds_error *err);

/* Record the dispute opened with the supplier. */
ds_status store_case_dispute_set(store_conn *c, const char *shop_id, const char *case_id,
                                 const char *dispute_id, const char *status, ds_error *err);

/* Record the buyer's return parcel. */
ds_status store_case_return_parcel(store_conn *tx, const char *shop_id, const char *case_id,
                                   const char *carrier, const char *tracking_number,
                                   ds_error *err);

/* A return parcel's poll result (packed Parcel holding only checkpoints). */
ds_status store_case_return_polled(store_conn *tx, const char *shop_id, const char *case_id,
                                   int32_t status, const uint8_t *cps, size_t cps_len,
                                   int64_t next_poll_ms, ds_error *err);

/* Create the replacement order of a reship in tx: number n = reships so far
 * + 1, order id derived from (case_id, n), external id "<original>-R<n>",
 * the case's lines at unit price 0, shipping to `address` (NULL = the
 * original's), history event CREATED by actor_id. order_id gets its id. */
ds_status store_case_reship(store_conn *tx, const char *shop_id, const char *case_id,
                            const Dropship__V1__Address *address, const char *actor_id,
                            char order_id[37], ds_error *err);

/* Whether the order has a non-terminal case. */
ds_status store_case_order_open(store_conn *c, const char *shop_id, const char *order_id,
                                bool *open, ds_error *err);

/* ---- automatic escalation (wf_case_escalate.h) ---- */

enum { STORE_CASE_STUCK_MAX = 20 };

/* A parcel to escalate. Pointers are in the caller's arena. */
typedef struct store_case_stuck {
    char supplier_id[37];
    char carrier[65], tracking_number[65];
    int32_t status;          /* TrackingStatus; 0 = the courier never knew it */
    int64_t unchanged_ms;    /* since its last new checkpoint or status */
    uint8_t *checkpoints;    /* packed Parcel holding only checkpoints; NULL = none */
    size_t checkpoints_len;
    char *line_ids;          /* its supplier order's lines, space-separated; NULL = none */
    char *quantities;        /* their quantities, same order */
} store_case_stuck;

/* The order's parcels that are not delivered and are EXCEPTION, EXPIRED,
 * RETURNING_TO_SENDER or unchanged for after_ms, and have no automatic case
 * yet (at most cap, oldest first). */
ds_status store_case_stuck_parcels(store_conn *c, const char *shop_id, const char *order_id,
                                   int64_t after_ms, ds_arena *a, store_case_stuck *out,
                                   size_t cap, size_t *n, ds_error *err);

#endif
