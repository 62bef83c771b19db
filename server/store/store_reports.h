/* store_reports.h - the operations report (ReportService), computed by SQL
 * aggregates in PostgreSQL.
 *
 * Every figure is an aggregate (count, sum, percentile_cont) computed by
 * the database over one shop's rows; no order, event or case row travels to
 * the server. The statements run in one REPEATABLE READ READ ONLY
 * transaction (one snapshot for the whole report), each bounded by the
 * smaller of the pool's statement_timeout and the time left before the
 * call's deadline. The figures are defined in docs/reports.md.
 *
 * Threads: reentrant; the pool is thread-safe.
 */
#ifndef STORE_REPORTS_H
#define STORE_REPORTS_H

#include <stdint.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/reports.pb-c.h"
#include "store.h"

/* What to report on. */
typedef struct store_report_query {
    const char *shop_id; /* uuid text: only this shop's rows are read */
    int64_t start_us;    /* range [start_us, end_us), epoch microseconds */
    int64_t end_us;
    int64_t tracking_deadline_us; /* purchase -> first tracking number "on time" bound */
    int64_t delivery_deadline_us; /* tracking number -> delivered "on time" bound */
} store_report_query;

/* Compute the report of q. On DS_OK *out is a report built in `a` with every
 * figure and generate_time (the transaction's now()) set; time_range is
 * left for the caller. Errors: DS_ERR_UNAVAILABLE (database down),
 * DS_ERR_RESOURCE_EXHAUSTED (no connection in time), DS_ERR_DEADLINE (a
 * statement ran past its bound), DS_ERR_NOMEM; *out is untouched then. */
ds_status store_report_operations(store_pool *p, int64_t deadline_ms, const store_report_query *q,
                                  ds_arena *a, Dropship__V1__OperationsReport **out, ds_error *err);

#endif
