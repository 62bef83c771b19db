/* sim_route.c - URL map, authentication and test control of dropship-sim. */
#include "sim_route.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sim_17track.h"
#include "sim_cj.h"
#include "sim_dispute.h"
#include "sim_config.h"
#include "sim_faults.h"
#include "sim_idem.h"
#include "sim_sku.h"
#include "sim_order.h"
#include "sim_stats.h"
#include "sim_supplier.h"
#include "sim_track.h"

static pthread_mutex_t world = PTHREAD_MUTEX_INITIALIZER;

bool sim_token_ok(const char *given)
{
    size_t n;
    unsigned char diff = 0;

    if (sim_cfg.token == NULL || sim_cfg.token[0] == '\0')
        return true;
    if (given == NULL)
        return false;
    n = strlen(sim_cfg.token);
    if (strlen(given) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(sim_cfg.token[i] ^ given[i]);
    return diff == 0;
}

/* Bearer token of the Authorization header, or NULL. */
static const char *bearer(const sim_req *req)
{
    const char *h = sim_req_header(req, "Authorization");

    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return NULL;
    return h + 7;
}

/* Reset everything. Caller holds the world lock. */
static void reset_locked(void)
{
    sim_order_reset();
    sim_track_reset();
    sim_idem_reset();
    sim_17track_reset();
    sim_stats_reset();
    sim_faults_reset(sim_cfg.seed);
    sim_sku_reset();
    sim_dispute_reset();
}

void sim_route_reset(void)
{
    pthread_mutex_lock(&world);
    reset_locked();
    pthread_mutex_unlock(&world);
}

/* POST /_sim/faults: one rule, {"faults":[...]}, or {"clear":true}. */
static void faults_post(sim_req *req, sim_resp *resp)
{
    json_t *list = json_object_get(req->json, "faults");
    char err[256] = "";
    size_t i;
    json_t *r;
    bool ok = true;

    if (!json_is_object(req->json)) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT",
                       "body: a fault rule, {\"faults\":[...]} or {\"clear\":true}");
        return;
    }
    if (json_is_true(json_object_get(req->json, "clear")))
        sim_faults_reset(sim_cfg.seed);
    if (json_is_array(list)) {
        json_array_foreach(list, i, r)
        {
            ok = ok && sim_faults_add_json(r, err, sizeof err);
        }
    } else if (json_object_get(req->json, "type") != NULL) {
        ok = sim_faults_add_json(req->json, err, sizeof err);
    }
    if (!ok) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT", "%s", err);
        return;
    }
    sim_resp_set(resp, 200, json_pack("{s:o}", "faults", sim_faults_list()));
}

/* /_sim/... */
static void control(sim_req *req, sim_resp *resp)
{
    bool get = strcmp(req->method, "GET") == 0;
    bool post = strcmp(req->method, "POST") == 0;

    if (get && strcmp(req->path, "/_sim/stats") == 0) {
        sim_resp_set(resp, 200, sim_stats_json());
    } else if (get && strcmp(req->path, "/_sim/disputes") == 0) {
        sim_resp_set(resp, 200, sim_dispute_stats());
    } else if (post && strcmp(req->path, "/_sim/reset") == 0) {
        reset_locked();
        sim_resp_set(resp, 200, json_pack("{s:b}", "reset", 1));
    } else if (get && strcmp(req->path, "/_sim/faults/log") == 0) {
        sim_resp_set(resp, 200, sim_faults_log_json());
    } else if (get && strcmp(req->path, "/_sim/faults") == 0) {
        sim_resp_set(resp, 200, json_pack("{s:o}", "faults", sim_faults_list()));
    } else if (post && strcmp(req->path, "/_sim/faults") == 0) {
        faults_post(req, resp);
    } else if (strcmp(req->method, "DELETE") == 0 && strcmp(req->path, "/_sim/faults") == 0) {
        sim_faults_reset(sim_cfg.seed);
        sim_resp_set(resp, 200, json_pack("{s:[]}", "faults"));
    } else if (strcmp(req->path, "/_sim/skus") == 0) {
        sim_sku_control(req, resp);
    } else if (get && strcmp(req->path, "/_sim/health") == 0) {
        sim_resp_set(resp, 200, json_pack("{s:s}", "status", "ok"));
    } else {
        sim_resp_error(resp, 404, "NOT_FOUND", "no control route %s %s", req->method, req->path);
    }
}

/* /suppliers/{key}/... */
static void suppliers(sim_req *req, sim_resp *resp)
{
    const char *p = req->path + strlen("/suppliers/");
    const char *slash = strchr(p, '/');
    char key[SIM_KEY_MAX + 1];

    if (slash == NULL || (size_t)(slash - p) > SIM_KEY_MAX) {
        sim_resp_error(resp, 404, "NOT_FOUND", "no supplier in %s", req->path);
        return;
    }
    memcpy(key, p, (size_t)(slash - p));
    key[slash - p] = '\0';
    if (!sim_supplier_key_ok(key)) {
        sim_resp_error(resp, 404, "NOT_FOUND", "bad supplier key");
        return;
    }
    sim_supplier_handle(req, resp, key, slash);
}

/* /tracking/v1/trackings/{carrier}/{number} */
static void tracking(sim_req *req, sim_resp *resp)
{
    char carrier[33];
    char number[65];
    char tail;

    sim_stats_request("tracking.get");
    if (sscanf(req->path, "/tracking/v1/trackings/%32[^/]/%64[^/]%c", carrier, number, &tail) !=
        2) {
        sim_resp_error(resp, 404, "NOT_FOUND", "no route %s", req->path);
        return;
    }
    sim_track_handle(req, resp, carrier, number);
}

/* Dispatch by prefix. Caller holds the world lock. */
static void route_locked(sim_req *req, sim_resp *resp)
{
    bool project =
        strncmp(req->path, "/suppliers/", 11) == 0 || strncmp(req->path, "/tracking/", 10) == 0;

    if (project && !sim_token_ok(bearer(req))) {
        sim_resp_error(resp, 401, "UNAUTHENTICATED", "Authorization: Bearer <token> required");
        return;
    }
    if (strncmp(req->path, "/_sim/", 6) == 0)
        control(req, resp);
    else if (strncmp(req->path, "/suppliers/", 11) == 0)
        suppliers(req, resp);
    else if (strncmp(req->path, "/tracking/", 10) == 0)
        tracking(req, resp);
    else if (strncmp(req->path, SIM_CJ_PREFIX, strlen(SIM_CJ_PREFIX)) == 0)
        sim_cj_handle(req, resp, req->path + strlen(SIM_CJ_PREFIX));
    else if (strncmp(req->path, SIM_17TRACK_PREFIX, strlen(SIM_17TRACK_PREFIX)) == 0)
        sim_17track_handle(req, resp, req->path + strlen(SIM_17TRACK_PREFIX));
    else
        sim_resp_error(resp, 404, "NOT_FOUND", "no route %s", req->path);
}

void sim_route(sim_req *req, sim_resp *resp)
{
    pthread_mutex_lock(&world);
    route_locked(req, resp);
    pthread_mutex_unlock(&world);
}
