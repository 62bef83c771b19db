/* ad_http_job.h - internal to ad_http: one queued or running request and
 * its libcurl easy handle (setup, body/header capture, outcome).
 *
 * Threads: a job is built on the submitting thread, then owned by the loop
 * thread; nothing here locks.
 */
#ifndef AD_HTTP_JOB_H
#define AD_HTTP_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ad_http.h"

typedef struct ad_endpoint ad_endpoint;

typedef struct ad_job {
    struct ad_job *next;           /* submit queue or endpoint queue link */
    struct ad_job *rprev;          /* running list (loop thread) */
    struct ad_job *rnext;
    ad_endpoint *ep;               /* set by the loop */
    char endpoint[AD_HTTP_ENDPOINT_MAX];
    char method[8];
    char *url;
    char *body;                    /* NULL when none */
    size_t body_len;
    struct curl_slist *headers;
    int connect_ms;
    int timeout_ms;
    int queue_timeout_ms;
    int64_t queue_deadline;        /* monotonic ms; 0 = none (set by the loop) */
    size_t max_response;
    ad_http_cb cb;
    void *arg;
    CURL *easy;                    /* NULL until started */
    char *buf;                     /* response body, NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    bool too_large;
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
} ad_job;

/* Build a job from a request (copies everything). */
ds_status ad_job_new(const ad_request *req, ad_http_cb cb, void *arg, ad_job **out, ds_error *err);

/* Create and configure the easy handle (job->easy). */
ds_status ad_job_easy(ad_job *job, const char *user_agent);

/* Map a finished transfer to its classified result; fills *res and
 * `now_unix_ms` is the wall clock for Retry-After dates. */
void ad_job_outcome(ad_job *job, CURLcode rc, int64_t now_unix_ms, ad_result *res);

/* Complete with a result without a transfer (cancel, queue timeout, ...). */
void ad_job_outcome_tr(ad_job *job, ad_transport tr, const char *detail, ad_result *res);

/* Call the callback with `res` and the captured body. */
void ad_job_deliver(ad_job *job, const ad_result *res);

/* Free the job and its easy handle (the caller removed it from the multi). */
void ad_job_free(ad_job *job);

#endif
