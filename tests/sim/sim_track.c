/* sim_track.c - parcels of the simulated carrier and their progress. */
#include "sim_track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_config.h"
#include "sim_json.h"

enum { MAX_PARCELS = 200000 };

static sim_parcel **parcels;
static size_t n_parcels, cap_parcels;
static json_t *index_by_number; /* number -> position in parcels */

static const sim_stage_info infos[SIM_ST_COUNT_] = {
    {"INFO_RECEIVED", "InfoReceived", "InfoReceived", "InfoReceived", "Info received",
     "Shenzhen, CN", "Shipment information received"},
    {"IN_TRANSIT", "InTransit", "InTransit_PickedUp", "PickedUp", "In transit", "Shenzhen, CN",
     "Parcel picked up by carrier"},
    {"IN_TRANSIT", "InTransit", "InTransit_Departure", "Departure", "In transit", "Hong Kong, HK",
     "Departed from origin country"},
    {"IN_TRANSIT", "InTransit", "InTransit_CustomsProcessing", NULL, "In transit",
     "Destination customs", "Customs clearance in progress"},
    {"IN_TRANSIT", "InTransit", "InTransit_Arrival", "Arrival", "In transit", "Destination depot",
     "Arrived at delivery depot"},
    {"OUT_FOR_DELIVERY", "OutForDelivery", "OutForDelivery_Other", "OutForDelivery",
     "Out for delivery", "Destination depot", "Out for delivery"},
    {"FAILED_ATTEMPT", "DeliveryFailure", "DeliveryFailure_NoBody", NULL, "Delivery failed",
     "Recipient address", "Delivery attempted, nobody at home"},
    {"AVAILABLE_FOR_PICKUP", "AvailableForPickup", "AvailableForPickup_Other", "AvailableForPickup",
     "Pending pickup", "Pickup point", "Available for pickup at the pickup point"},
    {"DELIVERED", "Delivered", "Delivered_Other", "Delivered", "Delivered", "Recipient address",
     "Delivered"},
    {"EXCEPTION", "Exception", "Exception_Lost", NULL, "Exception", "Unknown",
     "Parcel lost in transit"},
    {"EXPIRED", "Expired", "Expired_Other", NULL, "Expired", "", "No tracking updates for 30 days"},
    {"RETURNING_TO_SENDER", "Exception", "Exception_Returning", "Returning", "Returning",
     "Destination depot", "Returning to sender"},
    {"EXCEPTION", "Exception", "Exception_Damage", NULL, "Exception", "Hong Kong, HK",
     "Parcel damaged in transit"},
};

const sim_stage_info *sim_stage_info_get(sim_stage st)
{
    return &infos[st];
}

/* Choose the parcel's path: the first line with a special path wins,
 * otherwise the normal path with the largest deliver_polls of its lines. */
static void choose_path(sim_parcel *p)
{
    sim_sku_rule r;
    size_t i;
    json_t *line;
    bool special = false;

    json_array_foreach(p->lines, i, line)
    {
        sim_sku_rule_get(json_string_value(json_object_get(line, "sku")), &r);
        if (special)
            continue;
        if (r.special_path || p->path_len == 0) {
            p->path_len = r.path_len;
            memcpy(p->path, r.path, sizeof r.path);
            p->deliver_polls = r.deliver_polls;
            special = r.special_path;
        } else if (r.deliver_polls > p->deliver_polls) {
            p->deliver_polls = r.deliver_polls;
        }
    }
}

/* Make room for one more parcel; false at the cap. */
static bool grow(void)
{
    sim_parcel **n;

    if (n_parcels < cap_parcels)
        return true;
    if (cap_parcels >= MAX_PARCELS)
        return false;
    cap_parcels = cap_parcels == 0 ? 64 : cap_parcels * 2;
    n = realloc(parcels, cap_parcels * sizeof *parcels);
    if (n == NULL)
        abort();
    parcels = n;
    return true;
}

sim_parcel *sim_track_create(const char *supplier_order_id, json_t *lines, time_t now)
{
    sim_parcel *p;

    if (!grow()) {
        json_decref(lines);
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        abort();
    snprintf(p->carrier, sizeof p->carrier, "%s", SIM_CARRIER);
    snprintf(p->number, sizeof p->number, "SIM%09zu", n_parcels + 1);
    snprintf(p->supplier_order_id, sizeof p->supplier_order_id, "%s", supplier_order_id);
    p->lines = lines;
    p->stage = -1;
    p->shipped_at = now;
    p->shipped_mono = simj_mono();
    choose_path(p);
    if (index_by_number == NULL)
        index_by_number = json_object();
    json_object_set_new(index_by_number, p->number, json_integer((json_int_t)n_parcels));
    parcels[n_parcels++] = p;
    return p;
}

sim_parcel *sim_track_find(const char *carrier, const char *number)
{
    json_t *i = json_object_get(index_by_number, number);
    sim_parcel *p;

    if (!json_is_integer(i))
        return NULL;
    p = parcels[json_integer_value(i)];
    if (carrier != NULL && strcmp(carrier, p->carrier) != 0)
        return NULL;
    return p;
}

/* Stage index after `steps` steps. */
static int stage_at(const sim_parcel *p, long long steps)
{
    if (steps <= 0)
        return -1;
    if (steps >= p->deliver_polls || p->deliver_polls <= 1)
        return p->path_len - 1;
    return (int)((steps - 1) * (p->path_len - 1) / (p->deliver_polls - 1));
}

void sim_track_poll(sim_parcel *p, time_t now)
{
    long long steps = ++p->polls;
    int target;

    if (sim_cfg.time_scale > 0) {
        long long t =
            (long long)((simj_mono() - p->shipped_mono) * sim_cfg.time_scale / SIM_STEP_SECONDS);
        steps = t > steps ? t : steps;
    }
    target = stage_at(p, steps);
    while (p->stage < target) {
        p->stage++;
        p->reached[p->stage] = now;
    }
}

const char *sim_track_status(const sim_parcel *p)
{
    return p->stage < 0 ? "PENDING" : infos[p->path[p->stage]].status;
}

/* One checkpoint object for stage index i. */
static json_t *checkpoint(const sim_parcel *p, int i)
{
    const sim_stage_info *in = &infos[p->path[i]];

    return json_pack("{s:o,s:s,s:s,s:s}", "time", simj_time_json(p->reached[i]), "status",
                     in->status, "location", in->location, "message", in->message);
}

json_t *sim_track_json(const sim_parcel *p, bool dup)
{
    json_t *cps = json_array();
    time_t updated = p->stage >= 0 ? p->reached[p->stage] : p->shipped_at;

    for (int i = 0; i <= p->stage; i++)
        json_array_append_new(cps, checkpoint(p, i));
    if (dup && p->stage >= 0)
        json_array_append_new(cps, checkpoint(p, p->stage));
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "carrier", p->carrier, "tracking_number",
                     p->number, "status", sim_track_status(p), "updated_at",
                     simj_time_json(updated), "estimated_delivery",
                     simj_time_json(p->shipped_at + 3 * 86400), "checkpoints", cps);
}

void sim_track_handle(sim_req *req, sim_resp *resp, const char *carrier, const char *number)
{
    sim_parcel *p = sim_track_find(carrier, number);

    if (strcmp(req->method, "GET") != 0) {
        sim_resp_error(resp, 405, "METHOD_NOT_ALLOWED", "use GET");
        return;
    }
    if (p == NULL) {
        sim_resp_error(resp, 404, "NOT_FOUND", "no tracking %s/%s yet", carrier, number);
        return;
    }
    sim_track_poll(p, time(NULL));
    req->duplicate_used = req->duplicate;
    sim_resp_set(resp, 200, sim_track_json(p, req->duplicate));
}

void sim_track_reset(void)
{
    for (size_t i = 0; i < n_parcels; i++) {
        json_decref(parcels[i]->lines);
        free(parcels[i]);
    }
    free(parcels);
    parcels = NULL;
    n_parcels = cap_parcels = 0;
    json_decref(index_by_number);
    index_by_number = NULL;
}
