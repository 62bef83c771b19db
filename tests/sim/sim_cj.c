/* sim_cj.c - CJdropshipping-shaped order and logistics endpoints. */
#include "sim_cj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_json.h"
#include "sim_order.h"
#include "sim_route.h"
#include "sim_stats.h"

enum {
    CJ_OK = 200,
    CJ_AUTH = 1600001,        /* bad or missing CJ-Access-Token */
    CJ_PARAM = 1600100,       /* malformed request */
    CJ_NUMBER_USED = 1603001, /* orderNumber reused with another content */
    CJ_STOCK = 1603100,       /* out of stock */
    CJ_REJECTED = 1603101,    /* refused */
    CJ_NOT_FOUND = 1604001,   /* unknown orderId */
    CJ_STATE = 1605001        /* not allowed in the order's state */
};

static unsigned long long request_seq;

/* The CJ envelope; takes ownership of data (may be NULL). */
static void envelope(sim_resp *resp, int code, const char *message, json_t *data)
{
    char rid[40];

    snprintf(rid, sizeof rid, "sim-%08llu", ++request_seq);
    sim_resp_set(resp, code == CJ_AUTH ? 401 : 200,
                 json_pack("{s:i,s:b,s:s,s:o,s:s}", "code", code, "result", code == CJ_OK,
                           "message", message, "data", data ? data : json_null(), "requestId",
                           rid));
}

/* CJ's time text "2026-11-22 08:15:00" or null. */
static json_t *cj_time(time_t t)
{
    char buf[SIM_TIME_LEN];
    struct tm tm;

    if (t == 0)
        return json_null();
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return json_string(buf);
}

/* CJ orderStatus of an order. */
static const char *cj_status(const sim_order *o)
{
    int delivered = 0;

    if (o->state == SIM_OS_CANCELLED)
        return "CANCELLED";
    if (!o->paid)
        return o->confirmed ? "UNPAID" : "CREATED";
    if (o->n_parcels == 0)
        return "UNSHIPPED";
    for (int i = 0; i < o->n_parcels; i++)
        delivered += strcmp(sim_track_status(o->parcels[i]), "DELIVERED") == 0;
    return delivered == o->n_parcels && o->state == SIM_OS_SHIPPED ? "DELIVERED" : "SHIPPED";
}

/* products [{vid, quantity}] -> lines [{sku, quantity}]; NULL if malformed. */
static json_t *cj_lines(const json_t *products)
{
    json_t *lines = json_array();
    size_t i;
    json_t *p;

    json_array_foreach(products, i, p)
    {
        json_t *q = json_object_get(p, "quantity");
        long long n = json_is_integer(q)  ? json_integer_value(q)
                      : json_is_string(q) ? strtoll(json_string_value(q), NULL, 10)
                                          : 0;
        const char *vid = simj_str(p, "vid", 64);
        if (vid == NULL)
            break;
        json_array_append_new(lines, json_pack("{s:s,s:I}", "sku", vid, "quantity", (json_int_t)n));
    }
    if (!json_is_array(products) || json_array_size(lines) != json_array_size(products)) {
        json_decref(lines);
        return NULL;
    }
    return lines;
}

/* Address fields of a createOrderV2 body in the contract's ship_to shape. */
static json_t *cj_ship_to(const json_t *b)
{
    static const char *const map[][2] = {{"shippingCustomerName", "recipient_name"},
                                         {"shippingPhone", "phone"},
                                         {"shippingCountryCode", "country_code"},
                                         {"shippingProvince", "region"},
                                         {"shippingCity", "city"},
                                         {"shippingAddress", "street"},
                                         {"shippingZip", "postal_code"}};
    json_t *s = json_object();

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = simj_str(b, map[i][0], 200);
        json_object_set_new(s, map[i][1], json_string(v ? v : ""));
    }
    return s;
}

/* The data object of createOrderV2. */
static json_t *create_data(const sim_order *o, const char *order_number)
{
    json_t *items = json_array();
    size_t i;
    json_t *l;

    json_array_foreach(o->lines, i, l)
    {
        long long c = json_integer_value(json_object_get(l, "unit_cost_cents"));
        long long q = json_integer_value(json_object_get(l, "quantity"));
        char line_id[96];
        snprintf(line_id, sizeof line_id, "%s-%zu", o->id, i + 1);
        json_array_append_new(items, json_pack("{s:s,s:O,s:I,s:o}", "lineItemId", line_id,
                                               "variantId", json_object_get(l, "sku"), "quantity",
                                               (json_int_t)q, "subTotal", simj_dollars(c * q)));
    }
    return json_pack("{s:s,s:s,s:n,s:s,s:o,s:o,s:o,s:o}", "orderId", o->id, "orderNumber",
                     order_number, "shipmentOrderId", "orderStatus", cj_status(o), "productAmount",
                     simj_dollars(o->total_cents), "postageAmount", simj_dollars(0), "orderAmount",
                     simj_dollars(o->total_cents), "productInfoList", items);
}

/* Place the order for a checked body. */
static void create_new(sim_req *req, sim_resp *resp, const char *number, json_t *lines)
{
    json_t *pt = json_object_get(req->json, "payType");
    long long pay_type = json_is_integer(pt)  ? json_integer_value(pt)
                         : json_is_string(pt) ? strtoll(json_string_value(pt), NULL, 10)
                                              : 1;
    sim_order_err err = {0};
    json_t *ship_to = cj_ship_to(req->json);
    bool dup = false;
    const char *code = NULL;
    sim_order *o =
        sim_order_create(SIM_CJ_SUPPLIER, number, lines, ship_to, true, time(NULL), &dup, &err);

    json_decref(ship_to);
    sim_stats_create(SIM_CJ_SUPPLIER, NULL, number, o ? o->id : NULL, o != NULL, false, false);
    if (o == NULL) {
        envelope(resp, err.code && strcmp(err.code, "OUT_OF_STOCK") == 0 ? CJ_STOCK : CJ_REJECTED,
                 err.message, NULL);
        return;
    }
    if (pay_type == 2) {
        o->confirmed = true;
        sim_order_pay(o, o->total_cents, time(NULL), &code);
        sim_stats_count("payments");
    }
    envelope(resp, CJ_OK, "Success", create_data(o, number));
}

/* Do the order's lines hold the same SKUs and quantities as `lines`? */
static bool same_lines(const json_t *order_lines, const json_t *lines)
{
    size_t i;
    json_t *l;

    if (json_array_size(order_lines) != json_array_size(lines))
        return false;
    json_array_foreach(lines, i, l)
    {
        json_t *o = json_array_get(order_lines, i);
        if (!json_equal(json_object_get(o, "sku"), json_object_get(l, "sku")) ||
            !json_equal(json_object_get(o, "quantity"), json_object_get(l, "quantity")))
            return false;
    }
    return true;
}

/* POST shopping/order/createOrderV2: orderNumber is the idempotency key. */
static void create_order(sim_req *req, sim_resp *resp)
{
    const char *number = simj_str(req->json, "orderNumber", 50);
    json_t *lines = cj_lines(json_object_get(req->json, "products"));
    sim_order_err err = {0};
    sim_order *prev;

    sim_stats_request("cj.createOrderV2");
    if (number == NULL || lines == NULL || !sim_order_lines_ok(lines, &err)) {
        envelope(resp, CJ_PARAM,
                 number == NULL ? "orderNumber is required"
                                : "products: vid and quantity 1..10000 required",
                 NULL);
        goto out;
    }
    prev = sim_order_find_ref(SIM_CJ_SUPPLIER, number);
    if (prev != NULL) {
        bool same = same_lines(prev->lines, lines);
        sim_stats_create(SIM_CJ_SUPPLIER, NULL, number, NULL, false, false, same);
        if (same)
            envelope(resp, CJ_OK, "Success", create_data(prev, number));
        else
            envelope(resp, CJ_NUMBER_USED, "orderNumber already used for another order", NULL);
        goto out;
    }
    create_new(req, resp, number, lines);
out:
    json_decref(lines);
}

/* The order named by body orderId or query orderId, or an error answer. */
static sim_order *find_order(sim_req *req, sim_resp *resp)
{
    const char *id = simj_str(req->json, "orderId", 64);
    sim_order *o;

    if (id == NULL)
        id = sim_req_query(req, "orderId");
    o = id != NULL ? sim_order_find(SIM_CJ_SUPPLIER, id) : NULL;
    if (o == NULL)
        envelope(resp, id == NULL ? CJ_PARAM : CJ_NOT_FOUND,
                 id == NULL ? "orderId is required" : "order not found", NULL);
    return o;
}

/* Comma-separated tracking numbers of an order, or null. */
static json_t *track_numbers(const sim_order *o)
{
    char buf[1024] = "";
    size_t used = 0;

    for (int i = 0; i < o->n_parcels && used < sizeof buf; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? "," : "",
                                 o->parcels[i]->number);
    return o->n_parcels > 0 ? json_string(buf) : json_null();
}

/* GET shopping/order/getOrderDetail?orderId= */
static void order_detail(sim_req *req, sim_resp *resp)
{
    sim_order *o;
    json_t *products = json_array();
    size_t i;
    json_t *l;

    sim_stats_request("cj.getOrderDetail");
    o = find_order(req, resp);
    if (o == NULL) {
        json_decref(products);
        return;
    }
    sim_order_poll(o, time(NULL));
    json_array_foreach(o->lines, i, l)
    {
        json_array_append_new(
            products,
            json_pack("{s:O,s:O,s:o}", "vid", json_object_get(l, "sku"), "quantity",
                      json_object_get(l, "quantity"), "sellPrice",
                      simj_dollars(json_integer_value(json_object_get(l, "unit_cost_cents")))));
    }
    envelope(resp, CJ_OK, "Success",
             json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:O,s:o,s:o,s:o,s:o,s:o}", "orderId", o->id,
                       "orderNum", o->order_ref, "cjOrderId", o->id, "orderStatus", cj_status(o),
                       "trackNumber", track_numbers(o), "logisticName", "SimPost",
                       "shippingCountryCode", json_object_get(o->ship_to, "country_code"),
                       "orderAmount", simj_dollars(o->total_cents), "productAmount",
                       simj_dollars(o->total_cents), "createDate", cj_time(o->created_at),
                       "paymentDate", cj_time(o->paid_at), "productList", products));
}

/* PATCH shopping/order/confirmOrder {orderId} */
static void confirm_order(sim_req *req, sim_resp *resp)
{
    sim_order *o;

    sim_stats_request("cj.confirmOrder");
    o = find_order(req, resp);
    if (o == NULL)
        return;
    if (o->state == SIM_OS_CANCELLED) {
        envelope(resp, CJ_STATE, "order is cancelled", NULL);
        return;
    }
    o->confirmed = true;
    envelope(resp, CJ_OK, "Success", json_string(o->id));
}

/* POST shopping/pay/payBalance {orderId} */
static void pay_balance(sim_req *req, sim_resp *resp)
{
    sim_order *o;
    const char *code = NULL;

    sim_stats_request("cj.payBalance");
    o = find_order(req, resp);
    if (o == NULL)
        return;
    if (o->paid) {
        envelope(resp, CJ_OK, "Success", NULL);
        return;
    }
    if (!o->confirmed || sim_order_pay(o, o->total_cents, time(NULL), &code) != 201) {
        envelope(resp, CJ_STATE, o->confirmed ? "order cannot be paid" : "confirm the order first",
                 NULL);
        return;
    }
    sim_stats_count("payments");
    envelope(resp, CJ_OK, "Success", NULL);
}

/* DELETE shopping/order/deleteOrder?orderId= (only unpaid orders) */
static void delete_order(sim_req *req, sim_resp *resp)
{
    sim_order *o;

    sim_stats_request("cj.deleteOrder");
    o = find_order(req, resp);
    if (o == NULL)
        return;
    if (o->paid || sim_order_cancel(o, time(NULL)) != 200) {
        envelope(resp, CJ_STATE, "only unpaid orders can be deleted", NULL);
        return;
    }
    sim_stats_count("cancels");
    envelope(resp, CJ_OK, "Success", json_string(o->id));
}

/* One entry of logistic/trackInfo. */
static json_t *track_entry(sim_parcel *p)
{
    const sim_stage_info *in;

    sim_track_poll(p, time(NULL));
    in = p->stage >= 0 ? sim_stage_info_get(p->path[p->stage]) : NULL;
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:o,s:s,s:s,s:s}", "trackingNumber", p->number,
                     "logisticName", "SimPost", "trackingFrom", "CN", "trackingTo", "",
                     "deliveryDay", p->deliver_polls, "deliveryTime",
                     in && strcmp(in->status, "DELIVERED") == 0 ? cj_time(p->reached[p->stage])
                                                                : json_null(),
                     "trackingStatus", in ? in->cj : "Not found", "lastMileCarrier", "SimPost",
                     "lastTrackNumber", p->number);
}

/* GET logistic/trackInfo?trackNumber=A&trackNumber=B */
static void track_info(sim_req *req, sim_resp *resp)
{
    const char *numbers[20];
    size_t n = sim_req_query_all(req, "trackNumber", numbers, 20);
    json_t *data;

    sim_stats_request("cj.trackInfo");
    if (n == 0 || n > 20) {
        envelope(resp, CJ_PARAM, "1..20 trackNumber parameters", NULL);
        return;
    }
    data = json_array();
    for (size_t i = 0; i < n; i++) {
        sim_parcel *p = sim_track_find(NULL, numbers[i]);
        if (p != NULL)
            json_array_append_new(data, track_entry(p));
    }
    envelope(resp, CJ_OK, "Success", data);
}

void sim_cj_handle(sim_req *req, sim_resp *resp, const char *rest)
{
    bool post = strcmp(req->method, "POST") == 0;

    if (!sim_token_ok(sim_req_header(req, "CJ-Access-Token")))
        envelope(resp, CJ_AUTH, "Invalid API key or access token", NULL);
    else if (req->body_invalid)
        envelope(resp, CJ_PARAM, "body is not JSON", NULL);
    else if (post && strcmp(rest, "shopping/order/createOrderV2") == 0)
        create_order(req, resp);
    else if ((post || strcmp(req->method, "PATCH") == 0) &&
             strcmp(rest, "shopping/order/confirmOrder") == 0)
        confirm_order(req, resp);
    else if (post && strcmp(rest, "shopping/pay/payBalance") == 0)
        pay_balance(req, resp);
    else if (strcmp(req->method, "GET") == 0 && strcmp(rest, "shopping/order/getOrderDetail") == 0)
        order_detail(req, resp);
    else if (strcmp(req->method, "DELETE") == 0 && strcmp(rest, "shopping/order/deleteOrder") == 0)
        delete_order(req, resp);
    else if (strcmp(req->method, "GET") == 0 && strcmp(rest, "logistic/trackInfo") == 0)
        track_info(req, resp);
    else
        sim_resp_error(resp, 404, "NOT_FOUND", "no route %s %s", req->method, rest);
}
