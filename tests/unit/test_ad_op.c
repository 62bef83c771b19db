/* test_ad_op.c - ad_backend_init: the copy and checks of a backend config,
 * route keys included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ad_op.h"
#include "ad_supplier.h"

static void test_route_keys_are_copied(void **state)
{
    char key[] = "supplier:acme/get_order";
    ad_backend_config cfg = {.base_url = "http://127.0.0.1:9/api/", .token = "t",
                             .endpoint = "supplier:acme"};
    ad_backend b;
    ds_error err;

    (void)state;
    cfg.routes[AD_SUPPLIER_ROUTE_GET_ORDER] = key;
    assert_int_equal(ad_backend_init(&b, &cfg, &err), DS_OK);
    key[0] = 'X'; /* the backend keeps its own copy */
    assert_string_equal(b.routes[AD_SUPPLIER_ROUTE_GET_ORDER], "supplier:acme/get_order");
    assert_string_equal(b.routes[AD_SUPPLIER_ROUTE_CREATE_ORDER], "");
    assert_string_equal(b.endpoint, "supplier:acme");
    assert_string_equal(b.base_url, "http://127.0.0.1:9/api");
}

static void test_bad_route_keys_are_refused(void **state)
{
    char long_key[AD_HTTP_ENDPOINT_MAX + 1];
    const char *bad[3] = {"", long_key, "supplier:acme"};
    const int route[3] = {AD_SUPPLIER_ROUTE_GET_ORDER, AD_SUPPLIER_ROUTE_PAY_ORDER, 0};
    ad_backend b;
    ds_error err;

    (void)state;
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    for (int i = 0; i < 3; i++) {
        ad_backend_config cfg = {.base_url = "http://127.0.0.1:9", .token = "t"};
        cfg.routes[route[i]] = bad[i];
        ds_error_clear(&err);
        assert_int_equal(ad_backend_init(&b, &cfg, &err), DS_ERR_CONFIG);
        assert_non_null(strstr(err.message, "route"));
    }
}

static ad_step never_called(ad_op *op, const ad_response *resp)
{
    (void)op;
    (void)resp;
    fail_msg("the step ran although the route is out of range");
    return AD_STEP_DONE;
}

static void test_a_route_out_of_range_is_refused_before_sending(void **state)
{
    ad_backend_config cfg = {.base_url = "http://127.0.0.1:9", .token = "t"};
    ad_backend b;
    ds_error err;

    (void)state;
    assert_int_equal(ad_backend_init(&b, &cfg, &err), DS_OK);
    /* a non-NULL http (never used) and step, so only the route is wrong */
    assert_int_equal(ad_op_start((ad_http *)&b, &b, AD_ROUTES_MAX, never_called, NULL, NULL,
                                 ad_sync_done, NULL, &err),
                     DS_ERR_INVALID);
    assert_int_equal(ad_op_start((ad_http *)&b, &b, -1, never_called, NULL, NULL, ad_sync_done,
                                 NULL, &err),
                     DS_ERR_INVALID);
    assert_non_null(strstr(err.message, "route"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_keys_are_copied),
        cmocka_unit_test(test_bad_route_keys_are_refused),
        cmocka_unit_test(test_a_route_out_of_range_is_refused_before_sending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
