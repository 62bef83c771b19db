/* sim_17track.h - a 17TRACK API v2.2-shaped tracking service over the
 * simulated carrier: POST register, gettrackinfo and stoptrack under
 * /17track/track/v2.2/, header `17token`. Numbers that are not simulated
 * parcels may be registered and stay NotFound.
 * See docs/simulator.md for the status mapping.
 * Threads: requires the world lock (sim_route holds it).
 */
#ifndef SIM_17TRACK_H
#define SIM_17TRACK_H

#include "sim_http.h"

#define SIM_17TRACK_PREFIX "/17track/track/v2.2/"
#define SIM_17TRACK_CARRIER 190999 /* the carrier code of sim-post */

/* Serve `rest` ("register", "gettrackinfo", "stoptrack"). */
void sim_17track_handle(sim_req *req, sim_resp *resp, const char *rest);

/* Forget registrations of foreign numbers. */
void sim_17track_reset(void);

#endif
