/* rpc_reflect.c - grpc.reflection.v1 and v1alpha ServerReflection (bidi):
 * answer each request from the descriptor-set index. The two versions are
 * the same on the wire, so both are served with the v1 messages. Runs on the
 * call's completion-queue thread (in-memory work only). */
#include "rpc_internal.h"

#include <string.h>

#include "grpc/reflection/v1/reflection.pb-c.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_resp;

enum { REFL_NOT_FOUND = 5, REFL_INVALID = 3 };

static void recv_next(rpc_call *c);

static void set_error(refl_resp *r, ds_arena *a, int code, const char *msg)
{
    Grpc__Reflection__V1__ErrorResponse *e = ds_arena_alloc(a, sizeof(*e));

    if (e == NULL)
        return;
    grpc__reflection__v1__error_response__init(e);
    e->error_code = code;
    e->error_message = ds_arena_strdup(a, msg);
    r->message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    r->error_response = e;
}

static void list_services(rpc_server *srv, refl_resp *r, ds_arena *a)
{
    Grpc__Reflection__V1__ListServiceResponse *l = ds_arena_alloc(a, sizeof(*l));
    Grpc__Reflection__V1__ServiceResponse *items, **ptrs;
    size_t i;

    items = ds_arena_alloc(a, (srv->n_services + 1) * sizeof(*items));
    ptrs = ds_arena_alloc(a, (srv->n_services + 1) * sizeof(*ptrs));
    if (l == NULL || items == NULL || ptrs == NULL)
        return;
    grpc__reflection__v1__list_service_response__init(l);
    for (i = 0; i < srv->n_services; i++) {
        grpc__reflection__v1__service_response__init(&items[i]);
        items[i].name = srv->services[i];
        ptrs[i] = &items[i];
    }
    l->service = ptrs;
    l->n_service = srv->n_services;
    r->message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    r->list_services_response = l;
}

/* File `file` and its transitive dependencies, each once. */
static void file_response(rpc_server *srv, refl_resp *r, ds_arena *a, int file)
{
    Grpc__Reflection__V1__FileDescriptorResponse *f = ds_arena_alloc(a, sizeof(*f));
    size_t cap = (size_t)rpc_descset_file_count(srv->ds), n, i;
    int *idx = ds_arena_alloc(a, cap * sizeof(int));
    ProtobufCBinaryData *bytes = ds_arena_alloc(a, cap * sizeof(*bytes));
    size_t len;

    if (f == NULL || idx == NULL || bytes == NULL)
        return;
    grpc__reflection__v1__file_descriptor_response__init(f);
    n = rpc_descset_closure(srv->ds, file, idx, cap);
    for (i = 0; i < n; i++) {
        bytes[i].data = (uint8_t *)rpc_descset_file_bytes(srv->ds, idx[i], &len);
        bytes[i].len = len;
    }
    f->n_file_descriptor_proto = n;
    f->file_descriptor_proto = bytes;
    r->message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    r->file_descriptor_response = f;
}

static void extension_numbers(rpc_server *srv, refl_resp *r, ds_arena *a, const char *type)
{
    Grpc__Reflection__V1__ExtensionNumberResponse *e;
    rpc_symbol_kind kind;

    if (rpc_descset_file_by_symbol(srv->ds, type, &kind) < 0 || kind != RPC_SYM_MESSAGE) {
        set_error(r, a, REFL_NOT_FOUND, "message type not found");
        return;
    }
    e = ds_arena_alloc(a, sizeof(*e));
    if (e == NULL)
        return;
    grpc__reflection__v1__extension_number_response__init(e);
    e->base_type_name = (char *)type;
    r->message_response_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
    r->all_extension_numbers_response = e;
}

static void answer(rpc_server *srv, const refl_req *q, refl_resp *r, ds_arena *a)
{
    int file;

    switch (q->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        list_services(srv, r, a);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        file = rpc_descset_file_by_name(srv->ds, q->file_by_filename);
        if (file < 0)
            set_error(r, a, REFL_NOT_FOUND, "file not found");
        else
            file_response(srv, r, a, file);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        file = rpc_descset_file_by_symbol(srv->ds, q->file_containing_symbol, NULL);
        if (file < 0)
            set_error(r, a, REFL_NOT_FOUND, "symbol not found");
        else
            file_response(srv, r, a, file);
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        set_error(r, a, REFL_NOT_FOUND, "extension not found");
        break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        extension_numbers(srv, r, a, q->all_extension_numbers_of_type);
        break;
    default:
        set_error(r, a, REFL_INVALID, "empty reflection request");
        break;
    }
}

static void on_final(rpc_tag *t, bool ok)
{
    rpc_call_release((rpc_call *)t, true);
}

/* End the call with st (half-close, error or malformed request). */
static void finish(rpc_call *c, ds_status st, const char *msg)
{
    grpc_op ops[3];
    size_t n = 0;
    ds_error err;

    ds_error_clear(&err);
    if (st != DS_OK)
        ds_error_set(&err, st, "%s", msg);
    memset(ops, 0, sizeof(ops));
    if (!c->md_sent)
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = true;
    rpc_call_status_op(c, &ops[n++], st, &err);
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
    c->tag.done = on_final;
    if (grpc_call_start_batch(c->call, ops, n, &c->tag, NULL) != GRPC_CALL_OK)
        rpc_call_release(c, true);
}

static void on_sent(rpc_tag *t, bool ok)
{
    rpc_call *c = (rpc_call *)t;

    grpc_byte_buffer_destroy(c->resp_bb);
    c->resp_bb = NULL;
    if (!ok) {
        rpc_call_release(c, true);
        return;
    }
    recv_next(c);
}

/* Build the response to c->req_bb into c->resp_bb; false if malformed. */
static bool build_response(rpc_call *c)
{
    refl_resp r = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    ds_arena *a = ds_arena_new(0);
    refl_req *q = NULL;

    if (a != NULL)
        q = (refl_req *)rpc_unpack(&grpc__reflection__v1__server_reflection_request__descriptor,
                                   c->req_bb, a);
    if (q != NULL) {
        r.valid_host = q->host;
        r.original_request = q;
        answer(c->srv, q, &r, a);
        c->resp_bb = rpc_pack(&r.base);
    }
    ds_arena_free(a);
    return q != NULL;
}

static void on_recv(rpc_tag *t, bool ok)
{
    rpc_call *c = (rpc_call *)t;
    grpc_op ops[2];
    size_t n = 0;
    bool good;

    if (!ok) {
        rpc_call_release(c, true);
        return;
    }
    if (c->req_bb == NULL) {
        finish(c, DS_OK, NULL);
        return;
    }
    good = build_response(c);
    grpc_byte_buffer_destroy(c->req_bb);
    c->req_bb = NULL;
    if (!good) {
        finish(c, DS_ERR_INVALID, "malformed request: bytes are not a valid ServerReflectionRequest");
        return;
    }
    memset(ops, 0, sizeof(ops));
    if (!c->md_sent)
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = true;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = c->resp_bb;
    c->tag.done = on_sent;
    if (grpc_call_start_batch(c->call, ops, n, &c->tag, NULL) != GRPC_CALL_OK)
        rpc_call_release(c, true);
}

static void recv_next(rpc_call *c)
{
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->req_bb;
    c->tag.done = on_recv;
    if (grpc_call_start_batch(c->call, &op, 1, &c->tag, NULL) != GRPC_CALL_OK)
        rpc_call_release(c, true);
}

ds_status rpc_reflect_add(rpc_server *srv, ds_error *err)
{
    ds_status st;

    st = rpc_server_add_bidi(srv, "grpc.reflection.v1.ServerReflection", "ServerReflectionInfo",
                             recv_next, err);
    if (st == DS_OK)
        st = rpc_server_add_bidi(srv, "grpc.reflection.v1alpha.ServerReflection",
                                 "ServerReflectionInfo", recv_next, err);
    return st;
}
