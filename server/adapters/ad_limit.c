/* ad_limit.c - token bucket, concurrency cap and Retry-After pause. */
#include "ad_limit.h"

#include <math.h>
#include <stddef.h>

static double bucket_size(double rate_per_s, double burst)
{
    if (burst >= 1.0)
        return burst;
    return rate_per_s > 1.0 ? rate_per_s : 1.0;
}

void ad_bucket_init(ad_bucket *b, double rate_per_s, double burst, int64_t now_ms)
{
    b->rate_per_s = rate_per_s > 0 ? rate_per_s : 0;
    b->burst = bucket_size(b->rate_per_s, burst);
    b->tokens = b->burst;
    b->last_ms = now_ms;
}

/* Add the tokens earned since last_ms. A clock that goes backwards earns
 * nothing (and does not move last_ms back). */
static void refill(ad_bucket *b, int64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return;
    b->tokens += (double)(now_ms - b->last_ms) * b->rate_per_s / 1000.0;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last_ms = now_ms;
}

bool ad_bucket_take(ad_bucket *b, int64_t now_ms)
{
    if (b->rate_per_s == 0)
        return true;
    refill(b, now_ms);
    /* tolerate rounding: 0.9999999 tokens after exact refills is one token */
    if (b->tokens < 1.0 - 1e-9)
        return false;
    b->tokens -= 1.0;
    if (b->tokens < 0)
        b->tokens = 0;
    return true;
}

int64_t ad_bucket_wait_ms(ad_bucket *b, int64_t now_ms)
{
    double missing;

    if (b->rate_per_s == 0)
        return 0;
    refill(b, now_ms);
    missing = 1.0 - b->tokens;
    if (missing <= 1e-9)
        return 0;
    return (int64_t)ceil(missing * 1000.0 / b->rate_per_s - 1e-6);
}

void ad_limit_init(ad_limit *l, const ad_limit_config *cfg, int64_t now_ms)
{
    l->in_flight = 0;
    l->paused_until = 0;
    ad_bucket_init(&l->bucket, cfg->rate_per_s, cfg->burst, now_ms);
    l->max_concurrency = cfg->max_concurrency > 0 ? cfg->max_concurrency : 0;
}

void ad_limit_reconfigure(ad_limit *l, const ad_limit_config *cfg, int64_t now_ms)
{
    double tokens;

    /* keep what the old bucket holds now (a refill must be earned, or
     * setting the same limit over and over would lift it) */
    refill(&l->bucket, now_ms);
    tokens = l->bucket.tokens;
    ad_bucket_init(&l->bucket, cfg->rate_per_s, cfg->burst, now_ms);
    if (tokens < l->bucket.tokens)
        l->bucket.tokens = tokens;
    l->max_concurrency = cfg->max_concurrency > 0 ? cfg->max_concurrency : 0;
}

bool ad_limit_try_start(ad_limit *l, int64_t now_ms, int64_t *wake_ms)
{
    int64_t wait;

    if (now_ms < l->paused_until) {
        if (wake_ms != NULL)
            *wake_ms = l->paused_until - now_ms;
        return false;
    }
    if (l->max_concurrency > 0 && l->in_flight >= l->max_concurrency) {
        if (wake_ms != NULL)
            *wake_ms = -1;
        return false;
    }
    wait = ad_bucket_wait_ms(&l->bucket, now_ms);
    if (wait > 0 || !ad_bucket_take(&l->bucket, now_ms)) {
        if (wake_ms != NULL)
            *wake_ms = wait > 0 ? wait : 1;
        return false;
    }
    l->in_flight++;
    return true;
}

void ad_limit_finish(ad_limit *l)
{
    if (l->in_flight > 0)
        l->in_flight--;
}

void ad_limit_pause(ad_limit *l, int64_t now_ms, int64_t delay_ms)
{
    int64_t until;

    if (delay_ms <= 0)
        return;
    until = now_ms + delay_ms;
    if (until > l->paused_until)
        l->paused_until = until;
}

int64_t ad_limit_eta_ms(ad_limit *l, int64_t now_ms, int ahead)
{
    int64_t pause = l->paused_until > now_ms ? l->paused_until - now_ms : 0;
    int64_t earn = 0;
    ad_bucket *b = &l->bucket;

    if (b->rate_per_s > 0) {
        double at_start, missing;

        refill(b, now_ms);
        at_start = b->tokens + (double)pause * b->rate_per_s / 1000.0;
        if (at_start > b->burst)
            at_start = b->burst;
        missing = (double)(ahead > 0 ? ahead : 0) + 1.0 - at_start;
        if (missing > 1e-9)
            earn = (int64_t)ceil(missing * 1000.0 / b->rate_per_s - 1e-6);
    }
    if (pause + earn == 0 && l->max_concurrency > 0 && l->in_flight >= l->max_concurrency)
        return -1;
    return pause + earn;
}
