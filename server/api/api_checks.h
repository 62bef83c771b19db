/* api_checks.h - checks of value types that several services accept
 * (supplier return policies, binding overrides, order shipping addresses).
 *
 * Each check adds BadRequest field violations to err and never sets its
 * status: the caller ends validation with api_validate_done. Field names
 * are "<field>.<member>" ("supplier.return_address.city").
 * Threads: reentrant.
 */
#ifndef API_CHECKS_H
#define API_CHECKS_H

#include "ds_status.h"
#include "dropship/v1/common.pb-c.h"

/* "<prefix>.<name>" in buf (truncated to DS_ERROR_FIELD_MAX); returns buf. */
const char *api_field(char buf[DS_ERROR_FIELD_MAX], const char *prefix, const char *name);

/* Validate an Address / ReturnRules value at `field` (violations only). */
void api_check_address(ds_error *err, const char *field, const Dropship__V1__Address *addr);
void api_check_return_rules(ds_error *err, const char *field, const Dropship__V1__ReturnRules *r);

#endif
