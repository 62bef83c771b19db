/* ctl_help.c - dropshipctl's --help text from the proto comments. */
#include "ctl_help.h"

#include <string.h>

#include "pbjson.h"

enum { SUMMARY_MAX = 100, TYPE_MAX = 256, ENUM_LIST_MAX = 240, NEST_MAX = 3 };

/* The first sentence of a comment (lines joined), shortened to fit buf. */
static const char *summary(const char *comment, char *buf, size_t cap)
{
    size_t n = 0;
    while (*comment == ' ' || *comment == '\n')
        comment++;
    for (const char *p = comment; *p != '\0' && n + 4 < cap; p++) {
        if (*p == '\n' && p[1] == '\n')
            break; /* end of the first paragraph */
        if (*p == '\n' || (*p == ' ' && n > 0 && buf[n - 1] == ' '))
            continue;
        buf[n++] = *p;
        if (*p == '\n' || (*p == '.' && (p[1] == ' ' || p[1] == '\n' || p[1] == '\0')))
            break;
        if (p[1] == '\n' && p[2] != '\n')
            buf[n++] = ' ';
    }
    if (n + 4 >= cap && cap > 4)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n < cap ? n : cap - 1] = '\0';
    return buf;
}

/* Every line of a comment, indented, without protoc's leading space. */
static void print_comment(FILE *out, const char *comment, const char *indent)
{
    const char *p = comment;
    while (*p != '\0') {
        size_t n = strcspn(p, "\n");
        const char *line = p;
        if (n > 0 && line[0] == ' ') {
            line++;
            n--;
        }
        if (n > 0)
            fprintf(out, "%s%.*s\n", indent, (int)n, line);
        else
            fputc('\n', out);
        p = line + n;
        if (*p == '\n')
            p++;
    }
}

static const char *scalar_name(ProtobufCType t)
{
    static const char *const names[] = {
        [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
        [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64 (string)",
        [PROTOBUF_C_TYPE_SINT64] = "sint64 (string)", [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64 (string)",
        [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
        [PROTOBUF_C_TYPE_UINT64] = "uint64 (string)", [PROTOBUF_C_TYPE_FIXED64] = "fixed64 (string)",
        [PROTOBUF_C_TYPE_FLOAT] = "float",       [PROTOBUF_C_TYPE_DOUBLE] = "double",
        [PROTOBUF_C_TYPE_BOOL] = "bool",         [PROTOBUF_C_TYPE_ENUM] = "enum",
        [PROTOBUF_C_TYPE_STRING] = "string",     [PROTOBUF_C_TYPE_BYTES] = "bytes (base64)",
        [PROTOBUF_C_TYPE_MESSAGE] = "message"};
    return (size_t)t < sizeof names / sizeof names[0] && names[t] != NULL ? names[t] : "?";
}

static const char *message_type_name(const ProtobufCMessageDescriptor *d)
{
    if (strcmp(d->name, "google.protobuf.Timestamp") == 0)
        return "Timestamp (RFC 3339 string)";
    if (strcmp(d->name, "google.protobuf.Duration") == 0)
        return "Duration (string like \"3.5s\")";
    if (strcmp(d->name, "google.protobuf.FieldMask") == 0)
        return "FieldMask (string like \"a.b,c\")";
    return d->name;
}

/* One value type: scalar, enum or message name. */
static const char *value_type(const ProtobufCFieldDescriptor *f)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return message_type_name(f->descriptor);
    if (f->type == PROTOBUF_C_TYPE_ENUM)
        return ((const ProtobufCEnumDescriptor *)f->descriptor)->name;
    return scalar_name(f->type);
}

static void field_type(const ProtobufCFieldDescriptor *f, char *buf, size_t cap)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        snprintf(buf, cap, "%s", value_type(f));
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && pbjson_is_map_entry(f->descriptor, f->name)) {
        const ProtobufCMessageDescriptor *e = f->descriptor;
        snprintf(buf, cap, "map<%s, %s>", value_type(&e->fields[0]), value_type(&e->fields[1]));
    } else {
        snprintf(buf, cap, "list of %s", value_type(f));
    }
}

/* "one of: A, B, C" for enum fields, when it fits. */
static void print_enum_values(FILE *out, const ProtobufCFieldDescriptor *f)
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    char buf[ENUM_LIST_MAX];
    size_t len = 0;
    if (f->type != PROTOBUF_C_TYPE_ENUM)
        return;
    for (unsigned i = 0; i < ed->n_values; i++) {
        int n = snprintf(buf + len, sizeof buf - len, "%s%s", i > 0 ? ", " : "", ed->values[i].name);
        if (n < 0 || (size_t)n >= sizeof buf - len)
            return; /* too long to be useful on one line */
        len += (size_t)n;
    }
    fprintf(out, "      one of: %s\n", buf);
}

void ctl_help_top(FILE *out, const ctl_schema *s)
{
    char sum[SUMMARY_MAX];
    fprintf(out,
            "dropshipctl - operate a dropship server over gRPC, JSON in and out.\n\n"
            "Usage:\n"
            "  dropshipctl [flags] <service> <method> [-d JSON | -d @file.json | -d @-]\n"
            "  dropshipctl [flags] <package.Service/Method> [-d ...]\n"
            "  dropshipctl <service> [<method>] --help\n\n"
            "Services:\n");
    for (size_t i = 0; i < ctl_schema_service_count(s); i++) {
        const ctl_service *svc = ctl_schema_service_at(s, i);
        fprintf(out, "  %-12s %s  [%s]\n", svc->command, summary(svc->comment, sum, sizeof sum),
                svc->full_name);
    }
    fprintf(out,
            "\nFlags:\n"
            "  -a, --addr HOST:PORT   server address (env DROPSHIP_ADDR, default 127.0.0.1:50051)\n"
            "  -k, --api-key KEY      API key sent as \"authorization: Bearer KEY\"\n"
            "                         (env DROPSHIP_API_KEY)\n"
            "  -t, --timeout DURATION deadline: 30s, 500ms, 2m; 0 = none (default 30s,\n"
            "                         none for streaming methods)\n"
            "  -d, --data JSON        request as JSON, @file to read a file, @- for stdin\n"
            "                         (default {})\n"
            "  -c, --compact          one line per response message\n"
            "  -o, --output FORMAT    json (default) or table: readable text tables\n"
            "  -h, --help             help for the level given (service, method)\n"
            "  -V, --version          print the version\n\n"
            "Exit codes: 0 OK; 1 local failure; 2 usage error or bad request JSON (nothing\n"
            "sent); 10 + gRPC status code otherwise (13 INVALID_ARGUMENT, 15 NOT_FOUND,\n"
            "24 UNAVAILABLE, 26 UNAUTHENTICATED, ...). See docs/dropshipctl.md.\n");
}

void ctl_help_service(FILE *out, const ctl_service *svc)
{
    char sum[SUMMARY_MAX];
    fprintf(out, "dropshipctl %s - %s\n\n", svc->command, svc->full_name);
    print_comment(out, svc->comment, "  ");
    fprintf(out, "\nMethods:\n");
    for (size_t i = 0; i < svc->n_methods; i++) {
        const ctl_method *m = &svc->methods[i];
        fprintf(out, "  %-21s %s%s\n", m->command, summary(m->comment, sum, sizeof sum),
                m->server_streaming ? " (streaming)" : "");
    }
    fprintf(out, "\nRun 'dropshipctl %s <method> --help' for the request fields.\n", svc->command);
}

/* Fields of message d, indented by depth; nested messages of the API (not
 * the well-known types) are expanded below their field, up to NEST_MAX. */
static void print_fields(FILE *out, const ctl_schema *s, const ProtobufCMessageDescriptor *d,
                         int depth)
{
    char type[TYPE_MAX], name[TYPE_MAX], sum[SUMMARY_MAX];
    int ind = 2 + 4 * depth;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        pbjson_json_name(f->name, name, sizeof name);
        field_type(f, type, sizeof type);
        fprintf(out, "%*s%-*s %s\n", ind, "", 24 - ind > 8 ? 24 - ind : 8, name, type);
        const char *comment = ctl_schema_field_comment(s, d->name, f->name);
        if (depth == 0)
            print_comment(out, comment, "      ");
        else if (comment[0] != '\0')
            fprintf(out, "%*s%s\n", ind + 4, "", summary(comment, sum, sizeof sum));
        if (depth == 0)
            print_enum_values(out, f);
        const ProtobufCMessageDescriptor *sub = f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
        if (sub != NULL && pbjson_is_map_entry(sub, f->name))
            sub = NULL;
        if (sub != NULL && depth + 1 < NEST_MAX && strncmp(sub->name, "google.", 7) != 0)
            print_fields(out, s, sub, depth + 1);
    }
}

void ctl_help_method(FILE *out, const ctl_schema *s, const ctl_service *svc, const ctl_method *m)
{
    fprintf(out, "dropshipctl %s %s - %s/%s%s\n\n", svc->command, m->command, svc->full_name,
            m->name, m->server_streaming ? " (server streaming: one JSON object per line)" : "");
    print_comment(out, m->comment, "  ");
    fprintf(out, "\nRequest %s fields (-d JSON):\n", m->input->name);
    print_fields(out, s, m->input, 0);
    if (m->input->n_fields == 0)
        fprintf(out, "  (none)\n");
    fprintf(out, "\nResponse: %s\n", m->output->name);
}
