/* pbjson_wkt.c - proto3 JSON forms of the well-known types (Timestamp,
 * Duration, FieldMask, Any, wrappers) and base64 for bytes fields. */
#include "pbjson_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ds_pbreg.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

enum {
    TEXT_MAX = 64,           /* longest Timestamp/Duration text accepted */
    FIELD_MASK_MAX = 65536   /* longest FieldMask text accepted */
};

/* Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
static const int64_t TS_MIN = -62135596800LL;
static const int64_t TS_MAX = 253402300799LL;
/* +-10000 years, the Duration range. */
static const int64_t DUR_MAX = 315576000000LL;

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) -------------- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : len[m - 1];
}

/* ".123", ".123456", ".123456789" or "" for nanos (0 <= nanos < 1e9). */
static void format_nanos(int32_t nanos, char *buf, size_t cap)
{
    if (nanos == 0)
        buf[0] = '\0';
    else if (nanos % 1000000 == 0)
        snprintf(buf, cap, ".%03" PRId32, nanos / 1000000);
    else if (nanos % 1000 == 0)
        snprintf(buf, cap, ".%06" PRId32, nanos / 1000);
    else
        snprintf(buf, cap, ".%09" PRId32, nanos);
}

/* Fixed-width decimal digits at s[0..n); -1 if any is not a digit. */
static int64_t digits(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Optional ".d{1,9}" at *s; advances *s. -1 when malformed. */
static int32_t parse_fraction(const char **s)
{
    int32_t nanos = 0;
    int n = 0;
    if (**s != '.')
        return 0;
    (*s)++;
    while ((*s)[0] >= '0' && (*s)[0] <= '9' && n < 9) {
        nanos = nanos * 10 + ((*s)[0] - '0');
        (*s)++;
        n++;
    }
    if (n == 0 || ((*s)[0] >= '0' && (*s)[0] <= '9'))
        return -1;
    for (; n < 9; n++)
        nanos *= 10;
    return nanos;
}

/* ---- Timestamp ---------------------------------------------------------- */

static ds_status enc_timestamp(pbj_ctx *c, const Google__Protobuf__Timestamp *t, json_t **out)
{
    char frac[16], buf[TEXT_MAX];
    int64_t y = 0;
    int mo = 0, d = 0;
    if (t->seconds < TS_MIN || t->seconds > TS_MAX || t->nanos < 0 || t->nanos > 999999999)
        return pbj_fail(c, "Timestamp out of range (seconds %" PRId64 ", nanos %" PRId32 ")",
                        t->seconds, t->nanos);
    int64_t days = t->seconds >= 0 ? t->seconds / 86400 : -((-t->seconds + 86399) / 86400);
    int64_t secs = t->seconds - days * 86400;
    civil_from_days(days, &y, &mo, &d);
    format_nanos(t->nanos, frac, sizeof frac);
    snprintf(buf, sizeof buf, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%sZ", y, mo, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), frac);
    *out = json_string(buf);
    return *out != NULL ? DS_OK : ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
}

/* "Z" or "+HH:MM"/"-HH:MM" into seconds east of UTC in *off; false when
 * malformed. */
static bool parse_offset(const char *s, int64_t *off)
{
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        *off = 0;
        return true;
    }
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
        return false;
    int64_t hh = digits(s + 1, 2), mm = digits(s + 4, 2);
    if (hh < 0 || mm < 0 || hh > 23 || mm > 59)
        return false;
    *off = (s[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return true;
}

static ds_status dec_timestamp(pbj_ctx *c, const json_t *v, Google__Protobuf__Timestamp *t)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s == NULL || strlen(s) < 20 || strlen(s) > TEXT_MAX)
        goto bad;
    int64_t y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int64_t h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':' || y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || sec < 0 || sec > 59 || d > days_in_month(y, (int)mo))
        goto bad;
    const char *rest = s + 19;
    int32_t nanos = parse_fraction(&rest);
    int64_t off = 0;
    if (nanos < 0 || !parse_offset(rest, &off))
        goto bad;
    int64_t secs = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (secs < TS_MIN || secs > TS_MAX)
        return pbj_fail(c, "Timestamp \"%s\" out of range (years 1 to 9999)", s);
    t->seconds = secs;
    t->nanos = nanos;
    return DS_OK;
bad:
    if (s == NULL)
        return pbj_fail(c, "expected an RFC 3339 timestamp string, got %s", pbj_json_type(v));
    return pbj_fail(c, "expected an RFC 3339 timestamp like \"2026-11-22T07:40:01.123Z\", got \"%s\"",
                    s);
}

/* ---- Duration ----------------------------------------------------------- */

static ds_status enc_duration(pbj_ctx *c, const Google__Protobuf__Duration *du, json_t **out)
{
    char frac[16], buf[TEXT_MAX];
    int neg = du->seconds < 0 || du->nanos < 0;
    if (du->seconds < -DUR_MAX || du->seconds > DUR_MAX || du->nanos < -999999999 ||
        du->nanos > 999999999 || (du->seconds > 0 && du->nanos < 0) ||
        (du->seconds < 0 && du->nanos > 0))
        return pbj_fail(c, "Duration out of range (seconds %" PRId64 ", nanos %" PRId32 ")",
                        du->seconds, du->nanos);
    format_nanos(du->nanos < 0 ? -du->nanos : du->nanos, frac, sizeof frac);
    snprintf(buf, sizeof buf, "%s%" PRId64 "%ss", neg ? "-" : "",
             du->seconds < 0 ? -du->seconds : du->seconds, frac);
    *out = json_string(buf);
    return *out != NULL ? DS_OK : ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
}

static ds_status dec_duration(pbj_ctx *c, const json_t *v, Google__Protobuf__Duration *du)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    const char *p = s;
    int64_t secs = 0;
    int n = 0;
    if (s == NULL || strlen(s) > TEXT_MAX)
        goto bad;
    int neg = *p == '-';
    p += neg;
    for (; *p >= '0' && *p <= '9' && n < 13; p++, n++)
        secs = secs * 10 + (*p - '0');
    int32_t nanos = parse_fraction(&p);
    if (n == 0 || nanos < 0 || p[0] != 's' || p[1] != '\0')
        goto bad;
    if (secs > DUR_MAX)
        return pbj_fail(c, "Duration \"%s\" out of range (+-%" PRId64 "s)", s, DUR_MAX);
    du->seconds = neg ? -secs : secs;
    du->nanos = neg ? -nanos : nanos;
    return DS_OK;
bad:
    if (s == NULL)
        return pbj_fail(c, "expected a duration string like \"3.5s\", got %s", pbj_json_type(v));
    return pbj_fail(c, "expected a duration like \"3.5s\", got \"%s\"", s);
}

/* ---- FieldMask ---------------------------------------------------------- */

static ds_status enc_field_mask(pbj_ctx *c, const Google__Protobuf__FieldMask *fm, json_t **out)
{
    size_t total = 1;
    for (size_t i = 0; i < fm->n_paths; i++)
        total += strlen(fm->paths[i]) + 1;
    char *buf = calloc(total, 1);
    size_t n = 0;
    if (buf == NULL)
        return ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < fm->n_paths; i++) {
        if (i > 0)
            buf[n++] = ',';
        n += pbjson_json_name(fm->paths[i], buf + n, total - n);
    }
    *out = json_string(buf);
    free(buf);
    return *out != NULL ? DS_OK : ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
}

/* One camelCase path of [s, e) as snake_case into arena/alloc memory. */
static char *snake_path(pbj_ctx *c, const char *s, const char *e)
{
    char *out = pbj_alloc(c, 2 * (size_t)(e - s) + 1);
    size_t n = 0;
    if (out == NULL)
        return NULL;
    for (; s < e; s++) {
        if (*s >= 'A' && *s <= 'Z') {
            out[n++] = '_';
            out[n++] = (char)(*s - 'A' + 'a');
        } else {
            out[n++] = *s;
        }
    }
    return out;
}

static ds_status dec_field_mask(pbj_ctx *c, const json_t *v, Google__Protobuf__FieldMask *fm)
{
    if (!json_is_string(v))
        return pbj_fail(c, "expected a field mask string like \"a.b,c\", got %s", pbj_json_type(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), n = 1;
    if (len > FIELD_MASK_MAX)
        return pbj_fail(c, "field mask longer than %d bytes", FIELD_MASK_MAX);
    if (len == 0)
        return DS_OK;
    for (const char *p = s; *p != '\0'; p++)
        n += *p == ',';
    fm->paths = pbj_alloc(c, n * sizeof *fm->paths);
    if (fm->paths == NULL)
        return DS_ERR_NOMEM;
    fm->n_paths = n;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(s, ',');
        if (e == NULL)
            e = s + strlen(s);
        if (e == s || memchr(s, '_', (size_t)(e - s)) != NULL)
            return pbj_fail(c, "bad field mask path in \"%s\" (camelCase paths, comma separated)",
                            json_string_value(v));
        fm->paths[i] = snake_path(c, s, e);
        if (fm->paths[i] == NULL)
            return DS_ERR_NOMEM;
        s = *e == ',' ? e + 1 : e;
    }
    return DS_OK;
}

/* ---- wrappers ----------------------------------------------------------- */

static int is_wrapper(const ProtobufCMessageDescriptor *d)
{
    static const char *const names[] = {
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value", "google.protobuf.Int32Value",  "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.BytesValue"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(d->name, names[i]) == 0)
            return d->n_fields == 1;
    }
    return 0;
}

/* ---- Any ---------------------------------------------------------------- */

static int has_special_form(const ProtobufCMessageDescriptor *d);

static ds_status enc_any(pbj_ctx *c, const Google__Protobuf__Any *any, json_t **out)
{
    ds_status st = DS_OK;
    json_t *inner = NULL, *obj = NULL;
    if (any->type_url == NULL || any->type_url[0] == '\0') {
        *out = json_object();
        return *out != NULL ? DS_OK : ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
    }
    const ProtobufCMessageDescriptor *d = ds_pbreg_message_by_type_url(any->type_url);
    if (d == NULL)
        return pbj_fail(c, "Any of unknown type \"%s\"", any->type_url);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, any->value.len, any->value.data);
    if (m == NULL)
        return pbj_fail(c, "Any value is not a valid %s", d->name);
    st = pbj_enc_message(c, m, &inner);
    if (st != DS_OK)
        goto out;
    obj = json_pack("{s:s}", "@type", any->type_url);
    if (obj == NULL) {
        st = ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (has_special_form(d))
        json_object_set(obj, "value", inner);
    else
        json_object_update(obj, inner);
    *out = obj;
out:
    json_decref(inner);
    protobuf_c_message_free_unpacked(m, NULL);
    return st;
}

/* The Any's fields (minus "@type") decoded as `d` and packed into any->value. */
static ds_status pack_any(pbj_ctx *c, const json_t *body, const ProtobufCMessageDescriptor *d,
                          Google__Protobuf__Any *any)
{
    ProtobufCMessage *m = NULL;
    ProtobufCAllocator *outer = c->alloc;
    c->alloc = &pbj_malloc_allocator; /* the inner message is temporary */
    ds_status st = pbj_dec_message(c, body, d, &m);
    c->alloc = outer;
    if (st == DS_OK) {
        any->value.len = protobuf_c_message_get_packed_size(m);
        any->value.data = pbj_alloc(c, any->value.len);
        if (any->value.data == NULL)
            st = DS_ERR_NOMEM;
        else
            protobuf_c_message_pack(m, any->value.data);
    }
    protobuf_c_message_free_unpacked(m, &pbj_malloc_allocator);
    return st;
}

static ds_status dec_any(pbj_ctx *c, const json_t *v, Google__Protobuf__Any *any)
{
    ds_status st = DS_OK;
    json_t *body = NULL;
    if (!json_is_object(v))
        return pbj_fail(c, "expected an object with \"@type\", got %s", pbj_json_type(v));
    const json_t *type = json_object_get(v, "@type");
    if (json_object_size(v) == 0)
        return DS_OK;
    if (!json_is_string(type))
        return pbj_fail(c, "Any needs a \"@type\" string");
    const ProtobufCMessageDescriptor *d = ds_pbreg_message_by_type_url(json_string_value(type));
    if (d == NULL)
        return pbj_fail(c, "Any of unknown type \"%s\"", json_string_value(type));
    if (has_special_form(d)) {
        body = json_incref(json_object_get(v, "value"));
        if (body == NULL || json_object_size(v) != 2)
            st = pbj_fail(c, "Any of %s needs exactly \"@type\" and \"value\"", d->name);
    } else {
        body = json_copy((json_t *)v);
        if (body == NULL)
            st = ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
        else
            json_object_del(body, "@type");
    }
    if (st == DS_OK)
        st = pack_any(c, body, d, any);
    if (st == DS_OK) {
        any->type_url = pbj_alloc(c, strlen(json_string_value(type)) + 1);
        if (any->type_url == NULL)
            st = DS_ERR_NOMEM;
        else
            memcpy(any->type_url, json_string_value(type), strlen(json_string_value(type)));
    }
    json_decref(body);
    return st;
}

/* ---- dispatch ----------------------------------------------------------- */

typedef enum wkt { WKT_NONE, WKT_TIMESTAMP, WKT_DURATION, WKT_FIELD_MASK, WKT_ANY, WKT_WRAPPER } wkt;

static wkt wkt_of(const ProtobufCMessageDescriptor *d)
{
    if (strncmp(d->name, "google.protobuf.", 16) != 0)
        return WKT_NONE;
    if (strcmp(d->name, "google.protobuf.Timestamp") == 0)
        return WKT_TIMESTAMP;
    if (strcmp(d->name, "google.protobuf.Duration") == 0)
        return WKT_DURATION;
    if (strcmp(d->name, "google.protobuf.FieldMask") == 0)
        return WKT_FIELD_MASK;
    if (strcmp(d->name, "google.protobuf.Any") == 0)
        return WKT_ANY;
    return is_wrapper(d) ? WKT_WRAPPER : WKT_NONE;
}

static int has_special_form(const ProtobufCMessageDescriptor *d)
{
    return wkt_of(d) != WKT_NONE;
}

bool pbj_wkt_encode(pbj_ctx *c, const ProtobufCMessage *m, json_t **out, ds_status *st)
{
    switch (wkt_of(m->descriptor)) {
    case WKT_TIMESTAMP: *st = enc_timestamp(c, (const void *)m, out); return true;
    case WKT_DURATION: *st = enc_duration(c, (const void *)m, out); return true;
    case WKT_FIELD_MASK: *st = enc_field_mask(c, (const void *)m, out); return true;
    case WKT_ANY: *st = enc_any(c, (const void *)m, out); return true;
    case WKT_WRAPPER: {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[0];
        *st = pbj_enc_value(c, f, (const char *)m + f->offset, out);
        return true;
    }
    default: return false;
    }
}

bool pbj_wkt_decode(pbj_ctx *c, const json_t *v, ProtobufCMessage *m, ds_status *st)
{
    switch (wkt_of(m->descriptor)) {
    case WKT_TIMESTAMP: *st = dec_timestamp(c, v, (void *)m); return true;
    case WKT_DURATION: *st = dec_duration(c, v, (void *)m); return true;
    case WKT_FIELD_MASK: *st = dec_field_mask(c, v, (void *)m); return true;
    case WKT_ANY: *st = dec_any(c, v, (void *)m); return true;
    case WKT_WRAPPER: {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[0];
        *st = pbj_dec_value(c, f, v, (char *)m + f->offset);
        return true;
    }
    default: return false;
    }
}

/* ---- base64 ------------------------------------------------------------- */

ds_status pbj_base64_encode(pbj_ctx *c, const ProtobufCBinaryData *data, json_t **out)
{
    if (data->len > (size_t)INT32_MAX / 2)
        return pbj_fail(c, "bytes field too large");
    unsigned char *buf = malloc(4 * ((data->len + 2) / 3) + 1);
    if (buf == NULL)
        return ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
    int n = EVP_EncodeBlock(buf, data->data != NULL ? data->data : (const unsigned char *)"",
                            (int)data->len);
    *out = json_stringn((const char *)buf, (size_t)n);
    free(buf);
    return *out != NULL ? DS_OK : ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
}

/* Copy of text in the standard alphabet with padding; NULL if a character
 * is outside both alphabets or the length is impossible. */
static unsigned char *normalise_base64(const char *text, size_t len, size_t *out_len, size_t *pad)
{
    while (len > 0 && text[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return NULL;
    *pad = (4 - len % 4) % 4;
    *out_len = len + *pad;
    unsigned char *buf = malloc(*out_len + 1);
    if (buf == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '+' || ch == '/';
        if (!ok) {
            free(buf);
            return NULL;
        }
        buf[i] = (unsigned char)ch;
    }
    memset(buf + len, '=', *pad);
    buf[*out_len] = '\0';
    return buf;
}

ds_status pbj_base64_decode(pbj_ctx *c, const char *text, ProtobufCBinaryData *out)
{
    size_t len = 0, pad = 0;
    if (strlen(text) > (size_t)INT32_MAX / 2)
        return pbj_fail(c, "bytes field too large");
    unsigned char *norm = normalise_base64(text, strlen(text), &len, &pad);
    if (norm == NULL)
        return pbj_fail(c, "invalid base64");
    ds_status st = DS_OK;
    out->data = pbj_alloc(c, len / 4 * 3 + 1);
    if (out->data == NULL) {
        st = DS_ERR_NOMEM;
        goto out;
    }
    int n = len == 0 ? 0 : EVP_DecodeBlock(out->data, norm, (int)len);
    if (n < 0) {
        st = pbj_fail(c, "invalid base64");
        goto out;
    }
    out->len = (size_t)n - pad;
out:
    free(norm);
    return st;
}
