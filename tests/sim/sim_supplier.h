/* sim_supplier.h - the project supplier contract (docs/supplier-api.md)
 * served under /suppliers/{supplier_key}/v1/...: create, get, cancel and
 * pay orders, offers and the return policy, with Idempotency-Key handling
 * on every POST.
 * Threads: requires the world lock (sim_route holds it).
 */
#ifndef SIM_SUPPLIER_H
#define SIM_SUPPLIER_H

#include "sim_http.h"

/* Serve `rest` ("/v1/orders/SO-1") for supplier `supplier` (already checked
 * with sim_supplier_key_ok). */
void sim_supplier_handle(sim_req *req, sim_resp *resp, const char *supplier, const char *rest);

/* The return policy of `supplier` (generated, or from the scenario). */
json_t *sim_supplier_return_policy(const char *supplier);

#endif
