/* test_ad_http.c - ad_http against a loopback libmicrohttpd server:
 * headers and body, timeouts, the response size cap, 429 + Retry-After
 * pausing the endpoint, dropped connections, refused connections, 200
 * requests in flight, per-endpoint concurrency caps and shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "ad_http.h"

static struct MHD_Daemon *daemon_;
static int port_;
static pthread_mutex_t smu = PTHREAD_MUTEX_INITIALIZER;
static int active_, max_active_;
static int64_t hit_ms_[8]; /* arrival times at /limited */
static int n_hits_;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *body,
                             const char *hname, const char *hvalue)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    MHD_add_response_header(r, "Content-Type", "application/json");
    if (hname != NULL)
        MHD_add_response_header(r, hname, hvalue);
    ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *hdr(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v != NULL ? v : "";
}

static enum MHD_Result echo(struct MHD_Connection *c, const char *method, const char *body)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "method", method, "auth",
                          hdr(c, "Authorization"), "idem", hdr(c, "Idempotency-Key"), "ctype",
                          hdr(c, "Content-Type"), "extra", hdr(c, "X-Extra"), "body", body);
    char *s = json_dumps(o, 0);
    enum MHD_Result r = reply(c, 200, s, NULL, NULL);

    free(s);
    json_decref(o);
    return r;
}

static enum MHD_Result counted(struct MHD_Connection *c)
{
    pthread_mutex_lock(&smu);
    if (++active_ > max_active_)
        max_active_ = active_;
    pthread_mutex_unlock(&smu);
    usleep(50 * 1000);
    pthread_mutex_lock(&smu);
    active_--;
    pthread_mutex_unlock(&smu);
    return reply(c, 200, "{\"ok\":true}", NULL, NULL);
}

static enum MHD_Result route(struct MHD_Connection *c, const char *url, const char *method,
                             const char *body)
{
    char date[64];
    time_t t = time(NULL) + 3;

    if (strcmp(url, "/echo") == 0)
        return echo(c, method, body);
    if (strcmp(url, "/slow") == 0) {
        usleep(1500 * 1000);
        return reply(c, 200, "{}", NULL, NULL);
    }
    if (strcmp(url, "/big") == 0) {
        static char big[200000];
        memset(big, 'x', sizeof big - 1);
        return reply(c, 200, big, NULL, NULL);
    }
    if (strcmp(url, "/limited") == 0) {
        pthread_mutex_lock(&smu);
        if (n_hits_ < 8)
            hit_ms_[n_hits_++] = now_ms();
        pthread_mutex_unlock(&smu);
        return n_hits_ == 1 ? reply(c, 429, "{\"error\":{\"code\":\"RATE_LIMITED\"}}", "Retry-After", "1")
                            : reply(c, 200, "{}", NULL, NULL);
    }
    if (strcmp(url, "/busy") == 0) {
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
        return reply(c, 503, "{}", "Retry-After", date);
    }
    if (strcmp(url, "/drop") == 0)
        return MHD_NO; /* close the connection without an answer */
    if (strcmp(url, "/rejected") == 0)
        return reply(c, 422, "{\"error\":{\"code\":\"OUT_OF_STOCK\",\"message\":\"sku A: 0 in stock\"}}",
                     NULL, NULL);
    if (strcmp(url, "/count") == 0)
        return counted(c);
    return reply(c, 404, "{\"error\":{\"code\":\"NOT_FOUND\"}}", NULL, NULL);
}

typedef struct upload {
    char buf[4096];
    size_t len;
} upload;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
    upload *u = *con_cls;

    if (u == NULL) {
        *con_cls = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    if (*size > 0) {
        size_t n = *size < sizeof u->buf - 1 - u->len ? *size : sizeof u->buf - 1 - u->len;
        memcpy(u->buf + u->len, data, n);
        u->len += n;
        *size = 0;
        return MHD_YES;
    }
    return route(c, url, method, u->buf);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static int start_server(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    const union MHD_DaemonInfo *info;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                   MHD_USE_POLL,
                               0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                               MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_NOTIFY_COMPLETED,
                               completed, NULL, MHD_OPTION_END);
    if (daemon_ == NULL)
        return -1;
    info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    port_ = info->port;
    return 0;
}

static int stop_server(void **state)
{
    MHD_stop_daemon(daemon_);
    return 0;
}

static void url(char *buf, size_t cap, const char *path)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", port_, path);
}

static ad_http *client(void)
{
    ad_http *h = NULL;
    ds_error err;

    assert_int_equal(ad_http_new(NULL, &h, &err), DS_OK);
    return h;
}

static void fetch(ad_http *h, ad_request *req, ad_reply *rep)
{
    ds_error err;

    assert_int_equal(ad_http_fetch(h, req, rep, &err), DS_OK);
}

static void test_post_sends_body_and_headers(void **state)
{
    ad_http *h = client();
    char u[128];
    ad_reply rep;
    ad_request req = {.method = "POST", .url = u, .bearer = "s3cret", .idempotency_key = "k-1",
                      .body = "{\"a\":1}", .body_len = 7, .headers = {"X-Extra: yes"}};
    json_t *j;

    url(u, sizeof u, "/echo");
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_OK);
    assert_int_equal(rep.result.http_status, 200);
    j = json_loadb(rep.body, rep.body_len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(j, "auth")), "Bearer s3cret");
    assert_string_equal(json_string_value(json_object_get(j, "idem")), "k-1");
    assert_string_equal(json_string_value(json_object_get(j, "ctype")), "application/json");
    assert_string_equal(json_string_value(json_object_get(j, "extra")), "yes");
    assert_string_equal(json_string_value(json_object_get(j, "body")), "{\"a\":1}");
    json_decref(j);
    ad_reply_cleanup(&rep);
    ad_http_free(h);
}

static void test_header_injection_is_refused(void **state)
{
    ad_http *h = client();
    char u[128];
    ad_reply rep;
    ds_error err;
    ad_request req = {.method = "GET", .url = u, .bearer = "x\r\nEvil: 1"};
    ad_request bad_scheme = {.method = "GET", .url = "ftp://127.0.0.1/x"};

    url(u, sizeof u, "/echo");
    assert_int_equal(ad_http_fetch(h, &req, &rep, &err), DS_ERR_INVALID);
    assert_int_equal(ad_http_fetch(h, &bad_scheme, &rep, &err), DS_ERR_INVALID);
    assert_non_null(strstr(err.message, "scheme"));
    ad_http_free(h);
}

static void test_total_timeout_is_retryable_deadline(void **state)
{
    ad_http *h = client();
    char u[128];
    ad_reply rep;
    ad_request req = {.method = "GET", .url = u, .timeout_ms = 200};

    url(u, sizeof u, "/slow");
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_DEADLINE);
    assert_true(rep.result.retryable);
    assert_non_null(strstr(rep.result.message, "GET /slow: timed out"));
    ad_reply_cleanup(&rep);
    ad_http_free(h);
}

static void test_body_past_the_cap_is_not_retryable(void **state)
{
    ad_http *h = client();
    char u[128];
    ad_reply rep;
    ad_request req = {.method = "GET", .url = u, .max_response_bytes = 1000};

    url(u, sizeof u, "/big");
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_RESOURCE_EXHAUSTED);
    assert_false(rep.result.retryable);
    assert_null(rep.body);
    assert_non_null(strstr(rep.result.message, "more than 1000 bytes"));
    ad_reply_cleanup(&rep);
    ad_http_free(h);
}

static void test_429_pauses_the_endpoint_for_retry_after(void **state)
{
    ad_http *h = client();
    char u[128];
    ad_reply rep;
    ad_request req = {.method = "GET", .url = u};

    url(u, sizeof u, "/limited");
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_RESOURCE_EXHAUSTED);
    assert_true(rep.result.retryable);
    assert_int_equal(rep.result.retry_after_ms, 1000);
    assert_string_equal(rep.result.code, "RATE_LIMITED");
    ad_reply_cleanup(&rep);
    /* a bounded wait gives up unsent, saying when the pause ends */
    req.queue_timeout_ms = 200;
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_DEADLINE);
    assert_true(rep.result.retryable);
    assert_true(rep.result.not_sent);
    assert_int_equal(rep.result.http_status, 0);
    assert_true(rep.result.retry_after_ms > 0 && rep.result.retry_after_ms <= 800);
    assert_int_equal(n_hits_, 1);
    ad_reply_cleanup(&rep);
    req.queue_timeout_ms = 0;
    fetch(h, &req, &rep); /* waits in the endpoint queue until the pause ends */
    assert_int_equal(rep.result.status, DS_OK);
    ad_reply_cleanup(&rep);
    assert_int_equal(n_hits_, 2);
    assert_true(hit_ms_[1] - hit_ms_[0] >= 900);
    ad_http_free(h);
}

static void test_503_with_http_date_retry_after(void **state)
{
    ad_http *h = client();
    char u[128];
    ad_reply rep;
    ad_request req = {.method = "GET", .url = u, .endpoint = "busy-endpoint"};

    url(u, sizeof u, "/busy");
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_UNAVAILABLE);
    assert_true(rep.result.retryable);
    assert_true(rep.result.retry_after_ms >= 1000 && rep.result.retry_after_ms <= 4000);
    ad_reply_cleanup(&rep);
    ad_http_free(h);
}

static void test_dropped_and_refused_connections_are_retryable(void **state)
{
    ad_http *h = client();
    char u[128];
    ad_reply rep;
    ad_request req = {.method = "GET", .url = u};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t sl = sizeof sa;

    url(u, sizeof u, "/drop");
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_UNAVAILABLE);
    assert_true(rep.result.retryable);
    assert_int_equal(rep.result.http_status, 0);
    ad_reply_cleanup(&rep);
    /* a port that was bound and closed again: nothing listens there */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", ntohs(sa.sin_port));
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_UNAVAILABLE);
    assert_true(rep.result.retryable);
    ad_reply_cleanup(&rep);
    ad_http_free(h);
}

static void test_4xx_are_final_and_404_is_not_found(void **state)
{
    ad_http *h = client();
    char u[128];
    ad_reply rep;
    ad_request req = {.method = "POST", .url = u, .body = "{}", .body_len = 2};

    url(u, sizeof u, "/rejected");
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_FAILED_PRECONDITION);
    assert_false(rep.result.retryable);
    assert_string_equal(rep.result.code, "OUT_OF_STOCK");
    assert_string_equal(rep.result.message, "POST /rejected: HTTP 422 OUT_OF_STOCK: sku A: 0 in stock");
    assert_non_null(rep.body); /* error bodies are handed over too */
    ad_reply_cleanup(&rep);
    url(u, sizeof u, "/nothing-here?secret=1");
    fetch(h, &req, &rep);
    assert_int_equal(rep.result.status, DS_ERR_NOT_FOUND);
    assert_false(rep.result.retryable);
    assert_null(strstr(rep.result.message, "secret"));
    ad_reply_cleanup(&rep);
    ad_http_free(h);
}

typedef struct many {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int ok;
} many;

static void many_done(const ad_response *resp, void *arg)
{
    many *m = arg;

    pthread_mutex_lock(&m->mu);
    m->done++;
    m->ok += resp->result.status == DS_OK;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* Submit n requests to /count with the endpoint capped at `cap`; returns
 * the most requests the server saw at once. */
static int run_many(int n, int cap)
{
    ad_http_config cfg = {.max_in_flight = 512};
    ad_limit_config lim = {.max_concurrency = cap};
    ad_http *h = NULL;
    ds_error err;
    char u[128];
    ad_request req = {.method = "GET", .url = u, .endpoint = "counted"};
    many m = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    struct timespec until;

    url(u, sizeof u, "/count");
    max_active_ = 0;
    assert_int_equal(ad_http_new(&cfg, &h, &err), DS_OK);
    assert_int_equal(ad_http_set_limit(h, "counted", &lim, &err), DS_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(ad_http_submit(h, &req, many_done, &m, &err), DS_OK);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&m.mu);
    while (m.done < n && pthread_cond_timedwait(&m.cv, &m.mu, &until) == 0)
        ;
    pthread_mutex_unlock(&m.mu);
    assert_int_equal(m.done, n);
    assert_int_equal(m.ok, n);
    ad_http_free(h);
    return max_active_;
}

static void test_200_requests_in_flight_at_once(void **state)
{
    int seen = run_many(200, 300);

    assert_true(seen > 32); /* far more than one connection at a time */
}

static void test_endpoint_concurrency_cap_holds(void **state)
{
    int seen = run_many(60, 5);

    assert_true(seen >= 1 && seen <= 5);
}

static void test_shutdown_cancels_pending_requests(void **state)
{
    ad_http *h = client();
    char u[128];
    ds_error err;
    ad_request req = {.method = "GET", .url = u};
    many m = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

    url(u, sizeof u, "/slow");
    for (int i = 0; i < 3; i++)
        assert_int_equal(ad_http_submit(h, &req, many_done, &m, &err), DS_OK);
    usleep(100 * 1000);
    ad_http_free(h);
    assert_int_equal(m.done, 3);
    assert_int_equal(m.ok, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_sends_body_and_headers),
        cmocka_unit_test(test_header_injection_is_refused),
        cmocka_unit_test(test_total_timeout_is_retryable_deadline),
        cmocka_unit_test(test_body_past_the_cap_is_not_retryable),
        cmocka_unit_test(test_429_pauses_the_endpoint_for_retry_after),
        cmocka_unit_test(test_503_with_http_date_retry_after),
        cmocka_unit_test(test_dropped_and_refused_connections_are_retryable),
        cmocka_unit_test(test_4xx_are_final_and_404_is_not_found),
        cmocka_unit_test(test_200_requests_in_flight_at_once),
        cmocka_unit_test(test_endpoint_concurrency_cap_holds),
        cmocka_unit_test(test_shutdown_cancels_pending_requests),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
