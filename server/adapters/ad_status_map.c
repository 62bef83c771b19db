/* ad_status_map.c - vendor status vocabularies as data. */
#include "ad_status_map.h"

#include <stddef.h>
#include <string.h>

static const char *const track_names[AD_TRACK_COUNT_] = {
    "PENDING",   "INFO_RECEIVED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "FAILED_ATTEMPT",
    "AVAILABLE_FOR_PICKUP", "DELIVERED", "EXCEPTION", "EXPIRED", "RETURNING_TO_SENDER"};

static const char *const order_names[AD_ORDER_COUNT_] = {
    "UNKNOWN", "ACCEPTED", "PAID", "PROCESSING", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
    "REJECTED"};

/* The project's own contract: canonical names. */
static const ad_status_row contract_track[] = {
    {"PENDING", AD_TRACK_PENDING},
    {"INFO_RECEIVED", AD_TRACK_INFO_RECEIVED},
    {"IN_TRANSIT", AD_TRACK_IN_TRANSIT},
    {"OUT_FOR_DELIVERY", AD_TRACK_OUT_FOR_DELIVERY},
    {"FAILED_ATTEMPT", AD_TRACK_FAILED_ATTEMPT},
    {"AVAILABLE_FOR_PICKUP", AD_TRACK_AVAILABLE_FOR_PICKUP},
    {"DELIVERED", AD_TRACK_DELIVERED},
    {"EXCEPTION", AD_TRACK_EXCEPTION},
    {"EXPIRED", AD_TRACK_EXPIRED},
    {"RETURNING_TO_SENDER", AD_TRACK_RETURNING_TO_SENDER},
    {NULL, 0}};

static const ad_status_row contract_order[] = {
    {"ACCEPTED", AD_ORDER_ACCEPTED},
    {"PAID", AD_ORDER_PAID},
    {"PROCESSING", AD_ORDER_PROCESSING},
    {"PARTIALLY_SHIPPED", AD_ORDER_PARTIALLY_SHIPPED},
    {"SHIPPED", AD_ORDER_SHIPPED},
    {"CANCELLED", AD_ORDER_CANCELLED},
    {"REJECTED", AD_ORDER_REJECTED},
    {NULL, 0}};

/* 17TRACK API v2 main statuses. */
static const ad_status_row t17_main[] = {
    {"NotFound", AD_TRACK_PENDING},
    {"InfoReceived", AD_TRACK_INFO_RECEIVED},
    {"InTransit", AD_TRACK_IN_TRANSIT},
    {"Expired", AD_TRACK_EXPIRED},
    {"AvailableForPickup", AD_TRACK_AVAILABLE_FOR_PICKUP},
    {"OutForDelivery", AD_TRACK_OUT_FOR_DELIVERY},
    {"DeliveryFailure", AD_TRACK_FAILED_ATTEMPT},
    {"Delivered", AD_TRACK_DELIVERED},
    {"Exception", AD_TRACK_EXCEPTION},
    {NULL, 0}};

/* 17TRACK sub-statuses whose meaning differs from their main status;
 * every other sub-status takes its main status's mapping. */
static const ad_status_row t17_sub[] = {
    {"Exception_Returning", AD_TRACK_RETURNING_TO_SENDER},
    {"Exception_Returned", AD_TRACK_RETURNING_TO_SENDER},
    {"InTransit_CustomsRequiringInformation", AD_TRACK_EXCEPTION},
    {"DeliveryFailure_InvalidAddress", AD_TRACK_EXCEPTION},
    {"DeliveryFailure_Rejected", AD_TRACK_EXCEPTION},
    {NULL, 0}};

/* AfterShip tags. */
static const ad_status_row aftership[] = {
    {"Pending", AD_TRACK_PENDING},
    {"InfoReceived", AD_TRACK_INFO_RECEIVED},
    {"InTransit", AD_TRACK_IN_TRANSIT},
    {"OutForDelivery", AD_TRACK_OUT_FOR_DELIVERY},
    {"AttemptFail", AD_TRACK_FAILED_ATTEMPT},
    {"AvailableForPickup", AD_TRACK_AVAILABLE_FOR_PICKUP},
    {"Delivered", AD_TRACK_DELIVERED},
    {"Exception", AD_TRACK_EXCEPTION},
    {"Expired", AD_TRACK_EXPIRED},
    {NULL, 0}};

/* CJdropshipping orderStatus. */
static const ad_status_row cj_order[] = {
    {"CREATED", AD_ORDER_ACCEPTED},     /* created, not yet confirmed */
    {"IN_CART", AD_ORDER_ACCEPTED},     /* waiting in the cart for confirmation */
    {"UNPAID", AD_ORDER_ACCEPTED},      /* confirmed, waiting for payment */
    {"UNSHIPPED", AD_ORDER_PROCESSING}, /* paid, being prepared */
    {"SHIPPED", AD_ORDER_SHIPPED},
    {"DELIVERED", AD_ORDER_SHIPPED},    /* delivery is the courier's business */
    {"CANCELLED", AD_ORDER_CANCELLED},
    {NULL, 0}};

/* CJdropshipping logistics trackingStatus texts. */
static const ad_status_row cj_track[] = {
    {"Not found", AD_TRACK_PENDING},
    {"Info received", AD_TRACK_INFO_RECEIVED},
    {"In transit", AD_TRACK_IN_TRANSIT},
    {"Out for delivery", AD_TRACK_OUT_FOR_DELIVERY},
    {"Delivery failed", AD_TRACK_FAILED_ATTEMPT},
    {"Pending pickup", AD_TRACK_AVAILABLE_FOR_PICKUP},
    {"Delivered", AD_TRACK_DELIVERED},
    {"Exception", AD_TRACK_EXCEPTION},
    {"Expired", AD_TRACK_EXPIRED},
    {"Returning", AD_TRACK_RETURNING_TO_SENDER},
    {NULL, 0}};

const ad_status_table ad_map_contract_track = {"contract.tracking", contract_track, AD_TRACK_EXCEPTION};
const ad_status_table ad_map_contract_order = {"contract.order", contract_order, AD_ORDER_UNKNOWN};
const ad_status_table ad_map_17track_main = {"17track", t17_main, AD_TRACK_EXCEPTION};
const ad_status_table ad_map_17track_sub = {"17track.sub", t17_sub, -1};
const ad_status_table ad_map_aftership_tag = {"aftership", aftership, AD_TRACK_EXCEPTION};
const ad_status_table ad_map_cj_order = {"cj.order", cj_order, AD_ORDER_UNKNOWN};
const ad_status_table ad_map_cj_track = {"cj.tracking", cj_track, AD_TRACK_EXCEPTION};

int ad_status_map(const ad_status_table *t, const char *vendor, bool *known)
{
    for (const ad_status_row *r = t->rows; vendor != NULL && r->vendor != NULL; r++) {
        if (strcmp(r->vendor, vendor) == 0) {
            if (known != NULL)
                *known = true;
            return r->canonical;
        }
    }
    if (known != NULL)
        *known = false;
    return t->fallback;
}

ad_track_status ad_map_17track(const char *main_status, const char *sub_status, bool *known)
{
    bool sub_known = false;
    int sub = ad_status_map(&ad_map_17track_sub, sub_status, &sub_known);

    if (sub_known) {
        if (known != NULL)
            *known = true;
        return (ad_track_status)sub;
    }
    return (ad_track_status)ad_status_map(&ad_map_17track_main, main_status, known);
}

const char *ad_track_status_name(ad_track_status s)
{
    return (int)s >= 0 && s < AD_TRACK_COUNT_ ? track_names[s] : "?";
}

const char *ad_order_status_name(ad_order_status s)
{
    return (int)s >= 0 && s < AD_ORDER_COUNT_ ? order_names[s] : "?";
}

bool ad_track_status_final(ad_track_status s)
{
    return s == AD_TRACK_DELIVERED || s == AD_TRACK_EXPIRED;
}
