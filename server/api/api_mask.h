/* api_mask.h - update_mask (google.protobuf.FieldMask) handling for Update
 * RPCs: checking the paths against per-resource rules, and copying the
 * named fields from the request onto the stored message.
 *
 * Paths are dotted field names of the resource message ("adapter.kind").
 * Ownership: api_mask_copy shares pointers between messages and creates
 * missing parents in the caller's arena. Threads: reentrant.
 */
#ifndef API_MASK_H
#define API_MASK_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "ds_arena.h"
#include "ds_status.h"

/* What a field-mask path may do. */
typedef enum api_mask_kind {
    API_MASK_UPDATABLE, /* replaced by an update */
    API_MASK_OUTPUT,    /* output only: INVALID_ARGUMENT */
    API_MASK_IMMUTABLE  /* set at creation only: INVALID_ARGUMENT */
} api_mask_kind;

typedef struct api_mask_rule {
    const char *path;
    api_mask_kind kind;
} api_mask_rule;

/* Check every path of a FieldMask (paths[0..n)) against the rules (ended by
 * a {NULL} entry) and the message type `root`: a violation on
 * "update_mask.paths[i]" names each unknown, output-only, immutable or
 * not-updatable path; an empty mask is a violation on "update_mask".
 * Returns true when every path is updatable. */
bool api_mask_check(ds_error *err, const ProtobufCMessageDescriptor *root, char **paths, size_t n,
                    const api_mask_rule *rules);

/* True when the mask names `path` or one of its parents. */
bool api_mask_wants(char **paths, size_t n, const char *path);

/* Replace the field at `path` (checked by api_mask_check) of dst with the
 * one of src; parents missing in dst are created in the arena, parents
 * missing in src count as default values. Pointers are shared, not copied:
 * src must live as long as dst is used. DS_ERR_NOMEM when the arena is
 * exhausted, DS_ERR_INTERNAL for a path that does not resolve. */
ds_status api_mask_copy(ds_arena *a, ProtobufCMessage *dst, const ProtobufCMessage *src,
                        const char *path, ds_error *err);

#endif
