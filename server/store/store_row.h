/* store_row.h - reading PGresult cells into C values and protobuf-c messages.
 *
 * Conventions for the SQL that feeds these helpers: timestamps are selected
 * as epoch microseconds, `(extract(epoch FROM t) * 1000000)::int8`, so no
 * text time parsing happens here; booleans as PostgreSQL's 't'/'f'.
 *
 * Ownership: returned strings point into the PGresult (valid until PQclear)
 * unless the function takes an arena, in which case the copy lives in it.
 * Threads: reentrant.
 */
#ifndef STORE_ROW_H
#define STORE_ROW_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

#include "ds_arena.h"
#include "google/protobuf/timestamp.pb-c.h"

/* Text of a cell, NULL for SQL NULL. */
const char *store_row_text(const PGresult *r, int row, int col);

/* Arena copy of a cell; "" for SQL NULL (protobuf-c strings are never NULL). */
char *store_row_strdup(ds_arena *a, const PGresult *r, int row, int col);

/* Integers and booleans; `dflt` for SQL NULL or unparsable text. */
int64_t store_row_int64(const PGresult *r, int row, int col, int64_t dflt);
int32_t store_row_int32(const PGresult *r, int row, int col, int32_t dflt);
bool store_row_bool(const PGresult *r, int row, int col);

/* A Timestamp from an epoch-microseconds cell, allocated in `a`; NULL for
 * SQL NULL or allocation failure. */
Google__Protobuf__Timestamp *store_row_timestamp(ds_arena *a, const PGresult *r, int row, int col);

/* Bytes of a bytea cell (selected in text form, hex "\x..."), unescaped
 * into the arena. *len gets the size. NULL for SQL NULL or bad input. */
uint8_t *store_row_bytea(ds_arena *a, const PGresult *r, int row, int col, size_t *len);

/* A bytea cell (packed protobuf) unpacked into a message of type d whose
 * memory comes from the arena. NULL for SQL NULL (*ok untouched) and NULL
 * with *ok set to false when the bytes do not parse or memory runs out;
 * *ok is never set to true, so one flag can collect several cells. */
ProtobufCMessage *store_row_message(ds_arena *a, const PGresult *r, int row, int col,
                                    const ProtobufCMessageDescriptor *d, bool *ok);

/* Format helpers for statement parameters (text format). `buf` must hold 24
 * bytes; returns buf. */
const char *store_param_int64(char buf[24], int64_t v);

/* Timestamp -> epoch microseconds parameter; NULL ts gives NULL (SQL NULL). */
const char *store_param_ts(char buf[24], const Google__Protobuf__Timestamp *ts);

/* Bytes -> a bytea parameter in hex text form ("\x0a0b..."), arena copy. */
char *store_param_bytea(ds_arena *a, const uint8_t *data, size_t len);

/* A message packed into a bytea parameter (store_param_bytea form), arena
 * copy; NULL for a NULL msg or when out of memory. */
const char *store_param_message(ds_arena *a, const ProtobufCMessage *msg);

#endif
