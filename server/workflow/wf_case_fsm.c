/* wf_case_fsm.c - the case transition table and wf_case_apply, the only
 * code that changes cases.state. */
#include "wf_case_fsm.h"

#include <stdio.h>
#include <string.h>

#include "dropship/v1/cases.pb-c.h"
#include "store_events.h"
#include "store_row.h"

enum {
    C_OPEN = DROPSHIP__V1__CASE_STATE__CASE_STATE_OPEN,
    C_APPROVED = DROPSHIP__V1__CASE_STATE__CASE_STATE_APPROVED,
    C_AWAIT_RETURN = DROPSHIP__V1__CASE_STATE__CASE_STATE_AWAITING_RETURN,
    C_RECEIVED = DROPSHIP__V1__CASE_STATE__CASE_STATE_RETURN_RECEIVED,
    C_REFUNDED = DROPSHIP__V1__CASE_STATE__CASE_STATE_REFUNDED,
    C_RESHIPPED = DROPSHIP__V1__CASE_STATE__CASE_STATE_RESHIPPED,
    C_CLOSED = DROPSHIP__V1__CASE_STATE__CASE_STATE_CLOSED,
    C_REJECTED = DROPSHIP__V1__CASE_STATE__CASE_STATE_REJECTED,
    C_COUNT = 9,
    S_DELIVERED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_DELIVERED
};

#define B(s) (1u << (s))

/* allowed[from] for a case whose goods come back ... */
static const unsigned with_return[C_COUNT] = {
    [C_OPEN] = B(C_APPROVED) | B(C_REJECTED) | B(C_CLOSED),
    [C_APPROVED] = B(C_AWAIT_RETURN) | B(C_RECEIVED) | B(C_CLOSED),
    [C_AWAIT_RETURN] = B(C_RECEIVED) | B(C_CLOSED),
    [C_RECEIVED] = B(C_REFUNDED) | B(C_RESHIPPED) | B(C_CLOSED),
    [C_REFUNDED] = B(C_RESHIPPED) | B(C_CLOSED),
    [C_RESHIPPED] = B(C_REFUNDED) | B(C_CLOSED),
};

/* ... and for one that needs no return parcel (lost, small damage). */
static const unsigned without_return[C_COUNT] = {
    [C_OPEN] = B(C_APPROVED) | B(C_REJECTED) | B(C_CLOSED),
    [C_APPROVED] = B(C_REFUNDED) | B(C_RESHIPPED) | B(C_CLOSED),
    [C_REFUNDED] = B(C_RESHIPPED) | B(C_CLOSED),
    [C_RESHIPPED] = B(C_REFUNDED) | B(C_CLOSED),
};

static const char *const state_names[C_COUNT] = {
    "UNSPECIFIED", "OPEN",     "APPROVED",  "AWAITING_RETURN", "RETURN_RECEIVED",
    "REFUNDED",    "RESHIPPED", "CLOSED",   "REJECTED"};

static const char *const type_names[] = {"UNSPECIFIED",      "RETURN",  "EXCHANGE",
                                         "NOT_AS_DESCRIBED", "DAMAGED", "LOST_IN_TRANSIT",
                                         "DISPUTE"};

/* clang-format off */
static const store_stmt stmt_order_of = {
    "wf_case_order_of",
    "SELECT order_id FROM cases WHERE shop_id = $1 AND case_id = $2"};
static const store_stmt stmt_lock = {
    "wf_case_lock",
    "SELECT supplier_id, type, state, version, return_required FROM cases "
    "WHERE shop_id = $1 AND case_id = $2 FOR UPDATE"};
static const store_stmt stmt_update = {
    "wf_case_update",
    "UPDATE cases SET state = $3, version = version + 1, update_time = now(), "
    "close_time = CASE WHEN $3::int2 IN (7, 8) THEN now() ELSE close_time END "
    "WHERE shop_id = $1 AND case_id = $2 RETURNING version"};
/* The order's next event number, without touching its version (a case
 * change is not a change of the order). */
static const store_stmt stmt_seq = {
    "wf_case_seq",
    "UPDATE orders SET last_event_seq = last_event_seq + 1 "
    "WHERE shop_id = $1 AND order_id = $2 RETURNING last_event_seq"};
static const store_stmt stmt_event = {
    "wf_case_event",
    "INSERT INTO order_events (shop_id, order_id, seq, actor_kind, actor_id, type, case_id, "
    "case_from_state, case_to_state, details) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE($10::jsonb, '{}'))"};
/* clang-format on */

bool wf_case_can_move(int32_t from, int32_t to, bool return_required)
{
    const unsigned *t = return_required ? with_return : without_return;

    if (from <= 0 || from >= C_COUNT || to <= 0 || to >= C_COUNT)
        return false;
    return (t[from] & B(to)) != 0;
}

bool wf_case_terminal(int32_t state)
{
    return state == C_CLOSED || state == C_REJECTED;
}

const char *wf_case_state_name(int32_t state)
{
    return state >= 0 && state < C_COUNT ? state_names[state] : "?";
}

const char *wf_case_type_name(int32_t type)
{
    return type >= 0 && type <= 6 ? type_names[type] : "?";
}

static ds_status read_order_id(store_conn *tx, const char *shop_id, const char *case_id,
                               wf_case_cur *cur, ds_error *err)
{
    const char *v[2] = {shop_id, case_id};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_order_of, 2, v, &r, err);

    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    if (st == DS_OK)
        snprintf(cur->order_id, sizeof(cur->order_id), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

ds_status wf_case_lock(store_conn *tx, const char *shop_id, const char *case_id,
                       wf_case_cur *cur, ds_error *err)
{
    const char *v[2] = {shop_id, case_id};
    PGresult *r = NULL;
    ds_status st;

    memset(cur, 0, sizeof(*cur));
    snprintf(cur->case_id, sizeof(cur->case_id), "%s", case_id);
    st = read_order_id(tx, shop_id, case_id, cur, err);
    if (st == DS_OK)
        st = wf_order_lock(tx, shop_id, cur->order_id, &cur->order, err);
    if (st == DS_OK)
        st = store_exec(tx, &stmt_lock, 2, v, &r, err);
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", case_id);
    if (st == DS_OK) {
        snprintf(cur->supplier_id, sizeof(cur->supplier_id), "%s", PQgetvalue(r, 0, 0));
        cur->type = store_row_int32(r, 0, 1, 0);
        cur->state = store_row_int32(r, 0, 2, 0);
        cur->version = store_row_int64(r, 0, 3, 0);
        cur->return_required = store_row_bool(r, 0, 4);
    }
    PQclear(r);
    return st;
}

ds_status wf_case_refuse(ds_error *err, const wf_case_cur *cur, const char *what)
{
    ds_error_set(err, DS_ERR_FAILED_PRECONDITION, "case is %s: %s",
                 wf_case_state_name(cur->state), what);
    ds_error_reason(err, "CASE_STATE");
    ds_error_metadata(err, "case_state", wf_case_state_name(cur->state));
    return DS_ERR_FAILED_PRECONDITION;
}

static ds_status check_move(const wf_case_cur *cur, const wf_case_change *ch, ds_error *err)
{
    char what[96];

    if (ch->to == cur->state || wf_case_can_move(cur->state, ch->to, cur->return_required))
        return DS_OK;
    snprintf(what, sizeof(what), "it cannot become %s%s", wf_case_state_name(ch->to),
             cur->return_required ? "" : " (no return required)");
    return wf_case_refuse(err, cur, what);
}

ds_status wf_case_event(store_conn *tx, const char *shop_id, const char *order_id,
                        const char *case_id, int32_t from, const wf_case_change *ch,
                        ds_error *err)
{
    char seq[24], kind[24], type[24], f[24], t[24];
    const char *v[2] = {shop_id, order_id};
    PGresult *r = NULL;
    ds_status st = store_exec(tx, &stmt_seq, 2, v, &r, err);

    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "order %s not found", order_id);
    if (st == DS_OK)
        snprintf(seq, sizeof(seq), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (st != DS_OK)
        return st;
    const char *ev[10] = {shop_id, order_id, seq,
                          store_param_int64(kind, ch->actor_kind),
                          ch->actor_id != NULL ? ch->actor_id : "",
                          store_param_int64(type, ch->event_type), case_id,
                          store_param_int64(f, from), store_param_int64(t, ch->to), ch->details};
    st = store_exec(tx, &stmt_event, 10, ev, NULL, err);
    return st == DS_OK ? store_notify(tx, STORE_EVENTS_CHANNEL, shop_id, err) : st;
}

/* A case just finished on a DELIVERED order: the order's complete step
 * (which skips orders with open cases) runs again now. While its first run
 * is still waiting for the return window, the live task makes this a
 * no-op; the step itself checks the other cases. */
static ds_status resume_completion(store_conn *tx, const char *shop_id, const wf_case_cur *cur,
                                   int32_t from, ds_error *err)
{
    if (wf_case_terminal(from) || !wf_case_terminal(cur->state) ||
        cur->order.state != S_DELIVERED)
        return DS_OK;
    return wf_order_schedule(tx, shop_id, cur->order_id, WF_ORDER_KIND_COMPLETE, 0, err);
}

ds_status wf_case_apply(store_conn *tx, const char *shop_id, wf_case_cur *cur,
                        const wf_case_change *ch, ds_error *err)
{
    int32_t from = cur->state;
    char to[24];
    const char *v[3] = {shop_id, cur->case_id, store_param_int64(to, ch->to)};
    PGresult *r = NULL;
    ds_status st = check_move(cur, ch, err);

    if (st == DS_OK)
        st = store_exec(tx, &stmt_update, 3, v, &r, err);
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "case %s not found", cur->case_id);
    if (st == DS_OK)
        cur->version = store_row_int64(r, 0, 0, 0);
    PQclear(r);
    if (st == DS_OK)
        st = wf_case_event(tx, shop_id, cur->order_id, cur->case_id, cur->state, ch, err);
    if (st == DS_OK)
        cur->state = ch->to;
    if (st == DS_OK)
        st = resume_completion(tx, shop_id, cur, from, err);
    return st;
}
