/* api_suppliers.h - dropship.v1.SupplierService handlers, plus the field-mask
 * and return-policy checks that CatalogService shares with it.
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

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/common.pb-c.h"
#include "rpc.h"

extern const rpc_method_impl api_suppliers_methods[];
extern const size_t api_suppliers_n_methods;

/* What a field-mask path may do. */
typedef enum api_mask_kind {
    API_MASK_UPDATABLE, /* replaced by an update */
    API_MASK_OUTPUT,    /* output only: INVALID_ARGUMENT */
    API_MASK_IMMUTABLE  /* set at creation only: INVALID_ARGUMENT */
} api_mask_kind;

typedef struct api_mask_rule {
    const char *path;
    api_mask_kind kind;
} api_mask_rule;

/* Check every path of a FieldMask (paths[0..n)) against the rules (ended by
 * a {NULL} entry) and the message type `root`: a violation on
 * "update_mask.paths[i]" names each unknown, output-only, immutable or
 * not-updatable path; an empty mask is a violation on "update_mask".
 * Returns true when every path is updatable. */
bool api_mask_check(ds_error *err, const ProtobufCMessageDescriptor *root, char **paths, size_t n,
                    const api_mask_rule *rules);

/* True when the mask names `path` or one of its parents. */
bool api_mask_wants(char **paths, size_t n, const char *path);

/* Replace the field at `path` (checked by api_mask_check) of dst with the
 * one of src; parents missing in dst are created in the arena, parents
 * missing in src count as default values. Pointers are shared, not copied:
 * src must live as long as dst is used. */
ds_status api_mask_copy(ds_arena *a, ProtobufCMessage *dst, const ProtobufCMessage *src,
                        const char *path, ds_error *err);

/* Validate an Address / ReturnRules value at `field` (violations only). */
void api_check_address(ds_error *err, const char *field, const Dropship__V1__Address *addr);
void api_check_return_rules(ds_error *err, const char *field, const Dropship__V1__ReturnRules *r);

#endif
