/* rpc_descset.h - index of a serialized FileDescriptorSet: files by name,
 * symbols by full name, transitive dependencies and method streaming flags.
 *
 * Built once from the descriptor set the binary embeds (protoc
 * --include_imports); used for the method table (protobuf-c descriptors carry
 * no streaming flags) and by server reflection.
 *
 * Ownership: the index copies nothing from `data` after rpc_descset_new
 * returns; every string and byte pointer it hands out lives until
 * rpc_descset_free. Threads: read-only after construction, any thread.
 */
#ifndef RPC_DESCSET_H
#define RPC_DESCSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_status.h"

typedef struct rpc_descset rpc_descset;

/* Kinds of symbols that reflection can resolve. */
typedef enum rpc_symbol_kind {
    RPC_SYM_MESSAGE,    /* message type, nested ones included */
    RPC_SYM_ENUM,       /* enum type */
    RPC_SYM_ENUM_VALUE, /* enum value, scoped like C++ (sibling of its enum) */
    RPC_SYM_FIELD,      /* field of a message */
    RPC_SYM_SERVICE,    /* service */
    RPC_SYM_METHOD      /* method of a service: "pkg.Service.Method" */
} rpc_symbol_kind;

/* Parse and index `data`. On failure *out is NULL and err says why
 * (DS_ERR_CONFIG for bytes that are not a FileDescriptorSet). */
ds_status rpc_descset_new(const uint8_t *data, size_t len, rpc_descset **out, ds_error *err);

/* Free the index. rpc_descset_free(NULL) does nothing. */
void rpc_descset_free(rpc_descset *d);

/* Number of files in the set. */
int rpc_descset_file_count(const rpc_descset *d);

/* Index of the file named `name` ("google/rpc/status.proto"), or -1. */
int rpc_descset_file_by_name(const rpc_descset *d, const char *name);

/* Index of the file that defines the fully-qualified `symbol` (a leading
 * '.' is accepted), or -1. *kind receives the symbol's kind when not NULL. */
int rpc_descset_file_by_symbol(const rpc_descset *d, const char *symbol, rpc_symbol_kind *kind);

/* Name of file i. */
const char *rpc_descset_file_name(const rpc_descset *d, int i);

/* Serialized FileDescriptorProto of file i; *len receives its size. */
const uint8_t *rpc_descset_file_bytes(const rpc_descset *d, int i, size_t *len);

/* Fill out[] with file i followed by all its transitive dependencies, each
 * once, at most `cap` entries. Returns how many were written. Dependencies
 * missing from the set are skipped. */
size_t rpc_descset_closure(const rpc_descset *d, int i, int *out, size_t cap);

/* Streaming flags of `method` of `service` ("pkg.Service"). DS_OK, or
 * DS_ERR_NOT_FOUND if the set has no such method. */
ds_status rpc_descset_method(const rpc_descset *d, const char *service, const char *method,
                             bool *client_streaming, bool *server_streaming);

#endif
