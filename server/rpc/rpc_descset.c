/* rpc_descset.c - index of a serialized FileDescriptorSet (files, symbols,
 * dependencies, streaming flags) for the method table and reflection. */
#include "rpc_descset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"

enum { SYMBOLS_MAX = 1 << 20 };

typedef struct symbol {
    char *name;
    int file;
    rpc_symbol_kind kind;
    bool client_streaming;
    bool server_streaming;
} symbol;

typedef struct file_entry {
    const Google__Protobuf__FileDescriptorProto *fd;
    uint8_t *bytes;
    size_t len;
} file_entry;

struct rpc_descset {
    Google__Protobuf__FileDescriptorSet *set;
    file_entry *files;
    int n_files;
    symbol *syms;
    size_t n_syms;
    size_t cap_syms;
    bool oom;
};

/* "prefix.name", or "name" when prefix is empty; NULL on out of memory. */
static char *join(const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *s = malloc(a + b + 2);

    if (s == NULL)
        return NULL;
    if (a == 0) {
        memcpy(s, name, b + 1);
        return s;
    }
    memcpy(s, prefix, a);
    s[a] = '.';
    memcpy(s + a + 1, name, b + 1);
    return s;
}

/* Append a symbol (takes ownership of `name`); returns its slot or NULL. */
static symbol *add_symbol(rpc_descset *d, char *name, int file, rpc_symbol_kind kind)
{
    symbol *grown;
    size_t cap;

    if (name == NULL || d->n_syms >= SYMBOLS_MAX) {
        free(name);
        d->oom = true;
        return NULL;
    }
    if (d->n_syms == d->cap_syms) {
        cap = d->cap_syms ? d->cap_syms * 2 : 256;
        grown = realloc(d->syms, cap * sizeof(*grown));
        if (grown == NULL) {
            free(name);
            d->oom = true;
            return NULL;
        }
        d->syms = grown;
        d->cap_syms = cap;
    }
    d->syms[d->n_syms] = (symbol){.name = name, .file = file, .kind = kind};
    return &d->syms[d->n_syms++];
}

static void index_enum(rpc_descset *d, int file, const char *scope,
                       const Google__Protobuf__EnumDescriptorProto *e)
{
    size_t i;

    add_symbol(d, join(scope, e->name), file, RPC_SYM_ENUM);
    for (i = 0; i < e->n_value; i++)
        add_symbol(d, join(scope, e->value[i]->name), file, RPC_SYM_ENUM_VALUE);
}

static void index_message(rpc_descset *d, int file, const char *scope,
                          const Google__Protobuf__DescriptorProto *m)
{
    char *full = join(scope, m->name);
    size_t i;

    if (full == NULL) {
        d->oom = true;
        return;
    }
    for (i = 0; i < m->n_field; i++)
        add_symbol(d, join(full, m->field[i]->name), file, RPC_SYM_FIELD);
    for (i = 0; i < m->n_nested_type; i++)
        index_message(d, file, full, m->nested_type[i]);
    for (i = 0; i < m->n_enum_type; i++)
        index_enum(d, file, full, m->enum_type[i]);
    add_symbol(d, full, file, RPC_SYM_MESSAGE);
}

static void index_service(rpc_descset *d, int file, const char *scope,
                          const Google__Protobuf__ServiceDescriptorProto *s)
{
    char *full = join(scope, s->name);
    symbol *sym;
    size_t i;

    if (full == NULL) {
        d->oom = true;
        return;
    }
    for (i = 0; i < s->n_method; i++) {
        sym = add_symbol(d, join(full, s->method[i]->name), file, RPC_SYM_METHOD);
        if (sym != NULL) {
            sym->client_streaming = s->method[i]->client_streaming;
            sym->server_streaming = s->method[i]->server_streaming;
        }
    }
    add_symbol(d, full, file, RPC_SYM_SERVICE);
}

static void index_file(rpc_descset *d, int file)
{
    const Google__Protobuf__FileDescriptorProto *fd = d->files[file].fd;
    const char *pkg = fd->package ? fd->package : "";
    size_t i;

    for (i = 0; i < fd->n_message_type; i++)
        index_message(d, file, pkg, fd->message_type[i]);
    for (i = 0; i < fd->n_enum_type; i++)
        index_enum(d, file, pkg, fd->enum_type[i]);
    for (i = 0; i < fd->n_service; i++)
        index_service(d, file, pkg, fd->service[i]);
}

static int symbol_cmp(const void *a, const void *b)
{
    return strcmp(((const symbol *)a)->name, ((const symbol *)b)->name);
}

/* Re-serialize every file (reflection sends FileDescriptorProto bytes). */
static ds_status pack_files(rpc_descset *d, ds_error *err)
{
    const Google__Protobuf__FileDescriptorProto *fd;
    int i;

    for (i = 0; i < d->n_files; i++) {
        fd = d->set->file[i];
        d->files[i].fd = fd;
        d->files[i].len = google__protobuf__file_descriptor_proto__get_packed_size(fd);
        d->files[i].bytes = malloc(d->files[i].len ? d->files[i].len : 1);
        if (d->files[i].bytes == NULL)
            return ds_error_set(err, DS_ERR_NOMEM, "out of memory indexing descriptor set");
        google__protobuf__file_descriptor_proto__pack(fd, d->files[i].bytes);
    }
    return DS_OK;
}

ds_status rpc_descset_new(const uint8_t *data, size_t len, rpc_descset **out, ds_error *err)
{
    ds_status st = DS_OK;
    rpc_descset *d = calloc(1, sizeof(*d));
    int i;

    *out = NULL;
    if (d == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory indexing descriptor set");
    d->set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
    if (data == NULL || d->set == NULL) {
        st = ds_error_set(err, DS_ERR_CONFIG, "descriptor set is missing or not a FileDescriptorSet");
        goto out;
    }
    d->n_files = (int)d->set->n_file;
    d->files = calloc(d->set->n_file + 1, sizeof(*d->files));
    if (d->files == NULL) {
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory indexing descriptor set");
        goto out;
    }
    st = pack_files(d, err);
    if (st != DS_OK)
        goto out;
    for (i = 0; i < d->n_files; i++)
        index_file(d, i);
    if (d->oom) {
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory indexing descriptor set");
        goto out;
    }
    qsort(d->syms, d->n_syms, sizeof(*d->syms), symbol_cmp);
out:
    if (st != DS_OK)
        rpc_descset_free(d);
    else
        *out = d;
    return st;
}

void rpc_descset_free(rpc_descset *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n_syms; i++)
        free(d->syms[i].name);
    free(d->syms);
    for (i = 0; d->files != NULL && i < (size_t)d->n_files; i++)
        free(d->files[i].bytes);
    free(d->files);
    if (d->set != NULL)
        google__protobuf__file_descriptor_set__free_unpacked(d->set, NULL);
    free(d);
}

int rpc_descset_file_count(const rpc_descset *d)
{
    return d->n_files;
}

int rpc_descset_file_by_name(const rpc_descset *d, const char *name)
{
    int i;

    for (i = 0; name != NULL && i < d->n_files; i++) {
        if (strcmp(d->files[i].fd->name, name) == 0)
            return i;
    }
    return -1;
}

static const symbol *find_symbol(const rpc_descset *d, const char *name)
{
    symbol key;

    if (name == NULL || d->n_syms == 0)
        return NULL;
    if (name[0] == '.')
        name++;
    key.name = (char *)name;
    return bsearch(&key, d->syms, d->n_syms, sizeof(*d->syms), symbol_cmp);
}

int rpc_descset_file_by_symbol(const rpc_descset *d, const char *symbol_name, rpc_symbol_kind *kind)
{
    const symbol *s = find_symbol(d, symbol_name);

    if (s == NULL)
        return -1;
    if (kind != NULL)
        *kind = s->kind;
    return s->file;
}

const char *rpc_descset_file_name(const rpc_descset *d, int i)
{
    return d->files[i].fd->name;
}

const uint8_t *rpc_descset_file_bytes(const rpc_descset *d, int i, size_t *len)
{
    *len = d->files[i].len;
    return d->files[i].bytes;
}

static bool contains(const int *v, size_t n, int x)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (v[i] == x)
            return true;
    }
    return false;
}

size_t rpc_descset_closure(const rpc_descset *d, int i, int *out, size_t cap)
{
    const Google__Protobuf__FileDescriptorProto *fd;
    size_t n = 0, next = 0, k;
    int dep;

    if (i < 0 || i >= d->n_files || cap == 0)
        return 0;
    out[n++] = i;
    /* Breadth-first over the dependency graph; out[] doubles as the queue. */
    while (next < n) {
        fd = d->files[out[next++]].fd;
        for (k = 0; k < fd->n_dependency && n < cap; k++) {
            dep = rpc_descset_file_by_name(d, fd->dependency[k]);
            if (dep >= 0 && !contains(out, n, dep))
                out[n++] = dep;
        }
    }
    return n;
}

ds_status rpc_descset_method(const rpc_descset *d, const char *service, const char *method,
                             bool *client_streaming, bool *server_streaming)
{
    char name[512];
    const symbol *s;
    int n = snprintf(name, sizeof(name), "%s.%s", service, method);

    if (n < 0 || (size_t)n >= sizeof(name))
        return DS_ERR_NOT_FOUND;
    s = find_symbol(d, name);
    if (s == NULL || s->kind != RPC_SYM_METHOD)
        return DS_ERR_NOT_FOUND;
    *client_streaming = s->client_streaming;
    *server_streaming = s->server_streaming;
    return DS_OK;
}
