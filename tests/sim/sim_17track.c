/* sim_17track.c - 17TRACK-shaped register / gettrackinfo endpoints. */
#include "sim_17track.h"

#include <stdio.h>
#include <string.h>

#include "sim_json.h"
#include "sim_route.h"
#include "sim_stats.h"
#include "sim_track.h"

enum {
    E_KEY = -18010002,            /* access key invalid */
    E_REGISTERED = -18019901,     /* already registered */
    E_NOT_REGISTERED = -18019902, /* not registered */
    E_BAD_REQUEST = -18019909,    /* malformed request (the simulator's own code) */
    MAX_NUMBERS = 40
};

static json_t *foreign; /* numbers registered that no simulated parcel has */

/* {"code":code,"data":data} with HTTP status http. */
static void answer(sim_resp *resp, int http, int code, json_t *data)
{
    sim_resp_set(resp, http,
                 json_pack("{s:i,s:o}", "code", code, "data", data ? data : json_object()));
}

static json_t *rejected(const char *number, int code, const char *fmt)
{
    char msg[200];

    snprintf(msg, sizeof msg, fmt, number);
    return json_pack("{s:s,s:{s:i,s:s}}", "number", number, "error", "code", code, "message", msg);
}

static bool is_registered(const char *number, sim_parcel *p)
{
    return p != NULL ? p->registered17 : json_object_get(foreign, number) != NULL;
}

/* POST register [{"number","carrier"?}] */
static void do_register(const char *number, json_t *acc, json_t *rej)
{
    sim_parcel *p = sim_track_find(NULL, number);

    if (is_registered(number, p)) {
        json_array_append_new(rej, rejected(number, E_REGISTERED,
                                            "The tracking number '%s' has been registered, don't "
                                            "need to repeat registration."));
        return;
    }
    if (p != NULL)
        p->registered17 = true;
    else
        json_object_set_new(foreign, number, json_true());
    json_array_append_new(acc, json_pack("{s:i,s:s,s:i}", "origin", 1, "number", number, "carrier",
                                         p ? SIM_17TRACK_CARRIER : 0));
}

/* One event object for stage index i of p. */
static json_t *event(const sim_parcel *p, int i)
{
    const sim_stage_info *in = sim_stage_info_get(p->path[i]);
    char t[SIM_TIME_LEN];

    simj_time(t, p->reached[i]);
    return json_pack("{s:s,s:s,s:s,s:s,s:s*,s:s,s:{s:s}}", "time_iso", t, "time_utc", t,
                     "description", in->message, "location", in->location, "stage", in->stage17,
                     "sub_status", in->sub17, "address", "country", "");
}

/* track_info of a simulated parcel; counts a poll. */
static json_t *track_info(sim_parcel *p, bool dup)
{
    json_t *events = json_array();
    const sim_stage_info *in;

    sim_track_poll(p, time(NULL));
    in = p->stage >= 0 ? sim_stage_info_get(p->path[p->stage]) : NULL;
    for (int i = p->stage; i >= 0; i--)
        json_array_append_new(events, event(p, i));
    if (dup && p->stage >= 0)
        json_array_insert_new(events, 0, event(p, p->stage));
    return json_pack(
        "{s:{s:s,s:s,s:n},s:o,s:{s:I,s:I},s:[],s:{},s:{s:[{s:{s:i,s:s,s:s,s:s},s:s,s:o,s:o}]}}",
        "latest_status", "status", in ? in->st17 : "NotFound", "sub_status",
        in ? in->sub17 : "NotFound_Other", "sub_status_descr", "latest_event",
        p->stage >= 0 ? event(p, p->stage) : json_null(), "time_metrics", "days_after_order",
        (json_int_t)((time(NULL) - p->shipped_at) / 86400), "days_of_transit",
        (json_int_t)((time(NULL) - p->shipped_at) / 86400), "milestone", "misc_info", "tracking",
        "providers", "provider", "key", SIM_17TRACK_CARRIER, "name", "Sim Post", "alias",
        "Sim Post", "country", "CN", "latest_sync_status", "Success", "latest_sync_time",
        simj_time_json(time(NULL)), "events", events);
}

/* track_info of a registered number the simulator has never shipped. */
static json_t *not_found_info(void)
{
    return json_pack("{s:{s:s,s:s,s:n},s:n,s:{},s:[],s:{},s:{s:[]}}", "latest_status", "status",
                     "NotFound", "sub_status", "NotFound_Other", "sub_status_descr", "latest_event",
                     "time_metrics", "milestone", "misc_info", "tracking", "providers");
}

/* POST gettrackinfo [{"number","carrier"?}] */
static void do_info(const char *number, bool dup, json_t *acc, json_t *rej)
{
    sim_parcel *p = sim_track_find(NULL, number);

    if (!is_registered(number, p)) {
        json_array_append_new(
            rej, rejected(number, E_NOT_REGISTERED,
                          "The tracking number '%s' does not register, please register first."));
        return;
    }
    json_array_append_new(acc, json_pack("{s:s,s:i,s:n,s:s,s:o}", "number", number, "carrier",
                                         p ? SIM_17TRACK_CARRIER : 0, "param", "tag", "",
                                         "track_info", p ? track_info(p, dup) : not_found_info()));
}

/* POST stoptrack [{"number"}] */
static void do_stop(const char *number, json_t *acc, json_t *rej)
{
    sim_parcel *p = sim_track_find(NULL, number);

    if (!is_registered(number, p)) {
        json_array_append_new(
            rej, rejected(number, E_NOT_REGISTERED,
                          "The tracking number '%s' does not register, please register first."));
        return;
    }
    if (p != NULL)
        p->registered17 = false;
    else
        json_object_del(foreign, number);
    json_array_append_new(
        acc, json_pack("{s:s,s:i}", "number", number, "carrier", p ? SIM_17TRACK_CARRIER : 0));
}

void sim_17track_handle(sim_req *req, sim_resp *resp, const char *rest)
{
    json_t *acc;
    json_t *rej;
    size_t i;
    json_t *item;
    const char *route = strcmp(rest, "register") == 0       ? "17track.register"
                        : strcmp(rest, "gettrackinfo") == 0 ? "17track.gettrackinfo"
                        : strcmp(rest, "stoptrack") == 0    ? "17track.stoptrack"
                                                            : NULL;

    if (!sim_token_ok(sim_req_header(req, "17token"))) {
        answer(resp, 401, E_KEY, NULL);
        return;
    }
    if (route == NULL || strcmp(req->method, "POST") != 0) {
        sim_resp_error(resp, 404, "NOT_FOUND", "no route %s %s", req->method, rest);
        return;
    }
    sim_stats_request(route);
    if (!json_is_array(req->json) || json_array_size(req->json) == 0 ||
        json_array_size(req->json) > MAX_NUMBERS) {
        answer(resp, 200, E_BAD_REQUEST, NULL);
        return;
    }
    if (foreign == NULL)
        foreign = json_object();
    acc = json_array();
    rej = json_array();
    json_array_foreach(req->json, i, item)
    {
        const char *number = simj_str(item, "number", 50);
        if (number == NULL)
            json_array_append_new(rej, rejected("", E_BAD_REQUEST, "number required%s"));
        else if (strcmp(rest, "register") == 0)
            do_register(number, acc, rej);
        else if (strcmp(rest, "gettrackinfo") == 0)
            do_info(number, req->duplicate, acc, rej);
        else
            do_stop(number, acc, rej);
    }
    req->duplicate_used = req->duplicate;
    answer(resp, 200, 0, json_pack("{s:o,s:o}", "accepted", acc, "rejected", rej));
}

void sim_17track_reset(void)
{
    json_decref(foreign);
    foreign = NULL;
}
