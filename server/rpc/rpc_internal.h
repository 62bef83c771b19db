/* rpc_internal.h - structures shared by the rpc runtime's own files
 * (server core, streams, health, reflection). Not for handlers. */
#ifndef RPC_INTERNAL_H
#define RPC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <grpc/grpc.h>

#include "rpc.h"
#include "rpc_descset.h"
#include "rpc_pool.h"
#include "rpc_status.h"

typedef struct rpc_call rpc_call;
typedef struct rpc_queue rpc_queue;
typedef struct rpc_health rpc_health;

/* Every completion-queue tag is one of these; the CQ thread calls done(). */
typedef struct rpc_tag rpc_tag;
struct rpc_tag {
    void (*done)(rpc_tag *t, bool ok);
};

/* One row of the method table. Immutable after rpc_server_start. */
typedef struct rpc_method {
    char *path; /* "/pkg.Service/Method" */
    const ProtobufCMessageDescriptor *input;
    const ProtobufCMessageDescriptor *output;
    rpc_unary_fn unary;
    rpc_stream_fn stream;
    void (*bidi)(rpc_call *c); /* built-in bidi handler (reflection) */
    unsigned flags;
    void *svc_data;
    bool server_streaming;
    void *reg; /* grpc_server_register_method handle */
} rpc_method;

/* One completion queue and the thread that drains it. Calls are bound to
 * the queue they arrived on, so every completion of a call runs on this
 * queue's thread; the free list is touched by that thread only. */
struct rpc_queue {
    rpc_server *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool thread_started;
    rpc_call *free_list;
    size_t n_free;
};

/* A call from request to its last completion. Recycled per queue. */
struct rpc_call {
    rpc_tag tag;
    rpc_job job;      /* handler-pool entry */
    rpc_call *next;   /* free list */
    rpc_server *srv;
    rpc_queue *q;
    rpc_method *m;    /* NULL for calls to unknown methods */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details; /* unknown methods only */
    grpc_byte_buffer *req_bb;
    grpc_byte_buffer *resp_bb;
    ProtobufCMessage *req; /* unpacked request, arena memory */
    int cancelled;
    bool counted; /* arrived: counted in srv->live_calls */
    bool md_sent; /* initial metadata already sent (streams, reflection) */
    bool has_err;
    rpc_error_reply err;
    grpc_metadata trailer;
    ds_arena *arena;
    char *peer;
    rpc_ctx ctx;
    void *ext; /* stream or reflection state */
};

struct rpc_server {
    char *listen_addr;
    char *error_domain;
    int n_cq;
    int handler_threads;
    int slow_calls;          /* cap of RPC_SLOW calls running at once */
    int requests_per_method;
    size_t max_recv_bytes;
    int shutdown_grace_ms;
    grpc_server *server;
    rpc_descset *ds;
    rpc_method **methods;
    size_t n_methods;
    char **services; /* full names, for reflection and health */
    size_t n_services;
    rpc_queue *queues;
    rpc_pool *pool;
    rpc_auth_fn auth;
    void *auth_arg;
    rpc_health *health;
    atomic_int live_calls;
    atomic_int slow_running; /* RPC_SLOW calls admitted and not yet answered */
    atomic_bool stopping;
    bool started;
    bool stopped;
    pthread_mutex_t streams_mu;
    rpc_stream *streams; /* live server streams (shutdown ends them) */
    bool streams_ended;  /* under streams_mu: shutdown already ended them */
};

/* --- rpc_server.c --- */
/* Unpack the request and fill c->ctx; on failure fills err. */
ds_status rpc_call_prepare(rpc_call *c, ds_error *err);
/* Run the auth hook if the method needs it. */
ds_status rpc_call_auth(rpc_call *c, ds_error *err);
/* Pack `msg` into a new byte buffer; NULL on out of memory. */
grpc_byte_buffer *rpc_pack(const ProtobufCMessage *msg);
/* Unpack a byte buffer with `desc` into arena memory; NULL if malformed. */
ProtobufCMessage *rpc_unpack(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb,
                             ds_arena *arena);
/* Fill ops[0..] with SEND_STATUS_FROM_SERVER for st/err, using c's storage
 * (c->err, c->trailer) that must live until the batch completes. */
void rpc_call_status_op(rpc_call *c, grpc_op *op, ds_status st, const ds_error *err);
/* Release a finished call (arena, metadata, grpc_call) on its queue thread,
 * or from any thread when recycle is false. */
void rpc_call_release(rpc_call *c, bool recycle);

/* --- rpc_stream.c --- */
/* A server-streaming call arrived (CQ thread): start it. */
void rpc_stream_arrive(rpc_call *c);
/* Shutdown: finish every live stream and fire its cancel callback. */
void rpc_streams_end_all(rpc_server *srv);

/* --- rpc_health.c --- */
rpc_health *rpc_health_new(void);
void rpc_health_free(rpc_health *h);
/* Register grpc.health.v1.Health on srv (called by rpc_server_new). */
ds_status rpc_health_add(rpc_server *srv, ds_error *err);
/* Shutdown: every service reports NOT_SERVING from now on. */
void rpc_health_drain(rpc_server *srv);


/* --- rpc_reflect.c --- */
/* Register both reflection services on srv (called by rpc_server_new). */
ds_status rpc_reflect_add(rpc_server *srv, ds_error *err);

/* Add a service whose bidi method `bidi_method` is served by `bidi`. */
ds_status rpc_server_add_bidi(rpc_server *srv, const char *service, const char *method,
                              void (*bidi)(rpc_call *c), ds_error *err);

#endif
