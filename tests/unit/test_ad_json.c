/* test_ad_json.c - JSON decoding helpers and the contract decoders: good
 * bodies decode, every broken field is named by its JSON path, malformed
 * bodies are errors and never crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ad_json.h"
#include "ad_supplier.h"
#include "ad_tracking.h"

static json_t *parse(const char *s)
{
    json_t *j = NULL;
    ds_error err;

    assert_int_equal(ad_json_parse(s, strlen(s), 0, "test", &j, &err), DS_OK);
    return j;
}

static const char *const good_order =
    "{\"supplier_order_id\":\"SO-1\",\"status\":\"PARTIALLY_SHIPPED\","
    "\"total_cost\":{\"currency_code\":\"USD\",\"units\":\"25\",\"nanos\":500000000},\"paid\":true,"
    "\"parcels\":[{\"carrier\":\"sim-post\",\"tracking_number\":\"SIM1\",\"shipped_at\":\"2026-11-22T08:16:00Z\","
    "\"lines\":[{\"sku\":\"A\",\"quantity\":1}]},"
    "{\"carrier\":\"sim-post\",\"tracking_number\":\"SIM1\",\"lines\":[]},"
    "{\"carrier\":\"dhl\",\"tracking_number\":\"SIM1\"}],\"unknown_field\":1}";

static void test_contract_order_decodes_and_dedupes_parcels(void **state)
{
    json_t *j = parse(good_order);
    ad_get_order_out out;
    ds_error err;

    assert_int_equal(ad_decode_contract_order(j, &out, &err), DS_OK);
    assert_string_equal(out.supplier_order_id, "SO-1");
    assert_int_equal(out.status, AD_ORDER_PARTIALLY_SHIPPED);
    assert_string_equal(out.total_cost.currency, "USD");
    assert_int_equal(out.total_cost.units, 25);
    assert_int_equal(out.total_cost.nanos, 500000000);
    assert_true(out.paid);
    assert_int_equal(out.n_parcels, 2); /* same carrier + number listed twice */
    assert_string_equal(out.parcels[1].carrier, "dhl");
    assert_int_equal(out.parcels[0].n_lines, 1);
    assert_int_equal(out.parcels[0].shipped_at_ms, 1795335360000LL);
    ad_get_order_out_cleanup(&out);
    json_decref(j);
}

/* Decode `body` as an order and expect the error message `msg`. */
static void order_fails(const char *body, const char *msg)
{
    json_t *j = parse(body);
    ad_get_order_out out;
    ds_error err;

    ds_error_clear(&err);
    assert_int_equal(ad_decode_contract_order(j, &out, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, msg);
    assert_null(out.parcels);
    json_decref(j);
}

static void test_each_broken_field_is_named_by_path(void **state)
{
    order_fails("{\"status\":\"SHIPPED\"}", "supplier_order_id: required");
    order_fails("{\"supplier_order_id\":7,\"status\":\"SHIPPED\"}", "supplier_order_id: expected string");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":null}", "status: required");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"parcels\":{}}", "parcels: expected array");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"parcels\":[{\"carrier\":\"c\",\"tracking_number\":\"1\"},"
                "{\"carrier\":\"c\",\"tracking_number\":5}]}",
                "parcels[1].tracking_number: expected string");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"parcels\":[7]}", "parcels[0]: expected object");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"parcels\":[{\"carrier\":\"c\",\"tracking_number\":\"1\","
                "\"lines\":[{\"sku\":\"A\",\"quantity\":0}]}]}",
                "parcels[0].lines[0].quantity: 0 out of range 1..1000000");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"parcels\":[{\"carrier\":\"c\",\"tracking_number\":\"1\","
                "\"shipped_at\":\"yesterday\"}]}",
                "parcels[0].shipped_at: expected an RFC 3339 time");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"total_cost\":{\"currency_code\":\"usd\",\"units\":\"1\"}}",
                "total_cost.currency_code: expected three upper-case letters");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"total_cost\":{\"currency_code\":\"USD\",\"units\":1}}",
                "total_cost.units: expected string");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"total_cost\":{\"currency_code\":\"USD\",\"units\":\"1.5\"}}",
                "total_cost.units: expected a decimal int64 string");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"total_cost\":{\"currency_code\":\"USD\",\"units\":\"-1\",\"nanos\":5}}",
                "total_cost.nanos: sign differs from units");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"total_cost\":{\"currency_code\":\"USD\",\"units\":\"1\",\"nanos\":1000000000}}",
                "total_cost.nanos: 1000000000 out of range -999999999..999999999");
    order_fails("{\"supplier_order_id\":\"x\",\"status\":\"SHIPPED\",\"total_cost\":{\"currency_code\":\"USD\",\"units\":\"99999999999999999999\"}}",
                "total_cost.units: expected a decimal int64 string");
    order_fails("[1,2]", "body: expected a JSON object");
}

static void test_unknown_supplier_status_is_the_defined_fallback(void **state)
{
    json_t *j = parse("{\"supplier_order_id\":\"x\",\"status\":\"TELEPORTED\"}");
    ad_get_order_out out;
    ds_error err;

    assert_int_equal(ad_decode_contract_order(j, &out, &err), DS_OK);
    assert_int_equal(out.status, AD_ORDER_UNKNOWN);
    assert_string_equal(out.status_text, "TELEPORTED");
    json_decref(j);
}

static void test_malformed_and_oversized_bodies_are_errors(void **state)
{
    json_t *j = NULL;
    ds_error err;
    const char *junk[] = {"", "{", "{\"a\":}", "null", "42", "\"s\"", "{\"a\":1,\"a\":2}", "<html>"};

    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        assert_int_equal(ad_json_parse(junk[i], strlen(junk[i]), 0, "GET /x", &j, &err), DS_ERR_INTERNAL);
        assert_null(j);
        assert_non_null(strstr(err.message, "GET /x"));
    }
    assert_int_equal(ad_json_parse("{\"a\":\"0123456789\"}", 17, 10, "GET /x", &j, &err),
                     DS_ERR_RESOURCE_EXHAUSTED);
}

static void test_string_caps_and_text_truncation(void **state)
{
    json_t *j = parse("{\"id\":\"0123456789\",\"msg\":\"caf\\u00e9 au lait\",\"e\":\"\"}");
    ad_jpath r;
    char small[6];
    char text[5];
    ds_error err;

    ad_jpath_root(&r);
    assert_int_equal(ad_json_str(j, &r, "id", true, small, sizeof small, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, "id: longer than 5 bytes");
    assert_int_equal(ad_json_str(j, &r, "e", true, small, sizeof small, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, "e: must not be empty");
    assert_int_equal(ad_json_str(j, &r, "absent", false, small, sizeof small, &err), DS_OK);
    assert_string_equal(small, "");
    /* "café" is 5 bytes: cutting at 4 must not split the é */
    assert_int_equal(ad_json_text(j, &r, "msg", true, text, sizeof text, &err), DS_OK);
    assert_string_equal(text, "caf");
    json_decref(j);
}

static void test_enum_from_table(void **state)
{
    static const ad_enum_entry t[] = {{"BUYER", 1}, {"SHOP", 2}, {NULL, 0}};
    json_t *j = parse("{\"a\":\"SHOP\",\"b\":\"NOBODY\",\"c\":3}");
    ad_jpath r;
    int v;
    ds_error err;

    ad_jpath_root(&r);
    assert_int_equal(ad_json_enum(j, &r, "a", true, t, 0, &v, &err), DS_OK);
    assert_int_equal(v, 2);
    assert_int_equal(ad_json_enum(j, &r, "b", true, t, 0, &v, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, "b: unknown value \"NOBODY\"");
    assert_int_equal(ad_json_enum(j, &r, "c", true, t, 0, &v, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, "c: expected string");
    assert_int_equal(ad_json_enum(j, &r, "d", false, t, 9, &v, &err), DS_OK);
    assert_int_equal(v, 9);
    json_decref(j);
}

static void test_rfc3339_times(void **state)
{
    int64_t ms = 0;

    assert_true(ad_time_parse_rfc3339("1970-01-01T00:00:00Z", &ms));
    assert_int_equal(ms, 0);
    assert_true(ad_time_parse_rfc3339("2026-11-22T08:15:00.250Z", &ms));
    assert_int_equal(ms, 1795335300250LL);
    assert_true(ad_time_parse_rfc3339("2026-11-22T09:15:00+01:00", &ms));
    assert_int_equal(ms, 1795335300000LL);
    assert_true(ad_time_parse_rfc3339("2024-02-29t00:00:00z", &ms));
    assert_false(ad_time_parse_rfc3339("2026-02-29T00:00:00Z", &ms));
    assert_false(ad_time_parse_rfc3339("2026-11-22T08:15:00", &ms));
    assert_false(ad_time_parse_rfc3339("2026-11-22T24:00:00Z", &ms));
    assert_false(ad_time_parse_rfc3339("2026-13-01T00:00:00Z", &ms));
    assert_false(ad_time_parse_rfc3339("2026-11-22T08:15:00Zjunk", &ms));
    assert_false(ad_time_parse_rfc3339("2026-11-22T08:15:00.Z", &ms));
    assert_false(ad_time_parse_rfc3339(NULL, &ms));
}

static void test_money_round_trip(void **state)
{
    ad_money m = {"EUR", -3, -250000000};
    ad_money back;
    json_t *wrap = json_pack("{s:o}", "m", ad_money_json(&m));
    ad_jpath r;
    ds_error err;

    ad_jpath_root(&r);
    assert_int_equal(ad_json_money(wrap, &r, "m", true, &back, &err), DS_OK);
    assert_true(ad_money_equal(&m, &back));
    assert_true(ad_money_from_decimal(96.24, "USD", &back));
    assert_int_equal(back.units, 96);
    assert_int_equal(back.nanos, 240000000);
    assert_false(ad_money_from_decimal(1.0 / 0.0, "USD", &back));
    json_decref(wrap);
}

static void test_offers_policy_payment_and_tracking(void **state)
{
    json_t *o = parse("{\"offers\":[{\"sku\":\"A\",\"stock\":12,\"cost\":{\"currency_code\":\"USD\",\"units\":\"7\",\"nanos\":250000000},\"ship_days\":3},"
                      "{\"sku\":\"B\",\"stock\":-1}]}");
    json_t *p = parse("{\"address\":{\"recipient_name\":\"R\",\"country_code\":\"CN\",\"city\":\"G\",\"street\":\"S\"},"
                      "\"rules\":{\"no_reason_return_days\":7,\"return_postage_payer\":\"NOBODY\"}}");
    json_t *t = parse("{\"status\":\"IN_TRANSIT\",\"checkpoints\":[{\"time\":\"2026-11-22T08:16:00Z\",\"status\":\"INFO_RECEIVED\"},"
                      "{\"time\":\"2026-11-22T08:16:00Z\",\"status\":\"INFO_RECEIVED\"},{\"time\":\"2026-11-22T08:17:00Z\",\"status\":\"IN_TRANSIT\",\"location\":\"HK\"}]}");
    ad_list_offers_out lo;
    ad_return_policy_out po;
    ad_get_tracking_out to;
    ds_error err;

    assert_int_equal(ad_decode_contract_offers(o, &lo, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, "offers[1].stock: -1 out of range 0..9223372036854775807");
    assert_null(lo.offers);
    assert_int_equal(ad_decode_contract_policy(p, &po, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, "rules.return_postage_payer: unknown value \"NOBODY\"");
    assert_int_equal(ad_decode_contract_tracking(t, &to, &err), DS_OK);
    assert_int_equal(to.status, AD_TRACK_IN_TRANSIT);
    assert_int_equal(to.n_checkpoints, 2); /* the repeated checkpoint is dropped */
    assert_string_equal(to.checkpoints[1].location, "HK");
    ad_get_tracking_out_cleanup(&to);
    json_decref(o);
    json_decref(p);
    json_decref(t);
}

static void test_17track_item_decodes_events_oldest_first(void **state)
{
    json_t *item = parse("{\"number\":\"N1\",\"track_info\":{\"latest_status\":{\"status\":\"Exception\",\"sub_status\":\"Exception_Returning\"},"
                         "\"tracking\":{\"providers\":[{\"events\":["
                         "{\"time_utc\":\"2026-11-23T00:00:00Z\",\"sub_status\":\"Exception_Returning\",\"description\":\"back\"},"
                         "{\"time_utc\":\"2026-11-22T00:00:00Z\",\"sub_status\":\"InTransit_PickedUp\",\"location\":\"SZ\"}]}]}}}");
    json_t *bad = parse("{\"track_info\":{\"latest_status\":{\"status\":\"InTransit\"},\"tracking\":{\"providers\":[{\"events\":[{\"time_utc\":5}]}]}}}");
    ad_get_tracking_out out;
    ad_jpath at;
    ds_error err;

    ad_jpath_root(&at);
    assert_int_equal(ad_decode_17track_item(item, &at, &out, &err), DS_OK);
    assert_int_equal(out.status, AD_TRACK_RETURNING_TO_SENDER);
    assert_int_equal(out.n_checkpoints, 2);
    assert_int_equal(out.checkpoints[0].status, AD_TRACK_IN_TRANSIT);
    assert_int_equal(out.checkpoints[1].status, AD_TRACK_RETURNING_TO_SENDER);
    assert_int_equal(out.updated_at_ms, out.checkpoints[1].time_ms);
    ad_get_tracking_out_cleanup(&out);
    assert_int_equal(ad_decode_17track_item(bad, &at, &out, &err), DS_ERR_INTERNAL);
    assert_string_equal(err.message, "track_info.tracking.providers[0].events[0].time_utc: expected string");
    json_decref(item);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_order_decodes_and_dedupes_parcels),
        cmocka_unit_test(test_each_broken_field_is_named_by_path),
        cmocka_unit_test(test_unknown_supplier_status_is_the_defined_fallback),
        cmocka_unit_test(test_malformed_and_oversized_bodies_are_errors),
        cmocka_unit_test(test_string_caps_and_text_truncation),
        cmocka_unit_test(test_enum_from_table),
        cmocka_unit_test(test_rfc3339_times),
        cmocka_unit_test(test_money_round_trip),
        cmocka_unit_test(test_offers_policy_payment_and_tracking),
        cmocka_unit_test(test_17track_item_decodes_events_oldest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
