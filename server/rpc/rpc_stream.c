/* rpc_stream.c - server-streaming calls: a bounded send queue with one
 * SEND_MESSAGE in flight, status after the queue drains, cancellation seen
 * through an early RECV_CLOSE_ON_SERVER, reference counting. */
#include "rpc_internal.h"

#include <stdlib.h>
#include <string.h>

#include "ds_log.h"

enum { STREAM_QUEUE_MAX = 1024 };

struct rpc_stream {
    rpc_call *c;
    atomic_int refs;
    pthread_mutex_t mu; /* guards everything below */
    rpc_tag send_tag;
    rpc_tag status_tag;
    rpc_tag close_tag;
    grpc_byte_buffer *ring[STREAM_QUEUE_MAX];
    size_t head;
    size_t count;
    grpc_byte_buffer *sending;
    grpc_op status_op;     /* prepared by rpc_stream_finish */
    int close_cancelled;   /* RECV_CLOSE_ON_SERVER result */
    bool send_busy;        /* one SEND_MESSAGE in flight */
    bool finish_req;       /* rpc_stream_finish was called */
    bool status_busy;      /* SEND_STATUS in flight */
    bool status_done;      /* status went out: normal end */
    bool close_done;       /* RECV_CLOSE_ON_SERVER completed */
    bool cancelled;        /* client left, deadline, or server cancel */
    bool closed;           /* nothing more can be sent */
    bool handler_done;     /* stream handler returned */
    bool shutdown_pending; /* shutdown arrived while the handler ran */
    bool cancel_fired;
    bool over;             /* the rpc layer is done with the grpc_call */
    rpc_stream_cancel_fn cancel_fn;
    bool cancel_running;   /* the cancel callback is executing... */
    pthread_t cancel_thread; /* ...on this thread */
    pthread_cond_t cancel_cv; /* signalled when it returns */
    void *cancel_arg;
    rpc_stream *prev;      /* srv->streams list, under srv->streams_mu */
    rpc_stream *next;
};

static void drop_queue_locked(rpc_stream *s)
{
    while (s->count > 0) {
        grpc_byte_buffer_destroy(s->ring[s->head]);
        s->head = (s->head + 1) % STREAM_QUEUE_MAX;
        s->count--;
    }
}

/* Mark the call over when no operation is left in flight and the stream
 * handler has returned (its job still reads the call until then). */
static bool check_over_locked(rpc_stream *s)
{
    if (s->over || !s->handler_done || !s->close_done || s->send_busy || s->status_busy)
        return false;
    s->over = true;
    s->closed = true;
    drop_queue_locked(s);
    return true;
}

static void start_send_locked(rpc_stream *s, grpc_byte_buffer *bb)
{
    grpc_op ops[2];
    size_t n = 0;

    memset(ops, 0, sizeof(ops));
    if (!s->c->md_sent)
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
    s->sending = bb;
    s->send_busy = true;
    s->c->md_sent = true;
    if (grpc_call_start_batch(s->c->call, ops, n, &s->send_tag, NULL) != GRPC_CALL_OK) {
        s->send_busy = false;
        s->sending = NULL;
        s->closed = true;
        grpc_byte_buffer_destroy(bb);
    }
}

static void start_status_locked(rpc_stream *s)
{
    grpc_op ops[2];
    size_t n = 0;

    memset(ops, 0, sizeof(ops));
    if (!s->c->md_sent)
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n++] = s->status_op;
    s->status_busy = true;
    s->c->md_sent = true;
    if (grpc_call_start_batch(s->c->call, ops, n, &s->status_tag, NULL) != GRPC_CALL_OK) {
        s->status_busy = false;
        s->closed = true;
    }
}

/* Ask for the status to go out after the queued messages (once). */
static void finish_locked(rpc_stream *s, ds_status st, const ds_error *err)
{
    if (s->finish_req || s->closed)
        return;
    s->finish_req = true;
    rpc_call_status_op(s->c, &s->status_op, st, err);
    if (!s->send_busy)
        start_status_locked(s);
}

/* The rpc layer's part ends: release the grpc_call, drop our reference. */
static void call_over(rpc_stream *s)
{
    rpc_server *srv = s->c->srv;

    pthread_mutex_lock(&srv->streams_mu);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else if (srv->streams == s)
        srv->streams = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    pthread_mutex_unlock(&srv->streams_mu);
    grpc_call_unref(s->c->call);
    s->c->call = NULL;
    if (s->c->counted) {
        s->c->counted = false;
        atomic_fetch_sub(&srv->live_calls, 1);
    }
    rpc_stream_unref(s);
}

/* Decide under the lock whether the cancel callback fires now. */
static bool take_cancel_locked(rpc_stream *s)
{
    if (s->cancel_fired || s->cancel_fn == NULL || !s->handler_done || s->status_done)
        return false;
    s->cancel_fired = true;
    s->cancel_running = true; /* rpc_stream_finish waits until run_cancel ends */
    s->cancel_thread = pthread_self();
    return true;
}

/* Run the cancel callback taken with take_cancel_locked (lock not held).
 * rpc_stream_finish waits for it, so the owner may free its arg after. */
static void run_cancel(rpc_stream *s)
{
    s->cancel_fn(s, s->cancel_arg);
    pthread_mutex_lock(&s->mu);
    s->cancel_running = false;
    pthread_cond_broadcast(&s->cancel_cv);
    pthread_mutex_unlock(&s->mu);
}

static void on_send_done(rpc_tag *t, bool ok)
{
    rpc_stream *s = (rpc_stream *)((char *)t - offsetof(rpc_stream, send_tag));
    grpc_byte_buffer *next;
    bool over;

    pthread_mutex_lock(&s->mu);
    grpc_byte_buffer_destroy(s->sending);
    s->sending = NULL;
    s->send_busy = false;
    if (!ok) {
        s->closed = true;
        drop_queue_locked(s);
    } else if (s->count > 0) {
        next = s->ring[s->head];
        s->head = (s->head + 1) % STREAM_QUEUE_MAX;
        s->count--;
        start_send_locked(s, next);
    } else if (s->finish_req && !s->status_busy && !s->status_done) {
        start_status_locked(s);
    }
    over = check_over_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (over)
        call_over(s);
}

static void on_status_done(rpc_tag *t, bool ok)
{
    rpc_stream *s = (rpc_stream *)((char *)t - offsetof(rpc_stream, status_tag));
    bool over;

    pthread_mutex_lock(&s->mu);
    s->status_busy = false;
    s->status_done = ok;
    s->closed = true;
    over = check_over_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (over)
        call_over(s);
}

static void on_close_done(rpc_tag *t, bool ok)
{
    rpc_stream *s = (rpc_stream *)((char *)t - offsetof(rpc_stream, close_tag));
    bool over, fire = false;

    pthread_mutex_lock(&s->mu);
    s->close_done = true;
    s->closed = true;
    if (!ok || s->close_cancelled) {
        s->cancelled = true;
        drop_queue_locked(s);
        fire = take_cancel_locked(s);
    }
    over = check_over_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (fire)
        run_cancel(s);
    if (over)
        call_over(s);
}

/* Shutdown: finish with UNAVAILABLE after the queued messages, tell the owner. */
static void stream_end(rpc_stream *s)
{
    ds_error err;
    bool fire;

    ds_error_clear(&err);
    ds_error_set(&err, DS_ERR_UNAVAILABLE, "server is shutting down");
    pthread_mutex_lock(&s->mu);
    finish_locked(s, DS_ERR_UNAVAILABLE, &err);
    if (!s->handler_done)
        s->shutdown_pending = true;
    fire = take_cancel_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (fire)
        run_cancel(s);
}

/* After the handler returned: end the call if everything else already did. */
static void over_after_handler(rpc_stream *s)
{
    bool over;

    pthread_mutex_lock(&s->mu);
    over = check_over_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (over)
        call_over(s);
}

static void run_stream_start(rpc_stream *s)
{
    rpc_call *c = s->c;
    ds_error err;
    ds_status st;
    bool fire, end;

    rpc_stream_ref(s); /* ours until the end of this function */
    ds_error_clear(&err);
    st = rpc_call_prepare(c, &err);
    if (st == DS_OK)
        st = rpc_call_auth(c, &err);
    if (st == DS_OK)
        st = c->m->stream(&c->ctx, c->req, s, &err, c->m->svc_data);
    pthread_mutex_lock(&s->mu);
    s->handler_done = true;
    end = s->shutdown_pending;
    fire = st == DS_OK && s->cancelled && take_cancel_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (st != DS_OK) {
        rpc_stream_finish(s, st, &err);
        rpc_stream_unref(s); /* the handler's reference, never handed out */
    } else {
        if (fire)
            run_cancel(s);
        if (end)
            stream_end(s);
    }
    over_after_handler(s);
    rpc_stream_unref(s);
}

static void stream_job(rpc_job *job)
{
    rpc_call *c = (rpc_call *)((char *)job - offsetof(rpc_call, job));

    run_stream_start(c->ext);
}

static void link_stream(rpc_stream *s)
{
    rpc_server *srv = s->c->srv;

    pthread_mutex_lock(&srv->streams_mu);
    s->next = srv->streams;
    if (srv->streams != NULL)
        srv->streams->prev = s;
    srv->streams = s;
    s->shutdown_pending = srv->streams_ended;
    pthread_mutex_unlock(&srv->streams_mu);
}

void rpc_stream_arrive(rpc_call *c)
{
    rpc_stream *s = calloc(1, sizeof(*s));
    grpc_op op;

    if (s == NULL) {
        DS_ERROR("rpc", "out of memory starting %s", c->m->path);
        rpc_call_release(c, true);
        return;
    }
    s->c = c;
    c->ext = s;
    atomic_init(&s->refs, 2); /* the rpc layer's and the handler's */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cancel_cv, NULL);
    s->send_tag.done = on_send_done;
    s->status_tag.done = on_status_done;
    s->close_tag.done = on_close_done;
    link_stream(s);
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &s->close_cancelled;
    if (grpc_call_start_batch(c->call, &op, 1, &s->close_tag, NULL) != GRPC_CALL_OK) {
        s->close_done = true;
        s->closed = true;
    }
    if (c->m->flags & RPC_INLINE)
        run_stream_start(s);
    else
        rpc_pool_push(c->srv->pool, &c->job, stream_job);
}

void rpc_streams_end_all(rpc_server *srv)
{
    rpc_stream **list = NULL, *s;
    size_t n = 0, i;

    pthread_mutex_lock(&srv->streams_mu);
    srv->streams_ended = true;
    for (s = srv->streams; s != NULL; s = s->next)
        n++;
    list = calloc(n ? n : 1, sizeof(*list));
    n = 0;
    for (s = srv->streams; list != NULL && s != NULL; s = s->next) {
        rpc_stream_ref(s);
        list[n++] = s;
    }
    pthread_mutex_unlock(&srv->streams_mu);
    for (i = 0; i < n; i++) {
        stream_end(list[i]);
        rpc_stream_unref(list[i]);
    }
    free(list);
}

ds_status rpc_stream_send(rpc_stream *s, const ProtobufCMessage *msg)
{
    grpc_byte_buffer *bb = rpc_pack(msg);
    ds_status st = DS_OK;

    pthread_mutex_lock(&s->mu);
    if (s->closed || s->finish_req) {
        st = DS_ERR_CANCELLED;
    } else if (!s->send_busy) {
        start_send_locked(s, bb);
        bb = NULL;
    } else if (s->count >= STREAM_QUEUE_MAX) {
        st = DS_ERR_RESOURCE_EXHAUSTED;
    } else {
        s->ring[(s->head + s->count) % STREAM_QUEUE_MAX] = bb;
        s->count++;
        bb = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (bb != NULL)
        grpc_byte_buffer_destroy(bb);
    return st;
}

void rpc_stream_finish(rpc_stream *s, ds_status st, const ds_error *err)
{
    pthread_mutex_lock(&s->mu);
    finish_locked(s, st, err);
    while (s->cancel_running && !pthread_equal(s->cancel_thread, pthread_self()))
        pthread_cond_wait(&s->cancel_cv, &s->mu);
    s->cancel_fired = true; /* the owner is done: never call it back again */
    pthread_mutex_unlock(&s->mu);
}

void rpc_stream_on_cancel(rpc_stream *s, rpc_stream_cancel_fn fn, void *arg)
{
    pthread_mutex_lock(&s->mu);
    s->cancel_fn = fn;
    s->cancel_arg = arg;
    pthread_mutex_unlock(&s->mu);
}

bool rpc_stream_closed(rpc_stream *s)
{
    bool closed;

    pthread_mutex_lock(&s->mu);
    closed = s->closed || s->finish_req;
    pthread_mutex_unlock(&s->mu);
    return closed;
}

void rpc_stream_ref(rpc_stream *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void rpc_stream_unref(rpc_stream *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    drop_queue_locked(s);
    rpc_call_release(s->c, false);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cancel_cv);
    free(s);
}

void *rpc_stream_principal(rpc_stream *s)
{
    return s->c->ctx.principal;
}
