/* api_watch.h - OrderService.WatchOrderEvents: validates the request and
 * hands the stream to the event hub (wf_events.h), which feeds it.
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

#include <protobuf-c/protobuf-c.h>

#include "ds_status.h"
#include "rpc.h"

/* The rpc_stream_fn of WatchOrderEvents; svc_data is the api_env, whose
 * `events` hub must outlive the rpc server. */
ds_status api_watch_order_events(rpc_ctx *ctx, const ProtobufCMessage *req, rpc_stream *stream,
                                 ds_error *err, void *svc_data);

#endif
