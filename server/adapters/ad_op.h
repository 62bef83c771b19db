/* ad_op.h - asynchronous multi-step adapter operations over ad_http.
 *
 * An adapter operation (create an order, read a tracking, ...) is a step
 * function: called first with no response, it fills the next request and
 * returns AD_STEP_SEND; called again with each response, it either sends
 * another request (CJ's confirm-then-pay, 17TRACK's register-then-read) or
 * decodes the answer into the caller's output struct and returns
 * AD_STEP_DONE with op->result set. No thread waits while a request is in
 * flight; steps after the first run on the ad_http loop thread and must be
 * short (decode, format, submit).
 *
 * Completion contract for every public adapter call built on ad_op_start:
 *  - DS_OK: `done(result, arg)` is called exactly once, later, on the
 *    ad_http loop thread; the caller's input and output structs must stay
 *    valid (and untouched) until then. The output is filled only when
 *    result->status is DS_OK.
 *  - any other status: the request was refused before anything was sent
 *    (bad input, operation not supported); `done` is never called; err
 *    says why.
 * ad_sync below turns that into a blocking call for tests and tools.
 *
 * Threads: ad_op_start from any thread except inside a done callback of a
 * blocking wait; ad_sync_wait never on the loop thread.
 */
#ifndef AD_OP_H
#define AD_OP_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "ad_classify.h"
#include "ad_http.h"
#include "ds_status.h"

enum {
    AD_URL_MAX = 1024,     /* bytes of a built URL */
    AD_OP_STASH_MAX = 256, /* bytes a step may keep between requests */
    AD_ROUTES_MAX = 8      /* routes of an adapter family (index 0 = none) */
};

/* Where and how to reach one supplier or courier integration. Strings are
 * copied by the adapter constructors. */
typedef struct ad_backend_config {
    const char *base_url;       /* "https://api.supplier.example/dropship" (no trailing '/') */
    const char *token;          /* bearer token / access key */
    const char *endpoint;       /* ad_http limit key; NULL = host:port of base_url */
    /* Limit keys of single routes: the requests of an operation started
     * on route r (ad_op_start) use routes[r] when it is set (r 1 ..
     * AD_ROUTES_MAX - 1; what a route is, is the adapter family's choice,
     * e.g. ad_supplier_route), `endpoint` otherwise. NULL = not set. */
    const char *routes[AD_ROUTES_MAX];
    int connect_timeout_ms;     /* 0 = ad_http default */
    int timeout_ms;             /* 0 = ad_http default */
    int queue_timeout_ms;       /* 0 = no bound */
    size_t max_response_bytes;  /* 0 = ad_http default (1 MiB) */
} ad_backend_config;

/* An owned copy of ad_backend_config. */
typedef struct ad_backend {
    char base_url[AD_URL_MAX / 2];
    char token[256];
    char endpoint[AD_HTTP_ENDPOINT_MAX];
    char routes[AD_ROUTES_MAX][AD_HTTP_ENDPOINT_MAX]; /* "" = not set */
    int connect_timeout_ms;
    int timeout_ms;
    int queue_timeout_ms;
    size_t max_response_bytes;
} ad_backend;

/* Copy and check a config (http(s) URL, lengths, token without CR/LF).
 * Errors: DS_ERR_CONFIG naming the field. */
ds_status ad_backend_init(ad_backend *b, const ad_backend_config *cfg, ds_error *err);

typedef enum ad_step {
    AD_STEP_SEND, /* op->req is filled: send it */
    AD_STEP_DONE  /* op->result is final */
} ad_step;

typedef struct ad_op ad_op;

/* One step: resp is NULL on the first call. */
typedef ad_step (*ad_step_fn)(ad_op *op, const ad_response *resp);

/* Completion callback of a public adapter call. */
typedef void (*ad_done_fn)(const ad_result *res, void *arg);

struct ad_op {
    ad_http *http;
    const ad_backend *backend;
    int route;                     /* see ad_backend_config.routes; 0 = none */
    ad_step_fn step;
    int stage;                     /* free for the step function; starts at 0 */
    const void *in;                /* the caller's input */
    void *out;                     /* the caller's output */
    ad_request req;                /* next request, filled by ad_op_request */
    char url[AD_URL_MAX];
    char *body;                    /* serialised body of req (owned) */
    char idem[300];                /* Idempotency-Key of req */
    char header[300];              /* one extra header line of req */
    char stash[AD_OP_STASH_MAX];   /* state a step keeps for the next */
    int64_t stash_int;
    ad_result result;
    ad_done_fn done;
    void *done_arg;
};

/* Run an operation (see the completion contract above). Its requests go
 * under the backend's limit key of `route` (0 = none, or a route without
 * a key of its own: the backend's endpoint). */
ds_status ad_op_start(ad_http *http, const ad_backend *backend, int route, ad_step_fn step,
                      const void *in, void *out, ad_done_fn done, void *arg, ds_error *err);

/* Fill op->req: method, base_url + path (path already escaped), the
 * backend's timeouts, `body` (serialised then released; NULL = none), the
 * idempotency key (NULL = none). The bearer token is set unless
 * `token_header` names another header ("CJ-Access-Token"), which then
 * carries the token instead. Returns AD_STEP_SEND, or AD_STEP_DONE with an
 * error result when the URL or body does not fit. */
ad_step ad_op_request(ad_op *op, const char *method, const char *path, json_t *body,
                      const char *idempotency_key, const char *token_header);

/* End the op with an error result (printf-style message). */
ad_step ad_op_fail(ad_op *op, ds_status st, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parse a response body as JSON for a step; on failure ends the op with a
 * retryable DS_ERR_INTERNAL naming the request ("malformed answers are
 * treated like 5xx", docs/supplier-api.md) and returns NULL. */
json_t *ad_op_parse(ad_op *op, const ad_response *resp);

/* End the op with a decoding error from `err` (the path-naming message),
 * prefixed by the request; not retryable (the answer breaks the contract). */
ad_step ad_op_decode_failed(ad_op *op, const ad_response *resp, const ds_error *err);

/* Percent-escape one path segment or query value into buf; false if it
 * does not fit. */
bool ad_escape(const char *s, char *buf, size_t cap);

/* Blocking adapter calls: pass ad_sync_done and &sync as done/arg, then
 * ad_sync_wait. */
typedef struct ad_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    ad_result result;
} ad_sync;

void ad_sync_init(ad_sync *s);
void ad_sync_done(const ad_result *res, void *arg);
/* Wait for completion, copy the result, destroy the sync. */
void ad_sync_wait(ad_sync *s, ad_result *res);

#endif
