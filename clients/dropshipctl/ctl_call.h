/* ctl_call.h - one gRPC call from dropshipctl over the grpc core C API:
 * unary (one batch) or server streaming (messages handed over as they
 * arrive), bearer-token metadata, deadline, and the final status with its
 * raw grpc-status-details-bin.
 *
 * Threads: one call at a time per process (grpc_init/grpc_shutdown are
 * done here). Ownership: see ctl_call_result.
 */
#ifndef CTL_CALL_H
#define CTL_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_status.h"

typedef struct ctl_call_opts {
    const char *addr;       /* "host:port" */
    const char *api_key;    /* sent as "authorization: Bearer <key>"; NULL or "" = none */
    int64_t timeout_ms;     /* deadline from now; < 0 = none */
    bool server_streaming;  /* read messages until the server ends the stream */
} ctl_call_opts;

/* Called for every response message, in order, on the calling thread. The
 * bytes are valid during the call only. A non-OK return cancels the call. */
typedef ds_status (*ctl_message_fn)(void *ud, const uint8_t *data, size_t len);

typedef struct ctl_call_result {
    int code;             /* grpc_status_code */
    char *message;        /* status message (malloc, may be NULL) */
    uint8_t *details;     /* raw google.rpc.Status from grpc-status-details-bin (malloc), or NULL */
    size_t details_len;
    ds_status local;      /* DS_OK, or why the callback stopped the call */
} ctl_call_result;

/* Run `path` ("/pkg.Service/Method") with the serialized request. Always
 * fills *res (free with ctl_call_result_cleanup); transport failures show up
 * as status codes (UNAVAILABLE, DEADLINE_EXCEEDED), as grpc reports them. */
void ctl_call_run(const ctl_call_opts *opts, const char *path, const uint8_t *req, size_t req_len,
                  ctl_message_fn on_message, void *ud, ctl_call_result *res);

void ctl_call_result_cleanup(ctl_call_result *res);

/* "UNAUTHENTICATED" for 16, "CODE_99" style for unknown codes (static or
 * in buf). */
const char *ctl_status_code_name(int code, char *buf, size_t cap);

#endif
