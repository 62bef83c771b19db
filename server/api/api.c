/* api.c - registers the dropship.v1 services and the auth hook. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "api_auth.h"
#include "ds_descset.h"
#include "rpc_descset.h"

/* Generated service descriptors (present once the .proto files exist) and
 * the handler tables of the services (present once written). */
#if __has_include("dropship/v1/orders.pb-c.h")
#include "dropship/v1/orders.pb-c.h"
#define HAVE_ORDERS 1
#endif
#if __has_include("dropship/v1/suppliers.pb-c.h")
#include "dropship/v1/suppliers.pb-c.h"
#define HAVE_SUPPLIERS 1
#endif
#if __has_include("dropship/v1/catalog.pb-c.h")
#include "dropship/v1/catalog.pb-c.h"
#define HAVE_CATALOG 1
#endif
#if __has_include("dropship/v1/cases.pb-c.h")
#include "dropship/v1/cases.pb-c.h"
#define HAVE_CASES 1
#endif
#if __has_include("dropship/v1/reports.pb-c.h")
#include "dropship/v1/reports.pb-c.h"
#define HAVE_REPORTS 1
#endif

#if __has_include("api_orders.h")
#include "api_orders.h"
#define ORDERS_IMPL api_orders_methods, api_orders_n_methods
#else
#define ORDERS_IMPL NULL, 0
#endif
#if __has_include("api_suppliers.h")
#include "api_suppliers.h"
#define SUPPLIERS_IMPL api_suppliers_methods, api_suppliers_n_methods
#else
#define SUPPLIERS_IMPL NULL, 0
#endif
#if __has_include("api_catalog.h")
#include "api_catalog.h"
#define CATALOG_IMPL api_catalog_methods, api_catalog_n_methods
#else
#define CATALOG_IMPL NULL, 0
#endif
#if __has_include("api_cases.h")
#include "api_cases.h"
#define CASES_IMPL api_cases_methods, api_cases_n_methods
#else
#define CASES_IMPL NULL, 0
#endif
#if __has_include("api_reports.h")
#include "api_reports.h"
#define REPORTS_IMPL api_reports_methods, api_reports_n_methods
#else
#define REPORTS_IMPL NULL, 0
#endif

typedef struct api_service {
    const ProtobufCServiceDescriptor *desc;
    const rpc_method_impl *impls;
    size_t n_impls;
} api_service;

static api_auth *auth;
static api_env *env;

/* Stand-ins for methods without a handler yet. Registering them (rather
 * than nothing) makes rpc run the auth hook first, so an unauthenticated
 * caller gets UNAUTHENTICATED for every method, implemented or not. */
static ds_status not_yet_unary(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                               ds_error *err, void *svc_data)
{
    return ds_error_set(err, DS_ERR_UNIMPLEMENTED, "%s is not implemented yet", ctx->method);
}

static ds_status not_yet_stream(rpc_ctx *ctx, const ProtobufCMessage *req, rpc_stream *stream,
                                ds_error *err, void *svc_data)
{
    return ds_error_set(err, DS_ERR_UNIMPLEMENTED, "%s is not implemented yet", ctx->method);
}

static const rpc_method_impl *find_impl(const api_service *s, const char *name)
{
    for (size_t i = 0; i < s->n_impls; i++)
        if (s->impls[i].name != NULL && strcmp(s->impls[i].name, name) == 0)
            return &s->impls[i];
    return NULL;
}

/* Add service s with its handlers, every other method (client streaming
 * aside, which rpc does not support) answering through a stand-in. */
static ds_status add_service(rpc_server *srv, const rpc_descset *ds, const api_service *s,
                             ds_error *err)
{
    const ProtobufCServiceDescriptor *desc = s->desc;
    rpc_method_impl *tab = calloc(desc->n_methods + 1, sizeof(*tab));
    size_t n = 0;
    ds_status st;

    if (tab == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory adding %s", desc->name);
    for (unsigned i = 0; i < desc->n_methods; i++) {
        const char *name = desc->methods[i].name;
        const rpc_method_impl *impl = find_impl(s, name);
        bool cs = false, ss = false;
        if (impl != NULL)
            tab[n++] = *impl;
        else if (rpc_descset_method(ds, desc->name, name, &cs, &ss) == DS_OK && !cs)
            tab[n++] =
                (rpc_method_impl){name, ss ? NULL : not_yet_unary, ss ? not_yet_stream : NULL, 0};
    }
    st = rpc_server_add_service(srv, desc, tab, n, env, err);
    free(tab);
    return st;
}

ds_status api_register(rpc_server *srv, store_pool *pool, struct wf_events *events,
                       ds_error *err)
{
    /* automatic: the handler counts are not compile-time constants */
    const api_service services[] = {
#ifdef HAVE_ORDERS
        {&dropship__v1__order_service__descriptor, ORDERS_IMPL},
#endif
#ifdef HAVE_SUPPLIERS
        {&dropship__v1__supplier_service__descriptor, SUPPLIERS_IMPL},
#endif
#ifdef HAVE_CATALOG
        {&dropship__v1__catalog_service__descriptor, CATALOG_IMPL},
#endif
#ifdef HAVE_CASES
        {&dropship__v1__after_sales_service__descriptor, CASES_IMPL},
#endif
#ifdef HAVE_REPORTS
        {&dropship__v1__report_service__descriptor, REPORTS_IMPL},
#endif
        {NULL, NULL, 0}};
    rpc_descset *ds = NULL;
    ds_status st;

    auth = api_auth_new(pool);
    env = calloc(1, sizeof(*env));
    if (auth == NULL || env == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory setting up the API");
    env->pool = pool;
    env->events = events;
    rpc_server_set_auth(srv, api_auth_check, auth);
    st = rpc_descset_new(ds_descset, ds_descset_len, &ds, err);
    for (size_t i = 0; st == DS_OK && services[i].desc != NULL; i++)
        st = add_service(srv, ds, &services[i], err);
    rpc_descset_free(ds);
    return st;
}

void api_cleanup(void)
{
    api_auth_free(auth);
    auth = NULL;
    free(env);
    env = NULL;
}
