/* ctl_table.c - protobuf-c messages as `name: value` lines and text
 * tables, driven by the message descriptors (see ctl_table.h). */
#include "ctl_table.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dropship/v1/common.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "pbjson.h"

enum {
    NAME_MAX_ = 128, /* a field path ("timeRange.startTime") */
    KV_MAX = 256,    /* name: value lines of one message */
    DEPTH_MAX = 4,   /* nesting followed for names and columns */
    HEADER_LINES_MAX = 6,
    WIDE_COLUMN = 12, /* header names wider than this are split into words */
    LINE_MAX_ = CTL_TABLE_COLUMNS_MAX * (NAME_MAX_ + 2) + 4
};

/* One output line of a table, built before printing to drop trailing
 * blanks. */
typedef struct line {
    char s[LINE_MAX_];
    size_t n;
} line;

typedef struct kv {
    char name[NAME_MAX_];
    char value[CTL_TABLE_CELL_MAX];
} kv;

typedef struct kv_list {
    kv *items;
    size_t n;
} kv_list;

/* A column: the fields leading from the element message to the value. */
typedef struct column {
    const ProtobufCFieldDescriptor *path[DEPTH_MAX];
    int depth;
    char name[NAME_MAX_];
    size_t width;
    bool numeric;
    bool used; /* some row has a value in it; empty columns are not shown */
} column;

static void format_field(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, char *buf,
                         size_t cap);

/* ---- values ---- */

static bool is_named(const ProtobufCMessageDescriptor *d, const char *name)
{
    return strcmp(d->name, name) == 0;
}

/* Messages shown as one value rather than spread into fields. */
static bool is_value_message(const ProtobufCMessageDescriptor *d)
{
    return is_named(d, "google.protobuf.Timestamp") || is_named(d, "google.protobuf.Duration") ||
           is_named(d, "dropship.v1.Money") || is_named(d, "google.protobuf.FieldMask") ||
           is_named(d, "google.protobuf.Any") ||
           (strncmp(d->name, "google.protobuf.", 16) == 0 && strstr(d->name, "Value") != NULL &&
            d->n_fields == 1);
}

static bool is_numeric(const ProtobufCFieldDescriptor *f)
{
    return f->label != PROTOBUF_C_LABEL_REPEATED && f->type != PROTOBUF_C_TYPE_STRING &&
           f->type != PROTOBUF_C_TYPE_BYTES && f->type != PROTOBUF_C_TYPE_ENUM &&
           f->type != PROTOBUF_C_TYPE_BOOL && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

/* Number of code points in s (UTF-8): what a terminal column shows. */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s != '\0'; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* s with control characters blanked, cut at a character boundary. */
static void copy_text(const char *s, char *buf, size_t cap)
{
    size_t n = 0;

    for (; s[n] != '\0' && n + 1 < cap; n++)
        buf[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? ' ' : s[n];
    while (n > 0 && s[n] != '\0' && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    buf[n] = '\0';
}

static void format_timestamp(const Google__Protobuf__Timestamp *t, char *buf, size_t cap)
{
    time_t secs = (time_t)t->seconds;
    struct tm tm;
    char day[48];

    if (gmtime_r(&secs, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, cap, "%" PRId64 "s", t->seconds);
        return;
    }
    if (t->nanos == 0)
        snprintf(buf, cap, "%sZ", day);
    else if (t->nanos % 1000000 == 0)
        snprintf(buf, cap, "%s.%03dZ", day, (int)(t->nanos / 1000000));
    else if (t->nanos % 1000 == 0)
        snprintf(buf, cap, "%s.%06dZ", day, (int)(t->nanos / 1000));
    else
        snprintf(buf, cap, "%s.%09dZ", day, (int)t->nanos);
}

/* 2d3h4m5s; seconds keep milliseconds only under a minute. */
static void format_duration(const Google__Protobuf__Duration *d, char *buf, size_t cap)
{
    bool neg = d->seconds < 0 || d->nanos < 0;
    uint64_t s = neg ? (uint64_t)0 - (uint64_t)d->seconds : (uint64_t)d->seconds;
    int32_t ms = (neg ? -d->nanos : d->nanos) / 1000000;
    const uint64_t unit[3] = {86400, 3600, 60};
    const char *sym = "dhm";
    size_t n = (size_t)snprintf(buf, cap, "%s", neg ? "-" : "");

    for (int i = 0; i < 3 && n < cap; i++)
        if (s >= unit[i]) {
            n += (size_t)snprintf(buf + n, cap - n, "%" PRIu64 "%c", s / unit[i], sym[i]);
            s %= unit[i];
        }
    if (n >= cap)
        return;
    if (s > 0 && (ms == 0 || d->seconds >= 60 || d->seconds <= -60))
        snprintf(buf + n, cap - n, "%" PRIu64 "s", s);
    else if (ms > 0 && d->seconds < 60 && d->seconds > -60)
        snprintf(buf + n, cap - n, "%" PRIu64 ".%03ds", s, (int)ms);
    else if (n == (neg ? 1u : 0u))
        snprintf(buf + n, cap - n, "0s");
}

/* 12.50 USD: at least two decimals, more only when the amount has them. */
static void format_money(const Dropship__V1__Money *m, char *buf, size_t cap)
{
    bool neg = m->units < 0 || m->nanos < 0;
    uint64_t units = neg ? (uint64_t)0 - (uint64_t)m->units : (uint64_t)m->units;
    int32_t nanos = neg ? -m->nanos : m->nanos;
    char frac[16];
    size_t len;

    snprintf(frac, sizeof frac, "%09d", (int)nanos);
    len = strlen(frac);
    while (len > 2 && frac[len - 1] == '0')
        frac[--len] = '\0';
    snprintf(buf, cap, "%s%" PRIu64 ".%s %s", neg ? "-" : "", units, frac, m->currency_code);
}

static void format_value_message(const ProtobufCMessage *m, char *buf, size_t cap)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    if (is_named(d, "google.protobuf.Timestamp"))
        format_timestamp((const void *)m, buf, cap);
    else if (is_named(d, "google.protobuf.Duration"))
        format_duration((const void *)m, buf, cap);
    else if (is_named(d, "dropship.v1.Money"))
        format_money((const void *)m, buf, cap);
    else /* wrappers (value), FieldMask (paths), Any (type_url) */
        format_field(m, &d->fields[0], buf, cap);
}

/* One value of field f stored at p (an element, for repeated fields). */
static void format_one(const ProtobufCFieldDescriptor *f, const void *p, char *buf, size_t cap)
{
    const ProtobufCEnumValue *ev;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(buf, cap, "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(buf, cap, "%" PRIu32, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(buf, cap, "%" PRId64, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, cap, "%" PRIu64, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        snprintf(buf, cap, "%g", (double)*(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf(buf, cap, "%g", *(const double *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        snprintf(buf, cap, "%s", *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM:
        ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);
        if (ev != NULL)
            snprintf(buf, cap, "%s", ev->name);
        else
            snprintf(buf, cap, "%d", *(const int *)p);
        break;
    case PROTOBUF_C_TYPE_STRING:
        copy_text(*(char *const *)p, buf, cap);
        break;
    case PROTOBUF_C_TYPE_BYTES:
        snprintf(buf, cap, "<%zu bytes>", ((const ProtobufCBinaryData *)p)->len);
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        if (*(ProtobufCMessage *const *)p == NULL)
            buf[0] = '\0';
        else if (is_value_message(((const ProtobufCMessageDescriptor *)f->descriptor)))
            format_value_message(*(ProtobufCMessage *const *)p, buf, cap);
        else
            snprintf(buf, cap, "(%s)",
                     ((const ProtobufCMessageDescriptor *)f->descriptor)->short_name);
        break;
    }
}

static size_t element_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4;
    }
}

static const void *member(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (const char *)m + f->offset;
}

/* Whether a singular field is set (oneof member chosen, has_ flag, pointer). */
static bool present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;

    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING)
        return *(void *const *)member(m, f) != NULL;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    return true;
}

static size_t repeated_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return *(const size_t *)((const char *)m + f->quantifier_offset);
}

/* Field f of m as one cell: repeated values joined with ", ". */
static void format_field(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, char *buf,
                         size_t cap)
{
    size_t n, used = 0;
    const char *arr;

    buf[0] = '\0';
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        if (present(m, f))
            format_one(f, member(m, f), buf, cap);
        return;
    }
    n = repeated_count(m, f);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && !is_value_message(f->descriptor)) {
        snprintf(buf, cap, "[%zu %s]", n,
                 ((const ProtobufCMessageDescriptor *)f->descriptor)->short_name);
        return;
    }
    arr = *(const char *const *)member(m, f);
    for (size_t i = 0; i < n && used + 1 < cap; i++) {
        char one[CTL_TABLE_CELL_MAX];
        format_one(f, arr + i * element_size(f), one, sizeof one);
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", one);
    }
}

/* ---- name: value lines ---- */

static bool is_table_field(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
           !is_value_message(f->descriptor);
}

static bool is_nested_field(const ProtobufCFieldDescriptor *f)
{
    return f->label != PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
           !is_value_message(f->descriptor);
}

static void field_path(char *buf, const char *prefix, const ProtobufCFieldDescriptor *f)
{
    char json[NAME_MAX_ / 2], tmp[NAME_MAX_];

    pbjson_json_name(f->name, json, sizeof json);
    /* prefix may be buf itself */
    snprintf(tmp, sizeof tmp, "%.*s%s%s", NAME_MAX_ / 2 - 4, prefix, prefix[0] ? "." : "", json);
    memcpy(buf, tmp, sizeof tmp);
}

/* Every value field of m (nested messages followed) into l. */
static void collect_kv(const ProtobufCMessage *m, const char *prefix, int depth, kv_list *l)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    for (unsigned i = 0; i < d->n_fields && l->n < KV_MAX; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char path[NAME_MAX_];
        field_path(path, prefix, f);
        if (is_nested_field(f)) {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member(m, f);
            if (sub != NULL && present(m, f) && depth < DEPTH_MAX)
                collect_kv(sub, path, depth + 1, l);
        } else if (!is_table_field(f) && (f->label == PROTOBUF_C_LABEL_REPEATED || present(m, f))) {
            snprintf(l->items[l->n].name, NAME_MAX_, "%.*s:", NAME_MAX_ - 2, path);
            format_field(m, f, l->items[l->n].value, CTL_TABLE_CELL_MAX);
            l->n += l->items[l->n].value[0] != '\0';
        }
    }
}

static void print_kv(FILE *out, const kv_list *l)
{
    size_t w = 0;

    for (size_t i = 0; i < l->n; i++)
        if (text_width(l->items[i].name) > w)
            w = text_width(l->items[i].name);
    for (size_t i = 0; i < l->n; i++)
        fprintf(out, "%s%*s %s\n", l->items[i].name, (int)(w - text_width(l->items[i].name)), "",
                l->items[i].value);
}

/* ---- tables ---- */

/* Columns of element type d: its fields, nested messages spread out. */
static void add_columns(const ProtobufCMessageDescriptor *d, const column *parent, column *cols,
                        size_t *n)
{
    for (unsigned i = 0; i < d->n_fields && *n < CTL_TABLE_COLUMNS_MAX; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        column c = parent != NULL ? *parent : (column){.depth = 0, .name = ""};
        field_path(c.name, c.name, f);
        c.path[c.depth++] = f;
        if (is_nested_field(f) && c.depth < DEPTH_MAX) {
            add_columns(f->descriptor, &c, cols, n);
            continue;
        }
        c.numeric = is_numeric(f);
        c.width = 0;
        c.used = false;
        cols[(*n)++] = c;
    }
}

static void cell(const ProtobufCMessage *row, const column *c, char *buf, size_t cap)
{
    const ProtobufCMessage *m = row;

    buf[0] = '\0';
    for (int i = 0; i + 1 < c->depth; i++) {
        m = *(ProtobufCMessage *const *)member(m, c->path[i]);
        if (m == NULL)
            return;
    }
    format_field(m, c->path[c->depth - 1], buf, cap);
}

/* Header name split into lines at camelCase words, each line at most
 * width wide (a longer word gets its own line). Returns the line count. */
static int header_lines(const char *name, size_t width, char lines[][NAME_MAX_])
{
    int n = 0;
    size_t len = 0;

    lines[0][0] = '\0';
    for (const char *p = name; *p != '\0'; p++) {
        size_t word = 1;
        while (p[word] != '\0' && !(p[word] >= 'A' && p[word] <= 'Z') && p[word] != '.')
            word++;
        if (len > 0 && len + word > width && n + 1 < HEADER_LINES_MAX) {
            lines[++n][0] = '\0';
            len = 0;
        }
        if (len + word < NAME_MAX_)
            memcpy(lines[n] + len, p, word);
        len += word;
        lines[n][len < NAME_MAX_ ? len : NAME_MAX_ - 1] = '\0';
        p += word - 1;
    }
    return n + 1;
}

static size_t longest_word(const char *name)
{
    char lines[HEADER_LINES_MAX][NAME_MAX_];
    size_t w = 0;
    int n = header_lines(name, 1, lines);

    for (int i = 0; i < n; i++)
        if (text_width(lines[i]) > w)
            w = text_width(lines[i]);
    return w;
}

static void put_padded(line *l, const char *s, size_t width, bool right)
{
    size_t pad = width > text_width(s) ? width - text_width(s) : 0;
    int n;

    if (l->n >= sizeof l->s)
        return;
    n = right ? snprintf(l->s + l->n, sizeof l->s - l->n, "  %*s%s", (int)pad, "", s)
              : snprintf(l->s + l->n, sizeof l->s - l->n, "  %s%*s", s, (int)pad, "");
    l->n += n > 0 ? (size_t)n : 0;
}

static void put_line(FILE *out, line *l)
{
    size_t n = l->n < sizeof l->s ? l->n : sizeof l->s - 1;

    while (n > 0 && l->s[n - 1] == ' ')
        n--;
    fprintf(out, "%.*s\n", (int)n, l->s);
    l->n = 0;
}

static void print_header(FILE *out, const column *cols, size_t n)
{
    char lines[CTL_TABLE_COLUMNS_MAX][HEADER_LINES_MAX][NAME_MAX_];
    int count[CTL_TABLE_COLUMNS_MAX], rows = 1;

    for (size_t i = 0; i < n; i++) {
        count[i] = cols[i].used ? header_lines(cols[i].name, cols[i].width, lines[i]) : 0;
        rows = count[i] > rows ? count[i] : rows;
    }
    for (int r = 0; r < rows; r++) {
        line l = {.n = 0};
        for (size_t i = 0; i < n; i++) {
            if (!cols[i].used)
                continue;
            int at = r - (rows - count[i]); /* bottom-aligned */
            put_padded(&l, at >= 0 ? lines[i][at] : "", cols[i].width, cols[i].numeric);
        }
        put_line(out, &l);
    }
}

/* Repeated message field f of m as a titled table. */
static void print_table(FILE *out, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                        const char *title)
{
    ProtobufCMessage *const *rows = *(ProtobufCMessage *const *const *)member(m, f);
    size_t nrows = repeated_count(m, f), ncols = 0;
    column cols[CTL_TABLE_COLUMNS_MAX];
    char buf[CTL_TABLE_CELL_MAX];

    fprintf(out, "\n%s (%zu)\n", title, nrows);
    if (nrows == 0)
        return;
    add_columns(f->descriptor, NULL, cols, &ncols);
    for (size_t c = 0; c < ncols; c++) {
        size_t word = longest_word(cols[c].name), full = text_width(cols[c].name);
        cols[c].width = full <= WIDE_COLUMN ? full : word;
        for (size_t r = 0; r < nrows; r++) {
            cell(rows[r], &cols[c], buf, sizeof buf);
            cols[c].width = text_width(buf) > cols[c].width ? text_width(buf) : cols[c].width;
            cols[c].used = cols[c].used || buf[0] != '\0';
        }
    }
    print_header(out, cols, ncols);
    for (size_t r = 0; r < nrows; r++) {
        line l = {.n = 0};
        for (size_t c = 0; c < ncols; c++) {
            if (!cols[c].used)
                continue;
            cell(rows[r], &cols[c], buf, sizeof buf);
            put_padded(&l, buf, cols[c].width, cols[c].numeric);
        }
        put_line(out, &l);
    }
}

/* Tables of m and of its nested singular messages, in field order. */
static void print_tables(FILE *out, const ProtobufCMessage *m, const char *prefix, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char path[NAME_MAX_];
        field_path(path, prefix, f);
        if (is_table_field(f)) {
            print_table(out, m, f, path);
        } else if (is_nested_field(f) && depth < DEPTH_MAX && present(m, f)) {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member(m, f);
            print_tables(out, sub, path, depth + 1);
        }
    }
}

int ctl_table_print(FILE *out, const ProtobufCMessage *msg)
{
    kv_list l = {.items = calloc(KV_MAX, sizeof(kv)), .n = 0};

    if (l.items == NULL)
        return -1;
    while (msg->descriptor->n_fields == 1 && is_nested_field(&msg->descriptor->fields[0]) &&
           present(msg, &msg->descriptor->fields[0]))
        msg = *(ProtobufCMessage *const *)member(msg, &msg->descriptor->fields[0]);
    collect_kv(msg, "", 0, &l);
    print_kv(out, &l);
    print_tables(out, msg, "", 0);
    free(l.items);
    return 0;
}
