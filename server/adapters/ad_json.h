/* ad_json.h - checked decoding of JSON answers from suppliers and couriers
 * (over jansson), and the Money and time types adapters share.
 *
 * Every getter checks presence, type and range, and on failure sets the
 * ds_error to DS_ERR_INTERNAL (the remote party broke its contract) with a
 * message naming the JSON path: "parcels[1].tracking_number: expected
 * string". Paths are built by the caller with ad_jpath_key/ad_jpath_index
 * from the parent's path ("" for the root). A malformed body is an error,
 * never a crash: every getter accepts a NULL or wrongly typed parent.
 *
 * Optional fields: when `required` is false, a missing key or JSON null
 * leaves the default (empty string, 0, ...) and succeeds.
 *
 * Threads: reentrant; jansson values belong to the caller.
 */
#ifndef AD_JSON_H
#define AD_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_status.h"

enum {
    AD_JPATH_MAX = 128,            /* bytes of a path, NUL included (longer paths are cut) */
    AD_JSON_DEFAULT_MAX = 1 << 20  /* default cap on a body before parsing */
};

/* A JSON path like "parcels[1].lines[0].sku". */
typedef struct ad_jpath {
    char s[AD_JPATH_MAX];
} ad_jpath;

/* Path of the root ("") */
void ad_jpath_root(ad_jpath *p);
/* parent + "." + key (no dot when parent is the root). */
void ad_jpath_key(ad_jpath *out, const ad_jpath *parent, const char *key);
/* parent + "[i]". */
void ad_jpath_index(ad_jpath *out, const ad_jpath *parent, size_t i);

/* An amount of money: units + nanos/1e9 of `currency` (ISO 4217). nanos
 * is in -999999999..999999999 with the sign of units. */
typedef struct ad_money {
    char currency[4];
    int64_t units;
    int32_t nanos;
} ad_money;

/* One value of an enum table: text -> value. Tables end with {NULL, 0}. */
typedef struct ad_enum_entry {
    const char *text;
    int value;
} ad_enum_entry;

/* Parse `len` bytes into *out (an object or array at the root). Bodies
 * longer than `max_len` (0 = AD_JSON_DEFAULT_MAX) are refused before
 * parsing. Errors: DS_ERR_RESOURCE_EXHAUSTED (too long), DS_ERR_INTERNAL
 * (not JSON, with jansson's line/column). `what` names the body in
 * messages ("GET /v1/orders/1"). On success the caller owns *out. */
ds_status ad_json_parse(const char *body, size_t len, size_t max_len, const char *what,
                        json_t **out, ds_error *err);

/* Member `key` of obj as an object / array (borrowed) or NULL when
 * optional and absent. Arrays longer than max_items (0 = no cap) fail. */
ds_status ad_json_object(const json_t *obj, const ad_jpath *parent, const char *key,
                         bool required, json_t **out, ds_error *err);
ds_status ad_json_array(const json_t *obj, const ad_jpath *parent, const char *key,
                        bool required, size_t max_items, json_t **out, ds_error *err);

/* A string of at most cap-1 bytes copied to buf (error if longer; required
 * strings must also be non-empty). buf is "" when optional and absent. */
ds_status ad_json_str(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                      char *buf, size_t cap, ds_error *err);

/* Like ad_json_str, but a longer string is cut at a UTF-8 character
 * boundary instead of failing (free text: messages, locations). */
ds_status ad_json_text(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                       char *buf, size_t cap, ds_error *err);

/* An integer in min..max (JSON integers only; 2.0 and "2" are refused). */
ds_status ad_json_int(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                      int64_t min, int64_t max, int64_t *out, ds_error *err);

/* A boolean. */
ds_status ad_json_bool(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                       bool *out, ds_error *err);

/* A string that must be one of table's texts (exact match); *out gets its
 * value. Absent optional -> *out = `absent`. */
ds_status ad_json_enum(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                       const ad_enum_entry *table, int absent, int *out, ds_error *err);

/* {"currency_code","units"(decimal string),"nanos"} -> ad_money. Checks a
 * three-letter upper-case currency, units in int64, nanos range and sign. */
ds_status ad_json_money(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                        ad_money *out, ds_error *err);

/* An RFC 3339 time string -> Unix milliseconds (0 when optional and
 * absent). */
ds_status ad_json_time(const json_t *obj, const ad_jpath *parent, const char *key, bool required,
                       int64_t *out_ms, ds_error *err);

/* Parse RFC 3339 ("2026-11-22T08:15:00Z", "...08:15:00.250+01:00"; 'T' or
 * 't' or ' ' between date and time) -> Unix ms. False when malformed or
 * out of range (field values are checked, Feb 30 is refused). */
bool ad_time_parse_rfc3339(const char *s, int64_t *out_ms);

/* Unix ms -> "2026-11-22T08:15:00Z" (ms dropped) into buf of >= 21 bytes. */
void ad_time_format(int64_t ms, char *buf, size_t cap);

/* ad_money -> a new JSON object in the contract's shape (NULL on OOM). */
json_t *ad_money_json(const ad_money *m);

/* Compare two amounts; false when currencies differ. */
bool ad_money_equal(const ad_money *a, const ad_money *b);

/* A decimal amount in cents-precision JSON number (vendor APIs that send
 * 12.5) -> ad_money rounded to the cent. False for non-numbers and values
 * beyond +-1e15. */
bool ad_money_from_decimal(double v, const char *currency, ad_money *out);

#endif
