/* store_shops.h - tenants: shops and their API keys.
 *
 * An API key is "dsk_" + base64url (no padding) of 32 random bytes from
 * RAND_bytes. Only its SHA-256 (lower-case hex) is stored, with the key id,
 * shop id, created_at and revoked_at; the key itself is returned once, at
 * creation, and cannot be recovered.
 *
 * Every function borrows one pooled connection for its duration.
 * Threads: any thread.
 */
#ifndef STORE_SHOPS_H
#define STORE_SHOPS_H

#include <stdint.h>

#include "ds_status.h"
#include "store.h"

enum {
    STORE_UUID_LEN = 36,        /* canonical text form, without the NUL */
    STORE_API_KEY_LEN = 4 + 43, /* "dsk_" + 43 base64url chars */
    STORE_KEY_HASH_LEN = 64,    /* SHA-256 as hex */
    STORE_SHOP_NAME_MAX = 200
};

/* Create a shop called `name` (1..200 bytes); its new id goes to id_out.
 * DS_ERR_INVALID for a bad name, DS_ERR_UNAVAILABLE if the database is down. */
ds_status store_shop_create(store_pool *p, const char *name, char id_out[STORE_UUID_LEN + 1],
                            ds_error *err);

/* Create a key for shop_id: the key text to key_out (show it once), its id
 * to key_id_out. DS_ERR_NOT_FOUND if there is no such shop, DS_ERR_INVALID
 * if shop_id is not a UUID. */
ds_status store_api_key_create(store_pool *p, const char *shop_id,
                               char key_out[STORE_API_KEY_LEN + 1],
                               char key_id_out[STORE_UUID_LEN + 1], ds_error *err);

/* SHA-256 of key as lower-case hex. Pure; any input length. */
void store_api_key_hash(const char *key, char hex_out[STORE_KEY_HASH_LEN + 1]);

/* Find the live (not revoked) key whose hash is key_hash, waiting for a
 * connection at most until deadline_ms (CLOCK_REALTIME ms). DS_OK fills
 * shop_id and key_id; DS_ERR_NOT_FOUND if unknown or revoked. */
ds_status store_api_key_lookup(store_pool *p, const char *key_hash, int64_t deadline_ms,
                               char shop_id[STORE_UUID_LEN + 1], char key_id[STORE_UUID_LEN + 1],
                               ds_error *err);

/* Revoke a key by id (idempotent). DS_ERR_NOT_FOUND if there is no such key. */
ds_status store_api_key_revoke(store_pool *p, const char *key_id, ds_error *err);

#endif
