/* wf_policy.h - the task engine's pure decisions: retry backoff and what a
 * handler's result means for a task. No I/O, no clock, no randomness of its
 * own (the caller passes the random number), so it is unit-tested directly.
 * Threads: reentrant.
 */
#ifndef WF_POLICY_H
#define WF_POLICY_H

#include <stdint.h>

#include "wf_engine.h"

/* Delay before retry number `attempt` (1 = after the first failure):
 * d = min(cap, base * 2^(attempt-1)), then "equal jitter": d/2 plus
 * rnd mod (d/2 + 1), so the result lies in [d/2, d]. base <= 0 gives 0;
 * cap < base acts as cap = base. Never overflows. */
int64_t wf_backoff_ms(int64_t base_ms, int64_t cap_ms, int attempt, uint32_t rnd);

/* A period jittered to [period/2, period*3/2] (polling, sweeps), so that
 * replicas started together drift apart. period <= 0 gives 0. */
int64_t wf_jitter_ms(int64_t period_ms, uint32_t rnd);

/* The snooze of a step whose outside call was not sent (wf_defer_note):
 * never shorter than the endpoint's delay, spread over [delay,
 * delay*5/4] so a crowd of waiting steps does not come back at once.
 * delay <= 0 gives 0. Never overflows. */
int64_t wf_defer_ms(int64_t delay_ms, uint32_t rnd);

/* What the engine does with a task after its handler. */
typedef enum wf_decision {
    WF_DECIDE_COMPLETE = 0, /* delete it (batched) */
    WF_DECIDE_RETRY,        /* back to available at now + backoff, attempt spent */
    WF_DECIDE_SNOOZE,       /* back to available at now + delay, attempt given back */
    WF_DECIDE_EXHAUST       /* delete it, record it, call on_exhausted */
} wf_decision;

/* The decision for `action` on attempt `attempt` of `max_attempts`: a retry
 * on the last attempt (or later) exhausts; WF_FAIL always exhausts; an
 * unknown action is treated as WF_RETRY. */
wf_decision wf_decide(wf_action action, int attempt, int max_attempts);

/* Name for logs ("complete", "retry", ...). Never NULL. */
const char *wf_decision_name(wf_decision d);

#endif
