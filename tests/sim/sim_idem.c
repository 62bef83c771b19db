/* sim_idem.c - Idempotency-Key store: scope|key -> body + first answer. */
#include "sim_idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_json.h"

static json_t *store; /* "scope\nkey" -> {"canon","status","body"} */

/* The store's key for scope + key into buf. */
static void make_key(char *buf, size_t len, const char *scope, const char *key)
{
    snprintf(buf, len, "%s\n%s", scope, key);
}

/* Canonical text of a body, "" for none. Caller frees. */
static char *canon(const json_t *body)
{
    return body != NULL ? simj_canonical(body) : strdup("");
}

sim_idem_result sim_idem_lookup(const char *scope, const char *key, const json_t *body,
                                sim_resp *replay)
{
    char k[768];
    json_t *e;
    char *c;
    sim_idem_result res;

    make_key(k, sizeof k, scope, key);
    e = json_object_get(store, k);
    if (e == NULL)
        return SIM_IDEM_NEW;
    c = canon(body);
    res = c != NULL && strcmp(c, json_string_value(json_object_get(e, "canon"))) == 0
              ? SIM_IDEM_REPLAY
              : SIM_IDEM_REUSED;
    free(c);
    if (res == SIM_IDEM_REPLAY)
        sim_resp_set(replay, (int)json_integer_value(json_object_get(e, "status")),
                     json_incref(json_object_get(e, "body")));
    return res;
}

void sim_idem_remember(const char *scope, const char *key, const json_t *body, const sim_resp *resp)
{
    char k[768];
    char *c;

    if (resp->status >= 500 || resp->status == 429 || resp->status == 0)
        return;
    c = canon(body);
    if (c == NULL)
        return;
    if (store == NULL)
        store = json_object();
    make_key(k, sizeof k, scope, key);
    json_object_set_new(
        store, k,
        json_pack("{s:s,s:i,s:O*}", "canon", c, "status", resp->status, "body", resp->body));
    free(c);
}

void sim_idem_reset(void)
{
    json_decref(store);
    store = NULL;
}
