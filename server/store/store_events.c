/* store_events.c - order events in stream order, and event rows as messages. */
#include "store_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_row.h"

/* Columns after STORE_EVENT_COLUMNS in a store_events_read result. */
enum { COL_TXID = STORE_EVENT_NCOLS, COL_EVENT_ID, COL_READY };

static const store_stmt stmt_read = {
    "events_read",
    "SELECT " STORE_EVENT_COLUMNS ", e.txid::text, e.event_id, e.txid < h.horizon"
    " FROM order_events e, (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) h"
    " WHERE e.shop_id = $1 AND (e.txid, e.event_id) > ($2::xid8, $3::int8)"
    " ORDER BY e.txid, e.event_id LIMIT $4"};
static const store_stmt stmt_now = {"events_now",
                                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"};
static const store_stmt stmt_order_exists = {
    "events_order_exists", "SELECT 1 FROM orders WHERE shop_id = $1 AND order_id = $2"};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode `len` hex digits at s into a NUL-terminated arena string. */
static char *unhex(ds_arena *a, const char *s, size_t len)
{
    char *out = len % 2 == 0 ? ds_arena_alloc(a, len / 2 + 1) : NULL;

    for (size_t i = 0; out != NULL && i < len; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return NULL;
        out[i / 2] = (char)(hi * 16 + lo);
    }
    return out;
}

/* One "hexkey:hexvalue" item of length len at s. */
static Dropship__V1__OrderEvent__DetailsEntry *detail_entry(ds_arena *a, const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    Dropship__V1__OrderEvent__DetailsEntry *d;

    if (colon == NULL)
        return NULL;
    d = ds_arena_alloc(a, sizeof(*d));
    if (d == NULL)
        return NULL;
    dropship__v1__order_event__details_entry__init(d);
    d->key = unhex(a, s, (size_t)(colon - s));
    d->value = unhex(a, colon + 1, len - (size_t)(colon - s) - 1);
    return d->key != NULL && d->value != NULL ? d : NULL;
}

/* The details cell ("k:v,k:v", NULL when empty) into ev->details. */
static bool parse_details(ds_arena *a, const char *cell, Dropship__V1__OrderEvent *ev)
{
    size_t n = 1;

    if (cell == NULL || cell[0] == '\0')
        return true;
    for (const char *p = cell; *p != '\0'; p++)
        n += *p == ',';
    ev->details = ds_arena_alloc(a, n * sizeof(*ev->details));
    if (ev->details == NULL)
        return false;
    for (const char *p = cell; *p != '\0';) {
        size_t len = strcspn(p, ",");
        Dropship__V1__OrderEvent__DetailsEntry *d = detail_entry(a, p, len);
        if (d != NULL)
            ev->details[ev->n_details++] = d;
        p += len + (p[len] == ',');
    }
    return true;
}

Dropship__V1__OrderEvent *store_events_message(ds_arena *a, const PGresult *r, int row)
{
    Dropship__V1__OrderEvent *ev = ds_arena_alloc(a, sizeof(*ev));
    Dropship__V1__Actor *actor = ds_arena_alloc(a, sizeof(*actor));

    if (ev == NULL || actor == NULL)
        return NULL;
    dropship__v1__order_event__init(ev);
    dropship__v1__actor__init(actor);
    ev->order_id = store_row_strdup(a, r, row, 0);
    ev->case_id = store_row_strdup(a, r, row, 1);
    ev->sequence = store_row_int64(r, row, 2, 0);
    ev->event_time = store_row_timestamp(a, r, row, 3);
    actor->kind = (Dropship__V1__ActorKind)store_row_int32(r, row, 4, 0);
    actor->id = store_row_strdup(a, r, row, 5);
    ev->actor = actor;
    ev->type = (Dropship__V1__OrderEventType)store_row_int32(r, row, 6, 0);
    ev->from_state = (Dropship__V1__OrderState)store_row_int32(r, row, 7, 0);
    ev->to_state = (Dropship__V1__OrderState)store_row_int32(r, row, 8, 0);
    ev->case_from_state = (Dropship__V1__CaseState)store_row_int32(r, row, 9, 0);
    ev->case_to_state = (Dropship__V1__CaseState)store_row_int32(r, row, 10, 0);
    ev->cursor = "";
    if (ev->order_id == NULL || ev->case_id == NULL || actor->id == NULL ||
        !parse_details(a, store_row_text(r, row, 11), ev))
        return NULL;
    return ev;
}

ds_status store_events_read(store_conn *c, const char *shop_id, store_events_pos after, int limit,
                            PGresult **out, ds_error *err)
{
    char txid[24], event_id[24], lim[24];
    const char *params[4];

    *out = NULL;
    if (limit < 1 || limit > STORE_EVENTS_PAGE_MAX)
        return ds_error_set(err, DS_ERR_INTERNAL, "event page size %d out of range", limit);
    snprintf(txid, sizeof(txid), "%llu", (unsigned long long)after.txid);
    params[0] = shop_id;
    params[1] = txid;
    params[2] = store_param_int64(event_id, after.event_id);
    params[3] = store_param_int64(lim, limit);
    return store_exec(c, &stmt_read, 4, params, out, err);
}

/* An xid8 cell; 0 for NULL or garbage. */
static uint64_t cell_xid8(const PGresult *r, int row, int col)
{
    const char *s = store_row_text(r, row, col);
    unsigned long long v;
    char *end;

    if (s == NULL)
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0' ? (uint64_t)v : 0;
}

store_events_pos store_events_row_pos(const PGresult *r, int row)
{
    store_events_pos p = {cell_xid8(r, row, COL_TXID), store_row_int64(r, row, COL_EVENT_ID, 0)};

    return p;
}

bool store_events_row_ready(const PGresult *r, int row)
{
    return store_row_bool(r, row, COL_READY);
}

ds_status store_events_now(store_conn *c, store_events_pos *out, ds_error *err)
{
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_now, 0, NULL, &res, err);

    out->txid = 0;
    out->event_id = 0;
    if (st == DS_OK && PQntuples(res) != 1)
        st = ds_error_set(err, DS_ERR_INTERNAL, "no snapshot horizon returned");
    if (st == DS_OK)
        out->txid = cell_xid8(res, 0, 0);
    PQclear(res);
    return st;
}

ds_status store_events_order_exists(store_conn *c, const char *shop_id, const char *order_id,
                                    bool *exists, ds_error *err)
{
    const char *params[2] = {shop_id, order_id};
    PGresult *res = NULL;
    ds_status st = store_exec(c, &stmt_order_exists, 2, params, &res, err);

    *exists = st == DS_OK && PQntuples(res) > 0;
    PQclear(res);
    return st;
}

int store_events_pos_cmp(store_events_pos a, store_events_pos b)
{
    if (a.txid != b.txid)
        return a.txid < b.txid ? -1 : 1;
    if (a.event_id != b.event_id)
        return a.event_id < b.event_id ? -1 : 1;
    return 0;
}
