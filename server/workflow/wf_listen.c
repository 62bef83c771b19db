/* wf_listen.c - the listener thread: one dedicated connection that LISTENs
 * on the task channel and wakes the claimer. Notifications are only hints
 * (polling is the guarantee); the connection is reopened whenever the
 * database goes away. */
#include <poll.h>
#include <stdint.h>
#include <time.h>

#include "ds_log.h"
#include "wf_internal.h"
#include "wf_policy.h"

enum {
    LISTEN_TICK_MS = 250,    /* how often the thread looks at the stop flag */
    RECONNECT_MS = 1000      /* pause (jittered) before reopening */
};

static bool stopping(wf_engine *e)
{
    bool s;

    pthread_mutex_lock(&e->mu);
    s = e->stopping;
    pthread_mutex_unlock(&e->mu);
    return s;
}

static void wake_claimer(wf_engine *e)
{
    pthread_mutex_lock(&e->mu);
    e->want_claim = true;
    pthread_cond_signal(&e->claim_cv);
    pthread_mutex_unlock(&e->mu);
}

/* Wait for notifications on c until stop or a broken connection. */
static void listen_loop(wf_engine *e, store_conn *c)
{
    PGconn *pg = store_conn_pg(c);

    while (!stopping(e)) {
        struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
        PGnotify *n;
        bool woke = false;
        if (pfd.fd < 0 || poll(&pfd, 1, LISTEN_TICK_MS) < 0)
            return;
        if (PQconsumeInput(pg) == 0 || PQstatus(pg) != CONNECTION_OK)
            return;
        for (n = PQnotifies(pg); n != NULL; n = PQnotifies(pg)) {
            PQfreemem(n);
            woke = true;
        }
        if (woke)
            wake_claimer(e);
    }
}

/* Sleep about ms, in ticks, waking early on stop. */
static void pause_ms(wf_engine *e, int64_t ms)
{
    int64_t until = wf_now_ms() + ms;

    while (!stopping(e) && wf_now_ms() < until) {
        struct timespec tick = {.tv_sec = 0, .tv_nsec = 50 * 1000000};
        nanosleep(&tick, NULL);
    }
}

void *wf_listener_main(void *arg)
{
    wf_engine *e = arg;
    bool lost = false;

    while (!stopping(e)) {
        store_conn *c = NULL;
        ds_error err;
        ds_error_clear(&err);
        if (store_acquire(e->listen_pool, INT64_MAX, &c, &err) == DS_OK &&
            store_exec_sql(c, "LISTEN " WF_CHANNEL, &err) == DS_OK) {
            if (lost)
                DS_INFO("tasks", "task notifications listening again");
            lost = false;
            wake_claimer(e); /* hints may have been missed meanwhile */
            listen_loop(e, c);
        }
        store_release(e->listen_pool, c);
        if (stopping(e))
            break;
        if (!lost)
            DS_WARN("tasks", "task notification connection lost; polling until it is back%s%s",
                    err.message[0] ? ": " : "", err.message);
        lost = true;
        pause_ms(e, wf_jitter_ms(RECONNECT_MS, wf_random()));
    }
    return NULL;
}
