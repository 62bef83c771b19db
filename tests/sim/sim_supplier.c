/* sim_supplier.c - HTTP handlers of the project supplier contract. */
#include "sim_supplier.h"

#include <stdio.h>
#include <string.h>

#include "sim_config.h"
#include "sim_dispute.h"
#include "sim_idem.h"
#include "sim_json.h"
#include "sim_order.h"
#include "sim_sku.h"
#include "sim_stats.h"

enum { MAX_OFFER_SKUS = 100, IDEM_KEY_MAX = 255 };

/* POST /v1/orders */
static void create_order(sim_req *req, sim_resp *resp, const char *supplier, const char *key)
{
    const char *ref = simj_str(req->json, "order_ref", SIM_REF_MAX);
    json_t *lines = json_object_get(req->json, "lines");
    json_t *ship_to = json_object_get(req->json, "ship_to");
    sim_order_err err = {0};
    sim_order *o;
    bool dup = false;

    if (ref == NULL || !json_is_object(ship_to)) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT",
                       "order_ref (1..128 chars) and ship_to required");
        return;
    }
    if (!sim_order_lines_ok(lines, &err)) {
        sim_resp_error(resp, err.status, err.code, "%s", err.message);
        return;
    }
    o = sim_order_create(supplier, ref, lines, ship_to, sim_cfg.require_payment, time(NULL), &dup,
                         &err);
    sim_stats_create(supplier, key, ref, o ? o->id : NULL, o != NULL, o != NULL && dup, false);
    if (o == NULL) {
        sim_resp_error(resp, err.status, err.code, "%s", err.message);
        return;
    }
    sim_resp_set(resp, 201, sim_order_json(o, false));
}

/* GET /v1/orders/{id} */
static void get_order(sim_req *req, sim_resp *resp, sim_order *o)
{
    sim_stats_request("supplier.get_order");
    sim_order_poll(o, time(NULL));
    req->duplicate_used = req->duplicate;
    sim_resp_set(resp, 200, sim_order_json(o, req->duplicate));
}

/* POST /v1/orders/{id}/cancel */
static void cancel_order(sim_resp *resp, sim_order *o)
{
    if (sim_order_cancel(o, time(NULL)) != 200) {
        sim_resp_error(resp, 409, "CANCEL_REFUSED", "order %s has shipped parcels", o->id);
        return;
    }
    sim_stats_count("cancels");
    sim_resp_set(resp, 200,
                 json_pack("{s:s,s:s}", "supplier_order_id", o->id, "status", sim_order_status(o)));
}

/* POST /v1/orders/{id}/payments */
static void pay_order(sim_req *req, sim_resp *resp, sim_order *o)
{
    long long cents = 0;
    const char *code = NULL;
    int st;

    if (!simj_money_cents(json_object_get(req->json, "amount"), &cents)) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT", "amount: Money in USD required");
        return;
    }
    st = sim_order_pay(o, cents, time(NULL), &code);
    if (st != 201) {
        sim_resp_error(resp, st, code, "order %s: %s", o->id, code);
        return;
    }
    sim_stats_count("payments");
    sim_resp_set(resp, 201,
                 json_pack("{s:s,s:s,s:o,s:o}", "transaction_id", o->transaction_id,
                           "supplier_order_id", o->id, "amount", simj_money(cents), "paid_at",
                           simj_time_json(o->paid_at)));
}

/* GET /v1/offers?sku=A&sku=B */
static void offers(sim_req *req, sim_resp *resp, const char *supplier)
{
    const char *skus[MAX_OFFER_SKUS];
    size_t n = sim_req_query_all(req, "sku", skus, MAX_OFFER_SKUS);
    json_t *list;
    sim_sku_rule r;

    sim_stats_request("supplier.offers");
    if (n == 0 || n > MAX_OFFER_SKUS) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT", "1..%d sku parameters", MAX_OFFER_SKUS);
        return;
    }
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        long long cost = sim_offer_cost(supplier, skus[i], true);
        sim_sku_rule_get(skus[i], &r);
        json_array_append_new(list,
                              json_pack("{s:s,s:i,s:o,s:i,s:o}", "sku", skus[i], "stock", r.stock,
                                        "cost", simj_money(cost), "ship_days", r.ship_days,
                                        "updated_at", simj_time_json(time(NULL))));
    }
    sim_resp_set(resp, 200, json_pack("{s:o}", "offers", list));
}

json_t *sim_supplier_return_policy(const char *supplier)
{
    static const char *const cities[][3] = {{"Guangdong", "Guangzhou", "510000"},
                                            {"Zhejiang", "Yiwu", "322000"},
                                            {"Guangdong", "Shenzhen", "518000"}};
    static const char *const payers[] = {"BUYER", "SUPPLIER", "SHOP"};
    const json_t *sc = sim_scenario_get("suppliers", supplier);
    unsigned long long h = simj_hash(supplier);
    const char *const *c = cities[h % 3];
    char name[64];
    char street[64];

    if (json_is_object(sc))
        return json_deep_copy(sc);
    snprintf(name, sizeof name, "%s Returns", supplier);
    snprintf(street, sizeof street, "%llu Warehouse Road", 1 + (h >> 8) % 200);
    return json_pack("{s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s},s:{s:i,s:s,s:s}}", "address",
                     "recipient_name", name, "phone", "+86 20 0000 0000", "country_code", "CN",
                     "region", c[0], "city", c[1], "street", street, "postal_code", c[2], "rules",
                     "no_reason_return_days", 7 + (int)((h >> 16) % 2) * 7, "return_postage_payer",
                     payers[(h >> 24) % 3], "damaged_goods",
                     "photo within 48 hours of delivery; the supplier pays return postage");
}

/* Route POSTs after the idempotency check. */
static void dispatch_post(sim_req *req, sim_resp *resp, const char *supplier, const char *rest,
                          const char *key)
{
    char id[80];
    char action[16];
    sim_order *o;

    if (strcmp(rest, "/v1/orders") == 0) {
        create_order(req, resp, supplier, key);
        return;
    }
    if (sscanf(rest, "/v1/orders/%79[^/]/%15[a-z]", id, action) != 2) {
        sim_resp_error(resp, 404, "NOT_FOUND", "no route POST %s", rest);
        return;
    }
    o = sim_order_find(supplier, id);
    if (o == NULL)
        sim_resp_error(resp, 404, "NOT_FOUND", "no order %s", id);
    else if (strcmp(action, "cancel") == 0)
        cancel_order(resp, o);
    else if (strcmp(action, "payments") == 0)
        pay_order(req, resp, o);
    else if (strcmp(action, "disputes") == 0)
        sim_dispute_open(req, resp, o, key);
    else if (strcmp(action, "refunds") == 0)
        sim_dispute_refund(req, resp, o, key);
    else
        sim_resp_error(resp, 404, "NOT_FOUND", "no route POST %s", rest);
}

/* The stats name of a POST path. */
static const char *route_name(const char *rest)
{
    switch (sim_dispute_kind_of(rest)) {
    case SIM_DK_DISPUTE:
        return "supplier.open_dispute";
    case SIM_DK_REFUND:
        return "supplier.request_refund";
    case SIM_DK_NONE:
        break;
    }
    if (strcmp(rest, "/v1/orders") == 0)
        return "supplier.create_order";
    return strstr(rest, "/cancel") != NULL ? "supplier.cancel_order" : "supplier.pay_order";
}

/* GET /v1/orders/{id}/disputes/{dispute_id}; false when rest is not one. */
static bool get_dispute(sim_resp *resp, const char *supplier, const char *rest)
{
    char id[80];
    char did[80];
    char tail;
    sim_order *o;

    if (sscanf(rest, "/v1/orders/%79[^/]/disputes/%79[^/]%c", id, did, &tail) != 2)
        return false;
    sim_stats_request("supplier.get_dispute");
    o = sim_order_find(supplier, id);
    if (o == NULL)
        sim_resp_error(resp, 404, "NOT_FOUND", "no order %s", id);
    else
        sim_dispute_get(resp, o, did);
    return true;
}

/* Every POST: Idempotency-Key required, replayed or refused as documented. */
static void handle_post(sim_req *req, sim_resp *resp, const char *supplier, const char *rest)
{
    const char *key = sim_req_header(req, "Idempotency-Key");
    char scope[300];
    bool is_create = strcmp(rest, "/v1/orders") == 0;

    if (key == NULL || key[0] == '\0' || strlen(key) > IDEM_KEY_MAX) {
        sim_resp_error(resp, 400, "IDEMPOTENCY_KEY_REQUIRED",
                       "POST needs an Idempotency-Key header (1..255 chars)");
        return;
    }
    if (req->body_invalid || (req->body_len > 0 && !json_is_object(req->json))) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT", "the body must be a JSON object");
        return;
    }
    sim_stats_request(route_name(rest));
    snprintf(scope, sizeof scope, "%s POST %s", supplier, rest);
    switch (sim_idem_lookup(scope, key, req->json, resp)) {
    case SIM_IDEM_REPLAY:
        if (resp->status == 201)
            resp->status = 200;
        if (is_create)
            sim_stats_create(supplier, key, NULL, NULL, false, false, true);
        else
            sim_stats_count("replays");
        sim_dispute_count(sim_dispute_kind_of(rest), key, true);
        return;
    case SIM_IDEM_REUSED:
        sim_stats_count("idempotency_conflicts");
        sim_resp_error(resp, 422, "IDEMPOTENCY_KEY_REUSED",
                       "Idempotency-Key %s was used with another body", key);
        return;
    case SIM_IDEM_NEW:
        break;
    }
    sim_dispute_count(sim_dispute_kind_of(rest), key, false);
    dispatch_post(req, resp, supplier, rest, key);
    sim_idem_remember(scope, key, req->json, resp);
}

/* A return-policy read for a NOPOLICY- SKU: the supplier has none. */
static bool no_policy(const sim_req *req)
{
    const char *sku = sim_req_query(req, "sku");

    return sku != NULL && strncmp(sku, "NOPOLICY-", 9) == 0;
}

/* Route GETs. */
static void handle_get(sim_req *req, sim_resp *resp, const char *supplier, const char *rest)
{
    char id[80];
    char tail;
    sim_order *o;

    if (strcmp(rest, "/v1/offers") == 0) {
        offers(req, resp, supplier);
    } else if (strcmp(rest, "/v1/return-policy") == 0) {
        sim_stats_request("supplier.return_policy");
        if (no_policy(req))
            sim_resp_error(resp, 404, "NOT_FOUND", "no return policy for this SKU");
        else
            sim_resp_set(resp, 200, sim_supplier_return_policy(supplier));
    } else if (get_dispute(resp, supplier, rest)) {
        return;
    } else if (sscanf(rest, "/v1/orders/%79[^/]%c", id, &tail) == 1) {
        o = sim_order_find(supplier, id);
        if (o == NULL)
            sim_resp_error(resp, 404, "NOT_FOUND", "no order %s", id);
        else
            get_order(req, resp, o);
    } else {
        sim_resp_error(resp, 404, "NOT_FOUND", "no route GET %s", rest);
    }
}

void sim_supplier_handle(sim_req *req, sim_resp *resp, const char *supplier, const char *rest)
{
    if (strcmp(req->method, "POST") == 0)
        handle_post(req, resp, supplier, rest);
    else if (strcmp(req->method, "GET") == 0)
        handle_get(req, resp, supplier, rest);
    else
        sim_resp_error(resp, 405, "METHOD_NOT_ALLOWED", "%s is not used by this contract",
                       req->method);
}
