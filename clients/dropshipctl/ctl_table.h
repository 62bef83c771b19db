/* ctl_table.h - any protobuf-c message as readable text (`--output table`).
 *
 * Derived from the message descriptor alone, so every response of every
 * RPC has a table form:
 * - a message whose only field is a singular message (a response wrapper
 *   such as GetOperationsReportResponse.report) is shown as that message;
 * - scalar fields, repeated scalars and "value" messages (Timestamp,
 *   Duration, dropship.v1.Money, wrappers, FieldMask, Any) become aligned
 *   `name: value` lines; fields of nested singular messages are named by
 *   their path (`timeRange.startTime`);
 * - every repeated message field becomes a table under a `name (N)` title:
 *   one column per field of the element (nested singular messages spread
 *   into `parent.child` columns), columns empty in every row left out,
 *   header names split at camelCase words over several lines to keep
 *   columns narrow, numbers right-aligned.
 * Empty strings and unset fields print nothing (numbers print even when 0).
 * Values: enums by name, Timestamps in RFC 3339 UTC, Durations as
 * `2d3h4m5s`, Money as `12.50 USD`, bytes as `<N bytes>`, strings with
 * control characters blanked; a cell holds at most CTL_TABLE_CELL_MAX - 1
 * bytes. Field names are the proto3 JSON names.
 *
 * Threads: reentrant; no global state.
 */
#ifndef CTL_TABLE_H
#define CTL_TABLE_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

enum {
    CTL_TABLE_CELL_MAX = 96,   /* bytes of one value, NUL included */
    CTL_TABLE_COLUMNS_MAX = 64 /* columns of one table; more are left out */
};

/* Print msg on out. Returns 0, or -1 when out of memory (what was printed
 * so far stays). */
int ctl_table_print(FILE *out, const ProtobufCMessage *msg);

#endif
