/* rpc.h - a generic gRPC server on the grpc core C API.
 *
 * Knows nothing of dropshipping. Services are added from protobuf-c's
 * generated ProtobufCServiceDescriptor plus a table of handlers; whether a
 * method is unary or server-streaming is read from the descriptor set that
 * the binary embeds (protobuf-c descriptors carry no streaming flags).
 * Built-in: grpc.health.v1.Health (Check, Watch) and
 * grpc.reflection.v1 / v1alpha ServerReflection.
 *
 * Threads: one completion queue per worker thread, each drained by
 * grpc_completion_queue_next; many calls pre-requested per method per queue.
 * Unary and stream-start handlers run on a handler thread pool (they may
 * block briefly on the database); handlers flagged RPC_INLINE run directly on
 * the completion-queue thread and must not block.
 *
 * Memory: every call has a ds_arena (rpc_ctx.arena). The unpacked request,
 * the response the handler builds and anything else for that call comes from
 * it and is freed when the call completes.
 */
#ifndef RPC_H
#define RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "ds_arena.h"
#include "ds_status.h"

typedef struct rpc_server rpc_server;
typedef struct rpc_stream rpc_stream;

/* What a handler learns about its call. Valid until the call completes. */
typedef struct rpc_ctx {
    const char *method;        /* "/dropship.v1.OrderService/GetOrder" */
    const char *authorization; /* value of the "authorization" header, or NULL */
    const char *peer;          /* "ipv4:127.0.0.1:53312"; "" for RPC_INLINE handlers */
    int64_t deadline_ms;       /* CLOCK_REALTIME ms since epoch; INT64_MAX = none */
    ds_arena *arena;           /* per-call memory */
    void *principal;           /* set by the auth hook (e.g. shop + key id) */
} rpc_ctx;

/* True if the call's deadline has passed. */
bool rpc_ctx_expired(const rpc_ctx *ctx);

/* Milliseconds left before the deadline (INT64_MAX when none, 0 if past). */
int64_t rpc_ctx_remaining_ms(const rpc_ctx *ctx);

/* Unary handler. `req` was unpacked into ctx->arena. On DS_OK the handler
 * sets *resp to a message of the method's output type, allocated from
 * ctx->arena (or static). On error it fills `err` (status, message,
 * violations) and returns err->status; *resp is ignored. */
typedef ds_status (*rpc_unary_fn)(rpc_ctx *ctx, const ProtobufCMessage *req,
                                  ProtobufCMessage **resp, ds_error *err, void *svc_data);

/* Server-streaming handler: validates and sets the stream up, then returns.
 * Returning an error ends the call at once with that status. Returning DS_OK
 * means the handler (or whoever it gave `stream` to) now owns one reference
 * and will call rpc_stream_send / rpc_stream_finish later from any thread,
 * then rpc_stream_unref. The rpc layer keeps its own reference until the call
 * is over, so the pointer stays valid while the owner holds its ref. */
typedef ds_status (*rpc_stream_fn)(rpc_ctx *ctx, const ProtobufCMessage *req, rpc_stream *stream,
                                   ds_error *err, void *svc_data);

enum {
    RPC_NOAUTH = 1 << 0, /* skip the auth hook (health, reflection) */
    RPC_INLINE = 1 << 1, /* run on the completion-queue thread: must not block */
    /* Unary, and the handler waits on something slow outside (an HTTP API,
     * up to its timeouts): at most rpc_config.slow_calls calls of all such
     * methods run at once; one more is answered RESOURCE_EXHAUSTED at once,
     * without running its handler, so slow calls never take every handler
     * thread. */
    RPC_SLOW = 1 << 2
};

/* One method of a service. Methods of the descriptor with no entry (or with
 * both fns NULL) answer UNIMPLEMENTED with "<full method> is not
 * implemented yet". */
typedef struct rpc_method_impl {
    const char *name; /* method name as in the .proto: "GetOrder" */
    rpc_unary_fn unary;
    rpc_stream_fn stream;
    unsigned flags;
} rpc_method_impl;

/* Auth hook: runs before every handler not flagged RPC_NOAUTH, on the
 * handler thread. Sets ctx->principal (arena memory) and returns DS_OK, or
 * fills err (normally DS_ERR_UNAUTHENTICATED). */
typedef ds_status (*rpc_auth_fn)(rpc_ctx *ctx, ds_error *err, void *arg);

typedef struct rpc_config {
    const char *listen_addr;     /* "127.0.0.1:50051" */
    int cq_threads;              /* completion queues = threads; 0 = cores */
    int handler_threads;         /* handler pool size; 0 = 4 x cores */
    int requests_per_method;     /* calls pre-requested per method per queue; 0 = 64 */
    int slow_calls;              /* RPC_SLOW calls running at once; 0 = handler_threads / 4,
                                    at least 1 */
    size_t max_recv_bytes;       /* 0 = 4 MiB */
    int shutdown_grace_ms;       /* in-flight calls get this long on shutdown; 0 = 10000 */
    const uint8_t *descriptor_set; /* serialized FileDescriptorSet, include_imports */
    size_t descriptor_set_len;
    const char *error_domain;    /* google.rpc.ErrorInfo.domain of error replies; NULL = "" */
} rpc_config;

/* Create a server. Copies what it needs from cfg. NULL + err on failure. */
rpc_server *rpc_server_new(const rpc_config *cfg, ds_error *err);

/* Add a service before rpc_server_start. `impls` may be shorter than the
 * descriptor's method list. The service must exist in the descriptor set
 * (for streaming flags and reflection) or DS_ERR_CONFIG is returned. */
ds_status rpc_server_add_service(rpc_server *srv, const ProtobufCServiceDescriptor *desc,
                                 const rpc_method_impl *impls, size_t n_impls, void *svc_data,
                                 ds_error *err);

/* Install the auth hook (before start). */
void rpc_server_set_auth(rpc_server *srv, rpc_auth_fn fn, void *arg);

/* Bind the port and start the threads. Returns the bound port in *port. */
ds_status rpc_server_start(rpc_server *srv, int *port, ds_error *err);

/* Health: set the serving status of `service` ("" = the whole server).
 * Watchers are told at once. Any thread. */
void rpc_health_set(rpc_server *srv, const char *service, bool serving);

/* Graceful stop: health -> NOT_SERVING, stop accepting, end streams (their
 * cancel callbacks fire), wait for in-flight calls up to the grace period,
 * then cancel the rest and join threads. Call once, from a non-rpc thread. */
void rpc_server_shutdown(rpc_server *srv);

/* Free a stopped server. rpc_server_free(NULL) does nothing. */
void rpc_server_free(rpc_server *srv);

/* --- server streams (any thread) --- */

/* Queue one message (packed now; `msg` may be freed after the call).
 * DS_ERR_CANCELLED if the client left or the stream was finished;
 * DS_ERR_RESOURCE_EXHAUSTED if more than the queue cap is waiting. */
ds_status rpc_stream_send(rpc_stream *s, const ProtobufCMessage *msg);

/* End the stream after the queued messages, with st (and err details if
 * not DS_OK). Later calls are ignored. It also disarms the cancel callback:
 * once rpc_stream_finish returns, the callback is not running (it waits for
 * one in progress on another thread) and will never be called, so the owner
 * may free the callback's arg. */
void rpc_stream_finish(rpc_stream *s, ds_status st, const ds_error *err);

/* Called once when the client cancels (on a completion-queue thread, or on
 * the handler thread right after the stream handler returns if the client
 * left while it ran) or when the server shuts down (on the thread calling
 * rpc_server_shutdown); never called once the owner called
 * rpc_stream_finish (see there). Set it
 * in the stream handler. The callback must not block; it may call
 * rpc_stream_finish and rpc_stream_unref. */
typedef void (*rpc_stream_cancel_fn)(rpc_stream *s, void *arg);
void rpc_stream_on_cancel(rpc_stream *s, rpc_stream_cancel_fn fn, void *arg);

/* True once the client has gone or the stream has finished. */
bool rpc_stream_closed(rpc_stream *s);

void rpc_stream_ref(rpc_stream *s);
void rpc_stream_unref(rpc_stream *s);

/* The principal the auth hook set for this stream's call (NULL if none).
 * Valid while a reference is held. */
void *rpc_stream_principal(rpc_stream *s);

#endif
