/* pbjson.h - proto3 JSON mapping for protobuf-c messages, both ways.
 *
 * Works on any message through its ProtobufCMessageDescriptor (jansson for
 * the JSON side). Output follows the proto3 JSON rules: lowerCamelCase
 * names computed from the field name, fields with default values omitted,
 * enums as names, 64-bit integers as strings, bytes as base64, maps as
 * objects, and the well-known types Timestamp, Duration, FieldMask, Any
 * (resolved through ds_pbreg) and the wrappers in their special forms.
 * Input accepts the JSON name and the original field name, enum numbers,
 * numbers or strings for every numeric type, standard and URL-safe base64,
 * and null as "not set". Unknown fields, wrong types, out-of-range numbers,
 * NaN for integers and fields given twice are rejected; the error message and
 * the one ds_error violation name the field path as written in the input
 * (`unknown field "order.lines[0].qty"`).
 *
 * Threads: reentrant; no global state.
 */
#ifndef PBJSON_H
#define PBJSON_H

#include <stddef.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "ds_status.h"

enum {
    PBJSON_MAX_DEPTH = 64,      /* nesting of messages, lists and maps */
    PBJSON_MAX_PATH = 256       /* longest field path kept for messages */
};

/* Encode `msg` as JSON. On DS_OK *out is a new reference owned by the
 * caller (json_decref). On failure *out is NULL and err says which field
 * has no JSON form (DS_ERR_INVALID: Timestamp/Duration out of range, Any of
 * an unknown type, invalid UTF-8) or DS_ERR_NOMEM. */
ds_status pbjson_encode(const ProtobufCMessage *msg, json_t **out, ds_error *err);

/* Decode `json` into a new message of type `desc`. Every part of the message
 * comes from `alloc` (NULL: malloc); release it with
 * protobuf_c_message_free_unpacked(*out, alloc) (or by freeing the arena of
 * a ds_arena_allocator). `json` is not modified. On failure *out is NULL,
 * nothing is leaked, and err names the field (DS_ERR_INVALID) or reports
 * DS_ERR_NOMEM. */
ds_status pbjson_decode(const json_t *json, const ProtobufCMessageDescriptor *desc,
                        ProtobufCAllocator *alloc, ProtobufCMessage **out, ds_error *err);

/* Parse `len` bytes of JSON text, then pbjson_decode. A syntax error is
 * DS_ERR_INVALID with line and column in the message. */
ds_status pbjson_decode_text(const char *text, size_t len, const ProtobufCMessageDescriptor *desc,
                             ProtobufCAllocator *alloc, ProtobufCMessage **out, ds_error *err);

/* Write the proto3 JSON name of `field_name` ("order_id" -> "orderId") into
 * buf (always NUL-terminated when cap > 0). Returns the full length, which
 * is >= cap when the name was truncated. */
size_t pbjson_json_name(const char *field_name, char *buf, size_t cap);

/* True when `desc` is the entry message protobuf-c generates for a map
 * field named `field_name` (a repeated message with key = 1, value = 2). */
int pbjson_is_map_entry(const ProtobufCMessageDescriptor *desc, const char *field_name);

#endif
