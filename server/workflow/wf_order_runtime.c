/* wf_order_runtime.c - start and stop the order workflow: engine, kinds,
 * shared HTTP client. */
#include "wf_order_runtime.h"

#include <stdlib.h>
#include <string.h>

#include "ds_log.h"
#include "wf_offer_sync.h"
#include "wf_order_fsm.h"
#include "wf_order_steps.h"
#include "wf_case_tasks.h"
#include "wf_case_supplier.h"

enum { DEFAULT_PURCHASE_ATTEMPTS = 8, DEFAULT_STEP_ATTEMPTS = 12 };

static _Atomic int time_scale = 1;
static _Atomic int purchase_attempts = DEFAULT_PURCHASE_ATTEMPTS;
static _Atomic int step_attempts = DEFAULT_STEP_ATTEMPTS;

int wf_order_time_scale(void)
{
    return time_scale;
}

int wf_order_max_attempts(const char *kind)
{
    return kind != NULL && strcmp(kind, WF_ORDER_KIND_PURCHASE) == 0 ? purchase_attempts
                                                                     : step_attempts;
}

struct wf_order_runtime {
    wf_order_env env;
    wf_engine *engine;
};

void wf_order_settings_default(wf_order_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->time_scale = 1;
    s->workers = 4;
    s->min_poll_ms = 200;
    s->offer_max_age_ms = 3600000LL;
    s->ship_poll_ms = 2 * 3600000LL;
    s->track_poll_ms = 4 * 3600000LL;
    s->track_poll_near_ms = 3600000LL;
    s->track_poll_max_ms = 24 * 3600000LL;
    s->return_window_ms = 7 * 86400000LL;
    s->offer_sync_ms = 900000LL;
    s->purchase_attempts = DEFAULT_PURCHASE_ATTEMPTS;
    s->step_attempts = DEFAULT_STEP_ATTEMPTS;
    s->escalate_after_ms = 10 * 86400000LL;
    s->adapter_queue_ms = 2000;
}

ds_status wf_order_on_created(store_conn *tx, const char *shop_id, const char *order_id,
                              ds_error *err)
{
    return wf_order_schedule(tx, shop_id, order_id, WF_ORDER_KIND_VERIFY, 0, err);
}

static ds_status register_kinds(wf_order_runtime *rt, ds_error *err)
{
    const wf_kind kinds[] = {
        {WF_ORDER_KIND_VERIFY, wf_step_verify, wf_step_failed_exhausted, &rt->env, 0},
        {WF_ORDER_KIND_PURCHASE, wf_step_purchase, wf_step_purchase_exhausted, &rt->env, 0},
        {WF_ORDER_KIND_PAYMENT, wf_step_payment, wf_step_failed_exhausted, &rt->env, 0},
        {WF_ORDER_KIND_PAYMENT_TIMER, wf_step_payment_timer, NULL, &rt->env, 0},
        {WF_ORDER_KIND_RETURN_ADDRESS, wf_step_return_address, wf_step_failed_exhausted,
         &rt->env, 0},
        {WF_ORDER_KIND_TRACKING, wf_step_tracking, wf_step_failed_exhausted, &rt->env, 0},
        {WF_ORDER_KIND_COMPLETE, wf_step_complete, NULL, &rt->env, 0},
        {WF_ORDER_KIND_CANCEL, wf_step_cancel, wf_step_failed_exhausted, &rt->env, 0},
    };
    ds_status st = DS_OK;

    for (size_t i = 0; st == DS_OK && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        st = wf_engine_register(rt->engine, &kinds[i], err);
    if (st == DS_OK) /* after-sales case kinds (wf_case_tasks.h) */
        st = wf_case_register(rt->engine, &rt->env, err);
    if (st == DS_OK) /* supplier disputes and refund claims (wf_case_supplier.h) */
        st = wf_case_supplier_register(rt->engine, &rt->env, err);
    if (st == DS_OK) /* offer sync per supplier (wf_offer_sync.h) */
        st = wf_offer_register(rt->engine, &rt->env, err);
    return st;
}

/* Retry backoff follows the time scale too (tests reach exhaustion fast). */
static int scaled_ms(const wf_order_settings *s, int64_t ms, int floor_ms)
{
    int64_t v = ms / (s->time_scale > 0 ? s->time_scale : 1);
    return (int)(v < floor_ms ? floor_ms : v);
}

wf_order_runtime *wf_order_runtime_start(store_pool *pool, const char *conninfo,
                                         const wf_order_settings *s, ds_error *err)
{
    wf_order_runtime *rt = calloc(1, sizeof(*rt));
    ad_http_config hc = {.user_agent = "dropshipd"};
    wf_engine_config ec = {.conninfo = conninfo, .workers = s->workers, .lease_ms = s->lease_ms,
                           .backoff_base_ms = scaled_ms(s, 1000, 20),
                           .backoff_cap_ms = scaled_ms(s, 3600000, 500)};

    if (rt == NULL) {
        ds_error_set(err, DS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    rt->env.pool = pool;
    rt->env.set = *s;
    if (ad_http_new(&hc, &rt->env.http, err) != DS_OK)
        goto fail;
    rt->engine = wf_engine_new(&ec, err);
    if (rt->engine == NULL || register_kinds(rt, err) != DS_OK ||
        wf_engine_start(rt->engine, err) != DS_OK)
        goto fail;
    time_scale = s->time_scale > 0 ? s->time_scale : 1;
    purchase_attempts = s->purchase_attempts > 0 ? s->purchase_attempts
                                                 : DEFAULT_PURCHASE_ATTEMPTS;
    step_attempts = s->step_attempts > 0 ? s->step_attempts : DEFAULT_STEP_ATTEMPTS;
    DS_INFO("workflow", "order workflow started (time scale %d)", s->time_scale);
    return rt;
fail:
    wf_order_runtime_stop(rt, 0);
    return NULL;
}

void wf_order_runtime_stop(wf_order_runtime *rt, int grace_ms)
{
    if (rt == NULL)
        return;
    wf_offer_unregister();
    if (rt->engine != NULL)
        wf_engine_stop(rt->engine, grace_ms);
    wf_engine_free(rt->engine);
    if (rt->env.http != NULL)
        ad_http_free(rt->env.http);
    free(rt);
}
