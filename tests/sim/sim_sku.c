/* sim_sku.c - per-SKU behaviour: prefix rules and scenario overrides. */
#include "sim_sku.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sim_config.h"
#include "sim_http.h"
#include "sim_json.h"

static json_t *scenario;  /* {"skus":{...}}; read-only once serving */
static json_t *overrides; /* {"SKU":{"stock":N,"cost_cents":N}}; under the world lock */

static const char *const stage_names[SIM_ST_COUNT_] = {"info_received",  "picked_up",
                                                       "departed",       "customs",
                                                       "arrived",        "out_for_delivery",
                                                       "failed_attempt", "available_for_pickup",
                                                       "delivered",      "lost",
                                                       "expired",        "returning",
                                                       "damaged"};

typedef struct prefix_path {
    const char *prefix;
    int len;
    sim_stage path[SIM_PATH_MAX];
} prefix_path;

static const prefix_path paths[] = {
    {"STUCK-", 1, {SIM_ST_INFO_RECEIVED}},
    {"LOST-", 4, {SIM_ST_INFO_RECEIVED, SIM_ST_PICKED_UP, SIM_ST_DEPARTED, SIM_ST_LOST}},
    {"FAIL-",
     6,
     {SIM_ST_INFO_RECEIVED, SIM_ST_PICKED_UP, SIM_ST_OUT_FOR_DELIVERY, SIM_ST_FAILED_ATTEMPT,
      SIM_ST_OUT_FOR_DELIVERY, SIM_ST_DELIVERED}},
    {"PICKUP-",
     5,
     {SIM_ST_INFO_RECEIVED, SIM_ST_PICKED_UP, SIM_ST_ARRIVED, SIM_ST_PICKUP, SIM_ST_DELIVERED}},
    {"RETURN-",
     5,
     {SIM_ST_INFO_RECEIVED, SIM_ST_PICKED_UP, SIM_ST_OUT_FOR_DELIVERY, SIM_ST_FAILED_ATTEMPT,
      SIM_ST_RETURNING}},
    {"EXPIRE-", 2, {SIM_ST_INFO_RECEIVED, SIM_ST_EXPIRED}},
    {"DAMAGE-", 3, {SIM_ST_INFO_RECEIVED, SIM_ST_PICKED_UP, SIM_ST_DAMAGED}},
};

static const sim_stage normal_path[] = {SIM_ST_INFO_RECEIVED, SIM_ST_PICKED_UP, SIM_ST_CUSTOMS,
                                        SIM_ST_OUT_FOR_DELIVERY, SIM_ST_DELIVERED};

int sim_stage_parse(const char *name)
{
    for (int i = 0; name != NULL && i < SIM_ST_COUNT_; i++)
        if (strcmp(name, stage_names[i]) == 0)
            return i;
    return -1;
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Defaults derived from the SKU's hash, then the prefix rules. */
static void rule_from_prefix(const char *sku, sim_sku_rule *r)
{
    unsigned long long h = simj_hash(sku);

    memset(r, 0, sizeof *r);
    r->cost_cents = 100 + (long long)(h % 9900);
    r->raised_cents = r->cost_cents;
    r->stock = 10 + (int)((h >> 20) % 90);
    r->ship_days = 2 + (int)((h >> 40) % 6);
    r->deliver_polls = sim_cfg.deliver_polls;
    r->path_len = (int)(sizeof normal_path / sizeof normal_path[0]);
    memcpy(r->path, normal_path, sizeof normal_path);
    r->stock = has_prefix(sku, "OOS-") ? 0 : r->stock;
    r->reject = has_prefix(sku, "REJECT-");
    r->split = has_prefix(sku, "SPLIT-");
    if (has_prefix(sku, "PRICEUP-"))
        r->raised_cents = (r->cost_cents * 3 + 1) / 2;
    if (has_prefix(sku, "SLOW-"))
        r->deliver_polls *= 3;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (!has_prefix(sku, paths[i].prefix))
            continue;
        r->path_len = paths[i].len;
        memcpy(r->path, paths[i].path, sizeof paths[i].path);
        r->special_path = true;
    }
}

/* Apply the scenario's path override; scenario was validated at load. */
static void apply_path(const json_t *path, sim_sku_rule *r)
{
    size_t i;
    json_t *v;

    r->path_len = 0;
    json_array_foreach(path, i, v) r->path[r->path_len++] =
        (sim_stage)sim_stage_parse(json_string_value(v));
    r->special_path = true;
}

/* Apply scenario overrides for this exact SKU. */
static void apply_scenario(const char *sku, sim_sku_rule *r)
{
    json_t *o = json_object_get(json_object_get(scenario, "skus"), sku);
    long long v;

    if (!json_is_object(o))
        return;
    if (simj_money_cents(json_object_get(o, "cost"), &v))
        r->cost_cents = r->raised_cents = v;
    if (simj_money_cents(json_object_get(o, "raised_cost"), &v))
        r->raised_cents = v;
    if (simj_int(o, "stock", 0, 1000000, &v))
        r->stock = (int)v;
    if (simj_int(o, "ship_days", 0, 365, &v))
        r->ship_days = (int)v;
    if (simj_int(o, "deliver_polls", 1, 100000, &v))
        r->deliver_polls = (int)v;
    if (json_is_boolean(json_object_get(o, "reject")))
        r->reject = json_is_true(json_object_get(o, "reject"));
    if (json_is_boolean(json_object_get(o, "split")))
        r->split = json_is_true(json_object_get(o, "split"));
    if (json_is_array(json_object_get(o, "path")))
        apply_path(json_object_get(o, "path"), r);
}

/* Apply the runtime overrides set through POST /_sim/skus. */
static void apply_override(const char *sku, sim_sku_rule *r)
{
    json_t *o = json_object_get(overrides, sku);
    json_t *stock = json_object_get(o, "stock");
    json_t *cost = json_object_get(o, "cost_cents");

    if (json_is_integer(stock))
        r->stock = (int)json_integer_value(stock);
    if (json_is_integer(cost))
        r->cost_cents = r->raised_cents = json_integer_value(cost);
}

void sim_sku_rule_get(const char *sku, sim_sku_rule *out)
{
    rule_from_prefix(sku, out);
    apply_scenario(sku, out);
    apply_override(sku, out);
    if (out->deliver_polls < out->path_len)
        out->deliver_polls = out->path_len;
}

/* Check one SKU entry of a scenario; false with err. */
static bool check_entry(const char *sku, const json_t *o, char *err, size_t errlen)
{
    json_t *path = json_object_get(o, "path");
    size_t i;
    json_t *v;

    if (!json_is_object(o)) {
        snprintf(err, errlen, "skus.%s: not an object", sku);
        return false;
    }
    if (path == NULL)
        return true;
    if (!json_is_array(path) || json_array_size(path) == 0 ||
        json_array_size(path) > SIM_PATH_MAX) {
        snprintf(err, errlen, "skus.%s.path: 1..%d stage names", sku, SIM_PATH_MAX);
        return false;
    }
    json_array_foreach(path, i, v)
    {
        if (sim_stage_parse(json_string_value(v)) < 0) {
            snprintf(err, errlen, "skus.%s.path[%zu]: unknown stage", sku, i);
            return false;
        }
    }
    return true;
}

bool sim_sku_load(const char *file, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    json_t *skus = json_object_get(root, "skus");
    const char *k;
    json_t *v;
    bool ok = root != NULL && (skus == NULL || json_is_object(skus));

    if (root == NULL)
        snprintf(err, errlen, "%s:%d: %s", file, jerr.line, jerr.text);
    else if (!ok)
        snprintf(err, errlen, "%s: \"skus\" must be an object", file);
    json_object_foreach(skus, k, v)
    {
        ok = ok && check_entry(k, v, err, errlen);
    }
    if (ok) {
        json_decref(scenario);
        scenario = root;
    } else {
        json_decref(root);
    }
    return ok;
}

const json_t *sim_scenario_get(const char *section, const char *key)
{
    return json_object_get(json_object_get(scenario, section), key);
}

/* Check one override entry; the new fields into `into`. */
static bool override_entry(const json_t *req, json_t *into, char *err, size_t errlen)
{
    long long v;
    json_t *cost = json_object_get(req, "cost");

    if (json_object_get(req, "stock") != NULL) {
        if (!simj_int(req, "stock", 0, 1000000, &v)) {
            snprintf(err, errlen, "stock: a whole number 0..1000000");
            return false;
        }
        json_object_set_new(into, "stock", json_integer(v));
    }
    if (cost != NULL) {
        if (!simj_money_cents(cost, &v) || v <= 0) {
            snprintf(err, errlen, "cost: a Money above zero with whole cents");
            return false;
        }
        json_object_set_new(into, "cost_cents", json_integer(v));
    }
    return true;
}

bool sim_sku_set_json(const json_t *req, char *err, size_t errlen)
{
    const char *sku = json_string_value(json_object_get(req, "sku"));
    json_t *entry;
    bool ok;

    if (sku == NULL || sku[0] == '\0' || strlen(sku) > 100) {
        snprintf(err, errlen, "sku: 1..100 characters required");
        return false;
    }
    if (overrides == NULL)
        overrides = json_object();
    entry = json_deep_copy(json_object_get(overrides, sku));
    if (entry == NULL)
        entry = json_object();
    ok = overrides != NULL && entry != NULL && override_entry(req, entry, err, errlen);
    if (ok && json_object_size(overrides) >= SIM_OVERRIDES_MAX &&
        json_object_get(overrides, sku) == NULL) {
        snprintf(err, errlen, "at most %d SKU overrides", SIM_OVERRIDES_MAX);
        ok = false;
    }
    if (ok)
        json_object_set(overrides, sku, entry);
    json_decref(entry);
    return ok;
}

json_t *sim_sku_overrides_json(void)
{
    return overrides != NULL ? json_deep_copy(overrides) : json_object();
}

void sim_sku_reset(void)
{
    json_decref(overrides);
    overrides = NULL;
}

void sim_sku_control(sim_req *req, sim_resp *resp)
{
    char err[256] = "";

    if (strcmp(req->method, "POST") == 0 &&
        (!json_is_object(req->json) || !sim_sku_set_json(req->json, err, sizeof err))) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT", "%s",
                       err[0] != '\0' ? err : "body: {\"sku\",\"stock\",\"cost\"}");
        return;
    }
    if (strcmp(req->method, "POST") != 0 && strcmp(req->method, "GET") != 0) {
        sim_resp_error(resp, 405, "METHOD_NOT_ALLOWED", "GET or POST /_sim/skus");
        return;
    }
    sim_resp_set(resp, 200, json_pack("{s:o}", "skus", sim_sku_overrides_json()));
}
