/* ad_classify.h - the outcome of one HTTP exchange with a supplier or
 * courier, classified into a ds_status with a retry decision.
 *
 * Rules (docs/adapters.md, "Classification"):
 *   transport failures (connect, reset, empty reply) -> DS_ERR_UNAVAILABLE, retryable
 *   timeouts                                        -> DS_ERR_DEADLINE, retryable
 *   TLS peer verification failed                    -> DS_ERR_UNAVAILABLE, not retryable
 *   response larger than the cap                    -> DS_ERR_RESOURCE_EXHAUSTED, not retryable
 *   2xx -> DS_OK; 3xx -> DS_ERR_INTERNAL (redirects are not followed)
 *   400 -> INVALID, 401 -> UNAUTHENTICATED, 403 -> PERMISSION_DENIED,
 *   404 -> NOT_FOUND, 408 -> DEADLINE (retryable), 409 -> FAILED_PRECONDITION,
 *   413 -> RESOURCE_EXHAUSTED, 422 -> FAILED_PRECONDITION,
 *   429 -> RESOURCE_EXHAUSTED (retryable), 5xx -> UNAVAILABLE (retryable),
 *   other 4xx -> INVALID; none of the 4xx but 408/429 is retryable.
 * The message is formatted once, here: "<METHOD> <path>: <cause>", where
 * the path has no scheme, host or query string (no secrets in logs).
 *
 * Threads: every function is reentrant.
 */
#ifndef AD_CLASSIFY_H
#define AD_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_status.h"

enum {
    AD_CODE_MAX = 64,            /* bytes of a vendor error code, NUL included */
    AD_RETRY_AFTER_MAX_MS = 86400000 /* Retry-After values are capped at one day */
};

/* A classified outcome. Plain data: copy it freely. */
typedef struct ad_result {
    ds_status status;       /* DS_OK or the error class */
    bool retryable;         /* may the same request (same Idempotency-Key) be sent again? */
    int64_t retry_after_ms; /* server asked to wait this long; -1 when it did not say.
                               When not_sent: the client's estimate of when the
                               endpoint's limits let the request go (-1 = unknown) */
    bool not_sent;          /* the request never left: it waited for its endpoint's
                               limits past its queue_timeout_ms (AD_TR_QUEUE_TIMEOUT) */
    int http_status;        /* 0 when no HTTP answer was received */
    char code[AD_CODE_MAX]; /* vendor error code ("OUT_OF_STOCK"), "" when none */
    char message[DS_ERROR_MSG_MAX]; /* "" on success */
} ad_result;

/* How a transfer ended before any HTTP status is looked at. */
typedef enum ad_transport {
    AD_TR_OK = 0,        /* a complete HTTP response was received */
    AD_TR_TIMEOUT,       /* connect or total timeout */
    AD_TR_NETWORK,       /* refused, reset, DNS failure, empty reply, truncated body */
    AD_TR_TLS_VERIFY,    /* the peer's certificate or host name did not verify */
    AD_TR_TOO_LARGE,     /* the body passed the response size cap */
    AD_TR_CANCELLED,     /* the client shut down before the transfer finished */
    AD_TR_QUEUE_TIMEOUT, /* waited in the endpoint queue past its deadline */
    AD_TR_OTHER          /* anything else libcurl reports (message says what) */
} ad_transport;

/* Reset to success (status DS_OK, retry_after_ms -1, everything else empty). */
void ad_result_ok(ad_result *res);

/* Set an error: status, retryable flag and printf-style message. */
void ad_result_fail(ad_result *res, ds_status st, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Classify a finished exchange. `url` is the full request URL (only its path
 * is quoted), `detail` the transport's own text (curl's error buffer) or
 * NULL, `body`/`len` the response body (used for the contract error shape
 * {"error":{"code","message"}}; may be NULL), `retry_after_ms` the parsed
 * header or -1. Fills *res completely. */
void ad_classify(ad_result *res, const char *method, const char *url, ad_transport tr,
                 const char *detail, int http_status, const char *body, size_t len,
                 int64_t retry_after_ms);

/* Parse a Retry-After header value: delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", also the obsolete RFC 850 and asctime
 * forms). `now_unix_ms` is the wall clock used for dates. A date in the
 * past gives 0. Values are capped at AD_RETRY_AFTER_MAX_MS. Returns false
 * (and leaves *out_ms alone) when the value is neither form. */
bool ad_retry_after_parse(const char *value, int64_t now_unix_ms, int64_t *out_ms);

/* Copy the path of `url` (no scheme, host, query or fragment) into buf;
 * "/" when the URL has none. Always NUL-terminates (truncates). */
void ad_url_path(const char *url, char *buf, size_t cap);

#endif
