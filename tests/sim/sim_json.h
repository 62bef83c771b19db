/* sim_json.h - small JSON helpers of dropship-sim: money, times, errors,
 * canonical form for idempotency comparisons.
 *
 * Money is kept in cents (long long) inside the simulator and converted to
 * the contract's {"currency_code","units","nanos"} at the edges.
 * Threads: all functions are reentrant.
 */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum { SIM_TIME_LEN = 32 };

/* New Money object for `cents` USD; caller owns the reference. */
json_t *simj_money(long long cents);

/* Parse a Money object into cents. Returns false (and leaves *cents alone)
 * when the shape is wrong, the currency is not USD or nanos is not a whole
 * number of cents. */
bool simj_money_cents(const json_t *money, long long *cents);

/* New {"error":{"code":code,"message":msg}}; caller owns the reference. */
json_t *simj_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* RFC 3339 UTC ("2026-11-22T08:15:00Z") of `t` into buf. */
void simj_time(char buf[SIM_TIME_LEN], time_t t);

/* Seconds of the monotonic clock (fractional): scaled-time progress. */
double simj_mono(void);

/* New JSON string of the RFC 3339 form of `t`. */
json_t *simj_time_json(time_t t);

/* Canonical text of `v` (sorted keys, compact); caller frees with free().
 * NULL on allocation failure. */
char *simj_canonical(const json_t *v);

/* obj[key] if it is a string of 1..max bytes, else NULL. */
const char *simj_str(const json_t *obj, const char *key, size_t max);

/* obj[key] if it is an integer in [lo, hi]; otherwise returns false. */
bool simj_int(const json_t *obj, const char *key, long long lo, long long hi, long long *out);

/* Amount in cents as a JSON real in dollars (CJ's number style). */
json_t *simj_dollars(long long cents);

/* 64-bit FNV-1a hash of a string: the source of per-SKU determinism. */
unsigned long long simj_hash(const char *s);

#endif
