/* sim_idem.h - the Idempotency-Key store of dropship-sim.
 *
 * A key is scoped by the caller (supplier, method and path). The first
 * final answer (status < 500 and not 429) to a key is remembered with the
 * canonical form of the request body; a later request with the same key
 * and the same body gets that answer again, a different body is refused.
 * Threads: requires the world lock (sim_route holds it).
 */
#ifndef SIM_IDEM_H
#define SIM_IDEM_H

#include <jansson.h>

#include "sim_http.h"

typedef enum sim_idem_result {
    SIM_IDEM_NEW = 0, /* never seen: perform the request */
    SIM_IDEM_REPLAY,  /* seen with the same body: *replay holds the first answer */
    SIM_IDEM_REUSED   /* seen with another body: refuse with 422 */
} sim_idem_result;

/* Look `key` up in `scope`; on REPLAY fills *replay (status and a new
 * reference to the body). */
sim_idem_result sim_idem_lookup(const char *scope, const char *key, const json_t *body,
                                sim_resp *replay);

/* Remember `resp` for `key` if it is a final answer. */
void sim_idem_remember(const char *scope, const char *key, const json_t *body,
                       const sim_resp *resp);

/* Forget everything. */
void sim_idem_reset(void);

#endif
