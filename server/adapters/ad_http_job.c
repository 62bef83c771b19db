/* ad_http_job.c - one HTTP request: copy, easy-handle setup, capped body
 * capture, Retry-After capture, and the mapping of CURLcode to outcomes. */
#include "ad_http_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { HEADER_LINE_MAX = 2048 };

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

static bool method_ok(const char *m)
{
    for (size_t i = 0; m != NULL && i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(m, methods[i]) == 0)
            return true;
    return false;
}

/* No CR, LF or NUL tricks in header values (header injection). */
static bool header_value_ok(const char *v)
{
    return v != NULL && strpbrk(v, "\r\n") == NULL && strlen(v) < HEADER_LINE_MAX - 64;
}

static ds_status add_header(ad_job *job, ds_error *err, const char *name, const char *value)
{
    char line[HEADER_LINE_MAX];
    struct curl_slist *l;

    if (!header_value_ok(value))
        return ds_error_set(err, DS_ERR_INVALID, "HTTP header %s: value has CR/LF or is too long",
                            name != NULL ? name : "line");
    if (name != NULL)
        snprintf(line, sizeof line, "%s: %s", name, value);
    else
        snprintf(line, sizeof line, "%s", value);
    l = curl_slist_append(job->headers, line);
    if (l == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for HTTP headers");
    job->headers = l;
    return DS_OK;
}

static ds_status build_headers(ad_job *job, const ad_request *req, ds_error *err)
{
    char auth[HEADER_LINE_MAX];
    ds_status st = add_header(job, err, "Accept", "application/json");

    if (st == DS_OK)
        st = add_header(job, err, "Expect", ""); /* no 100-continue round trip */
    if (st == DS_OK && req->bearer != NULL) {
        snprintf(auth, sizeof auth, "Bearer %s", req->bearer);
        st = add_header(job, err, "Authorization", auth);
    }
    if (st == DS_OK && req->idempotency_key != NULL)
        st = add_header(job, err, "Idempotency-Key", req->idempotency_key);
    if (st == DS_OK && req->body != NULL)
        st = add_header(job, err, "Content-Type",
                        req->content_type != NULL ? req->content_type : "application/json");
    for (int i = 0; st == DS_OK && i < AD_HTTP_EXTRA_HEADERS_MAX && req->headers[i] != NULL; i++) {
        if (strchr(req->headers[i], ':') == NULL)
            st = ds_error_set(err, DS_ERR_INVALID, "HTTP header \"%.40s\" has no colon", req->headers[i]);
        else
            st = add_header(job, err, NULL, req->headers[i]);
    }
    return st;
}

/* "host:port" of an http(s) URL, checking the scheme. */
static ds_status endpoint_of(const char *url, char *key, size_t cap, ds_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *port = NULL;
    ds_status st = DS_OK;

    if (u == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory parsing a URL");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        st = ds_error_set(err, DS_ERR_INVALID, "not a valid URL: \"%.100s\"", url);
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        st = ds_error_set(err, DS_ERR_INVALID, "URL scheme %s not allowed (http, https)", scheme);
        goto out;
    }
    if ((size_t)snprintf(key, cap, "%s:%s", host, port) >= cap)
        st = ds_error_set(err, DS_ERR_INVALID, "URL host too long");
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return st;
}

static ds_status copy_request(ad_job *job, const ad_request *req, ds_error *err)
{
    ds_status st = DS_OK;

    if (!method_ok(req->method) || req->url == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "HTTP request needs a method (GET, POST, PUT, "
                            "PATCH, DELETE) and a URL");
    snprintf(job->method, sizeof job->method, "%s", req->method);
    if (req->endpoint != NULL) {
        if (req->endpoint[0] == '\0' || strlen(req->endpoint) >= sizeof job->endpoint)
            return ds_error_set(err, DS_ERR_INVALID, "endpoint key empty or longer than %d bytes",
                                AD_HTTP_ENDPOINT_MAX - 1);
        snprintf(job->endpoint, sizeof job->endpoint, "%s", req->endpoint);
        st = endpoint_of(req->url, (char[AD_HTTP_ENDPOINT_MAX]){0}, AD_HTTP_ENDPOINT_MAX, err);
    } else {
        st = endpoint_of(req->url, job->endpoint, sizeof job->endpoint, err);
    }
    if (st != DS_OK)
        return st;
    job->url = strdup(req->url);
    job->body = req->body != NULL ? malloc(req->body_len + 1) : NULL;
    if (job->url == NULL || (req->body != NULL && job->body == NULL))
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory copying an HTTP request");
    if (job->body != NULL) {
        memcpy(job->body, req->body, req->body_len);
        job->body[req->body_len] = '\0';
        job->body_len = req->body_len;
    }
    return build_headers(job, req, err);
}

ds_status ad_job_new(const ad_request *req, ad_http_cb cb, void *arg, ad_job **out, ds_error *err)
{
    ad_job *job = calloc(1, sizeof *job);
    ds_status st;

    *out = NULL;
    if (job == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for an HTTP request");
    st = copy_request(job, req, err);
    if (st != DS_OK) {
        ad_job_free(job);
        return st;
    }
    job->connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : AD_HTTP_DEFAULT_CONNECT_MS;
    job->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : AD_HTTP_DEFAULT_TIMEOUT_MS;
    job->queue_timeout_ms = req->queue_timeout_ms > 0 ? req->queue_timeout_ms : 0;
    job->max_response = req->max_response_bytes > 0 ? req->max_response_bytes
                                                     : AD_HTTP_DEFAULT_MAX_RESPONSE;
    if (job->max_response > AD_HTTP_MAX_RESPONSE_LIMIT)
        job->max_response = AD_HTTP_MAX_RESPONSE_LIMIT;
    job->cb = cb;
    job->arg = arg;
    *out = job;
    return DS_OK;
}

/* libcurl write callback: append, refusing anything past the cap (the
 * transfer then ends with CURLE_WRITE_ERROR and too_large set). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    ad_job *job = userp;
    size_t n = size * nmemb;
    size_t want;
    char *nb;

    if (n > job->max_response - job->len) {
        job->too_large = true;
        return 0;
    }
    if (job->len + n + 1 > job->cap) {
        want = job->cap > 0 ? job->cap : 4096;
        while (want < job->len + n + 1)
            want *= 2;
        if (want > job->max_response + 1)
            want = job->max_response + 1;
        nb = realloc(job->buf, want);
        if (nb == NULL)
            return 0;
        job->buf = nb;
        job->cap = want;
    }
    memcpy(job->buf + job->len, data, n);
    job->len += n;
    job->buf[job->len] = '\0';
    return n;
}

/* libcurl header callback: remember Retry-After of the final response. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    ad_job *job = userp;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
        job->retry_after[0] = '\0'; /* a new (possibly interim) response starts */
    else if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        size_t vlen = n - (sizeof name - 1);
        if (vlen >= sizeof job->retry_after)
            vlen = sizeof job->retry_after - 1;
        memcpy(job->retry_after, data + sizeof name - 1, vlen);
        job->retry_after[vlen] = '\0';
    }
    return n;
}

static CURLcode set_method(CURL *e, ad_job *job)
{
    CURLcode rc = CURLE_OK;

    if (strcmp(job->method, "GET") == 0 && job->body == NULL)
        return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (strcmp(job->method, "POST") != 0)
        rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, job->method);
    if (rc == CURLE_OK && (job->body != NULL || strcmp(job->method, "POST") == 0)) {
        rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->body_len);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, job->body != NULL ? job->body : "");
    }
    return rc;
}

ds_status ad_job_easy(ad_job *job, const char *user_agent)
{
    CURL *e = curl_easy_init();
    CURLcode rc = CURLE_OK;

    if (e == NULL)
        return DS_ERR_NOMEM;
    job->easy = e;
    rc |= curl_easy_setopt(e, CURLOPT_URL, job->url);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)job->connect_ms);
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)job->timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)job->max_response);
    rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, job->headers);
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent);
    rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job->errbuf);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, job);
    rc |= set_method(e, job);
    /* CURLOPT_SSL_VERIFYPEER / VERIFYHOST keep their secure defaults (on). */
    return rc == CURLE_OK ? DS_OK : DS_ERR_INTERNAL;
}

static ad_transport transport_of(CURLcode rc, bool too_large)
{
    switch (rc) {
    case CURLE_OK:
        return AD_TR_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return AD_TR_TIMEOUT;
    case CURLE_FILESIZE_EXCEEDED:
        return AD_TR_TOO_LARGE;
    case CURLE_WRITE_ERROR:
        return too_large ? AD_TR_TOO_LARGE : AD_TR_OTHER;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return AD_TR_TLS_VERIFY;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return AD_TR_NETWORK;
    default:
        return AD_TR_OTHER;
    }
}

void ad_job_outcome(ad_job *job, CURLcode rc, int64_t now_unix_ms, ad_result *res)
{
    long http = 0;
    int64_t ra = -1;
    ad_transport tr = transport_of(rc, job->too_large);
    const char *detail = job->errbuf[0] != '\0' ? job->errbuf : curl_easy_strerror(rc);

    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &http);
    if (job->retry_after[0] != '\0' && !ad_retry_after_parse(job->retry_after, now_unix_ms, &ra))
        ra = -1;
    if (tr == AD_TR_TOO_LARGE) {
        char cap[96];
        snprintf(cap, sizeof cap, "more than %zu bytes", job->max_response);
        detail = cap;
        ad_classify(res, job->method, job->url, tr, detail, (int)http, NULL, 0, ra);
        return;
    }
    ad_classify(res, job->method, job->url, tr, detail, (int)http, job->buf, job->len, ra);
}

void ad_job_outcome_tr(ad_job *job, ad_transport tr, const char *detail, ad_result *res)
{
    ad_classify(res, job->method, job->url, tr, detail, 0, NULL, 0, -1);
}

void ad_job_deliver(ad_job *job, const ad_result *res)
{
    ad_response resp;

    resp.result = *res;
    /* a body cut at the cap is never handed out */
    resp.body = job->len > 0 && !job->too_large ? job->buf : NULL;
    resp.body_len = resp.body != NULL ? job->len : 0;
    resp.method = job->method;
    resp.url = job->url;
    job->cb(&resp, job->arg);
}

void ad_job_free(ad_job *job)
{
    if (job == NULL)
        return;
    if (job->easy != NULL)
        curl_easy_cleanup(job->easy);
    curl_slist_free_all(job->headers);
    free(job->url);
    free(job->body);
    free(job->buf);
    free(job);
}
