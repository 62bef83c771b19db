/* test_store_sqlstate.c - the SQLSTATE -> ds_status mapping of the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store.h"

static void outages_are_unavailable(void **state)
{
    assert_int_equal(store_status_of_sqlstate(""), DS_ERR_UNAVAILABLE);      /* no answer */
    assert_int_equal(store_status_of_sqlstate("08006"), DS_ERR_UNAVAILABLE); /* conn failure */
    assert_int_equal(store_status_of_sqlstate("57P01"), DS_ERR_UNAVAILABLE); /* admin shutdown */
    assert_int_equal(store_status_of_sqlstate("57P03"), DS_ERR_UNAVAILABLE); /* starting up */
    assert_int_equal(store_status_of_sqlstate("53300"), DS_ERR_UNAVAILABLE); /* too many conns */
    assert_int_equal(store_status_of_sqlstate("25P03"), DS_ERR_UNAVAILABLE); /* idle tx timeout */
}

static void a_protocol_violation_is_a_bug_not_an_outage(void **state)
{
    assert_int_equal(store_status_of_sqlstate("08P01"), DS_ERR_INTERNAL);
}

static void data_and_concurrency_errors(void **state)
{
    assert_int_equal(store_status_of_sqlstate("57014"), DS_ERR_DEADLINE);
    assert_int_equal(store_status_of_sqlstate("23505"), DS_ERR_ALREADY_EXISTS);
    assert_int_equal(store_status_of_sqlstate("40001"), DS_ERR_ABORTED);
    assert_int_equal(store_status_of_sqlstate("40P01"), DS_ERR_ABORTED);
    assert_int_equal(store_status_of_sqlstate("22P02"), DS_ERR_INVALID);
    assert_int_equal(store_status_of_sqlstate("42P01"), DS_ERR_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outages_are_unavailable),
        cmocka_unit_test(a_protocol_violation_is_a_bug_not_an_outage),
        cmocka_unit_test(data_and_concurrency_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
