/* api_suppliers.h - dropship.v1.SupplierService handlers.
 *
 * Also includes api_mask.h (update_mask helpers) and api_checks.h (address
 * and return-rules checks) for the services that share them.
 *
 * Handlers (rpc_unary_fn) validate the whole request first, collecting
 * every violation, and touch the database only for a valid request. They
 * read the caller's shop from ctx->principal (api_principal) and get the
 * api_env as svc_data.
 *
 * Threads: handlers run on rpc handler threads, any number at once.
 */
#ifndef API_SUPPLIERS_H
#define API_SUPPLIERS_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "api_checks.h"
#include "api_mask.h"
#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/common.pb-c.h"
#include "rpc.h"

extern const rpc_method_impl api_suppliers_methods[];
extern const size_t api_suppliers_n_methods;

#endif
