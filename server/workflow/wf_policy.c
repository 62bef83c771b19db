/* wf_policy.c - retry backoff, jitter and result decisions of the task engine. */
#include "wf_policy.h"

int64_t wf_backoff_ms(int64_t base_ms, int64_t cap_ms, int attempt, uint32_t rnd)
{
    int64_t d;
    int64_t half;

    if (base_ms <= 0)
        return 0;
    if (cap_ms < base_ms)
        cap_ms = base_ms;
    d = base_ms;
    for (int i = 1; i < attempt && d < cap_ms; i++)
        d = d > cap_ms / 2 ? cap_ms : d * 2;
    if (d > cap_ms)
        d = cap_ms;
    half = d / 2;
    return d - half + (int64_t)(rnd % (uint64_t)(half + 1));
}

int64_t wf_jitter_ms(int64_t period_ms, uint32_t rnd)
{
    if (period_ms <= 0)
        return 0;
    return period_ms / 2 + (int64_t)(rnd % (uint64_t)(period_ms + 1));
}

int64_t wf_defer_ms(int64_t delay_ms, uint32_t rnd)
{
    if (delay_ms <= 0)
        return 0;
    return delay_ms + (int64_t)(rnd % ((uint64_t)delay_ms / 4 + 1));
}

wf_decision wf_decide(wf_action action, int attempt, int max_attempts)
{
    switch (action) {
    case WF_DONE:
        return WF_DECIDE_COMPLETE;
    case WF_SNOOZE:
        return WF_DECIDE_SNOOZE;
    case WF_FAIL:
        return WF_DECIDE_EXHAUST;
    case WF_RETRY:
    default:
        return attempt >= max_attempts ? WF_DECIDE_EXHAUST : WF_DECIDE_RETRY;
    }
}

const char *wf_decision_name(wf_decision d)
{
    switch (d) {
    case WF_DECIDE_COMPLETE:
        return "complete";
    case WF_DECIDE_RETRY:
        return "retry";
    case WF_DECIDE_SNOOZE:
        return "snooze";
    case WF_DECIDE_EXHAUST:
        return "exhaust";
    }
    return "unknown";
}
