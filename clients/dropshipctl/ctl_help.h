/* ctl_help.h - dropshipctl's --help text at each level, from the proto
 * comments in the embedded descriptor set.
 *
 * Threads: any; writes only to the given stream.
 */
#ifndef CTL_HELP_H
#define CTL_HELP_H

#include <stdio.h>

#include "ctl_schema.h"

/* Top level: usage, flags, exit codes, and every service with the first
 * sentence of its comment. */
void ctl_help_top(FILE *out, const ctl_schema *s);

/* One service: its comment and its methods with the first sentence of each
 * method's comment. */
void ctl_help_service(FILE *out, const ctl_service *svc);

/* One method: its comment, then the request message's fields (JSON name,
 * type, comment) and the response type. */
void ctl_help_method(FILE *out, const ctl_schema *s, const ctl_service *svc, const ctl_method *m);

#endif
