/* daemon_serve.c - `dropshipd serve`: schema check, rpc server, database
 * health, and a graceful stop on SIGTERM/SIGINT. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "daemon.h"
#include "ds_descset.h"
#include "ds_log.h"
#include "rpc.h"
#include "store_migrate.h"
#include "wf_events.h"
#include "wf_order_runtime.h"

enum {
    HEALTH_PERIOD_MS = 1000,
    SCHEMA_WAIT_TRIES = 10 /* seconds to wait for the database at start */
};

/* The database health loop: pings every HEALTH_PERIOD_MS and tells rpc. */
typedef struct health {
    rpc_server *srv;
    store_pool *pool;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool stop;
    bool serving; /* last state told to rpc */
} health;

static void health_tick(health *h)
{
    ds_error err;
    ds_status st;
    bool ok;

    ds_error_clear(&err);
    st = store_ping(h->pool, &err);
    if (st == DS_ERR_RESOURCE_EXHAUSTED)
        return; /* every connection busy: the database is up */
    ok = st == DS_OK;
    if (ok != h->serving) {
        if (ok)
            DS_INFO("main", "database reachable again: SERVING");
        else
            DS_WARN("main", "database unreachable, NOT_SERVING: %s", err.message);
    }
    h->serving = ok;
    rpc_health_set(h->srv, "", ok);
}

static void *health_main(void *arg)
{
    health *h = arg;
    struct timespec ts;

    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        pthread_mutex_unlock(&h->mu);
        health_tick(h);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += HEALTH_PERIOD_MS / 1000;
        pthread_mutex_lock(&h->mu);
        if (!h->stop)
            pthread_cond_timedwait(&h->wake, &h->mu, &ts);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void health_stop(health *h, pthread_t thread)
{
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
    pthread_join(thread, NULL);
}

/* Schema check, waiting up to SCHEMA_WAIT_TRIES s for the database. */
static bool schema_ok(store_pool *pool, const char *dir)
{
    ds_error err;
    ds_status st = DS_ERR_UNAVAILABLE;

    for (int i = 0; i < SCHEMA_WAIT_TRIES; i++) {
        struct timespec one = {1, 0};
        ds_error_clear(&err);
        st = store_schema_check(pool, dir, &err);
        if (st != DS_ERR_UNAVAILABLE && st != DS_ERR_RESOURCE_EXHAUSTED)
            break;
        DS_WARN("main", "waiting for the database: %s", err.message);
        nanosleep(&one, NULL);
    }
    if (st != DS_OK)
        DS_ERROR("main", "refusing to start: %s", err.message);
    return st == DS_OK;
}

/* Create, register and start the rpc server; logs why on failure. */
static rpc_server *start_rpc(const ds_config *cfg, store_pool *pool, wf_events *events)
{
    rpc_config rc = {
        .listen_addr = cfg->listen,
        .cq_threads = cfg->cq_threads,
        .handler_threads = cfg->handler_threads,
        .max_recv_bytes = (size_t)cfg->max_recv_bytes,
        .shutdown_grace_ms = cfg->shutdown_grace_ms,
        .descriptor_set = ds_descset,
        .descriptor_set_len = ds_descset_len,
        .error_domain = "dropship",
    };
    rpc_server *srv;
    ds_error err;
    int port = 0;

    ds_error_clear(&err);
    srv = rpc_server_new(&rc, &err);
    if (srv == NULL)
        goto fail;
    if (api_register(srv, pool, events, &err) != DS_OK || rpc_server_start(srv, &port, &err) != DS_OK)
        goto fail;
    DS_INFO("main", "listening on %.*s:%d", (int)(strrchr(cfg->listen, ':') - cfg->listen),
            cfg->listen, port);
    return srv;
fail:
    DS_ERROR("main", "cannot start the server: %s", err.message);
    rpc_server_free(srv);
    return NULL;
}

/* Block until SIGTERM or SIGINT (already blocked in every thread). */
static void wait_for_signal(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0)
        ;
    DS_INFO("main", "%s received, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* Run the server on an open, checked pool until a signal. */
static int serve_until_signal(const ds_config *cfg, store_pool *pool, const sigset_t *set)
{
    health h = {.pool = pool, .serving = true};
    pthread_t thread;
    ds_error err;
    wf_events *events = wf_events_new(pool, &err);
    rpc_server *srv = NULL;

    if (events == NULL || wf_events_start(events, &err) != DS_OK) {
        DS_ERROR("main", "cannot start the event hub: %s", err.message);
        wf_events_free(events);
        return 1;
    }
    wf_order_settings ws;
    wf_order_runtime *flows = NULL;
    wf_order_settings_default(&ws);
    ws.time_scale = cfg->workflow_time_scale;
    ws.workers = cfg->workflow_workers;
    ws.offer_sync_ms = (int64_t)cfg->offer_sync_s * 1000;
    ws.purchase_attempts = cfg->workflow_purchase_attempts;
    ws.step_attempts = cfg->workflow_step_attempts;
    ws.lease_ms = cfg->workflow_lease_ms;
    ws.escalate_after_ms = (int64_t)cfg->case_escalate_after_s * 1000;
    ws.adapter_queue_ms = cfg->adapter_queue_ms;
    if (ws.workers > 0) {
        flows = wf_order_runtime_start(pool, cfg->database_url, &ws, &err);
        if (flows == NULL) {
            DS_ERROR("main", "cannot start the order workflow: %s", err.message);
            wf_events_free(events);
            return 1;
        }
    }
    srv = start_rpc(cfg, pool, events);
    if (srv == NULL) {
        wf_order_runtime_stop(flows, 0);
        wf_events_free(events);
        return 1;
    }
    h.srv = srv;
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.wake, NULL);
    rpc_health_set(srv, "", true);
    if (pthread_create(&thread, NULL, health_main, &h) != 0) {
        DS_ERROR("main", "cannot start the health thread");
        wf_events_stop(events);
        rpc_server_shutdown(srv);
        rpc_server_free(srv);
        wf_events_free(events);
        return 1;
    }
    wait_for_signal(set);
    health_stop(&h, thread);
    wf_events_stop(events); /* event streams end UNAVAILABLE before rpc drains */
    rpc_server_shutdown(srv);
    rpc_server_free(srv);
    wf_order_runtime_stop(flows, cfg->shutdown_grace_ms);
    wf_events_free(events); /* after rpc: cancel callbacks may still reach it */
    pthread_cond_destroy(&h.wake);
    pthread_mutex_destroy(&h.mu);
    DS_INFO("main", "stopped");
    return 0;
}

int daemon_serve(const ds_config *cfg)
{
    store_pool *pool;
    sigset_t set;
    int rc = 1;

    if (cfg->n_args > 1) {
        fprintf(stderr, "dropshipd: serve takes no arguments\n");
        return 2;
    }
    pool = daemon_pool_new(cfg, 0);
    if (pool == NULL)
        return 1;
    if (!schema_ok(pool, cfg->migrations_dir))
        goto out;
    /* before any thread exists, so that only sigwait sees these */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = serve_until_signal(cfg, pool, &set);
out:
    api_cleanup();
    store_pool_free(pool);
    return rc;
}
