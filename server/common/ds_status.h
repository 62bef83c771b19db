/* ds_status.h - the one status type of dropship's own code, and the error
 * record that carries a message and field violations up to the RPC layer.
 *
 * Every fallible function in server/ returns a ds_status. Foreign errors
 * (libpq, CURLcode, grpc status) are converted at one boundary per library.
 * The message is formatted once, where the error is first seen, into the
 * caller's ds_error (which may be NULL when the caller does not care).
 *
 * Threads: all functions are reentrant; a ds_error belongs to one thread.
 */
#ifndef DS_STATUS_H
#define DS_STATUS_H

#include <stddef.h>

typedef enum ds_status {
    DS_OK = 0,                  /* success */
    DS_ERR_INVALID,             /* bad input from the caller (INVALID_ARGUMENT) */
    DS_ERR_NOT_FOUND,           /* no such resource, or not the caller's (NOT_FOUND) */
    DS_ERR_ALREADY_EXISTS,      /* unique key or request_id conflict (ALREADY_EXISTS) */
    DS_ERR_FAILED_PRECONDITION, /* resource in the wrong state (FAILED_PRECONDITION) */
    DS_ERR_ABORTED,             /* etag / version mismatch, retry (ABORTED) */
    DS_ERR_UNAUTHENTICATED,     /* missing or invalid API key (UNAUTHENTICATED) */
    DS_ERR_PERMISSION_DENIED,   /* key valid but not allowed (PERMISSION_DENIED) */
    DS_ERR_RESOURCE_EXHAUSTED,  /* a cap was hit: size, rate, pool (RESOURCE_EXHAUSTED) */
    DS_ERR_UNAVAILABLE,         /* database or dependency down, retry later (UNAVAILABLE) */
    DS_ERR_DEADLINE,            /* deadline passed before the work finished */
    DS_ERR_CANCELLED,           /* the caller went away */
    DS_ERR_UNIMPLEMENTED,       /* not built yet */
    DS_ERR_INTERNAL,            /* a bug or an unexpected answer from a dependency */
    DS_ERR_NOMEM,               /* allocation failed */
    DS_ERR_IO,                  /* file or socket I/O failed */
    DS_ERR_CONFIG,              /* bad configuration */
    DS_STATUS_COUNT_
} ds_status;

/* Stable upper-case name of a status ("DS_ERR_INVALID"); never NULL. */
const char *ds_status_name(ds_status st);

enum {
    DS_ERROR_MSG_MAX = 512,
    DS_ERROR_FIELD_MAX = 128,
    DS_ERROR_VIOLATIONS_MAX = 16,
    DS_ERROR_REASON_MAX = 64,
    DS_ERROR_META_MAX = 4,
    DS_ERROR_META_KEY_MAX = 32,
    DS_ERROR_META_VALUE_MAX = 128
};

/* One google.rpc.ErrorInfo.metadata entry ("order_id" -> the existing
 * order's id). */
typedef struct ds_error_meta {
    char key[DS_ERROR_META_KEY_MAX];
    char value[DS_ERROR_META_VALUE_MAX];
} ds_error_meta;

/* One google.rpc.BadRequest.FieldViolation. `field` is the proto3 JSON path
 * of the offending field ("address.postal_code" style, snake_case as in the
 * .proto, "lines[2].quantity" for repeated fields). */
typedef struct ds_violation {
    char field[DS_ERROR_FIELD_MAX];
    char description[DS_ERROR_MSG_MAX / 2];
} ds_violation;

/* An error with its details. Fixed size, no heap: safe to put on the stack
 * and to fill from any layer. Extra violations beyond the cap are counted in
 * `dropped` and otherwise ignored. */
typedef struct ds_error {
    ds_status status;
    char message[DS_ERROR_MSG_MAX];
    char reason[DS_ERROR_REASON_MAX]; /* google.rpc.ErrorInfo.reason, "" if none */
    int n_meta;                       /* ErrorInfo.metadata entries (sent with a reason) */
    ds_error_meta meta[DS_ERROR_META_MAX];
    int n_violations;
    int dropped;
    ds_violation violations[DS_ERROR_VIOLATIONS_MAX];
} ds_error;

/* Reset `err` to DS_OK with no message. No-op if err is NULL. */
void ds_error_clear(ds_error *err);

/* Set status and printf-style message; returns `st` so callers can write
 * `return ds_error_set(err, DS_ERR_INVALID, "...")`. err may be NULL. */
ds_status ds_error_set(ds_error *err, ds_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the machine-readable ErrorInfo reason ("ETAG_MISMATCH"). */
void ds_error_reason(ds_error *err, const char *reason);

/* Add an ErrorInfo metadata entry (sent only when a reason is set). Entries
 * beyond DS_ERROR_META_MAX are ignored; long keys/values are cut. */
void ds_error_metadata(ds_error *err, const char *key, const char *value);

/* Append a field violation (printf-style description). Does not change the
 * status; validators collect all violations, then call ds_error_set once. */
void ds_error_violation(ds_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
