/* wf_order_fsm.c - the order transition table and wf_order_apply, the only
 * code that changes orders.state. */
#include "wf_order_fsm.h"

#include <stdio.h>
#include <string.h>

#include "dropship/v1/orders.pb-c.h"
#include "store_events.h"
#include "store_row.h"
#include "wf_order_runtime.h"

enum {
    S_RECEIVED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_RECEIVED,
    S_VERIFYING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_VERIFYING,
    S_PURCHASING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_PURCHASING,
    S_AWAIT_PAY = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_AWAITING_PAYMENT,
    S_AWAIT_SHIP = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_AWAITING_SHIPMENT,
    S_IN_TRANSIT = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_IN_TRANSIT,
    S_DELIVERED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_DELIVERED,
    S_COMPLETED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_COMPLETED,
    S_ON_HOLD = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_ON_HOLD,
    S_CANCELLING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLING,
    S_CANCELLED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_CANCELLED,
    S_COUNT = 12
};

#define B(s) (1u << (s))

/* allowed[from] = bit set of the states `from` may move to. ON_HOLD may
 * also return to its held state (checked in wf_order_apply). */
static const unsigned allowed[S_COUNT] = {
    [S_RECEIVED] = B(S_VERIFYING) | B(S_ON_HOLD) | B(S_CANCELLED),
    [S_VERIFYING] = B(S_PURCHASING) | B(S_ON_HOLD) | B(S_CANCELLED),
    [S_PURCHASING] = B(S_AWAIT_PAY) | B(S_ON_HOLD) | B(S_CANCELLING) | B(S_CANCELLED),
    [S_AWAIT_PAY] = B(S_AWAIT_SHIP) | B(S_ON_HOLD) | B(S_CANCELLING),
    [S_AWAIT_SHIP] = B(S_IN_TRANSIT) | B(S_ON_HOLD) | B(S_CANCELLING),
    [S_IN_TRANSIT] = B(S_DELIVERED) | B(S_ON_HOLD),
    [S_DELIVERED] = B(S_COMPLETED) | B(S_ON_HOLD),
    [S_ON_HOLD] = B(S_CANCELLING) | B(S_CANCELLED),
    [S_CANCELLING] = B(S_CANCELLED) | B(S_ON_HOLD),
    [S_COMPLETED] = 0,
    [S_CANCELLED] = 0,
};

/* The step each state runs when entered (resumes run it too). */
static const char *const entry_kind[S_COUNT] = {
    [S_RECEIVED] = WF_ORDER_KIND_VERIFY,         [S_VERIFYING] = WF_ORDER_KIND_VERIFY,
    [S_PURCHASING] = WF_ORDER_KIND_PURCHASE,     [S_AWAIT_PAY] = WF_ORDER_KIND_PAYMENT,
    [S_AWAIT_SHIP] = WF_ORDER_KIND_TRACKING,     [S_IN_TRANSIT] = WF_ORDER_KIND_TRACKING,
    [S_DELIVERED] = WF_ORDER_KIND_COMPLETE,      [S_CANCELLING] = WF_ORDER_KIND_CANCEL,
};

static const char *const state_names[S_COUNT] = {
    "UNSPECIFIED",       "RECEIVED",   "VERIFYING", "PURCHASING", "AWAITING_PAYMENT",
    "AWAITING_SHIPMENT", "IN_TRANSIT", "DELIVERED", "COMPLETED",  "ON_HOLD",
    "CANCELLING",        "CANCELLED"};

/* clang-format off */
static const store_stmt stmt_lock = {
    "wf_order_lock",
    "SELECT state, COALESCE(hold_held_state, 0), COALESCE(hold_reason, 0), version, "
    "cancel_reason <> '' FROM orders WHERE shop_id = $1 AND order_id = $2 FOR UPDATE"};
/* The order row and its history event are written by one statement each
 * time (the UPDATE hands the event its sequence number), so a transition
 * costs one round trip. Both return the event's seq and the new version.
 * They give the event its stream position themselves, which spares the row
 * the trigger (0010_event_writers.sql): the position is this transaction's
 * id, raised to the previous event's (EVENT_POSITION); the stream's wake-up
 * is queued for after the commit (store_notify, 0011_notify_after_commit.sql).
 * The order row is locked by an earlier statement of the transaction
 * (wf_order_lock), so that previous event is committed or this
 * transaction's own, and visible to this statement.
 *
 * $3 state, $4 hold reason (NULL = clear the hold), $5 detail, $6 held
 * state, $7 line ids (space-separated), $8 supplier, $9 cancel reason
 * (NULL = keep); event: $10 actor kind, $11 actor id, $12 type, $13 from
 * state, $14 details (NULL = {}). */
#define EVENT_POSITION                                                                      \
    "GREATEST(pg_current_xact_id(), (SELECT e.txid FROM order_events e WHERE e.shop_id = $1 " \
    "AND e.order_id = $2 AND e.seq = o.last_event_seq - 1))"
static const store_stmt stmt_update = {
    "wf_order_update",
    "WITH o AS (UPDATE orders SET state = $3, hold_reason = $4, "
    "hold_detail = COALESCE($5, ''), hold_held_state = $6, "
    "hold_since = CASE WHEN $4::int2 IS NULL THEN NULL "
    "WHEN hold_reason IS NULL THEN now() ELSE hold_since END, "
    "hold_line_ids = CASE WHEN $7::text IS NULL OR $7 = '' THEN '{}'::text[] "
    "ELSE string_to_array($7, ' ') END, hold_supplier_id = $8::uuid, "
    "cancel_reason = COALESCE($9, cancel_reason), version = version + 1, "
    "last_event_seq = last_event_seq + 1, update_time = now() "
    "WHERE shop_id = $1 AND order_id = $2 RETURNING last_event_seq, version) "
    "INSERT INTO order_events (shop_id, order_id, seq, actor_kind, actor_id, type, from_state, "
    "to_state, details, txid) SELECT $1, $2, o.last_event_seq, $10, $11, $12, $13, $3, "
    "COALESCE($14::jsonb, '{}'), " EVENT_POSITION " FROM o "
    "RETURNING seq, (SELECT version FROM o)"};
/* An event that leaves state and hold as they are. $3 cancel reason (NULL
 * = keep); event: $4 actor kind, $5 actor id, $6 type, $7 state, $8 details. */
static const store_stmt stmt_touch = {
    "wf_order_touch",
    "WITH o AS (UPDATE orders SET cancel_reason = COALESCE($3, cancel_reason), "
    "version = version + 1, last_event_seq = last_event_seq + 1, update_time = now() "
    "WHERE shop_id = $1 AND order_id = $2 RETURNING last_event_seq, version) "
    "INSERT INTO order_events (shop_id, order_id, seq, actor_kind, actor_id, type, from_state, "
    "to_state, details, txid) SELECT $1, $2, o.last_event_seq, $4, $5, $6, $7, $7, "
    "COALESCE($8::jsonb, '{}'), " EVENT_POSITION " FROM o "
    "RETURNING seq, (SELECT version FROM o)"};
/* clang-format on */

bool wf_order_can_move(int32_t from, int32_t to)
{
    if (from <= 0 || from >= S_COUNT || to <= 0 || to >= S_COUNT)
        return false;
    return (allowed[from] & B(to)) != 0;
}

bool wf_order_pre_shipment(int32_t state)
{
    return state >= S_RECEIVED && state <= S_AWAIT_SHIP;
}

const char *wf_order_entry_kind(int32_t state)
{
    return state > 0 && state < S_COUNT ? entry_kind[state] : NULL;
}

const char *wf_order_state_name(int32_t state)
{
    return state >= 0 && state < S_COUNT ? state_names[state] : "?";
}

bool wf_order_id_from_key(const char *key, char out[37])
{
    if (key == NULL || strncmp(key, "order:", 6) != 0 || strlen(key) < 6 + 36 + 1 ||
        key[6 + 36] != ':')
        return false;
    memcpy(out, key + 6, 36);
    out[36] = '\0';
    return true;
}

ds_status wf_order_lock_read(PGresult *r, const char *order_id, wf_order_cur *cur,
                             ds_error *err)
{
    ds_status st = DS_OK;

    if (PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "order %s not found", order_id);
    if (st == DS_OK) {
        cur->state = (int32_t)store_row_int64(r, 0, 0, 0);
        cur->held_state = (int32_t)store_row_int64(r, 0, 1, 0);
        cur->hold_reason = (int32_t)store_row_int64(r, 0, 2, 0);
        cur->version = store_row_int64(r, 0, 3, 0);
        cur->cancel_requested = PQgetvalue(r, 0, 4)[0] == 't';
    }
    PQclear(r);
    return st;
}

store_batch_item wf_order_lock_item(const char *shop_id, const char *order_id,
                                    const char *params[2], PGresult **res)
{
    store_batch_item item = {.stmt = &stmt_lock, .nparams = 2, .values = params, .out = res};

    params[0] = shop_id;
    params[1] = order_id;
    return item;
}

ds_status wf_order_lock(store_conn *tx, const char *shop_id, const char *order_id,
                        wf_order_cur *cur, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_lock, 2, v, &r, err);

    return st == DS_OK ? wf_order_lock_read(r, order_id, cur, err) : st;
}

ds_status wf_order_schedule(store_conn *tx, const char *shop_id, const char *order_id,
                            const char *kind, int64_t delay_ms, ds_error *err)
{
    char key[WF_ORDER_KEY_MAX];
    const char *step = strchr(kind, '.');
    /* supplier trouble holds the order sooner than the engine's default */
    wf_new_task t = {.shop_id = shop_id, .kind = kind, .key = key, .delay_ms = delay_ms,
                     .max_attempts = wf_order_max_attempts(kind)};

    snprintf(key, sizeof(key), "order:%s:%s", order_id, step != NULL ? step + 1 : kind);
    return wf_schedule_in(tx, &t, NULL, err);
}

/* Is ch a legal change from cur? Fills err when not. */
static ds_status check_move(const wf_order_cur *cur, const wf_order_change *ch, ds_error *err)
{
    if (ch->to == cur->state)
        return DS_OK; /* an event only */
    if (cur->state == S_ON_HOLD && ch->to == cur->held_state)
        return DS_OK;
    /* a purchase refused (rejected, out of stock) or held for its offer is
     * planned again from verify */
    if (cur->state == S_ON_HOLD && cur->held_state == S_PURCHASING && ch->to == S_VERIFYING &&
        (cur->hold_reason == DROPSHIP__V1__HOLD_REASON__HOLD_REASON_SUPPLIER_REJECTED ||
         cur->hold_reason == DROPSHIP__V1__HOLD_REASON__HOLD_REASON_OUT_OF_STOCK ||
         cur->hold_reason == DROPSHIP__V1__HOLD_REASON__HOLD_REASON_PRICE_CHANGED))
        return DS_OK;
    /* a refused cancellation is given up: the order goes on after purchase */
    if (cur->state == S_ON_HOLD && ch->to == S_AWAIT_PAY &&
        cur->hold_reason == DROPSHIP__V1__HOLD_REASON__HOLD_REASON_CANCEL_REFUSED)
        return DS_OK;
    if (cur->state == S_ON_HOLD && (ch->to == S_CANCELLING || ch->to == S_CANCELLED) &&
        !wf_order_pre_shipment(cur->held_state))
        goto illegal;
    if (wf_order_can_move(cur->state, ch->to))
        return DS_OK;
illegal:
    ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "order is %s and cannot become %s",
                 wf_order_state_name(cur->state), wf_order_state_name(ch->to));
    ds_error_reason(err, "ORDER_STATE");
    return DS_ERR_FAILED_PRECONDITION;
}

/* Write the order row and append its event; *version gets the new version. */
static ds_status write_row(store_conn *tx, const char *shop_id, const char *order_id,
                           const wf_order_cur *cur, const wf_order_change *ch, int64_t *version,
                           ds_error *err)
{
    char state[24], reason[24], held[24], kind[24], type[24], from[24];
    const char *actor = ch->actor_id != NULL ? ch->actor_id : "";
    const char *v[14] = {shop_id, order_id, store_param_int64(state, ch->to), NULL, NULL, NULL,
                         NULL, NULL, ch->cancel_reason, store_param_int64(kind, ch->actor_kind),
                         actor, store_param_int64(type, ch->event_type),
                         store_param_int64(from, cur->state), ch->details};
    PGresult *r = NULL;
    ds_status st;

    if (ch->to == cur->state) {
        const char *t[8] = {shop_id, order_id, ch->cancel_reason, v[9], actor, v[11], v[12],
                            ch->details};
        st = store_exec(tx, &stmt_touch, 8, t, &r, err);
        goto read;
    }
    if (ch->to == S_ON_HOLD) {
        v[3] = store_param_int64(reason, ch->hold_reason);
        v[4] = ch->hold_detail;
        v[5] = store_param_int64(held, cur->state);
        v[6] = ch->hold_line_ids;
        v[7] = ch->hold_supplier_id != NULL && ch->hold_supplier_id[0] != '\0'
                   ? ch->hold_supplier_id : NULL;
    }
    st = store_exec(tx, &stmt_update, 14, v, &r, err);
read:
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "order %s not found", order_id);
    if (st == DS_OK)
        *version = store_row_int64(r, 0, 1, 0);
    PQclear(r);
    if (st == DS_OK)
        st = store_notify(tx, STORE_EVENTS_CHANNEL, shop_id, err);
    return st;
}

ds_status wf_order_apply(store_conn *tx, const char *shop_id, const char *order_id,
                         wf_order_cur *cur, const wf_order_change *ch, ds_error *err)
{
    int64_t version = 0;
    int32_t from = cur->state;
    const char *kind = wf_order_entry_kind(ch->to);
    ds_status st = check_move(cur, ch, err);

    if (st == DS_OK)
        st = write_row(tx, shop_id, order_id, cur, ch, &version, err);
    if (st == DS_OK && ch->to != from && !ch->no_entry_task && kind != NULL)
        st = wf_order_schedule(tx, shop_id, order_id, kind, ch->entry_delay_ms, err);
    if (st != DS_OK)
        return st;
    if (ch->to != from && ch->to == S_ON_HOLD)
        cur->held_state = from;
    else if (ch->to != from)
        cur->held_state = 0;
    cur->state = ch->to;
    cur->version = version;
    if (ch->cancel_reason != NULL)
        cur->cancel_requested = true;
    return DS_OK;
}
