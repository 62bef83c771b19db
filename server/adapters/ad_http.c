/* ad_http.c - the HTTP event loop: submit queue, per-endpoint queues and
 * limits, curl_multi_poll, completion callbacks. */
#include "ad_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ad_http_job.h"
#include "ds_log.h"

enum {
    DEFAULT_MAX_IN_FLIGHT = 256,
    DEFAULT_MAX_PENDING = 10000,
    DEFAULT_CONCURRENCY = 32,
    ENDPOINTS_MAX = 4096,
    OVERRIDES_MAX = 4096,
    POLL_MAX_MS = 1000
};

/* One endpoint key: its limits and the requests waiting for them. Owned
 * by the loop thread. */
struct ad_endpoint {
    char key[AD_HTTP_ENDPOINT_MAX];
    ad_limit lim;
    ad_job *head; /* waiting, oldest first */
    ad_job *tail;
};

typedef struct limit_override {
    char key[AD_HTTP_ENDPOINT_MAX];
    ad_limit_config cfg;
} limit_override;

struct ad_http {
    ad_http_config cfg;
    char user_agent[64];
    CURLM *multi;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;        /* guards the fields down to `stats` */
    ad_job *in_head;           /* submitted, not yet taken by the loop */
    ad_job *in_tail;
    bool stopping;
    int pending;               /* accepted, not yet completed */
    limit_override *overrides;
    int n_overrides;
    uint64_t limits_gen;
    ad_http_stats stats;

    /* loop thread only */
    ad_endpoint **eps;
    int n_eps;
    int rr;                    /* round-robin start */
    uint64_t seen_gen;
    int running;               /* easy handles in the multi */
    ad_job *run_head;          /* the jobs of those handles */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- completion --------------------------------------------------------- */

/* Deliver the result, count it, free the job. Loop thread. */
static void complete(ad_http *h, ad_job *job, const ad_result *res)
{
    ad_job_deliver(job, res);
    if (job->easy != NULL) {
        curl_multi_remove_handle(h->multi, job->easy);
        h->running--;
        if (job->rprev != NULL)
            job->rprev->rnext = job->rnext;
        else
            h->run_head = job->rnext;
        if (job->rnext != NULL)
            job->rnext->rprev = job->rprev;
    }
    ad_job_free(job);
    pthread_mutex_lock(&h->mu);
    h->pending--;
    h->stats.completed++;
    h->stats.in_flight = h->running;
    pthread_mutex_unlock(&h->mu);
}

static void complete_tr(ad_http *h, ad_job *job, ad_transport tr, const char *detail)
{
    ad_result res;

    ad_job_outcome_tr(job, tr, detail, &res);
    complete(h, job, &res);
}

/* ---- endpoints ---------------------------------------------------------- */

/* The configured limits of `key`, or the defaults. Caller holds mu. */
static const ad_limit_config *limits_for(ad_http *h, const char *key)
{
    for (int i = 0; i < h->n_overrides; i++)
        if (strcmp(h->overrides[i].key, key) == 0)
            return &h->overrides[i].cfg;
    return &h->cfg.default_limit;
}

static ad_endpoint *endpoint_find(ad_http *h, const char *key)
{
    for (int i = 0; i < h->n_eps; i++)
        if (strcmp(h->eps[i]->key, key) == 0)
            return h->eps[i];
    return NULL;
}

/* Find or create; NULL when out of memory or past ENDPOINTS_MAX. */
static ad_endpoint *endpoint_get(ad_http *h, const char *key, int64_t now)
{
    ad_endpoint *ep = endpoint_find(h, key);
    ad_endpoint **grown;

    if (ep != NULL || h->n_eps >= ENDPOINTS_MAX)
        return ep;
    ep = calloc(1, sizeof *ep);
    grown = ep != NULL ? realloc(h->eps, (size_t)(h->n_eps + 1) * sizeof *grown) : NULL;
    if (grown == NULL) {
        free(ep);
        return NULL;
    }
    h->eps = grown;
    memcpy(ep->key, key, sizeof ep->key);
    pthread_mutex_lock(&h->mu);
    ad_limit_init(&ep->lim, limits_for(h, key), now);
    pthread_mutex_unlock(&h->mu);
    h->eps[h->n_eps++] = ep;
    return ep;
}

static void endpoint_push(ad_endpoint *ep, ad_job *job)
{
    job->next = NULL;
    if (ep->tail != NULL)
        ep->tail->next = job;
    else
        ep->head = job;
    ep->tail = job;
}

static ad_job *endpoint_pop(ad_endpoint *ep)
{
    ad_job *job = ep->head;

    if (job != NULL) {
        ep->head = job->next;
        if (ep->head == NULL)
            ep->tail = NULL;
        job->next = NULL;
    }
    return job;
}

/* Re-read limits after ad_http_set_limit. Loop thread. */
static void apply_limits(ad_http *h, int64_t now)
{
    pthread_mutex_lock(&h->mu);
    if (h->seen_gen != h->limits_gen) {
        for (int i = 0; i < h->n_eps; i++)
            ad_limit_reconfigure(&h->eps[i]->lim, limits_for(h, h->eps[i]->key), now);
        h->seen_gen = h->limits_gen;
    }
    pthread_mutex_unlock(&h->mu);
}

/* ---- the loop ------------------------------------------------------------ */

/* Move submitted jobs to their endpoint queues. Returns true if stopping. */
static bool take_submitted(ad_http *h, int64_t now)
{
    ad_job *list;
    bool stopping;

    pthread_mutex_lock(&h->mu);
    list = h->in_head;
    h->in_head = h->in_tail = NULL;
    stopping = h->stopping;
    pthread_mutex_unlock(&h->mu);
    while (list != NULL) {
        ad_job *job = list;
        list = job->next;
        job->ep = endpoint_get(h, job->endpoint, now);
        job->queue_deadline = job->queue_timeout_ms > 0 ? now + job->queue_timeout_ms : 0;
        if (job->ep == NULL)
            complete_tr(h, job, AD_TR_OTHER, "too many distinct endpoints");
        else
            endpoint_push(job->ep, job);
    }
    return stopping;
}

/* Fail waiting jobs whose queue deadline passed, each with the estimate of
 * when its endpoint could have taken it (ad_limit_eta_ms for its place
 * behind the jobs still waiting) as retry_after_ms; returns ms until the
 * next deadline among the rest (or POLL_MAX_MS). */
static int64_t expire_waiting(ad_http *h, ad_endpoint *ep, int64_t now)
{
    int64_t next = POLL_MAX_MS;
    ad_job *keep_head = NULL;
    ad_job *keep_tail = NULL;
    ad_job *job;
    int kept = 0;

    for (job = endpoint_pop(ep); job != NULL; job = endpoint_pop(ep)) {
        if (job->queue_deadline != 0 && now >= job->queue_deadline) {
            ad_result res;

            ad_job_outcome_tr(job, AD_TR_QUEUE_TIMEOUT, NULL, &res);
            res.retry_after_ms = ad_limit_eta_ms(&ep->lim, now, kept);
            complete(h, job, &res);
            continue;
        }
        kept++;
        if (job->queue_deadline != 0 && job->queue_deadline - now < next)
            next = job->queue_deadline - now;
        if (keep_tail != NULL)
            keep_tail->next = job;
        else
            keep_head = job;
        keep_tail = job;
    }
    ep->head = keep_head;
    ep->tail = keep_tail;
    return next;
}

static void start_job(ad_http *h, ad_job *job)
{
    ds_status st = ad_job_easy(job, h->user_agent);

    if (st == DS_OK && curl_multi_add_handle(h->multi, job->easy) == CURLM_OK) {
        h->running++;
        job->rprev = NULL;
        job->rnext = h->run_head;
        if (h->run_head != NULL)
            h->run_head->rprev = job;
        h->run_head = job;
        pthread_mutex_lock(&h->mu);
        h->stats.in_flight = h->running;
        if (h->running > h->stats.max_in_flight_seen)
            h->stats.max_in_flight_seen = h->running;
        pthread_mutex_unlock(&h->mu);
        return;
    }
    ad_limit_finish(&job->ep->lim);
    if (job->easy != NULL) {
        curl_easy_cleanup(job->easy);
        job->easy = NULL;
    }
    complete_tr(h, job, AD_TR_OTHER, "could not start the transfer");
}

/* Start what the limits allow, endpoints taken round robin, one request
 * per endpoint per pass. Returns ms until a time-based limit may open. */
static int64_t start_ready(ad_http *h, int64_t now)
{
    int64_t next = POLL_MAX_MS;
    bool progress = true;

    for (int i = 0; i < h->n_eps; i++) {
        int64_t d = expire_waiting(h, h->eps[i], now);
        next = d < next ? d : next;
    }
    while (progress && h->running < h->cfg.max_in_flight) {
        progress = false;
        for (int k = 0; k < h->n_eps && h->running < h->cfg.max_in_flight; k++) {
            ad_endpoint *ep = h->eps[(h->rr + k) % h->n_eps];
            int64_t wake = -1;
            if (ep->head == NULL)
                continue;
            if (!ad_limit_try_start(&ep->lim, now, &wake)) {
                if (wake >= 0 && wake < next)
                    next = wake;
                continue;
            }
            start_job(h, endpoint_pop(ep));
            progress = true;
        }
        h->rr = h->n_eps > 0 ? (h->rr + 1) % h->n_eps : 0;
    }
    return next;
}

/* Handle finished transfers; returns how many finished. */
static int reap(ad_http *h)
{
    CURLMsg *msg;
    int left = 0;
    int n = 0;

    for (msg = curl_multi_info_read(h->multi, &left); msg != NULL;
         msg = curl_multi_info_read(h->multi, &left)) {
        ad_job *job = NULL;
        ad_result res;
        int64_t now = mono_ms();
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&job);
        ad_job_outcome(job, msg->data.result, wall_ms(), &res);
        ad_limit_finish(&job->ep->lim);
        if (res.http_status == 429 || res.http_status == 503) {
            int64_t pause = res.retry_after_ms >= 0 ? res.retry_after_ms
                            : res.http_status == 429 ? h->cfg.pause_429_ms : 0;
            ad_limit_pause(&job->ep->lim, now, pause);
        }
        complete(h, job, &res);
        n++;
    }
    return n;
}

/* Shutdown: everything not completed completes as cancelled. */
static void cancel_all(ad_http *h)
{
    while (h->run_head != NULL)
        complete_tr(h, h->run_head, AD_TR_CANCELLED, NULL);
    for (int i = 0; i < h->n_eps; i++)
        for (ad_job *job = endpoint_pop(h->eps[i]); job != NULL; job = endpoint_pop(h->eps[i]))
            complete_tr(h, job, AD_TR_CANCELLED, NULL);
}

static void *loop_main(void *arg)
{
    ad_http *h = arg;
    int still = 0;

    for (;;) {
        int64_t now = mono_ms();
        long curl_ms = -1;
        int64_t wait;
        if (take_submitted(h, now))
            break;
        apply_limits(h, now);
        wait = start_ready(h, now);
        curl_multi_perform(h->multi, &still);
        if (reap(h) > 0)
            wait = 0; /* freed slots may admit waiting requests now */
        curl_multi_timeout(h->multi, &curl_ms);
        if (curl_ms >= 0 && curl_ms < wait)
            wait = curl_ms;
        curl_multi_poll(h->multi, NULL, 0, (int)(wait > 0 ? wait : 0), NULL);
    }
    cancel_all(h);
    return NULL;
}

/* ---- public API ---------------------------------------------------------- */

static void apply_defaults(ad_http_config *c, const ad_http_config *in)
{
    if (in != NULL)
        *c = *in;
    else
        memset(c, 0, sizeof *c);
    if (c->max_in_flight <= 0)
        c->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
    if (c->max_pending <= 0)
        c->max_pending = DEFAULT_MAX_PENDING;
    if (c->default_limit.max_concurrency <= 0 && c->default_limit.rate_per_s <= 0)
        c->default_limit.max_concurrency = DEFAULT_CONCURRENCY;
    if (c->pause_429_ms <= 0)
        c->pause_429_ms = AD_HTTP_DEFAULT_PAUSE_429_MS;
}

ds_status ad_http_new(const ad_http_config *cfg, ad_http **out, ds_error *err)
{
    ad_http *h;

    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return ds_error_set(err, DS_ERR_INTERNAL, "curl_global_init: %s", curl_easy_strerror(global_rc));
    h = calloc(1, sizeof *h);
    if (h == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for the HTTP client");
    apply_defaults(&h->cfg, cfg);
    snprintf(h->user_agent, sizeof h->user_agent, "%s",
             cfg != NULL && cfg->user_agent != NULL ? cfg->user_agent : "dropshipd");
    h->cfg.user_agent = NULL;
    pthread_mutex_init(&h->mu, NULL);
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        ad_http_free(h);
        return ds_error_set(err, DS_ERR_INTERNAL, "curl_multi_init failed");
    }
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->cfg.max_in_flight);
    if (pthread_create(&h->thread, NULL, loop_main, h) != 0) {
        ad_http_free(h);
        return ds_error_set(err, DS_ERR_INTERNAL, "cannot start the HTTP loop thread");
    }
    h->thread_started = true;
    *out = h;
    return DS_OK;
}

void ad_http_free(ad_http *h)
{
    if (h == NULL)
        return;
    if (h->thread_started) {
        pthread_mutex_lock(&h->mu);
        h->stopping = true;
        pthread_mutex_unlock(&h->mu);
        curl_multi_wakeup(h->multi);
        pthread_join(h->thread, NULL);
    }
    for (int i = 0; i < h->n_eps; i++)
        free(h->eps[i]);
    free(h->eps);
    free(h->overrides);
    if (h->multi != NULL)
        curl_multi_cleanup(h->multi);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

ds_status ad_http_set_limit(ad_http *h, const char *endpoint, const ad_limit_config *lim,
                            ds_error *err)
{
    ds_status st = DS_OK;
    limit_override *o = NULL;
    bool fresh = false;

    if (endpoint == NULL || endpoint[0] == '\0' || strlen(endpoint) >= AD_HTTP_ENDPOINT_MAX)
        return ds_error_set(err, DS_ERR_INVALID, "endpoint key empty or longer than %d bytes",
                            AD_HTTP_ENDPOINT_MAX - 1);
    pthread_mutex_lock(&h->mu);
    for (int i = 0; i < h->n_overrides && o == NULL; i++)
        if (strcmp(h->overrides[i].key, endpoint) == 0)
            o = &h->overrides[i];
    if (o == NULL && h->n_overrides >= OVERRIDES_MAX) {
        st = ds_error_set(err, DS_ERR_RESOURCE_EXHAUSTED, "more than %d endpoint limits", OVERRIDES_MAX);
        goto out;
    }
    if (o == NULL) {
        limit_override *grown = realloc(h->overrides, (size_t)(h->n_overrides + 1) * sizeof *grown);
        if (grown == NULL) {
            st = ds_error_set(err, DS_ERR_NOMEM, "out of memory for endpoint limits");
            goto out;
        }
        h->overrides = grown;
        o = &h->overrides[h->n_overrides++];
        snprintf(o->key, sizeof o->key, "%s", endpoint);
        fresh = true;
    }
    if (fresh || o->cfg.rate_per_s != lim->rate_per_s || o->cfg.burst != lim->burst ||
        o->cfg.max_concurrency != lim->max_concurrency) {
        o->cfg = *lim;
        h->limits_gen++; /* the loop reconfigures the endpoint */
    }
out:
    pthread_mutex_unlock(&h->mu);
    if (st == DS_OK)
        curl_multi_wakeup(h->multi);
    return st;
}

ds_status ad_http_submit(ad_http *h, const ad_request *req, ad_http_cb cb, void *arg,
                         ds_error *err)
{
    ad_job *job = NULL;
    ds_status st;

    if (h == NULL || req == NULL || cb == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "ad_http_submit: client, request and callback required");
    st = ad_job_new(req, cb, arg, &job, err);
    if (st != DS_OK)
        return st;
    pthread_mutex_lock(&h->mu);
    if (h->stopping)
        st = ds_error_set(err, DS_ERR_UNAVAILABLE, "HTTP client is shutting down");
    else if (h->pending >= h->cfg.max_pending)
        st = ds_error_set(err, DS_ERR_RESOURCE_EXHAUSTED, "%d HTTP requests already pending",
                          h->pending);
    if (st == DS_OK) {
        if (h->in_tail != NULL)
            h->in_tail->next = job;
        else
            h->in_head = job;
        h->in_tail = job;
        h->pending++;
        h->stats.submitted++;
    }
    pthread_mutex_unlock(&h->mu);
    if (st != DS_OK) {
        ad_job_free(job);
        return st;
    }
    curl_multi_wakeup(h->multi);
    return DS_OK;
}

void ad_http_get_stats(ad_http *h, ad_http_stats *out)
{
    pthread_mutex_lock(&h->mu);
    *out = h->stats;
    pthread_mutex_unlock(&h->mu);
}

/* ---- blocking wrapper ---------------------------------------------------- */

typedef struct fetch_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    ad_reply *reply;
} fetch_wait;

static void fetch_done(const ad_response *resp, void *arg)
{
    fetch_wait *w = arg;

    w->reply->result = resp->result;
    if (resp->body != NULL) {
        w->reply->body = malloc(resp->body_len + 1);
        if (w->reply->body != NULL) {
            memcpy(w->reply->body, resp->body, resp->body_len);
            w->reply->body[resp->body_len] = '\0';
            w->reply->body_len = resp->body_len;
        } else {
            ad_result_fail(&w->reply->result, DS_ERR_NOMEM, true, "out of memory copying a response");
        }
    }
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

ds_status ad_http_fetch(ad_http *h, const ad_request *req, ad_reply *reply, ds_error *err)
{
    fetch_wait w = {.done = false, .reply = reply};
    ds_status st;

    memset(reply, 0, sizeof *reply);
    if (h != NULL && h->thread_started && pthread_equal(pthread_self(), h->thread))
        return ds_error_set(err, DS_ERR_INTERNAL, "ad_http_fetch called on the HTTP loop thread");
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    st = ad_http_submit(h, req, fetch_done, &w, err);
    if (st == DS_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return st;
}

void ad_reply_cleanup(ad_reply *reply)
{
    if (reply == NULL)
        return;
    free(reply->body);
    reply->body = NULL;
    reply->body_len = 0;
}
