/* sim_stats.h - counters of dropship-sim for tests: requests per endpoint,
 * orders per idempotency key and per order_ref, duplicates, cancels,
 * payments, faults injected. Read with GET /_sim/stats.
 * Threads: every function may be called from any thread (internal mutex).
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <jansson.h>
#include <stdbool.h>

/* One request reached endpoint `route` ("supplier.get_order", ...). */
void sim_stats_request(const char *route);

/* One fault of type `name` was injected. */
void sim_stats_fault(const char *name);

/* A create-order request under idempotency key `key` (may be NULL for real
 * API shapes without one) for `order_ref`: `created` says a new supplier
 * order `supplier_order_id` was made, `duplicate` that the supplier already
 * had an order for that order_ref, `replay` that the first answer was
 * replayed. */
void sim_stats_create(const char *supplier, const char *key, const char *order_ref,
                      const char *supplier_order_id, bool created, bool duplicate, bool replay);

/* Named counter += 1 ("cancels", "payments", "idempotency_conflicts", ...). */
void sim_stats_count(const char *name);

/* Snapshot of all counters (caller owns). */
json_t *sim_stats_json(void);

/* Zero everything. */
void sim_stats_reset(void);

#endif
