/* api_reports.h - dropship.v1.ReportService handlers.
 *
 * GetOperationsReport validates the whole request first (every violation
 * collected into one INVALID_ARGUMENT with BadRequest field violations),
 * fills in the defaults (range: the 30 days before now; tracking deadline
 * 72 h; delivery deadline 15 days) and has store_reports.h compute the
 * report for the caller's shop (ctx->principal) only. The figures are
 * defined in docs/reports.md.
 *
 * Threads: handlers run on rpc handler threads, any number at once.
 */
#ifndef API_REPORTS_H
#define API_REPORTS_H

#include <stddef.h>

#include "rpc.h"

extern const rpc_method_impl api_reports_methods[];
extern const size_t api_reports_n_methods;

#endif
