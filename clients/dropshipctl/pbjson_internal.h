/* pbjson_internal.h - what pbjson.c (messages, fields, scalars) and
 * pbjson_wkt.c (well-known types, base64) share. Not for other modules.
 */
#ifndef PBJSON_INTERNAL_H
#define PBJSON_INTERNAL_H

#include <stdbool.h>

#include "pbjson.h"

/* State of one encode or decode: allocator, error sink, current field path
 * (as written in the input, or JSON names on output) and nesting depth. */
typedef struct pbj_ctx {
    ProtobufCAllocator *alloc;
    ds_error *err;
    char path[PBJSON_MAX_PATH];
    size_t path_len;
    int depth;
} pbj_ctx;

/* The malloc-backed allocator used when the caller passes none. */
extern ProtobufCAllocator pbj_malloc_allocator;

/* Fail with DS_ERR_INVALID: message `field "<path>": <text>` (just <text> at
 * the top level) and one violation for the path. Returns DS_ERR_INVALID. */
ds_status pbj_fail(pbj_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append ".name" (or "name" at the top), "[i]" or "[\"key\"]" to the path;
 * returns the previous length for pbj_path_pop. Truncates silently. */
size_t pbj_path_field(pbj_ctx *c, const char *name);
size_t pbj_path_index(pbj_ctx *c, size_t i);
size_t pbj_path_key(pbj_ctx *c, const char *key);
void pbj_path_pop(pbj_ctx *c, size_t len);

/* Zeroed memory from the context's allocator; NULL sets DS_ERR_NOMEM. */
void *pbj_alloc(pbj_ctx *c, size_t size);

/* A JSON type name for messages ("string", "object", ...). */
const char *pbj_json_type(const json_t *v);

ds_status pbj_enc_message(pbj_ctx *c, const ProtobufCMessage *m, json_t **out);
ds_status pbj_dec_message(pbj_ctx *c, const json_t *v, const ProtobufCMessageDescriptor *desc,
                          ProtobufCMessage **out);

/* One value of field f (an element for repeated fields) at `member`. */
ds_status pbj_enc_value(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const void *member,
                        json_t **out);
ds_status pbj_dec_value(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst);

/* Well-known types. Return false when desc has no special JSON form;
 * otherwise do the work and put the result in *st. For decoding, `m` is an
 * initialised message of that type. */
bool pbj_wkt_encode(pbj_ctx *c, const ProtobufCMessage *m, json_t **out, ds_status *st);
bool pbj_wkt_decode(pbj_ctx *c, const json_t *v, ProtobufCMessage *m, ds_status *st);

/* base64 (standard alphabet, padded) of data; URL-safe and unpadded input
 * accepted by the decoder. */
ds_status pbj_base64_encode(pbj_ctx *c, const ProtobufCBinaryData *data, json_t **out);
ds_status pbj_base64_decode(pbj_ctx *c, const char *text, ProtobufCBinaryData *out);

#endif
