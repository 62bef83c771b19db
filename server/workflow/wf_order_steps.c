/* wf_order_steps.c - shared plumbing of the order steps (commit, adapters,
 * details) and the verify and purchase steps. */
#include "wf_order_steps.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropship/v1/orders.pb-c.h"
#include "dropship/v1/suppliers.pb-c.h"
#include "ds_log.h"
#include "store_row.h"

enum {
    S_RECEIVED = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_RECEIVED,
    S_VERIFYING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_VERIFYING,
    S_PURCHASING = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_PURCHASING,
    S_AWAIT_PAY = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_AWAITING_PAYMENT,
    S_ON_HOLD = DROPSHIP__V1__ORDER_STATE__ORDER_STATE_ON_HOLD,
    EV_STATE = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_STATE_CHANGED,
    EV_HELD = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_HELD,
    EV_PLACED = DROPSHIP__V1__ORDER_EVENT_TYPE__ORDER_EVENT_TYPE_SUPPLIER_ORDER_PLACED,
    A_SYSTEM = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM,
    A_ADAPTER = DROPSHIP__V1__ACTOR_KIND__ACTOR_KIND_ADAPTER,
    H_ADDRESS = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_ADDRESS_INCOMPLETE,
    H_UNMAPPED = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_SKU_UNMAPPED,
    H_OOS = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_OUT_OF_STOCK,
    H_PRICE = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_PRICE_CHANGED,
    H_REJECTED = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_SUPPLIER_REJECTED,
    H_UNAVAILABLE = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_SUPPLIER_UNAVAILABLE,
    H_STEP = DROPSHIP__V1__HOLD_REASON__HOLD_REASON_STEP_FAILED,
    SO_ACCEPTED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_ACCEPTED,
    SO_REJECTED = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_REJECTED,
    SO_PENDING = DROPSHIP__V1__SUPPLIER_ORDER_STATE__SUPPLIER_ORDER_STATE_PENDING,
    MODE_MANUAL = DROPSHIP__V1__PAYMENT_MODE__PAYMENT_MODE_MANUAL,
    K_CONTRACT = DROPSHIP__V1__SUPPLIER_ADAPTER_KIND__SUPPLIER_ADAPTER_KIND_CONTRACT,
    K_CJ = DROPSHIP__V1__SUPPLIER_ADAPTER_KIND__SUPPLIER_ADAPTER_KIND_CJ_DROPSHIPPING,
    T_CONTRACT = DROPSHIP__V1__TRACKING_PROVIDER_KIND__TRACKING_PROVIDER_KIND_CONTRACT,
    T_17TRACK = DROPSHIP__V1__TRACKING_PROVIDER_KIND__TRACKING_PROVIDER_KIND_SEVENTEEN_TRACK,
    DETAIL_MAX = 1000,
    SUPPLIERS_MAX = 100
};

/* ---- plumbing ---- */

int64_t wf_order_scaled(const wf_order_env *env, int64_t d)
{
    int64_t v = d / (env->set.time_scale > 0 ? env->set.time_scale : 1);
    return v > 0 ? v : 1;
}

void wf_res_set(wf_result *res, wf_action action, const char *fmt, ...)
{
    va_list ap;

    res->action = action;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
}

char *wf_details(const char *key, ...)
{
    json_t *o = json_object();
    va_list ap;
    char *s = NULL;

    va_start(ap, key);
    for (const char *k = key; o != NULL && k != NULL; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        json_object_set_new(o, k, json_string(v != NULL ? v : ""));
    }
    va_end(ap);
    if (o != NULL)
        s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

void wf_step_commit(wf_ctx *ctx, const wf_task *t, const char *order_id, wf_step_write_fn fn,
                    void *arg, wf_result *res)
{
    wf_tx *tx = NULL;
    wf_order_cur cur;
    const char *params[2];
    PGresult *locked = NULL;
    store_batch_item lock = wf_order_lock_item(t->shop_id, order_id, params, &locked);
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    /* BEGIN, the order lock and the task's take-over in one round trip */
    st = wf_tx_begin_with(ctx, &lock, 1, &tx, &err);
    if (st == DS_OK)
        st = wf_order_lock_read(locked, order_id, &cur, &err);
    if (st == DS_OK)
        st = fn(wf_tx_conn(tx), t->shop_id, order_id, &cur, arg, &err);
    if (st == DS_OK) {
        st = wf_tx_commit_complete(tx, &err);
        tx = NULL;
    }
    wf_tx_rollback(tx);
    if (st == DS_ERR_NOT_FOUND) /* the order is gone: nothing to do */
        res->action = WF_DONE;
    else if (st != DS_OK)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
}

static const store_stmt stmt_state = {
    "wf_step_state", "SELECT state FROM orders WHERE shop_id = $1 AND order_id = $2"};

ds_status wf_step_state(wf_order_env *env, const char *shop_id, const char *order_id,
                        int32_t *state, ds_error *err)
{
    const char *v[2] = {shop_id, order_id};
    store_conn *c = NULL;
    PGresult *r = NULL;
    ds_status st = store_acquire(env->pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_exec(c, &stmt_state, 2, v, &r, err);
    if (st == DS_OK && PQntuples(r) != 1)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "order %s not found", order_id);
    if (st == DS_OK)
        *state = store_row_int32(r, 0, 0, 0);
    PQclear(r);
    store_release(env->pool, c);
    return st;
}

ds_status wf_step_view(wf_order_env *env, const char *shop_id, const char *order_id,
                       store_so_view *v, ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(env->pool, INT64_MAX, &c, err);

    memset(v, 0, sizeof(*v));
    if (st == DS_OK)
        st = store_so_view_get(c, shop_id, order_id, v, err);
    store_release(env->pool, c);
    return st;
}

ds_status wf_view_supplier(const store_so_view *v, const char *supplier_id,
                           const store_so_supplier **s, ds_error *err)
{
    *s = store_so_view_supplier(v, supplier_id);
    return *s != NULL ? DS_OK
                      : ds_error_set(err, DS_ERR_NOT_FOUND, "supplier %s not found", supplier_id);
}

/* Every supplier (and its courier integration) is a limit key of its own,
 * "supplier:<id>" / "tracking:<id>": one supplier's rate limit, concurrency
 * or Retry-After pause never holds back another's calls, even when both
 * APIs live on one host. A configured rate applies; otherwise only the
 * concurrency cap. A supplier endpoint with a limit of its own
 * (adapter.endpoint_rate_limits) is a key of its own too,
 * "supplier:<id>/<endpoint>" (route_keys). */
static ds_status limit_key(wf_order_env *env, char *key, size_t n, const char *what,
                           const store_so_supplier *s, double rate, double burst,
                           ds_error *err)
{
    ad_limit_config lim = {.rate_per_s = rate, .burst = burst,
                           .max_concurrency = WF_SUPPLIER_CONCURRENCY};

    snprintf(key, n, "%s:%s", what, s->supplier_id);
    return ad_http_set_limit(env->http, key, &lim, err);
}

/* The limit keys of the supplier endpoints that have a limit of their own,
 * by ad_supplier_route (= dropship.v1.SupplierEndpoint number); the other
 * routes stay unset and go under the supplier's key. */
static ds_status route_keys(wf_order_env *env, const store_so_supplier *s,
                            char keys[AD_SUPPLIER_ROUTES][AD_HTTP_ENDPOINT_MAX],
                            ad_backend_config *cfg, ds_error *err)
{
    static const char *const names[AD_SUPPLIER_ROUTES] = {
        [AD_SUPPLIER_ROUTE_CREATE_ORDER] = "create_order",
        [AD_SUPPLIER_ROUTE_GET_ORDER] = "get_order",
        [AD_SUPPLIER_ROUTE_CANCEL_ORDER] = "cancel_order",
        [AD_SUPPLIER_ROUTE_PAY_ORDER] = "pay_order",
        [AD_SUPPLIER_ROUTE_LIST_OFFERS] = "list_offers",
        [AD_SUPPLIER_ROUTE_GET_RETURN_POLICY] = "get_return_policy"};
    _Static_assert((int)AD_SUPPLIER_ROUTES == (int)STORE_SO_ENDPOINTS, "one route per SupplierEndpoint");

    for (int r = 1; r < AD_SUPPLIER_ROUTES; r++) {
        ad_limit_config lim = {.rate_per_s = s->endpoint_limit[r].rate_per_s,
                               .burst = s->endpoint_limit[r].burst,
                               .max_concurrency = WF_SUPPLIER_CONCURRENCY};
        ds_status st;

        if (lim.rate_per_s <= 0)
            continue;
        snprintf(keys[r], AD_HTTP_ENDPOINT_MAX, "supplier:%s/%s", s->supplier_id, names[r]);
        st = ad_http_set_limit(env->http, keys[r], &lim, err);
        if (st != DS_OK)
            return st;
        cfg->routes[r] = keys[r];
    }
    return DS_OK;
}

/* The backend settings of a supplier or courier call. */
static ad_backend_config backend_of(const wf_order_env *env, const store_so_supplier *s,
                                    const char *url, const char *credential, const char *key)
{
    ad_backend_config cfg = {.base_url = url,
                             .token = credential[0] != '\0' ? credential : NULL,
                             .endpoint = key,
                             .queue_timeout_ms = env->set.adapter_queue_ms,
                             /* the supplier's request timeout bounds courier calls too */
                             .timeout_ms = (int)(s->request_timeout_ms > 0 ? s->request_timeout_ms
                                                                            : 15000)};
    return cfg;
}

ds_status wf_adapter_supplier(wf_order_env *env, const store_so_supplier *s, ad_supplier **out,
                              ds_error *err)
{
    char key[AD_HTTP_ENDPOINT_MAX];
    char routes[AD_SUPPLIER_ROUTES][AD_HTTP_ENDPOINT_MAX];
    ds_status st = DS_OK;

    *out = NULL;
    if (s->adapter_kind != K_CONTRACT && s->adapter_kind != K_CJ)
        return DS_OK; /* MANUAL: a person talks to the supplier */
    st = limit_key(env, key, sizeof(key), "supplier", s, s->rate_per_s, s->burst, err);
    ad_backend_config cfg = backend_of(env, s, s->base_url, s->credential, key);
    if (st == DS_OK)
        st = route_keys(env, s, routes, &cfg, err);
    if (st == DS_OK && s->adapter_kind == K_CONTRACT)
        st = ad_supplier_contract_new(env->http, &cfg, out, err);
    else if (st == DS_OK)
        st = ad_supplier_cj_new(env->http, &cfg, out, err);
    return st;
}

ds_status wf_adapter_tracking(wf_order_env *env, const store_so_supplier *s, ad_tracking **out,
                              ds_error *err)
{
    char key[AD_HTTP_ENDPOINT_MAX];
    ds_status st = DS_OK;

    *out = NULL;
    if (s->tracking_kind != T_CONTRACT && s->tracking_kind != T_17TRACK)
        return DS_OK;
    st = limit_key(env, key, sizeof(key), "tracking", s, s->tracking_rate_per_s,
                   s->tracking_burst, err);
    ad_backend_config cfg = backend_of(env, s, s->tracking_url, s->tracking_credential, key);
    if (st == DS_OK && s->tracking_kind == T_CONTRACT)
        st = ad_tracking_contract_new(env->http, &cfg, out, err);
    else if (st == DS_OK)
        st = ad_tracking_17track_new(env->http, &cfg, out, err);
    return st;
}

void wf_ad_finish(ds_status st, ad_sync *sy, ad_result *ar, const ds_error *err)
{
    if (st == DS_OK) {
        ad_sync_wait(sy, ar);
        if (!ar->not_sent)
            wf_defer_note(0);
        else if (ar->retry_after_ms < 0)
            wf_defer_note(WF_DEFER_AT_CAP_MS);
        else
            wf_defer_note(ar->retry_after_ms > WF_DEFER_MIN_MS ? ar->retry_after_ms
                                                                : WF_DEFER_MIN_MS);
        return;
    }
    wf_defer_note(0);
    pthread_mutex_destroy(&sy->mu);
    pthread_cond_destroy(&sy->cv);
    memset(ar, 0, sizeof(*ar));
    ar->status = st;
    snprintf(ar->message, sizeof(ar->message), "%s", err->message);
}

/* Read the supplier row through the pool. */
static ds_status load_supplier(wf_order_env *env, const char *shop_id, const char *supplier_id,
                               store_so_supplier *s, ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(env->pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_so_supplier_get(c, shop_id, supplier_id, s, err);
    store_release(env->pool, c);
    return st;
}

/* Put the order on hold from a step, through wf_order_apply. */
static ds_status hold(store_conn *tx, const char *shop_id, const char *order_id,
                      wf_order_cur *cur, int32_t reason, const char *detail, const char *lines,
                      const char *supplier_id, const char *actor, ds_error *err)
{
    char reason_txt[48]; /* "HOLD_REASON_SUPPLIER_UNAVAILABLE" is 32 */
    char *details;
    wf_order_change ch = {.to = S_ON_HOLD, .event_type = EV_HELD, .actor_kind = A_SYSTEM,
                          .actor_id = actor, .hold_reason = reason, .hold_detail = detail,
                          .hold_line_ids = lines, .hold_supplier_id = supplier_id};
    ds_status st;

    snprintf(reason_txt, sizeof(reason_txt), "%s",
             protobuf_c_enum_descriptor_get_value(&dropship__v1__hold_reason__descriptor, reason)
                 ->name);
    details = wf_details("hold_reason", reason_txt, "detail", detail, NULL);
    ch.details = details;
    st = wf_order_apply(tx, shop_id, order_id, cur, &ch, err);
    free(details);
    return st;
}

/* ---- verify ---- */

/* The outcome of planning an order's lines. */
typedef struct plan {
    int32_t hold_reason;       /* 0 = every line has a binding */
    char detail[DETAIL_MAX + 1];
    char hold_lines[2048];     /* space-separated line ids */
    store_so_pline lines[STORE_SO_LINES_MAX];
    char supplier_of[STORE_SO_LINES_MAX][STORE_SO_ID];
    size_t n;
} plan;

static void plan_hold(plan *p, int32_t reason, const char *line_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record a line problem; the first (most basic) reason wins. */
static void plan_hold(plan *p, int32_t reason, const char *line_id, const char *fmt, ...)
{
    size_t len = strlen(p->detail);
    va_list ap;

    if (p->hold_reason != 0 && reason > p->hold_reason)
        return;
    if (p->hold_reason != reason) {
        p->detail[0] = p->hold_lines[0] = '\0';
        len = 0;
    }
    p->hold_reason = reason;
    va_start(ap, fmt);
    if (len > 0 && len + 2 < sizeof(p->detail))
        len += (size_t)snprintf(p->detail + len, sizeof(p->detail) - len, "; ");
    if (len < sizeof(p->detail))
        vsnprintf(p->detail + len, sizeof(p->detail) - len, fmt, ap);
    va_end(ap);
    len = strlen(p->hold_lines);
    snprintf(p->hold_lines + len, sizeof(p->hold_lines) - len, "%s%s", len > 0 ? " " : "",
             line_id);
}

static int64_t nanos_of(const store_so_money *m)
{
    return m->units * 1000000000LL + m->nanos;
}

/* The supplier's current offer of b: the stored one when fresh, else read
 * through the adapter. *known false when there is no way to know (MANUAL
 * supplier without a stored offer). Retryable adapter trouble: DS_ERR_UNAVAILABLE. */
static ds_status offer_of(wf_order_env *env, const char *shop_id, const store_so_binding *b,
                          int64_t *stock, store_so_money *cost, bool *known, ds_error *err)
{
    store_so_supplier *s = malloc(sizeof(*s));
    ad_supplier *ad = NULL;
    const char *sku = b->supplier_sku;
    ad_list_offers_in in = {.skus = &sku, .n_skus = 1};
    ad_list_offers_out out = {0};
    ad_sync sy;
    ad_result ar;
    ds_status st = s != NULL ? DS_OK : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    *known = false;
    if (st == DS_OK && b->offer_fresh) {
        *known = true;
        *stock = b->offer_stock;
        *cost = b->offer_cost;
        goto out;
    }
    if (st == DS_OK)
        st = load_supplier(env, shop_id, b->supplier_id, s, err);
    if (st == DS_OK)
        st = wf_adapter_supplier(env, s, &ad, err);
    if (st != DS_OK || ad == NULL)
        goto out;
    ad_sync_init(&sy);
    wf_ad_finish(ad_supplier_list_offers(ad, &in, &out, ad_sync_done, &sy, err), &sy, &ar, err);
    if (ar.status != DS_OK) {
        st = ds_error_set(err, ar.retryable ? DS_ERR_UNAVAILABLE : DS_ERR_INTERNAL,
                          "supplier %s: offers of %s: %s", b->supplier_id, sku, ar.message);
        goto out;
    }
    for (size_t i = 0; i < out.n_offers; i++) {
        if (strcmp(out.offers[i].sku, sku) != 0)
            continue;
        *known = true;
        *stock = out.offers[i].stock;
        snprintf(cost->currency, sizeof(cost->currency), "%s", out.offers[i].cost.currency);
        cost->units = out.offers[i].cost.units;
        cost->nanos = out.offers[i].cost.nanos;
    }
    if (!*known) { /* the supplier does not list the SKU: nothing in stock */
        *known = true;
        *stock = 0;
        memset(cost, 0, sizeof(*cost));
    }
out:
    ad_list_offers_out_cleanup(&out);
    ad_supplier_free(ad);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    free(s);
    return st;
}

/* Does the offer fit line l on binding b? Sets *why (0 = fits). */
static void check_offer(const store_so_line *l, const store_so_binding *b, int64_t stock,
                        const store_so_money *cost, bool known, int32_t *why)
{
    const store_so_money *limit = l->accepted.currency[0] != '\0' ? &l->accepted : &b->max_cost;

    *why = 0;
    if (!known)
        return;
    if (stock < l->quantity)
        *why = H_OOS;
    else if (strcmp(cost->currency, limit->currency) != 0 || nanos_of(cost) > nanos_of(limit))
        *why = H_PRICE;
}

/* Choose a binding for line l (lowest priority first, the next one when an
 * offer does not fit); fills the plan line or records the hold. */
static ds_status plan_line(wf_order_env *env, store_conn *c, const char *shop_id,
                           const store_so_line *l, plan *p, ds_error *err)
{
    store_so_binding b[STORE_SO_BINDINGS_MAX];
    size_t n = 0;
    int32_t first_why = 0;
    store_so_money first_cost = {0}, cost = {0};
    int64_t stock = 0;
    bool known = false;
    ds_status st = store_so_bindings(c, shop_id, l->shop_sku,
                                     l->choice_binding[0] != '\0' ? l->choice_binding : NULL,
                                     env->set.offer_max_age_ms, b, STORE_SO_BINDINGS_MAX, &n, err);

    if (st == DS_OK && n == 0)
        plan_hold(p, H_UNMAPPED, l->line_id, "line %s: shop SKU %s has no binding", l->line_id,
                  l->shop_sku);
    for (size_t i = 0; st == DS_OK && i < n; i++) {
        int32_t why;
        st = offer_of(env, shop_id, &b[i], &stock, &cost, &known, err);
        if (st != DS_OK)
            break;
        check_offer(l, &b[i], stock, &cost, known, &why);
        if (why == 0) {
            store_so_pline *pl = &p->lines[p->n];
            memset(pl, 0, sizeof(*pl));
            snprintf(pl->line_id, sizeof(pl->line_id), "%s", l->line_id);
            snprintf(pl->binding_id, sizeof(pl->binding_id), "%s", b[i].binding_id);
            snprintf(pl->supplier_sku, sizeof(pl->supplier_sku), "%s", b[i].supplier_sku);
            snprintf(pl->supplier_variant, sizeof(pl->supplier_variant), "%s",
                     b[i].supplier_variant);
            pl->quantity = l->quantity;
            pl->unit_cost = cost;
            snprintf(p->supplier_of[p->n], STORE_SO_ID, "%s", b[i].supplier_id);
            p->n++;
            return DS_OK;
        }
        if (i == 0 || (first_why == H_OOS && why == H_PRICE)) {
            first_why = why;
            first_cost = cost;
            first_cost.units = why == H_OOS ? stock : cost.units; /* reused for the detail */
        }
    }
    if (st == DS_OK && first_why == H_OOS)
        plan_hold(p, H_OOS, l->line_id, "line %s: supplier stock %lld < %d", l->line_id,
                  (long long)first_cost.units, l->quantity);
    else if (st == DS_OK && first_why == H_PRICE)
        plan_hold(p, H_PRICE, l->line_id, "line %s: supplier cost %lld.%09d %s above the limit",
                  l->line_id, (long long)first_cost.units, (int)first_cost.nanos,
                  first_cost.currency);
    return st;
}

/* Phone: 7..15 digits, not all the same. */
static bool phone_plausible(const char *s)
{
    int digits = 0, same = 0;
    char first = 0;

    for (; *s != '\0'; s++) {
        if (!isdigit((unsigned char)*s))
            continue;
        if (digits++ == 0)
            first = *s;
        same += *s == first;
    }
    return digits >= 7 && digits <= 15 && same < digits;
}

/* Postal code formats of a few countries ('9' digit, 'A' letter, others literal). */
static bool postal_matches(const char *code, const char *pattern)
{
    for (; *pattern != '\0'; pattern++, code++) {
        if (*code == '\0')
            return false;
        if (*pattern == '9' && !isdigit((unsigned char)*code))
            return false;
        if (*pattern == 'A' && !isalpha((unsigned char)*code))
            return false;
        if (*pattern != '9' && *pattern != 'A' && *pattern != *code)
            return false;
    }
    return *code == '\0';
}

static bool postal_plausible(const char *country, const char *code)
{
    static const char *const rules[][3] = {
        {"US", "99999", "99999-9999"}, {"DE", "99999", NULL},    {"FR", "99999", NULL},
        {"CN", "999999", NULL},        {"CA", "A9A 9A9", NULL},  {"JP", "999-9999", NULL},
        {"AU", "9999", NULL},          {"NL", "9999 AA", NULL},  {"IT", "99999", NULL},
    };

    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (strcmp(country, rules[i][0]) != 0)
            continue;
        return postal_matches(code, rules[i][1]) ||
               (rules[i][2] != NULL && postal_matches(code, rules[i][2]));
    }
    return strcmp(country, "HK") == 0 || strcmp(country, "AE") == 0 || code[0] != '\0';
}

/* Why the address is not usable, or NULL. */
static const char *address_problem(const store_so_address *a)
{
    if (a->recipient_name[0] == '\0')
        return "recipient_name is missing";
    if (!phone_plausible(a->phone))
        return "phone is not a plausible number";
    if (a->city[0] == '\0' || strlen(a->street) < 3)
        return "city or street is missing";
    if (!postal_plausible(a->country_code, a->postal_code))
        return "postal_code does not fit the country's format";
    return NULL;
}

typedef struct verify_out {
    wf_order_env *env;
    plan *p;
    const char *addr_problem;
    const store_so_line *lines;
    size_t n_lines;
} verify_out;

/* Group the plan by supplier and insert one PENDING supplier order each. */
static ds_status write_plan(store_conn *tx, const char *shop_id, const char *order_id,
                            const plan *p, wf_order_env *env, ds_error *err)
{
    bool done[STORE_SO_LINES_MAX] = {false};
    store_so_pline group[STORE_SO_LINES_MAX];
    store_so_supplier *s = malloc(sizeof(*s));
    store_so_row *rows = NULL;
    size_t n_rows = 0;
    ds_status st = s != NULL ? store_so_drop_unplaced(tx, shop_id, order_id, err)
                             : ds_error_set(err, DS_ERR_NOMEM, "out of memory");

    (void)env;
    if (st == DS_OK) /* lines already bought from a supplier stay there */
        st = store_so_list(tx, shop_id, order_id, &rows, &n_rows, err);
    for (size_t r = 0; st == DS_OK && r < n_rows; r++)
        for (size_t k = 0; k < rows[r].n_lines; k++)
            for (size_t i = 0; i < p->n; i++)
                done[i] |= strcmp(rows[r].lines[k].line_id, p->lines[i].line_id) == 0;
    free(rows);
    for (size_t i = 0; st == DS_OK && i < p->n; i++) {
        size_t n = 0;
        if (done[i])
            continue;
        for (size_t j = i; j < p->n; j++) {
            if (!done[j] && strcmp(p->supplier_of[j], p->supplier_of[i]) == 0) {
                group[n++] = p->lines[j];
                done[j] = true;
            }
        }
        st = store_so_supplier_get(tx, shop_id, p->supplier_of[i], s, err);
        if (st == DS_OK)
            st = store_so_insert(tx, shop_id, order_id, p->supplier_of[i], s->payment_mode, group,
                                 n, err);
    }
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    free(s);
    return st;
}

static ds_status verify_write(store_conn *tx, const char *shop_id, const char *order_id,
                              wf_order_cur *cur, void *arg, ds_error *err)
{
    verify_out *vo = arg;
    wf_order_change to_verifying = {.to = S_VERIFYING, .event_type = EV_STATE,
                                    .actor_kind = A_SYSTEM, .actor_id = "verify",
                                    .no_entry_task = true};
    wf_order_change to_purchasing = {.to = S_PURCHASING, .event_type = EV_STATE,
                                     .actor_kind = A_SYSTEM, .actor_id = "verify"};
    ds_status st = DS_OK;

    if (cur->state != S_RECEIVED && cur->state != S_VERIFYING)
        return DS_OK;
    if (cur->state == S_RECEIVED)
        st = wf_order_apply(tx, shop_id, order_id, cur, &to_verifying, err);
    if (st == DS_OK && vo->addr_problem != NULL)
        return hold(tx, shop_id, order_id, cur, H_ADDRESS, vo->addr_problem, NULL, NULL,
                    "verify", err);
    if (st == DS_OK && vo->p->hold_reason != 0)
        return hold(tx, shop_id, order_id, cur, vo->p->hold_reason, vo->p->detail,
                    vo->p->hold_lines, NULL, "verify", err);
    if (st == DS_OK)
        st = write_plan(tx, shop_id, order_id, vo->p, vo->env, err);
    if (st == DS_OK)
        st = wf_order_apply(tx, shop_id, order_id, cur, &to_purchasing, err);
    return st;
}

/* Read the address and lines, plan every line (adapter calls, no tx). */
static ds_status verify_plan(wf_order_env *env, const char *shop_id, const char *order_id,
                             store_so_address *addr, store_so_line *lines, size_t *n, plan *p,
                             const char **problem, ds_error *err)
{
    store_conn *c = NULL;
    ds_status st = store_acquire(env->pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_so_address_get(c, shop_id, order_id, addr, err);
    if (st == DS_OK)
        st = store_so_lines(c, shop_id, order_id, lines, n, err);
    if (st == DS_OK)
        *problem = address_problem(addr);
    for (size_t i = 0; st == DS_OK && *problem == NULL && i < *n; i++)
        st = plan_line(env, c, shop_id, &lines[i], p, err);
    store_release(env->pool, c);
    return st;
}

void wf_step_verify(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    char order_id[37];
    store_so_address *addr = calloc(1, sizeof(*addr));
    store_so_line *lines = calloc(STORE_SO_LINES_MAX, sizeof(*lines));
    plan *p = calloc(1, sizeof(*p));
    verify_out vo = {.env = env, .p = p, .lines = lines};
    int32_t state = 0;
    ds_error err;
    ds_status st = DS_OK;

    ds_error_clear(&err);
    if (!wf_order_id_from_key(t->key, order_id) || addr == NULL || lines == NULL || p == NULL) {
        wf_res_set(res, WF_FAIL, "bad task key or out of memory");
        goto out;
    }
    st = wf_step_state(env, t->shop_id, order_id, &state, &err);
    if (st == DS_OK && state != S_RECEIVED && state != S_VERIFYING)
        goto out; /* moved on (held, cancelled): nothing to verify */
    if (st == DS_OK)
        st = verify_plan(env, t->shop_id, order_id, addr, lines, &vo.n_lines, p, &vo.addr_problem,
                         &err);
    if (st == DS_OK)
        wf_step_commit(ctx, t, order_id, verify_write, &vo, res);
    else if (st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
out:
    free(addr);
    free(lines);
    free(p);
}

/* ---- purchase ---- */

typedef struct placed {
    char supplier_id[STORE_SO_ID];
    char ref[AD_ID_MAX];
    store_so_money cost;
    int64_t due_us;
    bool manual;
} placed;

typedef struct purchase_out {
    wf_order_env *env;
    placed ok[SUPPLIERS_MAX];
    size_t n_ok;
    char rejected[STORE_SO_ID]; /* the supplier that refused, "" = none */
    int32_t reject_reason;
    char detail[DETAIL_MAX + 1];
    int64_t first_due_us;        /* earliest MANUAL payment due, 0 = none */
} purchase_out;

static void ship_to(const store_so_address *a, ad_address *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->recipient_name, sizeof(o->recipient_name), "%s", a->recipient_name);
    snprintf(o->phone, sizeof(o->phone), "%s", a->phone);
    snprintf(o->country_code, sizeof(o->country_code), "%s", a->country_code);
    snprintf(o->region, sizeof(o->region), "%s", a->region);
    snprintf(o->city, sizeof(o->city), "%s", a->city);
    snprintf(o->street, sizeof(o->street), "%.200s", a->street);
    snprintf(o->postal_code, sizeof(o->postal_code), "%s", a->postal_code);
}

/* Place one supplier order through its adapter (idempotency key
 * "<order_id>:<supplier_id>"). DS_ERR_UNAVAILABLE: try again later. */
static ds_status place_one(wf_order_env *env, const store_so_view *v, const char *order_id,
                           const store_so_row *so, const store_so_address *addr,
                           purchase_out *po, ds_error *err)
{
    const store_so_supplier *s = NULL;
    ad_supplier *ad = NULL;
    ad_line lines[STORE_SO_LINES_MAX];
    ad_address to;
    char key[100];
    ad_create_order_in in = {.idempotency_key = key, .order_ref = key, .lines = lines,
                             .n_lines = so->n_lines, .ship_to = &to};
    ad_create_order_out out;
    ad_sync sy;
    ad_result ar;
    placed *pl = &po->ok[po->n_ok];
    ds_status st = wf_view_supplier(v, so->supplier_id, &s, err);

    if (st == DS_OK)
        st = wf_adapter_supplier(env, s, &ad, err);
    if (st != DS_OK)
        goto out;
    memset(pl, 0, sizeof(*pl));
    snprintf(pl->supplier_id, sizeof(pl->supplier_id), "%s", so->supplier_id);
    pl->manual = so->payment_mode == MODE_MANUAL;
    pl->due_us = pl->manual ? wf_order_scaled(env, s->payment_due_us / 1000) * 1000 : 0;
    if (ad == NULL) { /* MANUAL adapter: a person places it, the proof brings the ref */
        po->n_ok++;
        goto out;
    }
    snprintf(key, sizeof(key), "%s:%s", order_id, so->supplier_id);
    for (size_t i = 0; i < so->n_lines; i++) {
        snprintf(lines[i].sku, sizeof(lines[i].sku), "%.64s", so->lines[i].supplier_sku);
        lines[i].quantity = so->lines[i].quantity;
    }
    ship_to(addr, &to);
    ad_sync_init(&sy);
    wf_ad_finish(ad_supplier_create_order(ad, &in, &out, ad_sync_done, &sy, err), &sy, &ar, err);
    if (ar.status == DS_OK) {
        snprintf(pl->ref, sizeof(pl->ref), "%s", out.supplier_order_id);
        snprintf(pl->cost.currency, sizeof(pl->cost.currency), "%s", out.total_cost.currency);
        pl->cost.units = out.total_cost.units;
        pl->cost.nanos = out.total_cost.nanos;
        po->n_ok++;
    } else if (!ar.retryable) {
        snprintf(po->rejected, sizeof(po->rejected), "%s", so->supplier_id);
        po->reject_reason = strcmp(ar.code, "OUT_OF_STOCK") == 0 ? H_OOS : H_REJECTED;
        snprintf(po->detail, sizeof(po->detail), "supplier %s refused the order: %s%s%s",
                 so->supplier_id, ar.code, ar.code[0] != '\0' ? " " : "", ar.message);
    } else {
        st = ds_error_set(err, DS_ERR_UNAVAILABLE, "supplier %s: %s", so->supplier_id,
                          ar.message);
    }
out:
    ad_supplier_free(ad);
    return st;
}

static ds_status placed_event(store_conn *tx, const char *shop_id, const char *order_id,
                              wf_order_cur *cur, const placed *pl, ds_error *err)
{
    char actor[64], cost[64];
    char *d;
    wf_order_change ch = {.to = cur->state, .event_type = EV_PLACED, .actor_kind = A_ADAPTER,
                          .actor_id = actor};
    ds_status st;

    snprintf(actor, sizeof(actor), "supplier:%s", pl->supplier_id);
    snprintf(cost, sizeof(cost), "%lld.%02d %s", (long long)pl->cost.units,
             (int)(pl->cost.nanos / 10000000), pl->cost.currency);
    d = wf_details("supplier_id", pl->supplier_id, "supplier_order_ref", pl->ref, "cost",
                   pl->cost.currency[0] != '\0' ? cost : "", NULL);
    ch.details = d;
    st = wf_order_apply(tx, shop_id, order_id, cur, &ch, err);
    free(d);
    return st;
}

static ds_status purchase_write(store_conn *tx, const char *shop_id, const char *order_id,
                                wf_order_cur *cur, void *arg, ds_error *err)
{
    purchase_out *po = arg;
    wf_order_change next = {.to = S_AWAIT_PAY, .event_type = EV_STATE, .actor_kind = A_SYSTEM,
                            .actor_id = "purchase"};
    ds_status st = DS_OK;

    if (cur->state != S_PURCHASING)
        return DS_OK;
    for (size_t i = 0; st == DS_OK && i < po->n_ok; i++) {
        const placed *pl = &po->ok[i];
        st = store_so_placed(tx, shop_id, order_id, pl->supplier_id, pl->ref, &pl->cost,
                             SO_ACCEPTED, pl->due_us, err);
        if (st == DS_OK)
            st = placed_event(tx, shop_id, order_id, cur, pl, err);
        if (pl->manual && (po->first_due_us == 0 || pl->due_us < po->first_due_us))
            po->first_due_us = pl->due_us;
    }
    if (st == DS_OK && po->rejected[0] != '\0') {
        st = store_so_set_state(tx, shop_id, order_id, po->rejected, SO_REJECTED, NULL, err);
        if (st == DS_OK)
            st = hold(tx, shop_id, order_id, cur, po->reject_reason, po->detail, NULL,
                      po->rejected, "purchase", err);
        return st;
    }
    if (st == DS_OK)
        st = wf_order_apply(tx, shop_id, order_id, cur, &next, err);
    if (st == DS_OK)
        st = wf_order_schedule(tx, shop_id, order_id, WF_ORDER_KIND_RETURN_ADDRESS, 0, err);
    if (st == DS_OK && po->first_due_us > 0)
        st = wf_order_schedule(tx, shop_id, order_id, WF_ORDER_KIND_PAYMENT_TIMER,
                               po->first_due_us / 1000, err);
    return st;
}

/* Place every supplier order of v not placed yet; stops at the first
 * refusal. */
static ds_status purchase_all(wf_order_env *env, const store_so_view *v, const char *shop_id,
                              const char *order_id, purchase_out *po, ds_error *err)
{
    store_conn *c = NULL;
    store_so_address addr;
    ds_status st = store_acquire(env->pool, INT64_MAX, &c, err);

    if (st == DS_OK)
        st = store_so_address_get(c, shop_id, order_id, &addr, err);
    store_release(env->pool, c);
    for (size_t i = 0; st == DS_OK && i < v->n && po->rejected[0] == '\0'; i++)
        if (v->rows[i].state == SO_PENDING && po->n_ok < SUPPLIERS_MAX)
            st = place_one(env, v, order_id, &v->rows[i], &addr, po, err);
    return st;
}

void wf_step_purchase(wf_ctx *ctx, const wf_task *t, wf_result *res, void *arg)
{
    wf_order_env *env = arg;
    purchase_out *po = calloc(1, sizeof(*po));
    store_so_view v = {0};
    char order_id[37];
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    if (po == NULL || !wf_order_id_from_key(t->key, order_id)) {
        wf_res_set(res, WF_FAIL, "bad task key or out of memory");
        free(po);
        return;
    }
    po->env = env;
    st = wf_step_view(env, t->shop_id, order_id, &v, &err);
    if (st == DS_OK && v.state == S_PURCHASING)
        st = purchase_all(env, &v, t->shop_id, order_id, po, &err);
    if (st == DS_OK && v.state == S_PURCHASING)
        wf_step_commit(ctx, t, order_id, purchase_write, po, res);
    else if (st != DS_OK && st != DS_ERR_NOT_FOUND)
        wf_res_set(res, st == DS_ERR_CONFIG ? WF_FAIL : WF_RETRY, "%s", err.message);
    store_so_view_free(&v);
    free(po);
}

/* ---- exhaustion ---- */

/* "supplier <uuid>: ..." -> the uuid, else "". */
static void supplier_in(const char *error, char out[STORE_SO_ID])
{
    const char *p = error != NULL ? strstr(error, "supplier ") : NULL;

    out[0] = '\0';
    if (p != NULL && strlen(p + 9) >= 36 && p[9 + 36] == ':') {
        memcpy(out, p + 9, 36);
        out[36] = '\0';
    }
}

static ds_status exhausted(store_conn *tx, const wf_task *t, const char *error, int32_t state,
                           int32_t reason, const char *actor)
{
    char order_id[37], supplier[STORE_SO_ID], detail[DETAIL_MAX + 1];
    wf_order_cur cur;
    ds_error err;
    ds_status st;

    ds_error_clear(&err);
    if (!wf_order_id_from_key(t->key, order_id))
        return DS_OK;
    st = wf_order_lock(tx, t->shop_id, order_id, &cur, &err);
    if (st == DS_ERR_NOT_FOUND || (st == DS_OK && state != 0 && cur.state != state))
        return DS_OK;
    if (st == DS_OK && (cur.state == S_ON_HOLD || !wf_order_can_move(cur.state, S_ON_HOLD)))
        return DS_OK;
    supplier_in(error, supplier);
    snprintf(detail, sizeof(detail), "%s failed %d times: %s", actor, t->attempt,
             error != NULL ? error : "");
    if (st == DS_OK)
        st = hold(tx, t->shop_id, order_id, &cur, reason, detail, NULL, supplier, actor, &err);
    if (st != DS_OK)
        DS_ERROR("workflow", "cannot hold order %s: %s", order_id, err.message);
    return st;
}

ds_status wf_step_purchase_exhausted(store_conn *tx, const wf_task *t, const char *error,
                                     void *arg)
{
    (void)arg;
    return exhausted(tx, t, error, S_PURCHASING, H_UNAVAILABLE, "purchase");
}

ds_status wf_step_failed_exhausted(store_conn *tx, const wf_task *t, const char *error, void *arg)
{
    const char *step = strchr(t->kind, '.');

    (void)arg;
    return exhausted(tx, t, error, 0, H_STEP, step != NULL ? step + 1 : t->kind);
}
