/* api_order_actions.h - the workflow RPCs of dropship.v1.OrderService:
 * CancelOrder, ResolveHold, RecordPaymentProof, RecordShipment,
 * RefreshTracking. They go into api_orders_methods (api_orders.c).
 *
 * Each handler validates the whole request first (nothing is written on bad
 * input), then runs one transaction that locks the order, checks the etag
 * and the state, writes, appends history events and schedules the next
 * workflow step (wf_order_apply), and answers with the order as committed.
 * ctx->principal is an api_principal; svc_data is the api_env.
 *
 * Threads: rpc handler threads, any number at once.
 */
#ifndef API_ORDER_ACTIONS_H
#define API_ORDER_ACTIONS_H

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/orders.pb-c.h"
#include "rpc.h"
#include "store.h"

ds_status api_cancel_order(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                           ds_error *err, void *svc);
ds_status api_resolve_hold(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                           ds_error *err, void *svc);
ds_status api_record_payment_proof(rpc_ctx *ctx, const ProtobufCMessage *req,
                                   ProtobufCMessage **resp, ds_error *err, void *svc);
ds_status api_record_shipment(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                              ds_error *err, void *svc);
ds_status api_refresh_tracking(rpc_ctx *ctx, const ProtobufCMessage *req,
                               ProtobufCMessage **resp, ds_error *err, void *svc);

/* The order as GetOrder shows it, with its supplier orders and etag (for
 * api_orders.c's GetOrder too). */
ds_status api_order_read(store_pool *pool, int64_t deadline_ms, const char *shop_id,
                         const char *order_id, ds_arena *a, Dropship__V1__Order **out,
                         ds_error *err);

#endif
