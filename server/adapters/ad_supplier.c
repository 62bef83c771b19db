/* ad_supplier.c - supplier adapter dispatch and output lifetimes. */
#include "ad_supplier.h"

#include <stdlib.h>
#include <string.h>

_Static_assert((int)AD_SUPPLIER_ROUTES <= (int)AD_ROUTES_MAX, "supplier routes must fit ad_backend");

void ad_supplier_free(ad_supplier *s)
{
    free(s);
}

/* Start vt's step for one operation. */
static ds_status run(ad_supplier *s, ad_supplier_route route, ad_step_fn step, const void *in,
                     void *out, ad_done_fn done, void *arg, ds_error *err)
{
    if (s == NULL || in == NULL || out == NULL)
        return ds_error_set(err, DS_ERR_INVALID,
                            "supplier operation needs an adapter, input and output");
    if (step == NULL)
        return ds_error_set(err, DS_ERR_UNIMPLEMENTED,
                            "the %s supplier adapter does not support this operation", s->vt->kind);
    return ad_op_start(s->http, &s->backend, (int)route, step, in, out, done, arg, err);
}

ds_status ad_supplier_create_order(ad_supplier *s, const ad_create_order_in *in,
                                   ad_create_order_out *out, ad_done_fn done, void *arg,
                                   ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_CREATE_ORDER, s ? s->vt->create_order : NULL, in, out, done,
               arg, err);
}

ds_status ad_supplier_get_order(ad_supplier *s, const ad_get_order_in *in, ad_get_order_out *out,
                                ad_done_fn done, void *arg, ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_GET_ORDER, s ? s->vt->get_order : NULL, in, out, done, arg,
               err);
}

ds_status ad_supplier_cancel_order(ad_supplier *s, const ad_cancel_order_in *in,
                                   ad_cancel_order_out *out, ad_done_fn done, void *arg,
                                   ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_CANCEL_ORDER, s ? s->vt->cancel_order : NULL, in, out, done,
               arg, err);
}

ds_status ad_supplier_pay_order(ad_supplier *s, const ad_pay_order_in *in, ad_pay_order_out *out,
                                ad_done_fn done, void *arg, ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_PAY_ORDER, s ? s->vt->pay_order : NULL, in, out, done, arg,
               err);
}

ds_status ad_supplier_list_offers(ad_supplier *s, const ad_list_offers_in *in,
                                  ad_list_offers_out *out, ad_done_fn done, void *arg,
                                  ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_LIST_OFFERS, s ? s->vt->list_offers : NULL, in, out, done, arg,
               err);
}

ds_status ad_supplier_get_return_policy(ad_supplier *s, const ad_return_policy_in *in,
                                        ad_return_policy_out *out, ad_done_fn done, void *arg,
                                        ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_GET_RETURN_POLICY, s ? s->vt->get_return_policy : NULL, in, out,
               done, arg, err);
}

ds_status ad_supplier_open_dispute(ad_supplier *s, const ad_open_dispute_in *in,
                                   ad_dispute_out *out, ad_done_fn done, void *arg, ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_NONE, s ? s->vt->open_dispute : NULL, in, out, done, arg, err);
}

ds_status ad_supplier_get_dispute(ad_supplier *s, const ad_get_dispute_in *in, ad_dispute_out *out,
                                  ad_done_fn done, void *arg, ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_NONE, s ? s->vt->get_dispute : NULL, in, out, done, arg, err);
}

ds_status ad_supplier_request_refund(ad_supplier *s, const ad_request_refund_in *in,
                                     ad_request_refund_out *out, ad_done_fn done, void *arg,
                                     ds_error *err)
{
    return run(s, AD_SUPPLIER_ROUTE_NONE, s ? s->vt->request_refund : NULL, in, out, done, arg,
               err);
}

void ad_get_order_out_cleanup(ad_get_order_out *out)
{
    if (out == NULL)
        return;
    for (size_t i = 0; i < out->n_parcels; i++)
        free(out->parcels[i].lines);
    free(out->parcels);
    out->parcels = NULL;
    out->n_parcels = 0;
}

void ad_list_offers_out_cleanup(ad_list_offers_out *out)
{
    if (out == NULL)
        return;
    free(out->offers);
    out->offers = NULL;
    out->n_offers = 0;
}

ds_status ad_parcels_add(ad_get_order_out *out, ad_parcel *p, ds_error *err)
{
    ad_parcel *grown;

    for (size_t i = 0; i < out->n_parcels; i++) {
        if (strcmp(out->parcels[i].carrier, p->carrier) == 0 &&
            strcmp(out->parcels[i].tracking_number, p->tracking_number) == 0) {
            free(p->lines); /* the same parcel listed twice */
            return DS_OK;
        }
    }
    if (out->n_parcels >= AD_PARCELS_MAX) {
        free(p->lines);
        return ds_error_set(err, DS_ERR_INTERNAL, "parcels: more than %d", AD_PARCELS_MAX);
    }
    grown = realloc(out->parcels, (out->n_parcels + 1) * sizeof *grown);
    if (grown == NULL) {
        free(p->lines);
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for parcels");
    }
    out->parcels = grown;
    out->parcels[out->n_parcels++] = *p;
    return DS_OK;
}
