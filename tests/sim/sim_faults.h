/* sim_faults.h - injectable faults of dropship-sim: rules per path prefix,
 * firing with a probability or for the next N matching requests, drawn from
 * a seeded generator so that a run is reproducible.
 *
 * Rule (JSON, also the body of POST /_sim/faults):
 *   {"type":"latency|5xx|429|timeout|malformed|drop|duplicate",
 *    "prefix":"/suppliers/acme/", "method":"POST",
 *    "probability":0.25 | "count":3,
 *    "latency_ms":200, "status":503, "retry_after":2, "hang_ms":10000,
 *    "processed":true}
 * Rules are tried in the order they were added; the first that fires wins.
 * A rule with "count" fires on each of the next N matching requests and then
 * disappears; without "count" or "probability" it fires always.
 * Control paths (/_sim/...) never get faults.
 * Threads: every function may be called from any thread (internal mutex).
 */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum sim_fault_type {
    SIM_FAULT_NONE = 0,  /* serve normally */
    SIM_FAULT_LATENCY,   /* sleep latency_ms, then serve normally */
    SIM_FAULT_5XX,       /* answer `status` (default 503) without processing */
    SIM_FAULT_429,       /* answer 429 + Retry-After without processing */
    SIM_FAULT_TIMEOUT,   /* process, then hang hang_ms before answering */
    SIM_FAULT_MALFORMED, /* process, then send a truncated JSON body */
    SIM_FAULT_DROP,      /* close without an answer (processed first if `processed`) */
    SIM_FAULT_DUPLICATE, /* deliver twice: parcels/checkpoints listed twice,
                            or the request handled twice and the second
                            answer sent */
    SIM_FAULT_TYPE_COUNT_
} sim_fault_type;

enum { SIM_FAULT_MAX_RULES = 64, SIM_FAULT_MAX_HANG_MS = 60000, SIM_FAULT_LOG_MAX = 4096 };

/* What to do with one request. */
typedef struct sim_fault {
    sim_fault_type type;
    int latency_ms;  /* LATENCY */
    int status;      /* 5XX */
    int retry_after; /* 429 (and 5XX when > 0) */
    int hang_ms;     /* TIMEOUT, capped at SIM_FAULT_MAX_HANG_MS */
    bool processed;  /* DROP: run the handler before closing */
} sim_fault;

/* Stable lower-case name ("5xx", "drop"); "none" for NONE. */
const char *sim_fault_name(sim_fault_type t);

/* Add one rule. Returns false and writes a reason into err on bad input;
 * nothing is added then. */
bool sim_faults_add_json(const json_t *rule, char *err, size_t errlen);

/* Add one rule written "type=5xx,prefix=/suppliers/,probability=0.5"
 * (the --fault flag). Same errors as sim_faults_add_json. */
bool sim_faults_add_spec(const char *spec, char *err, size_t errlen);

/* Decide the fault for a request; *out is NONE when no rule fires. */
void sim_faults_pick(const char *method, const char *path, sim_fault *out);

/* The active rules as a JSON array (caller owns). */
json_t *sim_faults_list(void);

/* The faults fired since the last reset, oldest first (caller owns):
 * {"fired":[{"type","method","path","time_ms"}],"dropped":N}; time_ms is
 * the wall clock in ms (fractional) when the rule fired, before any
 * latency or answer; the first SIM_FAULT_LOG_MAX are kept, later ones are
 * only counted in "dropped". Lets tests check the spacing of retries. */
json_t *sim_faults_log_json(void);

/* Remove every rule, clear the log and reseed the generator with `seed`. */
void sim_faults_reset(unsigned long long seed);

#endif
