/* test_ad_limit.c - token bucket, concurrency cap and Retry-After pause
 * driven by a hand-moved clock (no sleeps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ad_limit.h"

static void test_bucket_allows_burst_then_refills_at_rate(void **state)
{
    ad_bucket b;
    int64_t t = 1000;

    ad_bucket_init(&b, 2.0, 3.0, t); /* 2 per second, 3 back to back */
    assert_true(ad_bucket_take(&b, t));
    assert_true(ad_bucket_take(&b, t));
    assert_true(ad_bucket_take(&b, t));
    assert_false(ad_bucket_take(&b, t));
    assert_int_equal(ad_bucket_wait_ms(&b, t), 500);
    assert_false(ad_bucket_take(&b, t + 499));
    assert_int_equal(ad_bucket_wait_ms(&b, t + 499), 1);
    assert_true(ad_bucket_take(&b, t + 500));
    assert_false(ad_bucket_take(&b, t + 500));
    /* a long idle time refills only up to the burst */
    t += 100000;
    for (int i = 0; i < 3; i++)
        assert_true(ad_bucket_take(&b, t));
    assert_false(ad_bucket_take(&b, t));
}

static void test_bucket_fractional_rate_and_clock_going_back(void **state)
{
    ad_bucket b;

    ad_bucket_init(&b, 0.5, 0, 0); /* one every two seconds, burst 1 */
    assert_true(ad_bucket_take(&b, 0));
    assert_int_equal(ad_bucket_wait_ms(&b, 0), 2000);
    assert_false(ad_bucket_take(&b, -5000)); /* a clock step back earns nothing */
    assert_true(ad_bucket_take(&b, 2000));
}

static void test_unlimited_bucket_never_waits(void **state)
{
    ad_bucket b;

    ad_bucket_init(&b, 0, 0, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(ad_bucket_take(&b, 0));
    assert_int_equal(ad_bucket_wait_ms(&b, 0), 0);
}

static void test_concurrency_cap_waits_for_a_finish(void **state)
{
    ad_limit l;
    ad_limit_config cfg = {.max_concurrency = 2};
    int64_t wake = 0;

    ad_limit_init(&l, &cfg, 0);
    assert_true(ad_limit_try_start(&l, 0, &wake));
    assert_true(ad_limit_try_start(&l, 0, &wake));
    assert_false(ad_limit_try_start(&l, 0, &wake));
    assert_int_equal(wake, -1); /* only a finishing request frees the way */
    ad_limit_finish(&l);
    assert_true(ad_limit_try_start(&l, 0, &wake));
    assert_int_equal(l.in_flight, 2);
}

static void test_pause_blocks_until_retry_after(void **state)
{
    ad_limit l;
    ad_limit_config cfg = {.rate_per_s = 10, .burst = 10};
    int64_t wake = 0;

    ad_limit_init(&l, &cfg, 0);
    ad_limit_pause(&l, 100, 2000);
    ad_limit_pause(&l, 100, 500); /* a shorter pause does not shorten it */
    assert_false(ad_limit_try_start(&l, 100, &wake));
    assert_int_equal(wake, 2000);
    assert_false(ad_limit_try_start(&l, 2099, &wake));
    assert_int_equal(wake, 1);
    assert_true(ad_limit_try_start(&l, 2100, &wake));
}

static void test_rate_limit_reports_time_to_next_token(void **state)
{
    ad_limit l;
    ad_limit_config cfg = {.rate_per_s = 4, .burst = 1};
    int64_t wake = 0;

    ad_limit_init(&l, &cfg, 0);
    assert_true(ad_limit_try_start(&l, 0, &wake));
    ad_limit_finish(&l);
    assert_false(ad_limit_try_start(&l, 0, &wake));
    assert_int_equal(wake, 250);
    assert_true(ad_limit_try_start(&l, 250, &wake));
    /* reconfigure keeps in_flight */
    cfg.max_concurrency = 1;
    ad_limit_reconfigure(&l, &cfg, 250);
    assert_false(ad_limit_try_start(&l, 10000, &wake));
    assert_int_equal(wake, -1);
}

/* The estimate a request that waited too long is sent back with: the
 * rest of the pause, then the tokens for its place in the queue. */
static void test_eta_counts_pause_and_place_in_queue(void **state)
{
    ad_limit l;
    ad_limit_config rate = {.rate_per_s = 4, .burst = 2};
    ad_limit_config cap = {.max_concurrency = 1};
    int64_t wake = 0;

    ad_limit_init(&l, &rate, 0);
    assert_int_equal(ad_limit_eta_ms(&l, 0, 0), 0);   /* a token is there */
    assert_int_equal(ad_limit_eta_ms(&l, 0, 1), 0);   /* two are */
    assert_int_equal(ad_limit_eta_ms(&l, 0, 3), 500); /* two more at 4/s */
    assert_true(ad_limit_try_start(&l, 0, &wake));
    assert_true(ad_limit_try_start(&l, 0, &wake));
    assert_int_equal(ad_limit_eta_ms(&l, 0, 0), 250);
    ad_limit_pause(&l, 0, 20000); /* the bucket fills during the pause */
    assert_int_equal(ad_limit_eta_ms(&l, 1000, 0), 19000);
    assert_int_equal(ad_limit_eta_ms(&l, 1000, 1), 19000);
    assert_int_equal(ad_limit_eta_ms(&l, 1000, 5), 19000 + 1000);
    assert_int_equal(ad_limit_eta_ms(&l, 1000, -3), 19000);

    ad_limit_init(&l, &cap, 0);
    assert_int_equal(ad_limit_eta_ms(&l, 0, 4), 0); /* unlimited rate, cap free */
    assert_true(ad_limit_try_start(&l, 0, &wake));
    assert_int_equal(ad_limit_eta_ms(&l, 0, 0), -1); /* only a finish frees the way */
    ad_limit_pause(&l, 0, 300);
    assert_int_equal(ad_limit_eta_ms(&l, 100, 0), 200);
}

/* Setting the same limit again and again (the workflow does it on every
 * adapter it builds) must not refill the bucket. */
static void test_reconfigure_keeps_the_tokens(void **state)
{
    ad_limit l;
    ad_limit_config cfg = {.rate_per_s = 4, .burst = 1};
    int started = 0;

    ad_limit_init(&l, &cfg, 0);
    for (int64_t now = 0; now < 1000; now += 10) {
        ad_limit_reconfigure(&l, &cfg, now);
        if (ad_limit_try_start(&l, now, NULL)) {
            started++;
            ad_limit_finish(&l);
        }
    }
    assert_int_equal(started, 4); /* t = 0, 250, 500, 750 */
    /* a larger burst does not fill up at once either */
    cfg.burst = 10;
    ad_limit_reconfigure(&l, &cfg, 1000);
    assert_true(ad_limit_try_start(&l, 1000, NULL));
    assert_false(ad_limit_try_start(&l, 1000, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_allows_burst_then_refills_at_rate),
        cmocka_unit_test(test_bucket_fractional_rate_and_clock_going_back),
        cmocka_unit_test(test_unlimited_bucket_never_waits),
        cmocka_unit_test(test_concurrency_cap_waits_for_a_finish),
        cmocka_unit_test(test_pause_blocks_until_retry_after),
        cmocka_unit_test(test_rate_limit_reports_time_to_next_token),
        cmocka_unit_test(test_reconfigure_keeps_the_tokens),
        cmocka_unit_test(test_eta_counts_pause_and_place_in_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
