/* api_auth.c - bearer API keys: parse, hash, cached lookup, principal. */
#include "api_auth.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define UNAUTH_MSG "missing or invalid API key: send \"authorization: Bearer <API key>\""

typedef struct cache_entry {
    char hash[STORE_KEY_HASH_LEN + 1]; /* "" = empty slot */
    api_principal who;
    int64_t expires_ms;
} cache_entry;

struct api_auth {
    store_pool *pool;
    pthread_mutex_t mu;
    cache_entry slots[API_AUTH_CACHE_SLOTS];
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

api_auth *api_auth_new(store_pool *pool)
{
    api_auth *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->pool = pool;
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void api_auth_free(api_auth *a)
{
    if (a == NULL)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static bool is_b64url(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

const char *api_auth_bearer_key(const char *header)
{
    const char *key;
    size_t len;

    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    key = header + 7;
    while (*key == ' ')
        key++;
    len = strnlen(key, STORE_API_KEY_LEN + 1);
    if (len != STORE_API_KEY_LEN || strncmp(key, "dsk_", 4) != 0)
        return NULL;
    for (size_t i = 4; i < len; i++)
        if (!is_b64url(key[i]))
            return NULL;
    return key;
}

/* The hash's first hex digits pick the slot (the hash is uniform). */
static cache_entry *slot_of(api_auth *a, const char *hash)
{
    unsigned idx = 0;

    for (int i = 0; i < 6; i++)
        idx = idx * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return &a->slots[idx % API_AUTH_CACHE_SLOTS];
}

static bool cache_get(api_auth *a, const char *hash, api_principal *who)
{
    cache_entry *e;
    bool hit;

    pthread_mutex_lock(&a->mu);
    e = slot_of(a, hash);
    hit = strcmp(e->hash, hash) == 0 && e->expires_ms > now_ms();
    if (hit)
        *who = e->who;
    pthread_mutex_unlock(&a->mu);
    return hit;
}

static void cache_put(api_auth *a, const char *hash, const api_principal *who)
{
    cache_entry *e;

    pthread_mutex_lock(&a->mu);
    e = slot_of(a, hash);
    memcpy(e->hash, hash, sizeof(e->hash));
    e->who = *who;
    e->expires_ms = now_ms() + API_AUTH_TTL_MS;
    pthread_mutex_unlock(&a->mu);
}

/* Cache, then database. DS_ERR_UNAUTHENTICATED for an unknown key. */
static ds_status lookup(api_auth *a, const char *key, int64_t deadline_ms, api_principal *who,
                        ds_error *err)
{
    char hash[STORE_KEY_HASH_LEN + 1];
    ds_status st;

    store_api_key_hash(key, hash);
    if (hash[0] == '\0')
        return ds_error_set(err, DS_ERR_INTERNAL, "cannot hash the API key");
    if (cache_get(a, hash, who))
        return DS_OK;
    st = store_api_key_lookup(a->pool, hash, deadline_ms, who->shop_id, who->key_id, err);
    if (st == DS_ERR_NOT_FOUND)
        return ds_error_set(err, DS_ERR_UNAUTHENTICATED, UNAUTH_MSG);
    if (st == DS_OK)
        cache_put(a, hash, who);
    return st;
}

ds_status api_auth_check(rpc_ctx *ctx, ds_error *err, void *arg)
{
    api_auth *a = arg;
    const char *key = api_auth_bearer_key(ctx->authorization);
    api_principal *who;
    ds_status st;

    if (key == NULL) {
        st = ds_error_set(err, DS_ERR_UNAUTHENTICATED, UNAUTH_MSG);
        goto out;
    }
    who = ds_arena_alloc(ctx->arena, sizeof(*who));
    if (who == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory authenticating");
    st = lookup(a, key, ctx->deadline_ms, who, err);
    if (st == DS_OK)
        ctx->principal = who;
out:
    if (st == DS_ERR_UNAUTHENTICATED)
        ds_error_reason(err, "API_KEY_INVALID");
    return st;
}
