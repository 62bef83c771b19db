/* store_suppliers.h - the suppliers table: create (idempotent by request_id),
 * read, keyset list and locked read-modify-write updates.
 *
 * Suppliers go in and come out as dropship.v1.Supplier messages. Nested
 * configuration is stored as packed protobuf bytes; the adapter and tracking
 * credentials are stored in columns of their own and never read back: a
 * returned Supplier has empty credentials and `credential_set` filled.
 * Every statement filters by shop_id; a supplier of another shop is
 * DS_ERR_NOT_FOUND, exactly like a missing one.
 *
 * Ownership: returned messages and strings live in the caller's arena.
 * Inputs are only read. Every function borrows one pooled connection for
 * its duration, waiting at most until deadline_ms (CLOCK_REALTIME ms).
 * Threads: any thread.
 */
#ifndef STORE_SUPPLIERS_H
#define STORE_SUPPLIERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/suppliers.pb-c.h"
#include "store.h"

/* A supplier as read from the table. The message's etag is left empty:
 * the API layer formats it from `version`. */
typedef struct store_supplier_row {
    Dropship__V1__Supplier *msg;
    int64_t version;   /* row version, >= 1 */
    int64_t create_us; /* create_time in epoch microseconds (list position) */
} store_supplier_row;

/* A change of a write-only secret. */
typedef struct store_secret {
    bool change;       /* false: keep what is stored */
    const char *value; /* when changing: the new secret; NULL or "" removes it */
} store_secret;

/* Create a supplier from `s` (validated; its id, times and etag ignored;
 * adapter/tracking credentials taken from the message). With a request_id
 * (NULL or "" = none) the row remembers request_hash: a second create with
 * the same request_id returns the existing supplier when the hash is equal
 * (*replayed = true) and DS_ERR_ALREADY_EXISTS, reason REQUEST_ID_REUSED,
 * when it is not. */
ds_status store_supplier_create(store_pool *p, int64_t deadline_ms, const char *shop_id,
                                const char *request_id, const char *request_hash,
                                const Dropship__V1__Supplier *s, ds_arena *a,
                                store_supplier_row *out, bool *replayed, ds_error *err);

/* Read one supplier. DS_ERR_NOT_FOUND when absent or of another shop. */
ds_status store_supplier_get(store_pool *p, int64_t deadline_ms, const char *shop_id,
                             const char *supplier_id, ds_arena *a, store_supplier_row *out,
                             ds_error *err);

/* Up to `limit` suppliers in (create_time, id) order, after the position
 * (after_us, after_id) when after_id is not NULL. *more tells whether rows
 * follow the last one returned. The array lives in the arena. */
ds_status store_supplier_list(store_pool *p, int64_t deadline_ms, const char *shop_id,
                              int64_t after_us, const char *after_id, int limit, ds_arena *a,
                              store_supplier_row **out, size_t *n_out, bool *more, ds_error *err);

/* Called by store_supplier_update with the current supplier (arena copy,
 * row locked): change it in place and say how the secrets change, or fill
 * err and return non-DS_OK to change nothing. */
typedef ds_status (*store_supplier_edit_fn)(Dropship__V1__Supplier *cur, store_secret *adapter_cred,
                                            store_secret *tracking_cred, void *arg, ds_error *err);

/* Lock the supplier, check the version (expected_version 0 = any, else
 * DS_ERR_ABORTED with reason ETAG_MISMATCH), let `edit` change it, write
 * it back with version + 1 and return the new row in *out. One
 * transaction: nothing is written when any step fails. */
ds_status store_supplier_update(store_pool *p, int64_t deadline_ms, const char *shop_id,
                                const char *supplier_id, int64_t expected_version,
                                store_supplier_edit_fn edit, void *arg, ds_arena *a,
                                store_supplier_row *out, ds_error *err);

#endif
