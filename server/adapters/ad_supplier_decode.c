/* ad_supplier_decode.c - the supplier contract's JSON answers -> structs. */
#include "ad_supplier.h"

#include <stdlib.h>
#include <string.h>

static const ad_enum_entry dispute_statuses[] = {
    {"OPEN", AD_DISPUTE_OPEN},         {"SUPPLIER_RESPONDED", AD_DISPUTE_RESPONDED},
    {"ACCEPTED", AD_DISPUTE_ACCEPTED}, {"REJECTED", AD_DISPUTE_REJECTED},
    {"REFUNDED", AD_DISPUTE_REFUNDED}, {NULL, 0}};

static const ad_enum_entry payers[] = {
    {"BUYER", AD_PAYER_BUYER}, {"SUPPLIER", AD_PAYER_SUPPLIER}, {"SHOP", AD_PAYER_SHOP}, {NULL, 0}};

ds_status ad_decode_address(const json_t *obj, const ad_jpath *at, const char *key, ad_address *out,
                            ds_error *err)
{
    json_t *a;
    ad_jpath p;
    ds_status st = ad_json_object(obj, at, key, true, &a, err);

    memset(out, 0, sizeof *out);
    if (st != DS_OK)
        return st;
    ad_jpath_key(&p, at, key);
    st = ad_json_str(a, &p, "recipient_name", true, out->recipient_name, sizeof out->recipient_name, err);
    if (st == DS_OK)
        st = ad_json_str(a, &p, "phone", false, out->phone, sizeof out->phone, err);
    if (st == DS_OK)
        st = ad_json_str(a, &p, "country_code", true, out->country_code, sizeof out->country_code, err);
    if (st == DS_OK)
        st = ad_json_str(a, &p, "region", false, out->region, sizeof out->region, err);
    if (st == DS_OK)
        st = ad_json_str(a, &p, "city", true, out->city, sizeof out->city, err);
    if (st == DS_OK)
        st = ad_json_str(a, &p, "street", true, out->street, sizeof out->street, err);
    if (st == DS_OK)
        st = ad_json_str(a, &p, "postal_code", false, out->postal_code, sizeof out->postal_code, err);
    return st;
}

ds_status ad_decode_lines(const json_t *obj, const ad_jpath *at, const char *key, bool required,
                          ad_line **lines, size_t *n, ds_error *err)
{
    json_t *arr;
    ad_jpath ap;
    ds_status st = ad_json_array(obj, at, key, required, AD_LINES_MAX, &arr, err);

    *lines = NULL;
    *n = 0;
    if (st != DS_OK || arr == NULL || json_array_size(arr) == 0)
        return st;
    *lines = calloc(json_array_size(arr), sizeof **lines);
    if (*lines == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for order lines");
    ad_jpath_key(&ap, at, key);
    for (size_t i = 0; st == DS_OK && i < json_array_size(arr); i++) {
        ad_jpath ep;
        json_t *l = json_array_get(arr, i);
        ad_jpath_index(&ep, &ap, i);
        st = ad_json_str(l, &ep, "sku", true, (*lines)[i].sku, AD_SKU_MAX, err);
        if (st == DS_OK)
            st = ad_json_int(l, &ep, "quantity", true, 1, 1000000, &(*lines)[i].quantity, err);
    }
    if (st != DS_OK) {
        free(*lines);
        *lines = NULL;
        return st;
    }
    *n = json_array_size(arr);
    return DS_OK;
}

static ds_status order_status(const json_t *root, const ad_jpath *at, ad_order_status *status,
                              char *text, size_t cap, ds_error *err)
{
    ds_status st = ad_json_str(root, at, "status", true, text, cap, err);

    if (st == DS_OK)
        *status = (ad_order_status)ad_status_map(&ad_map_contract_order, text, NULL);
    return st;
}

ds_status ad_decode_contract_created(const json_t *root, ad_create_order_out *out, ds_error *err)
{
    ad_jpath r;
    ds_status st;

    ad_jpath_root(&r);
    st = ad_json_str(root, &r, "supplier_order_id", true, out->supplier_order_id,
                     sizeof out->supplier_order_id, err);
    if (st == DS_OK)
        st = order_status(root, &r, &out->status, out->status_text, sizeof out->status_text, err);
    if (st == DS_OK)
        st = ad_json_money(root, &r, "total_cost", true, &out->total_cost, err);
    return st;
}

static ds_status decode_parcel(const json_t *pj, const ad_jpath *pp, ad_get_order_out *out,
                               ds_error *err)
{
    ad_parcel p;
    ds_status st;

    memset(&p, 0, sizeof p);
    st = ad_json_str(pj, pp, "carrier", true, p.carrier, sizeof p.carrier, err);
    if (st == DS_OK)
        st = ad_json_str(pj, pp, "tracking_number", true, p.tracking_number, sizeof p.tracking_number, err);
    if (st == DS_OK)
        st = ad_json_time(pj, pp, "shipped_at", false, &p.shipped_at_ms, err);
    if (st == DS_OK)
        st = ad_decode_lines(pj, pp, "lines", false, &p.lines, &p.n_lines, err);
    if (st == DS_OK)
        st = ad_parcels_add(out, &p, err);
    return st;
}

ds_status ad_decode_contract_order(const json_t *root, ad_get_order_out *out, ds_error *err)
{
    ad_jpath r;
    ad_jpath pp;
    json_t *parcels = NULL;
    ds_status st;

    memset(out, 0, sizeof *out);
    ad_jpath_root(&r);
    st = ad_json_str(root, &r, "supplier_order_id", true, out->supplier_order_id,
                     sizeof out->supplier_order_id, err);
    if (st == DS_OK)
        st = order_status(root, &r, &out->status, out->status_text, sizeof out->status_text, err);
    if (st == DS_OK)
        st = ad_json_money(root, &r, "total_cost", false, &out->total_cost, err);
    if (st == DS_OK)
        st = ad_json_bool(root, &r, "paid", false, &out->paid, err);
    if (st == DS_OK)
        st = ad_json_array(root, &r, "parcels", false, AD_PARCELS_MAX, &parcels, err);
    ad_jpath_key(&pp, &r, "parcels");
    for (size_t i = 0; st == DS_OK && i < json_array_size(parcels); i++) {
        ad_jpath ep;
        ad_jpath_index(&ep, &pp, i);
        if (!json_is_object(json_array_get(parcels, i)))
            st = ds_error_set(err, DS_ERR_INTERNAL, "%s: expected object", ep.s);
        else
            st = decode_parcel(json_array_get(parcels, i), &ep, out, err);
    }
    if (st != DS_OK)
        ad_get_order_out_cleanup(out);
    return st;
}

ds_status ad_decode_contract_payment(const json_t *root, ad_pay_order_out *out, ds_error *err)
{
    ad_jpath r;
    ds_status st;

    ad_jpath_root(&r);
    st = ad_json_str(root, &r, "transaction_id", true, out->transaction_id,
                     sizeof out->transaction_id, err);
    if (st == DS_OK)
        st = ad_json_money(root, &r, "amount", true, &out->amount, err);
    if (st == DS_OK)
        st = ad_json_time(root, &r, "paid_at", true, &out->paid_at_ms, err);
    return st;
}

static ds_status decode_offer(const json_t *o, const ad_jpath *p, ad_offer *out, ds_error *err)
{
    ds_status st = ad_json_str(o, p, "sku", true, out->sku, sizeof out->sku, err);

    if (st == DS_OK)
        st = ad_json_int(o, p, "stock", true, 0, INT64_MAX, &out->stock, err);
    if (st == DS_OK)
        st = ad_json_money(o, p, "cost", out->stock > 0, &out->cost, err);
    if (st == DS_OK)
        st = ad_json_int(o, p, "ship_days", false, 0, 365, &out->ship_days, err);
    if (st == DS_OK)
        st = ad_json_time(o, p, "updated_at", false, &out->updated_at_ms, err);
    return st;
}

ds_status ad_decode_contract_offers(const json_t *root, ad_list_offers_out *out, ds_error *err)
{
    ad_jpath r;
    ad_jpath op;
    json_t *arr;
    ds_status st;

    memset(out, 0, sizeof *out);
    ad_jpath_root(&r);
    st = ad_json_array(root, &r, "offers", true, AD_LINES_MAX, &arr, err);
    if (st != DS_OK)
        return st;
    out->offers = calloc(json_array_size(arr) + 1, sizeof *out->offers);
    if (out->offers == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for offers");
    ad_jpath_key(&op, &r, "offers");
    for (size_t i = 0; st == DS_OK && i < json_array_size(arr); i++) {
        ad_jpath ep;
        ad_jpath_index(&ep, &op, i);
        st = decode_offer(json_array_get(arr, i), &ep, &out->offers[i], err);
        out->n_offers = i + 1;
    }
    if (st != DS_OK)
        ad_list_offers_out_cleanup(out);
    return st;
}

ds_status ad_decode_contract_policy(const json_t *root, ad_return_policy_out *out, ds_error *err)
{
    ad_jpath r;
    ad_jpath rp;
    json_t *rules;
    int payer = AD_PAYER_BUYER;
    ds_status st;

    memset(out, 0, sizeof *out);
    ad_jpath_root(&r);
    st = ad_decode_address(root, &r, "address", &out->address, err);
    if (st == DS_OK)
        st = ad_json_object(root, &r, "rules", true, &rules, err);
    ad_jpath_key(&rp, &r, "rules");
    if (st == DS_OK)
        st = ad_json_int(rules, &rp, "no_reason_return_days", true, 0, 3650,
                         &out->no_reason_return_days, err);
    if (st == DS_OK)
        st = ad_json_enum(rules, &rp, "return_postage_payer", true, payers, AD_PAYER_BUYER, &payer, err);
    if (st == DS_OK)
        st = ad_json_text(rules, &rp, "damaged_goods", false, out->damaged_goods,
                          sizeof out->damaged_goods, err);
    out->return_postage_payer = (ad_postage_payer)payer;
    return st;
}

/* The "refund" object of a REFUNDED dispute. */
static ds_status dispute_refund(const json_t *root, const ad_jpath *r, ad_dispute_out *out,
                                ds_error *err)
{
    json_t *f;
    ad_jpath fp;
    ds_status st = ad_json_object(root, r, "refund", true, &f, err);

    ad_jpath_key(&fp, r, "refund");
    if (st == DS_OK)
        st = ad_json_str(f, &fp, "transaction_id", true, out->refund_id, sizeof out->refund_id, err);
    if (st == DS_OK)
        st = ad_json_money(f, &fp, "amount", true, &out->refund_amount, err);
    if (st == DS_OK && (out->refund_amount.units < 0 || out->refund_amount.nanos < 0))
        st = ds_error_set(err, DS_ERR_INTERNAL, "%s.amount: must not be negative", fp.s);
    if (st == DS_OK)
        st = ad_json_time(f, &fp, "refunded_at", true, &out->refunded_at_ms, err);
    return st;
}

ds_status ad_decode_contract_dispute(const json_t *root, ad_dispute_out *out, ds_error *err)
{
    ad_jpath r;
    int status = AD_DISPUTE_OPEN;
    ds_status st;

    memset(out, 0, sizeof *out);
    ad_jpath_root(&r);
    st = ad_json_str(root, &r, "dispute_id", true, out->dispute_id, sizeof out->dispute_id, err);
    if (st == DS_OK)
        st = ad_json_enum(root, &r, "status", true, dispute_statuses, AD_DISPUTE_OPEN, &status, err);
    if (st == DS_OK)
        st = ad_json_str(root, &r, "status", true, out->status_text, sizeof out->status_text, err);
    if (st == DS_OK)
        st = ad_json_text(root, &r, "message", false, out->message, sizeof out->message, err);
    out->status = (ad_dispute_status)status;
    if (st == DS_OK && out->status == AD_DISPUTE_REFUNDED)
        st = dispute_refund(root, &r, out, err);
    return st;
}

ds_status ad_decode_contract_refund(const json_t *root, ad_request_refund_out *out, ds_error *err)
{
    ad_jpath r;
    ds_status st;

    memset(out, 0, sizeof *out);
    ad_jpath_root(&r);
    st = ad_json_str(root, &r, "transaction_id", true, out->transaction_id,
                     sizeof out->transaction_id, err);
    if (st == DS_OK)
        st = ad_json_money(root, &r, "amount", true, &out->amount, err);
    if (st == DS_OK)
        st = ad_json_time(root, &r, "refunded_at", true, &out->refunded_at_ms, err);
    return st;
}
