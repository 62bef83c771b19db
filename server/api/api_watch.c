/* api_watch.c - OrderService.WatchOrderEvents: request checks, start
 * position, and the sink that turns hub events into stream messages. */
#include "api_watch.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_auth.h"
#include "api_util.h"
#include "api_validate.h"
#include "dropship/v1/orders.pb-c.h"
#include "store_events.h"
#include "wf_events.h"

enum { STATES_MAX = 32 };

/* --- the sink: the hub's side of one stream (arg = rpc_stream) ------------ */

static ds_status sink_deliver(void *arg, const Dropship__V1__OrderEvent *ev)
{
    Dropship__V1__WatchOrderEventsResponse msg = DROPSHIP__V1__WATCH_ORDER_EVENTS_RESPONSE__INIT;

    msg.event = (Dropship__V1__OrderEvent *)ev;
    return rpc_stream_send(arg, &msg.base);
}

static void sink_end(void *arg, ds_status st, const ds_error *err)
{
    rpc_stream_finish(arg, st, err);
}

static void sink_release(void *arg)
{
    rpc_stream_unref(arg);
}

static const wf_events_sink stream_sink = {sink_deliver, sink_end, sink_release};

/* Client cancel, deadline or rpc shutdown: the hub lets go of the stream. */
static void on_cancel(rpc_stream *s, void *hub)
{
    wf_events_unsubscribe(hub, s);
}

/* --- request ------------------------------------------------------------ */

static void lower_copy(char dst[37], const char *src)
{
    size_t i = 0;

    for (; src[i] != '\0' && i < 36; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

static void check_states(ds_error *err, const Dropship__V1__WatchOrderEventsRequest *r,
                         uint32_t *mask)
{
    char field[DS_ERROR_FIELD_MAX];

    *mask = 0;
    if (r->n_states > STATES_MAX) {
        ds_error_violation(err, "states", "at most %d states", STATES_MAX);
        return;
    }
    for (size_t i = 0; i < r->n_states; i++) {
        int v = (int)r->states[i];
        if (v > 0 && v < 32 &&
            protobuf_c_enum_descriptor_get_value(&dropship__v1__order_state__descriptor, v) != NULL) {
            *mask |= 1u << v;
            continue;
        }
        snprintf(field, sizeof(field), "states[%zu]", i);
        ds_error_violation(err, field, "is not an order state");
    }
}

/* Validate r into the filter and, when a cursor is given, the position. */
static ds_status check_request(const Dropship__V1__WatchOrderEventsRequest *r, const char *shop_id,
                               wf_events_filter *f, bool *has_cursor, store_events_pos *from,
                               ds_error *err)
{
    memset(f, 0, sizeof(*f));
    lower_copy(f->shop_id, shop_id);
    if (r->order_id[0] != '\0' && av_uuid(err, "order_id", r->order_id))
        lower_copy(f->order_id, r->order_id);
    check_states(err, r, &f->states);
    *has_cursor = r->cursor[0] != '\0';
    if (*has_cursor && !wf_events_cursor_parse(r->cursor, from))
        ds_error_violation(err, "cursor", "is not a cursor returned by this server");
    return api_validate_done(err, "request");
}

/* The order filter must name an order of the shop; without a cursor the
 * stream starts "now". One short database visit. */
static ds_status check_database(rpc_ctx *ctx, store_pool *pool, const wf_events_filter *f,
                                bool has_cursor, store_events_pos *from, ds_error *err)
{
    store_conn *c = NULL;
    bool exists = true;
    ds_status st = store_acquire(pool, ctx->deadline_ms, &c, err);

    if (st == DS_OK && f->order_id[0] != '\0')
        st = store_events_order_exists(c, f->shop_id, f->order_id, &exists, err);
    if (st == DS_OK && !exists)
        st = api_not_found(err, "order", f->order_id);
    if (st == DS_OK && !has_cursor)
        st = store_events_now(c, from, err);
    store_release(pool, c);
    return st;
}

ds_status api_watch_order_events(rpc_ctx *ctx, const ProtobufCMessage *req, rpc_stream *stream,
                                 ds_error *err, void *svc_data)
{
    const Dropship__V1__WatchOrderEventsRequest *r = (const void *)req;
    const api_principal *who = ctx->principal;
    api_env *env = svc_data;
    wf_events_filter f;
    store_events_pos from = {0, 0};
    bool has_cursor = false;
    ds_status st;

    if (env->events == NULL)
        return ds_error_set(err, DS_ERR_UNAVAILABLE, "event streaming is not running");
    st = check_request(r, who->shop_id, &f, &has_cursor, &from, err);
    if (st == DS_OK)
        st = check_database(ctx, env->pool, &f, has_cursor, &from, err);
    /* before subscribing: once the hub has the stream it may drop it (and
     * its reference) at any moment. The callback only fires after this
     * handler returned, and is a no-op for a stream the hub does not know. */
    if (st == DS_OK)
        rpc_stream_on_cancel(stream, on_cancel, env->events);
    if (st == DS_OK)
        st = wf_events_subscribe(env->events, &f, from, &stream_sink, stream, err);
    return st;
}

ds_status api_events_page(ds_arena *a, store_event_row *rows, size_t n, bool more, uint32_t fp,
                          const char *id, Dropship__V1__OrderEvent ***events, size_t *n_events,
                          char **next_page_token, ds_error *err)
{
    *events = ds_arena_alloc(a, sizeof(**events) * (n + 1));
    if (*events == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        (*events)[i] = rows[i].msg;
        rows[i].msg->cursor = wf_events_cursor(a, rows[i].pos);
        if (rows[i].msg->cursor == NULL)
            return ds_error_set(err, DS_ERR_INTERNAL, "cannot encode an event cursor");
    }
    *n_events = n;
    if (more && n > 0) {
        *next_page_token = api_page_token(a, rows[n - 1].msg->sequence, id, fp);
        if (*next_page_token == NULL)
            return ds_error_set(err, DS_ERR_INTERNAL, "cannot encode a page token");
    }
    return DS_OK;
}
