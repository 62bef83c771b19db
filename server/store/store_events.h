/* store_events.h - reading order events in stream order (WatchOrderEvents)
 * and turning event rows into dropship.v1.OrderEvent messages.
 *
 * Stream position: an event's (txid, event_id), see
 * migrations/0005_event_stream.sql and docs/event-stream.md. Positions are
 * totally ordered per shop; store_events_read returns a shop's events after
 * a position, in that order, and marks which of them are "ready": below the
 * horizon pg_snapshot_xmin(pg_current_snapshot()), i.e. written by a
 * transaction older than every transaction still running. Only ready
 * events may be handed out: nothing can ever appear behind them.
 *
 * The event row layout (STORE_EVENT_COLUMNS, columns 0..STORE_EVENT_NCOLS-1
 * of a result, table alias `e`) is shared by every reader of order_events
 * (GetOrderHistory too), which builds messages with store_events_message.
 *
 * Threads: reentrant; a store_conn belongs to its caller's thread.
 */
#ifndef STORE_EVENTS_H
#define STORE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/orders.pb-c.h"
#include "store.h"

/* The NOTIFY channel of the stream; payload: the shop id. Every writer of
 * order_events sends it with store_notify (after its commit). */
#define STORE_EVENTS_CHANNEL "dropship_events"

/* A position in a shop's event stream. {0, 0} is before everything. */
typedef struct store_events_pos {
    uint64_t txid;
    int64_t event_id;
} store_events_pos;

/* The event columns every order_events reader selects first (alias e).
 * Details come as "hexkey:hexvalue,..." (UTF-8 bytes in hex, sorted by key),
 * which needs no JSON parser and survives any character. */
#define STORE_EVENT_COLUMNS                                                                      \
    "e.order_id, coalesce(e.case_id::text, ''), e.seq,"                                          \
    " (extract(epoch FROM e.event_time) * 1000000)::int8, e.actor_kind, e.actor_id, e.type,"     \
    " e.from_state, e.to_state, e.case_from_state, e.case_to_state,"                             \
    " (SELECT string_agg(encode(convert_to(d.key, 'UTF8'), 'hex') || ':' ||"                     \
    " encode(convert_to(coalesce(d.value, ''), 'UTF8'), 'hex'), ',' ORDER BY d.key)"             \
    " FROM jsonb_each_text(e.details) d)"

enum {
    STORE_EVENT_NCOLS = 12,   /* columns of STORE_EVENT_COLUMNS */
    STORE_EVENTS_PAGE_MAX = 1000
};

/* The order event in columns 0..STORE_EVENT_NCOLS-1 of `row`, built in `a`
 * (cursor left ""). NULL on allocation failure. */
Dropship__V1__OrderEvent *store_events_message(ds_arena *a, const PGresult *r, int row);

/* Up to `limit` (1..STORE_EVENTS_PAGE_MAX) events of shop_id after `after`,
 * in stream order, ready or not. On DS_OK *out owns the result (PQclear);
 * read rows with store_events_message, store_events_row_pos and
 * store_events_row_ready. */
ds_status store_events_read(store_conn *c, const char *shop_id, store_events_pos after, int limit,
                            PGresult **out, ds_error *err);

/* Position of a row of a store_events_read result. */
store_events_pos store_events_row_pos(const PGresult *r, int row);

/* Whether that row is below the horizon (may be handed out). */
bool store_events_row_ready(const PGresult *r, int row);

/* The position "now": {horizon, 0}. Every event committed after this call
 * is after it (and a few committed just before may be too). */
ds_status store_events_now(store_conn *c, store_events_pos *out, ds_error *err);

/* Whether order order_id exists in shop shop_id (both uuid text). */
ds_status store_events_order_exists(store_conn *c, const char *shop_id, const char *order_id,
                                    bool *exists, ds_error *err);

/* -1, 0 or 1 as a is before, at or after b. */
int store_events_pos_cmp(store_events_pos a, store_events_pos b);

#endif
