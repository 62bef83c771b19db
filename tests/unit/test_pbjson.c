/* test_pbjson.c - proto3 JSON mapping (pbjson) and the descriptor registry
 * (ds_pbreg): round trips, well-known types, 64-bit strings, enums, maps,
 * oneofs, bytes, and the errors that name the offending field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ds_arena.h"
#include "ds_pbreg.h"
#include "pbjson.h"

#include "google/protobuf/descriptor.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"

/* Encode m and return compact JSON text with sorted keys (caller frees). */
static char *encode_text(const ProtobufCMessage *m)
{
    json_t *j = NULL;
    ds_error err;
    ds_error_clear(&err);
    ds_status st = pbjson_encode(m, &j, &err);
    if (st != DS_OK)
        fail_msg("encode failed: %s", err.message);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

static void assert_encodes(const ProtobufCMessage *m, const char *want)
{
    char *s = encode_text(m);
    assert_string_equal(s, want);
    free(s);
}

/* Decode text as desc (malloc); fails the test on error. */
static ProtobufCMessage *decode_ok(const char *text, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = NULL;
    ds_error err;
    ds_error_clear(&err);
    if (pbjson_decode_text(text, strlen(text), desc, NULL, &m, &err) != DS_OK)
        fail_msg("decode of %s failed: %s", text, err.message);
    return m;
}

/* Decode must fail with DS_ERR_INVALID and a message containing `want`. */
static void assert_decode_fails(const char *text, const ProtobufCMessageDescriptor *desc,
                                const char *want)
{
    ProtobufCMessage *m = NULL;
    ds_error err;
    ds_error_clear(&err);
    ds_status st = pbjson_decode_text(text, strlen(text), desc, NULL, &m, &err);
    if (st != DS_ERR_INVALID || strstr(err.message, want) == NULL)
        fail_msg("decode of %s: status %d message \"%s\", wanted \"%s\"", text, st, err.message,
                 want);
    assert_null(m);
}

/* decode(text) then encode must give `want` (compact, sorted keys). */
static void assert_round_trip(const char *text, const ProtobufCMessageDescriptor *desc,
                              const char *want)
{
    ProtobufCMessage *m = decode_ok(text, desc);
    assert_encodes(m, want);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void test_json_names_follow_protobuf_rule(void **state)
{
    char buf[64];
    assert_int_equal(pbjson_json_name("order_id", buf, sizeof buf), 7);
    assert_string_equal(buf, "orderId");
    pbjson_json_name("no_reason_return_days", buf, sizeof buf);
    assert_string_equal(buf, "noReasonReturnDays");
    pbjson_json_name("a1_b", buf, sizeof buf);
    assert_string_equal(buf, "a1B");
    pbjson_json_name("plain", buf, sizeof buf);
    assert_string_equal(buf, "plain");
    assert_int_equal(pbjson_json_name("long_field_name", buf, 5), 13);
    assert_string_equal(buf, "long");
}

static void test_registry_finds_by_full_name(void **state)
{
    assert_ptr_equal(ds_pbreg_message("google.rpc.Status"), &google__rpc__status__descriptor);
    assert_ptr_equal(ds_pbreg_message(".google.rpc.Status"), &google__rpc__status__descriptor);
    assert_ptr_equal(ds_pbreg_message("google.rpc.BadRequest.FieldViolation"),
                     &google__rpc__bad_request__field_violation__descriptor);
    assert_ptr_equal(ds_pbreg_message_by_type_url("type.googleapis.com/google.rpc.BadRequest"),
                     &google__rpc__bad_request__descriptor);
    assert_null(ds_pbreg_message("google.rpc.Nope"));
    assert_null(ds_pbreg_message(NULL));
    assert_non_null(ds_pbreg_message("dropship.v1.Money"));
    assert_ptr_equal(ds_pbreg_enum("grpc.health.v1.HealthCheckResponse.ServingStatus"),
                     &grpc__health__v1__health_check_response__serving_status__descriptor);
    assert_ptr_equal(ds_pbreg_service("grpc.health.v1.Health"), &grpc__health__v1__health__descriptor);
    int found = 0;
    for (size_t i = 0; i < ds_pbreg_service_count(); i++)
        found += ds_pbreg_service_at(i) == &grpc__health__v1__health__descriptor;
    assert_int_equal(found, 1);
    assert_null(ds_pbreg_service_at(ds_pbreg_service_count()));
    assert_true(ds_pbreg_message_count() > 20);
}

static void test_defaults_are_omitted(void **state)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    assert_encodes(&st.base, "{}");
    st.code = 3;
    st.message = "bad";
    assert_encodes(&st.base, "{\"code\":3,\"message\":\"bad\"}");
}

static void test_status_with_any_details_round_trips(void **state)
{
    const char *in =
        "{\"code\":3,\"message\":\"invalid order\",\"details\":["
        "{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\",\"fieldViolations\":"
        "[{\"field\":\"lines[0].quantity\",\"description\":\"must be positive\"}]},"
        "{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"BAD\","
        "\"domain\":\"dropship\",\"metadata\":{\"a\":\"1\",\"b\":\"2\"}}]}";
    ProtobufCMessage *m = decode_ok(in, &google__rpc__status__descriptor);
    Google__Rpc__Status *st = (Google__Rpc__Status *)m;
    assert_int_equal(st->n_details, 2);
    assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.BadRequest");
    Google__Rpc__BadRequest *br =
        google__rpc__bad_request__unpack(NULL, st->details[0]->value.len, st->details[0]->value.data);
    assert_non_null(br);
    assert_int_equal(br->n_field_violations, 1);
    assert_string_equal(br->field_violations[0]->field, "lines[0].quantity");
    google__rpc__bad_request__free_unpacked(br, NULL);
    char *out = encode_text(m);
    json_t *want = json_loads(in, 0, NULL);
    json_t *got = json_loads(out, 0, NULL);
    assert_true(json_equal(want, got));
    json_decref(want);
    json_decref(got);
    free(out);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void test_map_field_is_an_object(void **state)
{
    assert_round_trip("{\"reason\":\"R\",\"metadata\":{\"k1\":\"v1\",\"k2\":\"\"}}",
                      &google__rpc__error_info__descriptor,
                      "{\"metadata\":{\"k1\":\"v1\",\"k2\":\"\"},\"reason\":\"R\"}");
    assert_decode_fails("{\"metadata\":[\"x\"]}", &google__rpc__error_info__descriptor,
                        "field \"metadata\": expected an object (map), got array");
    assert_decode_fails("{\"metadata\":{\"k\":7}}", &google__rpc__error_info__descriptor,
                        "field \"metadata[\"k\"]\": expected a string, got integer");
    assert_true(pbjson_is_map_entry(&google__rpc__error_info__metadata_entry__descriptor, "metadata"));
    assert_false(pbjson_is_map_entry(&google__rpc__bad_request__field_violation__descriptor,
                                     "field_violations"));
}

static void test_timestamp_rfc3339(void **state)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = 1795333201;
    ts.nanos = 123000000;
    assert_encodes(&ts.base, "\"2026-11-22T07:40:01.123Z\"");
    ts.nanos = 1000;
    assert_encodes(&ts.base, "\"2026-11-22T07:40:01.000001Z\"");
    ts.nanos = 5;
    assert_encodes(&ts.base, "\"2026-11-22T07:40:01.000000005Z\"");
    ts.seconds = -62135596800LL;
    ts.nanos = 0;
    assert_encodes(&ts.base, "\"0001-01-01T00:00:00Z\"");
    ts.seconds = 951782400; /* leap day */
    assert_encodes(&ts.base, "\"2000-02-29T00:00:00Z\"");

    assert_round_trip("\"2026-11-22T08:40:01.5+01:00\"", &google__protobuf__timestamp__descriptor,
                      "\"2026-11-22T07:40:01.500Z\"");
    assert_round_trip("\"1969-12-31T23:59:59Z\"", &google__protobuf__timestamp__descriptor,
                      "\"1969-12-31T23:59:59Z\"");
    assert_round_trip("\"9999-12-31T23:59:59.999999999Z\"", &google__protobuf__timestamp__descriptor,
                      "\"9999-12-31T23:59:59.999999999Z\"");
    const ProtobufCMessageDescriptor *d = &google__protobuf__timestamp__descriptor;
    assert_decode_fails("\"2026-02-30T00:00:00Z\"", d, "RFC 3339");
    assert_decode_fails("\"2026-11-22 07:40:01Z\"", d, "RFC 3339");
    assert_decode_fails("\"2026-11-22T07:40:01\"", d, "RFC 3339");
    assert_decode_fails("\"2026-11-22T07:40:01.1234567891Z\"", d, "RFC 3339");
    assert_decode_fails("1795333201", d, "got integer");
    assert_decode_fails("\"0001-01-01T00:00:00+01:00\"", d, "out of range");

    ts.seconds = 253402300800LL;
    json_t *j = NULL;
    ds_error err;
    assert_int_equal(pbjson_encode(&ts.base, &j, &err), DS_ERR_INVALID);
    assert_null(j);
}

static void test_duration_seconds_string(void **state)
{
    Google__Protobuf__Duration du = GOOGLE__PROTOBUF__DURATION__INIT;
    du.seconds = 3;
    du.nanos = 500000000;
    assert_encodes(&du.base, "\"3.500s\"");
    du.seconds = 0;
    du.nanos = -1000;
    assert_encodes(&du.base, "\"-0.000001s\"");
    du.seconds = 0;
    du.nanos = 0;
    assert_encodes(&du.base, "\"0s\"");

    ProtobufCMessage *m = decode_ok("\"3.5s\"", &google__protobuf__duration__descriptor);
    Google__Protobuf__Duration *got = (Google__Protobuf__Duration *)m;
    assert_int_equal(got->seconds, 3);
    assert_int_equal(got->nanos, 500000000);
    protobuf_c_message_free_unpacked(m, NULL);
    m = decode_ok("\"-1.25s\"", &google__protobuf__duration__descriptor);
    got = (Google__Protobuf__Duration *)m;
    assert_int_equal(got->seconds, -1);
    assert_int_equal(got->nanos, -250000000);
    protobuf_c_message_free_unpacked(m, NULL);
    assert_decode_fails("\"3.5\"", &google__protobuf__duration__descriptor, "duration");
    assert_decode_fails("\"s\"", &google__protobuf__duration__descriptor, "duration");
    assert_decode_fails("\"315576000001s\"", &google__protobuf__duration__descriptor, "out of range");
}

static void test_field_mask_camel_case_paths(void **state)
{
    char *paths[] = {"address.postal_code", "note"};
    Google__Protobuf__FieldMask fm = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    fm.paths = paths;
    fm.n_paths = 2;
    assert_encodes(&fm.base, "\"address.postalCode,note\"");
    ProtobufCMessage *m = decode_ok("\"address.postalCode,note\"", &google__protobuf__field_mask__descriptor);
    Google__Protobuf__FieldMask *got = (Google__Protobuf__FieldMask *)m;
    assert_int_equal(got->n_paths, 2);
    assert_string_equal(got->paths[0], "address.postal_code");
    assert_string_equal(got->paths[1], "note");
    protobuf_c_message_free_unpacked(m, NULL);
    assert_round_trip("\"\"", &google__protobuf__field_mask__descriptor, "\"\"");
    assert_decode_fails("\"a,,b\"", &google__protobuf__field_mask__descriptor, "field mask");
}

static void test_int64_as_strings(void **state)
{
    const ProtobufCMessageDescriptor *d = &google__protobuf__uninterpreted_option__descriptor;
    Google__Protobuf__UninterpretedOption o = GOOGLE__PROTOBUF__UNINTERPRETED_OPTION__INIT;
    o.has_positive_int_value = 1;
    o.positive_int_value = UINT64_MAX;
    o.has_negative_int_value = 1;
    o.negative_int_value = INT64_MIN;
    assert_encodes(&o.base, "{\"negativeIntValue\":\"-9223372036854775808\","
                            "\"positiveIntValue\":\"18446744073709551615\"}");
    /* numbers and strings are both accepted on input */
    assert_round_trip("{\"positiveIntValue\":42,\"negativeIntValue\":\"-7\"}", d,
                      "{\"negativeIntValue\":\"-7\",\"positiveIntValue\":\"42\"}");
    assert_round_trip("{\"positive_int_value\":\"1e3\"}", d, "{\"positiveIntValue\":\"1000\"}");
    assert_decode_fails("{\"positiveIntValue\":\"-1\"}", d, "expected an integer");
    assert_decode_fails("{\"positiveIntValue\":\"18446744073709551616\"}", d, "out of range");
    assert_decode_fails("{\"negativeIntValue\":\"12abc\"}", d,
                        "field \"negativeIntValue\": expected an integer, got \"12abc\"");
    assert_decode_fails("{\"negativeIntValue\":1.5}", d, "expected an integer");

    void *money = NULL;
    const ProtobufCMessageDescriptor *md = ds_pbreg_message("dropship.v1.Money");
    assert_non_null(md);
    ds_error err;
    const char *in = "{\"currencyCode\":\"USD\",\"units\":\"12\",\"nanos\":500000000}";
    assert_int_equal(pbjson_decode_text(in, strlen(in), md, NULL, (ProtobufCMessage **)&money, &err),
                     DS_OK);
    assert_encodes(money, "{\"currencyCode\":\"USD\",\"nanos\":500000000,\"units\":\"12\"}");
    protobuf_c_message_free_unpacked(money, NULL);
}

static void test_doubles_and_nan(void **state)
{
    const ProtobufCMessageDescriptor *d = &google__protobuf__uninterpreted_option__descriptor;
    assert_round_trip("{\"doubleValue\":2.5}", d, "{\"doubleValue\":2.5}");
    assert_round_trip("{\"doubleValue\":\"NaN\"}", d, "{\"doubleValue\":\"NaN\"}");
    assert_round_trip("{\"doubleValue\":\"-Infinity\"}", d, "{\"doubleValue\":\"-Infinity\"}");
    assert_round_trip("{\"doubleValue\":\"0.25\"}", d, "{\"doubleValue\":0.25}");
    assert_decode_fails("{\"doubleValue\":\"many\"}", d, "expected a number");
    assert_decode_fails("{\"doubleValue\":true}", d, "expected a number, got boolean");
}

static void test_int32_ranges(void **state)
{
    const ProtobufCMessageDescriptor *d = &google__rpc__status__descriptor;
    assert_round_trip("{\"code\":\"5\"}", d, "{\"code\":5}");
    assert_round_trip("{\"code\":7.0}", d, "{\"code\":7}");
    assert_round_trip("{\"code\":-2147483648}", d, "{\"code\":-2147483648}");
    assert_decode_fails("{\"code\":2147483648}", d, "field \"code\": value 2147483648 out of range");
    assert_decode_fails("{\"code\":\"NaN\"}", d, "field \"code\": expected an integer");
    assert_decode_fails("{\"code\":\"abc\"}", d, "field \"code\": expected an integer, got \"abc\"");
    assert_decode_fails("{\"code\":[1]}", d, "field \"code\": expected an integer, got array");
    assert_decode_fails("{\"message\":5}", d, "field \"message\": expected a string, got integer");
    assert_decode_fails("[]", d, "expected an object (google.rpc.Status), got array");
}

static void test_enums_by_name_and_number(void **state)
{
    const ProtobufCMessageDescriptor *d = &grpc__health__v1__health_check_response__descriptor;
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    assert_encodes(&r.base, "{\"status\":\"SERVING\"}");
    r.status = 77; /* unknown values print as numbers */
    assert_encodes(&r.base, "{\"status\":77}");
    assert_round_trip("{\"status\":\"NOT_SERVING\"}", d, "{\"status\":\"NOT_SERVING\"}");
    assert_round_trip("{\"status\":1}", d, "{\"status\":\"SERVING\"}");
    assert_round_trip("{\"status\":\"UNKNOWN\"}", d, "{}");
    assert_decode_fails("{\"status\":\"HAPPY\"}", d,
                        "field \"status\": unknown value \"HAPPY\" of enum "
                        "grpc.health.v1.HealthCheckResponse.ServingStatus");
    assert_decode_fails("{\"status\":true}", d, "expected an enum name");
}

static void test_unknown_field_names_its_path(void **state)
{
    const ProtobufCMessageDescriptor *d = &google__rpc__status__descriptor;
    assert_decode_fails("{\"code\":3,\"mesage\":\"x\"}", d, "unknown field \"mesage\"");
    assert_decode_fails("{\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\","
                        "\"fieldViolations\":[{\"field\":\"a\"},{\"qty\":1}]}]}",
                        d, "unknown field \"details[0].fieldViolations[1].qty\"");
    const ProtobufCMessageDescriptor *parcel = ds_pbreg_message("dropship.v1.Parcel");
    assert_non_null(parcel);
    assert_decode_fails("{\"lines\":[{\"qty\":2}]}", parcel, "unknown field \"lines[0].qty\"");

    ProtobufCMessage *m = NULL;
    ds_error err;
    ds_error_clear(&err);
    const char *in = "{\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.Nope\"}]}";
    assert_int_equal(pbjson_decode_text(in, strlen(in), d, NULL, &m, &err), DS_ERR_INVALID);
    assert_string_equal(err.message,
                        "field \"details[0]\": Any of unknown type \"type.googleapis.com/google.rpc.Nope\"");
    assert_int_equal(err.n_violations, 1);
    assert_string_equal(err.violations[0].field, "details[0]");
}

static void test_json_and_proto_names_accepted_once(void **state)
{
    const ProtobufCMessageDescriptor *d = &google__rpc__bad_request__field_violation__descriptor;
    assert_round_trip("{\"field\":\"a\",\"description\":\"b\"}", d,
                      "{\"description\":\"b\",\"field\":\"a\"}");
    const ProtobufCMessageDescriptor *br = &google__rpc__bad_request__descriptor;
    assert_round_trip("{\"field_violations\":[{\"field\":\"x\"}]}", br,
                      "{\"fieldViolations\":[{\"field\":\"x\"}]}");
    assert_decode_fails("{\"field_violations\":[],\"fieldViolations\":[]}", br, "given twice");
    assert_decode_fails("{\"fieldViolations\":[null]}", br, "null is not allowed");
    assert_round_trip("{\"fieldViolations\":null}", br, "{}");
    assert_decode_fails("{\"a\":1,\"a\":2}", br, "duplicate object key");
}

static void test_bytes_base64(void **state)
{
    const ProtobufCMessageDescriptor *d = &google__protobuf__uninterpreted_option__descriptor;
    Google__Protobuf__UninterpretedOption o = GOOGLE__PROTOBUF__UNINTERPRETED_OPTION__INIT;
    o.has_string_value = 1;
    o.string_value.data = (uint8_t *)"\xfb\xff\xfe hi";
    o.string_value.len = 6;
    assert_encodes(&o.base, "{\"stringValue\":\"+//+IGhp\"}");
    /* URL-safe alphabet, missing padding */
    ProtobufCMessage *m = decode_ok("{\"stringValue\":\"-__-IGhp\"}", d);
    Google__Protobuf__UninterpretedOption *got = (Google__Protobuf__UninterpretedOption *)m;
    assert_int_equal(got->string_value.len, 6);
    assert_memory_equal(got->string_value.data, "\xfb\xff\xfe hi", 6);
    protobuf_c_message_free_unpacked(m, NULL);
    assert_round_trip("{\"stringValue\":\"aGk\"}", d, "{\"stringValue\":\"aGk=\"}");
    assert_round_trip("{\"stringValue\":\"aA==\"}", d, "{\"stringValue\":\"aA==\"}");
    assert_round_trip("{\"stringValue\":\"\"}", d, "{\"stringValue\":\"\"}");
    assert_decode_fails("{\"stringValue\":\"a$b=\"}", d, "field \"stringValue\": invalid base64");
    assert_decode_fails("{\"stringValue\":\"abcde\"}", d, "invalid base64");
    assert_decode_fails("{\"stringValue\":12}", d, "expected a base64 string");
}

static void test_oneof_one_member_only(void **state)
{
    const ProtobufCMessageDescriptor *d = &grpc__reflection__v1__server_reflection_request__descriptor;
    assert_round_trip("{\"host\":\"h\",\"fileContainingSymbol\":\"dropship.v1.Money\"}", d,
                      "{\"fileContainingSymbol\":\"dropship.v1.Money\",\"host\":\"h\"}");
    /* a oneof member is written even when it holds its default */
    assert_round_trip("{\"listServices\":\"\"}", d, "{\"listServices\":\"\"}");
    assert_decode_fails("{\"listServices\":\"\",\"fileByFilename\":\"x\"}", d,
                        "field \"fileByFilename\": another field of the same oneof");
}

static void test_nested_messages_and_timestamps(void **state)
{
    const ProtobufCMessageDescriptor *parcel = ds_pbreg_message("dropship.v1.Parcel");
    assert_non_null(parcel);
    assert_round_trip("{\"carrier\":\"sim-post\",\"trackingNumber\":\"SIM1\",\"checkpoints\":"
                      "[{\"eventTime\":\"2026-11-22T07:40:01.123Z\",\"location\":\"X\"}],"
                      "\"lines\":[{\"lineId\":\"l1\",\"quantity\":2}]}",
                      parcel,
                      "{\"carrier\":\"sim-post\",\"checkpoints\":[{\"eventTime\":"
                      "\"2026-11-22T07:40:01.123Z\",\"location\":\"X\"}],\"lines\":[{\"lineId\":"
                      "\"l1\",\"quantity\":2}],\"trackingNumber\":\"SIM1\"}");
    assert_decode_fails("{\"checkpoints\":[{\"eventTime\":\"yesterday\"}]}", parcel,
                        "field \"checkpoints[0].eventTime\": expected an RFC 3339 timestamp");
}

static void test_any_of_well_known_type_uses_value(void **state)
{
    const char *in = "{\"details\":[{\"@type\":\"type.googleapis.com/google.protobuf.Duration\","
                     "\"value\":\"1.5s\"}]}";
    assert_round_trip(in, &google__rpc__status__descriptor,
                      "{\"details\":[{\"@type\":\"type.googleapis.com/google.protobuf.Duration\","
                      "\"value\":\"1.500s\"}]}");
    assert_decode_fails("{\"details\":[{\"value\":\"1s\"}]}", &google__rpc__status__descriptor,
                        "needs a \"@type\"");
}

static void test_decode_into_arena(void **state)
{
    ds_arena *a = ds_arena_new(0);
    ProtobufCMessage *m = NULL;
    ds_error err;
    const char *in = "{\"code\":3,\"message\":\"m\",\"details\":[{\"@type\":"
                     "\"type.googleapis.com/google.rpc.ErrorInfo\",\"metadata\":{\"k\":\"v\"}}]}";
    assert_int_equal(pbjson_decode_text(in, strlen(in), &google__rpc__status__descriptor,
                                        ds_arena_allocator(a), &m, &err),
                     DS_OK);
    assert_true(ds_arena_used(a) > 0);
    assert_string_equal(((Google__Rpc__Status *)m)->message, "m");
    /* failures leave nothing behind in the caller's hands */
    ProtobufCMessage *bad = NULL;
    const char *in2 = "{\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"x\":1}]}";
    assert_int_equal(pbjson_decode_text(in2, strlen(in2), &google__rpc__status__descriptor,
                                        ds_arena_allocator(a), &bad, &err),
                     DS_ERR_INVALID);
    assert_null(bad);
    assert_string_equal(err.message, "unknown field \"details[0].x\"");
    ds_arena_free(a);
}

static void test_syntax_errors_reported(void **state)
{
    assert_decode_fails("{\"code\":", &google__rpc__status__descriptor, "invalid JSON at line 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_names_follow_protobuf_rule),
        cmocka_unit_test(test_registry_finds_by_full_name),
        cmocka_unit_test(test_defaults_are_omitted),
        cmocka_unit_test(test_status_with_any_details_round_trips),
        cmocka_unit_test(test_map_field_is_an_object),
        cmocka_unit_test(test_timestamp_rfc3339),
        cmocka_unit_test(test_duration_seconds_string),
        cmocka_unit_test(test_field_mask_camel_case_paths),
        cmocka_unit_test(test_int64_as_strings),
        cmocka_unit_test(test_doubles_and_nan),
        cmocka_unit_test(test_int32_ranges),
        cmocka_unit_test(test_enums_by_name_and_number),
        cmocka_unit_test(test_unknown_field_names_its_path),
        cmocka_unit_test(test_json_and_proto_names_accepted_once),
        cmocka_unit_test(test_bytes_base64),
        cmocka_unit_test(test_oneof_one_member_only),
        cmocka_unit_test(test_nested_messages_and_timestamps),
        cmocka_unit_test(test_any_of_well_known_type_uses_value),
        cmocka_unit_test(test_decode_into_arena),
        cmocka_unit_test(test_syntax_errors_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
