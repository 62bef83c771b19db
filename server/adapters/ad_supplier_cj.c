/* ad_supplier_cj.c - a supplier adapter for CJdropshipping API 2.0-shaped
 * APIs: createOrderV2, getOrderDetail, deleteOrder, confirmOrder +
 * payBalance. Token in the `CJ-Access-Token` header; answers are
 * {"code":200,"result":true,"message","data"}. CJ has no Idempotency-Key:
 * `orderNumber` (our order_ref) makes a create idempotent. Amounts are USD
 * decimal numbers; times "YYYY-MM-DD hh:mm:ss", read as UTC.
 * Offers and return policies are not part of this API shape. */
#include "ad_supplier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CJ envelope codes -> classification (data, one screen). */
typedef struct cj_code {
    long code;
    ds_status status;
    bool retryable;
    const char *name; /* our vendor code */
} cj_code;

static const cj_code cj_codes[] = {
    {1600001, DS_ERR_UNAUTHENTICATED, false, "UNAUTHENTICATED"},
    {1600100, DS_ERR_INVALID, false, "INVALID_ARGUMENT"},
    {1600200, DS_ERR_RESOURCE_EXHAUSTED, true, "RATE_LIMITED"},
    {1603001, DS_ERR_ALREADY_EXISTS, false, "DUPLICATE_ORDER_REF"},
    {1603100, DS_ERR_FAILED_PRECONDITION, false, "OUT_OF_STOCK"},
    {1603101, DS_ERR_FAILED_PRECONDITION, false, "REJECTED"},
    {1604001, DS_ERR_NOT_FOUND, false, "NOT_FOUND"},
    {1605001, DS_ERR_FAILED_PRECONDITION, false, "WRONG_STATE"},
};

enum { CJ_OK = 200, CJ_WRONG_STATE = 1605001 };

/* Check HTTP and envelope; *data gets the "data" member (borrowed from
 * *root, which the caller frees). Returns false after ending the op. */
static bool cj_open(ad_op *op, const ad_response *resp, json_t **root, json_t **data)
{
    long code;
    char path[120];
    const char *msg;

    *root = NULL;
    op->result.http_status = resp->result.http_status;
    if (resp->result.status != DS_OK) {
        op->result = resp->result;
        return false;
    }
    *root = ad_op_parse(op, resp);
    if (*root == NULL)
        return false;
    code = (long)json_integer_value(json_object_get(*root, "code"));
    *data = json_object_get(*root, "data");
    if (code == CJ_OK)
        return true;
    ad_url_path(resp->url, path, sizeof path);
    msg = json_string_value(json_object_get(*root, "message"));
    op->result.http_status = resp->result.http_status;
    for (size_t i = 0; i < sizeof cj_codes / sizeof cj_codes[0]; i++) {
        if (cj_codes[i].code == code) {
            snprintf(op->result.code, sizeof op->result.code, "%s", cj_codes[i].name);
            ad_op_fail(op, cj_codes[i].status, cj_codes[i].retryable, "%s %s: CJ code %ld %s: %.200s",
                       resp->method, path, code, cj_codes[i].name, msg ? msg : "");
            return false;
        }
    }
    snprintf(op->result.code, sizeof op->result.code, "%ld", code);
    ad_op_fail(op, DS_ERR_INTERNAL, false, "%s %s: unknown CJ code %ld: %.200s", resp->method, path,
               code, msg ? msg : "");
    return false;
}

/* CJ amount (number or decimal string) -> USD money. */
static ds_status cj_amount(const json_t *obj, const char *key, ad_money *out, ds_error *err)
{
    json_t *v = json_object_get(obj, key);
    double d;
    char *end = NULL;

    if (json_is_number(v))
        d = json_number_value(v);
    else if (json_is_string(v))
        d = strtod(json_string_value(v), &end);
    else
        return ds_error_set(err, DS_ERR_INTERNAL, "data.%s: expected an amount", key);
    if ((end != NULL && (*end != '\0' || end == json_string_value(v))) || !ad_money_from_decimal(d, "USD", out))
        return ds_error_set(err, DS_ERR_INTERNAL, "data.%s: expected an amount", key);
    return DS_OK;
}

/* CJ time "2026-11-22 08:15:00" (UTC) or null -> ms (0). */
static ds_status cj_time(const json_t *obj, const char *key, int64_t *ms, ds_error *err)
{
    json_t *v = json_object_get(obj, key);
    char buf[40];

    *ms = 0;
    if (v == NULL || json_is_null(v))
        return DS_OK;
    if (!json_is_string(v) || json_string_length(v) > 30)
        return ds_error_set(err, DS_ERR_INTERNAL, "data.%s: expected a time", key);
    snprintf(buf, sizeof buf, "%s%s", json_string_value(v),
             strpbrk(json_string_value(v), "Zz+") != NULL ? "" : "Z");
    if (!ad_time_parse_rfc3339(buf, ms))
        return ds_error_set(err, DS_ERR_INTERNAL, "data.%s: expected a time", key);
    return DS_OK;
}

static json_t *create_body(const ad_create_order_in *in)
{
    const ad_address *a = in->ship_to;
    json_t *products = json_array();

    for (size_t i = 0; products != NULL && i < in->n_lines; i++)
        json_array_append_new(products, json_pack("{s:s,s:I}", "vid", in->lines[i].sku, "quantity",
                                                  (json_int_t)in->lines[i].quantity));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:o}", "orderNumber", in->order_ref,
                     "shippingCountryCode", a->country_code, "shippingProvince", a->region,
                     "shippingCity", a->city, "shippingAddress", a->street, "shippingCustomerName",
                     a->recipient_name, "shippingPhone", a->phone, "shippingZip", a->postal_code,
                     "payType", 3, "products", products);
}

static ad_step create_order(ad_op *op, const ad_response *resp)
{
    const ad_create_order_in *in = op->in;
    ad_create_order_out *out = op->out;
    ad_jpath r;
    json_t *root;
    json_t *data;
    ds_error err;
    ds_status st;

    if (resp == NULL) {
        if (in->order_ref == NULL || in->ship_to == NULL || in->n_lines == 0 || in->n_lines > AD_LINES_MAX)
            return ad_op_fail(op, DS_ERR_INVALID, false, "create_order needs order_ref, ship_to and 1..%d lines",
                              AD_LINES_MAX);
        return ad_op_request(op, "POST", "/shopping/order/createOrderV2", create_body(in), NULL,
                             "CJ-Access-Token");
    }
    if (!cj_open(op, resp, &root, &data))
        goto out;
    ds_error_clear(&err);
    ad_jpath_root(&r);
    ad_jpath_key(&r, &r, "data");
    st = ad_json_str(data, &r, "orderId", true, out->supplier_order_id, sizeof out->supplier_order_id, &err);
    if (st == DS_OK)
        st = ad_json_str(data, &r, "orderStatus", true, out->status_text, sizeof out->status_text, &err);
    if (st == DS_OK)
        st = cj_amount(data, "orderAmount", &out->total_cost, &err);
    out->status = (ad_order_status)ad_status_map(&ad_map_cj_order, out->status_text, NULL);
    if (st != DS_OK)
        ad_op_decode_failed(op, resp, &err);
out:
    json_decref(root);
    return AD_STEP_DONE;
}

/* Comma-separated trackNumber -> parcels of carrier logisticName. */
static ds_status cj_parcels(const json_t *data, ad_get_order_out *out, ds_error *err)
{
    const char *numbers = json_string_value(json_object_get(data, "trackNumber"));
    const char *carrier = json_string_value(json_object_get(data, "logisticName"));
    ds_status st = DS_OK;

    while (st == DS_OK && numbers != NULL && *numbers != '\0') {
        size_t n = strcspn(numbers, ",");
        ad_parcel p;
        memset(&p, 0, sizeof p);
        if (n == 0 || n >= sizeof p.tracking_number)
            return ds_error_set(err, DS_ERR_INTERNAL, "data.trackNumber: empty or too long number");
        memcpy(p.tracking_number, numbers, n);
        snprintf(p.carrier, sizeof p.carrier, "%s", carrier != NULL ? carrier : "unknown");
        st = ad_parcels_add(out, &p, err);
        numbers += n + (numbers[n] == ',');
    }
    return st;
}

static ds_status decode_detail(const json_t *data, ad_get_order_out *out, ds_error *err)
{
    ad_jpath r;
    int64_t paid_at = 0;
    ds_status st;

    memset(out, 0, sizeof *out);
    ad_jpath_root(&r);
    ad_jpath_key(&r, &r, "data");
    st = ad_json_str(data, &r, "orderId", true, out->supplier_order_id, sizeof out->supplier_order_id, err);
    if (st == DS_OK)
        st = ad_json_str(data, &r, "orderStatus", true, out->status_text, sizeof out->status_text, err);
    if (st == DS_OK)
        st = cj_amount(data, "orderAmount", &out->total_cost, err);
    if (st == DS_OK)
        st = cj_time(data, "paymentDate", &paid_at, err);
    if (st == DS_OK)
        st = cj_parcels(data, out, err);
    out->status = (ad_order_status)ad_status_map(&ad_map_cj_order, out->status_text, NULL);
    out->paid = paid_at != 0;
    if (out->status == AD_ORDER_SHIPPED && out->n_parcels == 0)
        out->status = AD_ORDER_PROCESSING; /* shipped without a number yet: keep polling */
    if (st != DS_OK)
        ad_get_order_out_cleanup(out);
    return st;
}

static ad_step detail_request(ad_op *op, const char *id)
{
    char esc[3 * AD_ID_MAX];
    char path[300];

    if (id == NULL || id[0] == '\0' || strlen(id) >= AD_ID_MAX || !ad_escape(id, esc, sizeof esc))
        return ad_op_fail(op, DS_ERR_INVALID, false, "supplier_order_id empty or too long");
    snprintf(path, sizeof path, "/shopping/order/getOrderDetail?orderId=%s", esc);
    return ad_op_request(op, "GET", path, NULL, NULL, "CJ-Access-Token");
}

static ad_step get_order(ad_op *op, const ad_response *resp)
{
    const ad_get_order_in *in = op->in;
    json_t *root;
    json_t *data;
    ds_error err;

    if (resp == NULL)
        return detail_request(op, in->supplier_order_id);
    if (cj_open(op, resp, &root, &data)) {
        ds_error_clear(&err);
        if (decode_detail(data, op->out, &err) != DS_OK)
            ad_op_decode_failed(op, resp, &err);
    }
    json_decref(root);
    return AD_STEP_DONE;
}

static ad_step cancel_order(ad_op *op, const ad_response *resp)
{
    const ad_cancel_order_in *in = op->in;
    ad_cancel_order_out *out = op->out;
    char esc[3 * AD_ID_MAX];
    char path[300];
    json_t *root;
    json_t *data;

    if (resp == NULL) {
        const char *id = in->supplier_order_id;
        if (id == NULL || id[0] == '\0' || strlen(id) >= AD_ID_MAX || !ad_escape(id, esc, sizeof esc))
            return ad_op_fail(op, DS_ERR_INVALID, false, "supplier_order_id empty or too long");
        snprintf(path, sizeof path, "/shopping/order/deleteOrder?orderId=%s", esc);
        return ad_op_request(op, "DELETE", path, NULL, NULL, "CJ-Access-Token");
    }
    out->cancelled = cj_open(op, resp, &root, &data);
    if (!out->cancelled && strcmp(op->result.code, "WRONG_STATE") == 0) {
        int http_status = op->result.http_status;
        ad_result_ok(&op->result); /* refused: paid or shipped orders cannot be deleted */
        op->result.http_status = http_status;
        snprintf(out->refusal_code, sizeof out->refusal_code, "CANCEL_REFUSED");
    }
    json_decref(root);
    return AD_STEP_DONE;
}

/* pay_order stages: read the order (amount check, already paid?),
 * confirm, pay from balance, read the order again for paid_at. */
enum { PAY_CHECK = 0, PAY_CONFIRM, PAY_BALANCE, PAY_READ };

static ad_step pay_after_detail(ad_op *op, ad_get_order_out *d)
{
    const ad_pay_order_in *in = op->in;
    ad_pay_order_out *out = op->out;
    char body_id[AD_ID_MAX];

    if (!ad_money_equal(&d->total_cost, &in->amount)) {
        snprintf(op->result.code, sizeof op->result.code, "AMOUNT_MISMATCH");
        return ad_op_fail(op, DS_ERR_FAILED_PRECONDITION, false, "pay_order: CJ order %s costs %lld.%09d %s, not %lld.%09d %s",
                          d->supplier_order_id, (long long)d->total_cost.units, (int)d->total_cost.nanos,
                          d->total_cost.currency, (long long)in->amount.units, (int)in->amount.nanos,
                          in->amount.currency);
    }
    if (d->paid) {
        snprintf(out->transaction_id, sizeof out->transaction_id, "cj:%.61s", d->supplier_order_id);
        out->amount = d->total_cost;
        out->paid_at_ms = op->stash_int;
        return AD_STEP_DONE;
    }
    if (op->stage == PAY_READ)
        return ad_op_fail(op, DS_ERR_UNAVAILABLE, true, "pay_order: CJ order %s still unpaid after payBalance",
                          d->supplier_order_id);
    snprintf(body_id, sizeof body_id, "%s", d->supplier_order_id);
    op->stage = PAY_CONFIRM;
    return ad_op_request(op, "PATCH", "/shopping/order/confirmOrder", json_pack("{s:s}", "orderId", body_id),
                         NULL, "CJ-Access-Token");
}

static ad_step pay_order(ad_op *op, const ad_response *resp)
{
    const ad_pay_order_in *in = op->in;
    ad_get_order_out d;
    json_t *root = NULL;
    json_t *data;
    ds_error err;
    ad_step s = AD_STEP_DONE;

    if (resp == NULL)
        return detail_request(op, in->supplier_order_id);
    if (!cj_open(op, resp, &root, &data))
        goto out;
    if (op->stage == PAY_CONFIRM || op->stage == PAY_BALANCE) {
        op->stage++;
        s = op->stage == PAY_BALANCE
                ? ad_op_request(op, "POST", "/shopping/pay/payBalance",
                                json_pack("{s:s}", "orderId", in->supplier_order_id), NULL, "CJ-Access-Token")
                : detail_request(op, in->supplier_order_id);
        goto out;
    }
    ds_error_clear(&err);
    if (decode_detail(data, &d, &err) != DS_OK || cj_time(data, "paymentDate", &op->stash_int, &err) != DS_OK) {
        s = ad_op_decode_failed(op, resp, &err);
        goto out;
    }
    s = pay_after_detail(op, &d);
    ad_get_order_out_cleanup(&d);
out:
    json_decref(root);
    return s;
}

static const ad_supplier_vt cj_vt = {
    .kind = "cj",
    .create_order = create_order,
    .get_order = get_order,
    .cancel_order = cancel_order,
    .pay_order = pay_order,
    .list_offers = NULL,
    .get_return_policy = NULL,
    /* CJ's after-sales disputes are opened by people in its web console:
     * ad_supplier_open_dispute & co. answer DS_ERR_UNIMPLEMENTED. */
    .open_dispute = NULL,
    .get_dispute = NULL,
    .request_refund = NULL,
};

ds_status ad_supplier_cj_new(ad_http *http, const ad_backend_config *cfg, ad_supplier **out,
                             ds_error *err)
{
    ad_supplier *s = calloc(1, sizeof *s);
    ds_status st;

    *out = NULL;
    if (s == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for a supplier adapter");
    st = ad_backend_init(&s->backend, cfg, err);
    if (st != DS_OK) {
        free(s);
        return st;
    }
    s->vt = &cj_vt;
    s->http = http;
    *out = s;
    return DS_OK;
}
