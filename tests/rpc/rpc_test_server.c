/* rpc_test_server.c - a server with the rpctest.v1.EchoService, health and
 * reflection, for the rpc runtime tests. Prints "listening on HOST:PORT";
 * SIGTERM/SIGINT shut it down gracefully (exit 0).
 *
 * Usage: rpc_test_server [--grace-ms N] [--max-recv-bytes N] [--cq-threads N]
 *                        [--handler-threads N]
 *                        [--requests-per-method N]
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds_log.h"
#include "rpc.h"
#include "rpctest/v1/echo.pb-c.h"

extern const unsigned char rpctest_descset[];
extern const size_t rpctest_descset_len;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static ds_status echo(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                      ds_error *err, void *data)
{
    const Rpctest__V1__EchoRequest *in = (const void *)req;
    Rpctest__V1__EchoResponse *out = ds_arena_alloc(ctx->arena, sizeof(*out));
    Rpctest__V1__EchoResponse__Seen *seen = ds_arena_alloc(ctx->arena, sizeof(*seen));
    int64_t left = rpc_ctx_remaining_ms(ctx);

    if (out == NULL || seen == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    rpctest__v1__echo_response__init(out);
    rpctest__v1__echo_response__seen__init(seen);
    out->text = in->text;
    out->payload_len = (int64_t)in->payload.len;
    seen->authorization = (char *)(ctx->authorization ? ctx->authorization : "");
    seen->peer = (char *)ctx->peer;
    seen->remaining_ms = left == INT64_MAX ? -1 : left;
    out->seen = seen;
    out->mood = RPCTEST__V1__MOOD__MOOD_HAPPY;
    *resp = &out->base;
    return DS_OK;
}

static ds_status parse_status(const char *name)
{
    int i;

    for (i = 0; i < DS_STATUS_COUNT_; i++) {
        if (strcmp(ds_status_name((ds_status)i), name) == 0)
            return (ds_status)i;
    }
    return DS_ERR_INTERNAL;
}

static ds_status fail(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                      ds_error *err, void *data)
{
    const Rpctest__V1__FailRequest *in = (const void *)req;
    size_t i;

    for (i = 0; i < in->n_violations; i++)
        ds_error_violation(err, in->violations[i]->field, "%s", in->violations[i]->description);
    if (in->reason[0] != '\0')
        ds_error_reason(err, in->reason);
    return ds_error_set(err, parse_status(in->status), "%s", in->message);
}

static ds_status do_sleep(rpc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                          ds_error *err, void *data)
{
    const Rpctest__V1__SleepRequest *in = (const void *)req;
    Rpctest__V1__EchoResponse *out = ds_arena_alloc(ctx->arena, sizeof(*out));

    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    if (in->ms < 0 || in->ms > 60000)
        return ds_error_set(err, DS_ERR_INVALID, "ms must be within 0..60000");
    sleep_ms(in->ms);
    rpctest__v1__echo_response__init(out);
    out->text = "slept";
    *resp = &out->base;
    return DS_OK;
}

typedef struct counter {
    rpc_stream *s;
    int n;
    int interval_ms;
    atomic_bool cancelled;
} counter;

static void count_cancel(rpc_stream *s, void *arg)
{
    counter *c = arg;

    atomic_store(&c->cancelled, true);
}

static void *count_thread(void *arg)
{
    counter *c = arg;
    Rpctest__V1__CountResponse m = RPCTEST__V1__COUNT_RESPONSE__INIT;
    ds_status st = DS_OK;
    int i;

    for (i = 0; i < c->n && st == DS_OK && !atomic_load(&c->cancelled); i++) {
        if (i > 0 && c->interval_ms > 0)
            sleep_ms(c->interval_ms);
        m.i = i;
        st = rpc_stream_send(c->s, &m.base);
    }
    rpc_stream_finish(c->s, DS_OK, NULL);
    rpc_stream_unref(c->s);
    free(c);
    return NULL;
}

static ds_status count(rpc_ctx *ctx, const ProtobufCMessage *req, rpc_stream *s, ds_error *err,
                       void *data)
{
    const Rpctest__V1__CountRequest *in = (const void *)req;
    counter *c;
    pthread_t t;

    if (in->n < 0 || in->interval_ms < 0 || in->interval_ms > 10000)
        return ds_error_set(err, DS_ERR_INVALID, "n and interval_ms must be >= 0");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    c->s = s;
    c->n = in->n;
    c->interval_ms = in->interval_ms;
    atomic_init(&c->cancelled, false);
    rpc_stream_on_cancel(s, count_cancel, c);
    if (pthread_create(&t, NULL, count_thread, c) != 0) {
        free(c);
        return ds_error_set(err, DS_ERR_INTERNAL, "cannot start a thread");
    }
    pthread_detach(t);
    return DS_OK;
}

static const rpc_method_impl ECHO_IMPLS[] = {
    {"Echo", echo, NULL, 0},
    {"Fail", fail, NULL, 0},
    {"Sleep", do_sleep, NULL, 0},
    {"Count", NULL, count, 0},
};

static long arg_long(int argc, char **argv, const char *name, long dflt)
{
    char *end;
    long v;
    int i;

    for (i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) != 0)
            continue;
        errno = 0;
        v = strtol(argv[i + 1], &end, 10);
        if (errno == 0 && *end == '\0')
            return v;
    }
    return dflt;
}

int main(int argc, char **argv)
{
    rpc_config cfg = {0};
    rpc_server *srv;
    ds_error err;
    sigset_t set;
    int port = 0, sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    ds_error_clear(&err);
    cfg.listen_addr = "127.0.0.1:0";
    cfg.descriptor_set = rpctest_descset;
    cfg.descriptor_set_len = rpctest_descset_len;
    cfg.error_domain = "rpctest.v1";
    cfg.shutdown_grace_ms = (int)arg_long(argc, argv, "--grace-ms", 0);
    cfg.max_recv_bytes = (size_t)arg_long(argc, argv, "--max-recv-bytes", 0);
    cfg.cq_threads = (int)arg_long(argc, argv, "--cq-threads", 0);
    cfg.handler_threads = (int)arg_long(argc, argv, "--handler-threads", 0);
    cfg.requests_per_method = (int)arg_long(argc, argv, "--requests-per-method", 0);
    srv = rpc_server_new(&cfg, &err);
    if (srv == NULL || rpc_server_add_service(srv, &rpctest__v1__echo_service__descriptor, ECHO_IMPLS,
                                              4, NULL, &err) != DS_OK ||
        rpc_server_start(srv, &port, &err) != DS_OK) {
        fprintf(stderr, "rpc_test_server: %s\n", err.message);
        rpc_server_free(srv);
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    sigwait(&set, &sig);
    rpc_server_shutdown(srv);
    rpc_server_free(srv);
    return 0;
}
