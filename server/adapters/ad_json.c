/* ad_json.c - checked JSON getters that name the failing path. */
#include "ad_json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ad_jpath_root(ad_jpath *p)
{
    p->s[0] = '\0';
}

void ad_jpath_key(ad_jpath *out, const ad_jpath *parent, const char *key)
{
    const char *ps = parent != NULL ? parent->s : "";

    /* a path longer than the buffer is cut: it only names a field in a message */
    if (snprintf(out->s, sizeof out->s, "%s%s%s", ps, ps[0] != '\0' ? "." : "", key) < 0)
        out->s[0] = '\0';
}

void ad_jpath_index(ad_jpath *out, const ad_jpath *parent, size_t i)
{
    if (snprintf(out->s, sizeof out->s, "%s[%zu]", parent != NULL ? parent->s : "", i) < 0)
        out->s[0] = '\0';
}

/* Set DS_ERR_INTERNAL "<path>: <what>" for parent.key. */
static ds_status fail(ds_error *err, const ad_jpath *parent, const char *key, const char *what)
{
    ad_jpath p;

    ad_jpath_key(&p, parent, key);
    return ds_error_set(err, DS_ERR_INTERNAL, "%s: %s", p.s, what);
}

/* The member, or NULL when absent or null. Errors when required and absent,
 * or when the parent is not an object. */
static ds_status member(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                        json_t **out, ds_error *err)
{
    json_t *v;

    *out = NULL;
    if (!json_is_object(obj)) {
        if (parent != NULL && parent->s[0] != '\0')
            return ds_error_set(err, DS_ERR_INTERNAL, "%s: expected object", parent->s);
        return ds_error_set(err, DS_ERR_INTERNAL, "body: expected a JSON object");
    }
    v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return required ? fail(err, parent, key, "required") : DS_OK;
    *out = v;
    return DS_OK;
}

ds_status ad_json_parse(const char *body, size_t len, size_t max_len, const char *what,
                        json_t **out, ds_error *err)
{
    json_error_t je;
    size_t cap = max_len > 0 ? max_len : AD_JSON_DEFAULT_MAX;

    *out = NULL;
    if (len > cap)
        return ds_error_set(err, DS_ERR_RESOURCE_EXHAUSTED, "%s: body of %zu bytes exceeds %zu",
                            what, len, cap);
    if (body == NULL || len == 0)
        return ds_error_set(err, DS_ERR_INTERNAL, "%s: empty body, expected JSON", what);
    *out = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (*out == NULL)
        return ds_error_set(err, DS_ERR_INTERNAL, "%s: malformed JSON at line %d column %d: %s",
                            what, je.line, je.column, je.text);
    if (!json_is_object(*out) && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return ds_error_set(err, DS_ERR_INTERNAL, "%s: expected a JSON object or array", what);
    }
    return DS_OK;
}

ds_status ad_json_object(const json_t *obj, const ad_jpath *parent, const char *key,
                         bool required, json_t **out, ds_error *err)
{
    ds_status st = member(obj, parent, key, required, out, err);

    if (st == DS_OK && *out != NULL && !json_is_object(*out)) {
        *out = NULL;
        return fail(err, parent, key, "expected object");
    }
    return st;
}

ds_status ad_json_array(const json_t *obj, const ad_jpath *parent, const char *key,
                        bool required, size_t max_items, json_t **out, ds_error *err)
{
    char what[64];
    ds_status st = member(obj, parent, key, required, out, err);

    if (st != DS_OK || *out == NULL)
        return st;
    if (!json_is_array(*out)) {
        *out = NULL;
        return fail(err, parent, key, "expected array");
    }
    if (max_items > 0 && json_array_size(*out) > max_items) {
        snprintf(what, sizeof what, "more than %zu items", max_items);
        *out = NULL;
        return fail(err, parent, key, what);
    }
    return DS_OK;
}

/* The string member or NULL (optional absent). */
static ds_status str_member(const json_t *obj, const ad_jpath *parent, const char *key,
                            bool required, const char **out, ds_error *err)
{
    json_t *v;
    ds_status st = member(obj, parent, key, required, &v, err);

    *out = NULL;
    if (st != DS_OK || v == NULL)
        return st;
    if (!json_is_string(v))
        return fail(err, parent, key, "expected string");
    *out = json_string_value(v);
    if (required && (*out)[0] == '\0')
        return fail(err, parent, key, "must not be empty");
    if (strlen(*out) != json_string_length(v))
        return fail(err, parent, key, "contains a NUL character");
    return DS_OK;
}

ds_status ad_json_str(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                      char *buf, size_t cap, ds_error *err)
{
    const char *s = NULL;
    char what[64];
    ds_status st = str_member(obj, parent, key, required, &s, err);

    buf[0] = '\0';
    if (st != DS_OK || s == NULL)
        return st;
    if (strlen(s) >= cap) {
        snprintf(what, sizeof what, "longer than %zu bytes", cap - 1);
        return fail(err, parent, key, what);
    }
    memcpy(buf, s, strlen(s) + 1);
    return DS_OK;
}

ds_status ad_json_text(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                       char *buf, size_t cap, ds_error *err)
{
    const char *s = NULL;
    size_t n;
    ds_status st = str_member(obj, parent, key, required, &s, err);

    buf[0] = '\0';
    if (st != DS_OK || s == NULL)
        return st;
    n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* not mid-character */
            n--;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return DS_OK;
}

ds_status ad_json_int(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                      int64_t min, int64_t max, int64_t *out, ds_error *err)
{
    json_t *v;
    char what[96];
    ds_status st = member(obj, parent, key, required, &v, err);

    *out = 0;
    if (st != DS_OK || v == NULL)
        return st;
    if (!json_is_integer(v))
        return fail(err, parent, key, "expected integer");
    if (json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(what, sizeof what, "%lld out of range %lld..%lld", (long long)json_integer_value(v),
                 (long long)min, (long long)max);
        return fail(err, parent, key, what);
    }
    *out = json_integer_value(v);
    return DS_OK;
}

ds_status ad_json_bool(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                       bool *out, ds_error *err)
{
    json_t *v;
    ds_status st = member(obj, parent, key, required, &v, err);

    *out = false;
    if (st != DS_OK || v == NULL)
        return st;
    if (!json_is_boolean(v))
        return fail(err, parent, key, "expected boolean");
    *out = json_is_true(v);
    return DS_OK;
}

ds_status ad_json_enum(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                       const ad_enum_entry *table, int absent, int *out, ds_error *err)
{
    const char *s = NULL;
    char what[128];
    ds_status st = str_member(obj, parent, key, required, &s, err);

    *out = absent;
    if (st != DS_OK || s == NULL)
        return st;
    for (const ad_enum_entry *e = table; e->text != NULL; e++) {
        if (strcmp(e->text, s) == 0) {
            *out = e->value;
            return DS_OK;
        }
    }
    snprintf(what, sizeof what, "unknown value \"%.60s\"", s);
    return fail(err, parent, key, what);
}

/* Decimal int64 text, optional leading '-', no spaces or '+'. */
static bool parse_units(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (s[0] == '\0' || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool currency_ok(const char *c)
{
    return strlen(c) == 3 && isupper((unsigned char)c[0]) && isupper((unsigned char)c[1]) &&
           isupper((unsigned char)c[2]);
}

ds_status ad_json_money(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                        ad_money *out, ds_error *err)
{
    json_t *m;
    ad_jpath p;
    char units[32];
    int64_t nanos = 0;
    ds_status st = ad_json_object(obj, parent, key, required, &m, err);

    memset(out, 0, sizeof *out);
    if (st != DS_OK || m == NULL)
        return st;
    ad_jpath_key(&p, parent, key);
    st = ad_json_str(m, &p, "currency_code", true, out->currency, sizeof out->currency, err);
    if (st == DS_OK && !currency_ok(out->currency))
        st = fail(err, &p, "currency_code", "expected three upper-case letters");
    if (st == DS_OK)
        st = ad_json_str(m, &p, "units", true, units, sizeof units, err);
    if (st == DS_OK && !parse_units(units, &out->units))
        st = fail(err, &p, "units", "expected a decimal int64 string");
    if (st == DS_OK)
        st = ad_json_int(m, &p, "nanos", false, -999999999, 999999999, &nanos, err);
    if (st == DS_OK && ((out->units > 0 && nanos < 0) || (out->units < 0 && nanos > 0)))
        st = fail(err, &p, "nanos", "sign differs from units");
    out->nanos = (int32_t)nanos;
    return st;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Read exactly n digits. */
static bool digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static bool expect(const char **s, char c)
{
    if (**s != c)
        return false;
    (*s)++;
    return true;
}

/* Fraction ".123456" -> ms (digits past the third are dropped). */
static bool fraction(const char **s, int *ms)
{
    int n = 0;

    *ms = 0;
    if (**s != '.')
        return true;
    (*s)++;
    while (isdigit((unsigned char)**s)) {
        if (n < 3)
            *ms = *ms * 10 + (**s - '0');
        n++;
        (*s)++;
    }
    for (int i = n; i < 3; i++)
        *ms *= 10;
    return n > 0;
}

/* "Z" or "+hh:mm"/"-hh:mm" -> offset seconds east of UTC. */
static bool zone(const char **s, int *off)
{
    int sign;
    int hh;
    int mm;

    if (**s == 'Z' || **s == 'z') {
        (*s)++;
        *off = 0;
        return true;
    }
    if (**s != '+' && **s != '-')
        return false;
    sign = **s == '-' ? -1 : 1;
    (*s)++;
    if (!digits(s, 2, &hh) || !expect(s, ':') || !digits(s, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *off = sign * (hh * 3600 + mm * 60);
    return true;
}

bool ad_time_parse_rfc3339(const char *s, int64_t *out_ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, ms, off;
    time_t t;

    if (s == NULL || !digits(&s, 4, &y) || !expect(&s, '-') || !digits(&s, 2, &mo) ||
        !expect(&s, '-') || !digits(&s, 2, &d))
        return false;
    if (*s != 'T' && *s != 't' && *s != ' ')
        return false;
    s++;
    if (!digits(&s, 2, &h) || !expect(&s, ':') || !digits(&s, 2, &mi) || !expect(&s, ':') ||
        !digits(&s, 2, &sec) || !fraction(&s, &ms) || !zone(&s, &off) || *s != '\0')
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 ||
        mi > 59 || sec > 60 || y < 1970)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec > 59 ? 59 : sec; /* a leap second reads as :59 */
    t = timegm(&tm);
    *out_ms = ((int64_t)t - off) * 1000 + ms;
    return true;
}

ds_status ad_json_time(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                       int64_t *out_ms, ds_error *err)
{
    const char *s = NULL;
    ds_status st = str_member(obj, parent, key, required, &s, err);

    *out_ms = 0;
    if (st != DS_OK || s == NULL)
        return st;
    if (!ad_time_parse_rfc3339(s, out_ms))
        return fail(err, parent, key, "expected an RFC 3339 time");
    return DS_OK;
}

void ad_time_format(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *ad_money_json(const ad_money *m)
{
    char units[32];

    snprintf(units, sizeof units, "%lld", (long long)m->units);
    return json_pack("{s:s,s:s,s:i}", "currency_code", m->currency, "units", units, "nanos",
                     (int)m->nanos);
}

bool ad_money_equal(const ad_money *a, const ad_money *b)
{
    return strcmp(a->currency, b->currency) == 0 && a->units == b->units && a->nanos == b->nanos;
}

bool ad_money_from_decimal(double v, const char *currency, ad_money *out)
{
    double cents;
    long long c;

    if (!isfinite(v) || fabs(v) > 1e15 || currency == NULL || !currency_ok(currency))
        return false;
    cents = round(v * 100.0);
    c = (long long)cents;
    memset(out, 0, sizeof *out);
    snprintf(out->currency, sizeof out->currency, "%s", currency);
    out->units = c / 100;
    out->nanos = (int32_t)((c % 100) * 10000000);
    return true;
}
