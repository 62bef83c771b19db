/* ad_classify.c - turn transport results and HTTP statuses into ad_result. */
#include "ad_classify.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

enum { PATH_MAX_TEXT = 160, VENDOR_MSG_MAX = 200 };

void ad_result_ok(ad_result *res)
{
    memset(res, 0, sizeof *res);
    res->status = DS_OK;
    res->retry_after_ms = -1;
}

void ad_result_fail(ad_result *res, ds_status st, bool retryable, const char *fmt, ...)
{
    va_list ap;

    res->status = st;
    res->retryable = retryable;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
}

void ad_url_path(const char *url, char *buf, size_t cap)
{
    const char *p = url != NULL ? strstr(url, "://") : NULL;
    size_t n;

    if (cap == 0)
        return;
    p = p != NULL ? strchr(p + 3, '/') : url;
    if (p == NULL || *p != '/') {
        snprintf(buf, cap, "/");
        return;
    }
    n = strcspn(p, "?#");
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

/* Copy a vendor string keeping printable ASCII only (no control bytes in
 * logs), cut at cap-1 bytes. */
static void copy_printable(char *dst, size_t cap, const char *src)
{
    size_t j = 0;

    for (size_t i = 0; src[i] != '\0' && j + 1 < cap; i++)
        dst[j++] = isprint((unsigned char)src[i]) ? src[i] : '?';
    dst[j] = '\0';
}

/* Pick code and message out of {"error":{"code","message"}}; both stay ""
 * when the body has another shape. */
static void contract_error(const char *body, size_t len, char *code, size_t code_cap,
                           char *msg, size_t msg_cap)
{
    json_t *root;
    json_t *e;
    const char *s;

    code[0] = '\0';
    msg[0] = '\0';
    if (body == NULL || len == 0)
        return;
    root = json_loadb(body, len, 0, NULL);
    e = json_object_get(root, "error");
    s = json_string_value(json_object_get(e, "code"));
    if (s != NULL)
        copy_printable(code, code_cap, s);
    s = json_string_value(json_object_get(e, "message"));
    if (s != NULL)
        copy_printable(msg, msg_cap, s);
    json_decref(root);
}

/* Status class and retry flag of an HTTP status that is not 2xx. */
static ds_status http_class(int http, bool *retryable)
{
    *retryable = http == 408 || http == 429 || http >= 500;
    if (http >= 500)
        return DS_ERR_UNAVAILABLE;
    switch (http) {
    case 400: return DS_ERR_INVALID;
    case 401: return DS_ERR_UNAUTHENTICATED;
    case 403: return DS_ERR_PERMISSION_DENIED;
    case 404: return DS_ERR_NOT_FOUND;
    case 408: return DS_ERR_DEADLINE;
    case 409: return DS_ERR_FAILED_PRECONDITION;
    case 413: return DS_ERR_RESOURCE_EXHAUSTED;
    case 422: return DS_ERR_FAILED_PRECONDITION;
    case 429: return DS_ERR_RESOURCE_EXHAUSTED;
    default: return http >= 300 && http < 400 ? DS_ERR_INTERNAL : DS_ERR_INVALID;
    }
}

static void classify_transport(ad_result *res, const char *where, ad_transport tr,
                               const char *detail)
{
    const char *d = detail != NULL && detail[0] != '\0' ? detail : "no detail";

    switch (tr) {
    case AD_TR_TIMEOUT:
        ad_result_fail(res, DS_ERR_DEADLINE, true, "%s: timed out (%s)", where, d);
        break;
    case AD_TR_NETWORK:
        ad_result_fail(res, DS_ERR_UNAVAILABLE, true, "%s: network error (%s)", where, d);
        break;
    case AD_TR_TLS_VERIFY:
        ad_result_fail(res, DS_ERR_UNAVAILABLE, false, "%s: TLS verification failed (%s)", where, d);
        break;
    case AD_TR_TOO_LARGE:
        ad_result_fail(res, DS_ERR_RESOURCE_EXHAUSTED, false, "%s: response body too large (%s)",
                       where, d);
        break;
    case AD_TR_CANCELLED:
        ad_result_fail(res, DS_ERR_CANCELLED, true, "%s: cancelled, the HTTP client is shutting down",
                       where);
        break;
    case AD_TR_QUEUE_TIMEOUT:
        ad_result_fail(res, DS_ERR_DEADLINE, true,
                       "%s: not sent, waited too long for the endpoint's limits", where);
        res->not_sent = true;
        break;
    default:
        ad_result_fail(res, DS_ERR_INTERNAL, false, "%s: HTTP client error (%s)", where, d);
        break;
    }
}

void ad_classify(ad_result *res, const char *method, const char *url, ad_transport tr,
                 const char *detail, int http_status, const char *body, size_t len,
                 int64_t retry_after_ms)
{
    char path[PATH_MAX_TEXT];
    char where[PATH_MAX_TEXT + 16];
    char vmsg[VENDOR_MSG_MAX];
    bool retryable = false;
    ds_status st;

    ad_result_ok(res);
    res->http_status = tr == AD_TR_OK || tr == AD_TR_TOO_LARGE ? http_status : 0;
    res->retry_after_ms = retry_after_ms;
    ad_url_path(url, path, sizeof path);
    snprintf(where, sizeof where, "%s %s", method != NULL ? method : "GET", path);
    if (tr != AD_TR_OK) {
        classify_transport(res, where, tr, detail);
        return;
    }
    if (http_status >= 200 && http_status < 300)
        return;
    st = http_class(http_status, &retryable);
    contract_error(body, len, res->code, sizeof res->code, vmsg, sizeof vmsg);
    ad_result_fail(res, st, retryable, "%s: HTTP %d%s%s%s%s", where, http_status,
                   res->code[0] ? " " : "", res->code, vmsg[0] ? ": " : "", vmsg);
}

/* All digits, at least one. */
static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

bool ad_retry_after_parse(const char *value, int64_t now_unix_ms, int64_t *out_ms)
{
    char v[64];
    size_t b = 0;
    size_t e;
    int64_t ms;

    if (value == NULL)
        return false;
    while (value[b] == ' ' || value[b] == '\t')
        b++;
    e = strlen(value + b);
    while (e > 0 && strchr(" \t\r\n", value[b + e - 1]) != NULL)
        e--;
    if (e == 0 || e >= sizeof v)
        return false;
    memcpy(v, value + b, e);
    v[e] = '\0';
    if (all_digits(v)) {
        /* more than 8 digits is past the cap anyway; avoid overflow */
        ms = e > 8 ? AD_RETRY_AFTER_MAX_MS : (int64_t)strtol(v, NULL, 10) * 1000;
    } else {
        time_t t = curl_getdate(v, NULL);
        if (t == (time_t)-1 || isdigit((unsigned char)v[0]) || v[0] == '-')
            return false;
        ms = (int64_t)t * 1000 - now_unix_ms;
        if (ms < 0)
            ms = 0;
    }
    *out_ms = ms > AD_RETRY_AFTER_MAX_MS ? AD_RETRY_AFTER_MAX_MS : ms;
    return true;
}
