/* ctl_schema.h - dropshipctl's command tree, derived from the embedded
 * descriptor set (ds_descset: names, comments, streaming flags) and the
 * protobuf-c registry (ds_pbreg: message descriptors for each method).
 *
 * Command names follow docs/dropshipctl.md: a service's command is the plural
 * of its resource noun in kebab-case ("dropship.v1.OrderService" -> "orders",
 * with a short table for nouns the rule cannot guess: "cases", "catalog",
 * "health"); a method's command is its name in kebab-case with the resource
 * noun dropped ("GetOrderHistory" -> "get-history"). Full names are always
 * accepted too. Client-streaming methods are left out (no way to feed them
 * from one JSON document), and services with no method left are hidden.
 *
 * Ownership: everything hangs off the ctl_schema and lives until
 * ctl_schema_free. Threads: read-only after ctl_schema_load.
 */
#ifndef CTL_SCHEMA_H
#define CTL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "ds_status.h"

typedef struct ctl_method {
    const char *name;        /* proto name, "CreateOrder" */
    char *command;           /* "create" */
    char *kebab;             /* "create-order" (always accepted) */
    char *path;              /* gRPC path, "/dropship.v1.OrderService/CreateOrder" */
    const char *comment;     /* leading comment of the rpc, "" if none */
    bool server_streaming;
    const ProtobufCMessageDescriptor *input;
    const ProtobufCMessageDescriptor *output;
} ctl_method;

typedef struct ctl_service {
    const char *full_name;   /* "dropship.v1.OrderService" */
    char *command;           /* "orders" */
    const char *comment;     /* leading comment of the service, "" if none */
    ctl_method *methods;
    size_t n_methods;
} ctl_service;

typedef struct ctl_schema ctl_schema;

/* Build the command tree. DS_ERR_INTERNAL if the embedded set is unreadable,
 * DS_ERR_NOMEM. On failure *out is NULL. */
ds_status ctl_schema_load(ctl_schema **out, ds_error *err);

/* ctl_schema_free(NULL) does nothing. */
void ctl_schema_free(ctl_schema *s);

size_t ctl_schema_service_count(const ctl_schema *s);
const ctl_service *ctl_schema_service_at(const ctl_schema *s, size_t i);

/* Service by command ("orders") or full name ("dropship.v1.OrderService");
 * NULL if none. */
const ctl_service *ctl_schema_service(const ctl_schema *s, const char *name);

/* Method of svc by command ("create"), kebab name ("create-order") or proto
 * name ("CreateOrder"); NULL if none. */
const ctl_method *ctl_service_method(const ctl_service *svc, const char *name);

/* "pkg.Service/Method" (a leading '/' accepted); NULL if unknown. *svc
 * receives the service when not NULL. */
const ctl_method *ctl_schema_method_by_path(const ctl_schema *s, const char *path,
                                            const ctl_service **svc);

/* Leading comment of the field `field` of message `message_full_name`, or
 * "" when there is none. */
const char *ctl_schema_field_comment(const ctl_schema *s, const char *message_full_name,
                                     const char *field);

/* Leading comment of the message itself, or "". */
const char *ctl_schema_message_comment(const ctl_schema *s, const char *message_full_name);

/* Helpers for the naming rule, exposed for reuse: "GetOrderHistory" with
 * noun "Order" -> "get-history" into buf; returns buf. */
char *ctl_method_command(const char *method, const char *noun, char *buf, size_t cap);

#endif
