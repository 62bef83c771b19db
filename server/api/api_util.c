/* api_util.c - page sizes, page tokens, etags, fingerprints, value helpers. */
#include "api_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api_validate.h"

enum { TOKEN_MAX = 256, PACK_MAX = 1 << 20 };

int32_t api_page_size(ds_error *err, int32_t requested)
{
    if (requested == 0)
        return API_PAGE_DEFAULT;
    if (requested < 0 || requested > API_PAGE_MAX) {
        ds_error_violation(err, "page_size", "must be between 0 and %d (0 means %d)", API_PAGE_MAX,
                           API_PAGE_DEFAULT);
        return API_PAGE_DEFAULT;
    }
    return requested;
}

/* Pack `msg` into a malloc'd buffer; NULL if too large or out of memory. */
static uint8_t *pack_copy(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    uint8_t *buf;

    if (n > PACK_MAX)
        return NULL;
    buf = malloc(n ? n : 1);
    if (buf != NULL && n > 0)
        protobuf_c_message_pack(msg, buf);
    *len = n;
    return buf;
}

uint32_t api_list_fingerprint(const ProtobufCMessage *req)
{
    const ProtobufCMessageDescriptor *d = req->descriptor;
    uint8_t *copy = malloc(d->sizeof_message), *buf;
    uint32_t h = 2166136261u;
    size_t len = 0;

    if (copy == NULL)
        return 0;
    memcpy(copy, req, d->sizeof_message);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (strcmp(f->name, "page_token") == 0 && f->type == PROTOBUF_C_TYPE_STRING)
            *(const char **)(copy + f->offset) = "";
        else if (strcmp(f->name, "page_size") == 0 && f->type == PROTOBUF_C_TYPE_INT32)
            *(int32_t *)(copy + f->offset) = 0;
    }
    buf = pack_copy((const ProtobufCMessage *)copy, &len);
    for (size_t i = 0; buf != NULL && i < len; i++)
        h = (h ^ buf[i]) * 16777619u;
    free(buf);
    free(copy);
    return h;
}

/* base64url without padding, into `out` (cap bytes). */
static bool b64url(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (4 * ((len + 2) / 3) + 1 > cap)
        return false;
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return true;
}

/* Decode base64url (padding optional) into `out`; returns length or -1. */
static int unb64url(const char *in, uint8_t *out, size_t cap)
{
    char tmp[TOKEN_MAX + 4];
    size_t n = strlen(in);
    int len;

    if (n == 0 || n > TOKEN_MAX || (n * 3) / 4 + 3 > cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        tmp[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (n % 4 != 0)
        tmp[n++] = '=';
    tmp[n] = '\0';
    len = EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)n);
    if (len < 0)
        return -1;
    for (size_t i = n; i > 0 && tmp[i - 1] == '='; i--)
        len--;
    return len;
}

char *api_page_token(ds_arena *a, int64_t sort_key, const char *id, uint32_t fingerprint)
{
    char plain[TOKEN_MAX], enc[TOKEN_MAX * 2];
    int n =
        snprintf(plain, sizeof(plain), "1.%" PRId64 ".%s.%08" PRIx32, sort_key, id, fingerprint);

    if (n < 0 || (size_t)n >= sizeof(plain) ||
        !b64url((const uint8_t *)plain, (size_t)n, enc, sizeof(enc)))
        return NULL;
    return ds_arena_strdup(a, enc);
}

bool api_page_token_parse(ds_error *err, const char *token, uint32_t fingerprint, bool *has_token,
                          int64_t *sort_key, char id[API_ID_MAX + 1])
{
    uint8_t plain[TOKEN_MAX];
    char key[24], idbuf[API_ID_MAX + 1];
    unsigned int fp;
    int len, used = 0;

    *has_token = false;
    if (token == NULL || token[0] == '\0')
        return true;
    len = unb64url(token, plain, sizeof(plain) - 1);
    if (len > 0) {
        plain[len] = '\0';
        if (sscanf((char *)plain, "1.%23[-0-9].%64[^.].%8x%n", key, idbuf, &fp, &used) != 3 ||
            used != len)
            len = -1;
    }
    if (len <= 0) {
        ds_error_violation(err, "page_token", "is not a token returned by this server");
        return false;
    }
    if (fp != fingerprint) {
        ds_error_violation(err, "page_token", "was issued for a different query (filters changed)");
        return false;
    }
    errno = 0;
    *sort_key = strtoll(key, NULL, 10);
    snprintf(id, API_ID_MAX + 1, "%s", idbuf);
    *has_token = errno == 0;
    return *has_token;
}

void api_message_hash(const ProtobufCMessage *msg, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    size_t len = 0;
    uint8_t *buf = pack_copy(msg, &len);

    out[0] = '\0';
    if (buf == NULL || !EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL)) {
        free(buf);
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    free(buf);
}

char *api_etag(ds_arena *a, int64_t version)
{
    return ds_arena_printf(a, "v%" PRId64, version);
}

bool api_etag_parse(ds_error *err, const char *field, const char *etag, int64_t *version)
{
    char *end;

    *version = 0;
    if (etag == NULL || etag[0] == '\0')
        return true;
    errno = 0;
    if (etag[0] == 'v' && etag[1] >= '0' && etag[1] <= '9') {
        long long v = strtoll(etag + 1, &end, 10);
        if (errno == 0 && *end == '\0' && v > 0) {
            *version = v;
            return true;
        }
    }
    ds_error_violation(err, field, "is not an etag returned by this server");
    return false;
}

ds_status api_etag_mismatch(ds_error *err, const char *what)
{
    ds_error_reason(err, "ETAG_MISMATCH");
    return ds_error_set(err, DS_ERR_ABORTED,
                        "%s was changed by someone else (etag mismatch); read it again and retry",
                        what);
}

ds_status api_not_found(ds_error *err, const char *kind, const char *id)
{
    return ds_error_set(err, DS_ERR_NOT_FOUND, "%s %s not found", kind, id ? id : "");
}

void *api_new_message(ds_arena *a, const ProtobufCMessageDescriptor *d)
{
    void *m = ds_arena_alloc(a, d->sizeof_message);

    if (m != NULL)
        protobuf_c_message_init(d, m);
    return m;
}

ds_status api_respond(ds_arena *a, const ProtobufCMessageDescriptor *d, const char *field,
                      void *value, ProtobufCMessage **resp, ds_error *err)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, field);
    ProtobufCMessage *out;

    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
        return ds_error_set(err, DS_ERR_INTERNAL, "%s has no message field %s", d->name, field);
    out = value != NULL ? api_new_message(a, d) : NULL;
    if (out == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    *(void **)((char *)out + f->offset) = value;
    *resp = out;
    return DS_OK;
}

Google__Protobuf__Timestamp *api_timestamp(ds_arena *a, int64_t epoch_us)
{
    Google__Protobuf__Timestamp *ts = ds_arena_alloc(a, sizeof(*ts));

    if (ts == NULL)
        return NULL;
    google__protobuf__timestamp__init(ts);
    ts->seconds = epoch_us / 1000000;
    ts->nanos = (int32_t)(epoch_us % 1000000) * 1000;
    if (ts->nanos < 0) {
        ts->seconds -= 1;
        ts->nanos += 1000000000;
    }
    return ts;
}

int64_t api_timestamp_us(const Google__Protobuf__Timestamp *ts)
{
    return ts ? ts->seconds * 1000000 + ts->nanos / 1000 : 0;
}

Dropship__V1__Money *api_money(ds_arena *a, const char *currency, int64_t units, int32_t nanos)
{
    Dropship__V1__Money *m = ds_arena_alloc(a, sizeof(*m));

    if (m == NULL)
        return NULL;
    dropship__v1__money__init(m);
    m->currency_code = ds_arena_strdup(a, currency ? currency : "");
    m->units = units;
    m->nanos = nanos;
    return m;
}

bool api_check_money(ds_error *err, const char *field, const Dropship__V1__Money *m, bool required,
                     bool non_negative)
{
    if (m == NULL) {
        if (required)
            ds_error_violation(err, field, "is required");
        return !required;
    }
    return av_money(err, field, m->currency_code, m->units, m->nanos, non_negative);
}
