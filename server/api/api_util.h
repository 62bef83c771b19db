/* api_util.h - conventions shared by every service: page sizes, keyset page
 * tokens, etags, request fingerprints for request_id idempotency, and small
 * protobuf value helpers.
 *
 * Page tokens are opaque to clients: base64url of
 * "1.<sort key>.<id>.<query fingerprint>". The fingerprint binds a token to
 * the query (filters) that produced it, so a token replayed with other
 * filters is rejected instead of silently skipping rows.
 *
 * Etags are the row version as `"v<version>"`.
 *
 * Ownership: strings and messages returned come from the caller's arena.
 * Threads: reentrant.
 */
#ifndef API_UTIL_H
#define API_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/common.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

enum { API_PAGE_DEFAULT = 50, API_PAGE_MAX = 500, API_ID_MAX = 64 };

/* The effective page size: 0 -> API_PAGE_DEFAULT; outside 0..API_PAGE_MAX
 * adds a "page_size" violation and returns API_PAGE_DEFAULT. */
int32_t api_page_size(ds_error *err, int32_t requested);

/* Fingerprint of a List request: a hash of the message packed with its
 * `page_token` and `page_size` fields cleared. */
uint32_t api_list_fingerprint(const ProtobufCMessage *req);

/* Encode a token for the row after (sort_key, id); arena memory or NULL. */
char *api_page_token(ds_arena *a, int64_t sort_key, const char *id, uint32_t fingerprint);

/* Decode `token` (empty = first page: returns true with *has_token false).
 * A malformed token, or one issued for another query, adds a "page_token"
 * violation and returns false. `id` receives the row id (<= API_ID_MAX). */
bool api_page_token_parse(ds_error *err, const char *token, uint32_t fingerprint, bool *has_token,
                          int64_t *sort_key, char id[API_ID_MAX + 1]);

/* SHA-256 hex of the packed message (deterministic for protobuf-c: fields in
 * number order). `out` gets 64 hex digits + NUL. NULL msg hashes as empty. */
void api_message_hash(const ProtobufCMessage *msg, char out[65]);

/* "v<version>" in the arena. */
char *api_etag(ds_arena *a, int64_t version);

/* Parse an etag from a request: "" -> *version = 0 (unconditional) and true;
 * "v<n>" -> n; anything else adds a violation on `field` and returns false. */
bool api_etag_parse(ds_error *err, const char *field, const char *etag, int64_t *version);

/* Fill err with ABORTED / reason ETAG_MISMATCH for `what` ("supplier 0f4c..."). */
ds_status api_etag_mismatch(ds_error *err, const char *what);

/* Fill err with NOT_FOUND for a resource; the message shape never says
 * whether the id exists in another shop. */
ds_status api_not_found(ds_error *err, const char *kind, const char *id);

/* A default instance (protobuf_c_message_init) of message type d in the
 * arena; NULL when out of memory. */
void *api_new_message(ds_arena *a, const ProtobufCMessageDescriptor *d);

/* Build a response of type d whose singular message field `field` holds
 * `value` (a message of that field's type, or NULL when building it ran out
 * of memory) and point *resp at it. DS_ERR_NOMEM when value is NULL or the
 * arena is exhausted; DS_ERR_INTERNAL when d has no such message field.
 * *resp is left alone on error. */
ds_status api_respond(ds_arena *a, const ProtobufCMessageDescriptor *d, const char *field,
                      void *value, ProtobufCMessage **resp, ds_error *err);

/* Timestamp helpers: epoch microseconds <-> Timestamp (arena). */
Google__Protobuf__Timestamp *api_timestamp(ds_arena *a, int64_t epoch_us);
int64_t api_timestamp_us(const Google__Protobuf__Timestamp *ts);

/* A Money in the arena; NULL on allocation failure. */
Dropship__V1__Money *api_money(ds_arena *a, const char *currency, int64_t units, int32_t nanos);

/* Validate a Money field (NULL = missing: violation when `required`). */
bool api_check_money(ds_error *err, const char *field, const Dropship__V1__Money *m, bool required,
                     bool non_negative);

#endif
