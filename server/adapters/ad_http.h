/* ad_http.h - the asynchronous HTTP client every adapter goes through.
 *
 * One ad_http owns one event-loop thread running libcurl's multi interface
 * (curl_multi_poll). Any thread submits requests; they are copied, queued
 * (mutex + curl_multi_wakeup) and, once the request's endpoint admits them
 * (ad_limit: token bucket, concurrency cap, Retry-After pause), started on
 * the loop thread. Hundreds of requests may be in flight at once; a request
 * waiting for its endpoint waits in that endpoint's queue inside ad_http,
 * never in the caller, so one slow or strict endpoint cannot hold up the
 * others. Endpoints are served round robin.
 *
 * Completion: the callback runs on the loop thread exactly once for every
 * request that ad_http_submit accepted (DS_OK), with the classified result
 * (ad_classify.h). Callbacks must be short: copy or decode what they need
 * and hand it back (signal a condition variable, push to a queue, submit
 * the next request). They may call ad_http_submit; they must not block,
 * sleep, or call ad_http_free or ad_http_fetch.
 *
 * TLS: peer and host verification stay at libcurl's secure defaults and
 * are never turned off. Only http and https URLs are accepted. Redirects
 * are not followed.
 *
 * Threads: ad_http_submit, ad_http_set_limit and ad_http_fetch may be called
 * from any thread; ad_http_new / ad_http_free from one controlling thread.
 */
#ifndef AD_HTTP_H
#define AD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ad_classify.h"
#include "ad_limit.h"
#include "ds_status.h"

enum {
    AD_HTTP_ENDPOINT_MAX = 128,              /* bytes of an endpoint key, NUL included */
    AD_HTTP_DEFAULT_CONNECT_MS = 5000,
    AD_HTTP_DEFAULT_TIMEOUT_MS = 30000,
    AD_HTTP_DEFAULT_MAX_RESPONSE = 1 << 20,  /* 1 MiB */
    AD_HTTP_MAX_RESPONSE_LIMIT = 64 << 20,   /* no request may raise its cap past 64 MiB */
    AD_HTTP_DEFAULT_PAUSE_429_MS = 1000,
    AD_HTTP_EXTRA_HEADERS_MAX = 8
};

typedef struct ad_http ad_http;

/* Settings of one client; zero fields take the documented defaults. */
typedef struct ad_http_config {
    int max_in_flight;             /* transfers running at once, all endpoints (256) */
    int max_pending;               /* accepted and not yet completed, all endpoints (10000);
                                      past it ad_http_submit fails DS_ERR_RESOURCE_EXHAUSTED */
    ad_limit_config default_limit; /* endpoints without ad_http_set_limit (no rate, 32 at once) */
    int64_t pause_429_ms;          /* pause after a 429 without Retry-After (1000) */
    const char *user_agent;        /* "dropshipd" */
} ad_http_config;

/* One request. Everything is copied by ad_http_submit: the caller may free
 * or reuse it as soon as the call returns. */
typedef struct ad_request {
    const char *method;           /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *url;              /* http:// or https:// */
    const char *endpoint;         /* limit key; NULL = "host:port" of url */
    const char *bearer;           /* Authorization: Bearer <bearer>; NULL = none */
    const char *idempotency_key;  /* Idempotency-Key header; NULL = none */
    const char *headers[AD_HTTP_EXTRA_HEADERS_MAX]; /* extra "Name: value", NULL-terminated */
    const char *body;             /* NULL = no body */
    size_t body_len;
    const char *content_type;     /* default "application/json" when there is a body */
    int connect_timeout_ms;       /* 0 = AD_HTTP_DEFAULT_CONNECT_MS */
    int timeout_ms;               /* whole transfer once started; 0 = AD_HTTP_DEFAULT_TIMEOUT_MS */
    int queue_timeout_ms;         /* longest wait for the endpoint's limits; 0 = no bound.
                                     Past it the request completes unsent: DS_ERR_DEADLINE,
                                     retryable, not_sent, retry_after_ms = when the
                                     endpoint could take it (ad_limit_eta_ms) */
    size_t max_response_bytes;    /* 0 = AD_HTTP_DEFAULT_MAX_RESPONSE */
} ad_request;

/* What a callback receives. `body` is NUL-terminated, owned by ad_http and
 * valid only during the callback (NULL with len 0 when there is none). */
typedef struct ad_response {
    ad_result result;        /* classification; result.http_status is the status */
    const char *body;
    size_t body_len;
    const char *method;      /* of the request, for messages */
    const char *url;
} ad_response;

typedef void (*ad_http_cb)(const ad_response *resp, void *arg);

/* Start a client and its loop thread. cfg may be NULL (defaults).
 * Errors: DS_ERR_NOMEM, DS_ERR_INTERNAL (curl or thread creation). */
ds_status ad_http_new(const ad_http_config *cfg, ad_http **out, ds_error *err);

/* Stop the loop: every request not yet completed completes now with
 * DS_ERR_CANCELLED (retryable), on the loop thread, before this returns.
 * Then joins the thread and frees everything. NULL is a no-op. Never call
 * it from a callback. */
void ad_http_free(ad_http *h);

/* Set the limits of `endpoint` (a key as in ad_request.endpoint, e.g.
 * "api.supplier.example:443" or "supplier:acme"). Applies to requests
 * still waiting. Errors: DS_ERR_INVALID (key empty or too long),
 * DS_ERR_RESOURCE_EXHAUSTED (too many configured endpoints). */
ds_status ad_http_set_limit(ad_http *h, const char *endpoint, const ad_limit_config *lim,
                            ds_error *err);

/* Queue a request; `cb(resp, arg)` is called exactly once later, on the
 * loop thread. On an error return the callback is never called.
 * Errors: DS_ERR_INVALID (bad method/URL, CR or LF in a header value,
 * oversized key), DS_ERR_RESOURCE_EXHAUSTED (max_pending reached),
 * DS_ERR_UNAVAILABLE (shutting down), DS_ERR_NOMEM. */
ds_status ad_http_submit(ad_http *h, const ad_request *req, ad_http_cb cb, void *arg,
                         ds_error *err);

/* A response copied out of the loop, owned by the caller. */
typedef struct ad_reply {
    ad_result result;
    char *body;       /* NUL-terminated, malloc'd; NULL when empty */
    size_t body_len;
} ad_reply;

/* Blocking convenience for tests and tools: submit and wait for the
 * result. Returns the submit error, or DS_OK with *reply filled (check
 * reply->result.status). Must not be called on the loop thread. Free
 * the reply with ad_reply_cleanup. */
ds_status ad_http_fetch(ad_http *h, const ad_request *req, ad_reply *reply, ds_error *err);

/* Free the body of a reply; safe on a zeroed or cleaned reply. */
void ad_reply_cleanup(ad_reply *reply);

/* Counters for tests and metrics (read under the client's lock). */
typedef struct ad_http_stats {
    uint64_t submitted;
    uint64_t completed;
    int in_flight;      /* transfers running now */
    int max_in_flight_seen;
} ad_http_stats;

void ad_http_get_stats(ad_http *h, ad_http_stats *out);

#endif
