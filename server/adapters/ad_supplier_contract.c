/* ad_supplier_contract.c - the supplier adapter for the project's own HTTP
 * contract (docs/supplier-api.md): one request per operation. */
#include "ad_supplier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failed exchange ends the op with its classified result. The one
 * retryable 409 of the contract is REQUEST_IN_PROGRESS. */
static bool ended_by_error(ad_op *op, const ad_response *resp)
{
    if (resp->result.status == DS_OK)
        return false;
    op->result = resp->result;
    if (resp->result.http_status == 409 && strcmp(resp->result.code, "REQUEST_IN_PROGRESS") == 0)
        op->result.retryable = true;
    return true;
}

/* Parse and decode an answer with `decode`; ends the op either way. */
static ad_step finish(ad_op *op, const ad_response *resp,
                      ds_status (*decode)(const json_t *, void *, ds_error *))
{
    ds_error err;
    json_t *root;

    if (ended_by_error(op, resp))
        return AD_STEP_DONE;
    root = ad_op_parse(op, resp);
    if (root == NULL)
        return AD_STEP_DONE;
    ds_error_clear(&err);
    if (decode(root, op->out, &err) != DS_OK)
        ad_op_decode_failed(op, resp, &err);
    else
        op->result.http_status = resp->result.http_status;
    json_decref(root);
    return AD_STEP_DONE;
}

/* Path "/v1/orders/<escaped id><suffix>", or false if it does not fit. */
static bool order_path(char *buf, size_t cap, const char *id, const char *suffix)
{
    char esc[3 * AD_ID_MAX];

    if (id == NULL || id[0] == '\0' || strlen(id) >= AD_ID_MAX || !ad_escape(id, esc, sizeof esc))
        return false;
    return (size_t)snprintf(buf, cap, "/v1/orders/%s%s", esc, suffix) < cap;
}

static json_t *address_json(const ad_address *a)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "recipient_name", a->recipient_name, "phone",
                     a->phone, "country_code", a->country_code, "region", a->region, "city",
                     a->city, "street", a->street, "postal_code", a->postal_code);
}

static json_t *create_body(const ad_create_order_in *in)
{
    json_t *lines = json_array();

    for (size_t i = 0; lines != NULL && i < in->n_lines; i++)
        json_array_append_new(lines, json_pack("{s:s,s:I}", "sku", in->lines[i].sku, "quantity",
                                               (json_int_t)in->lines[i].quantity));
    return json_pack("{s:s,s:o,s:o}", "order_ref", in->order_ref, "lines", lines, "ship_to",
                     address_json(in->ship_to));
}

static ds_status decode_created(const json_t *root, void *out, ds_error *err)
{
    return ad_decode_contract_created(root, out, err);
}

static ad_step create_order(ad_op *op, const ad_response *resp)
{
    const ad_create_order_in *in = op->in;
    ad_create_order_out *out = op->out;
    ad_step s;

    if (resp == NULL) {
        if (in->order_ref == NULL || in->idempotency_key == NULL || in->ship_to == NULL ||
            in->n_lines == 0 || in->n_lines > AD_LINES_MAX)
            return ad_op_fail(op, DS_ERR_INVALID, false, "create_order needs order_ref, "
                              "idempotency_key, ship_to and 1..%d lines", AD_LINES_MAX);
        return ad_op_request(op, "POST", "/v1/orders", create_body(in), in->idempotency_key, NULL);
    }
    s = finish(op, resp, decode_created);
    if (op->result.status == DS_OK)
        out->replayed = resp->result.http_status == 200;
    return s;
}

static ds_status decode_order(const json_t *root, void *out, ds_error *err)
{
    return ad_decode_contract_order(root, out, err);
}

static ad_step get_order(ad_op *op, const ad_response *resp)
{
    const ad_get_order_in *in = op->in;
    char path[300];

    if (resp != NULL)
        return finish(op, resp, decode_order);
    if (!order_path(path, sizeof path, in->supplier_order_id, ""))
        return ad_op_fail(op, DS_ERR_INVALID, false, "get_order: supplier_order_id empty or too long");
    return ad_op_request(op, "GET", path, NULL, NULL, NULL);
}

static ad_step cancel_order(ad_op *op, const ad_response *resp)
{
    const ad_cancel_order_in *in = op->in;
    ad_cancel_order_out *out = op->out;
    char path[300];

    if (resp == NULL) {
        if (in->idempotency_key == NULL || !order_path(path, sizeof path, in->supplier_order_id, "/cancel"))
            return ad_op_fail(op, DS_ERR_INVALID, false, "cancel_order needs supplier_order_id and idempotency_key");
        return ad_op_request(op, "POST", path, json_object(), in->idempotency_key, NULL);
    }
    if (resp->result.http_status == 409 && strcmp(resp->result.code, "CANCEL_REFUSED") == 0) {
        out->cancelled = false;
        snprintf(out->refusal_code, sizeof out->refusal_code, "%s", resp->result.code);
        op->result.http_status = 409;
        return AD_STEP_DONE;
    }
    if (ended_by_error(op, resp))
        return AD_STEP_DONE;
    out->cancelled = true;
    out->refusal_code[0] = '\0';
    op->result.http_status = resp->result.http_status;
    return AD_STEP_DONE;
}

static ds_status decode_payment(const json_t *root, void *out, ds_error *err)
{
    return ad_decode_contract_payment(root, out, err);
}

static ad_step pay_order(ad_op *op, const ad_response *resp)
{
    const ad_pay_order_in *in = op->in;
    char path[300];

    if (resp != NULL)
        return finish(op, resp, decode_payment);
    if (in->idempotency_key == NULL || !order_path(path, sizeof path, in->supplier_order_id, "/payments"))
        return ad_op_fail(op, DS_ERR_INVALID, false, "pay_order needs supplier_order_id and idempotency_key");
    return ad_op_request(op, "POST", path, json_pack("{s:o}", "amount", ad_money_json(&in->amount)),
                         in->idempotency_key, NULL);
}

static ds_status decode_offers(const json_t *root, void *out, ds_error *err)
{
    return ad_decode_contract_offers(root, out, err);
}

/* "?sku=A&sku=B" appended to buf; false if it does not fit. */
static bool sku_query(char *buf, size_t cap, const char *base, const char *const *skus, size_t n)
{
    size_t used = (size_t)snprintf(buf, cap, "%s", base);

    for (size_t i = 0; i < n && used < cap; i++) {
        char esc[3 * AD_SKU_MAX];
        if (skus[i] == NULL || strlen(skus[i]) >= AD_SKU_MAX || !ad_escape(skus[i], esc, sizeof esc))
            return false;
        used += (size_t)snprintf(buf + used, cap - used, "%csku=%s", i == 0 ? '?' : '&', esc);
    }
    return used < cap;
}

static ad_step list_offers(ad_op *op, const ad_response *resp)
{
    const ad_list_offers_in *in = op->in;
    char path[AD_URL_MAX / 2];

    if (resp != NULL)
        return finish(op, resp, decode_offers);
    if (in->n_skus == 0 || in->n_skus > AD_LINES_MAX ||
        !sku_query(path, sizeof path, "/v1/offers", in->skus, in->n_skus))
        return ad_op_fail(op, DS_ERR_INVALID, false, "list_offers needs 1..%d SKUs of at most %d bytes "
                          "that fit one URL", AD_LINES_MAX, AD_SKU_MAX - 1);
    return ad_op_request(op, "GET", path, NULL, NULL, NULL);
}

static ds_status decode_policy(const json_t *root, void *out, ds_error *err)
{
    return ad_decode_contract_policy(root, out, err);
}

static ad_step get_return_policy(ad_op *op, const ad_response *resp)
{
    const ad_return_policy_in *in = op->in;
    char path[300];

    if (resp != NULL)
        return finish(op, resp, decode_policy);
    if (!sku_query(path, sizeof path, "/v1/return-policy", &in->sku, in->sku != NULL ? 1 : 0))
        return ad_op_fail(op, DS_ERR_INVALID, false, "get_return_policy: sku too long");
    return ad_op_request(op, "GET", path, NULL, NULL, NULL);
}

/* ---- disputes and refund claims ---- */

static json_t *dispute_body(const ad_open_dispute_in *in)
{
    json_t *lines = json_array();
    json_t *ev = json_array();

    for (size_t i = 0; lines != NULL && i < in->n_lines; i++)
        json_array_append_new(lines, json_pack("{s:s,s:I}", "sku", in->lines[i].sku, "quantity",
                                               (json_int_t)in->lines[i].quantity));
    for (size_t i = 0; ev != NULL && i < in->n_evidence; i++)
        json_array_append_new(ev, json_pack("{s:s,s:s}", "uri", in->evidence[i].uri, "sha256",
                                            in->evidence[i].sha256));
    return json_pack("{s:s,s:s,s:o,s:s,s:o}", "case_ref", in->case_ref, "type", in->type,
                     "lines", lines, "reason", in->reason, "evidence", ev);
}

static bool dispute_in_ok(const ad_open_dispute_in *in)
{
    if (in->idempotency_key == NULL || in->case_ref == NULL || in->type == NULL ||
        in->reason == NULL || in->reason[0] == '\0' || strlen(in->reason) >= AD_REASON_MAX ||
        in->n_lines == 0 || in->n_lines > AD_LINES_MAX || in->n_evidence > AD_EVIDENCE_MAX ||
        (in->n_evidence > 0 && in->evidence == NULL))
        return false;
    for (size_t i = 0; i < in->n_evidence; i++)
        if (in->evidence[i].uri == NULL || in->evidence[i].sha256 == NULL ||
            strlen(in->evidence[i].uri) >= AD_URI_MAX || strlen(in->evidence[i].sha256) != 64)
            return false;
    return true;
}

static ds_status decode_dispute(const json_t *root, void *out, ds_error *err)
{
    return ad_decode_contract_dispute(root, out, err);
}

static ad_step open_dispute(ad_op *op, const ad_response *resp)
{
    const ad_open_dispute_in *in = op->in;
    ad_dispute_out *out = op->out;
    char path[300];
    ad_step s;

    if (resp == NULL) {
        if (!dispute_in_ok(in) || !order_path(path, sizeof path, in->supplier_order_id, "/disputes"))
            return ad_op_fail(op, DS_ERR_INVALID, false, "open_dispute needs supplier_order_id, "
                              "idempotency_key, case_ref, type, a reason, 1..%d lines and 0..%d "
                              "evidence URIs with SHA-256", AD_LINES_MAX, AD_EVIDENCE_MAX);
        return ad_op_request(op, "POST", path, dispute_body(in), in->idempotency_key, NULL);
    }
    s = finish(op, resp, decode_dispute);
    if (op->result.status == DS_OK)
        out->replayed = resp->result.http_status == 200;
    return s;
}

static ad_step get_dispute(ad_op *op, const ad_response *resp)
{
    const ad_get_dispute_in *in = op->in;
    char esc[3 * AD_ID_MAX];
    char suffix[3 * AD_ID_MAX + 16];
    char path[600];

    if (resp != NULL)
        return finish(op, resp, decode_dispute);
    if (in->dispute_id == NULL || in->dispute_id[0] == '\0' || strlen(in->dispute_id) >= AD_ID_MAX ||
        !ad_escape(in->dispute_id, esc, sizeof esc))
        return ad_op_fail(op, DS_ERR_INVALID, false, "get_dispute: dispute_id empty or too long");
    snprintf(suffix, sizeof suffix, "/disputes/%s", esc);
    if (!order_path(path, sizeof path, in->supplier_order_id, suffix))
        return ad_op_fail(op, DS_ERR_INVALID, false, "get_dispute: supplier_order_id empty or too long");
    return ad_op_request(op, "GET", path, NULL, NULL, NULL);
}

static ds_status decode_refund(const json_t *root, void *out, ds_error *err)
{
    return ad_decode_contract_refund(root, out, err);
}

static ad_step request_refund(ad_op *op, const ad_response *resp)
{
    const ad_request_refund_in *in = op->in;
    char path[300];
    bool positive = in->amount.units > 0 || (in->amount.units == 0 && in->amount.nanos > 0);

    if (resp != NULL)
        return finish(op, resp, decode_refund);
    if (in->idempotency_key == NULL || in->refund_ref == NULL || !positive ||
        (in->reason != NULL && strlen(in->reason) >= AD_REASON_MAX) ||
        !order_path(path, sizeof path, in->supplier_order_id, "/refunds"))
        return ad_op_fail(op, DS_ERR_INVALID, false, "request_refund needs supplier_order_id, "
                          "idempotency_key, refund_ref and an amount > 0");
    return ad_op_request(op, "POST", path,
                         json_pack("{s:s,s:o,s:s}", "refund_ref", in->refund_ref, "amount",
                                   ad_money_json(&in->amount), "reason",
                                   in->reason != NULL ? in->reason : ""),
                         in->idempotency_key, NULL);
}

static const ad_supplier_vt contract_vt = {
    .kind = "contract",
    .create_order = create_order,
    .get_order = get_order,
    .cancel_order = cancel_order,
    .pay_order = pay_order,
    .list_offers = list_offers,
    .get_return_policy = get_return_policy,
    .open_dispute = open_dispute,
    .get_dispute = get_dispute,
    .request_refund = request_refund,
};

ds_status ad_supplier_contract_new(ad_http *http, const ad_backend_config *cfg, ad_supplier **out,
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
    s->vt = &contract_vt;
    s->http = http;
    *out = s;
    return DS_OK;
}
