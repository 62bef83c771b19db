/* sim_order.c - the simulated suppliers' order book and its state machine. */
#include "sim_order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_config.h"
#include "sim_json.h"
#include "sim_sku.h"

enum { MAX_ORDERS = 100000 };

static sim_order **orders;
static size_t n_orders, cap_orders;
static json_t *by_id;       /* "supplier\nid" -> position */
static json_t *by_ref;      /* "supplier\nref" -> position of the latest */
static json_t *seqs;        /* "orders\nsupplier" / "tx\nsupplier" -> last number */
static json_t *offer_reads; /* "supplier\nsku" -> reads */

static const char *const state_names[] = {"ACCEPTED",          "PAID",    "PROCESSING",
                                          "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED"};

bool sim_supplier_key_ok(const char *key)
{
    size_t n = strlen(key);

    if (n == 0 || n > SIM_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* Next number of sequence kind/supplier. */
static long long next_seq(const char *kind, const char *supplier)
{
    char k[80];
    long long n;

    snprintf(k, sizeof k, "%s\n%s", kind, supplier);
    if (seqs == NULL)
        seqs = json_object();
    n = json_integer_value(json_object_get(seqs, k)) + 1;
    json_object_set_new(seqs, k, json_integer(n));
    return n;
}

static void fail(sim_order_err *err, int status, const char *code, const char *msg)
{
    err->status = status;
    err->code = code;
    snprintf(err->message, sizeof err->message, "%s", msg);
}

bool sim_order_lines_ok(const json_t *lines, sim_order_err *err)
{
    size_t i;
    json_t *l;
    long long q;

    if (!json_is_array(lines) || json_array_size(lines) == 0 ||
        json_array_size(lines) > SIM_MAX_LINES) {
        fail(err, 400, "INVALID_ARGUMENT", "lines: 1..100 lines required");
        return false;
    }
    json_array_foreach(lines, i, l)
    {
        if (simj_str(l, "sku", 64) == NULL || !simj_int(l, "quantity", 1, 10000, &q)) {
            fail(err, 400, "INVALID_ARGUMENT",
                 "lines: each needs sku (1..64 chars) and quantity 1..10000");
            snprintf(err->message, sizeof err->message,
                     "lines[%zu]: sku (1..64 chars) and quantity (1..10000) required", i);
            return false;
        }
    }
    return true;
}

/* Refuse the order when a line's SKU is out of stock or rejected. */
static bool stock_ok(const json_t *lines, sim_order_err *err)
{
    size_t i;
    json_t *l;
    sim_sku_rule r;

    json_array_foreach(lines, i, l)
    {
        const char *sku = json_string_value(json_object_get(l, "sku"));
        sim_sku_rule_get(sku, &r);
        if (r.reject) {
            fail(err, 422, "REJECTED", "");
            snprintf(err->message, sizeof err->message, "sku %s: the supplier refuses this order",
                     sku);
            return false;
        }
        if (json_integer_value(json_object_get(l, "quantity")) > r.stock) {
            fail(err, 422, "OUT_OF_STOCK", "");
            snprintf(err->message, sizeof err->message, "sku %s: %d in stock", sku, r.stock);
            return false;
        }
    }
    return true;
}

/* Plan parcels: SPLIT lines alone, every other line together. */
static json_t *plan_groups(const json_t *lines)
{
    json_t *groups = json_array();
    json_t *rest = json_array();
    size_t i;
    json_t *l;
    sim_sku_rule r;

    json_array_foreach(lines, i, l)
    {
        sim_sku_rule_get(json_string_value(json_object_get(l, "sku")), &r);
        if (r.split)
            json_array_append_new(groups, json_pack("[I]", (json_int_t)i));
        else
            json_array_append_new(rest, json_integer((json_int_t)i));
    }
    if (json_array_size(rest) > 0)
        json_array_insert_new(groups, 0, rest);
    else
        json_decref(rest);
    return groups;
}

/* Priced copy of the lines; sets *total. */
static json_t *price_lines(const char *supplier, const json_t *lines, long long *total)
{
    json_t *out = json_array();
    size_t i;
    json_t *l;

    *total = 0;
    json_array_foreach(lines, i, l)
    {
        const char *sku = json_string_value(json_object_get(l, "sku"));
        long long q = json_integer_value(json_object_get(l, "quantity"));
        long long c = sim_offer_cost(supplier, sku, false);
        json_array_append_new(out, json_pack("{s:s,s:I,s:I}", "sku", sku, "quantity", (json_int_t)q,
                                             "unit_cost_cents", (json_int_t)c));
        *total += c * q;
    }
    return out;
}

/* Add o to the book and its indexes; false when full. */
static bool book_add(sim_order *o)
{
    char k[SIM_KEY_MAX + SIM_REF_MAX + 8];

    if (n_orders == cap_orders) {
        if (cap_orders >= MAX_ORDERS)
            return false;
        cap_orders = cap_orders == 0 ? 64 : cap_orders * 2;
        orders = realloc(orders, cap_orders * sizeof *orders);
        if (orders == NULL)
            abort();
    }
    if (by_id == NULL) {
        by_id = json_object();
        by_ref = json_object();
    }
    snprintf(k, sizeof k, "%s\n%s", o->supplier, o->id);
    json_object_set_new(by_id, k, json_integer((json_int_t)n_orders));
    snprintf(k, sizeof k, "%s\n%s", o->supplier, o->order_ref);
    json_object_set_new(by_ref, k, json_integer((json_int_t)n_orders));
    orders[n_orders++] = o;
    return true;
}

sim_order *sim_order_create(const char *supplier, const char *order_ref, const json_t *lines,
                            const json_t *ship_to, bool needs_payment, time_t now, bool *duplicate,
                            sim_order_err *err)
{
    sim_order *o;

    *duplicate = sim_order_find_ref(supplier, order_ref) != NULL;
    if (!stock_ok(lines, err))
        return NULL;
    if (n_orders >= MAX_ORDERS) {
        fail(err, 503, "CAPACITY", "the simulator holds too many orders; POST /_sim/reset");
        return NULL;
    }
    o = calloc(1, sizeof *o);
    if (o == NULL)
        abort();
    snprintf(o->supplier, sizeof o->supplier, "%s", supplier);
    snprintf(o->order_ref, sizeof o->order_ref, "%s", order_ref);
    snprintf(o->id, sizeof o->id, "SO-%s-%06lld", supplier, next_seq("orders", supplier));
    o->lines = price_lines(supplier, lines, &o->total_cents);
    o->ship_to = ship_to != NULL ? json_deep_copy(ship_to) : json_object();
    o->groups = plan_groups(lines);
    o->needs_payment = needs_payment;
    o->created_at = o->updated_at = now;
    o->eligible_mono = simj_mono();
    book_add(o);
    err->status = 201;
    return o;
}

/* Look an order up in index idx under supplier + k. */
static sim_order *lookup(json_t *idx, const char *supplier, const char *k2)
{
    char k[SIM_KEY_MAX + SIM_REF_MAX + 8];
    json_t *v;

    snprintf(k, sizeof k, "%s\n%s", supplier, k2);
    v = json_object_get(idx, k);
    return json_is_integer(v) ? orders[json_integer_value(v)] : NULL;
}

sim_order *sim_order_find(const char *supplier, const char *id)
{
    return lookup(by_id, supplier, id);
}

sim_order *sim_order_find_ref(const char *supplier, const char *order_ref)
{
    return lookup(by_ref, supplier, order_ref);
}

/* Ship parcel number o->n_parcels; false when the carrier is full. */
static bool ship_next(sim_order *o, time_t now)
{
    json_t *group = json_array_get(o->groups, (size_t)o->n_parcels);
    json_t *lines = json_array();
    size_t i;
    json_t *idx;

    json_array_foreach(group, i, idx)
    {
        json_t *l = json_array_get(o->lines, (size_t)json_integer_value(idx));
        json_array_append_new(lines, json_pack("{s:O,s:O}", "sku", json_object_get(l, "sku"),
                                               "quantity", json_object_get(l, "quantity")));
    }
    o->parcels[o->n_parcels] = sim_track_create(o->id, lines, now);
    if (o->parcels[o->n_parcels] == NULL)
        return false;
    o->n_parcels++;
    return true;
}

/* Steps the order has made: counted polls or scaled time, the larger. */
static long long steps_now(const sim_order *o, time_t now)
{
    long long t;

    if (sim_cfg.time_scale <= 0)
        return o->steps;
    t = (long long)((simj_mono() - o->eligible_mono) * sim_cfg.time_scale / SIM_STEP_SECONDS);
    return t > o->steps ? t : o->steps;
}

void sim_order_poll(sim_order *o, time_t now)
{
    long long steps;
    int n_groups = (int)json_array_size(o->groups);

    if (o->state == SIM_OS_CANCELLED || (o->needs_payment && !o->paid))
        return;
    o->steps++;
    steps = steps_now(o, now);
    if (steps >= 1 && o->state < SIM_OS_PROCESSING) {
        o->state = SIM_OS_PROCESSING;
        o->updated_at = now;
    }
    while (o->n_parcels < n_groups && steps >= sim_cfg.ship_polls + o->n_parcels) {
        if (!ship_next(o, now))
            break;
        o->state = o->n_parcels < n_groups ? SIM_OS_PARTIAL : SIM_OS_SHIPPED;
        o->updated_at = now;
    }
}

const char *sim_order_status(const sim_order *o)
{
    return state_names[o->state];
}

int sim_order_cancel(sim_order *o, time_t now)
{
    if (o->state == SIM_OS_CANCELLED)
        return 200;
    if (o->n_parcels > 0)
        return 409;
    o->state = SIM_OS_CANCELLED;
    o->updated_at = now;
    return 200;
}

int sim_order_pay(sim_order *o, long long cents, time_t now, const char **code)
{
    if (o->state == SIM_OS_CANCELLED) {
        *code = "ORDER_CANCELLED";
        return 409;
    }
    if (o->paid) {
        *code = "ALREADY_PAID";
        return 409;
    }
    if (cents != o->total_cents) {
        *code = "AMOUNT_MISMATCH";
        return 422;
    }
    o->paid = true;
    o->paid_cents = cents;
    o->paid_at = o->updated_at = now;
    if (o->needs_payment)
        o->eligible_mono = simj_mono();
    if (o->state == SIM_OS_ACCEPTED)
        o->state = SIM_OS_PAID;
    snprintf(o->transaction_id, sizeof o->transaction_id, "TX-%s-%06lld", o->supplier,
             next_seq("tx", o->supplier));
    return 201;
}

long long sim_offer_cost(const char *supplier, const char *sku, bool count_read)
{
    char k[SIM_KEY_MAX + 80];
    sim_sku_rule r;
    long long reads;

    sim_sku_rule_get(sku, &r);
    snprintf(k, sizeof k, "%s\n%s", supplier, sku);
    if (offer_reads == NULL)
        offer_reads = json_object();
    reads = json_integer_value(json_object_get(offer_reads, k));
    if (count_read)
        json_object_set_new(offer_reads, k, json_integer(reads + 1));
    return reads > 0 ? r.raised_cents : r.cost_cents;
}

/* One parcel of the contract JSON. */
static json_t *parcel_json(const sim_parcel *p)
{
    return json_pack("{s:s,s:s,s:o,s:O}", "carrier", p->carrier, "tracking_number", p->number,
                     "shipped_at", simj_time_json(p->shipped_at), "lines", p->lines);
}

/* Lines of the contract JSON (unit_cost as Money). */
static json_t *lines_json(const sim_order *o)
{
    json_t *out = json_array();
    size_t i;
    json_t *l;

    json_array_foreach(o->lines, i, l)
    {
        json_array_append_new(
            out, json_pack("{s:O,s:O,s:o}", "sku", json_object_get(l, "sku"), "quantity",
                           json_object_get(l, "quantity"), "unit_cost",
                           simj_money(json_integer_value(json_object_get(l, "unit_cost_cents")))));
    }
    return out;
}

json_t *sim_order_json(const sim_order *o, bool dup)
{
    json_t *parcels = json_array();

    for (int i = 0; i < o->n_parcels; i++) {
        json_array_append_new(parcels, parcel_json(o->parcels[i]));
        if (dup)
            json_array_append_new(parcels, parcel_json(o->parcels[i]));
    }
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:o,s:o,s:o}", "supplier_order_id", o->id,
                     "order_ref", o->order_ref, "status", sim_order_status(o), "total_cost",
                     simj_money(o->total_cents), "lines", lines_json(o), "paid", o->paid, "parcels",
                     parcels, "created_at", simj_time_json(o->created_at), "updated_at",
                     simj_time_json(o->updated_at));
}

void sim_order_reset(void)
{
    for (size_t i = 0; i < n_orders; i++) {
        json_decref(orders[i]->lines);
        json_decref(orders[i]->ship_to);
        json_decref(orders[i]->groups);
        free(orders[i]);
    }
    free(orders);
    orders = NULL;
    n_orders = cap_orders = 0;
    json_decref(by_id);
    json_decref(by_ref);
    json_decref(seqs);
    json_decref(offer_reads);
    by_id = by_ref = seqs = offer_reads = NULL;
}
