/* ad_tracking.h - what the workflow asks of a courier or tracking service:
 * the canonical status and checkpoints of one parcel.
 *
 * Implementations: ad_tracking_contract_new (docs/tracking-api.md) and
 * ad_tracking_17track_new (17TRACK API v2.2-shaped: register on first use,
 * then gettrackinfo). Calls follow the completion contract of ad_op.h.
 * A number the service does not know yet completes with DS_ERR_NOT_FOUND,
 * retryable: poll again later, it is not final for the parcel.
 *
 * Threads: calls from any thread; free only when no call is pending.
 */
#ifndef AD_TRACKING_H
#define AD_TRACKING_H

#include <stddef.h>
#include <stdint.h>

#include "ad_json.h"
#include "ad_op.h"
#include "ad_status_map.h"
#include "ad_supplier.h"

enum {
    AD_CHECKPOINTS_MAX = 200,
    AD_LOCATION_MAX = 128,
    AD_MESSAGE_MAX = 256
};

typedef struct ad_tracking ad_tracking;

typedef struct ad_checkpoint {
    int64_t time_ms;
    ad_track_status status;
    char vendor_status[AD_STATUS_TEXT_MAX]; /* the service's own text */
    char location[AD_LOCATION_MAX];         /* free text, cut at a character boundary */
    char message[AD_MESSAGE_MAX];
} ad_checkpoint;

typedef struct ad_get_tracking_in {
    const char *carrier;          /* as the supplier reported it */
    const char *tracking_number;
} ad_get_tracking_in;

typedef struct ad_get_tracking_out {
    ad_track_status status;
    char vendor_status[AD_STATUS_TEXT_MAX];
    bool status_known;            /* false: a vendor status no table lists (fallback used) */
    int64_t updated_at_ms;        /* 0 when unknown */
    int64_t estimated_delivery_ms;/* 0 when unknown */
    ad_checkpoint *checkpoints;   /* oldest first, exact repeats dropped */
    size_t n_checkpoints;
} ad_get_tracking_out;

void ad_get_tracking_out_cleanup(ad_get_tracking_out *out);

typedef struct ad_tracking_vt {
    const char *kind; /* "contract", "17track" */
    ad_step_fn get_tracking;
} ad_tracking_vt;

struct ad_tracking {
    const ad_tracking_vt *vt;
    ad_http *http;
    ad_backend backend;
};

ds_status ad_tracking_contract_new(ad_http *http, const ad_backend_config *cfg, ad_tracking **out,
                                   ds_error *err);
ds_status ad_tracking_17track_new(ad_http *http, const ad_backend_config *cfg, ad_tracking **out,
                                  ds_error *err);
void ad_tracking_free(ad_tracking *t);

ds_status ad_tracking_get(ad_tracking *t, const ad_get_tracking_in *in, ad_get_tracking_out *out,
                          ad_done_fn done, void *arg, ds_error *err);

/* Append a checkpoint unless it repeats the previous one (same time,
 * status and message); caps at AD_CHECKPOINTS_MAX keeping the newest. */
ds_status ad_checkpoints_add(ad_get_tracking_out *out, const ad_checkpoint *cp, ds_error *err);

/* Decoders (also used by unit tests). */
ds_status ad_decode_contract_tracking(const json_t *root, ad_get_tracking_out *out, ds_error *err);
/* One 17TRACK gettrackinfo "accepted" item. */
ds_status ad_decode_17track_item(const json_t *item, const ad_jpath *at, ad_get_tracking_out *out,
                                 ds_error *err);

#endif
