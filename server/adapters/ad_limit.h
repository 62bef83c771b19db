/* ad_limit.h - per-endpoint admission: a token bucket (request rate), a cap
 * on concurrent requests, and a pause set by the endpoint's Retry-After.
 *
 * Pure data with an injected clock: every function takes `now_ms` (any
 * monotonic millisecond clock) and never reads a clock itself, so tests
 * drive time by hand. ad_http keeps one ad_limit per endpoint key and only
 * touches it from its loop thread.
 *
 * Threads: none of its own; an ad_limit belongs to one thread at a time.
 */
#ifndef AD_LIMIT_H
#define AD_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Limits of one endpoint. Zero means "no limit" for each field. */
typedef struct ad_limit_config {
    double rate_per_s;   /* sustained requests per second (token refill rate) */
    double burst;        /* bucket size: requests allowed back to back (>= 1; 0 -> max(1, rate)) */
    int max_concurrency; /* requests in flight at once */
} ad_limit_config;

/* A token bucket. Tokens are fractional; one request takes one token. */
typedef struct ad_bucket {
    double rate_per_s; /* 0 = unlimited */
    double burst;
    double tokens;
    int64_t last_ms;   /* time of the last refill */
} ad_bucket;

/* Start full at `now_ms`. rate 0 = unlimited; burst <= 0 -> max(1, rate). */
void ad_bucket_init(ad_bucket *b, double rate_per_s, double burst, int64_t now_ms);

/* Take one token if there is one; true when taken. */
bool ad_bucket_take(ad_bucket *b, int64_t now_ms);

/* Milliseconds until a token is available (0 = now). */
int64_t ad_bucket_wait_ms(ad_bucket *b, int64_t now_ms);

/* Everything that decides whether an endpoint may start a request now. */
typedef struct ad_limit {
    ad_bucket bucket;
    int max_concurrency;   /* 0 = unlimited */
    int in_flight;         /* requests started and not yet finished */
    int64_t paused_until;  /* no start before this time (Retry-After); 0 = not paused */
} ad_limit;

/* Initialise from a config at `now_ms`. */
void ad_limit_init(ad_limit *l, const ad_limit_config *cfg, int64_t now_ms);

/* Change the limits, keeping in_flight, the pause and the tokens the
 * bucket holds at now_ms (capped at the new burst): reconfiguring never
 * hands out requests the old limit had not earned. */
void ad_limit_reconfigure(ad_limit *l, const ad_limit_config *cfg, int64_t now_ms);

/* Try to start one request: succeeds (true; takes a token, in_flight++)
 * when not paused, under the concurrency cap and a token is there.
 * Otherwise false, and *wake_ms (if not NULL) is set to how long until a
 * start could succeed for time-based reasons, or -1 when only a finishing
 * request can free the way (concurrency cap). */
bool ad_limit_try_start(ad_limit *l, int64_t now_ms, int64_t *wake_ms);

/* A started request finished. */
void ad_limit_finish(ad_limit *l);

/* Stop starting requests for `delay_ms` from now (Retry-After). A pause
 * never shortens an existing, longer one. */
void ad_limit_pause(ad_limit *l, int64_t now_ms, int64_t delay_ms);

/* How long until a waiting request with `ahead` others queued before it
 * could start, as far as time decides: the rest of the pause, then the
 * time the bucket needs to earn ahead + 1 tokens (tokens earned during the
 * pause count, up to the burst). Returns that many ms (0 = now), or -1
 * when nothing time-based holds it back and the concurrency cap is full
 * (only a finishing request can free the way). Refills the bucket. */
int64_t ad_limit_eta_ms(ad_limit *l, int64_t now_ms, int ahead);

#endif
