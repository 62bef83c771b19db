/* ad_status_map.h - the canonical parcel and supplier-order vocabularies,
 * and the tables that map every vendor's statuses onto them.
 *
 * Each vendor vocabulary is one table (data, ad_status_map.c) that a reader
 * sees in one screen; docs/adapters.md reproduces them. A vendor status
 * that no table lists maps to a defined fallback, never to a guess:
 * parcels -> AD_TRACK_EXCEPTION (a person must look), supplier orders ->
 * AD_ORDER_UNKNOWN (the workflow keeps polling and reports it).
 *
 * Threads: all data is constant; every function is reentrant.
 */
#ifndef AD_STATUS_MAP_H
#define AD_STATUS_MAP_H

#include <stdbool.h>

/* Canonical parcel status (docs/tracking-api.md). */
typedef enum ad_track_status {
    AD_TRACK_PENDING = 0,          /* number known, nothing reported yet */
    AD_TRACK_INFO_RECEIVED,        /* carrier has the data, not the parcel */
    AD_TRACK_IN_TRANSIT,           /* moving through the network */
    AD_TRACK_OUT_FOR_DELIVERY,     /* on the vehicle today */
    AD_TRACK_FAILED_ATTEMPT,       /* a delivery attempt failed */
    AD_TRACK_AVAILABLE_FOR_PICKUP, /* waiting at a pickup point */
    AD_TRACK_DELIVERED,            /* delivered (final) */
    AD_TRACK_EXCEPTION,            /* lost, damaged, held, refused: a person must look */
    AD_TRACK_EXPIRED,              /* no news for too long (final) */
    AD_TRACK_RETURNING_TO_SENDER,  /* on its way back */
    AD_TRACK_COUNT_
} ad_track_status;

/* Canonical supplier order status (docs/supplier-api.md). */
typedef enum ad_order_status {
    AD_ORDER_UNKNOWN = 0,          /* fallback: the supplier said something no table knows */
    AD_ORDER_ACCEPTED,             /* created, not paid */
    AD_ORDER_PAID,                 /* paid, not yet being prepared */
    AD_ORDER_PROCESSING,           /* being picked and packed */
    AD_ORDER_PARTIALLY_SHIPPED,    /* some parcels handed over */
    AD_ORDER_SHIPPED,              /* every line shipped */
    AD_ORDER_CANCELLED,            /* cancelled before shipment */
    AD_ORDER_REJECTED,             /* refused after creation */
    AD_ORDER_COUNT_
} ad_order_status;

/* One row: vendor text -> canonical value. */
typedef struct ad_status_row {
    const char *vendor;
    int canonical;
} ad_status_row;

/* A named vocabulary: rows end with {NULL, 0}. */
typedef struct ad_status_table {
    const char *name;         /* "17track", "cj.order", ... */
    const ad_status_row *rows;
    int fallback;             /* value for texts no row lists */
} ad_status_table;

/* The tables. */
extern const ad_status_table ad_map_contract_track;   /* canonical names, identity */
extern const ad_status_table ad_map_contract_order;   /* canonical names, identity */
extern const ad_status_table ad_map_17track_main;     /* 17TRACK main status */
extern const ad_status_table ad_map_17track_sub;      /* 17TRACK sub-status overrides */
extern const ad_status_table ad_map_aftership_tag;    /* AfterShip tag */
extern const ad_status_table ad_map_cj_order;         /* CJ orderStatus */
extern const ad_status_table ad_map_cj_track;         /* CJ trackInfo trackingStatus text */

/* Look `vendor` up (exact match; NULL -> fallback). *known (may be NULL)
 * says whether a row matched. */
int ad_status_map(const ad_status_table *t, const char *vendor, bool *known);

/* 17TRACK: the sub-status wins when it has a row, else the main status. */
ad_track_status ad_map_17track(const char *main_status, const char *sub_status, bool *known);

/* Canonical names ("IN_TRANSIT", "SHIPPED"); "?" when out of range. */
const char *ad_track_status_name(ad_track_status s);
const char *ad_order_status_name(ad_order_status s);

/* Is the parcel status final (DELIVERED, EXPIRED)? */
bool ad_track_status_final(ad_track_status s);

#endif
