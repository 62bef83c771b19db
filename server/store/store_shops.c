/* store_shops.c - shops and API keys (creation, hashing, lookup, revocation). */
#include "store_shops.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

static const store_stmt stmt_shop_create = {
    "shops_create", "INSERT INTO shops (name) VALUES ($1) RETURNING shop_id"};
static const store_stmt stmt_key_create = {
    "api_keys_create", "INSERT INTO api_keys (shop_id, key_hash) VALUES ($1, $2) RETURNING key_id"};
static const store_stmt stmt_key_lookup = {
    "api_keys_lookup",
    "SELECT shop_id, key_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"};
static const store_stmt stmt_key_revoke = {
    "api_keys_revoke",
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1"};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run st and copy the first row's columns into out[0..ncols) (each
 * STORE_UUID_LEN + 1 bytes). DS_ERR_NOT_FOUND when no row came back. The
 * SQLSTATE of a failure goes to sqlstate (6 bytes) when not NULL. */
static ds_status exec_row(store_pool *p, const store_stmt *st, int nparams,
                          const char *const *params, int64_t deadline_ms, int ncols, char **out,
                          char *sqlstate, ds_error *err)
{
    store_conn *c = NULL;
    PGresult *res = NULL;
    ds_status status = store_acquire(p, deadline_ms, &c, err);

    if (status == DS_OK)
        status = store_exec(c, st, nparams, params, &res, err);
    if (status != DS_OK && c != NULL && sqlstate != NULL)
        snprintf(sqlstate, 6, "%s", store_last_sqlstate(c));
    if (status == DS_OK && (PQntuples(res) < 1 || PQnfields(res) < ncols))
        status = ds_error_set(err, DS_ERR_NOT_FOUND, "not found");
    for (int i = 0; status == DS_OK && i < ncols; i++)
        snprintf(out[i], STORE_UUID_LEN + 1, "%s", PQgetvalue(res, 0, i));
    PQclear(res);
    store_release(p, c);
    return status;
}

ds_status store_shop_create(store_pool *p, const char *name, char id_out[STORE_UUID_LEN + 1],
                            ds_error *err)
{
    const char *params[1] = {name};
    char *out[1] = {id_out};
    size_t len = name != NULL ? strnlen(name, STORE_SHOP_NAME_MAX + 1) : 0;

    id_out[0] = '\0';
    if (len == 0 || len > STORE_SHOP_NAME_MAX)
        return ds_error_set(err, DS_ERR_INVALID, "a shop name must have 1 to %d bytes",
                            STORE_SHOP_NAME_MAX);
    return exec_row(p, &stmt_shop_create, 1, params, now_ms() + 5000, 1, out, NULL, err);
}

/* 32 random bytes as "dsk_" + unpadded base64url. */
static ds_status new_key(char key_out[STORE_API_KEY_LEN + 1], ds_error *err)
{
    unsigned char raw[32];
    unsigned char b64[48];
    int n;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return ds_error_set(err, DS_ERR_INTERNAL, "no random bytes for a new key");
    n = EVP_EncodeBlock(b64, raw, sizeof(raw));
    while (n > 0 && b64[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++) {
        if (b64[i] == '+')
            b64[i] = '-';
        else if (b64[i] == '/')
            b64[i] = '_';
    }
    snprintf(key_out, STORE_API_KEY_LEN + 1, "dsk_%.*s", n, (const char *)b64);
    OPENSSL_cleanse(raw, sizeof(raw));
    return DS_OK;
}

void store_api_key_hash(const char *key, char hex_out[STORE_KEY_HASH_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    hex_out[0] = '\0';
    if (EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return;
    for (unsigned int i = 0; i < len; i++) {
        hex_out[2 * i] = digits[md[i] >> 4];
        hex_out[2 * i + 1] = digits[md[i] & 15];
    }
    hex_out[2 * len] = '\0';
}

ds_status store_api_key_create(store_pool *p, const char *shop_id,
                               char key_out[STORE_API_KEY_LEN + 1],
                               char key_id_out[STORE_UUID_LEN + 1], ds_error *err)
{
    char hash[STORE_KEY_HASH_LEN + 1];
    const char *params[2] = {shop_id, hash};
    char *out[1] = {key_id_out};
    char sqlstate[6] = "";
    ds_status st;

    key_out[0] = '\0';
    key_id_out[0] = '\0';
    st = new_key(key_out, err);
    if (st != DS_OK)
        return st;
    store_api_key_hash(key_out, hash);
    st = exec_row(p, &stmt_key_create, 2, params, now_ms() + 5000, 1, out, sqlstate, err);
    if (st != DS_OK && strcmp(sqlstate, "23503") == 0)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "no shop %s", shop_id);
    else if (st == DS_ERR_INVALID)
        st = ds_error_set(err, DS_ERR_INVALID, "shop id %s is not a UUID", shop_id);
    if (st != DS_OK)
        key_out[0] = '\0';
    return st;
}

ds_status store_api_key_lookup(store_pool *p, const char *key_hash, int64_t deadline_ms,
                               char shop_id[STORE_UUID_LEN + 1], char key_id[STORE_UUID_LEN + 1],
                               ds_error *err)
{
    const char *params[1] = {key_hash};
    char *out[2] = {shop_id, key_id};

    shop_id[0] = '\0';
    key_id[0] = '\0';
    return exec_row(p, &stmt_key_lookup, 1, params, deadline_ms, 2, out, NULL, err);
}

ds_status store_api_key_revoke(store_pool *p, const char *key_id, ds_error *err)
{
    const char *params[1] = {key_id};
    store_conn *c = NULL;
    PGresult *res = NULL;
    ds_status st = store_acquire(p, now_ms() + 5000, &c, err);

    if (st == DS_OK)
        st = store_exec(c, &stmt_key_revoke, 1, params, &res, err);
    if (st == DS_OK && strcmp(PQcmdTuples(res), "0") == 0)
        st = ds_error_set(err, DS_ERR_NOT_FOUND, "no API key %s", key_id);
    PQclear(res);
    store_release(p, c);
    return st;
}
