/* wf_events.h - the event hub: one per process, it follows the order_events
 * table through LISTEN/NOTIFY and hands each subscriber the events that
 * match its filter, in stream order, from the subscriber's own position on
 * (replay, then live, with no gap and no duplicate). See
 * docs/event-stream.md.
 *
 * How: one hub thread keeps one pooled connection that LISTENs on
 * STORE_EVENTS_CHANNEL (payload: a shop id; every writer of order_events
 * sends it with store_notify right after its commit). A
 * notification marks that shop's subscribers due; every WF_EVENTS_POLL_MS
 * all of them are due anyway (a lost notification delays, never loses, an
 * event), and after a reconnect too. A due subscriber is served by reading
 * its shop's events after its position (subscribers at the same position
 * share the read) and handing out those below the snapshot horizon, see
 * store_events.h. So a new subscriber with an old cursor replays through
 * the same code path that serves live ones, page by page.
 *
 * Rule for every writer of order_events (the no-gap, in-order guarantee
 * depends on it): a transaction that appends events to an order locks that
 * order's row first (UPDATE orders ... / SELECT ... FOR UPDATE) as its
 * first write, and appends with seq = previous seq + 1.
 *
 * Events become visible once every older transaction of the database
 * cluster has ended (normally milliseconds; a long-running transaction
 * anywhere holds them back).
 *
 * Slow consumers: when a sink refuses an event because its queue is full
 * (DS_ERR_RESOURCE_EXHAUSTED), the hub stops reading for that subscriber
 * and offers the same event again a little later; the stream is never cut.
 *
 * Threads: wf_events_new/start/stop/free on one controlling thread;
 * subscribe/unsubscribe from any thread (they never block on I/O); sink
 * callbacks run on the hub thread (or in wf_events_stop's caller).
 */
#ifndef WF_EVENTS_H
#define WF_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/orders.pb-c.h"
#include "store.h"
#include "store_events.h"

enum {
    WF_EVENTS_POLL_MS = 1000,     /* every subscriber is read at least this often */
    WF_EVENTS_MAX_SUBS = 4096,    /* open subscriptions per process */
    WF_EVENTS_MAX_SHOP_SUBS = 256, /* open subscriptions per shop and process */
    WF_EVENTS_CURSOR_MAX = 200    /* characters of a cursor (the proto's cap) */
};

typedef struct wf_events wf_events;

/* What a subscriber wants. */
typedef struct wf_events_filter {
    char shop_id[37];  /* uuid text, lower case */
    char order_id[37]; /* "" = every order of the shop; lower case */
    uint32_t states;   /* bit n = OrderState n; 0 = every event, case events
                          included; otherwise order events with such a
                          to_state only */
} wf_events_filter;

/* How the hub talks to a subscriber. All callbacks run on the hub thread
 * (end and release also on wf_events_stop's thread) and must not block. */
typedef struct wf_events_sink {
    /* Offer one event (its cursor set; valid during the call only). DS_OK:
     * taken. DS_ERR_RESOURCE_EXHAUSTED: no room now, offer it again later.
     * Anything else: the subscriber is gone and is dropped. */
    ds_status (*deliver)(void *arg, const Dropship__V1__OrderEvent *ev);
    /* The hub ends the subscription (shutdown) with st and err. */
    void (*end)(void *arg, ds_status st, const ds_error *err);
    /* The hub is done with arg: no callback for it follows. */
    void (*release)(void *arg);
} wf_events_sink;

/* A hub reading through pool (not owned; it keeps one connection of it
 * while running). NULL + err on out of memory. */
wf_events *wf_events_new(store_pool *pool, ds_error *err);

/* Start the hub thread. The database may be down: the hub connects when it
 * can. */
ds_status wf_events_start(wf_events *h, ds_error *err);

/* End every subscription with UNAVAILABLE "server is shutting down" (end,
 * then release), stop the thread, give the connection back. Later
 * subscribe calls fail with DS_ERR_UNAVAILABLE. Idempotent. */
void wf_events_stop(wf_events *h);

/* Free a stopped (or never started) hub. NULL is a no-op. Call it only once
 * nothing can call wf_events_unsubscribe any more (after the rpc server is
 * freed). */
void wf_events_free(wf_events *h);

/* Add a subscriber that receives the events after `from` that match f.
 * The hub calls sink with arg until it calls sink->release(arg) (exactly
 * once). On failure nothing was kept and release is not called:
 * DS_ERR_UNAVAILABLE (hub stopped or not started), DS_ERR_RESOURCE_EXHAUSTED
 * (too many subscriptions), DS_ERR_NOMEM. Any thread. */
ds_status wf_events_subscribe(wf_events *h, const wf_events_filter *f, store_events_pos from,
                              const wf_events_sink *sink, void *arg, ds_error *err);

/* The subscriber `arg` has gone: the hub drops it soon and calls release
 * on its thread. Unknown (already released) arg: no-op. Never blocks for
 * long; safe from rpc cancel callbacks. Any thread. */
void wf_events_unsubscribe(wf_events *h, void *arg);

/* The opaque cursor of a position ("base64url of 1.<txid>.<event_id>"), in
 * a; NULL on allocation failure. */
char *wf_events_cursor(ds_arena *a, store_events_pos pos);

/* Parse a cursor made by wf_events_cursor; false if malformed. */
bool wf_events_cursor_parse(const char *cursor, store_events_pos *pos);

#endif
