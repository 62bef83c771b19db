/* ctl_schema.c - dropshipctl's command tree from the descriptor set. */
#include "ctl_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_descset.h"
#include "ds_pbreg.h"
#include "google/protobuf/descriptor.pb-c.h"

enum { NAME_MAX_ = 256, WORDS_MAX = 32 };

struct ctl_schema {
    Google__Protobuf__FileDescriptorSet *set;
    ctl_service *services;
    size_t n_services;
};

/* Services whose command or resource noun the generic rule cannot guess. */
static const struct {
    const char *service;
    const char *command;
    const char *noun; /* dropped from method names; "" for none */
} overrides[] = {
    {"dropship.v1.AfterSalesService", "cases", "Case"},
    {"dropship.v1.CatalogService", "catalog", "Binding"},
    {"grpc.health.v1.Health", "health", ""},
};

/* ---- naming ------------------------------------------------------------- */

/* Split CamelCase into lower-case words ("GetHTTPStatus" -> get http status). */
static size_t split_words(const char *s, char words[][NAME_MAX_], size_t max)
{
    size_t n = 0, len = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        char ch = s[i];
        int upper = ch >= 'A' && ch <= 'Z';
        int boundary = upper && i > 0 &&
                       (!(s[i - 1] >= 'A' && s[i - 1] <= 'Z') || (s[i + 1] >= 'a' && s[i + 1] <= 'z'));
        if ((boundary || ch == '_') && len > 0) {
            words[n][len] = '\0';
            if (++n == max)
                return n;
            len = 0;
        }
        if (ch == '_')
            continue;
        if (len + 1 < NAME_MAX_)
            words[n][len++] = upper ? (char)(ch - 'A' + 'a') : ch;
    }
    if (len > 0)
        words[n++][len] = '\0';
    return n;
}

/* English plural of a lower-case word into buf. */
static void plural(const char *w, char *buf, size_t cap)
{
    size_t n = strlen(w);
    const char *vowels = "aeiou";
    if (n > 1 && w[n - 1] == 'y' && strchr(vowels, w[n - 2]) == NULL)
        snprintf(buf, cap, "%.*sies", (int)(n - 1), w);
    else if (n > 0 && (strchr("sxz", w[n - 1]) != NULL ||
                       (n > 1 && w[n - 1] == 'h' && strchr("cs", w[n - 2]) != NULL)))
        snprintf(buf, cap, "%ses", w);
    else
        snprintf(buf, cap, "%ss", w);
}

/* words[from..to) joined with '-' into buf. */
static void join_words(char words[][NAME_MAX_], size_t from, size_t to, size_t skip_at,
                       size_t skip_n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = from; i < to; i++) {
        if (i >= skip_at && i < skip_at + skip_n)
            continue;
        int n = snprintf(buf + len, cap - len, "%s%s", len > 0 ? "-" : "", words[i]);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
    }
}

/* Does the noun (nw[0..nn)) start at mw[at], its last word singular or plural? */
static int noun_at(char mw[][NAME_MAX_], size_t nm, size_t at, char nw[][NAME_MAX_], size_t nn)
{
    char pl[NAME_MAX_];
    if (nn == 0 || at + nn > nm)
        return 0;
    for (size_t k = 0; k + 1 < nn; k++) {
        if (strcmp(mw[at + k], nw[k]) != 0)
            return 0;
    }
    plural(nw[nn - 1], pl, sizeof pl);
    return strcmp(mw[at + nn - 1], nw[nn - 1]) == 0 || strcmp(mw[at + nn - 1], pl) == 0;
}

char *ctl_method_command(const char *method, const char *noun, char *buf, size_t cap)
{
    char mw[WORDS_MAX][NAME_MAX_], nw[WORDS_MAX][NAME_MAX_];
    size_t nm = split_words(method, mw, WORDS_MAX);
    size_t nn = split_words(noun, nw, WORDS_MAX);
    size_t at = nm;
    for (size_t i = 0; i < nm && at == nm; i++) {
        if (noun_at(mw, nm, i, nw, nn))
            at = i;
    }
    if (at == nm || nn >= nm)
        join_words(mw, 0, nm, nm, 0, buf, cap);
    else
        join_words(mw, 0, nm, at, nn, buf, cap);
    return buf;
}

/* "dropship.v1.OrderService" -> command "orders", noun "Order". */
static void service_names(const char *full, char *command, char *noun, size_t cap)
{
    for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
        if (strcmp(full, overrides[i].service) == 0) {
            snprintf(command, cap, "%s", overrides[i].command);
            snprintf(noun, cap, "%s", overrides[i].noun);
            return;
        }
    }
    const char *dot = strrchr(full, '.');
    const char *base = dot != NULL ? dot + 1 : full;
    size_t len = strlen(base);
    if (len > 7 && strcmp(base + len - 7, "Service") == 0)
        len -= 7;
    snprintf(noun, cap, "%.*s", (int)len, base);
    char words[WORDS_MAX][NAME_MAX_], last[NAME_MAX_];
    size_t n = split_words(noun, words, WORDS_MAX);
    if (n == 0) {
        snprintf(command, cap, "%s", full);
        return;
    }
    plural(words[n - 1], last, sizeof last);
    snprintf(words[n - 1], NAME_MAX_, "%s", last);
    join_words(words, 0, n, n, 0, command, cap);
}

/* ---- comments ----------------------------------------------------------- */

static const char *location_comment(const Google__Protobuf__FileDescriptorProto *f,
                                    const int32_t *path, size_t n)
{
    if (f->source_code_info == NULL)
        return "";
    for (size_t i = 0; i < f->source_code_info->n_location; i++) {
        const Google__Protobuf__SourceCodeInfo__Location *loc = f->source_code_info->location[i];
        if (loc->n_path == n && memcmp(loc->path, path, n * sizeof *path) == 0)
            return loc->leading_comments != NULL ? loc->leading_comments : "";
    }
    return "";
}

/* Search messages[] (path prefix `path`, `depth` entries) for the message
 * named `want` under scope `scope`; fills path and returns it, or NULL. */
static const Google__Protobuf__DescriptorProto *
find_in(Google__Protobuf__DescriptorProto **msgs, size_t n, const char *scope, const char *want,
        int32_t *path, size_t *depth, int32_t field_no)
{
    char full[NAME_MAX_];
    for (size_t i = 0; i < n && *depth + 2 <= WORDS_MAX; i++) {
        snprintf(full, sizeof full, "%s%s%s", scope, scope[0] != '\0' ? "." : "", msgs[i]->name);
        path[*depth] = field_no;
        path[*depth + 1] = (int32_t)i;
        *depth += 2;
        if (strcmp(full, want) == 0)
            return msgs[i];
        const Google__Protobuf__DescriptorProto *r =
            find_in(msgs[i]->nested_type, msgs[i]->n_nested_type, full, want, path, depth, 3);
        if (r != NULL)
            return r;
        *depth -= 2;
    }
    return NULL;
}

static const Google__Protobuf__DescriptorProto *
find_message(const ctl_schema *s, const char *name, const Google__Protobuf__FileDescriptorProto **file,
             int32_t *path, size_t *depth)
{
    for (size_t i = 0; i < s->set->n_file; i++) {
        const Google__Protobuf__FileDescriptorProto *f = s->set->file[i];
        const char *pkg = f->package != NULL ? f->package : "";
        *depth = 0;
        const Google__Protobuf__DescriptorProto *m =
            find_in(f->message_type, f->n_message_type, pkg, name, path, depth, 4);
        if (m != NULL) {
            *file = f;
            return m;
        }
    }
    return NULL;
}

const char *ctl_schema_message_comment(const ctl_schema *s, const char *message_full_name)
{
    const Google__Protobuf__FileDescriptorProto *f = NULL;
    int32_t path[WORDS_MAX + 2];
    size_t depth = 0;
    if (find_message(s, message_full_name, &f, path, &depth) == NULL)
        return "";
    return location_comment(f, path, depth);
}

const char *ctl_schema_field_comment(const ctl_schema *s, const char *message_full_name,
                                     const char *field)
{
    const Google__Protobuf__FileDescriptorProto *f = NULL;
    int32_t path[WORDS_MAX + 2];
    size_t depth = 0;
    const Google__Protobuf__DescriptorProto *m = find_message(s, message_full_name, &f, path, &depth);
    for (size_t i = 0; m != NULL && i < m->n_field; i++) {
        if (strcmp(m->field[i]->name, field) == 0) {
            path[depth] = 2;
            path[depth + 1] = (int32_t)i;
            return location_comment(f, path, depth + 2);
        }
    }
    return "";
}

/* ---- building ----------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static ds_status add_method(ctl_service *svc, const char *noun,
                            const Google__Protobuf__MethodDescriptorProto *mp,
                            const ProtobufCMethodDescriptor *md, const char *comment)
{
    char buf[NAME_MAX_ * 2];
    ctl_method *m = &svc->methods[svc->n_methods];
    m->name = md->name;
    m->comment = comment;
    m->server_streaming = mp->has_server_streaming && mp->server_streaming;
    m->input = md->input;
    m->output = md->output;
    m->command = dup_str(ctl_method_command(md->name, noun, buf, sizeof buf));
    m->kebab = dup_str(ctl_method_command(md->name, "", buf, sizeof buf));
    snprintf(buf, sizeof buf, "/%s/%s", svc->full_name, md->name);
    m->path = dup_str(buf);
    svc->n_methods++;
    if (m->command == NULL || m->kebab == NULL || m->path == NULL)
        return DS_ERR_NOMEM;
    for (size_t i = 0; i + 1 < svc->n_methods; i++) {
        if (strcmp(svc->methods[i].command, m->command) == 0) { /* clash: keep the long form */
            free(m->command);
            m->command = dup_str(m->kebab);
            return m->command != NULL ? DS_OK : DS_ERR_NOMEM;
        }
    }
    return DS_OK;
}

static ds_status add_service(ctl_schema *s, const Google__Protobuf__FileDescriptorProto *f, size_t si)
{
    const Google__Protobuf__ServiceDescriptorProto *sp = f->service[si];
    char full[NAME_MAX_], command[NAME_MAX_], noun[NAME_MAX_];
    snprintf(full, sizeof full, "%s%s%s", f->package != NULL ? f->package : "",
             f->package != NULL ? "." : "", sp->name);
    const ProtobufCServiceDescriptor *sd = ds_pbreg_service(full);
    if (sd == NULL)
        return DS_OK;
    ctl_service *svc = &s->services[s->n_services];
    memset(svc, 0, sizeof *svc);
    svc->methods = calloc(sp->n_method + 1, sizeof *svc->methods);
    if (svc->methods == NULL)
        return DS_ERR_NOMEM;
    svc->full_name = sd->name;
    service_names(full, command, noun, sizeof command);
    svc->command = dup_str(command);
    int32_t path[4] = {6, (int32_t)si, 2, 0};
    svc->comment = location_comment(f, path, 2);
    s->n_services++;
    if (svc->command == NULL)
        return DS_ERR_NOMEM;
    for (size_t mi = 0; mi < sp->n_method; mi++) {
        const Google__Protobuf__MethodDescriptorProto *mp = sp->method[mi];
        const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(sd, mp->name);
        if (md == NULL || (mp->has_client_streaming && mp->client_streaming))
            continue;
        path[3] = (int32_t)mi;
        ds_status st = add_method(svc, noun, mp, md, location_comment(f, path, 4));
        if (st != DS_OK)
            return st;
    }
    if (svc->n_methods == 0) /* nothing callable: hide it */
        s->n_services--;
    return DS_OK;
}

static void free_service(ctl_service *svc)
{
    for (size_t i = 0; i < svc->n_methods; i++) {
        free(svc->methods[i].command);
        free(svc->methods[i].kebab);
        free(svc->methods[i].path);
    }
    free(svc->methods);
    free(svc->command);
    memset(svc, 0, sizeof *svc);
}

void ctl_schema_free(ctl_schema *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i <= s->n_services && s->services != NULL; i++)
        free_service(&s->services[i]);
    free(s->services);
    google__protobuf__file_descriptor_set__free_unpacked(s->set, NULL);
    free(s);
}

ds_status ctl_schema_load(ctl_schema **out, ds_error *err)
{
    ds_status st = DS_OK;
    size_t total = 0;
    *out = NULL;
    ctl_schema *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory");
    s->set = google__protobuf__file_descriptor_set__unpack(NULL, ds_descset_len, ds_descset);
    if (s->set == NULL) {
        st = ds_error_set(err, DS_ERR_INTERNAL, "embedded descriptor set is unreadable");
        goto out;
    }
    for (size_t i = 0; i < s->set->n_file; i++)
        total += s->set->file[i]->n_service;
    s->services = calloc(total + 1, sizeof *s->services); /* +1: slot a hidden service used */
    if (s->services == NULL) {
        st = ds_error_set(err, DS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->set->n_file && st == DS_OK; i++) {
        for (size_t j = 0; j < s->set->file[i]->n_service && st == DS_OK; j++) {
            free_service(&s->services[s->n_services]); /* a hidden one left behind */
            st = add_service(s, s->set->file[i], j);
        }
    }
    if (st != DS_OK)
        ds_error_set(err, st, "out of memory");
out:
    if (st != DS_OK)
        ctl_schema_free(s);
    else
        *out = s;
    return st;
}

/* ---- lookups ------------------------------------------------------------ */

size_t ctl_schema_service_count(const ctl_schema *s)
{
    return s->n_services;
}

const ctl_service *ctl_schema_service_at(const ctl_schema *s, size_t i)
{
    return i < s->n_services ? &s->services[i] : NULL;
}

const ctl_service *ctl_schema_service(const ctl_schema *s, const char *name)
{
    const char *n = name[0] == '.' ? name + 1 : name;
    for (size_t i = 0; i < s->n_services; i++) {
        if (strcmp(s->services[i].command, n) == 0 || strcmp(s->services[i].full_name, n) == 0)
            return &s->services[i];
    }
    return NULL;
}

const ctl_method *ctl_service_method(const ctl_service *svc, const char *name)
{
    for (size_t i = 0; i < svc->n_methods; i++) {
        const ctl_method *m = &svc->methods[i];
        if (strcmp(m->command, name) == 0 || strcmp(m->kebab, name) == 0 || strcmp(m->name, name) == 0)
            return m;
    }
    return NULL;
}

const ctl_method *ctl_schema_method_by_path(const ctl_schema *s, const char *path,
                                            const ctl_service **svc)
{
    char service[NAME_MAX_];
    const char *p = path[0] == '/' ? path + 1 : path;
    const char *slash = strchr(p, '/');
    if (slash == NULL || (size_t)(slash - p) >= sizeof service)
        return NULL;
    snprintf(service, sizeof service, "%.*s", (int)(slash - p), p);
    const ctl_service *sv = ctl_schema_service(s, service);
    if (sv == NULL || strcmp(sv->full_name, service[0] == '.' ? service + 1 : service) != 0)
        return NULL;
    for (size_t i = 0; i < sv->n_methods; i++) {
        if (strcmp(sv->methods[i].name, slash + 1) == 0) {
            if (svc != NULL)
                *svc = sv;
            return &sv->methods[i];
        }
    }
    return NULL;
}
