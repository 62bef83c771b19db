/* test_rpc_descset.c - the descriptor-set index: files, symbols, streaming
 * flags and dependency closure, on the descriptor set the daemon embeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ds_descset.h"
#include "rpc_descset.h"

static int setup(void **state)
{
    rpc_descset *d = NULL;
    ds_error err;

    ds_error_clear(&err);
    if (rpc_descset_new(ds_descset, ds_descset_len, &d, &err) != DS_OK)
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    rpc_descset_free(*state);
    return 0;
}

static void files_are_found_by_name(void **state)
{
    rpc_descset *d = *state;
    int i = rpc_descset_file_by_name(d, "grpc/health/v1/health.proto");
    size_t len = 0;

    assert_true(i >= 0);
    assert_string_equal(rpc_descset_file_name(d, i), "grpc/health/v1/health.proto");
    assert_non_null(rpc_descset_file_bytes(d, i, &len));
    assert_true(len > 0);
    assert_int_equal(rpc_descset_file_by_name(d, "no/such.proto"), -1);
}

static void symbols_resolve_to_their_file(void **state)
{
    rpc_descset *d = *state;
    int health = rpc_descset_file_by_name(d, "grpc/health/v1/health.proto");
    int status = rpc_descset_file_by_name(d, "google/rpc/error_details.proto");
    rpc_symbol_kind kind;

    assert_int_equal(rpc_descset_file_by_symbol(d, "grpc.health.v1.Health", &kind), health);
    assert_int_equal(kind, RPC_SYM_SERVICE);
    assert_int_equal(rpc_descset_file_by_symbol(d, ".grpc.health.v1.Health.Watch", &kind), health);
    assert_int_equal(kind, RPC_SYM_METHOD);
    assert_int_equal(rpc_descset_file_by_symbol(d, "grpc.health.v1.HealthCheckResponse.ServingStatus", &kind), health);
    assert_int_equal(kind, RPC_SYM_ENUM);
    assert_int_equal(rpc_descset_file_by_symbol(d, "grpc.health.v1.HealthCheckResponse.SERVING", &kind), health);
    assert_int_equal(kind, RPC_SYM_ENUM_VALUE);
    assert_int_equal(rpc_descset_file_by_symbol(d, "google.rpc.BadRequest.FieldViolation", &kind), status);
    assert_int_equal(kind, RPC_SYM_MESSAGE);
    assert_int_equal(rpc_descset_file_by_symbol(d, "google.rpc.ErrorInfo.reason", &kind), status);
    assert_int_equal(kind, RPC_SYM_FIELD);
    assert_int_equal(rpc_descset_file_by_symbol(d, "grpc.health.v1.Nope", NULL), -1);
    assert_int_equal(rpc_descset_file_by_symbol(d, "", NULL), -1);
}

static void streaming_flags_come_from_the_set(void **state)
{
    rpc_descset *d = *state;
    bool cs = true, ss = true;

    assert_int_equal(rpc_descset_method(d, "grpc.health.v1.Health", "Check", &cs, &ss), DS_OK);
    assert_false(cs);
    assert_false(ss);
    assert_int_equal(rpc_descset_method(d, "grpc.health.v1.Health", "Watch", &cs, &ss), DS_OK);
    assert_false(cs);
    assert_true(ss);
    assert_int_equal(rpc_descset_method(d, "grpc.reflection.v1.ServerReflection",
                                        "ServerReflectionInfo", &cs, &ss), DS_OK);
    assert_true(cs);
    assert_true(ss);
    assert_int_equal(rpc_descset_method(d, "grpc.health.v1.Health", "Nope", &cs, &ss),
                     DS_ERR_NOT_FOUND);
    assert_int_equal(rpc_descset_method(d, "grpc.health.v1.HealthCheckRequest", "service", &cs, &ss),
                     DS_ERR_NOT_FOUND);
}

static void closure_lists_each_dependency_once(void **state)
{
    rpc_descset *d = *state;
    int out[256];
    int f = rpc_descset_file_by_name(d, "google/rpc/error_details.proto");
    int dur = rpc_descset_file_by_name(d, "google/protobuf/duration.proto");
    size_t n, i, k;
    bool has_dur = false;

    n = rpc_descset_closure(d, f, out, 256);
    assert_true(n >= 2);
    assert_int_equal(out[0], f);
    for (i = 0; i < n; i++) {
        has_dur = has_dur || out[i] == dur;
        for (k = i + 1; k < n; k++)
            assert_int_not_equal(out[i], out[k]);
    }
    assert_true(has_dur);
    assert_int_equal(rpc_descset_closure(d, f, out, 1), 1);
    assert_int_equal(rpc_descset_closure(d, -1, out, 256), 0);
}

static void garbage_is_a_config_error(void **state)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x0a, 0x99};
    rpc_descset *d = (rpc_descset *)1;
    ds_error err;

    (void)state;
    ds_error_clear(&err);
    assert_int_equal(rpc_descset_new(junk, sizeof(junk), &d, &err), DS_ERR_CONFIG);
    assert_null(d);
    assert_true(strlen(err.message) > 0);
    rpc_descset_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_are_found_by_name),
        cmocka_unit_test(symbols_resolve_to_their_file),
        cmocka_unit_test(streaming_flags_come_from_the_set),
        cmocka_unit_test(closure_lists_each_dependency_once),
        cmocka_unit_test(garbage_is_a_config_error),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
