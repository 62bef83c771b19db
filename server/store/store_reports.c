/* store_reports.c - the operations report: one read-only snapshot, one SQL
 * aggregate per section, results turned into dropship.v1 messages. */
#include "store_reports.h"

#include <stdio.h>
#include <time.h>

#include "store_row.h"

enum {
    NO_DEADLINE_BOUND_MS = 60000, /* statement bound when the call has no deadline */
    PARAMS_MAX = 5
};

/* $2/$3 are epoch microseconds; TS turns one into a timestamptz exactly. */
#define TS(p) "(timestamptz 'epoch' + " p "::int8 * interval '1 microsecond')"
#define IN_RANGE(col) col " >= " TS("$2") " AND " col " < " TS("$3")
#define US(iv) "(extract(epoch FROM " iv ")::float8 * 1000000)"
#define D_TRACK "($4::int8 * interval '1 microsecond')"
#define D_DELIV "($5::int8 * interval '1 microsecond')"

/* clang-format off */
/* $1 statement bound in ms: lowers statement_timeout for this transaction
 * (never raises it; 0 = none). Returns the snapshot's now() too. */
static const store_stmt stmt_bound = {
    "report_bound",
    "SELECT set_config('statement_timeout', (CASE WHEN cur = 0 THEN $1::int8 "
    "ELSE least(cur, $1::int8) END)::text, true), " US("now() - timestamptz 'epoch'") "::int8 "
    "FROM (SELECT (extract(epoch FROM current_setting('statement_timeout')::interval) * 1000)"
    "::int8 AS cur) s"};
static const store_stmt stmt_states = {
    "report_states",
    "SELECT state, count(*) FROM orders WHERE shop_id = $1 AND " IN_RANGE("create_time")
    " GROUP BY state ORDER BY state"};
static const store_stmt stmt_holds = {
    "report_holds",
    "SELECT hold_reason, count(*) FROM orders WHERE shop_id = $1 AND state = 9 AND "
    IN_RANGE("create_time") " GROUP BY hold_reason ORDER BY hold_reason"};
/* A stay in a state starts at an event that moved the order into it and
 * ends at the order's next such event. */
static const store_stmt stmt_steps = {
    "report_steps",
    "SELECT to_state, (percentile_cont(0.5) WITHIN GROUP (ORDER BY us))::int8, "
    "(percentile_cont(0.9) WITHIN GROUP (ORDER BY us))::int8, count(*) "
    "FROM (SELECT s.to_state, " US("lead(s.event_time) OVER w - s.event_time") " AS us "
    "  FROM (SELECT e.order_id, e.seq, e.to_state, e.event_time "
    "    FROM orders o JOIN order_events e ON e.shop_id = o.shop_id AND e.order_id = o.order_id "
    "    WHERE o.shop_id = $1 AND " IN_RANGE("o.create_time")
    "      AND e.to_state <> 0 AND e.to_state <> e.from_state) s "
    "  WINDOW w AS (PARTITION BY s.order_id ORDER BY s.seq)) t "
    "WHERE us IS NOT NULL GROUP BY to_state ORDER BY to_state"};
/* Supplier punctuality from the history: SUPPLIER_ORDER_PLACED (6),
 * PARCEL_ADDED (10), TRACKING_UPDATED (11) to DELIVERED. */
static const store_stmt stmt_suppliers = {
    "report_suppliers",
    "WITH o AS (SELECT order_id FROM orders WHERE shop_id = $1 AND " IN_RANGE("create_time") "), "
    "ev AS (SELECT e.order_id, e.type, e.event_time AS t, e.details->>'supplier_id' AS sid, "
    "  e.details->>'carrier' AS carrier, e.details->>'tracking_number' AS tn, "
    "  e.details->>'tracking_status' AS status "
    "  FROM order_events e JOIN o ON o.order_id = e.order_id "
    "  WHERE e.shop_id = $1 AND e.type IN (6, 10, 11)), "
    "pl AS (SELECT order_id, sid, min(t) AS t FROM ev WHERE type = 6 GROUP BY 1, 2), "
    "pa AS (SELECT order_id, sid, carrier, tn, min(t) AS t FROM ev WHERE type = 10 "
    "  GROUP BY 1, 2, 3, 4), "
    "dl AS (SELECT order_id, carrier, tn, min(t) AS t FROM ev "
    "  WHERE type = 11 AND status = 'TRACKING_STATUS_DELIVERED' GROUP BY 1, 2, 3), "
    "so AS (SELECT pl.sid, s.state, pl.t AS placed, (SELECT min(pa.t) FROM pa "
    "  WHERE pa.order_id = s.order_id AND pa.sid = pl.sid) AS tracked "
    "  FROM supplier_orders s JOIN pl ON pl.order_id = s.order_id "
    "  AND pl.sid = s.supplier_id::text WHERE s.shop_id = $1), "
    "ts AS (SELECT sid, count(*) AS n, count(*) FILTER (WHERE tracked IS NOT NULL "
    "  OR (state NOT IN (9, 10) AND now() - placed > " D_TRACK ")) AS meas, "
    "  count(*) FILTER (WHERE tracked - placed <= " D_TRACK ") AS ontime, "
    "  percentile_cont(0.5) WITHIN GROUP (ORDER BY " US("tracked - placed") ") AS p50 "
    "  FROM so GROUP BY sid), "
    "ds AS (SELECT pa.sid, count(*) FILTER (WHERE dl.t IS NOT NULL "
    "  OR now() - pa.t > " D_DELIV ") AS meas, "
    "  count(*) FILTER (WHERE dl.t - pa.t <= " D_DELIV ") AS ontime, "
    "  percentile_cont(0.5) WITHIN GROUP (ORDER BY " US("dl.t - pa.t") ") AS p50 "
    "  FROM pa LEFT JOIN dl ON dl.order_id = pa.order_id AND dl.carrier = pa.carrier "
    "  AND dl.tn = pa.tn GROUP BY pa.sid), "
    "cs AS (SELECT supplier_id::text AS sid, count(*) AS n FROM cases "
    "  WHERE shop_id = $1 AND " IN_RANGE("create_time") " GROUP BY 1), "
    "ids AS (SELECT sid FROM ts UNION SELECT sid FROM cs) "
    "SELECT ids.sid, coalesce(sp.display_name, ''), coalesce(ts.n, 0), coalesce(ts.meas, 0), "
    "  coalesce(ts.ontime, 0), ts.p50::int8, coalesce(ds.meas, 0), coalesce(ds.ontime, 0), "
    "  ds.p50::int8, coalesce(cs.n, 0) "
    "FROM ids LEFT JOIN ts ON ts.sid = ids.sid LEFT JOIN ds ON ds.sid = ids.sid "
    "LEFT JOIN cs ON cs.sid = ids.sid "
    "LEFT JOIN suppliers sp ON sp.shop_id = $1 AND sp.supplier_id::text = ids.sid "
    "ORDER BY 2, 1"};
static const store_stmt stmt_case_types = {
    "report_case_types",
    "SELECT type, count(*) FROM cases WHERE shop_id = $1 AND " IN_RANGE("create_time")
    " GROUP BY type ORDER BY type"};
static const store_stmt stmt_root_causes = {
    "report_root_causes",
    "SELECT root_cause, count(*) FROM cases WHERE shop_id = $1 AND state = 7 AND "
    IN_RANGE("create_time") " GROUP BY root_cause ORDER BY root_cause"};
/* Refund amounts and compensation lines, exact (numeric), per payer and
 * currency; units and nanos split in SQL. */
static const store_stmt stmt_refunds = {
    "report_refunds",
    "SELECT payer, currency, n, trunc(r)::int8, ((r - trunc(r)) * 1000000000)::int4, "
    "  trunc(c)::int8, ((c - trunc(c)) * 1000000000)::int4 "
    "FROM (SELECT payer, currency, count(*) FILTER (WHERE is_refund) AS n, "
    "  coalesce(sum(amount) FILTER (WHERE is_refund), 0) AS r, "
    "  coalesce(sum(amount) FILTER (WHERE NOT is_refund), 0) AS c "
    "  FROM (SELECT r.payer, r.amount_currency AS currency, true AS is_refund, "
    "      r.amount_units + r.amount_nanos / 1000000000.0 AS amount "
    "    FROM case_refunds r WHERE r.shop_id = $1 AND " IN_RANGE("r.create_time")
    "    UNION ALL "
    "    SELECT r.payer, k.amount_currency, false, k.amount_units + k.amount_nanos / 1000000000.0 "
    "    FROM case_refunds r JOIN case_compensations k ON k.shop_id = r.shop_id "
    "      AND k.case_id = r.case_id AND k.refund_id = r.refund_id "
    "    WHERE r.shop_id = $1 AND " IN_RANGE("r.create_time") ") x "
    "  GROUP BY payer, currency) y "
    "ORDER BY payer, currency"};
/* clang-format on */

/* One section: run stmt with the first n of the query's parameters, then
 * let fill turn the rows into report fields. */
typedef ds_status (*fill_fn)(ds_arena *a, const PGresult *r, Dropship__V1__OperationsReport *rep);

typedef struct section {
    const store_stmt *stmt;
    int nparams;
    fill_fn fill;
} section;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static Google__Protobuf__Duration *duration(ds_arena *a, int64_t us)
{
    Google__Protobuf__Duration *d = ds_arena_alloc(a, sizeof(*d));

    if (d == NULL)
        return NULL;
    google__protobuf__duration__init(d);
    d->seconds = us / 1000000;
    d->nanos = (int32_t)(us % 1000000) * 1000;
    return d;
}

static Dropship__V1__Money *money(ds_arena *a, const char *currency, int64_t units, int32_t nanos)
{
    Dropship__V1__Money *m = ds_arena_alloc(a, sizeof(*m));

    if (m == NULL)
        return NULL;
    dropship__v1__money__init(m);
    m->currency_code = ds_arena_strdup(a, currency);
    m->units = units;
    m->nanos = nanos;
    return m->currency_code != NULL ? m : NULL;
}

/* An array of n messages of type d, each initialised; NULL when out of
 * memory. */
static void **new_messages(ds_arena *a, const ProtobufCMessageDescriptor *d, int n)
{
    void **v = ds_arena_alloc(a, sizeof(*v) * (size_t)(n > 0 ? n : 1));

    for (int i = 0; v != NULL && i < n; i++) {
        v[i] = ds_arena_alloc(a, d->sizeof_message);
        if (v[i] == NULL)
            return NULL;
        protobuf_c_message_init(d, v[i]);
    }
    return v;
}

/* Rows (enum value, count) into repeated messages of type d whose fields 1
 * and 2 are that enum and an int64 count. */
static ds_status count_list(ds_arena *a, const PGresult *r, const ProtobufCMessageDescriptor *d,
                            size_t *n, void ***out)
{
    int rows = PQntuples(r);
    void **v = new_messages(a, d, rows);

    if (v == NULL)
        return DS_ERR_NOMEM;
    for (int i = 0; i < rows; i++) {
        *(int *)((char *)v[i] + d->fields[0].offset) = store_row_int32(r, i, 0, 0);
        *(int64_t *)((char *)v[i] + d->fields[1].offset) = store_row_int64(r, i, 1, 0);
    }
    *n = (size_t)rows;
    *out = v;
    return DS_OK;
}

static int64_t sum_counts(const PGresult *r)
{
    int64_t sum = 0;

    for (int i = 0; i < PQntuples(r); i++)
        sum += store_row_int64(r, i, 1, 0);
    return sum;
}

static ds_status fill_states(ds_arena *a, const PGresult *r, Dropship__V1__OperationsReport *rep)
{
    rep->order_count = sum_counts(r);
    return count_list(a, r, &dropship__v1__order_state_count__descriptor, &rep->n_orders_by_state,
                      (void ***)&rep->orders_by_state);
}

static ds_status fill_holds(ds_arena *a, const PGresult *r, Dropship__V1__OperationsReport *rep)
{
    return count_list(a, r, &dropship__v1__hold_reason_count__descriptor,
                      &rep->n_orders_by_hold_reason, (void ***)&rep->orders_by_hold_reason);
}

static ds_status fill_case_types(ds_arena *a, const PGresult *r,
                                 Dropship__V1__OperationsReport *rep)
{
    rep->case_count = sum_counts(r);
    return count_list(a, r, &dropship__v1__case_type_count__descriptor, &rep->n_cases_by_type,
                      (void ***)&rep->cases_by_type);
}

static ds_status fill_root_causes(ds_arena *a, const PGresult *r,
                                  Dropship__V1__OperationsReport *rep)
{
    return count_list(a, r, &dropship__v1__root_cause_count__descriptor,
                      &rep->n_cases_by_root_cause, (void ***)&rep->cases_by_root_cause);
}

static ds_status fill_steps(ds_arena *a, const PGresult *r, Dropship__V1__OperationsReport *rep)
{
    int rows = PQntuples(r);
    Dropship__V1__StepDuration **v =
        (void *)new_messages(a, &dropship__v1__step_duration__descriptor, rows);

    if (v == NULL)
        return DS_ERR_NOMEM;
    for (int i = 0; i < rows; i++) {
        v[i]->state = store_row_int32(r, i, 0, 0);
        v[i]->p50 = duration(a, store_row_int64(r, i, 1, 0));
        v[i]->p90 = duration(a, store_row_int64(r, i, 2, 0));
        v[i]->sample_count = store_row_int64(r, i, 3, 0);
        if (v[i]->p50 == NULL || v[i]->p90 == NULL)
            return DS_ERR_NOMEM;
    }
    rep->step_durations = v;
    rep->n_step_durations = (size_t)rows;
    return DS_OK;
}

static double rate(int64_t on_time, int64_t measured)
{
    return measured > 0 ? (double)on_time / (double)measured : 0.0;
}

/* Row i of stmt_suppliers into s; DS_ERR_NOMEM when the arena is full. */
static ds_status supplier_row(ds_arena *a, const PGresult *r, int i,
                              Dropship__V1__SupplierPerformance *s)
{
    s->supplier_id = store_row_strdup(a, r, i, 0);
    s->display_name = store_row_strdup(a, r, i, 1);
    s->supplier_order_count = store_row_int64(r, i, 2, 0);
    s->tracking_sample_count = store_row_int64(r, i, 3, 0);
    s->tracking_on_time_count = store_row_int64(r, i, 4, 0);
    s->tracking_on_time_rate = rate(s->tracking_on_time_count, s->tracking_sample_count);
    s->delivery_sample_count = store_row_int64(r, i, 6, 0);
    s->delivery_on_time_count = store_row_int64(r, i, 7, 0);
    s->delivery_on_time_rate = rate(s->delivery_on_time_count, s->delivery_sample_count);
    s->case_count = store_row_int64(r, i, 9, 0);
    if (!PQgetisnull(r, i, 5))
        s->purchase_to_tracking_p50 = duration(a, store_row_int64(r, i, 5, 0));
    if (!PQgetisnull(r, i, 8))
        s->tracking_to_delivered_p50 = duration(a, store_row_int64(r, i, 8, 0));
    if (s->supplier_id == NULL || s->display_name == NULL ||
        (!PQgetisnull(r, i, 5) && s->purchase_to_tracking_p50 == NULL) ||
        (!PQgetisnull(r, i, 8) && s->tracking_to_delivered_p50 == NULL))
        return DS_ERR_NOMEM;
    return DS_OK;
}

static ds_status fill_suppliers(ds_arena *a, const PGresult *r, Dropship__V1__OperationsReport *rep)
{
    int rows = PQntuples(r);
    Dropship__V1__SupplierPerformance **v =
        (void *)new_messages(a, &dropship__v1__supplier_performance__descriptor, rows);
    ds_status st = v != NULL ? DS_OK : DS_ERR_NOMEM;

    for (int i = 0; st == DS_OK && i < rows; i++)
        st = supplier_row(a, r, i, v[i]);
    if (st == DS_OK) {
        rep->suppliers = v;
        rep->n_suppliers = (size_t)rows;
    }
    return st;
}

static ds_status fill_refunds(ds_arena *a, const PGresult *r, Dropship__V1__OperationsReport *rep)
{
    int rows = PQntuples(r);
    Dropship__V1__RefundTotal **v =
        (void *)new_messages(a, &dropship__v1__refund_total__descriptor, rows);

    if (v == NULL)
        return DS_ERR_NOMEM;
    for (int i = 0; i < rows; i++) {
        const char *cur = store_row_text(r, i, 1);
        v[i]->payer = store_row_int32(r, i, 0, 0);
        v[i]->refund_count = store_row_int64(r, i, 2, 0);
        v[i]->total = money(a, cur, store_row_int64(r, i, 3, 0), store_row_int32(r, i, 4, 0));
        v[i]->compensation_total =
            money(a, cur, store_row_int64(r, i, 5, 0), store_row_int32(r, i, 6, 0));
        if (v[i]->total == NULL || v[i]->compensation_total == NULL)
            return DS_ERR_NOMEM;
    }
    rep->refunds_by_payer = v;
    rep->n_refunds_by_payer = (size_t)rows;
    return DS_OK;
}

static const section sections[] = {
    {&stmt_states, 3, fill_states},         {&stmt_holds, 3, fill_holds},
    {&stmt_steps, 3, fill_steps},           {&stmt_suppliers, 5, fill_suppliers},
    {&stmt_case_types, 3, fill_case_types}, {&stmt_root_causes, 3, fill_root_causes},
    {&stmt_refunds, 3, fill_refunds},
};

/* Lower the transaction's statement timeout to the time left before the
 * call's deadline and read the snapshot's now() into generate_time. */
static ds_status bound(store_conn *c, int64_t deadline_ms, ds_arena *a,
                       Dropship__V1__OperationsReport *rep, ds_error *err)
{
    int64_t left = deadline_ms == INT64_MAX ? NO_DEADLINE_BOUND_MS : deadline_ms - now_ms();
    char buf[24];
    const char *v[1] = {store_param_int64(buf, left < 1 ? 1 : left)};
    PGresult *r = NULL;
    ds_status st = store_exec(c, &stmt_bound, 1, v, &r, err);

    if (st == DS_OK) {
        rep->generate_time = store_row_timestamp(a, r, 0, 1);
        if (rep->generate_time == NULL)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory building the report");
    }
    PQclear(r);
    return st;
}

/* Every section in the open transaction on c. */
static ds_status run_sections(store_conn *c, const store_report_query *q, ds_arena *a,
                              Dropship__V1__OperationsReport *rep, ds_error *err)
{
    char b[4][24];
    const char *v[PARAMS_MAX] = {q->shop_id, store_param_int64(b[0], q->start_us),
                                 store_param_int64(b[1], q->end_us),
                                 store_param_int64(b[2], q->tracking_deadline_us),
                                 store_param_int64(b[3], q->delivery_deadline_us)};
    ds_status st = DS_OK;

    for (size_t i = 0; st == DS_OK && i < sizeof(sections) / sizeof(sections[0]); i++) {
        PGresult *r = NULL;
        st = store_exec(c, sections[i].stmt, sections[i].nparams, v, &r, err);
        if (st == DS_OK && sections[i].fill(a, r, rep) != DS_OK)
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory building the report");
        PQclear(r);
    }
    return st;
}

ds_status store_report_operations(store_pool *p, int64_t deadline_ms, const store_report_query *q,
                                  ds_arena *a, Dropship__V1__OperationsReport **out, ds_error *err)
{
    Dropship__V1__OperationsReport *rep = ds_arena_alloc(a, sizeof(*rep));
    store_conn *c = NULL;
    ds_status st;

    if (rep == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory building the report");
    dropship__v1__operations_report__init(rep);
    st = store_acquire(p, deadline_ms, &c, err);
    if (st != DS_OK)
        goto out;
    st = store_exec_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (st == DS_OK)
        st = bound(c, deadline_ms, a, rep, err);
    if (st == DS_OK)
        st = run_sections(c, q, a, rep, err);
    if (st == DS_OK)
        st = store_commit(c, err);
    if (st == DS_OK)
        *out = rep;
out:
    store_release(p, c);
    return st;
}
