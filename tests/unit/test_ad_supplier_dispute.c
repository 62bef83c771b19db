/* test_ad_supplier_dispute.c - the contract's dispute and refund answers
 * (ad_supplier_decode.c): good bodies decode, every missing or broken field
 * is an error naming its JSON path, and the CJ adapter refuses disputes
 * with a typed error before sending anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ad_supplier.h"

static json_t *parse(const char *s)
{
    json_t *j = NULL;
    ds_error err;

    assert_int_equal(ad_json_parse(s, strlen(s), 0, "test", &j, &err), DS_OK);
    return j;
}

static void test_refunded_dispute_decodes(void **state)
{
    json_t *j = parse("{\"dispute_id\":\"D1\",\"status\":\"REFUNDED\",\"message\":\"ok\","
                      "\"refund\":{\"transaction_id\":\"RF1\",\"amount\":{\"currency_code\":\"USD\","
                      "\"units\":\"7\",\"nanos\":250000000},\"refunded_at\":\"2026-11-22T08:16:00Z\"},"
                      "\"later_field\":true}");
    ad_dispute_out out;
    ds_error err;

    (void)state;
    assert_int_equal(ad_decode_contract_dispute(j, &out, &err), DS_OK);
    assert_string_equal(out.dispute_id, "D1");
    assert_int_equal(out.status, AD_DISPUTE_REFUNDED);
    assert_string_equal(out.status_text, "REFUNDED");
    assert_string_equal(out.message, "ok");
    assert_string_equal(out.refund_id, "RF1");
    assert_int_equal(out.refund_amount.units, 7);
    assert_int_equal(out.refund_amount.nanos, 250000000);
    assert_int_equal(out.refunded_at_ms, 1795335360000LL);
    json_decref(j);
}

static void dispute_fails(const char *body, const char *msg)
{
    json_t *j = parse(body);
    ad_dispute_out out;
    ds_error err;

    ds_error_clear(&err);
    assert_int_equal(ad_decode_contract_dispute(j, &out, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, msg);
    json_decref(j);
}

static void test_each_broken_dispute_field_is_named(void **state)
{
    (void)state;
    dispute_fails("{\"status\":\"OPEN\"}", "dispute_id: required");
    dispute_fails("{\"dispute_id\":\"D\"}", "status: required");
    dispute_fails("{\"dispute_id\":\"D\",\"status\":\"WON\"}", "status: unknown value \"WON\"");
    dispute_fails("{\"dispute_id\":\"D\",\"status\":\"OPEN\",\"message\":3}", "message: expected string");
    dispute_fails("{\"dispute_id\":\"D\",\"status\":\"REFUNDED\"}", "refund: required");
    dispute_fails("{\"dispute_id\":\"D\",\"status\":\"REFUNDED\",\"refund\":{\"amount\":"
                  "{\"currency_code\":\"USD\",\"units\":\"1\",\"nanos\":0},\"refunded_at\":"
                  "\"2026-11-22T08:16:00Z\"}}",
                  "refund.transaction_id: required");
    dispute_fails("{\"dispute_id\":\"D\",\"status\":\"REFUNDED\",\"refund\":{\"transaction_id\":"
                  "\"R\",\"amount\":{\"currency_code\":\"USD\",\"units\":\"-1\",\"nanos\":0},"
                  "\"refunded_at\":\"2026-11-22T08:16:00Z\"}}",
                  "refund.amount: must not be negative");
    dispute_fails("{\"dispute_id\":\"D\",\"status\":\"REFUNDED\",\"refund\":{\"transaction_id\":"
                  "\"R\",\"amount\":{\"currency_code\":\"USD\",\"units\":\"1\",\"nanos\":0}}}",
                  "refund.refunded_at: required");
}

static void test_refund_answer_fields_are_required(void **state)
{
    json_t *good = parse("{\"transaction_id\":\"RF-1\",\"amount\":{\"currency_code\":\"USD\","
                         "\"units\":\"5\",\"nanos\":0},\"refunded_at\":\"2026-11-22T08:16:00Z\"}");
    json_t *bad = parse("{\"transaction_id\":\"RF-1\",\"refunded_at\":\"2026-11-22T08:16:00Z\"}");
    ad_request_refund_out out;
    ds_error err;

    (void)state;
    assert_int_equal(ad_decode_contract_refund(good, &out, &err), DS_OK);
    assert_string_equal(out.transaction_id, "RF-1");
    assert_int_equal(out.amount.units, 5);
    ds_error_clear(&err);
    assert_int_equal(ad_decode_contract_refund(bad, &out, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, "amount: required");
    json_decref(good);
    json_decref(bad);
}

static void test_cj_refuses_disputes_with_a_typed_error(void **state)
{
    ad_backend_config cfg = {.base_url = "http://127.0.0.1:9", .token = "t"};
    ad_supplier *s = NULL;
    ad_get_dispute_in in = {.supplier_order_id = "SO", .dispute_id = "D"};
    ad_dispute_out out;
    ds_error err;

    (void)state;
    assert_int_equal(ad_supplier_cj_new(NULL, &cfg, &s, &err), DS_OK);
    ds_error_clear(&err);
    assert_int_equal(ad_supplier_get_dispute(s, &in, &out, NULL, NULL, &err), DS_ERR_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "cj"));
    ad_supplier_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refunded_dispute_decodes),
        cmocka_unit_test(test_each_broken_dispute_field_is_named),
        cmocka_unit_test(test_refund_answer_fields_are_required),
        cmocka_unit_test(test_cj_refuses_disputes_with_a_typed_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
