/* sim_route.h - the URL map of dropship-sim and its world lock.
 *
 *   /suppliers/{supplier_key}/v1/...            project supplier contract
 *   /tracking/v1/trackings/{carrier}/{number}   project tracking contract
 *   /cj/api2.0/v1/...                           CJdropshipping-shaped API
 *   /17track/track/v2.2/...                     17TRACK-shaped API
 *   /_sim/stats, /_sim/reset, /_sim/faults      test control (no auth)
 * Every handler runs under one world mutex: the model is small and fast,
 * and serialising it makes every counter and state change exact.
 * Threads: sim_route may be called from any thread.
 */
#ifndef SIM_ROUTE_H
#define SIM_ROUTE_H

#include <stdbool.h>

#include "sim_http.h"

/* Answer one request (fills resp; 404 for unknown paths). */
void sim_route(sim_req *req, sim_resp *resp);

/* True when no --token is set or `given` equals it (constant time). */
bool sim_token_ok(const char *given);

/* Forget all state: orders, parcels, idempotency keys, stats, faults. */
void sim_route_reset(void);

#endif
