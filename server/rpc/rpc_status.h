/* rpc_status.h - the one boundary between ds_status and gRPC status codes,
 * and the rich error reply (google.rpc.Status in grpc-status-details-bin).
 *
 * Threads: reentrant. Ownership: an rpc_error_reply owns its slices until
 * rpc_error_reply_cleanup.
 */
#ifndef RPC_STATUS_H
#define RPC_STATUS_H

#include <grpc/grpc.h>

#include "ds_status.h"

/* gRPC code for `st` (DS_ERR_INVALID -> INVALID_ARGUMENT, ...; anything
 * without a gRPC twin -> INTERNAL). */
grpc_status_code rpc_status_code(ds_status st);

/* Trailing key of the serialized google.rpc.Status. */
#define RPC_STATUS_DETAILS_KEY "grpc-status-details-bin"

/* What an error reply sends: status code, grpc-message and the serialized
 * google.rpc.Status {code, message, details}. The details hold a
 * google.rpc.BadRequest when err has field violations and a
 * google.rpc.ErrorInfo {reason, domain} when err->reason is set. */
typedef struct rpc_error_reply {
    grpc_status_code code;
    grpc_slice message;
    grpc_slice details_bin; /* empty if it could not be built */
} rpc_error_reply;

/* Fill `r` for st (not DS_OK) and err (may be NULL; an empty message gets a
 * generic one). `domain` is ErrorInfo.domain ("" when NULL). Never fails:
 * when memory runs out the details are left empty. */
void rpc_error_reply_init(rpc_error_reply *r, ds_status st, const ds_error *err, const char *domain);

/* Release the slices. */
void rpc_error_reply_cleanup(rpc_error_reply *r);

#endif
