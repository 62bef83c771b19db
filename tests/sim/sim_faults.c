/* sim_faults.c - fault rules and the seeded generator that fires them. */
#include "sim_faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rule {
    char prefix[256];
    char method[16];    /* "" = any */
    double probability; /* < 0: always (or per count) */
    long long count;    /* > 0: fires for the next `count` matches; 0 = unlimited */
    sim_fault fault;
    json_t *source; /* the rule as given, for listing */
} rule;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rule rules[SIM_FAULT_MAX_RULES];
static int n_rules;
static unsigned long long rng = 0x9E3779B97F4A7C15ULL;

/* One fault that fired, for GET /_sim/faults/log. */
typedef struct fired {
    sim_fault_type type;
    char method[8];
    char path[160];
    double time_ms; /* wall clock, ms since the epoch (sub-ms precision) */
} fired;

static fired fired_log[SIM_FAULT_LOG_MAX];
static int n_fired;
static long long n_fired_dropped; /* fired after the log was full */

static const char *const names[SIM_FAULT_TYPE_COUNT_] = {
    "none", "latency", "5xx", "429", "timeout", "malformed", "drop", "duplicate"};

const char *sim_fault_name(sim_fault_type t)
{
    if ((int)t < 0 || t >= SIM_FAULT_TYPE_COUNT_)
        return "none";
    return names[t];
}

/* Next value of a splitmix64 generator in [0, 1). Caller holds mu. */
static double rng_next(void)
{
    unsigned long long z = (rng += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static sim_fault_type type_parse(const char *s)
{
    for (int i = 1; s != NULL && i < SIM_FAULT_TYPE_COUNT_; i++)
        if (strcmp(s, names[i]) == 0)
            return (sim_fault_type)i;
    return SIM_FAULT_NONE;
}

/* Optional integer field in [lo, hi] with a default; false if present and bad. */
static bool opt_int(const json_t *o, const char *key, int lo, int hi, int dflt, int *out)
{
    json_t *v = json_object_get(o, key);

    *out = dflt;
    if (v == NULL)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = (int)json_integer_value(v);
    return true;
}

/* Fill r's numbers from the JSON rule; false with err on a bad value. */
static bool parse_numbers(const json_t *o, rule *r, char *err, size_t errlen)
{
    json_t *p = json_object_get(o, "probability");
    json_t *c = json_object_get(o, "count");
    sim_fault *f = &r->fault;
    bool ok = true;

    r->probability = -1.0;
    if (p != NULL && (!json_is_number(p) || json_number_value(p) < 0 || json_number_value(p) > 1))
        ok = false;
    if (p != NULL && ok)
        r->probability = json_number_value(p);
    if (c != NULL && (!json_is_integer(c) || json_integer_value(c) < 1))
        ok = false;
    r->count = json_is_integer(c) ? json_integer_value(c) : 0;
    ok = ok && opt_int(o, "latency_ms", 0, SIM_FAULT_MAX_HANG_MS, 200, &f->latency_ms);
    ok = ok && opt_int(o, "status", 500, 599, 503, &f->status);
    ok =
        ok && opt_int(o, "retry_after", 0, 3600, f->type == SIM_FAULT_429 ? 1 : 0, &f->retry_after);
    ok = ok && opt_int(o, "hang_ms", 0, SIM_FAULT_MAX_HANG_MS, 10000, &f->hang_ms);
    if (!ok)
        snprintf(err, errlen,
                 "bad number in fault rule (probability 0..1, count >= 1, "
                 "latency_ms/hang_ms 0..%d, status 500..599)",
                 SIM_FAULT_MAX_HANG_MS);
    return ok;
}

/* Build a rule from JSON; false with err on bad input. */
static bool rule_parse(const json_t *o, rule *r, char *err, size_t errlen)
{
    json_t *prefix = json_object_get(o, "prefix");
    json_t *method = json_object_get(o, "method");
    json_t *processed = json_object_get(o, "processed");

    memset(r, 0, sizeof *r);
    if (!json_is_object(o)) {
        snprintf(err, errlen, "a fault rule is a JSON object");
        return false;
    }
    r->fault.type = type_parse(json_string_value(json_object_get(o, "type")));
    if (r->fault.type == SIM_FAULT_NONE) {
        snprintf(err, errlen, "type must be latency|5xx|429|timeout|malformed|drop|duplicate");
        return false;
    }
    if ((prefix != NULL &&
         (!json_is_string(prefix) || json_string_length(prefix) >= sizeof r->prefix)) ||
        (method != NULL &&
         (!json_is_string(method) || json_string_length(method) >= sizeof r->method))) {
        snprintf(err, errlen, "prefix and method must be short strings");
        return false;
    }
    snprintf(r->prefix, sizeof r->prefix, "%s", prefix ? json_string_value(prefix) : "/");
    snprintf(r->method, sizeof r->method, "%s", method ? json_string_value(method) : "");
    r->fault.processed = json_is_true(processed);
    return parse_numbers(o, r, err, errlen);
}

bool sim_faults_add_json(const json_t *o, char *err, size_t errlen)
{
    rule r;
    bool ok = false;

    if (!rule_parse(o, &r, err, errlen))
        return false;
    pthread_mutex_lock(&mu);
    if (n_rules < SIM_FAULT_MAX_RULES) {
        r.source = json_deep_copy(o);
        rules[n_rules++] = r;
        ok = true;
    } else {
        snprintf(err, errlen, "at most %d fault rules", SIM_FAULT_MAX_RULES);
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

/* Value of one "k=v" item of a spec as JSON: number if it parses, else string. */
static json_t *spec_value(const char *key, const char *v)
{
    char *end = NULL;
    double d = strtod(v, &end);

    if (strcmp(key, "processed") == 0)
        return json_boolean(strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    if (end != v && *end == '\0' && strcmp(key, "prefix") != 0 && strcmp(key, "method") != 0)
        return strchr(v, '.') != NULL ? json_real(d) : json_integer((json_int_t)d);
    return json_string(v);
}

bool sim_faults_add_spec(const char *spec, char *err, size_t errlen)
{
    json_t *o = json_object();
    char buf[512];
    char *item = buf;
    bool ok = true;

    snprintf(buf, sizeof buf, "%s", spec);
    while (ok && item != NULL && *item != '\0') {
        char *next = strchr(item, ',');
        char *eq;
        if (next != NULL)
            *next++ = '\0';
        eq = strchr(item, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "fault spec items are key=value: '%s'", item);
            ok = false;
            break;
        }
        *eq = '\0';
        json_object_set_new(o, item, spec_value(item, eq + 1));
        item = next;
    }
    ok = ok && sim_faults_add_json(o, err, errlen);
    json_decref(o);
    return ok;
}

/* Does rule i fire for this request? Consumes counts and draws. Holds mu. */
static bool rule_fires(rule *r, const char *method, const char *path)
{
    if (strncmp(path, r->prefix, strlen(r->prefix)) != 0)
        return false;
    if (r->method[0] != '\0' && strcmp(r->method, method) != 0)
        return false;
    if (r->probability >= 0 && rng_next() >= r->probability)
        return false;
    return true;
}

/* Remove rule i. Caller holds mu. */
static void rule_remove(int i)
{
    json_decref(rules[i].source);
    memmove(&rules[i], &rules[i + 1], (size_t)(n_rules - i - 1) * sizeof rules[0]);
    n_rules--;
}

/* Note a fired fault in the log. Caller holds mu. */
static void log_fired(sim_fault_type type, const char *method, const char *path)
{
    struct timespec ts;
    fired *f;

    if (n_fired >= SIM_FAULT_LOG_MAX) {
        n_fired_dropped++;
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    f = &fired_log[n_fired++];
    f->type = type;
    snprintf(f->method, sizeof f->method, "%s", method);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->time_ms = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void sim_faults_pick(const char *method, const char *path, sim_fault *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(path, "/_sim/", 6) == 0)
        return;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_rules; i++) {
        if (!rule_fires(&rules[i], method, path))
            continue;
        *out = rules[i].fault;
        log_fired(out->type, method, path);
        if (rules[i].count > 0 && --rules[i].count == 0)
            rule_remove(i);
        break;
    }
    pthread_mutex_unlock(&mu);
}

json_t *sim_faults_list(void)
{
    json_t *a = json_array();

    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_rules; i++) {
        json_t *o = json_deep_copy(rules[i].source);
        if (rules[i].count > 0)
            json_object_set_new(o, "count", json_integer(rules[i].count));
        json_array_append_new(a, o);
    }
    pthread_mutex_unlock(&mu);
    return a;
}

json_t *sim_faults_log_json(void)
{
    json_t *a = json_array();
    json_t *o;

    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_fired; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:f}", "type",
                                           names[fired_log[i].type], "method",
                                           fired_log[i].method, "path", fired_log[i].path,
                                           "time_ms", fired_log[i].time_ms));
    o = json_pack("{s:o,s:I}", "fired", a, "dropped", (json_int_t)n_fired_dropped);
    pthread_mutex_unlock(&mu);
    return o;
}

void sim_faults_reset(unsigned long long seed)
{
    pthread_mutex_lock(&mu);
    while (n_rules > 0)
        rule_remove(n_rules - 1);
    n_fired = 0;
    n_fired_dropped = 0;
    rng = seed ^ 0x9E3779B97F4A7C15ULL;
    pthread_mutex_unlock(&mu);
}
