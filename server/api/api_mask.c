/* api_mask.c - update_mask (FieldMask) checking and applying for Update RPCs. */
#include "api_mask.h"

#include <stdio.h>
#include <string.h>

#include "api_util.h"

/* The field descriptor at a dotted path below root, or NULL. */
static const ProtobufCFieldDescriptor *resolve(const ProtobufCMessageDescriptor *root,
                                               const char *path)
{
    char part[DS_ERROR_FIELD_MAX];
    const ProtobufCFieldDescriptor *f = NULL;
    const char *p = path;

    while (root != NULL && *p != '\0') {
        size_t len = strcspn(p, ".");
        if (len == 0 || len >= sizeof(part))
            return NULL;
        memcpy(part, p, len);
        part[len] = '\0';
        f = protobuf_c_message_descriptor_get_field_by_name(root, part);
        if (f == NULL)
            return NULL;
        p += len;
        if (*p == '.') {
            p++;
            if (*p == '\0' || f->type != PROTOBUF_C_TYPE_MESSAGE ||
                f->label == PROTOBUF_C_LABEL_REPEATED)
                return NULL;
            root = f->descriptor;
        }
    }
    return f;
}

static const api_mask_rule *find_rule(const api_mask_rule *rules, const char *path)
{
    for (; rules->path != NULL; rules++)
        if (strcmp(rules->path, path) == 0)
            return rules;
    return NULL;
}

/* Check one path; a violation on `field` when it may not be updated. */
static bool check_path(ds_error *err, const char *field, const ProtobufCMessageDescriptor *root,
                       const char *path, const api_mask_rule *rules)
{
    const api_mask_rule *r = find_rule(rules, path);

    if (r != NULL && r->kind == API_MASK_UPDATABLE)
        return true;
    if (r != NULL && r->kind == API_MASK_OUTPUT)
        ds_error_violation(err, field, "\"%s\" is output only and cannot be updated", path);
    else if (r != NULL)
        ds_error_violation(err, field, "\"%s\" is immutable; create a new %s instead", path,
                           root->short_name);
    else if (resolve(root, path) != NULL)
        ds_error_violation(err, field, "\"%s\" cannot be updated on its own; name its parent",
                           path);
    else
        ds_error_violation(err, field, "\"%s\" is not a field of %s", path, root->name);
    return false;
}

bool api_mask_check(ds_error *err, const ProtobufCMessageDescriptor *root, char **paths, size_t n,
                    const api_mask_rule *rules)
{
    char field[DS_ERROR_FIELD_MAX];
    bool ok = true;

    if (n == 0) {
        ds_error_violation(err, "update_mask", "is required: name the fields to update");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(field, sizeof(field), "update_mask.paths[%zu]", i);
        ok = check_path(err, field, root, paths[i], rules) && ok;
    }
    return ok;
}

bool api_mask_wants(char **paths, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(paths[i]);
        if (strncmp(paths[i], path, len) == 0 && (path[len] == '\0' || path[len] == '.'))
            return true;
    }
    return false;
}

/* Bytes a (singular) member of type t occupies in the C struct. */
static size_t member_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return sizeof(int32_t); /* int32 kinds and enums */
    }
}

/* The sub-message of m held by field f, created (default values) when absent. */
static ProtobufCMessage *child(ds_arena *a, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    ProtobufCMessage **slot = (ProtobufCMessage **)((char *)m + f->offset);

    if (*slot == NULL)
        *slot = api_new_message(a, f->descriptor);
    return *slot;
}

/* Copy member f from src to dst. */
static void copy_member(ProtobufCMessage *dst, const ProtobufCMessage *src,
                        const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        memcpy((char *)dst + f->quantifier_offset, (const char *)src + f->quantifier_offset,
               sizeof(size_t));
        memcpy((char *)dst + f->offset, (const char *)src + f->offset, sizeof(void *));
        return;
    }
    if (f->quantifier_offset != 0)
        memcpy((char *)dst + f->quantifier_offset, (const char *)src + f->quantifier_offset,
               sizeof(protobuf_c_boolean));
    memcpy((char *)dst + f->offset, (const char *)src + f->offset, member_size(f->type));
}

ds_status api_mask_copy(ds_arena *a, ProtobufCMessage *dst, const ProtobufCMessage *src,
                        const char *path, ds_error *err)
{
    char part[DS_ERROR_FIELD_MAX];
    const char *p = path;
    ProtobufCMessage *src_copy = NULL;

    for (;;) {
        size_t len = strcspn(p, ".");
        const ProtobufCFieldDescriptor *f;
        if (len == 0 || len >= sizeof(part))
            break;
        memcpy(part, p, len);
        part[len] = '\0';
        f = protobuf_c_message_descriptor_get_field_by_name(dst->descriptor, part);
        if (f == NULL || src == NULL)
            break;
        if (p[len] == '\0') {
            copy_member(dst, src, f);
            return DS_OK;
        }
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            break;
        dst = child(a, dst, f);
        src_copy = *(ProtobufCMessage *const *)((const char *)src + f->offset);
        src = src_copy != NULL ? src_copy : api_new_message(a, f->descriptor);
        if (dst == NULL || src == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory applying update_mask");
        p += len + 1;
    }
    return ds_error_set(err, DS_ERR_INTERNAL, "cannot apply update_mask path %s", path);
}
