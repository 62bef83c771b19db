/* test_wf_policy.c - the task engine's pure decisions: capped exponential
 * backoff with jitter, periodic jitter, and what a handler's result does to
 * a task; plus the kind-name and text[] helpers of wf_tasks_store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wf_policy.h"
#include "wf_tasks_store.h"

static void backoff_doubles_from_base_without_jitter_at_the_top(void **state)
{
    (void)state;
    /* rnd = half: the top of the jitter range is d itself */
    assert_int_equal(wf_backoff_ms(1000, 3600000, 1, 500), 1000);
    assert_int_equal(wf_backoff_ms(1000, 3600000, 2, 1000), 2000);
    assert_int_equal(wf_backoff_ms(1000, 3600000, 3, 2000), 4000);
    assert_int_equal(wf_backoff_ms(1000, 3600000, 4, 4000), 8000);
}

static void backoff_jitter_stays_between_half_and_full(void **state)
{
    (void)state;
    for (uint32_t r = 0; r < 5000; r += 7) {
        int64_t d = wf_backoff_ms(1000, 3600000, 3, r);
        assert_true(d >= 2000 && d <= 4000);
    }
    assert_int_equal(wf_backoff_ms(1000, 3600000, 3, 0), 2000);
    assert_int_equal(wf_backoff_ms(1000, 3600000, 3, UINT32_MAX), 2000 + UINT32_MAX % 2001);
}

static void backoff_is_capped_and_never_overflows(void **state)
{
    (void)state;
    assert_int_equal(wf_backoff_ms(1000, 60000, 30, 30000), 60000);
    assert_int_equal(wf_backoff_ms(1000, 60000, 1000000, 30000), 60000);
    assert_int_equal(wf_backoff_ms(INT64_MAX / 2, INT64_MAX, 100, 0), INT64_MAX - INT64_MAX / 2);
    assert_true(wf_backoff_ms(1000, 60000, 1000000, 0) >= 30000);
}

static void backoff_edge_inputs(void **state)
{
    (void)state;
    assert_int_equal(wf_backoff_ms(0, 1000, 3, 99), 0);
    assert_int_equal(wf_backoff_ms(-5, 1000, 3, 99), 0);
    /* cap below base acts as base */
    assert_int_equal(wf_backoff_ms(500, 100, 4, 250), 500);
    /* attempt 0 or negative counts as the first */
    assert_int_equal(wf_backoff_ms(1000, 10000, 0, 500), 1000);
    assert_int_equal(wf_backoff_ms(1000, 10000, -3, 500), 1000);
}

static void jitter_spreads_around_the_period(void **state)
{
    (void)state;
    assert_int_equal(wf_jitter_ms(500, 0), 250);
    assert_int_equal(wf_jitter_ms(500, 500), 750);
    assert_int_equal(wf_jitter_ms(0, 123), 0);
    for (uint32_t r = 0; r < 3000; r += 3) {
        int64_t d = wf_jitter_ms(1000, r);
        assert_true(d >= 500 && d <= 1500);
    }
}

static void defer_never_comes_back_before_the_delay(void **state)
{
    (void)state;
    assert_int_equal(wf_defer_ms(0, 7), 0);
    assert_int_equal(wf_defer_ms(-5, 7), 0);
    assert_int_equal(wf_defer_ms(1000, 0), 1000);
    assert_int_equal(wf_defer_ms(1000, 250), 1250);
    assert_int_equal(wf_defer_ms(1000, 251), 1000);
    for (uint32_t r = 0; r < 3000; r += 7) {
        int64_t d = wf_defer_ms(20000, r * 2654435761u);
        assert_true(d >= 20000 && d <= 25000);
    }
    /* a one-day Retry-After does not overflow */
    assert_true(wf_defer_ms(86400000, UINT32_MAX) <= 86400000LL * 5 / 4);
}

static void decide_maps_results(void **state)
{
    (void)state;
    assert_int_equal(wf_decide(WF_DONE, 1, 3), WF_DECIDE_COMPLETE);
    assert_int_equal(wf_decide(WF_DONE, 3, 3), WF_DECIDE_COMPLETE);
    assert_int_equal(wf_decide(WF_RETRY, 1, 3), WF_DECIDE_RETRY);
    assert_int_equal(wf_decide(WF_RETRY, 2, 3), WF_DECIDE_RETRY);
    assert_int_equal(wf_decide(WF_SNOOZE, 3, 3), WF_DECIDE_SNOOZE);
    assert_int_equal(wf_decide(WF_FAIL, 1, 25), WF_DECIDE_EXHAUST);
}

static void retry_on_last_attempt_exhausts(void **state)
{
    (void)state;
    assert_int_equal(wf_decide(WF_RETRY, 3, 3), WF_DECIDE_EXHAUST);
    assert_int_equal(wf_decide(WF_RETRY, 4, 3), WF_DECIDE_EXHAUST);
    assert_int_equal(wf_decide(WF_RETRY, 1, 1), WF_DECIDE_EXHAUST);
    assert_int_equal(wf_decide((wf_action)42, 1, 3), WF_DECIDE_RETRY);
    assert_int_equal(wf_decide((wf_action)42, 3, 3), WF_DECIDE_EXHAUST);
    assert_string_equal(wf_decision_name(WF_DECIDE_EXHAUST), "exhaust");
    assert_string_equal(wf_decision_name((wf_decision)9), "unknown");
}

static void kind_names_are_checked(void **state)
{
    char longname[WF_KIND_MAX + 2];

    (void)state;
    assert_true(wf_store_kind_ok("order.verify"));
    assert_true(wf_store_kind_ok("a-b_c:1"));
    assert_false(wf_store_kind_ok(""));
    assert_false(wf_store_kind_ok(NULL));
    assert_false(wf_store_kind_ok("Order"));
    assert_false(wf_store_kind_ok("a\"b"));
    assert_false(wf_store_kind_ok("a,b"));
    memset(longname, 'a', sizeof(longname));
    longname[WF_KIND_MAX] = '\0';
    assert_true(wf_store_kind_ok(longname));
    longname[WF_KIND_MAX] = 'a';
    longname[WF_KIND_MAX + 1] = '\0';
    assert_false(wf_store_kind_ok(longname));
}

static void kinds_literal_quotes_each_name(void **state)
{
    const char *names[] = {"noop", "order.verify"};
    char *s;

    (void)state;
    s = wf_store_kinds_literal(names, 2);
    assert_non_null(s);
    assert_string_equal(s, "{\"noop\",\"order.verify\"}");
    free(s);
    s = wf_store_kinds_literal(names, 0);
    assert_string_equal(s, "{}");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_from_base_without_jitter_at_the_top),
        cmocka_unit_test(backoff_jitter_stays_between_half_and_full),
        cmocka_unit_test(backoff_is_capped_and_never_overflows),
        cmocka_unit_test(backoff_edge_inputs),
        cmocka_unit_test(jitter_spreads_around_the_period),
        cmocka_unit_test(defer_never_comes_back_before_the_delay),
        cmocka_unit_test(decide_maps_results),
        cmocka_unit_test(retry_on_last_attempt_exhausts),
        cmocka_unit_test(kind_names_are_checked),
        cmocka_unit_test(kinds_literal_quotes_each_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
