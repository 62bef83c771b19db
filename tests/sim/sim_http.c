/* sim_http.c - libmicrohttpd glue of dropship-sim: bodies, faults, answers. */
#include "sim_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_faults.h"
#include "sim_json.h"
#include "sim_route.h"
#include "sim_stats.h"

struct sim_http {
    struct MHD_Daemon *daemon;
    size_t max_body;
};

/* Body being received on one connection. */
typedef struct body_buf {
    char *data;
    size_t len;
    bool too_big;
} body_buf;

static atomic_bool stopping;

const char *sim_req_header(const sim_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_HEADER_KIND, name);
}

const char *sim_req_query(const sim_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct query_walk {
    const char *name;
    const char **out;
    size_t max;
    size_t n;
} query_walk;

static enum MHD_Result query_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    query_walk *w = cls;

    if (strcmp(key, w->name) == 0 && value != NULL) {
        if (w->n < w->max)
            w->out[w->n] = value;
        w->n++;
    }
    return MHD_YES;
}

size_t sim_req_query_all(const sim_req *req, const char *name, const char **out, size_t max)
{
    query_walk w = {name, out, max, 0};

    MHD_get_connection_values(req->conn_, MHD_GET_ARGUMENT_KIND, query_one, &w);
    return w.n;
}

void sim_resp_set(sim_resp *resp, int status, json_t *body)
{
    json_decref(resp->body);
    resp->status = status;
    resp->body = body;
}

void sim_resp_error(sim_resp *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sim_resp_set(resp, status, simj_error(code, "%s", msg));
}

void sim_resp_clear(sim_resp *resp)
{
    json_decref(resp->body);
    memset(resp, 0, sizeof *resp);
}

/* Sleep ms milliseconds, waking early when the server stops. */
static void nap(int ms)
{
    struct timespec ts = {0, 20 * 1000000L};

    for (int slept = 0; slept < ms && !atomic_load(&stopping); slept += 20)
        nanosleep(&ts, NULL);
}

/* Send resp; `malformed` cuts the JSON text in half. */
static enum MHD_Result send_resp(struct MHD_Connection *conn, const sim_resp *resp, bool malformed)
{
    char *text = resp->body ? json_dumps(resp->body, JSON_COMPACT) : strdup("");
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t len;

    if (text == NULL)
        return MHD_NO;
    len = strlen(text);
    if (malformed && len > 1) {
        len /= 2;
    } else if (malformed) {
        free(text);
        text = strdup("{");
        len = 1;
    }
    if (text == NULL)
        return MHD_NO;
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (resp->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", resp->retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    ret = MHD_queue_response(conn, (unsigned)(resp->status ? resp->status : 500), r);
    MHD_destroy_response(r);
    return ret;
}

/* Answer a fault that stops the request before the handler; true if sent. */
static bool early_fault(const sim_fault *f, sim_resp *resp)
{
    if (f->type == SIM_FAULT_5XX) {
        sim_resp_error(resp, f->status, "UNAVAILABLE", "injected fault: %d", f->status);
        resp->retry_after = f->retry_after;
        return true;
    }
    if (f->type == SIM_FAULT_429) {
        sim_resp_error(resp, 429, "RATE_LIMITED", "injected fault: slow down");
        resp->retry_after = f->retry_after > 0 ? f->retry_after : 1;
        return true;
    }
    return false;
}

/* Run the handler (twice for an unconsumed DUPLICATE fault). */
static void run_handler(sim_req *req, sim_resp *resp, const sim_fault *f)
{
    req->duplicate = f->type == SIM_FAULT_DUPLICATE;
    sim_route(req, resp);
    if (req->duplicate && !req->duplicate_used) {
        sim_resp_clear(resp);
        sim_route(req, resp);
    }
}

/* The whole request is in: apply faults, route, answer. */
static enum MHD_Result serve(struct MHD_Connection *conn, const char *url, const char *method,
                             body_buf *b)
{
    sim_req req = {method, url, b->data ? b->data : "", b->len, NULL, false, false, false, conn};
    sim_resp resp = {0};
    sim_fault f;
    enum MHD_Result ret = MHD_NO;
    json_error_t jerr;

    if (b->too_big) {
        sim_resp_error(&resp, 413, "PAYLOAD_TOO_LARGE", "request body over the cap");
        ret = send_resp(conn, &resp, false);
        goto out;
    }
    if (b->len > 0) {
        req.json = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &jerr);
        req.body_invalid = req.json == NULL;
    }
    sim_faults_pick(method, url, &f);
    if (f.type != SIM_FAULT_NONE)
        sim_stats_fault(sim_fault_name(f.type));
    if (f.type == SIM_FAULT_LATENCY)
        nap(f.latency_ms);
    if (early_fault(&f, &resp)) {
        ret = send_resp(conn, &resp, false);
        goto out;
    }
    if (f.type == SIM_FAULT_DROP && !f.processed)
        goto out;
    run_handler(&req, &resp, &f);
    if (f.type == SIM_FAULT_DROP)
        goto out;
    if (f.type == SIM_FAULT_TIMEOUT)
        nap(f.hang_ms);
    ret = send_resp(conn, &resp, f.type == SIM_FAULT_MALFORMED);
out:
    json_decref(req.json);
    sim_resp_clear(&resp);
    return ret;
}

/* Append upload data to the body, up to the cap. */
static void body_append(body_buf *b, const char *data, size_t n, size_t max)
{
    char *grown;

    if (b->too_big || b->len + n > max) {
        b->too_big = true;
        return;
    }
    grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL) {
        b->too_big = true;
        return;
    }
    b->data = grown;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    sim_http *srv = cls;
    body_buf *b = *con_cls;

    if (b == NULL) {
        b = calloc(1, sizeof *b);
        if (b == NULL)
            return MHD_NO;
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        body_append(b, upload_data, *upload_size, srv->max_body);
        *upload_size = 0;
        return MHD_YES;
    }
    return serve(conn, url, method, b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    body_buf *b = *con_cls;

    if (b != NULL) {
        free(b->data);
        free(b);
        *con_cls = NULL;
    }
}

bool sim_http_start(const char *host, int port, size_t max_body, sim_http **out, int *bound_port)
{
    struct sockaddr_in sa;
    sim_http *srv = calloc(1, sizeof *srv);
    const union MHD_DaemonInfo *info;

    if (srv == NULL)
        return false;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "dropship-sim: bad IPv4 address %s\n", host);
        free(srv);
        return false;
    }
    srv->max_body = max_body;
    atomic_store(&stopping, false);
    srv->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        fprintf(stderr, "dropship-sim: cannot listen on %s:%d\n", host, port);
        free(srv);
        return false;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info != NULL ? info->port : port;
    *out = srv;
    return true;
}

void sim_http_stop(sim_http *srv)
{
    if (srv == NULL)
        return;
    atomic_store(&stopping, true);
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
