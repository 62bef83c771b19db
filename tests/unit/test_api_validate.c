/* test_api_validate.c - the request field checks of server/api/api_validate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_validate.h"

static void required_and_text_limits(void **state)
{
    ds_error err;

    ds_error_clear(&err);
    assert_true(av_required(&err, "a", "x"));
    assert_false(av_required(&err, "b", ""));
    assert_false(av_required(&err, "c", NULL));
    assert_int_equal(err.n_violations, 2);
    assert_string_equal(err.violations[0].field, "b");
    assert_true(av_text(&err, "d", "Grüße", 10, false));
    assert_true(av_text(&err, "d2", "浙江省杭州市", 6, false)); /* 6 characters, 18 bytes */
    assert_false(av_text(&err, "e", "0123456789a", 10, false));
    assert_false(av_text(&err, "f", "bad\xc3", 10, false));
    assert_false(av_text(&err, "g", "tab\there", 20, false));
    assert_true(av_text(&err, "h", "line\nnext", 20, true));
    assert_false(av_text(&err, "i", "\xed\xa0\x80", 20, false)); /* UTF-16 surrogate */
    assert_int_equal(err.n_violations, 6);
}

static void done_sets_invalid_with_first_violation(void **state)
{
    ds_error err;

    ds_error_clear(&err);
    assert_int_equal(api_validate_done(&err, "order"), DS_OK);
    av_required(&err, "order.external_order_id", "");
    av_required(&err, "order.lines", NULL);
    assert_int_equal(api_validate_done(&err, "order"), DS_ERR_INVALID);
    assert_int_equal(err.status, DS_ERR_INVALID);
    assert_non_null(strstr(err.message, "order.external_order_id"));
    assert_int_equal(err.n_violations, 2);
}

static void countries_and_currencies(void **state)
{
    ds_error err;

    ds_error_clear(&err);
    assert_true(av_country(&err, "c", "DE"));
    assert_true(av_country(&err, "c", "ID"));
    assert_false(av_country(&err, "c", "de"));
    assert_false(av_country(&err, "c", "XX"));
    assert_false(av_country(&err, "c", "DEU"));
    assert_false(av_country(&err, "c", ""));
    assert_true(av_currency(&err, "m", "EUR"));
    assert_true(av_currency(&err, "m", "IDR"));
    assert_false(av_currency(&err, "m", "EU"));
    assert_false(av_currency(&err, "m", "ABC"));
    assert_int_equal(err.n_violations, 6);
}

static void phones(void **state)
{
    ds_error err;

    ds_error_clear(&err);
    assert_true(av_phone(&err, "p", "+49 30 1234567"));
    assert_true(av_phone(&err, "p", "(555) 123-4567"));
    assert_true(av_phone(&err, "p", "+62-812-3456-7890"));
    assert_false(av_phone(&err, "p", "12345"));
    assert_false(av_phone(&err, "p", "call me"));
    assert_false(av_phone(&err, "p", "49+301234567"));
    assert_false(av_phone(&err, "p", "+1234567890123456"));
    assert_int_equal(err.n_violations, 4);
}

static void postal_codes_per_country(void **state)
{
    ds_error err;

    ds_error_clear(&err);
    assert_true(av_postal_code(&err, "z", "US", "94105"));
    assert_true(av_postal_code(&err, "z", "US", "94105-1234"));
    assert_false(av_postal_code(&err, "z", "US", "9410"));
    assert_true(av_postal_code(&err, "z", "GB", "SW1A 1AA"));
    assert_true(av_postal_code(&err, "z", "CA", "K1A 0B1"));
    assert_false(av_postal_code(&err, "z", "DE", "1011"));
    assert_true(av_postal_code(&err, "z", "HK", ""));
    assert_false(av_postal_code(&err, "z", "FR", ""));
    assert_true(av_postal_code(&err, "z", "EE", "10111"));    /* generic rule */
    assert_false(av_postal_code(&err, "z", "EE", "10#111"));
    assert_int_equal(err.n_violations, 4);
    assert_non_null(strstr(err.violations[0].description, "12345"));
}

static void money_rules(void **state)
{
    ds_error err;

    ds_error_clear(&err);
    assert_true(av_money(&err, "price", "USD", 12, 500000000, true));
    assert_true(av_money(&err, "price", "USD", -1, -5, false));
    assert_false(av_money(&err, "price", "USD", -1, 0, true));
    assert_false(av_money(&err, "price", "USD", 1, -5, false));
    assert_false(av_money(&err, "price", "USD", 0, 1000000000, false));
    assert_false(av_money(&err, "price", "usd", 1, 0, false));
    assert_int_equal(err.n_violations, 4);
    assert_string_equal(err.violations[3].field, "price.currency_code");
}

static void ids_tokens_digests_uris(void **state)
{
    ds_error err;
    char longtok[70];

    memset(longtok, 'a', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = '\0';
    ds_error_clear(&err);
    assert_true(av_uuid(&err, "id", "0f4c1a52-8d4e-4b7a-9c1d-2e3f4a5b6c7d"));
    assert_false(av_uuid(&err, "id", "0f4c1a52-8d4e-4b7a-9c1d-2e3f4a5b6c7"));
    assert_false(av_uuid(&err, "id", "' OR 1=1 --"));
    assert_true(av_token(&err, "request_id", "req-2026.11:22_1", 64));
    assert_false(av_token(&err, "request_id", longtok, 64));
    assert_false(av_token(&err, "request_id", "has space", 64));
    assert_true(av_sha256_hex(&err, "h", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_false(av_sha256_hex(&err, "h", "e3b0"));
    assert_true(av_uri(&err, "u", "s3://bucket/receipt.pdf", 100));
    assert_false(av_uri(&err, "u", "no scheme here", 100));
    assert_true(av_http_url(&err, "b", "https://api.example.com/v1", 100));
    assert_false(av_http_url(&err, "b", "ftp://example.com", 100));
    assert_false(av_http_url(&err, "b", "not a url", 100));
    assert_true(av_range(&err, "q", 5, 1, 10000));
    assert_false(av_range(&err, "q", 0, 1, 10000));
    assert_int_equal(err.n_violations, 9);
}

static void violations_beyond_cap_are_counted(void **state)
{
    ds_error err;

    ds_error_clear(&err);
    for (int i = 0; i < DS_ERROR_VIOLATIONS_MAX + 3; i++)
        av_required(&err, "x", "");
    assert_int_equal(err.n_violations, DS_ERROR_VIOLATIONS_MAX);
    assert_int_equal(err.dropped, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(required_and_text_limits),
        cmocka_unit_test(done_sets_invalid_with_first_violation),
        cmocka_unit_test(countries_and_currencies),
        cmocka_unit_test(phones),
        cmocka_unit_test(postal_codes_per_country),
        cmocka_unit_test(money_rules),
        cmocka_unit_test(ids_tokens_digests_uris),
        cmocka_unit_test(violations_beyond_cap_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
