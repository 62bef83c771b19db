/* rpc_health.c - grpc.health.v1.Health: Check (inline, lock-free read) and
 * Watch (server stream told of every change), driven by rpc_health_set. */
#include "rpc_internal.h"

#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"

enum { HEALTH_MAX = 256, HEALTH_NAME_MAX = 200 };

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

/* Entries are appended under mu and never removed, so Check can scan the
 * first `n` without a lock. */
typedef struct health_entry {
    char name[HEALTH_NAME_MAX];
    atomic_int status;
} health_entry;

typedef struct watcher {
    struct watcher *next;
    rpc_stream *s;
    char name[HEALTH_NAME_MAX];
    int last; /* last status sent */
} watcher;

struct rpc_health {
    pthread_mutex_t mu;
    health_entry entries[HEALTH_MAX];
    atomic_size_t n;
    atomic_bool draining;
    watcher *watchers;
};

rpc_health *rpc_health_new(void)
{
    rpc_health *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    atomic_init(&h->n, 0);
    atomic_init(&h->draining, false);
    return h;
}

void rpc_health_free(rpc_health *h)
{
    watcher *w, *next;

    if (h == NULL)
        return;
    for (w = h->watchers; w != NULL; w = next) {
        next = w->next;
        free(w);
    }
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static int lookup(rpc_health *h, const char *name)
{
    size_t i, n = atomic_load_explicit(&h->n, memory_order_acquire);

    for (i = 0; i < n; i++) {
        if (strcmp(h->entries[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* Status of `name` as reported to clients. */
static int current(rpc_health *h, const char *name)
{
    int i = lookup(h, name);

    if (i < 0)
        return UNKNOWN;
    if (atomic_load(&h->draining))
        return NOT_SERVING;
    return atomic_load(&h->entries[i].status);
}

static void send_status(rpc_stream *s, int status)
{
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

    r.status = status;
    rpc_stream_send(s, &r.base);
}

static void notify_locked(rpc_health *h)
{
    watcher *w;
    int cur;

    for (w = h->watchers; w != NULL; w = w->next) {
        cur = current(h, w->name);
        if (cur != w->last) {
            send_status(w->s, cur);
            w->last = cur;
        }
    }
}

void rpc_health_set(rpc_server *srv, const char *service, bool serving)
{
    rpc_health *h = srv->health;
    size_t n;
    int i;

    if (service == NULL || strlen(service) >= HEALTH_NAME_MAX)
        return;
    pthread_mutex_lock(&h->mu);
    i = lookup(h, service);
    n = atomic_load(&h->n);
    if (i < 0 && n < HEALTH_MAX) {
        memcpy(h->entries[n].name, service, strlen(service) + 1);
        atomic_store(&h->entries[n].status, serving ? SERVING : NOT_SERVING);
        atomic_store_explicit(&h->n, n + 1, memory_order_release);
    } else if (i >= 0) {
        atomic_store(&h->entries[i].status, serving ? SERVING : NOT_SERVING);
    }
    notify_locked(h);
    pthread_mutex_unlock(&h->mu);
}

void rpc_health_drain(rpc_server *srv)
{
    rpc_health *h = srv->health;

    pthread_mutex_lock(&h->mu);
    atomic_store(&h->draining, true);
    notify_locked(h);
    pthread_mutex_unlock(&h->mu);
}

static ds_status health_check(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                              ds_error *err, void *svc_data)
{
    const Grpc__Health__V1__HealthCheckRequest *in = (const void *)req;
    Grpc__Health__V1__HealthCheckResponse *out;
    int status = current(svc_data, in->service);

    if (status == UNKNOWN)
        return ds_error_set(err, DS_ERR_NOT_FOUND, "unknown service \"%s\"", in->service);
    out = ds_arena_alloc(ctx->arena, sizeof(*out));
    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    grpc__health__v1__health_check_response__init(out);
    out->status = status;
    *resp = &out->base;
    return DS_OK;
}

static void watch_cancel(rpc_stream *s, void *arg)
{
    rpc_health *h = arg;
    watcher **pp, *w = NULL;

    pthread_mutex_lock(&h->mu);
    for (pp = &h->watchers; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->s == s) {
            w = *pp;
            *pp = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    if (w == NULL)
        return;
    free(w);
    rpc_stream_unref(s);
}

static ds_status health_watch(rpc_ctx *ctx, const ProtobufCMessage *req, rpc_stream *s,
                              ds_error *err, void *svc_data)
{
    const Grpc__Health__V1__HealthCheckRequest *in = (const void *)req;
    rpc_health *h = svc_data;
    watcher *w;

    if (strlen(in->service) >= HEALTH_NAME_MAX)
        return ds_error_set(err, DS_ERR_INVALID, "service name too long");
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    w->s = s;
    memcpy(w->name, in->service, strlen(in->service) + 1);
    rpc_stream_on_cancel(s, watch_cancel, h);
    pthread_mutex_lock(&h->mu);
    w->last = current(h, w->name);
    w->next = h->watchers;
    h->watchers = w;
    send_status(s, w->last);
    pthread_mutex_unlock(&h->mu);
    return DS_OK;
}

static const rpc_method_impl HEALTH_IMPLS[] = {
    {"Check", health_check, NULL, RPC_NOAUTH | RPC_INLINE},
    {"Watch", NULL, health_watch, RPC_NOAUTH | RPC_INLINE},
};

ds_status rpc_health_add(rpc_server *srv, ds_error *err)
{
    return rpc_server_add_service(srv, &grpc__health__v1__health__descriptor, HEALTH_IMPLS, 2,
                                  srv->health, err);
}
