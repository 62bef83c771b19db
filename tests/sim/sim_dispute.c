/* sim_dispute.c - disputes and refund claims of the simulated suppliers. */
#include "sim_dispute.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim_json.h"
#include "sim_stats.h"

enum { MAX_DISPUTES = 4096, MAX_REFUNDS = 4096, REASON_MAX = 4000, EVIDENCE_MAX = 100 };

typedef enum dstatus { D_OPEN, D_RESPONDED, D_ACCEPTED, D_REJECTED, D_REFUNDED } dstatus;

static const char *const dnames[] = {"OPEN", "SUPPLIER_RESPONDED", "ACCEPTED", "REJECTED",
                                     "REFUNDED"};

typedef struct dispute {
    char id[64];
    char order_id[64];
    char supplier[SIM_KEY_MAX + 1];
    char case_ref[SIM_REF_MAX + 1];
    dstatus status;
    dstatus outcome;      /* the final status it will reach */
    long long claim_cents;/* what the disputed lines cost */
    long long refund_cents;
    char refund_tx[80];
    int polls;
    time_t created_at, updated_at;
} dispute;

typedef struct refund {
    char order_id[64];
    char supplier[SIM_KEY_MAX + 1];
    long long cents;
} refund;

static dispute disputes[MAX_DISPUTES];
static int n_disputes;
static refund refunds[MAX_REFUNDS];
static int n_refunds;
static json_t *stats;

static json_t *stats_root(void)
{
    if (stats == NULL)
        stats = json_pack("{s:I,s:I,s:I,s:{},s:{},s:{},s:{}}", "disputes_created", (json_int_t)0,
                          "duplicates", (json_int_t)0, "refunds_created", (json_int_t)0,
                          "disputes_by_idempotency_key", "disputes_by_case_ref",
                          "refunds_by_idempotency_key", "refunds_by_refund_ref");
    return stats;
}

static json_t *child(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(obj, key, v);
    }
    return v;
}

static void bump(json_t *obj, const char *key, long long by)
{
    json_t *v = json_object_get(obj, key);

    json_object_set_new(obj, key, json_integer((json_is_integer(v) ? json_integer_value(v) : 0) + by));
}

/* stats[group][key][field] += 1 */
static void bump_keyed(const char *group, const char *key, const char *field)
{
    json_t *k = child(child(stats_root(), group), key != NULL ? key : "");

    bump(k, field, 1);
}

sim_dispute_kind sim_dispute_kind_of(const char *rest)
{
    char id[80];
    char action[16];
    char tail;

    if (sscanf(rest, "/v1/orders/%79[^/]/%15[a-z]%c", id, action, &tail) != 2)
        return SIM_DK_NONE;
    if (strcmp(action, "disputes") == 0)
        return SIM_DK_DISPUTE;
    return strcmp(action, "refunds") == 0 ? SIM_DK_REFUND : SIM_DK_NONE;
}

void sim_dispute_count(sim_dispute_kind k, const char *key, bool replay)
{
    const char *group = k == SIM_DK_DISPUTE ? "disputes_by_idempotency_key"
                                            : "refunds_by_idempotency_key";

    if (k == SIM_DK_NONE)
        return;
    bump_keyed(group, key, replay ? "replays" : "requests");
    if (replay)
        bump_keyed(group, key, "requests");
}

/* Money refunded on an order so far (disputes and claims). */
static long long refunded_cents(const sim_order *o)
{
    long long sum = 0;

    for (int i = 0; i < n_refunds; i++)
        if (strcmp(refunds[i].order_id, o->id) == 0 && strcmp(refunds[i].supplier, o->supplier) == 0)
            sum += refunds[i].cents;
    return sum;
}

static bool add_refund(const sim_order *o, long long cents)
{
    if (n_refunds >= MAX_REFUNDS)
        return false;
    snprintf(refunds[n_refunds].order_id, sizeof refunds[n_refunds].order_id, "%s", o->id);
    snprintf(refunds[n_refunds].supplier, sizeof refunds[n_refunds].supplier, "%s", o->supplier);
    refunds[n_refunds++].cents = cents;
    return true;
}

/* Unit cost of `sku` in the order, or -1 when the order has no such line. */
static long long unit_cost(const sim_order *o, const char *sku)
{
    size_t i;
    json_t *l;

    json_array_foreach(o->lines, i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "sku")), sku) == 0)
            return json_integer_value(json_object_get(l, "unit_cost_cents"));
    }
    return -1;
}

static bool evidence_ok(const json_t *ev)
{
    size_t i;
    json_t *e;

    if (ev == NULL)
        return true;
    if (!json_is_array(ev) || json_array_size(ev) > EVIDENCE_MAX)
        return false;
    json_array_foreach(ev, i, e)
    {
        const char *sha = simj_str(e, "sha256", 64);
        if (simj_str(e, "uri", 2000) == NULL || sha == NULL || strlen(sha) != 64 ||
            strspn(sha, "0123456789abcdef") != 64)
            return false;
    }
    return true;
}

static bool type_ok(const char *t)
{
    static const char *const types[] = {"RETURN", "EXCHANGE", "NOT_AS_DESCRIBED", "DAMAGED",
                                        "LOST_IN_TRANSIT", "DISPUTE", NULL};

    for (int i = 0; t != NULL && types[i] != NULL; i++)
        if (strcmp(types[i], t) == 0)
            return true;
    return false;
}

/* Outcome and claimed cost from the lines; false (resp set) when a line is
 * not part of the order. */
static bool plan(sim_resp *resp, const sim_order *o, const json_t *lines, dispute *d)
{
    size_t i;
    json_t *l;
    bool reject = false, accept = false;

    json_array_foreach(lines, i, l)
    {
        const char *sku = json_string_value(json_object_get(l, "sku"));
        long long cost = unit_cost(o, sku);
        if (cost < 0) {
            sim_resp_error(resp, 422, "LINE_NOT_IN_ORDER", "lines[%zu]: %s is not in order %s", i,
                           sku, o->id);
            return false;
        }
        d->claim_cents += cost * json_integer_value(json_object_get(l, "quantity"));
        reject = reject || strncmp(sku, "NODISPUTE", 9) == 0;
        accept = accept || strncmp(sku, "DISPACCEPT", 10) == 0;
    }
    d->outcome = reject ? D_REJECTED : accept ? D_ACCEPTED : D_REFUNDED;
    return true;
}

static json_t *dispute_json(const dispute *d)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "dispute_id", d->id, "supplier_order_id",
                          d->order_id, "case_ref", d->case_ref, "status", dnames[d->status],
                          "created_at", simj_time_json(d->created_at), "updated_at",
                          simj_time_json(d->updated_at));
    static const char *const msgs[] = {"", "we are checking the evidence",
                                       "accepted: a replacement will be arranged",
                                       "rejected: the goods left our warehouse in order",
                                       "accepted: refunded"};

    if (d->status != D_OPEN)
        json_object_set_new(j, "message", json_string(msgs[d->status]));
    if (d->status == D_REFUNDED)
        json_object_set_new(j, "refund",
                            json_pack("{s:s,s:o,s:o}", "transaction_id", d->refund_tx, "amount",
                                      simj_money(d->refund_cents), "refunded_at",
                                      simj_time_json(d->updated_at)));
    return j;
}

/* Check the body of an open request; false with resp set. */
static bool open_body_ok(sim_req *req, sim_resp *resp, const char **ref)
{
    json_t *b = req->json;
    sim_order_err err = {0};

    *ref = simj_str(b, "case_ref", SIM_REF_MAX);
    if (*ref == NULL || !type_ok(simj_str(b, "type", 32)) ||
        simj_str(b, "reason", REASON_MAX) == NULL || !evidence_ok(json_object_get(b, "evidence"))) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT",
                       "case_ref (1..128), type, reason (1..4000) and evidence [{uri, sha256}] "
                       "(0..100) required");
        return false;
    }
    if (!sim_order_lines_ok(json_object_get(b, "lines"), &err)) {
        sim_resp_error(resp, err.status, err.code, "%s", err.message);
        return false;
    }
    return true;
}

void sim_dispute_open(sim_req *req, sim_resp *resp, sim_order *o, const char *key)
{
    const char *ref = NULL;
    dispute *d;
    bool dup = false;

    if (!open_body_ok(req, resp, &ref))
        return;
    if (n_disputes >= MAX_DISPUTES) {
        sim_resp_error(resp, 503, "FULL", "too many disputes");
        return;
    }
    d = &disputes[n_disputes];
    memset(d, 0, sizeof *d);
    if (!plan(resp, o, json_object_get(req->json, "lines"), d))
        return;
    for (int i = 0; i < n_disputes; i++)
        dup = dup || strcmp(disputes[i].case_ref, ref) == 0;
    n_disputes++;
    snprintf(d->id, sizeof d->id, "DSP-%s-%06d", o->supplier, n_disputes);
    snprintf(d->order_id, sizeof d->order_id, "%s", o->id);
    snprintf(d->supplier, sizeof d->supplier, "%s", o->supplier);
    snprintf(d->case_ref, sizeof d->case_ref, "%s", ref);
    d->created_at = d->updated_at = time(NULL);
    bump(stats_root(), "disputes_created", 1);
    bump(stats_root(), "duplicates", dup ? 1 : 0);
    bump_keyed("disputes_by_idempotency_key", key, "created");
    bump_keyed("disputes_by_case_ref", ref, "created");
    sim_stats_count("disputes_created");
    sim_resp_set(resp, 201, dispute_json(d));
}

/* One read: OPEN -> SUPPLIER_RESPONDED -> the outcome. */
static void advance(dispute *d, sim_order *o)
{
    d->polls++;
    if (d->status != D_OPEN && d->status != D_RESPONDED)
        return;
    d->status = d->polls == 1 ? D_RESPONDED : d->outcome;
    d->updated_at = time(NULL);
    if (d->status == D_REFUNDED) {
        long long left = (o->paid ? o->paid_cents : o->total_cents) - refunded_cents(o);
        d->refund_cents = d->claim_cents < left ? d->claim_cents : (left > 0 ? left : 0);
        if (snprintf(d->refund_tx, sizeof d->refund_tx, "RF-%s", d->id) < 0)
            d->refund_tx[0] = '\0'; /* "RF-" + an id of < 64 bytes always fits */
        add_refund(o, d->refund_cents);
        sim_stats_count("dispute_refunds");
    }
}

void sim_dispute_get(sim_resp *resp, sim_order *o, const char *dispute_id)
{
    for (int i = 0; i < n_disputes; i++) {
        dispute *d = &disputes[i];
        if (strcmp(d->id, dispute_id) == 0 && strcmp(d->order_id, o->id) == 0 &&
            strcmp(d->supplier, o->supplier) == 0) {
            advance(d, o);
            sim_resp_set(resp, 200, dispute_json(d));
            return;
        }
    }
    sim_resp_error(resp, 404, "NOT_FOUND", "no dispute %s on order %s", dispute_id, o->id);
}

void sim_dispute_refund(sim_req *req, sim_resp *resp, sim_order *o, const char *key)
{
    const char *ref = simj_str(req->json, "refund_ref", SIM_REF_MAX);
    long long cents = 0, left;
    char tx[64];

    if (ref == NULL || !simj_money_cents(json_object_get(req->json, "amount"), &cents) ||
        cents <= 0) {
        sim_resp_error(resp, 400, "INVALID_ARGUMENT", "refund_ref and amount (USD, > 0) required");
        return;
    }
    if (!o->paid) {
        sim_resp_error(resp, 409, "NOT_PAID", "order %s is not paid", o->id);
        return;
    }
    left = o->paid_cents - refunded_cents(o);
    if (cents > left) {
        sim_resp_error(resp, 422, "AMOUNT_EXCEEDS_PAID", "order %s: %lld cents left to refund",
                       o->id, left);
        return;
    }
    if (!add_refund(o, cents)) {
        sim_resp_error(resp, 503, "FULL", "too many refunds");
        return;
    }
    snprintf(tx, sizeof tx, "RF-%s-%06d", o->supplier, n_refunds);
    bump(stats_root(), "refunds_created", 1);
    bump_keyed("refunds_by_idempotency_key", key, "created");
    bump_keyed("refunds_by_refund_ref", ref, "created");
    sim_stats_count("supplier_refunds");
    sim_resp_set(resp, 201, json_pack("{s:s,s:s,s:s,s:o,s:o}", "transaction_id", tx,
                                      "supplier_order_id", o->id, "refund_ref", ref, "amount",
                                      simj_money(cents), "refunded_at", simj_time_json(time(NULL))));
}

json_t *sim_dispute_stats(void)
{
    json_t *j = json_deep_copy(stats_root());
    json_t *list = json_array();

    for (int i = 0; i < n_disputes; i++)
        json_array_append_new(list, dispute_json(&disputes[i]));
    json_object_set_new(j, "disputes", list);
    return j;
}

void sim_dispute_reset(void)
{
    n_disputes = 0;
    n_refunds = 0;
    json_decref(stats);
    stats = NULL;
}
