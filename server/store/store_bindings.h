/* store_bindings.h - the bindings table (shop SKU -> supplier SKU): create
 * (idempotent by request_id), read, filtered keyset list, locked update,
 * conditional delete.
 *
 * Bindings go in and come out as dropship.v1.Binding messages; the last
 * supplier offer (written by the offer sync) comes back as last_offer.
 * Every statement filters by shop_id; a binding or supplier of another shop
 * is DS_ERR_NOT_FOUND, exactly like a missing one.
 *
 * Ownership: returned messages live in the caller's arena; inputs are only
 * read. Every function borrows one pooled connection for its duration,
 * waiting at most until deadline_ms (CLOCK_REALTIME ms).
 * Threads: any thread.
 */
#ifndef STORE_BINDINGS_H
#define STORE_BINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/catalog.pb-c.h"
#include "store.h"

/* A binding as read from the table; the message's etag is left empty (the
 * API layer formats it from `version`). */
typedef struct store_binding_row {
    Dropship__V1__Binding *msg;
    int64_t version; /* row version, >= 1 */
} store_binding_row;

/* Where a list page starts: after (shop_sku, priority, id); id NULL = the
 * first page. */
typedef struct store_binding_pos {
    const char *shop_sku;
    int32_t priority;
    const char *id;
} store_binding_pos;

/* Create a binding from `b` (validated; id, times, etag, last_offer
 * ignored). In one transaction: a request_id seen before returns its
 * binding when request_hash is equal (*replayed = true), else
 * DS_ERR_ALREADY_EXISTS reason REQUEST_ID_REUSED; the supplier must exist
 * in the shop (DS_ERR_NOT_FOUND) and charge in max_cost's currency (else
 * DS_ERR_INVALID, reason CURRENCY_MISMATCH, with the supplier's currency in
 * supplier_currency); a binding with the same (shop_sku, supplier_id,
 * supplier_sku, supplier_variant) gives DS_ERR_ALREADY_EXISTS reason
 * DUPLICATE_BINDING. */
ds_status store_binding_create(store_pool *p, int64_t deadline_ms, const char *shop_id,
                               const char *request_id, const char *request_hash,
                               const Dropship__V1__Binding *b, ds_arena *a, store_binding_row *out,
                               bool *replayed, char supplier_currency[4], ds_error *err);

/* Read one binding. DS_ERR_NOT_FOUND when absent or of another shop. */
ds_status store_binding_get(store_pool *p, int64_t deadline_ms, const char *shop_id,
                            const char *binding_id, ds_arena *a, store_binding_row *out,
                            ds_error *err);

/* Up to `limit` bindings in (shop_sku, priority, id) order after `after`,
 * only of shop_sku / supplier_id when those are not NULL. *more tells
 * whether rows follow. The array lives in the arena. */
ds_status store_binding_list(store_pool *p, int64_t deadline_ms, const char *shop_id,
                             const char *shop_sku, const char *supplier_id,
                             const store_binding_pos *after, int limit, ds_arena *a,
                             store_binding_row **out, size_t *n_out, bool *more, ds_error *err);

/* Called by store_binding_update with the current binding (arena copy, row
 * locked) and its supplier's currency: change it in place, or fill err and
 * return non-DS_OK to change nothing. Only supplier_variant, max_cost,
 * priority, title, return_address and return_rules are written back. */
typedef ds_status (*store_binding_edit_fn)(Dropship__V1__Binding *cur,
                                           const char *supplier_currency, void *arg, ds_error *err);

/* Lock, check the version (0 = any, else DS_ERR_ABORTED reason
 * ETAG_MISMATCH), edit, write back with version + 1 (DS_ERR_ALREADY_EXISTS
 * reason DUPLICATE_BINDING if the change collides with another binding).
 * One transaction. */
ds_status store_binding_update(store_pool *p, int64_t deadline_ms, const char *shop_id,
                               const char *binding_id, int64_t expected_version,
                               store_binding_edit_fn edit, void *arg, ds_arena *a,
                               store_binding_row *out, ds_error *err);

/* Delete a binding if its version is expected_version (0 = any).
 * DS_ERR_NOT_FOUND, or DS_ERR_ABORTED reason ETAG_MISMATCH. */
ds_status store_binding_delete(store_pool *p, int64_t deadline_ms, const char *shop_id,
                               const char *binding_id, int64_t expected_version, ds_error *err);

#endif
