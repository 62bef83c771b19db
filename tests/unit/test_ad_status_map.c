/* test_ad_status_map.c - every vendor status of every table maps to a
 * canonical value, unknown texts take the defined fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ad_status_map.h"

static void expect_all(const ad_status_table *t, const char *const *vendor, const int *canon, size_t n)
{
    bool known = false;

    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ad_status_map(t, vendor[i], &known), canon[i]);
        assert_true(known);
    }
    assert_int_equal(ad_status_map(t, "SomethingNew", &known), t->fallback);
    assert_false(known);
    assert_int_equal(ad_status_map(t, NULL, &known), t->fallback);
}

static void test_17track_main_statuses_all_map(void **state)
{
    static const char *const v[] = {"NotFound", "InfoReceived", "InTransit", "Expired", "AvailableForPickup",
                                    "OutForDelivery", "DeliveryFailure", "Delivered", "Exception"};
    static const int c[] = {AD_TRACK_PENDING, AD_TRACK_INFO_RECEIVED, AD_TRACK_IN_TRANSIT, AD_TRACK_EXPIRED,
                            AD_TRACK_AVAILABLE_FOR_PICKUP, AD_TRACK_OUT_FOR_DELIVERY, AD_TRACK_FAILED_ATTEMPT,
                            AD_TRACK_DELIVERED, AD_TRACK_EXCEPTION};

    expect_all(&ad_map_17track_main, v, c, sizeof c / sizeof c[0]);
    assert_int_equal(ad_map_17track_main.fallback, AD_TRACK_EXCEPTION);
}

static void test_17track_sub_status_overrides_main(void **state)
{
    bool known = false;

    assert_int_equal(ad_map_17track("Exception", "Exception_Returning", &known), AD_TRACK_RETURNING_TO_SENDER);
    assert_int_equal(ad_map_17track("Exception", "Exception_Returned", &known), AD_TRACK_RETURNING_TO_SENDER);
    assert_int_equal(ad_map_17track("Exception", "Exception_Lost", &known), AD_TRACK_EXCEPTION);
    assert_int_equal(ad_map_17track("InTransit", "InTransit_CustomsProcessing", &known), AD_TRACK_IN_TRANSIT);
    assert_int_equal(ad_map_17track("InTransit", "InTransit_CustomsRequiringInformation", &known),
                     AD_TRACK_EXCEPTION);
    assert_int_equal(ad_map_17track("DeliveryFailure", "DeliveryFailure_NoBody", &known), AD_TRACK_FAILED_ATTEMPT);
    assert_true(known);
    assert_int_equal(ad_map_17track("Teleported", "Teleported_Other", &known), AD_TRACK_EXCEPTION);
    assert_false(known);
}

static void test_aftership_tags_all_map(void **state)
{
    static const char *const v[] = {"Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail",
                                    "AvailableForPickup", "Delivered", "Exception", "Expired"};
    static const int c[] = {AD_TRACK_PENDING, AD_TRACK_INFO_RECEIVED, AD_TRACK_IN_TRANSIT,
                            AD_TRACK_OUT_FOR_DELIVERY, AD_TRACK_FAILED_ATTEMPT, AD_TRACK_AVAILABLE_FOR_PICKUP,
                            AD_TRACK_DELIVERED, AD_TRACK_EXCEPTION, AD_TRACK_EXPIRED};

    expect_all(&ad_map_aftership_tag, v, c, sizeof c / sizeof c[0]);
}

static void test_cj_order_and_tracking_statuses_all_map(void **state)
{
    static const char *const ov[] = {"CREATED", "IN_CART", "UNPAID", "UNSHIPPED", "SHIPPED", "DELIVERED", "CANCELLED"};
    static const int oc[] = {AD_ORDER_ACCEPTED, AD_ORDER_ACCEPTED, AD_ORDER_ACCEPTED, AD_ORDER_PROCESSING,
                             AD_ORDER_SHIPPED, AD_ORDER_SHIPPED, AD_ORDER_CANCELLED};
    static const char *const tv[] = {"Not found", "Info received", "In transit", "Out for delivery", "Delivery failed",
                                     "Pending pickup", "Delivered", "Exception", "Expired", "Returning"};
    static const int tc[] = {AD_TRACK_PENDING, AD_TRACK_INFO_RECEIVED, AD_TRACK_IN_TRANSIT,
                             AD_TRACK_OUT_FOR_DELIVERY, AD_TRACK_FAILED_ATTEMPT, AD_TRACK_AVAILABLE_FOR_PICKUP,
                             AD_TRACK_DELIVERED, AD_TRACK_EXCEPTION, AD_TRACK_EXPIRED,
                             AD_TRACK_RETURNING_TO_SENDER};

    expect_all(&ad_map_cj_order, ov, oc, sizeof oc / sizeof oc[0]);
    assert_int_equal(ad_map_cj_order.fallback, AD_ORDER_UNKNOWN);
    expect_all(&ad_map_cj_track, tv, tc, sizeof tc / sizeof tc[0]);
}

static void test_contract_tables_are_the_canonical_names(void **state)
{
    for (int s = 0; s < AD_TRACK_COUNT_; s++)
        assert_int_equal(ad_status_map(&ad_map_contract_track, ad_track_status_name((ad_track_status)s), NULL), s);
    for (int s = 1; s < AD_ORDER_COUNT_; s++)
        assert_int_equal(ad_status_map(&ad_map_contract_order, ad_order_status_name((ad_order_status)s), NULL), s);
    assert_string_equal(ad_track_status_name(AD_TRACK_COUNT_), "?");
    assert_true(ad_track_status_final(AD_TRACK_DELIVERED));
    assert_false(ad_track_status_final(AD_TRACK_EXCEPTION));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_17track_main_statuses_all_map),
        cmocka_unit_test(test_17track_sub_status_overrides_main),
        cmocka_unit_test(test_aftership_tags_all_map),
        cmocka_unit_test(test_cj_order_and_tracking_statuses_all_map),
        cmocka_unit_test(test_contract_tables_are_the_canonical_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
