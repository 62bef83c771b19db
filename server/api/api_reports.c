/* api_reports.c - dropship.v1.ReportService: request validation, defaults,
 * and the operations report of the caller's shop. */
#include "api_reports.h"

#include <time.h>

#include "api.h"
#include "api_auth.h"
#include "api_util.h"
#include "api_validate.h"
#include "dropship/v1/reports.pb-c.h"
#include "store_reports.h"

#define US_PER_S INT64_C(1000000)
#define HOUR_S INT64_C(3600)
#define DAY_S INT64_C(86400)

static const int64_t RANGE_DEFAULT_S = 30 * DAY_S;
static const int64_t RANGE_MAX_S = 366 * DAY_S;
static const int64_t TRACKING_DEFAULT_S = 72 * HOUR_S;
static const int64_t TRACKING_MIN_S = HOUR_S, TRACKING_MAX_S = 30 * DAY_S;
static const int64_t DELIVERY_DEFAULT_S = 15 * DAY_S;
static const int64_t DELIVERY_MIN_S = DAY_S, DELIVERY_MAX_S = 90 * DAY_S;
/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp range. */
static const int64_t TS_MIN_S = INT64_C(-62135596800), TS_MAX_S = INT64_C(253402300799);

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_S + ts.tv_nsec / 1000;
}

/* An optional Timestamp into *us (left alone when unset); false after a
 * violation. */
static bool check_time(ds_error *err, const char *field, const Google__Protobuf__Timestamp *t,
                       int64_t *us)
{
    if (t == NULL)
        return true;
    if (t->seconds < TS_MIN_S || t->seconds > TS_MAX_S || t->nanos < 0 || t->nanos > 999999999) {
        ds_error_violation(err, field, "must be a valid time between years 1 and 9999");
        return false;
    }
    *us = t->seconds * US_PER_S + t->nanos / 1000;
    return true;
}

/* An optional Duration within [min_s, max_s] into *us (default when
 * unset). */
static void check_duration(ds_error *err, const char *field, const Google__Protobuf__Duration *d,
                           int64_t min_s, int64_t max_s, int64_t *us)
{
    if (d == NULL)
        return;
    if (d->nanos < 0 || d->nanos > 999999999 || d->seconds < min_s || d->seconds > max_s ||
        (d->seconds == max_s && d->nanos > 0)) {
        ds_error_violation(err, field, "must be between %llds and %llds", (long long)min_s,
                           (long long)max_s);
        return;
    }
    *us = d->seconds * US_PER_S + d->nanos / 1000;
}

/* The range of the request with defaults filled in, checked. */
static void check_range(ds_error *err, const Dropship__V1__TimeRange *tr, store_report_query *q)
{
    bool has_start = tr != NULL && tr->start_time != NULL;
    bool has_end = tr != NULL && tr->end_time != NULL;
    bool ok = true;

    q->end_us = now_us();
    if (has_end)
        ok = check_time(err, "time_range.end_time", tr->end_time, &q->end_us);
    if (has_start)
        ok = check_time(err, "time_range.start_time", tr->start_time, &q->start_us) && ok;
    else
        q->start_us = q->end_us - RANGE_DEFAULT_S * US_PER_S;
    if (!ok)
        return;
    if (q->start_us >= q->end_us)
        ds_error_violation(err, "time_range", "start_time must be before end_time");
    else if (q->end_us - q->start_us > RANGE_MAX_S * US_PER_S)
        ds_error_violation(err, "time_range", "must not span more than %lld days",
                           (long long)(RANGE_MAX_S / DAY_S));
}

static void check_request(ds_error *err, const Dropship__V1__GetOperationsReportRequest *req,
                          store_report_query *q)
{
    check_range(err, req->time_range, q);
    q->tracking_deadline_us = TRACKING_DEFAULT_S * US_PER_S;
    check_duration(err, "tracking_deadline", req->tracking_deadline, TRACKING_MIN_S, TRACKING_MAX_S,
                   &q->tracking_deadline_us);
    q->delivery_deadline_us = DELIVERY_DEFAULT_S * US_PER_S;
    check_duration(err, "delivery_deadline", req->delivery_deadline, DELIVERY_MIN_S, DELIVERY_MAX_S,
                   &q->delivery_deadline_us);
}

/* The range actually used, for the response. */
static Dropship__V1__TimeRange *range_of(ds_arena *a, const store_report_query *q)
{
    Dropship__V1__TimeRange *tr = api_new_message(a, &dropship__v1__time_range__descriptor);

    if (tr == NULL)
        return NULL;
    tr->start_time = api_timestamp(a, q->start_us);
    tr->end_time = api_timestamp(a, q->end_us);
    return tr->start_time != NULL && tr->end_time != NULL ? tr : NULL;
}

static ds_status get_operations_report(rpc_ctx *ctx, const ProtobufCMessage *req_,
                                       ProtobufCMessage **resp, ds_error *err, void *svc)
{
    const Dropship__V1__GetOperationsReportRequest *req = (const void *)req_;
    store_report_query q = {.shop_id = ((const api_principal *)ctx->principal)->shop_id};
    Dropship__V1__OperationsReport *rep = NULL;
    ds_status st;

    check_request(err, req, &q);
    st = api_validate_done(err, "request");
    if (st == DS_OK)
        st = store_report_operations(((api_env *)svc)->pool, ctx->deadline_ms, &q, ctx->arena, &rep,
                                     err);
    if (st != DS_OK)
        return st;
    rep->time_range = range_of(ctx->arena, &q);
    if (rep->time_range == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    return api_respond(ctx->arena, &dropship__v1__get_operations_report_response__descriptor,
                       "report", rep, resp, err);
}

const rpc_method_impl api_reports_methods[] = {
    {"GetOperationsReport", get_operations_report, NULL, 0},
};
const size_t api_reports_n_methods = sizeof(api_reports_methods) / sizeof(api_reports_methods[0]);
