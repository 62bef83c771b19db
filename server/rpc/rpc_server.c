/* rpc_server.c - the gRPC server core: method table, completion-queue
 * threads, call arrival and re-arming, unary calls, unknown methods and the
 * shutdown sequence. */
#include "rpc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "ds_log.h"

enum {
    FREE_LIST_MAX = 4096,   /* recycled call structs kept per queue */
    UNKNOWN_SLOTS = 8,      /* grpc_server_request_call armed per queue */
    REQUESTS_DEFAULT = 64,  /* calls pre-requested per method per queue */
    GRACE_DEFAULT_MS = 10000,
    MAX_RECV_DEFAULT = 4 << 20
};

static void request_method(rpc_queue *q, rpc_method *m);
static void request_unknown(rpc_queue *q);

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_to_ms(gpr_timespec d)
{
    if (gpr_time_cmp(d, gpr_inf_future(d.clock_type)) == 0)
        return INT64_MAX;
    d = gpr_convert_clock_type(d, GPR_CLOCK_REALTIME);
    if (d.tv_sec > INT64_MAX / 1000 - 1)
        return INT64_MAX;
    return d.tv_sec * 1000 + d.tv_nsec / 1000000;
}

int64_t rpc_ctx_remaining_ms(const rpc_ctx *ctx)
{
    int64_t now;

    if (ctx->deadline_ms == INT64_MAX)
        return INT64_MAX;
    now = now_ms();
    return ctx->deadline_ms > now ? ctx->deadline_ms - now : 0;
}

bool rpc_ctx_expired(const rpc_ctx *ctx)
{
    return rpc_ctx_remaining_ms(ctx) == 0;
}

/* --- call structs: per-queue free list, touched only by the queue thread --- */

static rpc_call *call_get(rpc_queue *q)
{
    rpc_call *c = q->free_list;

    if (c != NULL) {
        q->free_list = c->next;
        q->n_free--;
        return c;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->q = q;
    c->srv = q->srv;
    grpc_metadata_array_init(&c->md);
    return c;
}

/* Reset a call struct for reuse; keeps the metadata array's capacity. */
static void call_reset(rpc_call *c)
{
    grpc_metadata_array md = c->md;
    rpc_queue *q = c->q;

    md.count = 0;
    memset(c, 0, sizeof(*c));
    c->q = q;
    c->srv = q->srv;
    c->md = md;
}

void rpc_call_release(rpc_call *c, bool recycle)
{
    rpc_queue *q = c->q;
    bool counted = c->counted;
    rpc_server *srv = c->srv;

    if (c->req_bb != NULL)
        grpc_byte_buffer_destroy(c->req_bb);
    if (c->resp_bb != NULL)
        grpc_byte_buffer_destroy(c->resp_bb);
    if (c->has_err)
        rpc_error_reply_cleanup(&c->err);
    if (c->m == NULL)
        grpc_call_details_destroy(&c->details);
    ds_arena_free(c->arena);
    gpr_free(c->peer);
    if (c->call != NULL)
        grpc_call_unref(c->call);
    if (recycle && q->n_free < FREE_LIST_MAX) {
        call_reset(c);
        c->next = q->free_list;
        q->free_list = c;
        q->n_free++;
    } else {
        grpc_metadata_array_destroy(&c->md);
        free(c);
    }
    if (counted)
        atomic_fetch_sub(&srv->live_calls, 1);
}

/* --- packing --- */

grpc_byte_buffer *rpc_pack(const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(n);
    grpc_byte_buffer *bb;

    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

ProtobufCMessage *rpc_unpack(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb,
                             ds_arena *arena)
{
    ProtobufCAllocator *alloc = ds_arena_allocator(arena);
    grpc_byte_buffer_reader r;
    ProtobufCMessage *msg;
    grpc_slice s;

    if (bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE &&
        bb->data.raw.slice_buffer.count == 1) {
        s = bb->data.raw.slice_buffer.slices[0];
        return protobuf_c_message_unpack(desc, alloc, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    }
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    msg = protobuf_c_message_unpack(desc, alloc, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return msg;
}

/* --- replies --- */

void rpc_call_status_op(rpc_call *c, grpc_op *op, ds_status st, const ds_error *err)
{
    memset(op, 0, sizeof(*op));
    op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op->data.send_status_from_server.status = GRPC_STATUS_OK;
    if (st == DS_OK)
        return;
    rpc_error_reply_init(&c->err, st, err, c->srv->error_domain);
    c->has_err = true;
    if (c->err.code == GRPC_STATUS_INTERNAL)
        DS_ERROR("rpc", "%s: %s", c->m ? c->m->path : "?", err ? err->message : "");
    op->data.send_status_from_server.status = c->err.code;
    op->data.send_status_from_server.status_details = &c->err.message;
    if (GRPC_SLICE_LENGTH(c->err.details_bin) == 0)
        return;
    c->trailer.key = grpc_slice_from_static_string(RPC_STATUS_DETAILS_KEY);
    c->trailer.value = c->err.details_bin;
    op->data.send_status_from_server.trailing_metadata_count = 1;
    op->data.send_status_from_server.trailing_metadata = &c->trailer;
}

static void on_unary_done(rpc_tag *t, bool ok)
{
    rpc_call_release((rpc_call *)t, true);
}

/* Send the whole unary answer in one batch. Any thread. */
static void reply(rpc_call *c, const ProtobufCMessage *resp, ds_status st, ds_error *err)
{
    grpc_op ops[4];
    size_t n = 0;
    grpc_call_error e;

    if (st == DS_OK)
        c->resp_bb = rpc_pack(resp);
    memset(ops, 0, sizeof(ops));
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (st == DS_OK) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->resp_bb;
    }
    rpc_call_status_op(c, &ops[n++], st, err);
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
    c->tag.done = on_unary_done;
    e = grpc_call_start_batch(c->call, ops, n, &c->tag, NULL);
    if (e != GRPC_CALL_OK) {
        DS_ERROR("rpc", "start_batch failed (%d) on %s", (int)e, c->m ? c->m->path : "?");
        rpc_call_release(c, false);
    }
}

static const char *find_metadata(rpc_call *c, const char *key)
{
    size_t i, klen = strlen(key);
    const grpc_slice *k, *v;

    for (i = 0; i < c->md.count; i++) {
        k = &c->md.metadata[i].key;
        if (GRPC_SLICE_LENGTH(*k) != klen || memcmp(GRPC_SLICE_START_PTR(*k), key, klen) != 0)
            continue;
        v = &c->md.metadata[i].value;
        return ds_arena_printf(c->arena, "%.*s", (int)GRPC_SLICE_LENGTH(*v),
                               (const char *)GRPC_SLICE_START_PTR(*v));
    }
    return NULL;
}

ds_status rpc_call_prepare(rpc_call *c, ds_error *err)
{
    rpc_ctx *ctx = &c->ctx;

    ctx->method = c->m->path;
    ctx->deadline_ms = deadline_to_ms(c->deadline);
    ctx->peer = "";
    c->arena = ds_arena_new(0);
    ctx->arena = c->arena;
    if (c->arena == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    if (rpc_ctx_expired(ctx))
        return ds_error_set(err, DS_ERR_DEADLINE, "deadline exceeded before %s started", ctx->method);
    if (!(c->m->flags & RPC_INLINE)) {
        c->peer = grpc_call_get_peer(c->call);
        ctx->peer = c->peer ? c->peer : "";
    }
    ctx->authorization = find_metadata(c, "authorization");
    if (c->req_bb == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "%s: request message missing", ctx->method);
    c->req = rpc_unpack(c->m->input, c->req_bb, c->arena);
    if (c->req == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "malformed request: bytes are not a valid %s",
                            c->m->input->name);
    return DS_OK;
}

ds_status rpc_call_auth(rpc_call *c, ds_error *err)
{
    if ((c->m->flags & RPC_NOAUTH) || c->srv->auth == NULL)
        return DS_OK;
    return c->srv->auth(&c->ctx, err, c->srv->auth_arg);
}

static void run_unary(rpc_call *c)
{
    ProtobufCMessage *resp = NULL;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    st = rpc_call_prepare(c, &err);
    if (st == DS_OK)
        st = rpc_call_auth(c, &err);
    if (st == DS_OK)
        st = c->m->unary(&c->ctx, c->req, &resp, &err, c->m->svc_data);
    if (st == DS_OK && resp == NULL)
        st = ds_error_set(&err, DS_ERR_INTERNAL, "%s returned no response", c->m->path);
    if (c->m->flags & RPC_SLOW)
        atomic_fetch_sub(&c->srv->slow_running, 1); /* admitted by dispatch */
    reply(c, resp, st, &err);
}

static void unary_job(rpc_job *job)
{
    run_unary((rpc_call *)((char *)job - offsetof(rpc_call, job)));
}

static void reply_error(rpc_call *c, ds_status st, const char *msg)
{
    ds_error err;

    ds_error_clear(&err);
    ds_error_set(&err, st, "%s", msg);
    reply(c, NULL, st, &err);
}

/* Count an RPC_SLOW call under the server's cap; false (nothing counted)
 * when slow_calls of them already run. Other calls always pass. */
static bool admit(rpc_call *c)
{
    rpc_server *srv = c->srv;

    if (!(c->m->flags & RPC_SLOW))
        return true;
    if (atomic_fetch_add(&srv->slow_running, 1) < srv->slow_calls)
        return true;
    atomic_fetch_sub(&srv->slow_running, 1);
    return false;
}

static void dispatch(rpc_call *c)
{
    rpc_method *m = c->m;
    char msg[300];

    if (m->bidi != NULL) {
        m->bidi(c);
    } else if (m->unary == NULL && m->stream == NULL) {
        snprintf(msg, sizeof(msg), "%s is not implemented yet", m->path);
        reply_error(c, DS_ERR_UNIMPLEMENTED, msg);
    } else if (m->server_streaming) {
        rpc_stream_arrive(c);
    } else if (!admit(c)) {
        snprintf(msg, sizeof(msg),
                 "%s: %d calls that wait on outside services already run in this server; "
                 "retry later",
                 m->path, c->srv->slow_calls);
        reply_error(c, DS_ERR_RESOURCE_EXHAUSTED, msg);
    } else if (m->flags & RPC_INLINE) {
        run_unary(c);
    } else {
        rpc_pool_push(c->srv->pool, &c->job, unary_job);
    }
}

/* A pre-requested call arrived (ok) or the request was dropped at shutdown. */
static void on_arrival(rpc_tag *t, bool ok)
{
    rpc_call *c = (rpc_call *)t;

    if (!ok) {
        rpc_call_release(c, true);
        return;
    }
    c->counted = true;
    atomic_fetch_add(&c->srv->live_calls, 1);
    if (!atomic_load(&c->srv->stopping))
        request_method(c->q, c->m);
    dispatch(c);
}

static void request_method(rpc_queue *q, rpc_method *m)
{
    rpc_call *c = call_get(q);
    grpc_call_error e;

    if (c == NULL)
        return;
    c->m = m;
    c->tag.done = on_arrival;
    e = grpc_server_request_registered_call(q->srv->server, m->reg, &c->call, &c->deadline, &c->md,
                                            m->bidi ? NULL : &c->req_bb, q->cq, q->cq, &c->tag);
    if (e != GRPC_CALL_OK)
        rpc_call_release(c, true);
}

static void on_unknown_arrival(rpc_tag *t, bool ok)
{
    rpc_call *c = (rpc_call *)t;
    char msg[300];
    grpc_slice meth;

    if (!ok) {
        rpc_call_release(c, true);
        return;
    }
    c->counted = true;
    atomic_fetch_add(&c->srv->live_calls, 1);
    if (!atomic_load(&c->srv->stopping))
        request_unknown(c->q);
    meth = c->details.method;
    snprintf(msg, sizeof(msg), "unknown method %.*s", (int)GRPC_SLICE_LENGTH(meth),
             (const char *)GRPC_SLICE_START_PTR(meth));
    reply_error(c, DS_ERR_UNIMPLEMENTED, msg);
}

static void request_unknown(rpc_queue *q)
{
    rpc_call *c = call_get(q);
    grpc_call_error e;

    if (c == NULL)
        return;
    grpc_call_details_init(&c->details);
    c->tag.done = on_unknown_arrival;
    e = grpc_server_request_call(q->srv->server, &c->call, &c->details, &c->md, q->cq, q->cq,
                                 &c->tag);
    if (e != GRPC_CALL_OK)
        rpc_call_release(c, true);
}

/* --- method table --- */

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (int)n : 1;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static ds_status add_method(rpc_server *srv, rpc_method *tmpl, grpc_server_register_method_payload_handling payload,
                            ds_error *err)
{
    rpc_method *m = malloc(sizeof(*m));
    rpc_method **grown = realloc(srv->methods, (srv->n_methods + 1) * sizeof(*grown));

    if (grown != NULL)
        srv->methods = grown;
    if (m == NULL || grown == NULL) {
        free(m);
        free(tmpl->path);
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory adding a method");
    }
    *m = *tmpl;
    srv->methods[srv->n_methods++] = m;
    m->reg = grpc_server_register_method(srv->server, m->path, NULL, payload, 0);
    if (m->reg == NULL)
        return ds_error_set(err, DS_ERR_CONFIG, "cannot register method %s (duplicate?)", m->path);
    return DS_OK;
}

static ds_status add_service_name(rpc_server *srv, const char *name, ds_error *err)
{
    char **grown = realloc(srv->services, (srv->n_services + 1) * sizeof(*grown));

    if (grown == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory adding a service");
    srv->services = grown;
    srv->services[srv->n_services] = dup_str(name);
    if (srv->services[srv->n_services] == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory adding a service");
    srv->n_services++;
    return DS_OK;
}

static char *method_path(const char *service, const char *method)
{
    size_t n = strlen(service) + strlen(method) + 3;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "/%s/%s", service, method);
    return p;
}

static const rpc_method_impl *find_impl(const rpc_method_impl *impls, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (impls[i].name != NULL && strcmp(impls[i].name, name) == 0)
            return &impls[i];
    }
    return NULL;
}

/* Every impl must name a method of the service (catches typos early). */
static ds_status check_impls(const ProtobufCServiceDescriptor *desc, const rpc_method_impl *impls,
                             size_t n, ds_error *err)
{
    size_t i, k;

    for (i = 0; i < n; i++) {
        for (k = 0; k < desc->n_methods; k++) {
            if (impls[i].name != NULL && strcmp(impls[i].name, desc->methods[k].name) == 0)
                break;
        }
        if (k == desc->n_methods)
            return ds_error_set(err, DS_ERR_CONFIG, "%s has no method %s", desc->name,
                                impls[i].name ? impls[i].name : "(null)");
    }
    return DS_OK;
}

static ds_status add_one_method(rpc_server *srv, const ProtobufCServiceDescriptor *desc,
                                const ProtobufCMethodDescriptor *md, const rpc_method_impl *impl,
                                void *svc_data, ds_error *err)
{
    rpc_method m = {0};
    bool cs = false, ss = false;

    if (rpc_descset_method(srv->ds, desc->name, md->name, &cs, &ss) != DS_OK)
        return ds_error_set(err, DS_ERR_CONFIG, "%s.%s is not in the descriptor set", desc->name,
                            md->name);
    if (cs) {
        if (impl != NULL && (impl->unary || impl->stream))
            return ds_error_set(err, DS_ERR_CONFIG, "%s.%s: client streaming is not supported",
                                desc->name, md->name);
        return DS_OK; /* answered UNIMPLEMENTED as an unknown method */
    }
    if (impl != NULL && ((ss && impl->unary) || (!ss && impl->stream)))
        return ds_error_set(err, DS_ERR_CONFIG, "%s.%s: handler kind does not match the proto",
                            desc->name, md->name);
    m.path = method_path(desc->name, md->name);
    if (m.path == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory adding a method");
    m.input = md->input;
    m.output = md->output;
    m.server_streaming = ss;
    m.svc_data = svc_data;
    if (impl != NULL) {
        m.unary = impl->unary;
        m.stream = impl->stream;
        m.flags = impl->flags;
    }
    return add_method(srv, &m, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, err);
}

ds_status rpc_server_add_service(rpc_server *srv, const ProtobufCServiceDescriptor *desc,
                                 const rpc_method_impl *impls, size_t n_impls, void *svc_data,
                                 ds_error *err)
{
    ds_status st;
    unsigned i;

    if (srv->started)
        return ds_error_set(err, DS_ERR_CONFIG, "add %s before rpc_server_start", desc->name);
    st = check_impls(desc, impls, n_impls, err);
    for (i = 0; st == DS_OK && i < desc->n_methods; i++)
        st = add_one_method(srv, desc, &desc->methods[i],
                            find_impl(impls, n_impls, desc->methods[i].name), svc_data, err);
    if (st == DS_OK)
        st = add_service_name(srv, desc->name, err);
    return st;
}

ds_status rpc_server_add_bidi(rpc_server *srv, const char *service, const char *method,
                              void (*bidi)(rpc_call *c), ds_error *err)
{
    rpc_method m = {0};
    bool cs = false, ss = false;
    ds_status st;

    if (rpc_descset_method(srv->ds, service, method, &cs, &ss) != DS_OK)
        return ds_error_set(err, DS_ERR_CONFIG, "%s.%s is not in the descriptor set", service, method);
    m.path = method_path(service, method);
    if (m.path == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory adding a method");
    m.bidi = bidi;
    m.flags = RPC_NOAUTH | RPC_INLINE;
    st = add_method(srv, &m, GRPC_SRM_PAYLOAD_NONE, err);
    if (st == DS_OK)
        st = add_service_name(srv, service, err);
    return st;
}

void rpc_server_set_auth(rpc_server *srv, rpc_auth_fn fn, void *arg)
{
    srv->auth = fn;
    srv->auth_arg = arg;
}

/* --- lifecycle --- */

static ds_status copy_config(rpc_server *srv, const rpc_config *cfg, ds_error *err)
{
    int n = cores();

    srv->listen_addr = dup_str(cfg->listen_addr ? cfg->listen_addr : "127.0.0.1:0");
    srv->error_domain = dup_str(cfg->error_domain ? cfg->error_domain : "");
    if (srv->listen_addr == NULL || srv->error_domain == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    srv->n_cq = cfg->cq_threads > 0 ? cfg->cq_threads : n;
    srv->handler_threads = cfg->handler_threads > 0 ? cfg->handler_threads : 4 * n;
    srv->slow_calls = cfg->slow_calls > 0 ? cfg->slow_calls : srv->handler_threads / 4;
    if (srv->slow_calls < 1)
        srv->slow_calls = 1;
    srv->requests_per_method = cfg->requests_per_method > 0 ? cfg->requests_per_method : REQUESTS_DEFAULT;
    srv->max_recv_bytes = cfg->max_recv_bytes > 0 ? cfg->max_recv_bytes : MAX_RECV_DEFAULT;
    if (srv->max_recv_bytes > INT32_MAX)
        srv->max_recv_bytes = INT32_MAX;
    srv->shutdown_grace_ms = cfg->shutdown_grace_ms > 0 ? cfg->shutdown_grace_ms : GRACE_DEFAULT_MS;
    return DS_OK;
}

static void create_grpc_server(rpc_server *srv)
{
    grpc_arg arg;
    grpc_channel_args args;

    arg.type = GRPC_ARG_INTEGER;
    arg.key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    arg.value.integer = (int)srv->max_recv_bytes;
    args.num_args = 1;
    args.args = &arg;
    srv->server = grpc_server_create(&args, NULL);
}

rpc_server *rpc_server_new(const rpc_config *cfg, ds_error *err)
{
    rpc_server *srv = calloc(1, sizeof(*srv));
    ds_status st;

    if (srv == NULL) {
        ds_error_set(err, DS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    grpc_init();
    pthread_mutex_init(&srv->streams_mu, NULL);
    atomic_init(&srv->live_calls, 0);
    atomic_init(&srv->slow_running, 0);
    atomic_init(&srv->stopping, false);
    st = copy_config(srv, cfg, err);
    if (st == DS_OK)
        st = rpc_descset_new(cfg->descriptor_set, cfg->descriptor_set_len, &srv->ds, err);
    if (st == DS_OK) {
        srv->health = rpc_health_new();
        if (srv->health == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    if (st == DS_OK) {
        create_grpc_server(srv);
        st = rpc_health_add(srv, err);
    }
    if (st == DS_OK)
        st = rpc_reflect_add(srv, err);
    if (st != DS_OK) {
        rpc_server_free(srv);
        return NULL;
    }
    return srv;
}

static void *cq_thread(void *arg)
{
    rpc_queue *q = arg;
    grpc_event ev;
    rpc_tag *t;

    for (;;) {
        ev = grpc_completion_queue_next(q->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        t = ev.tag;
        t->done(t, ev.success != 0);
    }
    return NULL;
}

static ds_status create_queues(rpc_server *srv, ds_error *err)
{
    int i;

    srv->queues = calloc((size_t)srv->n_cq, sizeof(*srv->queues));
    if (srv->queues == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (i = 0; i < srv->n_cq; i++) {
        srv->queues[i].srv = srv;
        srv->queues[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(srv->server, srv->queues[i].cq, NULL);
    }
    return DS_OK;
}

static ds_status bind_port(rpc_server *srv, int *port, ds_error *err)
{
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();

    *port = grpc_server_add_http2_port(srv->server, srv->listen_addr, creds);
    grpc_server_credentials_release(creds);
    if (*port == 0)
        return ds_error_set(err, DS_ERR_IO, "cannot listen on %s", srv->listen_addr);
    return DS_OK;
}

static void arm_queue(rpc_server *srv, rpc_queue *q)
{
    size_t i;
    int k;

    for (i = 0; i < srv->n_methods; i++) {
        for (k = 0; k < srv->requests_per_method; k++)
            request_method(q, srv->methods[i]);
    }
    for (k = 0; k < UNKNOWN_SLOTS; k++)
        request_unknown(q);
}

static void log_listening(rpc_server *srv, int port)
{
    const char *colon = strrchr(srv->listen_addr, ':');
    int host_len = colon ? (int)(colon - srv->listen_addr) : (int)strlen(srv->listen_addr);

    DS_INFO("rpc", "listening on %.*s:%d (%d queues, %d handler threads, %zu methods)", host_len,
            srv->listen_addr, port, srv->n_cq, srv->handler_threads, srv->n_methods);
}

ds_status rpc_server_start(rpc_server *srv, int *port, ds_error *err)
{
    ds_status st;
    size_t i;
    int k;

    if (srv->started)
        return ds_error_set(err, DS_ERR_CONFIG, "server already started");
    st = create_queues(srv, err);
    if (st == DS_OK)
        st = bind_port(srv, port, err);
    if (st == DS_OK) {
        srv->pool = rpc_pool_new(srv->handler_threads, err);
        if (srv->pool == NULL)
            st = DS_ERR_INTERNAL;
    }
    if (st != DS_OK)
        return st;
    grpc_server_start(srv->server);
    srv->started = true;
    rpc_health_set(srv, "", true);
    for (i = 0; i < srv->n_services; i++)
        rpc_health_set(srv, srv->services[i], true);
    for (k = 0; k < srv->n_cq; k++) {
        arm_queue(srv, &srv->queues[k]);
        if (pthread_create(&srv->queues[k].thread, NULL, cq_thread, &srv->queues[k]) == 0)
            srv->queues[k].thread_started = true;
        else
            DS_ERROR("rpc", "cannot start completion-queue thread %d", k);
    }
    log_listening(srv, *port);
    return DS_OK;
}

/* Wait until no call is in flight or `until_ms` passes; true if none left. */
static bool wait_calls(rpc_server *srv, int64_t until_ms)
{
    const struct timespec nap = {0, 2 * 1000 * 1000};

    while (atomic_load(&srv->live_calls) > 0 && now_ms() < until_ms)
        nanosleep(&nap, NULL);
    return atomic_load(&srv->live_calls) == 0;
}

static void stop_grpc_server(rpc_server *srv)
{
    grpc_completion_queue *scq = grpc_completion_queue_create_for_pluck(NULL);
    int64_t until = now_ms() + srv->shutdown_grace_ms;
    gpr_timespec limit = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                      gpr_time_from_millis(srv->shutdown_grace_ms, GPR_TIMESPAN));
    grpc_event ev;
    int tag;

    grpc_server_shutdown_and_notify(srv->server, scq, &tag);
    rpc_streams_end_all(srv);
    ev = grpc_completion_queue_pluck(scq, &tag, limit, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT || !wait_calls(srv, until)) {
        DS_WARN("rpc", "grace period over, cancelling %d calls", atomic_load(&srv->live_calls));
        grpc_server_cancel_all_calls(srv->server);
    }
    if (ev.type == GRPC_QUEUE_TIMEOUT)
        grpc_completion_queue_pluck(scq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    wait_calls(srv, INT64_MAX);
    grpc_completion_queue_shutdown(scq);
    grpc_completion_queue_destroy(scq);
}

static void stop_queues(rpc_server *srv)
{
    rpc_queue *q;
    rpc_call *c;
    int i;

    for (i = 0; srv->queues != NULL && i < srv->n_cq; i++) {
        q = &srv->queues[i];
        grpc_completion_queue_shutdown(q->cq);
        if (q->thread_started)
            pthread_join(q->thread, NULL);
        else
            while (grpc_completion_queue_next(q->cq, gpr_inf_past(GPR_CLOCK_REALTIME), NULL).type !=
                   GRPC_QUEUE_SHUTDOWN)
                ;
        grpc_completion_queue_destroy(q->cq);
        while (q->free_list != NULL) {
            c = q->free_list;
            q->free_list = c->next;
            grpc_metadata_array_destroy(&c->md);
            free(c);
        }
    }
}

void rpc_server_shutdown(rpc_server *srv)
{
    if (srv == NULL || !srv->started || srv->stopped)
        return;
    srv->stopped = true;
    DS_INFO("rpc", "shutting down, %d calls in flight", atomic_load(&srv->live_calls));
    rpc_health_drain(srv);
    atomic_store(&srv->stopping, true);
    stop_grpc_server(srv);
    rpc_pool_free(srv->pool);
    srv->pool = NULL;
    grpc_server_destroy(srv->server);
    srv->server = NULL;
    stop_queues(srv);
    DS_INFO("rpc", "stopped");
}

void rpc_server_free(rpc_server *srv)
{
    size_t i;

    if (srv == NULL)
        return;
    if (srv->started)
        rpc_server_shutdown(srv);
    if (srv->server != NULL)
        grpc_server_destroy(srv->server);
    if (!srv->started)
        stop_queues(srv);
    rpc_pool_free(srv->pool);
    for (i = 0; i < srv->n_methods; i++) {
        free(srv->methods[i]->path);
        free(srv->methods[i]);
    }
    free(srv->methods);
    for (i = 0; i < srv->n_services; i++)
        free(srv->services[i]);
    free(srv->services);
    free(srv->queues);
    rpc_health_free(srv->health);
    rpc_descset_free(srv->ds);
    free(srv->listen_addr);
    free(srv->error_domain);
    pthread_mutex_destroy(&srv->streams_mu);
    free(srv);
    grpc_shutdown_blocking();
}
