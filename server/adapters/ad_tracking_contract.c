/* ad_tracking_contract.c - the tracking adapter for the project's own
 * contract: GET /v1/trackings/{carrier}/{tracking_number}. */
#include "ad_tracking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ds_status decode_checkpoint(const json_t *c, const ad_jpath *p, ad_get_tracking_out *out,
                                   ds_error *err)
{
    ad_checkpoint cp;
    ds_status st;

    memset(&cp, 0, sizeof cp);
    st = ad_json_time(c, p, "time", true, &cp.time_ms, err);
    if (st == DS_OK)
        st = ad_json_str(c, p, "status", true, cp.vendor_status, sizeof cp.vendor_status, err);
    if (st == DS_OK)
        st = ad_json_text(c, p, "location", false, cp.location, sizeof cp.location, err);
    if (st == DS_OK)
        st = ad_json_text(c, p, "message", false, cp.message, sizeof cp.message, err);
    cp.status = (ad_track_status)ad_status_map(&ad_map_contract_track, cp.vendor_status, NULL);
    if (st == DS_OK)
        st = ad_checkpoints_add(out, &cp, err);
    return st;
}

ds_status ad_decode_contract_tracking(const json_t *root, ad_get_tracking_out *out, ds_error *err)
{
    ad_jpath r;
    ad_jpath cpath;
    json_t *cps = NULL;
    ds_status st;

    memset(out, 0, sizeof *out);
    ad_jpath_root(&r);
    st = ad_json_str(root, &r, "status", true, out->vendor_status, sizeof out->vendor_status, err);
    out->status = (ad_track_status)ad_status_map(&ad_map_contract_track, out->vendor_status,
                                                 &out->status_known);
    if (st == DS_OK)
        st = ad_json_time(root, &r, "updated_at", false, &out->updated_at_ms, err);
    if (st == DS_OK)
        st = ad_json_time(root, &r, "estimated_delivery", false, &out->estimated_delivery_ms, err);
    if (st == DS_OK)
        st = ad_json_array(root, &r, "checkpoints", false, 0, &cps, err);
    ad_jpath_key(&cpath, &r, "checkpoints");
    for (size_t i = 0; st == DS_OK && i < json_array_size(cps); i++) {
        ad_jpath ep;
        ad_jpath_index(&ep, &cpath, i);
        st = decode_checkpoint(json_array_get(cps, i), &ep, out, err);
    }
    if (st != DS_OK)
        ad_get_tracking_out_cleanup(out);
    return st;
}

static ad_step get_tracking(ad_op *op, const ad_response *resp)
{
    const ad_get_tracking_in *in = op->in;
    char c[3 * AD_CARRIER_MAX];
    char n[3 * AD_ID_MAX];
    char path[400];
    json_t *root;
    ds_error err;

    if (resp == NULL) {
        if (!ad_escape(in->carrier, c, sizeof c) || !ad_escape(in->tracking_number, n, sizeof n))
            return ad_op_fail(op, DS_ERR_INVALID, false, "get_tracking: carrier or number too long");
        snprintf(path, sizeof path, "/v1/trackings/%s/%s", c, n);
        return ad_op_request(op, "GET", path, NULL, NULL, NULL);
    }
    if (resp->result.status != DS_OK) {
        op->result = resp->result;
        if (resp->result.status == DS_ERR_NOT_FOUND)
            op->result.retryable = true; /* not known yet: poll again later */
        return AD_STEP_DONE;
    }
    root = ad_op_parse(op, resp);
    if (root == NULL)
        return AD_STEP_DONE;
    ds_error_clear(&err);
    if (ad_decode_contract_tracking(root, op->out, &err) != DS_OK)
        ad_op_decode_failed(op, resp, &err);
    op->result.http_status = resp->result.http_status;
    json_decref(root);
    return AD_STEP_DONE;
}

static const ad_tracking_vt contract_vt = {.kind = "contract", .get_tracking = get_tracking};

ds_status ad_tracking_contract_new(ad_http *http, const ad_backend_config *cfg, ad_tracking **out,
                                   ds_error *err)
{
    ad_tracking *t = calloc(1, sizeof *t);
    ds_status st;

    *out = NULL;
    if (t == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for a tracking adapter");
    st = ad_backend_init(&t->backend, cfg, err);
    if (st != DS_OK) {
        free(t);
        return st;
    }
    t->vt = &contract_vt;
    t->http = http;
    *out = t;
    return DS_OK;
}
