/* sim_sku.h - deterministic behaviour of a supplier SKU: cost, stock,
 * rejection, parcel split and the path its parcels take.
 *
 * Prefix rules (the SKU's start, case-sensitive):
 *   OOS-      stock 0; creating an order answers 422 OUT_OF_STOCK
 *   PRICEUP-  cost x1.5 (rounded up to a cent) after the first offer read
 *   REJECT-   creating an order answers 422 REJECTED
 *   SPLIT-    each line with such a SKU ships in a parcel of its own
 *   STUCK-    the parcel stays at INFO_RECEIVED forever
 *   LOST-     the parcel goes INFO_RECEIVED, IN_TRANSIT, IN_TRANSIT, EXCEPTION
 *   SLOW-     normal path, three times as many polls
 *   FAIL-     a failed delivery attempt before delivery
 *   PICKUP-   delivered to a pickup point first
 *   RETURN-   failed attempt, then returning to sender
 *   EXPIRE-   INFO_RECEIVED, then EXPIRED
 *   DAMAGE-   INFO_RECEIVED, IN_TRANSIT, then EXCEPTION "Parcel damaged in transit"
 * Anything else: in stock (10..99), cost 1.00..99.99 USD derived from a hash
 * of the SKU, ship_days 2..7, normal path delivered after --deliver-polls.
 * A scenario file (--scenario) overrides any field per exact SKU:
 *   {"skus":{"ABC-1":{"stock":0,"cost":Money,"raised_cost":Money,
 *     "reject":true,"split":true,"ship_days":4,"deliver_polls":9,
 *     "path":["info_received","picked_up","lost"]}},
 *  "suppliers":{"acme":{"address":{...},"rules":{...}}}}
 * (a supplier entry replaces its generated return policy).
 * Runtime overrides (POST /_sim/skus, tests): {"sku":"ABC-1","stock":0,
 * "cost":Money} replaces the stock and/or the cost (both before and after
 * the first offer read) of that exact SKU in every supplier, on top of
 * the prefix rules and the scenario, until /_sim/reset.
 * Threads: sim_sku_load before serving; sim_sku_rule_get and the override
 * functions under the simulator's world lock.
 */
#ifndef SIM_SKU_H
#define SIM_SKU_H

#include <stdbool.h>
#include <stddef.h>

enum { SIM_PATH_MAX = 12, SIM_OVERRIDES_MAX = 10000 };

/* Stages a parcel can reach; see sim_track.h for their texts. */
typedef enum sim_stage {
    SIM_ST_INFO_RECEIVED = 0, /* label printed, shipment data received */
    SIM_ST_PICKED_UP,         /* carrier has the parcel */
    SIM_ST_DEPARTED,          /* left the origin country */
    SIM_ST_CUSTOMS,           /* customs clearance at destination */
    SIM_ST_ARRIVED,           /* at the destination delivery depot */
    SIM_ST_OUT_FOR_DELIVERY,  /* on the van */
    SIM_ST_FAILED_ATTEMPT,    /* nobody home */
    SIM_ST_PICKUP,            /* waiting at a pickup point */
    SIM_ST_DELIVERED,         /* delivered */
    SIM_ST_LOST,              /* exception: lost */
    SIM_ST_EXPIRED,           /* no news; tracking expired */
    SIM_ST_RETURNING,         /* returning to sender */
    SIM_ST_DAMAGED,           /* exception: damaged in transit */
    SIM_ST_COUNT_
} sim_stage;

typedef struct sim_sku_rule {
    long long cost_cents;   /* cost until the first offer read */
    long long raised_cents; /* cost after the first offer read (== cost unless PRICEUP) */
    int stock;
    int ship_days;
    bool reject;
    bool split;
    bool special_path; /* path differs from the normal one */
    int deliver_polls; /* polls to reach the last stage */
    int path_len;
    sim_stage path[SIM_PATH_MAX];
} sim_sku_rule;

/* The rule of `sku` (prefix rules, then scenario overrides). */
void sim_sku_rule_get(const char *sku, sim_sku_rule *out);

/* Stage from its scenario name ("lost"); -1 if unknown. */
int sim_stage_parse(const char *name);

/* Borrowed scenario entry section.key ("suppliers", "acme") or NULL. */
const struct json_t *sim_scenario_get(const char *section, const char *key);

/* Load a scenario file; false with a reason in err (nothing changed). */
bool sim_sku_load(const char *file, char *err, size_t errlen);

/* Set an override from a request body {"sku","stock"?,"cost"?}; false
 * with a reason in err (nothing changed). */
bool sim_sku_set_json(const struct json_t *req, char *err, size_t errlen);

/* Every override as {"SKU":{"stock":N,"cost_cents":N}} (new reference). */
struct json_t *sim_sku_overrides_json(void);

/* GET or POST /_sim/skus: set an override (POST), answer every override
 * as {"skus":{...}}; 400 with the reason for a bad body. */
struct sim_req;
struct sim_resp;
void sim_sku_control(struct sim_req *req, struct sim_resp *resp);

/* Drop every override. */
void sim_sku_reset(void);

#endif
