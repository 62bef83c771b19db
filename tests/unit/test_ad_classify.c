/* test_ad_classify.c - HTTP outcomes -> ds_status + retryable, messages
 * that name the path, and Retry-After parsing (seconds and HTTP-dates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ad_classify.h"

static ad_result http(int status, const char *body)
{
    ad_result r;

    ad_classify(&r, "POST", "https://api.example:8443/base/v1/orders?token=s3cret#x", AD_TR_OK, NULL, status,
                body, body ? strlen(body) : 0, -1);
    return r;
}

static void test_http_statuses_classify(void **state)
{
    static const struct {
        int http;
        ds_status st;
        bool retry;
    } rows[] = {
        {200, DS_OK, false}, {201, DS_OK, false}, {204, DS_OK, false},
        {301, DS_ERR_INTERNAL, false}, {400, DS_ERR_INVALID, false},
        {401, DS_ERR_UNAUTHENTICATED, false}, {403, DS_ERR_PERMISSION_DENIED, false},
        {404, DS_ERR_NOT_FOUND, false}, {408, DS_ERR_DEADLINE, true},
        {409, DS_ERR_FAILED_PRECONDITION, false}, {410, DS_ERR_INVALID, false},
        {413, DS_ERR_RESOURCE_EXHAUSTED, false}, {422, DS_ERR_FAILED_PRECONDITION, false},
        {429, DS_ERR_RESOURCE_EXHAUSTED, true}, {500, DS_ERR_UNAVAILABLE, true},
        {502, DS_ERR_UNAVAILABLE, true}, {503, DS_ERR_UNAVAILABLE, true}, {599, DS_ERR_UNAVAILABLE, true},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ad_result r = http(rows[i].http, NULL);
        assert_int_equal(r.status, rows[i].st);
        assert_int_equal(r.retryable, rows[i].retry);
        assert_int_equal(r.http_status, rows[i].http);
    }
}

static void test_message_names_path_and_vendor_error_once(void **state)
{
    ad_result r = http(422, "{\"error\":{\"code\":\"REJECTED\",\"message\":\"no\\nway\"}}");

    assert_string_equal(r.code, "REJECTED");
    assert_string_equal(r.message, "POST /base/v1/orders: HTTP 422 REJECTED: no?way");
    r = http(500, "<html>oops</html>");
    assert_string_equal(r.code, "");
    assert_string_equal(r.message, "POST /base/v1/orders: HTTP 500");
    r = http(200, "{}");
    assert_string_equal(r.message, "");
}

static void test_transport_outcomes_classify(void **state)
{
    static const struct {
        ad_transport tr;
        ds_status st;
        bool retry;
    } rows[] = {
        {AD_TR_TIMEOUT, DS_ERR_DEADLINE, true},       {AD_TR_NETWORK, DS_ERR_UNAVAILABLE, true},
        {AD_TR_TLS_VERIFY, DS_ERR_UNAVAILABLE, false}, {AD_TR_TOO_LARGE, DS_ERR_RESOURCE_EXHAUSTED, false},
        {AD_TR_CANCELLED, DS_ERR_CANCELLED, true},     {AD_TR_QUEUE_TIMEOUT, DS_ERR_DEADLINE, true},
        {AD_TR_OTHER, DS_ERR_INTERNAL, false},
    };
    ad_result r;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ad_classify(&r, "GET", "http://h/v1/x?q=1", rows[i].tr, "detail", 0, NULL, 0, -1);
        assert_int_equal(r.status, rows[i].st);
        assert_int_equal(r.retryable, rows[i].retry);
        assert_int_equal(r.http_status, 0);
        assert_int_equal(strncmp(r.message, "GET /v1/x: ", 11), 0);
    }
    ad_classify(&r, "GET", "http://h/v1/x", AD_TR_NETWORK, "Connection refused", 0, NULL, 0, -1);
    assert_string_equal(r.message, "GET /v1/x: network error (Connection refused)");
}

static void test_retry_after_seconds_and_dates(void **state)
{
    int64_t ms = -7;
    const int64_t now = 1445412480000LL; /* Wed, 21 Oct 2015 07:28:00 GMT */

    assert_true(ad_retry_after_parse("120", now, &ms));
    assert_int_equal(ms, 120000);
    assert_true(ad_retry_after_parse(" 0\r\n", now, &ms));
    assert_int_equal(ms, 0);
    assert_true(ad_retry_after_parse("Wed, 21 Oct 2015 07:28:30 GMT", now, &ms));
    assert_int_equal(ms, 30000);
    assert_true(ad_retry_after_parse("Wednesday, 21-Oct-15 07:29:00 GMT", now, &ms)); /* RFC 850 */
    assert_int_equal(ms, 60000);
    assert_true(ad_retry_after_parse("Wed Oct 21 07:28:10 2015", now, &ms)); /* asctime */
    assert_int_equal(ms, 10000);
    assert_true(ad_retry_after_parse("Tue, 20 Oct 2015 07:28:00 GMT", now, &ms)); /* past */
    assert_int_equal(ms, 0);
    assert_true(ad_retry_after_parse("999999999999", now, &ms));
    assert_int_equal(ms, AD_RETRY_AFTER_MAX_MS);
    ms = -7;
    assert_false(ad_retry_after_parse("", now, &ms));
    assert_false(ad_retry_after_parse("-5", now, &ms));
    assert_false(ad_retry_after_parse("1.5", now, &ms));
    assert_false(ad_retry_after_parse("soon", now, &ms));
    assert_false(ad_retry_after_parse(NULL, now, &ms));
    assert_int_equal(ms, -7);
}

static void test_url_path_drops_host_query_and_fragment(void **state)
{
    char p[64];

    ad_url_path("https://u:pw@h:1/a/b?c=d#e", p, sizeof p);
    assert_string_equal(p, "/a/b");
    ad_url_path("http://h", p, sizeof p);
    assert_string_equal(p, "/");
    ad_url_path("http://h/abcdefgh", p, 5);
    assert_string_equal(p, "/abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_statuses_classify),
        cmocka_unit_test(test_message_names_path_and_vendor_error_once),
        cmocka_unit_test(test_transport_outcomes_classify),
        cmocka_unit_test(test_retry_after_seconds_and_dates),
        cmocka_unit_test(test_url_path_drops_host_query_and_fragment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
