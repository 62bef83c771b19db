/* sim_track.h - the simulated carrier "sim-post": parcels, their progress
 * through the stages of their SKU's path, and the project tracking endpoint
 * GET /tracking/v1/trackings/{carrier}/{tracking_number}.
 *
 * Progress: every tracking poll (project endpoint, 17TRACK gettrackinfo,
 * CJ trackInfo) counts one poll. After p polls the parcel is at stage
 * index (p-1)*(L-1)/(N-1) of its path of L stages (N = deliver_polls >= L),
 * the last stage at p >= N. With --time-scale X > 0, scaled time counts
 * too: one step per simulated hour since the parcel shipped; the parcel
 * is at the furthest of the two.
 * Threads: every function requires the world lock (sim_route holds it).
 */
#ifndef SIM_TRACK_H
#define SIM_TRACK_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "sim_http.h"
#include "sim_sku.h"

#define SIM_CARRIER "sim-post"

/* Texts of a stage in each vocabulary the simulator speaks. */
typedef struct sim_stage_info {
    const char *status;  /* canonical: IN_TRANSIT, ... */
    const char *st17;    /* 17TRACK main status: InTransit, ... */
    const char *sub17;   /* 17TRACK sub-status: InTransit_CustomsProcessing, ... */
    const char *stage17; /* 17TRACK milestone stage or NULL: PickedUp, ... */
    const char *cj;      /* CJ-style trackingStatus text */
    const char *location;
    const char *message;
} sim_stage_info;

typedef struct sim_parcel {
    char carrier[16];
    char number[24];
    char supplier_order_id[96];
    json_t *lines; /* [{"sku","quantity"}], owned */
    int path_len;
    sim_stage path[SIM_PATH_MAX];
    int deliver_polls;
    int polls;
    int stage; /* index reached in path, -1 before the first poll */
    time_t shipped_at;
    double shipped_mono; /* monotonic time of shipping: scaled-time progress */
    time_t reached[SIM_PATH_MAX];
    bool registered17; /* registered with the 17TRACK shape */
} sim_parcel;

/* Texts of stage `st`. */
const sim_stage_info *sim_stage_info_get(sim_stage st);

/* New parcel with the next tracking number; takes ownership of `lines`.
 * The path is the special path of the first line that has one, else the
 * normal path with the largest deliver_polls. NULL when the cap is hit. */
sim_parcel *sim_track_create(const char *supplier_order_id, json_t *lines, time_t now);

/* Find by carrier + number, or by number alone (carrier NULL). */
sim_parcel *sim_track_find(const char *carrier, const char *number);

/* Count one poll and move the parcel along. */
void sim_track_poll(sim_parcel *p, time_t now);

/* Canonical status now ("PENDING" before the first poll). */
const char *sim_track_status(const sim_parcel *p);

/* The project tracking JSON; `dup` repeats the last checkpoint. */
json_t *sim_track_json(const sim_parcel *p, bool dup);

/* GET /tracking/v1/trackings/{carrier}/{number}. */
void sim_track_handle(sim_req *req, sim_resp *resp, const char *carrier, const char *number);

/* Drop every parcel and restart numbering. */
void sim_track_reset(void);

#endif
