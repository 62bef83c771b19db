/* test_api_auth.c - parsing of the authorization header (api_auth_bearer_key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_auth.h"

#define KEY "dsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_aBcDe"

static void accepts_a_well_formed_bearer_key(void **state)
{
    const char *k = api_auth_bearer_key("Bearer " KEY);

    assert_int_equal(strlen(KEY), STORE_API_KEY_LEN);
    assert_non_null(k);
    assert_string_equal(k, KEY);
    assert_non_null(api_auth_bearer_key("bearer " KEY)); /* scheme is case-insensitive */
    assert_non_null(api_auth_bearer_key("Bearer   " KEY));
}

static void rejects_everything_else(void **state)
{
    assert_null(api_auth_bearer_key(NULL));
    assert_null(api_auth_bearer_key(""));
    assert_null(api_auth_bearer_key(KEY));                 /* no scheme */
    assert_null(api_auth_bearer_key("Basic " KEY));        /* other scheme */
    assert_null(api_auth_bearer_key("Bearer " KEY "x"));   /* too long */
    assert_null(api_auth_bearer_key("Bearer dsk_short"));  /* too short */
    assert_null(api_auth_bearer_key("Bearer xyz_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_aBcDe"));
    assert_null(api_auth_bearer_key("Bearer dsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/aBcDe"));
    assert_null(api_auth_bearer_key("Bearer " KEY " "));   /* trailing garbage */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_a_well_formed_bearer_key),
        cmocka_unit_test(rejects_everything_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
