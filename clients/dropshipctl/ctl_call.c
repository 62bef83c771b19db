/* ctl_call.c - dropshipctl's gRPC client call on the grpc core C API. */
#include "ctl_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

enum { AUTH_MAX = 1024 };

/* Everything one call holds; released by call_cleanup. */
typedef struct call_state {
    grpc_channel_credentials *creds;
    grpc_channel *channel;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata auth;
    char auth_value[AUTH_MAX];
    grpc_metadata_array initial_md;
    grpc_metadata_array trailing_md;
    grpc_status_code status;
    grpc_slice status_details;
    grpc_byte_buffer *request;
    grpc_byte_buffer *response;
} call_state;

const char *ctl_status_code_name(int code, char *buf, size_t cap)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};
    if (code >= 0 && (size_t)code < sizeof names / sizeof names[0])
        return names[code];
    snprintf(buf, cap, "CODE_%d", code);
    return buf;
}

static gpr_timespec deadline_of(int64_t timeout_ms)
{
    if (timeout_ms < 0)
        return gpr_inf_future(GPR_CLOCK_REALTIME);
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

/* Wait for `tag` on the call's queue (the call's deadline bounds it). */
static int wait_tag(call_state *cs, void *tag)
{
    grpc_event ev = grpc_completion_queue_pluck(cs->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static char *slice_strdup(grpc_slice s)
{
    size_t n = GRPC_SLICE_LENGTH(s);
    char *out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, GRPC_SLICE_START_PTR(s), n);
        out[n] = '\0';
    }
    return out;
}

/* Copy of grpc-status-details-bin (already base64-decoded by core). */
static void take_details(const grpc_metadata_array *md, ctl_call_result *res)
{
    for (size_t i = 0; i < md->count; i++) {
        if (!grpc_slice_str_cmp(md->metadata[i].key, "grpc-status-details-bin")) {
            size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);
            res->details = malloc(n + 1);
            if (res->details != NULL) {
                memcpy(res->details, GRPC_SLICE_START_PTR(md->metadata[i].value), n);
                res->details_len = n;
            }
            return;
        }
    }
}

/* Hand the received message (if any) to on_message; false at end of stream. */
static int deliver(call_state *cs, ctl_message_fn on_message, void *ud, ctl_call_result *res)
{
    grpc_byte_buffer_reader reader;
    if (cs->response == NULL)
        return 0;
    if (!grpc_byte_buffer_reader_init(&reader, cs->response)) {
        res->local = DS_ERR_INTERNAL;
    } else {
        grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
        if (res->local == DS_OK)
            res->local = on_message(ud, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
        grpc_slice_unref(all);
        grpc_byte_buffer_reader_destroy(&reader);
    }
    grpc_byte_buffer_destroy(cs->response);
    cs->response = NULL;
    if (res->local != DS_OK)
        grpc_call_cancel(cs->call, NULL);
    return res->local == DS_OK;
}

/* The request half of the call: metadata, message, half-close. */
static size_t send_ops(call_state *cs, grpc_op *ops)
{
    memset(ops, 0, 4 * sizeof *ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = cs->auth_value[0] != '\0' ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = &cs->auth;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = cs->request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &cs->initial_md;
    return 4;
}

static void recv_status_op(call_state *cs, grpc_op *op)
{
    memset(op, 0, sizeof *op);
    op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op->data.recv_status_on_client.trailing_metadata = &cs->trailing_md;
    op->data.recv_status_on_client.status = &cs->status;
    op->data.recv_status_on_client.status_details = &cs->status_details;
}

static void recv_message_op(call_state *cs, grpc_op *op)
{
    memset(op, 0, sizeof *op);
    op->op = GRPC_OP_RECV_MESSAGE;
    op->data.recv_message.recv_message = &cs->response;
}

/* Unary: the whole exchange in one batch. */
static void run_unary(call_state *cs, ctl_message_fn on_message, void *ud, ctl_call_result *res)
{
    grpc_op ops[6];
    size_t n = send_ops(cs, ops);
    recv_message_op(cs, &ops[n++]);
    recv_status_op(cs, &ops[n++]);
    if (grpc_call_start_batch(cs->call, ops, n, (void *)1, NULL) != GRPC_CALL_OK || !wait_tag(cs, (void *)1)) {
        res->local = DS_ERR_INTERNAL;
        return;
    }
    if (cs->status == GRPC_STATUS_OK)
        deliver(cs, on_message, ud, res);
}

/* Server streaming: status armed up front, then one RECV_MESSAGE at a time. */
static void run_streaming(call_state *cs, ctl_message_fn on_message, void *ud, ctl_call_result *res)
{
    grpc_op ops[4], st, msg;
    size_t n = send_ops(cs, ops);
    recv_status_op(cs, &st);
    if (grpc_call_start_batch(cs->call, ops, n, (void *)1, NULL) != GRPC_CALL_OK ||
        grpc_call_start_batch(cs->call, &st, 1, (void *)2, NULL) != GRPC_CALL_OK) {
        res->local = DS_ERR_INTERNAL;
        return;
    }
    wait_tag(cs, (void *)1);
    for (;;) {
        recv_message_op(cs, &msg);
        if (grpc_call_start_batch(cs->call, &msg, 1, (void *)3, NULL) != GRPC_CALL_OK)
            break;
        wait_tag(cs, (void *)3);
        if (!deliver(cs, on_message, ud, res))
            break;
    }
    wait_tag(cs, (void *)2);
}

static void call_cleanup(call_state *cs)
{
    if (cs->call != NULL)
        grpc_call_unref(cs->call);
    if (cs->response != NULL)
        grpc_byte_buffer_destroy(cs->response);
    if (cs->request != NULL)
        grpc_byte_buffer_destroy(cs->request);
    grpc_metadata_array_destroy(&cs->initial_md);
    grpc_metadata_array_destroy(&cs->trailing_md);
    grpc_slice_unref(cs->status_details);
    if (cs->channel != NULL)
        grpc_channel_destroy(cs->channel);
    if (cs->creds != NULL)
        grpc_channel_credentials_release(cs->creds);
    if (cs->cq != NULL) {
        grpc_completion_queue_shutdown(cs->cq);
        grpc_completion_queue_destroy(cs->cq);
    }
}

void ctl_call_run(const ctl_call_opts *opts, const char *path, const uint8_t *req, size_t req_len,
                  ctl_message_fn on_message, void *ud, ctl_call_result *res)
{
    call_state cs;
    memset(&cs, 0, sizeof cs);
    memset(res, 0, sizeof *res);
    res->code = GRPC_STATUS_UNKNOWN;
    grpc_init();
    grpc_metadata_array_init(&cs.initial_md);
    grpc_metadata_array_init(&cs.trailing_md);
    cs.status_details = grpc_empty_slice();
    cs.status = GRPC_STATUS_UNKNOWN;
    if (opts->api_key != NULL && opts->api_key[0] != '\0')
        snprintf(cs.auth_value, sizeof cs.auth_value, "Bearer %s", opts->api_key);
    cs.auth.key = grpc_slice_from_static_string("authorization");
    cs.auth.value = grpc_slice_from_static_string(cs.auth_value);
    cs.creds = grpc_insecure_credentials_create();
    cs.channel = grpc_channel_create(opts->addr, cs.creds, NULL);
    cs.cq = grpc_completion_queue_create_for_pluck(NULL);
    cs.call = grpc_channel_create_call(cs.channel, NULL, GRPC_PROPAGATE_DEFAULTS, cs.cq,
                                       grpc_slice_from_static_string(path), NULL,
                                       deadline_of(opts->timeout_ms), NULL);
    grpc_slice body = grpc_slice_from_copied_buffer((const char *)req, req_len);
    cs.request = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    if (opts->server_streaming)
        run_streaming(&cs, on_message, ud, res);
    else
        run_unary(&cs, on_message, ud, res);
    res->code = (int)cs.status;
    res->message = slice_strdup(cs.status_details);
    take_details(&cs.trailing_md, res);
    call_cleanup(&cs);
    grpc_shutdown();
}

void ctl_call_result_cleanup(ctl_call_result *res)
{
    if (res == NULL)
        return;
    free(res->message);
    free(res->details);
    memset(res, 0, sizeof *res);
}
