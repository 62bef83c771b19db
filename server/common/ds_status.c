/* ds_status.c - status names and the ds_error helpers. */
#include "ds_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[DS_STATUS_COUNT_] = {
    [DS_OK] = "DS_OK",
    [DS_ERR_INVALID] = "DS_ERR_INVALID",
    [DS_ERR_NOT_FOUND] = "DS_ERR_NOT_FOUND",
    [DS_ERR_ALREADY_EXISTS] = "DS_ERR_ALREADY_EXISTS",
    [DS_ERR_FAILED_PRECONDITION] = "DS_ERR_FAILED_PRECONDITION",
    [DS_ERR_ABORTED] = "DS_ERR_ABORTED",
    [DS_ERR_UNAUTHENTICATED] = "DS_ERR_UNAUTHENTICATED",
    [DS_ERR_PERMISSION_DENIED] = "DS_ERR_PERMISSION_DENIED",
    [DS_ERR_RESOURCE_EXHAUSTED] = "DS_ERR_RESOURCE_EXHAUSTED",
    [DS_ERR_UNAVAILABLE] = "DS_ERR_UNAVAILABLE",
    [DS_ERR_DEADLINE] = "DS_ERR_DEADLINE",
    [DS_ERR_CANCELLED] = "DS_ERR_CANCELLED",
    [DS_ERR_UNIMPLEMENTED] = "DS_ERR_UNIMPLEMENTED",
    [DS_ERR_INTERNAL] = "DS_ERR_INTERNAL",
    [DS_ERR_NOMEM] = "DS_ERR_NOMEM",
    [DS_ERR_IO] = "DS_ERR_IO",
    [DS_ERR_CONFIG] = "DS_ERR_CONFIG",
};

const char *ds_status_name(ds_status st)
{
    if ((unsigned)st >= DS_STATUS_COUNT_)
        return "DS_ERR_UNKNOWN";
    return status_names[st];
}

void ds_error_clear(ds_error *err)
{
    if (err == NULL)
        return;
    err->status = DS_OK;
    err->message[0] = '\0';
    err->reason[0] = '\0';
    err->n_meta = 0;
    err->n_violations = 0;
    err->dropped = 0;
}

ds_status ds_error_set(ds_error *err, ds_status st, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return st;
    err->status = st;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return st;
}

void ds_error_reason(ds_error *err, const char *reason)
{
    if (err == NULL)
        return;
    snprintf(err->reason, sizeof(err->reason), "%s", reason ? reason : "");
}

void ds_error_metadata(ds_error *err, const char *key, const char *value)
{
    ds_error_meta *m;

    if (err == NULL || err->n_meta >= DS_ERROR_META_MAX)
        return;
    m = &err->meta[err->n_meta++];
    snprintf(m->key, sizeof(m->key), "%s", key ? key : "");
    snprintf(m->value, sizeof(m->value), "%s", value ? value : "");
}

void ds_error_violation(ds_error *err, const char *field, const char *fmt, ...)
{
    ds_violation *v;
    va_list ap;

    if (err == NULL)
        return;
    if (err->n_violations >= DS_ERROR_VIOLATIONS_MAX) {
        err->dropped++;
        return;
    }
    v = &err->violations[err->n_violations++];
    snprintf(v->field, sizeof(v->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(v->description, sizeof(v->description), fmt, ap);
    va_end(ap);
}
