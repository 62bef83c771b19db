/* rpc_status.c - ds_status -> gRPC status mapping and rich error details. */
#include "rpc_status.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

typedef struct code_row {
    grpc_status_code code;
    const char *text; /* message when the error has none */
} code_row;

static const code_row CODES[DS_STATUS_COUNT_] = {
    [DS_OK] = {GRPC_STATUS_OK, "ok"},
    [DS_ERR_INVALID] = {GRPC_STATUS_INVALID_ARGUMENT, "invalid argument"},
    [DS_ERR_NOT_FOUND] = {GRPC_STATUS_NOT_FOUND, "not found"},
    [DS_ERR_ALREADY_EXISTS] = {GRPC_STATUS_ALREADY_EXISTS, "already exists"},
    [DS_ERR_FAILED_PRECONDITION] = {GRPC_STATUS_FAILED_PRECONDITION, "failed precondition"},
    [DS_ERR_ABORTED] = {GRPC_STATUS_ABORTED, "aborted, retry"},
    [DS_ERR_UNAUTHENTICATED] = {GRPC_STATUS_UNAUTHENTICATED, "unauthenticated"},
    [DS_ERR_PERMISSION_DENIED] = {GRPC_STATUS_PERMISSION_DENIED, "permission denied"},
    [DS_ERR_RESOURCE_EXHAUSTED] = {GRPC_STATUS_RESOURCE_EXHAUSTED, "resource exhausted"},
    [DS_ERR_UNAVAILABLE] = {GRPC_STATUS_UNAVAILABLE, "unavailable, retry later"},
    [DS_ERR_DEADLINE] = {GRPC_STATUS_DEADLINE_EXCEEDED, "deadline exceeded"},
    [DS_ERR_CANCELLED] = {GRPC_STATUS_CANCELLED, "cancelled"},
    [DS_ERR_UNIMPLEMENTED] = {GRPC_STATUS_UNIMPLEMENTED, "not implemented"},
    [DS_ERR_INTERNAL] = {GRPC_STATUS_INTERNAL, "internal error"},
    [DS_ERR_NOMEM] = {GRPC_STATUS_INTERNAL, "internal error: out of memory"},
    [DS_ERR_IO] = {GRPC_STATUS_INTERNAL, "internal error: I/O failed"},
    [DS_ERR_CONFIG] = {GRPC_STATUS_INTERNAL, "internal error: bad configuration"},
};

static const code_row *row_of(ds_status st)
{
    if ((int)st < 0 || st >= DS_STATUS_COUNT_)
        st = DS_ERR_INTERNAL;
    return &CODES[st];
}

grpc_status_code rpc_status_code(ds_status st)
{
    return row_of(st)->code;
}

/* Pack `msg` into an Any with `type_url`; false on out of memory. */
static bool pack_any(Google__Protobuf__Any *any, const char *type_url, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);

    any->type_url = (char *)type_url;
    any->value.data = malloc(n ? n : 1);
    if (any->value.data == NULL)
        return false;
    any->value.len = protobuf_c_message_pack(msg, any->value.data);
    return true;
}

static bool pack_bad_request(Google__Protobuf__Any *any, const ds_error *err)
{
    Google__Rpc__BadRequest br = GOOGLE__RPC__BAD_REQUEST__INIT;
    Google__Rpc__BadRequest__FieldViolation fv[DS_ERROR_VIOLATIONS_MAX];
    Google__Rpc__BadRequest__FieldViolation *fvp[DS_ERROR_VIOLATIONS_MAX];
    int i, n = err->n_violations;

    if (n > DS_ERROR_VIOLATIONS_MAX)
        n = DS_ERROR_VIOLATIONS_MAX;
    for (i = 0; i < n; i++) {
        google__rpc__bad_request__field_violation__init(&fv[i]);
        fv[i].field = (char *)err->violations[i].field;
        fv[i].description = (char *)err->violations[i].description;
        fvp[i] = &fv[i];
    }
    br.n_field_violations = (size_t)n;
    br.field_violations = fvp;
    return pack_any(any, "type.googleapis.com/google.rpc.BadRequest", &br.base);
}

static bool pack_error_info(Google__Protobuf__Any *any, const ds_error *err, const char *domain)
{
    Google__Rpc__ErrorInfo ei = GOOGLE__RPC__ERROR_INFO__INIT;
    Google__Rpc__ErrorInfo__MetadataEntry entries[DS_ERROR_META_MAX];
    Google__Rpc__ErrorInfo__MetadataEntry *entryp[DS_ERROR_META_MAX];
    int n = err->n_meta < DS_ERROR_META_MAX ? err->n_meta : DS_ERROR_META_MAX;

    for (int i = 0; i < n; i++) {
        google__rpc__error_info__metadata_entry__init(&entries[i]);
        entries[i].key = (char *)err->meta[i].key;
        entries[i].value = (char *)err->meta[i].value;
        entryp[i] = &entries[i];
    }
    ei.reason = (char *)err->reason;
    ei.domain = (char *)domain;
    ei.n_metadata = (size_t)n;
    ei.metadata = entryp;
    return pack_any(any, "type.googleapis.com/google.rpc.ErrorInfo", &ei.base);
}

/* Serialize google.rpc.Status into r->details_bin. */
static void build_details(rpc_error_reply *r, const ds_error *err, const char *msg,
                          const char *domain)
{
    Google__Rpc__Status s = GOOGLE__RPC__STATUS__INIT;
    Google__Protobuf__Any any[2] = {GOOGLE__PROTOBUF__ANY__INIT, GOOGLE__PROTOBUF__ANY__INIT};
    Google__Protobuf__Any *anyp[2] = {&any[0], &any[1]};
    bool ok = true;
    size_t i, n = 0;

    if (err != NULL && err->n_violations > 0)
        ok = pack_bad_request(&any[n++], err);
    if (ok && err != NULL && err->reason[0] != '\0')
        ok = pack_error_info(&any[n++], err, domain);
    s.code = (int32_t)r->code;
    s.message = (char *)msg;
    s.n_details = n;
    s.details = anyp;
    if (ok) {
        r->details_bin = grpc_slice_malloc(google__rpc__status__get_packed_size(&s));
        google__rpc__status__pack(&s, GRPC_SLICE_START_PTR(r->details_bin));
    }
    for (i = 0; i < n; i++)
        free(any[i].value.data);
}

void rpc_error_reply_init(rpc_error_reply *r, ds_status st, const ds_error *err, const char *domain)
{
    const code_row *row = row_of(st);
    const char *msg = row->text;

    if (err != NULL && err->message[0] != '\0')
        msg = err->message;
    r->code = row->code;
    r->message = grpc_slice_from_copied_string(msg);
    r->details_bin = grpc_empty_slice();
    build_details(r, err, msg, domain != NULL ? domain : "");
}

void rpc_error_reply_cleanup(rpc_error_reply *r)
{
    grpc_slice_unref(r->message);
    grpc_slice_unref(r->details_bin);
    r->message = grpc_empty_slice();
    r->details_bin = grpc_empty_slice();
}
