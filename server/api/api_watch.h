/* api_watch.h - OrderService.WatchOrderEvents: validates the request and
 * hands the stream to the event hub (wf_events.h), which feeds it; and
 * api_events_page, the page of events that GetOrderHistory and
 * GetCaseHistory answer with.
 *
 * Errors before the stream starts: INVALID_ARGUMENT (malformed order_id,
 * states or cursor, with field violations), NOT_FOUND (order_id unknown or
 * of another shop), RESOURCE_EXHAUSTED (too many open streams),
 * UNAVAILABLE (database down, or the hub is not running). Afterwards the
 * stream ends when the client cancels or its deadline passes, or with
 * UNAVAILABLE "server is shutting down" from wf_events_stop.
 *
 * Threads: runs on an rpc handler thread; it may block briefly on the
 * database (order check, start position), never afterwards.
 */
#ifndef API_WATCH_H
#define API_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "rpc.h"
#include "store_orders.h"

/* The rpc_stream_fn of WatchOrderEvents; svc_data is the api_env, whose
 * `events` hub must outlive the rpc server. */
ds_status api_watch_order_events(rpc_ctx *ctx, const ProtobufCMessage *req, rpc_stream *stream,
                                 ds_error *err, void *svc_data);

/* One page of history events (rows, n of them, from the store) as a
 * response's events/n_events/next_page_token: every event gets its stream
 * cursor (a client can WatchOrderEvents on from it), and when `more`, the
 * token continues after the last sequence number, bound to `id` (the order
 * or case) and the request fingerprint fp. All memory comes from arena a.
 * DS_ERR_NOMEM / DS_ERR_INTERNAL when something cannot be allocated or
 * encoded. */
ds_status api_events_page(ds_arena *a, store_event_row *rows, size_t n, bool more, uint32_t fp,
                          const char *id, Dropship__V1__OrderEvent ***events, size_t *n_events,
                          char **next_page_token, ds_error *err);

#endif
