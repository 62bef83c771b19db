/* ad_tracking.c - tracking adapter dispatch and checkpoint lists. */
#include "ad_tracking.h"

#include <stdlib.h>
#include <string.h>

void ad_tracking_free(ad_tracking *t)
{
    free(t);
}

ds_status ad_tracking_get(ad_tracking *t, const ad_get_tracking_in *in, ad_get_tracking_out *out,
                          ad_done_fn done, void *arg, ds_error *err)
{
    if (t == NULL || in == NULL || out == NULL)
        return ds_error_set(err, DS_ERR_INVALID, "get_tracking needs an adapter, input and output");
    if (in->carrier == NULL || in->carrier[0] == '\0' || strlen(in->carrier) >= AD_CARRIER_MAX ||
        in->tracking_number == NULL || in->tracking_number[0] == '\0' ||
        strlen(in->tracking_number) >= AD_ID_MAX)
        return ds_error_set(err, DS_ERR_INVALID, "get_tracking needs a carrier (< %d bytes) and a "
                            "tracking number (< %d bytes)", AD_CARRIER_MAX, AD_ID_MAX);
    return ad_op_start(t->http, &t->backend, 0, t->vt->get_tracking, in, out, done, arg, err);
}

void ad_get_tracking_out_cleanup(ad_get_tracking_out *out)
{
    if (out == NULL)
        return;
    free(out->checkpoints);
    out->checkpoints = NULL;
    out->n_checkpoints = 0;
}

ds_status ad_checkpoints_add(ad_get_tracking_out *out, const ad_checkpoint *cp, ds_error *err)
{
    ad_checkpoint *last = out->n_checkpoints > 0 ? &out->checkpoints[out->n_checkpoints - 1] : NULL;
    ad_checkpoint *grown;

    if (last != NULL && last->time_ms == cp->time_ms && last->status == cp->status &&
        strcmp(last->message, cp->message) == 0)
        return DS_OK; /* a repeated checkpoint */
    if (out->n_checkpoints >= AD_CHECKPOINTS_MAX) {
        memmove(out->checkpoints, out->checkpoints + 1, (out->n_checkpoints - 1) * sizeof *cp);
        out->checkpoints[out->n_checkpoints - 1] = *cp;
        return DS_OK;
    }
    grown = realloc(out->checkpoints, (out->n_checkpoints + 1) * sizeof *grown);
    if (grown == NULL)
        return ds_error_set(err, DS_ERR_NOMEM, "out of memory for checkpoints");
    out->checkpoints = grown;
    out->checkpoints[out->n_checkpoints++] = *cp;
    return DS_OK;
}
