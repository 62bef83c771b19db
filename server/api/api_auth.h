/* api_auth.h - API-key authentication of every call (the rpc auth hook).
 *
 * A call must carry `authorization: Bearer dsk_...`. The key is hashed
 * (SHA-256) and looked up in api_keys; a live key yields an api_principal
 * {shop_id, key_id} in the call's arena (ctx->principal). A missing,
 * malformed, unknown or revoked key gets DS_ERR_UNAUTHENTICATED with one
 * message that does not say which of these it was. When the database is
 * down the lookup fails DS_ERR_UNAVAILABLE.
 *
 * Cache: positive lookups are remembered for API_AUTH_TTL_MS in a fixed
 * table of API_AUTH_CACHE_SLOTS entries (direct-mapped by hash, a newer
 * entry evicts an older one). A revoked key therefore stops working within
 * API_AUTH_TTL_MS; failed lookups are never cached, so a new key works at
 * once.
 *
 * Threads: api_auth_check may run on many threads at once (one mutex guards
 * the cache; the database lookup happens outside it).
 */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stddef.h>

#include "ds_status.h"
#include "rpc.h"
#include "store.h"
#include "store_shops.h"

enum { API_AUTH_TTL_MS = 2000, API_AUTH_CACHE_SLOTS = 1024 };

/* Who is calling: set by the hook, read by handlers from ctx->principal. */
typedef struct api_principal {
    char shop_id[STORE_UUID_LEN + 1];
    char key_id[STORE_UUID_LEN + 1];
} api_principal;

typedef struct api_auth api_auth;

/* New authenticator over pool (not owned). NULL on out of memory. */
api_auth *api_auth_new(store_pool *pool);

/* Free it (after the rpc server that uses it). NULL is a no-op. */
void api_auth_free(api_auth *a);

/* The rpc_auth_fn: arg is the api_auth. */
ds_status api_auth_check(rpc_ctx *ctx, ds_error *err, void *arg);

/* The key in an authorization header value "Bearer <key>" (scheme case
 * insensitive), or NULL when the value is missing or not a well-formed
 * dropship key. Points into `header`. Pure. */
const char *api_auth_bearer_key(const char *header);

#endif
