/* ad_op.c - step-driven adapter operations, backend settings, sync waits. */
#include "ad_op.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ad_json.h"

ds_status ad_backend_init(ad_backend *b, const ad_backend_config *cfg, ds_error *err)
{
    size_t n;

    memset(b, 0, sizeof *b);
    if (cfg == NULL || cfg->base_url == NULL ||
        (strncasecmp(cfg->base_url, "http://", 7) != 0 && strncasecmp(cfg->base_url, "https://", 8) != 0))
        return ds_error_set(err, DS_ERR_CONFIG, "adapter base_url must be an http(s) URL");
    n = strlen(cfg->base_url);
    while (n > 0 && cfg->base_url[n - 1] == '/')
        n--; /* "https://x/api/" and "https://x/api" mean the same */
    if (n >= sizeof b->base_url)
        return ds_error_set(err, DS_ERR_CONFIG, "adapter base_url longer than %zu bytes", sizeof b->base_url - 1);
    memcpy(b->base_url, cfg->base_url, n);
    if (cfg->token == NULL || cfg->token[0] == '\0' || strlen(cfg->token) >= sizeof b->token ||
        strpbrk(cfg->token, "\r\n") != NULL)
        return ds_error_set(err, DS_ERR_CONFIG, "adapter token missing, too long or with CR/LF");
    snprintf(b->token, sizeof b->token, "%s", cfg->token);
    if (cfg->endpoint != NULL && (cfg->endpoint[0] == '\0' || strlen(cfg->endpoint) >= sizeof b->endpoint))
        return ds_error_set(err, DS_ERR_CONFIG, "adapter endpoint key empty or too long");
    if (cfg->endpoint != NULL)
        snprintf(b->endpoint, sizeof b->endpoint, "%s", cfg->endpoint);
    for (int r = 0; r < AD_ROUTES_MAX; r++) {
        const char *key = cfg->routes[r];
        if (key == NULL)
            continue;
        if (r == 0 || key[0] == '\0' || strlen(key) >= sizeof b->routes[r])
            return ds_error_set(err, DS_ERR_CONFIG, "adapter route %d: limit key empty, too long or of route 0", r);
        snprintf(b->routes[r], sizeof b->routes[r], "%s", key);
    }
    b->connect_timeout_ms = cfg->connect_timeout_ms;
    b->timeout_ms = cfg->timeout_ms;
    b->queue_timeout_ms = cfg->queue_timeout_ms;
    b->max_response_bytes = cfg->max_response_bytes;
    return DS_OK;
}

static void op_free(ad_op *op)
{
    free(op->body);
    free(op);
}

static void op_finish(ad_op *op)
{
    op->done(&op->result, op->done_arg);
    op_free(op);
}

static void op_on_response(const ad_response *resp, void *arg);

/* Submit op->req; on failure set the result. */
static bool op_send(ad_op *op, ds_error *err)
{
    ds_error local;
    ds_status st = ad_http_submit(op->http, &op->req, op_on_response, op, &local);

    if (st != DS_OK) {
        ad_result_fail(&op->result, st, st != DS_ERR_INVALID, "%s", local.message);
        ds_error_set(err, st, "%s", local.message);
    }
    return st == DS_OK;
}

static void op_on_response(const ad_response *resp, void *arg)
{
    ad_op *op = arg;
    ds_error err;

    ds_error_clear(&err);
    if (op->step(op, resp) == AD_STEP_SEND && op_send(op, &err))
        return;
    op_finish(op);
}

ds_status ad_op_start(ad_http *http, const ad_backend *backend, int route, ad_step_fn step,
                      const void *in, void *out, ad_done_fn done, void *arg, ds_error *err)
{
    ad_op *op;

    if (http == NULL || step == NULL || done == NULL)
        return ds_error_set(err, DS_ERR_UNIMPLEMENTED, "operation not supported by this adapter");
    if (route < 0 || route >= AD_ROUTES_MAX)
        return ds_error_set(err, DS_ERR_INVALID, "adapter route %d out of range", route);
    op = calloc(1, sizeof *op);
    if (op == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for an adapter operation");
    op->http = http;
    op->backend = backend;
    op->route = route;
    op->step = step;
    op->in = in;
    op->out = out;
    op->done = done;
    op->done_arg = arg;
    ad_result_ok(&op->result);
    if (step(op, NULL) != AD_STEP_SEND) {
        ds_status st = ds_error_set(err, op->result.status != DS_OK ? op->result.status : DS_ERR_INTERNAL,
                                    "%s", op->result.message);
        op_free(op);
        return st;
    }
    if (!op_send(op, err)) {
        ds_status st = op->result.status;
        op_free(op);
        return st;
    }
    return DS_OK;
}

ad_step ad_op_fail(ad_op *op, ds_status st, bool retryable, const char *fmt, ...)
{
    va_list ap;

    op->result.status = st;
    op->result.retryable = retryable;
    va_start(ap, fmt);
    vsnprintf(op->result.message, sizeof op->result.message, fmt, ap);
    va_end(ap);
    return AD_STEP_DONE;
}

ad_step ad_op_request(ad_op *op, const char *method, const char *path, json_t *body,
                      const char *idempotency_key, const char *token_header)
{
    const ad_backend *b = op->backend;

    free(op->body);
    op->body = NULL;
    memset(&op->req, 0, sizeof op->req);
    if ((size_t)snprintf(op->url, sizeof op->url, "%s%s", b->base_url, path) >= sizeof op->url) {
        json_decref(body);
        return ad_op_fail(op, DS_ERR_INVALID, false, "%s %.60s...: URL too long", method, path);
    }
    if (body != NULL) {
        op->body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (op->body == NULL)
            return ad_op_fail(op, DS_ERR_NOMEM, true, "%s %s: cannot serialise the body", method, path);
        op->req.body = op->body;
        op->req.body_len = strlen(op->body);
    }
    op->req.method = method;
    op->req.url = op->url;
    if (op->route > 0 && b->routes[op->route][0] != '\0')
        op->req.endpoint = b->routes[op->route];
    else
        op->req.endpoint = b->endpoint[0] != '\0' ? b->endpoint : NULL;
    if (token_header != NULL) {
        snprintf(op->header, sizeof op->header, "%s: %s", token_header, b->token);
        op->req.headers[0] = op->header;
    } else {
        op->req.bearer = b->token;
    }
    if (idempotency_key != NULL) {
        snprintf(op->idem, sizeof op->idem, "%s", idempotency_key);
        op->req.idempotency_key = op->idem;
    }
    op->req.connect_timeout_ms = b->connect_timeout_ms;
    op->req.timeout_ms = b->timeout_ms;
    op->req.queue_timeout_ms = b->queue_timeout_ms;
    op->req.max_response_bytes = b->max_response_bytes;
    return AD_STEP_SEND;
}

json_t *ad_op_parse(ad_op *op, const ad_response *resp)
{
    char where[200];
    char path[160];
    json_t *root = NULL;
    ds_error err;

    ad_url_path(resp->url, path, sizeof path);
    snprintf(where, sizeof where, "%s %s", resp->method, path);
    if (ad_json_parse(resp->body, resp->body_len, 0, where, &root, &err) != DS_OK) {
        op->result = resp->result;
        ad_op_fail(op, DS_ERR_INTERNAL, true, "%s", err.message);
    }
    return root;
}

ad_step ad_op_decode_failed(ad_op *op, const ad_response *resp, const ds_error *err)
{
    char path[160];

    ad_url_path(resp->url, path, sizeof path);
    op->result.http_status = resp->result.http_status;
    return ad_op_fail(op, DS_ERR_INTERNAL, false, "%s %s: answer breaks the contract: %s",
                      resp->method, path, err->message);
}

bool ad_escape(const char *s, char *buf, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;

    for (size_t i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~';
        if (j + (plain ? 1 : 3) >= cap)
            return false;
        if (plain) {
            buf[j++] = (char)c;
        } else {
            buf[j++] = '%';
            buf[j++] = hex[c >> 4];
            buf[j++] = hex[c & 15];
        }
    }
    if (cap == 0)
        return false;
    buf[j] = '\0';
    return true;
}

void ad_sync_init(ad_sync *s)
{
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->done = false;
    ad_result_ok(&s->result);
}

void ad_sync_done(const ad_result *res, void *arg)
{
    ad_sync *s = arg;

    pthread_mutex_lock(&s->mu);
    s->result = *res;
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void ad_sync_wait(ad_sync *s, ad_result *res)
{
    pthread_mutex_lock(&s->mu);
    while (!s->done)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    *res = s->result;
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}
