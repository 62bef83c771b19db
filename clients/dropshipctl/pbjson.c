/* pbjson.c - proto3 JSON mapping: messages, fields, maps and scalars. */
#include "pbjson_internal.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *malloc_alloc(void *data, size_t size)
{
    return malloc(size);
}

static void malloc_free(void *data, void *ptr)
{
    free(ptr);
}

ProtobufCAllocator pbj_malloc_allocator = {malloc_alloc, malloc_free, NULL};

/* ---- context helpers ---------------------------------------------------- */

ds_status pbj_fail(pbj_ctx *c, const char *fmt, ...)
{
    char text[DS_ERROR_MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (c->path_len == 0)
        return ds_error_set(c->err, DS_ERR_INVALID, "%s", text);
    ds_error_violation(c->err, c->path, "%s", text);
    return ds_error_set(c->err, DS_ERR_INVALID, "field \"%s\": %s", c->path, text);
}

static size_t path_append(pbj_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_append(pbj_ctx *c, const char *fmt, ...)
{
    size_t old = c->path_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + old, sizeof c->path - old, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->path_len = strnlen(c->path, sizeof c->path);
    return old;
}

size_t pbj_path_field(pbj_ctx *c, const char *name)
{
    return path_append(c, c->path_len == 0 ? "%s" : ".%s", name);
}

size_t pbj_path_index(pbj_ctx *c, size_t i)
{
    return path_append(c, "[%zu]", i);
}

size_t pbj_path_key(pbj_ctx *c, const char *key)
{
    return path_append(c, "[\"%s\"]", key);
}

void pbj_path_pop(pbj_ctx *c, size_t len)
{
    c->path_len = len;
    c->path[len] = '\0';
}

void *pbj_alloc(pbj_ctx *c, size_t size)
{
    void *p = c->alloc->alloc(c->alloc->allocator_data, size == 0 ? 1 : size);
    if (p == NULL) {
        ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memset(p, 0, size);
    return p;
}

const char *pbj_json_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

/* ---- names -------------------------------------------------------------- */

size_t pbjson_json_name(const char *field_name, char *buf, size_t cap)
{
    size_t n = 0;
    int upper_next = 0;
    for (const char *p = field_name; *p != '\0'; p++) {
        if (*p == '_') {
            upper_next = 1;
            continue;
        }
        char ch = *p;
        if (upper_next && ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        upper_next = 0;
        if (n + 1 < cap)
            buf[n] = ch;
        n++;
    }
    if (cap > 0)
        buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* The entry message name protoc gives a map field: "item_counts" ->
 * "ItemCountsEntry". */
static void map_entry_name(const char *field_name, char *buf, size_t cap)
{
    size_t n = pbjson_json_name(field_name, buf, cap);
    if (n > 0 && buf[0] >= 'a' && buf[0] <= 'z')
        buf[0] = (char)(buf[0] - 'a' + 'A');
    if (n < cap)
        snprintf(buf + n, cap - n, "Entry");
}

int pbjson_is_map_entry(const ProtobufCMessageDescriptor *desc, const char *field_name)
{
    char want[PBJSON_MAX_PATH];
    if (desc == NULL || desc->n_fields != 2)
        return 0;
    map_entry_name(field_name, want, sizeof want);
    const ProtobufCFieldDescriptor *k = &desc->fields[0];
    const ProtobufCFieldDescriptor *v = &desc->fields[1];
    return strcmp(desc->short_name, want) == 0 && k->id == 1 && strcmp(k->name, "key") == 0 &&
           v->id == 2 && strcmp(v->name, "value") == 0;
}

static int field_is_map(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
           pbjson_is_map_entry(f->descriptor, f->name);
}

/* ---- presence ----------------------------------------------------------- */

static const void *member_of(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (const char *)m + f->offset;
}

static const void *quantifier_of(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (const char *)m + f->quantifier_offset;
}

/* Size of one element of field f in a repeated array. */
static size_t element_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(int64_t);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    default: return sizeof(int32_t); /* 32-bit ints, float, enum */
    }
}

/* proto3 "default value": what an unset field without presence holds. */
static int is_zero(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return s == NULL || s[0] == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(const void *const *)p == NULL;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
    case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
    default: break;
    }
    if (element_size(f->type) == sizeof(int64_t))
        return *(const int64_t *)p == 0;
    return *(const int32_t *)p == 0;
}

/* Whether field f of m is written on output (the rules protobuf-c packs by). */
static int field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *p = member_of(m, f);
    int ptr_type = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)quantifier_of(m, f) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)quantifier_of(m, f) != f->id)
            return 0;
        return !ptr_type || *(const void *const *)p != NULL;
    }
    if (f->label == PROTOBUF_C_LABEL_NONE)
        return !is_zero(f, p);
    if (ptr_type) {
        const void *v = *(const void *const *)p;
        return v != NULL && (f->label == PROTOBUF_C_LABEL_REQUIRED || v != f->default_value);
    }
    return f->label == PROTOBUF_C_LABEL_REQUIRED || *(const protobuf_c_boolean *)quantifier_of(m, f);
}

/* ---- encoding ----------------------------------------------------------- */

/* A float widened to the double nearest its shortest decimal form, so that
 * 0.1f prints as 0.1 rather than 0.100000001490116. */
static double float_for_json(float x)
{
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x)
            return strtod(buf, NULL);
    }
    return (double)x;
}

static json_t *enc_double(double x)
{
    if (isnan(x))
        return json_string("NaN");
    if (isinf(x))
        return json_string(x > 0 ? "Infinity" : "-Infinity");
    return json_real(x);
}

static json_t *enc_enum(const ProtobufCEnumDescriptor *ed, int32_t v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
    return ev != NULL ? json_string(ev->name) : json_integer(v);
}

static json_t *enc_int64(int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return json_string(buf);
}

static json_t *enc_uint64(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return json_string(buf);
}

/* Scalars without allocation failure modes other than NOMEM. */
static json_t *enc_scalar(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return enc_int64(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return enc_uint64(*(const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT: return enc_double(float_for_json(*(const float *)p));
    case PROTOBUF_C_TYPE_DOUBLE: return enc_double(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: return enc_enum(f->descriptor, *(const int32_t *)p);
    default: return NULL;
    }
}

ds_status pbj_enc_value(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const void *p, json_t **out)
{
    *out = NULL;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
        if (sub == NULL) {
            *out = json_object();
            return *out != NULL ? DS_OK : ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
        }
        return pbj_enc_message(c, sub, out);
    }
    if (f->type == PROTOBUF_C_TYPE_BYTES)
        return pbj_base64_encode(c, p, out);
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(const char *const *)p;
        *out = json_string(s != NULL ? s : "");
        return *out != NULL ? DS_OK : pbj_fail(c, "string is not valid UTF-8");
    }
    *out = enc_scalar(f, p);
    return *out != NULL ? DS_OK : ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
}

/* A map key as JSON object key text. */
static ds_status enc_map_key(pbj_ctx *c, const ProtobufCFieldDescriptor *kf, const void *p,
                             char *buf, size_t cap)
{
    json_t *k = NULL;
    ds_status st = pbj_enc_value(c, kf, p, &k);
    if (st != DS_OK)
        return st;
    if (json_is_string(k))
        snprintf(buf, cap, "%s", json_string_value(k));
    else if (json_is_integer(k))
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(k));
    else
        snprintf(buf, cap, "%s", json_is_true(k) ? "true" : "false");
    json_decref(k);
    return DS_OK;
}

static ds_status enc_map(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const void *arr, size_t n,
                         json_t **out)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    ds_status st = DS_OK;
    json_t *obj = json_object();
    char key[1024];
    if (obj == NULL)
        return ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *e = ((const ProtobufCMessage *const *)arr)[i];
        json_t *v = NULL;
        st = enc_map_key(c, &ed->fields[0], member_of(e, &ed->fields[0]), key, sizeof key);
        if (st != DS_OK)
            goto out;
        size_t mark = pbj_path_key(c, key);
        st = pbj_enc_value(c, &ed->fields[1], member_of(e, &ed->fields[1]), &v);
        pbj_path_pop(c, mark);
        if (st != DS_OK)
            goto out;
        json_object_set_new(obj, key, v);
    }
out:
    if (st != DS_OK)
        json_decref(obj);
    else
        *out = obj;
    return st;
}

static ds_status enc_repeated(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const void *arr,
                              size_t n, json_t **out)
{
    ds_status st = DS_OK;
    json_t *list = json_array();
    size_t esz = element_size(f->type);
    if (list == NULL)
        return ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && st == DS_OK; i++) {
        json_t *v = NULL;
        size_t mark = pbj_path_index(c, i);
        st = pbj_enc_value(c, f, (const char *)arr + i * esz, &v);
        pbj_path_pop(c, mark);
        if (st == DS_OK)
            json_array_append_new(list, v);
    }
    if (st != DS_OK)
        json_decref(list);
    else
        *out = list;
    return st;
}

static ds_status enc_field(pbj_ctx *c, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                           json_t **out)
{
    const void *p = member_of(m, f);
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return pbj_enc_value(c, f, p, out);
    const void *arr = *(const void *const *)p;
    size_t n = *(const size_t *)quantifier_of(m, f);
    if (field_is_map(f))
        return enc_map(c, f, arr, n, out);
    return enc_repeated(c, f, arr, n, out);
}

ds_status pbj_enc_message(pbj_ctx *c, const ProtobufCMessage *m, json_t **out)
{
    ds_status st = DS_OK;
    char name[PBJSON_MAX_PATH];
    *out = NULL;
    if (c->depth >= PBJSON_MAX_DEPTH)
        return pbj_fail(c, "nested deeper than %d levels", PBJSON_MAX_DEPTH);
    if (pbj_wkt_encode(c, m, out, &st))
        return st;
    json_t *obj = json_object();
    if (obj == NULL)
        return ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
    c->depth++;
    for (unsigned i = 0; i < m->descriptor->n_fields && st == DS_OK; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
        json_t *v = NULL;
        if (!field_present(m, f))
            continue;
        pbjson_json_name(f->name, name, sizeof name);
        size_t mark = pbj_path_field(c, name);
        st = enc_field(c, m, f, &v);
        pbj_path_pop(c, mark);
        if (st == DS_OK)
            json_object_set_new(obj, name, v);
    }
    c->depth--;
    if (st != DS_OK)
        json_decref(obj);
    else
        *out = obj;
    return st;
}

ds_status pbjson_encode(const ProtobufCMessage *msg, json_t **out, ds_error *err)
{
    pbj_ctx c = {.alloc = &pbj_malloc_allocator, .err = err};
    if (out == NULL || msg == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "pbjson_encode: NULL argument");
    return pbj_enc_message(&c, msg, out);
}

/* ---- decoding: numbers -------------------------------------------------- */

/* An integral double within [lo, hi] (as doubles). */
static ds_status real_to_int(pbj_ctx *c, double d, double lo, double hi, int64_t *out)
{
    if (isnan(d) || isinf(d))
        return pbj_fail(c, "expected an integer, got %g", d);
    if (d != trunc(d))
        return pbj_fail(c, "expected an integer, got %g", d);
    if (d < lo || d > hi)
        return pbj_fail(c, "value %g out of range", d);
    *out = (int64_t)d;
    return DS_OK;
}

/* Parse a decimal integer string completely (strtoll/strtoull). */
static ds_status string_to_int(pbj_ctx *c, const char *s, int is_unsigned, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (s[0] == '\0' || s[0] == ' ' || s[0] == '+' || (is_unsigned && s[0] == '-'))
        return pbj_fail(c, "expected an integer, got \"%s\"", s);
    if (is_unsigned)
        *out = (int64_t)strtoull(s, &end, 10);
    else
        *out = strtoll(s, &end, 10);
    if (*end != '\0') {
        double d = strtod(s, &end); /* "1e3" and "5.0" are integers too */
        if (*end != '\0')
            return pbj_fail(c, "expected an integer, got \"%s\"", s);
        return real_to_int(c, d, is_unsigned ? 0 : -9223372036854775808.0,
                           is_unsigned ? 18446744073709549568.0 : 9223372036854774784.0, out);
    }
    if (errno == ERANGE)
        return pbj_fail(c, "value \"%s\" out of range", s);
    return DS_OK;
}

/* Any JSON integer form into a 64-bit value; the caller checks narrower
 * ranges. For unsigned fields the bits are those of a uint64_t. */
static ds_status json_to_int(pbj_ctx *c, const json_t *v, int is_unsigned, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        if (is_unsigned && *out < 0)
            return pbj_fail(c, "value %" PRId64 " out of range", *out);
        return DS_OK;
    }
    if (json_is_real(v))
        return real_to_int(c, json_real_value(v), is_unsigned ? 0 : -9223372036854775808.0,
                           9223372036854774784.0, out);
    if (json_is_string(v))
        return string_to_int(c, json_string_value(v), is_unsigned, out);
    return pbj_fail(c, "expected an integer, got %s", pbj_json_type(v));
}

static ds_status dec_int32(pbj_ctx *c, const json_t *v, int is_unsigned, void *dst)
{
    int64_t x = 0;
    ds_status st = json_to_int(c, v, is_unsigned, &x);
    if (st != DS_OK)
        return st;
    if (is_unsigned ? (x < 0 || x > (int64_t)UINT32_MAX) : (x < INT32_MIN || x > INT32_MAX))
        return pbj_fail(c, "value %" PRId64 " out of range", x);
    if (is_unsigned)
        *(uint32_t *)dst = (uint32_t)x;
    else
        *(int32_t *)dst = (int32_t)x;
    return DS_OK;
}

static ds_status dec_double(pbj_ctx *c, const json_t *v, int is_float, void *dst)
{
    double d = 0;
    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        if (strcmp(s, "NaN") == 0)
            d = NAN;
        else if (strcmp(s, "Infinity") == 0)
            d = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            d = -INFINITY;
        else {
            d = strtod(s, &end);
            if (s[0] == '\0' || *end != '\0' || isnan(d) || isinf(d))
                return pbj_fail(c, "expected a number, got \"%s\"", s);
        }
    } else {
        return pbj_fail(c, "expected a number, got %s", pbj_json_type(v));
    }
    if (is_float && !isinf(d) && !isnan(d) && fabs(d) > FLT_MAX)
        return pbj_fail(c, "value %g out of range for float", d);
    if (is_float)
        *(float *)dst = (float)d;
    else
        *(double *)dst = d;
    return DS_OK;
}

static ds_status dec_enum(pbj_ctx *c, const ProtobufCEnumDescriptor *ed, const json_t *v, void *dst)
{
    if (json_is_string(v)) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
        if (ev == NULL)
            return pbj_fail(c, "unknown value \"%s\" of enum %s", json_string_value(v), ed->name);
        *(int32_t *)dst = ev->value;
        return DS_OK;
    }
    if (json_is_integer(v) || json_is_real(v))
        return dec_int32(c, v, 0, dst);
    return pbj_fail(c, "expected an enum name of %s, got %s", ed->name, pbj_json_type(v));
}

static ds_status dec_string(pbj_ctx *c, const json_t *v, void *dst)
{
    if (!json_is_string(v))
        return pbj_fail(c, "expected a string, got %s", pbj_json_type(v));
    size_t n = json_string_length(v);
    char *s = pbj_alloc(c, n + 1);
    if (s == NULL)
        return DS_ERR_NOMEM;
    memcpy(s, json_string_value(v), n);
    *(char **)dst = s;
    if (memchr(s, '\0', n) != NULL)
        return pbj_fail(c, "string contains a NUL character");
    return DS_OK;
}

/* ---- decoding: fields --------------------------------------------------- */

ds_status pbj_dec_value(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst)
{
    int64_t x = 0;
    ds_status st = DS_OK;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return dec_int32(c, v, 0, dst);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return dec_int32(c, v, 1, dst);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        st = json_to_int(c, v, f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_FIXED64,
                         &x);
        if (st == DS_OK)
            *(int64_t *)dst = x;
        return st;
    case PROTOBUF_C_TYPE_FLOAT: return dec_double(c, v, 1, dst);
    case PROTOBUF_C_TYPE_DOUBLE: return dec_double(c, v, 0, dst);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return pbj_fail(c, "expected true or false, got %s", pbj_json_type(v));
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return DS_OK;
    case PROTOBUF_C_TYPE_ENUM: return dec_enum(c, f->descriptor, v, dst);
    case PROTOBUF_C_TYPE_STRING: return dec_string(c, v, dst);
    case PROTOBUF_C_TYPE_BYTES:
        if (!json_is_string(v))
            return pbj_fail(c, "expected a base64 string, got %s", pbj_json_type(v));
        return pbj_base64_decode(c, json_string_value(v), dst);
    case PROTOBUF_C_TYPE_MESSAGE:
        return pbj_dec_message(c, v, f->descriptor, (ProtobufCMessage **)dst);
    }
    return pbj_fail(c, "unsupported field type");
}

/* A map key given as JSON object key text, parsed as the key field's type. */
static ds_status dec_map_key(pbj_ctx *c, const ProtobufCFieldDescriptor *kf, const char *key,
                             void *dst)
{
    ds_status st = DS_OK;
    json_t *k = NULL;
    if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
            return pbj_fail(c, "map key must be true or false");
        k = json_boolean(strcmp(key, "true") == 0);
    } else {
        k = json_string(key);
    }
    if (k == NULL)
        return ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
    st = pbj_dec_value(c, kf, k, dst);
    json_decref(k);
    return st;
}

static ds_status dec_map(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *v,
                         void *member, size_t *count)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const char *key = NULL;
    const json_t *val = NULL;
    if (!json_is_object(v))
        return pbj_fail(c, "expected an object (map), got %s", pbj_json_type(v));
    ProtobufCMessage **arr = pbj_alloc(c, json_object_size(v) * sizeof *arr);
    if (arr == NULL)
        return DS_ERR_NOMEM;
    *(ProtobufCMessage ***)member = arr;
    json_object_foreach((json_t *)v, key, val) {
        ProtobufCMessage *e = pbj_alloc(c, ed->sizeof_message);
        if (e == NULL)
            return DS_ERR_NOMEM;
        protobuf_c_message_init(ed, e);
        arr[(*count)++] = e;
        size_t mark = pbj_path_key(c, key);
        ds_status st = dec_map_key(c, &ed->fields[0], key, (char *)e + ed->fields[0].offset);
        if (st == DS_OK && json_is_null(val))
            st = pbj_fail(c, "map value must not be null");
        if (st == DS_OK)
            st = pbj_dec_value(c, &ed->fields[1], val, (char *)e + ed->fields[1].offset);
        pbj_path_pop(c, mark);
        if (st != DS_OK)
            return st;
    }
    return DS_OK;
}

static ds_status dec_repeated(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *v,
                              void *member, size_t *count)
{
    size_t esz = element_size(f->type);
    if (field_is_map(f))
        return dec_map(c, f, v, member, count);
    if (!json_is_array(v))
        return pbj_fail(c, "expected an array, got %s", pbj_json_type(v));
    char *arr = pbj_alloc(c, json_array_size(v) * esz);
    if (arr == NULL)
        return DS_ERR_NOMEM;
    *(char **)member = arr;
    /* The count covers every slot at once: empty slots are zero, which
     * protobuf_c_message_free_unpacked handles, so a failure frees cleanly. */
    *count = json_array_size(v);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        size_t mark = pbj_path_index(c, i);
        ds_status st = json_is_null(e) ? pbj_fail(c, "null is not allowed in a list")
                                       : pbj_dec_value(c, f, e, arr + i * esz);
        pbj_path_pop(c, mark);
        if (st != DS_OK)
            return st;
    }
    return DS_OK;
}

static ds_status dec_field(pbj_ctx *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                           const json_t *v)
{
    void *member = (char *)m + f->offset;
    void *q = (char *)m + f->quantifier_offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return dec_repeated(c, f, v, member, q);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t cur = *(uint32_t *)q;
        if (cur != 0 && cur != f->id)
            return pbj_fail(c, "another field of the same oneof is already set");
        *(uint32_t *)q = f->id;
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
               f->type != PROTOBUF_C_TYPE_MESSAGE) {
        *(protobuf_c_boolean *)q = 1;
    }
    return pbj_dec_value(c, f, v, member);
}

/* The field named `key` by its original or its JSON name; NULL if none. */
static const ProtobufCFieldDescriptor *field_by_key(const ProtobufCMessageDescriptor *d,
                                                    const char *key)
{
    char name[PBJSON_MAX_PATH];
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
    for (unsigned i = 0; f == NULL && i < d->n_fields; i++) {
        pbjson_json_name(d->fields[i].name, name, sizeof name);
        if (strcmp(name, key) == 0)
            f = &d->fields[i];
    }
    return f;
}

static ds_status dec_fields(pbj_ctx *c, const json_t *v, ProtobufCMessage *m, unsigned char *seen)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *key = NULL;
    const json_t *val = NULL;
    json_object_foreach((json_t *)v, key, val) {
        const ProtobufCFieldDescriptor *f = field_by_key(d, key);
        size_t mark = pbj_path_field(c, key);
        ds_status st = DS_OK;
        if (f == NULL) {
            st = ds_error_set(c->err, DS_ERR_INVALID, "unknown field \"%s\"", c->path);
            ds_error_violation(c->err, c->path, "unknown field");
        } else if (seen[f - d->fields]) {
            st = pbj_fail(c, "field given twice (by its JSON name and its proto name)");
        } else {
            seen[f - d->fields] = 1;
            if (!json_is_null(val))
                st = dec_field(c, m, f, val);
        }
        if (st != DS_OK)
            return st;
        pbj_path_pop(c, mark);
    }
    return DS_OK;
}

ds_status pbj_dec_message(pbj_ctx *c, const json_t *v, const ProtobufCMessageDescriptor *desc,
                          ProtobufCMessage **out)
{
    ds_status st = DS_OK;
    unsigned char *seen = NULL;
    if (c->depth >= PBJSON_MAX_DEPTH)
        return pbj_fail(c, "nested deeper than %d levels", PBJSON_MAX_DEPTH);
    ProtobufCMessage *m = pbj_alloc(c, desc->sizeof_message);
    if (m == NULL)
        return DS_ERR_NOMEM;
    protobuf_c_message_init(desc, m);
    *out = m; /* from here the caller frees m, complete or not */
    c->depth++;
    if (pbj_wkt_decode(c, v, m, &st))
        goto out;
    if (!json_is_object(v)) {
        st = pbj_fail(c, "expected an object (%s), got %s", desc->name, pbj_json_type(v));
        goto out;
    }
    seen = calloc(desc->n_fields + 1, 1);
    if (seen == NULL) {
        st = ds_error_set(c->err, DS_ERR_NOMEM, "out of memory");
        goto out;
    }
    st = dec_fields(c, v, m, seen);
out:
    c->depth--;
    free(seen);
    return st;
}

ds_status pbjson_decode(const json_t *json, const ProtobufCMessageDescriptor *desc,
                        ProtobufCAllocator *alloc, ProtobufCMessage **out, ds_error *err)
{
    pbj_ctx c = {.alloc = alloc != NULL ? alloc : &pbj_malloc_allocator, .err = err};
    ProtobufCMessage *m = NULL;
    if (out == NULL || json == NULL || desc == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "pbjson_decode: NULL argument");
    *out = NULL;
    ds_status st = pbj_dec_message(&c, json, desc, &m);
    if (st != DS_OK)
        protobuf_c_message_free_unpacked(m, c.alloc);
    else
        *out = m;
    return st;
}

ds_status pbjson_decode_text(const char *text, size_t len, const ProtobufCMessageDescriptor *desc,
                             ProtobufCAllocator *alloc, ProtobufCMessage **out, ds_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "invalid JSON at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    ds_status st = pbjson_decode(j, desc, alloc, out, err);
    json_decref(j);
    return st;
}
