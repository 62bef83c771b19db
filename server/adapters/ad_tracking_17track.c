/* ad_tracking_17track.c - a 17TRACK API v2.2-shaped tracking adapter:
 * POST gettrackinfo; a number not registered yet is registered (POST
 * register) and read again. Header `17token` carries the key; answers are
 * {"code":0,"data":{"accepted":[...],"rejected":[...]}}. */
#include "ad_tracking.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    T17_OK = 0,
    T17_NOT_REGISTERED = -18019902,
    T17_ALREADY_REGISTERED = -18019901,
    T17_INTERNAL = -18010003
};

enum { STAGE_INFO = 0, STAGE_REGISTER = 1, STAGE_INFO_AGAIN = 2 };

/* [{"number":N} or {"number":N,"carrier":code}] for one parcel. The
 * carrier goes along only when it is 17TRACK's numeric carrier code;
 * otherwise 17TRACK detects it. */
static json_t *number_body(const ad_get_tracking_in *in)
{
    bool numeric = in->carrier[0] != '\0';
    json_t *item;

    for (const char *c = in->carrier; *c != '\0'; c++)
        numeric = numeric && isdigit((unsigned char)*c) && c - in->carrier < 9;
    item = json_pack("{s:s}", "number", in->tracking_number);
    if (numeric && item != NULL)
        json_object_set_new(item, "carrier", json_integer(strtol(in->carrier, NULL, 10)));
    return json_pack("[o]", item);
}

static ad_step send(ad_op *op, const char *what)
{
    return ad_op_request(op, "POST", what, number_body(op->in), NULL, "17token");
}

/* The envelope's own error codes. */
static ad_step envelope_error(ad_op *op, const ad_response *resp, json_int_t code)
{
    char path[120];
    bool auth = code == -18010001 || code == -18010002 || code == -18010004 || code == -18010005;

    ad_url_path(resp->url, path, sizeof path);
    op->result.http_status = resp->result.http_status;
    snprintf(op->result.code, sizeof op->result.code, "%lld", (long long)code);
    if (auth)
        return ad_op_fail(op, DS_ERR_UNAUTHENTICATED, false, "POST %s: 17TRACK code %lld (key, IP or account refused)",
                          path, (long long)code);
    return ad_op_fail(op, code == T17_INTERNAL ? DS_ERR_UNAVAILABLE : DS_ERR_INVALID,
                      code == T17_INTERNAL, "POST %s: 17TRACK code %lld", path, (long long)code);
}

static const char *main_of(const char *sub, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.*s", (int)strcspn(sub, "_"), sub);
    return buf;
}

static ds_status decode_event(const json_t *e, const ad_jpath *p, ad_get_tracking_out *out, ds_error *err)
{
    ad_checkpoint cp;
    char main_status[AD_STATUS_TEXT_MAX];
    ds_status st;

    memset(&cp, 0, sizeof cp);
    st = ad_json_time(e, p, "time_utc", true, &cp.time_ms, err);
    if (st == DS_OK)
        st = ad_json_str(e, p, "sub_status", false, cp.vendor_status, sizeof cp.vendor_status, err);
    if (st == DS_OK)
        st = ad_json_text(e, p, "description", false, cp.message, sizeof cp.message, err);
    if (st == DS_OK)
        st = ad_json_text(e, p, "location", false, cp.location, sizeof cp.location, err);
    cp.status = ad_map_17track(main_of(cp.vendor_status, main_status, sizeof main_status),
                               cp.vendor_status, NULL);
    if (st == DS_OK)
        st = ad_checkpoints_add(out, &cp, err);
    return st;
}

/* Events of providers[0], newest first in 17TRACK -> oldest first here. */
static ds_status decode_events(const json_t *ti, const ad_jpath *tp, ad_get_tracking_out *out,
                               ds_error *err)
{
    json_t *tracking;
    json_t *providers = NULL;
    json_t *events = NULL;
    ad_jpath p;
    ad_jpath pp;
    ds_status st = ad_json_object(ti, tp, "tracking", false, &tracking, err);

    ad_jpath_key(&p, tp, "tracking");
    if (st == DS_OK && tracking != NULL)
        st = ad_json_array(tracking, &p, "providers", false, 0, &providers, err);
    if (st != DS_OK || json_array_size(providers) == 0)
        return st;
    ad_jpath_key(&pp, &p, "providers");
    ad_jpath_index(&p, &pp, 0);
    st = ad_json_array(json_array_get(providers, 0), &p, "events", false, 0, &events, err);
    ad_jpath_key(&pp, &p, "events");
    for (size_t i = json_array_size(events); st == DS_OK && i > 0; i--) {
        ad_jpath ep;
        ad_jpath_index(&ep, &pp, i - 1);
        st = decode_event(json_array_get(events, i - 1), &ep, out, err);
    }
    return st;
}

ds_status ad_decode_17track_item(const json_t *item, const ad_jpath *at, ad_get_tracking_out *out,
                                 ds_error *err)
{
    json_t *ti;
    json_t *latest;
    ad_jpath tp;
    ad_jpath lp;
    char main_status[AD_STATUS_TEXT_MAX];
    ds_status st;

    memset(out, 0, sizeof *out);
    st = ad_json_object(item, at, "track_info", true, &ti, err);
    ad_jpath_key(&tp, at, "track_info");
    if (st == DS_OK)
        st = ad_json_object(ti, &tp, "latest_status", true, &latest, err);
    ad_jpath_key(&lp, &tp, "latest_status");
    if (st == DS_OK)
        st = ad_json_str(latest, &lp, "status", true, main_status, sizeof main_status, err);
    if (st == DS_OK)
        st = ad_json_str(latest, &lp, "sub_status", false, out->vendor_status, sizeof out->vendor_status, err);
    if (st == DS_OK && out->vendor_status[0] == '\0')
        snprintf(out->vendor_status, sizeof out->vendor_status, "%s", main_status);
    out->status = ad_map_17track(main_status, out->vendor_status, &out->status_known);
    if (st == DS_OK)
        st = decode_events(ti, &tp, out, err);
    if (st == DS_OK && out->n_checkpoints > 0)
        out->updated_at_ms = out->checkpoints[out->n_checkpoints - 1].time_ms;
    if (st != DS_OK)
        ad_get_tracking_out_cleanup(out);
    return st;
}

/* First rejected item's error code, 0 when none. */
static json_int_t rejected_code(const json_t *data)
{
    json_t *rej = json_array_get(json_object_get(data, "rejected"), 0);

    return json_integer_value(json_object_get(json_object_get(rej, "error"), "code"));
}

static ad_step on_info(ad_op *op, const ad_response *resp, const json_t *data)
{
    json_t *item = json_array_get(json_object_get(data, "accepted"), 0);
    json_int_t rc = rejected_code(data);
    ad_jpath at;
    ds_error err;

    if (item == NULL && rc == T17_NOT_REGISTERED && op->stage == STAGE_INFO) {
        op->stage = STAGE_REGISTER;
        return send(op, "/register");
    }
    if (item == NULL && rc != 0)
        return envelope_error(op, resp, rc);
    if (item == NULL)
        return ad_op_fail(op, DS_ERR_INTERNAL, false, "POST /gettrackinfo: neither accepted nor rejected");
    ds_error_clear(&err);
    ad_jpath_root(&at);
    ad_jpath_key(&at, &at, "data.accepted[0]");
    if (ad_decode_17track_item(item, &at, op->out, &err) != DS_OK)
        return ad_op_decode_failed(op, resp, &err);
    op->result.http_status = resp->result.http_status;
    return AD_STEP_DONE;
}

static ad_step get_tracking(ad_op *op, const ad_response *resp)
{
    json_t *root;
    json_t *data;
    json_int_t code;
    json_int_t rc;
    ad_step s;

    if (resp == NULL)
        return send(op, "/gettrackinfo");
    if (resp->result.status != DS_OK) {
        op->result = resp->result;
        return AD_STEP_DONE;
    }
    root = ad_op_parse(op, resp);
    if (root == NULL)
        return AD_STEP_DONE;
    code = json_integer_value(json_object_get(root, "code"));
    data = json_object_get(root, "data");
    rc = rejected_code(data);
    if (code != T17_OK)
        s = envelope_error(op, resp, code);
    else if (op->stage == STAGE_REGISTER && rc != 0 && rc != T17_ALREADY_REGISTERED)
        s = envelope_error(op, resp, rc);
    else if (op->stage == STAGE_REGISTER) {
        op->stage = STAGE_INFO_AGAIN;
        s = send(op, "/gettrackinfo");
    } else
        s = on_info(op, resp, data);
    json_decref(root);
    return s;
}

static const ad_tracking_vt t17_vt = {.kind = "17track", .get_tracking = get_tracking};

ds_status ad_tracking_17track_new(ad_http *http, const ad_backend_config *cfg, ad_tracking **out,
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
    t->vt = &t17_vt;
    t->http = http;
    *out = t;
    return DS_OK;
}
