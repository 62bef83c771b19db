/* sim_http.h - the HTTP front of dropship-sim: libmicrohttpd glue, a neutral
 * request/response pair for the handlers, and where faults are applied.
 *
 * Handlers see a sim_req (method, path, parsed JSON body, header and query
 * accessors) and fill a sim_resp; they never touch libmicrohttpd. The HTTP
 * layer caps bodies, asks sim_faults what to do with each request, calls
 * sim_route, and writes the answer (or garbles, delays or drops it).
 * Threads: one thread per connection; handlers are serialised by sim_route.
 */
#ifndef SIM_HTTP_H
#define SIM_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sim_req {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* URL path without the query, percent-decoded */
    const char *body;   /* raw body, NUL-terminated, may be "" */
    size_t body_len;
    json_t *json;        /* parsed body, NULL if empty or not JSON */
    bool body_invalid;   /* a non-empty body that is not JSON */
    bool duplicate;      /* fault: answer as if delivered twice */
    bool duplicate_used; /* set by a handler that honoured `duplicate` */
    void *conn_;         /* private to sim_http.c */
} sim_req;

typedef struct sim_resp {
    int status;      /* HTTP status; 0 = not handled */
    json_t *body;    /* owned by the response; NULL = empty body */
    int retry_after; /* > 0: send Retry-After: seconds */
} sim_resp;

/* Header value (case-insensitive name) or NULL. Valid during the request. */
const char *sim_req_header(const sim_req *req, const char *name);

/* First query parameter `name` or NULL. */
const char *sim_req_query(const sim_req *req, const char *name);

/* Every value of query parameter `name` (in order) into out[0..max);
 * returns how many there were (may exceed max: the caller checks). */
size_t sim_req_query_all(const sim_req *req, const char *name, const char **out, size_t max);

/* Set the answer; takes ownership of `body` (may be NULL). Replaces any
 * previous body. */
void sim_resp_set(sim_resp *resp, int status, json_t *body);

/* Set an error answer {"error":{"code","message"}}. */
void sim_resp_error(sim_resp *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Release the body; the response can be reused. */
void sim_resp_clear(sim_resp *resp);

typedef struct sim_http sim_http;

/* Start serving on host:port ("127.0.0.1", 0 = any free port) with bodies
 * capped at max_body bytes. On success *out is the server and *bound_port
 * the port. Returns false with a message on stderr on failure. */
bool sim_http_start(const char *host, int port, size_t max_body, sim_http **out, int *bound_port);

/* Stop: wakes delayed requests, waits for connection threads, frees.
 * NULL is a no-op. */
void sim_http_stop(sim_http *srv);

#endif
