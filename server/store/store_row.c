/* store_row.c - reading PGresult cells into C values and protobuf-c messages. */
#include "store_row.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *store_row_text(const PGresult *r, int row, int col)
{
    if (r == NULL || PQgetisnull(r, row, col))
        return NULL;
    return PQgetvalue(r, row, col);
}

char *store_row_strdup(ds_arena *a, const PGresult *r, int row, int col)
{
    const char *s = store_row_text(r, row, col);

    return ds_arena_strdup(a, s ? s : "");
}

int64_t store_row_int64(const PGresult *r, int row, int col, int64_t dflt)
{
    const char *s = store_row_text(r, row, col);
    char *end;
    long long v;

    if (s == NULL || s[0] == '\0')
        return dflt;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return dflt;
    return (int64_t)v;
}

int32_t store_row_int32(const PGresult *r, int row, int col, int32_t dflt)
{
    int64_t v = store_row_int64(r, row, col, dflt);

    if (v < INT32_MIN || v > INT32_MAX)
        return dflt;
    return (int32_t)v;
}

bool store_row_bool(const PGresult *r, int row, int col)
{
    const char *s = store_row_text(r, row, col);

    return s != NULL && s[0] == 't';
}

Google__Protobuf__Timestamp *store_row_timestamp(ds_arena *a, const PGresult *r, int row, int col)
{
    Google__Protobuf__Timestamp *ts;
    int64_t us;

    if (store_row_text(r, row, col) == NULL)
        return NULL;
    us = store_row_int64(r, row, col, 0);
    ts = ds_arena_alloc(a, sizeof(*ts));
    if (ts == NULL)
        return NULL;
    google__protobuf__timestamp__init(ts);
    ts->seconds = us / 1000000;
    ts->nanos = (int32_t)(us % 1000000) * 1000;
    if (ts->nanos < 0) {
        ts->seconds -= 1;
        ts->nanos += 1000000000;
    }
    return ts;
}

uint8_t *store_row_bytea(ds_arena *a, const PGresult *r, int row, int col, size_t *len)
{
    const char *s = store_row_text(r, row, col);
    size_t n;
    uint8_t *out;

    *len = 0;
    if (s == NULL || strncmp(s, "\\x", 2) != 0)
        return NULL;
    s += 2;
    n = strlen(s);
    if (n % 2 != 0)
        return NULL;
    out = ds_arena_alloc(a, n / 2 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int byte;
        if (sscanf(s + 2 * i, "%2x", &byte) != 1)
            return NULL;
        out[i] = (uint8_t)byte;
    }
    *len = n / 2;
    return out;
}

const char *store_param_int64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

const char *store_param_ts(char buf[24], const Google__Protobuf__Timestamp *ts)
{
    if (ts == NULL)
        return NULL;
    return store_param_int64(buf, ts->seconds * 1000000 + ts->nanos / 1000);
}

char *store_param_bytea(ds_arena *a, const uint8_t *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *s = ds_arena_alloc(a, 2 * len + 3);

    if (s == NULL)
        return NULL;
    s[0] = '\\';
    s[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        s[2 + 2 * i] = hex[data[i] >> 4];
        s[3 + 2 * i] = hex[data[i] & 15];
    }
    s[2 + 2 * len] = '\0';
    return s;
}

ProtobufCMessage *store_row_message(ds_arena *a, const PGresult *r, int row, int col,
                                    const ProtobufCMessageDescriptor *d, bool *ok)
{
    size_t len = 0;
    uint8_t *buf;
    ProtobufCMessage *m;

    if (store_row_text(r, row, col) == NULL)
        return NULL;
    buf = store_row_bytea(a, r, row, col, &len);
    m = buf ? protobuf_c_message_unpack(d, ds_arena_allocator(a), len, buf) : NULL;
    if (m == NULL)
        *ok = false;
    return m;
}

const char *store_param_message(ds_arena *a, const ProtobufCMessage *msg)
{
    size_t len;
    uint8_t *buf;

    if (msg == NULL)
        return NULL;
    len = protobuf_c_message_get_packed_size(msg);
    buf = ds_arena_alloc(a, len + 1);
    if (buf == NULL)
        return NULL;
    protobuf_c_message_pack(msg, buf);
    return store_param_bytea(a, buf, len);
}
