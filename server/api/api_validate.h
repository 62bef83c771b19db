/* api_validate.h - field checks shared by every service's request validation.
 *
 * Each check appends a google.rpc.BadRequest field violation to `err` when
 * the value is wrong and returns false; it never changes err->status, so a
 * validator runs every check, then calls api_validate_done once. Field
 * paths are written as in the .proto ("order.address.postal_code",
 * "order.lines[2].quantity").
 *
 * Threads: all functions are reentrant (the postal-code regexes are compiled
 * once, under pthread_once).
 */
#ifndef API_VALIDATE_H
#define API_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_status.h"

/* DS_OK if no violation was recorded, else sets err to DS_ERR_INVALID with
 * "invalid <what>: <first violation>" and returns DS_ERR_INVALID. */
ds_status api_validate_done(ds_error *err, const char *what);

/* A present (non-empty) string. */
bool av_required(ds_error *err, const char *field, const char *s);

/* Valid UTF-8, no control characters other than tab/newline (when
 * `multiline`), at most `max` characters (Unicode code points, as the proto
 * comments count them). Empty passes (combine with
 * av_required). */
bool av_text(ds_error *err, const char *field, const char *s, size_t max, bool multiline);

/* An identifier made by clients: 1..max chars of [A-Za-z0-9._:-]. */
bool av_token(ds_error *err, const char *field, const char *s, size_t max);

/* A server-assigned id: canonical lower/upper-case UUID text. */
bool av_uuid(ds_error *err, const char *field, const char *s);

/* ISO 3166-1 alpha-2, upper case ("DE"). */
bool av_country(ds_error *err, const char *field, const char *code);
bool av_is_country(const char *code);

/* ISO 4217 active currency code, upper case ("EUR"). */
bool av_currency(ds_error *err, const char *field, const char *code);
bool av_is_currency(const char *code);

/* A phone number: optional leading '+', then 7..15 digits, with spaces,
 * dashes, dots and one pair of parentheses allowed between digits. */
bool av_phone(ds_error *err, const char *field, const char *s);

/* Postal code in the format of `country` when the country's format is known
 * (US 12345 or 12345-6789, DE 5 digits, GB outward+inward, CA A1A 1A1, ...);
 * for other countries: 1..12 chars of letters, digits, spaces, dashes.
 * Empty is allowed only for countries without postal codes (e.g. HK, AE). */
bool av_postal_code(ds_error *err, const char *field, const char *country, const char *code);

/* Money: valid currency, |nanos| < 1e9, units and nanos of the same sign;
 * when `non_negative`, the amount is >= 0. */
bool av_money(ds_error *err, const char *field, const char *currency, int64_t units,
              int32_t nanos, bool non_negative);

/* An integer within [min, max]. */
bool av_range(ds_error *err, const char *field, int64_t v, int64_t min, int64_t max);

/* A hex SHA-256 digest: exactly 64 hex digits. */
bool av_sha256_hex(ds_error *err, const char *field, const char *s);

/* An absolute URI with a scheme (https://, s3://, file:// ...), <= max bytes,
 * no spaces or control characters. */
bool av_uri(ds_error *err, const char *field, const char *s, size_t max);

/* An http or https URL with a host, <= max bytes. */
bool av_http_url(ds_error *err, const char *field, const char *s, size_t max);

#endif
