/* api_orders.h - dropship.v1.OrderService handlers: create, get, list and
 * history here; the workflow RPCs (ResolveHold, RecordPaymentProof,
 * CancelOrder, RefreshTracking) in api_order_actions.c, WatchOrderEvents in
 * api_watch.c.
 *
 * Handlers (rpc_unary_fn) validate the whole request first, collecting
 * every violation, and touch the database only for a valid request. They
 * read the caller's shop and key from ctx->principal (api_principal) and
 * get the api_env as svc_data. Responses are built in ctx->arena.
 *
 * Threads: handlers run on rpc handler threads, any number at once.
 */
#ifndef API_ORDERS_H
#define API_ORDERS_H

#include <stddef.h>

#include "rpc.h"

extern const rpc_method_impl api_orders_methods[];
extern const size_t api_orders_n_methods;

#endif
