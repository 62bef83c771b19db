/* api.h - the dropship.v1 services: wiring them into the rpc server.
 *
 * api_register installs the API-key auth hook (api_auth.h) and adds every
 * dropship.v1 service the build has generated code for. A service's
 * handlers live in api_<short>.c and are announced in api_<short>.h
 * (short names: orders, suppliers, catalog, cases, reports) as
 *
 *     extern const rpc_method_impl api_orders_methods[];
 *     extern const size_t api_orders_n_methods;
 *
 * api.c picks such a header up by itself (__has_include). Methods without
 * a handler are still registered and answer UNIMPLEMENTED, after the auth
 * hook has run like for any other call.
 * Handlers receive an api_env as svc_data and the caller's api_principal
 * as ctx->principal.
 *
 * Threads: api_register and api_cleanup run once, on the main thread.
 */
#ifndef API_H
#define API_H

#include "ds_status.h"
#include "rpc.h"
#include "store.h"

/* What every handler gets as svc_data. Lives until api_cleanup. */
typedef struct api_env {
    store_pool *pool;          /* not owned */
    struct wf_events *events;  /* not owned; the WatchOrderEvents hub, or NULL */
} api_env;

/* Install auth and add the services to srv (before rpc_server_start).
 * pool and events (may be NULL: WatchOrderEvents then answers UNAVAILABLE)
 * must outlive the server. On failure nothing needs undoing but
 * api_cleanup. */
ds_status api_register(rpc_server *srv, store_pool *pool, struct wf_events *events,
                       ds_error *err);

/* Free what api_register allocated; call after rpc_server_free. */
void api_cleanup(void);

#endif
