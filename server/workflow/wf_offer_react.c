/* wf_offer_react.c - hold or resume the unpurchased orders of a shop SKU
 * after an offer sync. */
#include "wf_offer_react.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropship/v1/orders.pb-c.h"
#include "ds_log.h"

enum {
    S_RECEIVED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_RECEIVED,
    S_VERIFYING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_VERIFYING,
    S_PURCHASING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_PURCHASING,
    S_ON_HOLD = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_ON_HOLD,
    EV_HELD = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_HELD,
    EV_RESOLVED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_HOLD_RESOLVED,
    A_SYSTEM = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM,
    H_OOS = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_OUT_OF_STOCK,
    H_PRICE = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_PRICE_CHANGED,
    SO_PENDING = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_PENDING,
    HOLD_LINES_MAX = 2048
};

/* Stored offers count however old they are (10 years). */
static const int64_t ANY_AGE_MS = 10LL * 365 * 86400000LL;

/* Why a line does not fit, with the figures of the first binding tried. */
typedef struct misfit {
    int32_t why; /* 0 = fits */
    store_so_binding b;
    store_so_money limit;
} misfit;

static int64_t nanos_of(const store_so_money *m)
{
    return m->units * 1000000000LL + m->nanos;
}

/* Does the stored offer of b fit line l? 0 = yes (or unknown). */
static int32_t offer_misfit(const store_so_line *l, const store_so_binding *b)
{
    const store_so_money *limit = l->accepted.currency[0] != '\0' ? &l->accepted : &b->max_cost;

    if (!b->offer_fresh)
        return 0; /* never read: verify asks the supplier */
    if (b->offer_stock < l->quantity)
        return H_OOS;
    if (strcmp(b->offer_cost.currency, limit->currency) != 0 ||
        nanos_of(&b->offer_cost) > nanos_of(limit))
        return H_PRICE;
    return 0;
}

/* The binding the PENDING supplier order of line l uses, "" if none. */
static ds_status planned_binding(store_conn *c, const char *shop_id, const char *order_id,
                                 const store_so_line *l, char out[STORE_SO_ID], ds_error *err)
{
    store_so_row *rows = NULL;
    size_t n = 0;
    ds_status st = store_so_list(c, shop_id, order_id, &rows, &n, err);

    out[0] = '\0';
    for (size_t r = 0; st == DS_OK && r < n; r++)
        for (size_t k = 0; rows[r].state == SO_PENDING && k < rows[r].n_lines; k++)
            if (strcmp(rows[r].lines[k].line_id, l->line_id) == 0)
                snprintf(out, STORE_SO_ID, "%s", rows[r].lines[k].binding_id);
    free(rows);
    return st;
}

/* Does line l fit in state `state` (the order's, or its held state)?
 * Before purchase any binding verify may choose counts; once planned
 * (PURCHASING) only the planned one. */
static ds_status line_fit(store_conn *c, const char *shop_id, const char *order_id, int32_t state,
                          const store_so_line *l, misfit *m, ds_error *err)
{
    store_so_binding b[STORE_SO_BINDINGS_MAX];
    char planned[STORE_SO_ID] = "";
    size_t n = 0;
    ds_status st = DS_OK;

    memset(m, 0, sizeof(*m));
    if (state == S_PURCHASING)
        st = planned_binding(c, shop_id, order_id, l, planned, err);
    if (st != DS_OK || (state == S_PURCHASING && planned[0] == '\0'))
        return st;
    if (state != S_PURCHASING && l->choice_binding[0] != '\0')
        snprintf(planned, sizeof(planned), "%s", l->choice_binding);
    st = store_so_bindings(c, shop_id, l->shop_sku, planned[0] != '\0' ? planned : NULL, ANY_AGE_MS,
                           b, STORE_SO_BINDINGS_MAX, &n, err);
    for (size_t i = 0; st == DS_OK && i < n; i++) {
        int32_t why = offer_misfit(l, &b[i]);
        if (why == 0) {
            m->why = 0;
            return DS_OK;
        }
        if (i == 0) {
            m->why = why;
            m->b = b[i];
            m->limit = l->accepted.currency[0] != '\0' ? l->accepted : b[i].max_cost;
        }
    }
    return st;
}

static void money_text(char *out, size_t cap, const store_so_money *m)
{
    if (m->currency[0] == '\0')
        snprintf(out, cap, "%s", "");
    else
        snprintf(out, cap, "%lld.%02d %s", (long long)m->units, (int)(m->nanos / 10000000),
                 m->currency);
}

static void stock_text(char *out, size_t cap, const store_offer_val *o)
{
    if (o->known)
        snprintf(out, cap, "%lld", (long long)o->stock);
    else
        snprintf(out, cap, "%s", "");
}

/* Details of a hold: reason, detail and the old and new figures. */
static char *hold_details(int32_t reason, const char *detail, const misfit *m,
                          const wf_offer_change *ch)
{
    bool same = strcmp(m->b.binding_id, ch->binding_id) == 0;
    char old_stock[24], new_stock[24], old_cost[48], new_cost[48], limit[48];
    store_offer_val cur = {.known = true, .stock = m->b.offer_stock, .cost = m->b.offer_cost};

    stock_text(old_stock, sizeof(old_stock), same ? &ch->old_offer : &cur);
    stock_text(new_stock, sizeof(new_stock), &cur);
    money_text(old_cost, sizeof(old_cost), same ? &ch->old_offer.cost : &cur.cost);
    money_text(new_cost, sizeof(new_cost), &cur.cost);
    money_text(limit, sizeof(limit), &m->limit);
    return wf_details("hold_reason", reason == H_OOS ? "OUT_OF_STOCK" : "PRICE_CHANGED", "detail",
                      detail, "binding_id", m->b.binding_id, "supplier_id", m->b.supplier_id,
                      "supplier_sku", m->b.supplier_sku, "old_stock", old_stock, "new_stock",
                      new_stock, "old_cost", old_cost, "new_cost", new_cost, "max_cost", limit,
                      NULL);
}

/* Put the locked order on hold for line l. */
static ds_status hold_line(store_conn *tx, const char *shop_id, const char *order_id,
                           wf_order_cur *cur, const store_so_line *l, const misfit *m,
                           const wf_offer_change *ch, ds_error *err)
{
    char detail[600], cost[48], limit[48];
    char *details;
    ds_status st;

    money_text(cost, sizeof(cost), &m->b.offer_cost);
    money_text(limit, sizeof(limit), &m->limit);
    if (m->why == H_OOS)
        snprintf(detail, sizeof(detail), "line %s: supplier stock %lld < %d (offer sync)",
                 l->line_id, (long long)m->b.offer_stock, l->quantity);
    else
        snprintf(detail, sizeof(detail),
                 "line %s: supplier cost %s above the limit %s (offer sync)", l->line_id, cost,
                 limit);
    details = hold_details(m->why, detail, m, ch);
    wf_order_change c = {.to = S_ON_HOLD,
                         .event_type = EV_HELD,
                         .actor_kind = A_SYSTEM,
                         .actor_id = "offer_sync",
                         .details = details,
                         .hold_reason = m->why,
                         .hold_detail = detail,
                         .hold_line_ids = l->line_id};
    st = wf_order_apply(tx, shop_id, order_id, cur, &c, err);
    free(details);
    return st;
}

/* Do all held lines fit again? (false when the hold names no line.) */
static ds_status held_lines_fit(store_conn *tx, const char *shop_id, const char *order_id,
                                const wf_order_cur *cur, const store_so_line *lines, size_t n,
                                bool *fit, ds_error *err)
{
    char ids[HOLD_LINES_MAX], pad[70];
    int found = 0;
    misfit m;
    ds_status st = store_offer_hold_lines(tx, shop_id, order_id, ids, sizeof(ids), err);

    *fit = false;
    for (size_t i = 0; st == DS_OK && i < n; i++) {
        snprintf(pad, sizeof(pad), " %s ", lines[i].line_id);
        char spaced[HOLD_LINES_MAX + 2];
        snprintf(spaced, sizeof(spaced), " %s ", ids);
        if (strstr(spaced, pad) == NULL)
            continue;
        found++;
        st = line_fit(tx, shop_id, order_id, cur->held_state, &lines[i], &m, err);
        if (st == DS_OK && m.why != 0)
            return DS_OK;
    }
    *fit = st == DS_OK && found > 0;
    return st;
}

/* Decide for one order, in its own transaction. */
static ds_status react_order(store_conn *c, const char *shop_id, const char *order_id,
                             const char *shop_sku, const wf_offer_change *ch, int *held,
                             int *resumed, ds_error *err)
{
    store_so_line *lines = calloc(STORE_SO_LINES_MAX, sizeof(*lines));
    size_t n = 0;
    wf_order_cur cur;
    misfit m;
    bool fit = false;
    ds_status st =
        lines != NULL ? store_begin(c, err) : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    if (st == DS_OK)
        st = wf_order_lock(c, shop_id, order_id, &cur, err);
    if (st == DS_OK)
        st = store_so_lines(c, shop_id, order_id, lines, &n, err);
    if (st == DS_OK &&
        (cur.state == S_RECEIVED || cur.state == S_VERIFYING || cur.state == S_PURCHASING)) {
        for (size_t i = 0; st == DS_OK && i < n; i++) {
            if (strcmp(lines[i].shop_sku, shop_sku) != 0)
                continue;
            st = line_fit(c, shop_id, order_id, cur.state, &lines[i], &m, err);
            if (st == DS_OK && m.why != 0) {
                st = hold_line(c, shop_id, order_id, &cur, &lines[i], &m, ch, err);
                *held += st == DS_OK;
            }
            break;
        }
    } else if (st == DS_OK && cur.state == S_ON_HOLD &&
               (cur.hold_reason == H_OOS || cur.hold_reason == H_PRICE)) {
        st = held_lines_fit(c, shop_id, order_id, &cur, lines, n, &fit, err);
        if (st == DS_OK && fit) {
            wf_order_change r = {.to = cur.held_state,
                                 .event_type = EV_RESOLVED,
                                 .actor_kind = A_SYSTEM,
                                 .actor_id = "offer_sync",
                                 .details = "{\"resolution\":\"offer_sync\"}"};
            st = wf_order_apply(c, shop_id, order_id, &cur, &r, err);
            *resumed += st == DS_OK;
        }
    }
    if (st == DS_OK)
        st = store_commit(c, err);
    else
        store_rollback(c);
    free(lines);
    return st;
}

ds_status wf_offer_react(wf_order_env *env, const char *shop_id, const char *shop_sku,
                         const wf_offer_change *ch, int *held, int *resumed, ds_error *err)
{
    store_offer_order *orders = calloc(STORE_OFFER_ORDERS_MAX, sizeof(*orders));
    store_conn *c = NULL;
    size_t n = 0;
    ds_status st = orders != NULL ? store_acquire(env->pool, INT64_MAX, &c, err)
                                  : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    if (st == DS_OK)
        st = store_offer_orders(c, shop_id, shop_sku, orders, STORE_OFFER_ORDERS_MAX, &n, err);
    for (size_t i = 0; st == DS_OK && i < n; i++) {
        st = react_order(c, shop_id, orders[i].order_id, shop_sku, ch, held, resumed, err);
        if (st == DS_ERR_NOT_FOUND || st == DS_ERR_FAILED_PRECONDITION) {
            DS_WARN("offers", "order %s: %s", orders[i].order_id, err->message);
            ds_error_clear(err);
            st = DS_OK; /* gone, or moved on meanwhile */
        }
    }
    store_release(env->pool, c);
    free(orders);
    return st;
}
