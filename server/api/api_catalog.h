/* api_catalog.h - dropship.v1.CatalogService handlers: product bindings from
 * shop SKUs to supplier SKUs.
 *
 * Handlers (rpc_unary_fn) validate the whole request first, collecting
 * every violation, and touch the database only for a valid request. They
 * read the caller's shop from ctx->principal (api_principal) and get the
 * api_env as svc_data. SyncOffers answers UNIMPLEMENTED until the workflow
 * engine that runs offer syncs exists.
 *
 * Threads: handlers run on rpc handler threads, any number at once.
 */
#ifndef API_CATALOG_H
#define API_CATALOG_H

#include <stddef.h>

#include "rpc.h"

extern const rpc_method_impl api_catalog_methods[];
extern const size_t api_catalog_n_methods;

#endif
