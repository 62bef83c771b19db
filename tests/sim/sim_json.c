/* sim_json.c - JSON helpers of dropship-sim (money, times, errors). */
#include "sim_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *simj_money(long long cents)
{
    char units[32];
    long long u = cents / 100;
    long long n = (cents % 100) * 10000000LL;

    snprintf(units, sizeof units, "%lld", u);
    return json_pack("{s:s,s:s,s:I}", "currency_code", "USD", "units", units, "nanos",
                     (json_int_t)n);
}

bool simj_money_cents(const json_t *money, long long *cents)
{
    const char *cur = simj_str(money, "currency_code", 8);
    const char *units = simj_str(money, "units", 24);
    json_t *nanos = json_is_object(money) ? json_object_get(money, "nanos") : NULL;
    long long n = 0;
    long long u;
    char *end = NULL;

    if (cur == NULL || strcmp(cur, "USD") != 0 || units == NULL)
        return false;
    if (nanos != NULL && !json_is_integer(nanos))
        return false;
    if (nanos != NULL)
        n = json_integer_value(nanos);
    u = strtoll(units, &end, 10);
    if (*end != '\0' || n % 10000000LL != 0 || n <= -1000000000LL || n >= 1000000000LL)
        return false;
    if (u > 100000000000LL || u < -100000000000LL)
        return false;
    *cents = u * 100 + n / 10000000LL;
    return true;
}

json_t *simj_error(const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
}

void simj_time(char buf[SIM_TIME_LEN], time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, SIM_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double simj_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

json_t *simj_time_json(time_t t)
{
    char buf[SIM_TIME_LEN];

    simj_time(buf, t);
    return json_string(buf);
}

char *simj_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

const char *simj_str(const json_t *obj, const char *key, size_t max)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    size_t len;

    if (!json_is_string(v))
        return NULL;
    len = json_string_length(v);
    if (len == 0 || len > max || strlen(json_string_value(v)) != len)
        return NULL;
    return json_string_value(v);
}

bool simj_int(const json_t *obj, const char *key, long long lo, long long hi, long long *out)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = json_integer_value(v);
    return true;
}

json_t *simj_dollars(long long cents)
{
    return json_real((double)cents / 100.0);
}

unsigned long long simj_hash(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}
