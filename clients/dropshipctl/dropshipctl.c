/* dropshipctl.c - the operators' command-line client: argument handling,
 * request JSON in, response JSON out, status to exit code. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_call.h"
#include "google/rpc/status.pb-c.h"
#include "ctl_help.h"
#include "ctl_schema.h"
#include "ctl_table.h"
#include "pbjson.h"

#ifndef DS_VERSION
#define DS_VERSION "0"
#endif

/* Exit codes (docs/dropshipctl.md). gRPC status codes map to 10 + code. */
enum {
    EXIT_OK_ = 0,
    EXIT_LOCAL = 1,     /* could not read input, decode the answer, ... */
    EXIT_USAGE = 2,     /* bad command line or request JSON; nothing sent */
    EXIT_GRPC_BASE = 10
};

enum { DATA_MAX = 16 * 1024 * 1024, DEFAULT_TIMEOUT_MS = 30000 };

typedef struct ctl_args {
    const char *addr;
    const char *api_key;
    const char *timeout;   /* NULL = default for the method kind */
    const char *data;      /* NULL = {} */
    int compact;
    const char *output;    /* NULL or "json" = JSON, "table" = ctl_table */
    int help;
    int version;
    char **pos;            /* positional arguments */
    int n_pos;
} ctl_args;

/* What on_message needs to print one response. */
typedef struct printer {
    const ProtobufCMessageDescriptor *output;
    size_t flags;
    bool table;            /* --output table */
    bool streaming;        /* blank line after each table */
} printer;

static int parse_args(int argc, char **argv, ctl_args *a)
{
    static const struct option longopts[] = {
        {"addr", required_argument, NULL, 'a'},    {"api-key", required_argument, NULL, 'k'},
        {"timeout", required_argument, NULL, 't'}, {"data", required_argument, NULL, 'd'},
        {"compact", no_argument, NULL, 'c'},       {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0}};
    int opt = 0;
    opterr = 0;
    for (;;) {
        opt = getopt_long(argc, argv, ":a:k:t:d:o:chV", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 'a': a->addr = optarg; break;
        case 'k': a->api_key = optarg; break;
        case 't': a->timeout = optarg; break;
        case 'd': a->data = optarg; break;
        case 'c': a->compact = 1; break;
        case 'o': a->output = optarg; break;
        case 'h': a->help = 1; break;
        case 'V': a->version = 1; break;
        case ':': fprintf(stderr, "dropshipctl: %s needs a value\n", argv[optind - 1]); return -1;
        default: fprintf(stderr, "dropshipctl: unknown flag %s\n", argv[optind - 1]); return -1;
        }
    }
    a->pos = argv + optind;
    a->n_pos = argc - optind;
    return 0;
}

/* "30s", "500ms", "2m", "1h", a bare number of seconds; 0 = no deadline
 * (-1). Returns -2 when malformed. */
static int64_t parse_timeout(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    double scale = 1000;
    if (end == s || errno != 0 || isnan(v) || v < 0)
        return -2;
    if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (strcmp(end, "m") == 0)
        scale = 60000;
    else if (strcmp(end, "h") == 0)
        scale = 3600000;
    else if (strcmp(end, "s") != 0 && end[0] != '\0')
        return -2;
    if (v * scale > 1e12)
        return -2;
    return v == 0 ? -1 : (int64_t)(v * scale);
}

/* Read all of f up to DATA_MAX bytes into a malloc'd, NUL-terminated buffer. */
static char *read_stream(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || n > DATA_MAX)
            break;
        char *bigger = realloc(buf, cap * 2 + 1);
        if (bigger == NULL) {
            free(buf);
            return NULL;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf == NULL || ferror(f) || n > DATA_MAX) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The request text per -d: literal JSON, @file or @- (stdin). */
static char *request_text(const char *data, size_t *len)
{
    if (data == NULL)
        data = "{}";
    if (data[0] != '@') {
        *len = strlen(data);
        char *copy = malloc(*len + 1);
        if (copy != NULL)
            memcpy(copy, data, *len + 1);
        return copy;
    }
    if (strcmp(data, "@-") == 0)
        return read_stream(stdin, len);
    FILE *f = fopen(data + 1, "rb");
    if (f == NULL) {
        fprintf(stderr, "dropshipctl: cannot open %s: %s\n", data + 1, strerror(errno));
        return NULL;
    }
    char *text = read_stream(f, len);
    fclose(f);
    if (text == NULL)
        fprintf(stderr, "dropshipctl: cannot read %s (or larger than %d bytes)\n", data + 1, DATA_MAX);
    return text;
}

/* JSON request -> serialized protobuf (malloc). Prints the error and
 * returns EXIT_USAGE for bad input. */
static int build_request(const ctl_method *m, const char *data, uint8_t **out, size_t *out_len)
{
    size_t len = 0;
    ds_error err;
    ProtobufCMessage *msg = NULL;
    char *text = request_text(data, &len);
    if (text == NULL)
        return data != NULL && strcmp(data, "@-") == 0 ? EXIT_LOCAL : EXIT_USAGE;
    ds_error_clear(&err);
    ds_status st = pbjson_decode_text(text, len, m->input, NULL, &msg, &err);
    free(text);
    if (st != DS_OK) {
        fprintf(stderr, "dropshipctl: bad request JSON for %s: %s\n", m->input->name, err.message);
        return st == DS_ERR_INVALID ? EXIT_USAGE : EXIT_LOCAL;
    }
    *out_len = protobuf_c_message_get_packed_size(msg);
    *out = malloc(*out_len + 1);
    if (*out != NULL)
        protobuf_c_message_pack(msg, *out);
    protobuf_c_message_free_unpacked(msg, NULL);
    return *out != NULL ? EXIT_OK_ : EXIT_LOCAL;
}

/* Protobuf bytes of `desc` -> text tables on `out` (ctl_table.h). */
static ds_status print_table(FILE *out, const ProtobufCMessageDescriptor *desc,
                             const uint8_t *data, size_t len, bool streaming)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, data);
    int rc;
    if (m == NULL) {
        fprintf(stderr, "dropshipctl: cannot decode %s from the server\n", desc->name);
        return DS_ERR_INTERNAL;
    }
    rc = ctl_table_print(out, m);
    if (streaming)
        fputc('\n', out);
    fflush(out);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != 0)
        fprintf(stderr, "dropshipctl: out of memory printing %s\n", desc->name);
    return rc == 0 ? DS_OK : DS_ERR_NOMEM;
}

/* Protobuf bytes of `desc` -> JSON text on `out`. */
static ds_status print_message(FILE *out, const ProtobufCMessageDescriptor *desc,
                               const uint8_t *data, size_t len, size_t flags)
{
    ds_error err;
    json_t *j = NULL;
    ds_error_clear(&err);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, data);
    if (m == NULL) {
        fprintf(stderr, "dropshipctl: cannot decode %s from the server\n", desc->name);
        return DS_ERR_INTERNAL;
    }
    ds_status st = pbjson_encode(m, &j, &err);
    protobuf_c_message_free_unpacked(m, NULL);
    if (st != DS_OK) {
        fprintf(stderr, "dropshipctl: cannot show %s as JSON: %s\n", desc->name, err.message);
        return st;
    }
    json_dumpf(j, out, flags | JSON_ENCODE_ANY);
    fputc('\n', out);
    fflush(out);
    json_decref(j);
    return DS_OK;
}

static ds_status on_message(void *ud, const uint8_t *data, size_t len)
{
    const printer *p = ud;
    if (p->table)
        return print_table(stdout, p->output, data, len, p->streaming);
    return print_message(stdout, p->output, data, len, p->flags);
}

/* "ERROR CODE: message" and the google.rpc.Status details on stderr. */
static void report_status(const ctl_call_result *res)
{
    char buf[32];
    fprintf(stderr, "ERROR %s: %s\n", ctl_status_code_name(res->code, buf, sizeof buf),
            res->message != NULL ? res->message : "");
    if (res->details != NULL)
        print_message(stderr, &google__rpc__status__descriptor, res->details, res->details_len,
                      JSON_INDENT(2));
}

/* Default deadline unless --timeout says otherwise; -2 = malformed. */
static int64_t timeout_for(const ctl_args *a, const ctl_method *m)
{
    if (a->timeout == NULL)
        return m->server_streaming ? -1 : DEFAULT_TIMEOUT_MS;
    return parse_timeout(a->timeout);
}

static int invoke(const ctl_args *a, const ctl_method *m)
{
    uint8_t *req = NULL;
    size_t req_len = 0;
    ctl_call_result res;
    ctl_call_opts opts = {.addr = a->addr, .api_key = a->api_key, .timeout_ms = timeout_for(a, m),
                          .server_streaming = m->server_streaming};
    printer p = {.output = m->output,
                 .flags = a->compact || m->server_streaming ? JSON_COMPACT : JSON_INDENT(2),
                 .table = a->output != NULL && strcmp(a->output, "table") == 0,
                 .streaming = m->server_streaming};
    if (a->output != NULL && strcmp(a->output, "json") != 0 && !p.table) {
        fprintf(stderr, "dropshipctl: bad --output %s (json or table)\n", a->output);
        return EXIT_USAGE;
    }
    if (opts.timeout_ms == -2) {
        fprintf(stderr, "dropshipctl: bad --timeout %s (examples: 30s, 500ms, 2m, 0)\n", a->timeout);
        return EXIT_USAGE;
    }
    int rc = build_request(m, a->data, &req, &req_len);
    if (rc != EXIT_OK_)
        return rc;
    ctl_call_run(&opts, m->path, req, req_len, on_message, &p, &res);
    free(req);
    if (res.local != DS_OK)
        rc = EXIT_LOCAL;
    else if (res.code != 0)
        rc = EXIT_GRPC_BASE + res.code;
    if (res.code != 0)
        report_status(&res);
    ctl_call_result_cleanup(&res);
    return rc;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "dropshipctl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'dropshipctl --help' for the list of services.\n");
    return EXIT_USAGE;
}

/* Resolve positionals to a method (or a help level) and run it. */
static int dispatch(const ctl_args *a, const ctl_schema *s)
{
    const ctl_service *svc = NULL;
    const ctl_method *m = NULL;
    if (a->n_pos == 0) {
        ctl_help_top(a->help ? stdout : stderr, s);
        return a->help ? EXIT_OK_ : EXIT_USAGE;
    }
    if (a->n_pos > 2)
        return usage_error("unexpected argument \"%s\"", a->pos[2]);
    if (strchr(a->pos[0], '/') != NULL) {
        m = ctl_schema_method_by_path(s, a->pos[0], &svc);
        if (m == NULL)
            return usage_error("unknown method \"%s\"", a->pos[0]);
    } else {
        svc = ctl_schema_service(s, a->pos[0]);
        if (svc == NULL)
            return usage_error("unknown service \"%s\"", a->pos[0]);
        if (a->n_pos == 1) {
            ctl_help_service(a->help ? stdout : stderr, svc);
            return a->help ? EXIT_OK_ : EXIT_USAGE;
        }
        m = ctl_service_method(svc, a->pos[1]);
        if (m == NULL) {
            fprintf(stderr, "dropshipctl: %s has no method \"%s\"\n\n", svc->command, a->pos[1]);
            ctl_help_service(stderr, svc);
            return EXIT_USAGE;
        }
    }
    if (a->help) {
        ctl_help_method(stdout, s, svc, m);
        return EXIT_OK_;
    }
    return invoke(a, m);
}

int main(int argc, char **argv)
{
    ctl_args a;
    ctl_schema *s = NULL;
    ds_error err;
    memset(&a, 0, sizeof a);
    a.addr = getenv("DROPSHIP_ADDR") != NULL ? getenv("DROPSHIP_ADDR") : "127.0.0.1:50051";
    a.api_key = getenv("DROPSHIP_API_KEY");
    if (parse_args(argc, argv, &a) != 0)
        return EXIT_USAGE;
    if (a.version) {
        printf("dropshipctl %s\n", DS_VERSION);
        return EXIT_OK_;
    }
    if (ctl_schema_load(&s, &err) != DS_OK) {
        fprintf(stderr, "dropshipctl: %s\n", err.message);
        return EXIT_LOCAL;
    }
    int rc = dispatch(&a, s);
    ctl_schema_free(s);
    return rc;
}
