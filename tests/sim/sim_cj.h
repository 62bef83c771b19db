/* sim_cj.h - a CJdropshipping API 2.0-shaped order flow on the simulated
 * supplier "cj": createOrderV2, confirmOrder, payBalance, getOrderDetail,
 * deleteOrder and logistic trackInfo, under /cj/api2.0/v1/.
 * See docs/simulator.md for the shapes and the status mapping.
 * Threads: requires the world lock (sim_route holds it).
 */
#ifndef SIM_CJ_H
#define SIM_CJ_H

#include "sim_http.h"

#define SIM_CJ_PREFIX "/cj/api2.0/v1/"
#define SIM_CJ_SUPPLIER "cj"

/* Serve `rest` ("shopping/order/createOrderV2"). */
void sim_cj_handle(sim_req *req, sim_resp *resp, const char *rest);

#endif
