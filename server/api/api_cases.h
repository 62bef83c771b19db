/* api_cases.h - dropship.v1.AfterSalesService handlers (api.c registers
 * them by itself when it finds this header).
 *
 * Handlers (rpc_unary_fn) validate the whole request first, collecting
 * every BadRequest violation, and touch the database only for a valid
 * request. They read the caller's shop and key from ctx->principal
 * (api_principal) and get the api_env as svc_data; responses are built in
 * ctx->arena. A case or order of another shop answers NOT_FOUND.
 *
 * Threads: handlers run on rpc handler threads, any number at once.
 */
#ifndef API_CASES_H
#define API_CASES_H

#include <stddef.h>

#include "rpc.h"

extern const rpc_method_impl api_cases_methods[];
extern const size_t api_cases_n_methods;

#endif
