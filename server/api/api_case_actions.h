/* api_case_actions.h - the mutating AfterSalesService calls on an existing
 * case (AddEvidence, ApproveCase, RejectCase, RecordReturnShipment,
 * MarkReturnReceived, RecordRefund, Reship, ResolveCase) and the one
 * transaction runner they share: lock the case's order then the case
 * (wf_case_lock), honour request_id (same id + body = no second effect, the
 * case as it is now), check the etag, act, commit.
 *
 * Handlers are rpc_unary_fn (see api_cases.h for the conventions).
 * Threads: any number of handler threads.
 */
#ifndef API_CASE_ACTIONS_H
#define API_CASE_ACTIONS_H

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/cases.pb-c.h"
#include "rpc.h"
#include "store.h"

/* The case as answered: read on a pooled connection, etag set. NOT_FOUND
 * shaped by api_not_found. */
ds_status api_case_read(store_pool *pool, int64_t deadline_ms, const char *shop_id,
                        const char *case_id, ds_arena *a, Dropship__V1__Case **out,
                        ds_error *err);

/* A carrier code: 1..64 characters of [a-z0-9._-]. */
bool api_case_carrier_ok(const char *s);

ds_status api_add_evidence(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                           ds_error *err, void *svc);
ds_status api_approve_case(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                           ds_error *err, void *svc);
ds_status api_reject_case(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                          ds_error *err, void *svc);
ds_status api_record_return_shipment(rpc_ctx *ctx, const ProtobufCMessage *req,
                                     ProtobufCMessage **resp, ds_error *err, void *svc);
ds_status api_mark_return_received(rpc_ctx *ctx, const ProtobufCMessage *req,
                                   ProtobufCMessage **resp, ds_error *err, void *svc);
ds_status api_record_refund(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                            ds_error *err, void *svc);
ds_status api_reship(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                     ds_error *err, void *svc);
ds_status api_resolve_case(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                           ds_error *err, void *svc);

#endif
