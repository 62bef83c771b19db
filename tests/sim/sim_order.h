/* sim_order.h - the simulated suppliers' order book, shared by the project
 * contract (sim_supplier.c) and the CJ-shaped API (sim_cj.c).
 *
 * Each supplier key ("acme", "cj", ...) is an independent supplier with its
 * own order numbers, offers-read counters and return address.
 * An order moves ACCEPTED -> PAID -> PROCESSING -> PARTIALLY_SHIPPED ->
 * SHIPPED, or to CANCELLED; only sim_order_* functions change it. It
 * progresses with polls (each read of the order counts one step, from the
 * moment it may progress: at once, or once paid when it needs payment) and
 * with scaled time (one step per simulated hour, --time-scale). Step 1 is
 * PROCESSING; the first parcel ships at step --ship-polls, each further
 * parcel one step later.
 * Threads: every function requires the world lock (sim_route holds it).
 */
#ifndef SIM_ORDER_H
#define SIM_ORDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sim_track.h"

enum { SIM_MAX_LINES = 100, SIM_KEY_MAX = 32, SIM_REF_MAX = 128 };

typedef enum sim_order_state {
    SIM_OS_ACCEPTED = 0, /* created, waiting to be prepared (and maybe paid) */
    SIM_OS_PAID,         /* paid, not being prepared yet */
    SIM_OS_PROCESSING,   /* being prepared */
    SIM_OS_PARTIAL,      /* some parcels shipped */
    SIM_OS_SHIPPED,      /* every parcel shipped */
    SIM_OS_CANCELLED     /* cancelled before any parcel shipped */
} sim_order_state;

typedef struct sim_order {
    char id[64]; /* SO-<supplier>-000001 */
    char supplier[SIM_KEY_MAX + 1];
    char order_ref[SIM_REF_MAX + 1];
    json_t *lines;   /* [{"sku","quantity","unit_cost_cents"}] owned */
    json_t *ship_to; /* owned, as received */
    json_t *groups;  /* planned parcels: [[line index, ...], ...] */
    long long total_cents;
    sim_order_state state;
    bool needs_payment; /* progress starts only once paid */
    bool confirmed;     /* CJ: confirmOrder was called */
    bool paid;
    char transaction_id[64];
    long long paid_cents;
    time_t created_at, updated_at, paid_at;
    double eligible_mono; /* monotonic time progress started from */
    int steps;            /* polls counted since eligible */
    int n_parcels;
    sim_parcel *parcels[SIM_MAX_LINES];
} sim_order;

/* Outcome of a create: an HTTP status, an error code and a message. */
typedef struct sim_order_err {
    int status;       /* 201 created, 400, 422, 503 */
    const char *code; /* "OUT_OF_STOCK", ... or NULL */
    char message[256];
} sim_order_err;

/* True if `key` is a valid supplier key: [A-Za-z0-9_-]{1,32}. */
bool sim_supplier_key_ok(const char *key);

/* Check lines [{"sku","quantity"}] (1..100, sku 1..64 chars, quantity
 * 1..10000). On failure fills *err (400) and returns false. */
bool sim_order_lines_ok(const json_t *lines, sim_order_err *err);

/* Create an order from checked lines; ship_to is copied. Returns the order
 * (owned by the book) or NULL with *err (422 REJECTED / OUT_OF_STOCK, 503
 * when full). *duplicate tells if the supplier already had an order for
 * this order_ref (a second order is created anyway, as a naive supplier
 * would: tests count it). */
sim_order *sim_order_create(const char *supplier, const char *order_ref, const json_t *lines,
                            const json_t *ship_to, bool needs_payment, time_t now, bool *duplicate,
                            sim_order_err *err);

/* The order `id` of `supplier`, or NULL. */
sim_order *sim_order_find(const char *supplier, const char *id);

/* The latest order of `supplier` with this order_ref, or NULL. */
sim_order *sim_order_find_ref(const char *supplier, const char *order_ref);

/* Count one read of the order and move it along. */
void sim_order_poll(sim_order *o, time_t now);

/* Contract status name ("ACCEPTED", ...). */
const char *sim_order_status(const sim_order *o);

/* Cancel: 200 (also when already cancelled) or 409 once shipped. */
int sim_order_cancel(sim_order *o, time_t now);

/* Pay `cents`: 201, 409 ALREADY_PAID / ORDER_CANCELLED, 422 AMOUNT_MISMATCH;
 * *code is set on failure. */
int sim_order_pay(sim_order *o, long long cents, time_t now, const char **code);

/* Current cost of `sku` at `supplier` and count an offer read when
 * `count_read` (PRICEUP SKUs cost more after their first read). */
long long sim_offer_cost(const char *supplier, const char *sku, bool count_read);

/* The contract JSON of an order; `dup` lists every parcel twice. */
json_t *sim_order_json(const sim_order *o, bool dup);

/* Forget every order, counter and offer read. */
void sim_order_reset(void);

#endif
