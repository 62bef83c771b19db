/* ad_supplier.h - what the workflow asks of a supplier, whatever API the
 * supplier speaks: plain C input/output structs and an adapter vtable.
 *
 * Implementations: ad_supplier_contract_new (the project's HTTP contract,
 * docs/supplier-api.md, disputes and refund claims included) and
 * ad_supplier_cj_new (a CJdropshipping API
 * 2.0-shaped API). Every call is asynchronous and follows the completion
 * contract of ad_op.h: DS_OK means `done` will be called exactly once on
 * the ad_http loop thread, and `in` / `out` must stay valid until then.
 * Outputs are filled only on success; lists inside them are malloc'd and
 * released by the matching *_cleanup (safe on zeroed structs).
 *
 * Results: result->status is DS_OK or an ad_classify class; business
 * refusals carry the vendor code (result->code "OUT_OF_STOCK", "REJECTED",
 * ...). A cancel that the supplier refuses because the order shipped is
 * not an error: DS_OK with out->cancelled = false.
 *
 * Threads: calls from any thread; an ad_supplier is immutable after
 * construction and shared freely; free it only when no call is pending.
 */
#ifndef AD_SUPPLIER_H
#define AD_SUPPLIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ad_json.h"
#include "ad_op.h"
#include "ad_status_map.h"

enum {
    AD_ID_MAX = 65,         /* supplier ids, transaction ids, tracking numbers (64 chars) */
    AD_SKU_MAX = 65,
    AD_REF_MAX = 129,       /* order_ref */
    AD_CARRIER_MAX = 33,
    AD_ADDR_MAX = 201,      /* one address field */
    AD_STATUS_TEXT_MAX = 48,/* the vendor's own status text, kept for history */
    AD_RULE_TEXT_MAX = 512,
    AD_LINES_MAX = 100,     /* lines per order, parcels per order, SKUs per offer request */
    AD_PARCELS_MAX = 100
};

/* The routes of a supplier API (ad_backend_config.routes): the numbers of
 * dropship.v1.SupplierEndpoint, so a supplier's endpoint_rate_limits map
 * onto them one to one. Every request of an operation goes under its
 * route's limit key, CJ's confirm-then-pay included; disputes and refund
 * claims have no route of their own (the backend's endpoint). */
typedef enum ad_supplier_route {
    AD_SUPPLIER_ROUTE_NONE = 0,
    AD_SUPPLIER_ROUTE_CREATE_ORDER = 1,
    AD_SUPPLIER_ROUTE_GET_ORDER = 2,
    AD_SUPPLIER_ROUTE_CANCEL_ORDER = 3,
    AD_SUPPLIER_ROUTE_PAY_ORDER = 4,
    AD_SUPPLIER_ROUTE_LIST_OFFERS = 5,
    AD_SUPPLIER_ROUTE_GET_RETURN_POLICY = 6,
    AD_SUPPLIER_ROUTES = 7
} ad_supplier_route;

typedef struct ad_supplier ad_supplier;

typedef struct ad_address {
    char recipient_name[AD_ADDR_MAX];
    char phone[AD_ADDR_MAX];
    char country_code[3];   /* ISO 3166-1 alpha-2 */
    char region[AD_ADDR_MAX];
    char city[AD_ADDR_MAX];
    char street[AD_ADDR_MAX];
    char postal_code[AD_ADDR_MAX];
} ad_address;

typedef struct ad_line {
    char sku[AD_SKU_MAX];   /* supplier SKU */
    int64_t quantity;
} ad_line;

/* create_order */
typedef struct ad_create_order_in {
    const char *idempotency_key; /* stable: "<order_id>:<supplier_id>" */
    const char *order_ref;       /* "<order_id>:<supplier_id>" */
    const ad_line *lines;
    size_t n_lines;              /* 1..AD_LINES_MAX */
    const ad_address *ship_to;
} ad_create_order_in;

typedef struct ad_create_order_out {
    char supplier_order_id[AD_ID_MAX];
    ad_order_status status;
    char status_text[AD_STATUS_TEXT_MAX];
    ad_money total_cost;
    bool replayed;               /* the supplier answered an earlier identical request (200) */
} ad_create_order_out;

/* get_order */
typedef struct ad_parcel {
    char carrier[AD_CARRIER_MAX];
    char tracking_number[AD_ID_MAX];
    int64_t shipped_at_ms;       /* 0 when unknown */
    ad_line *lines;              /* may be empty when the supplier does not say */
    size_t n_lines;
} ad_parcel;

typedef struct ad_get_order_in {
    const char *supplier_order_id;
} ad_get_order_in;

typedef struct ad_get_order_out {
    char supplier_order_id[AD_ID_MAX];
    ad_order_status status;
    char status_text[AD_STATUS_TEXT_MAX];
    ad_money total_cost;
    bool paid;
    ad_parcel *parcels;          /* deduplicated by (carrier, tracking_number) */
    size_t n_parcels;
} ad_get_order_out;

void ad_get_order_out_cleanup(ad_get_order_out *out);

/* cancel_order */
typedef struct ad_cancel_order_in {
    const char *supplier_order_id;
    const char *idempotency_key; /* "<order_ref>:cancel" */
} ad_cancel_order_in;

typedef struct ad_cancel_order_out {
    bool cancelled;              /* false: refused (already shipped) */
    char refusal_code[AD_CODE_MAX];
} ad_cancel_order_out;

/* pay_order */
typedef struct ad_pay_order_in {
    const char *supplier_order_id;
    ad_money amount;
    const char *idempotency_key; /* "<order_ref>:pay" */
} ad_pay_order_in;

typedef struct ad_pay_order_out {
    char transaction_id[AD_ID_MAX];
    ad_money amount;
    int64_t paid_at_ms;
} ad_pay_order_out;

/* list_offers */
typedef struct ad_list_offers_in {
    const char *const *skus;
    size_t n_skus;               /* 1..AD_LINES_MAX */
} ad_list_offers_in;

typedef struct ad_offer {
    char sku[AD_SKU_MAX];
    int64_t stock;
    ad_money cost;
    int64_t ship_days;
    int64_t updated_at_ms;       /* 0 when unknown */
} ad_offer;

typedef struct ad_list_offers_out {
    ad_offer *offers;
    size_t n_offers;
} ad_list_offers_out;

void ad_list_offers_out_cleanup(ad_list_offers_out *out);

/* get_return_policy */
typedef enum ad_postage_payer {
    AD_PAYER_BUYER = 0,
    AD_PAYER_SUPPLIER,
    AD_PAYER_SHOP
} ad_postage_payer;

typedef struct ad_return_policy_in {
    const char *sku;             /* NULL = the supplier's general policy */
} ad_return_policy_in;

typedef struct ad_return_policy_out {
    ad_address address;
    int64_t no_reason_return_days;
    ad_postage_payer return_postage_payer;
    char damaged_goods[AD_RULE_TEXT_MAX];
} ad_return_policy_out;

/* open_dispute: a complaint about some lines of a supplier order, with
 * evidence; the supplier answers over time (get_dispute). */
enum { AD_EVIDENCE_MAX = 100, AD_URI_MAX = 2001, AD_REASON_MAX = 4001, AD_DISPUTE_MESSAGE_MAX = 1001 };

typedef struct ad_evidence_ref {
    const char *uri;             /* absolute URI, < AD_URI_MAX bytes */
    const char *sha256;          /* 64 lower-case hex digits */
} ad_evidence_ref;

typedef struct ad_open_dispute_in {
    const char *supplier_order_id;
    const char *idempotency_key; /* stable: "<case_id>:dispute" */
    const char *case_ref;        /* the case id */
    const char *type;            /* "DISPUTE", "DAMAGED", "NOT_AS_DESCRIBED", ... */
    const ad_line *lines;        /* supplier SKUs and quantities */
    size_t n_lines;              /* 1..AD_LINES_MAX */
    const char *reason;          /* 1..AD_REASON_MAX-1 bytes */
    const ad_evidence_ref *evidence;
    size_t n_evidence;           /* 0..AD_EVIDENCE_MAX */
} ad_open_dispute_in;

typedef enum ad_dispute_status {
    AD_DISPUTE_OPEN = 0,         /* received, nobody answered yet */
    AD_DISPUTE_RESPONDED,        /* the supplier answered, no decision yet */
    AD_DISPUTE_ACCEPTED,         /* final: accepted without a refund through the API */
    AD_DISPUTE_REJECTED,         /* final: refused */
    AD_DISPUTE_REFUNDED          /* final: accepted and refunded (refund_* set) */
} ad_dispute_status;

/* Answer of open_dispute and get_dispute. */
typedef struct ad_dispute_out {
    char dispute_id[AD_ID_MAX];
    ad_dispute_status status;
    char status_text[AD_STATUS_TEXT_MAX];
    char message[AD_DISPUTE_MESSAGE_MAX]; /* the supplier's answer; cut at a character boundary */
    ad_money refund_amount;        /* REFUNDED only */
    char refund_id[AD_ID_MAX];     /* REFUNDED only: the refund transaction id */
    int64_t refunded_at_ms;
    bool replayed;                 /* open_dispute answered an earlier identical request */
} ad_dispute_out;

typedef struct ad_get_dispute_in {
    const char *supplier_order_id;
    const char *dispute_id;
} ad_get_dispute_in;

/* request_refund: claim money back for a paid supplier order. */
typedef struct ad_request_refund_in {
    const char *supplier_order_id;
    const char *idempotency_key; /* stable: "<case_id>:refund:<refund_id>" */
    const char *refund_ref;      /* "<case_id>:<refund_id>" */
    ad_money amount;             /* > 0 and <= what was paid */
    const char *reason;          /* 0..AD_REASON_MAX-1 bytes; NULL = none */
} ad_request_refund_in;

typedef struct ad_request_refund_out {
    char transaction_id[AD_ID_MAX];
    ad_money amount;
    int64_t refunded_at_ms;
} ad_request_refund_out;

/* The adapter vtable: one step function per operation (NULL = not
 * supported: the call fails with DS_ERR_UNIMPLEMENTED, done not called). */
typedef struct ad_supplier_vt {
    const char *kind; /* "contract", "cj" */
    ad_step_fn create_order;
    ad_step_fn get_order;
    ad_step_fn cancel_order;
    ad_step_fn pay_order;
    ad_step_fn list_offers;
    ad_step_fn get_return_policy;
    ad_step_fn open_dispute;     /* NULL for CJ: disputes are handled by people */
    ad_step_fn get_dispute;
    ad_step_fn request_refund;
} ad_supplier_vt;

struct ad_supplier {
    const ad_supplier_vt *vt;
    ad_http *http;               /* borrowed: must outlive the supplier */
    ad_backend backend;
};

/* Constructors: `http` is borrowed. Errors: DS_ERR_CONFIG, DS_ERR_NOMEM. */
ds_status ad_supplier_contract_new(ad_http *http, const ad_backend_config *cfg, ad_supplier **out,
                                   ds_error *err);
ds_status ad_supplier_cj_new(ad_http *http, const ad_backend_config *cfg, ad_supplier **out,
                             ds_error *err);
void ad_supplier_free(ad_supplier *s);

/* The operations (see the header comment for the completion contract). */
ds_status ad_supplier_create_order(ad_supplier *s, const ad_create_order_in *in,
                                   ad_create_order_out *out, ad_done_fn done, void *arg,
                                   ds_error *err);
ds_status ad_supplier_get_order(ad_supplier *s, const ad_get_order_in *in, ad_get_order_out *out,
                                ad_done_fn done, void *arg, ds_error *err);
ds_status ad_supplier_cancel_order(ad_supplier *s, const ad_cancel_order_in *in,
                                   ad_cancel_order_out *out, ad_done_fn done, void *arg,
                                   ds_error *err);
ds_status ad_supplier_pay_order(ad_supplier *s, const ad_pay_order_in *in, ad_pay_order_out *out,
                                ad_done_fn done, void *arg, ds_error *err);
ds_status ad_supplier_list_offers(ad_supplier *s, const ad_list_offers_in *in,
                                  ad_list_offers_out *out, ad_done_fn done, void *arg,
                                  ds_error *err);
ds_status ad_supplier_get_return_policy(ad_supplier *s, const ad_return_policy_in *in,
                                        ad_return_policy_out *out, ad_done_fn done, void *arg,
                                        ds_error *err);

/* Disputes and refund claims (docs/supplier-api.md "Disputes and
 * refunds"). A supplier that does not support them (CJ) refuses with
 * DS_ERR_UNIMPLEMENTED before anything is sent. A 4xx answer is final
 * (result->retryable false, result->code the contract's code such as
 * AMOUNT_EXCEEDS_PAID); 5xx, 429 and transport errors are retryable. */
ds_status ad_supplier_open_dispute(ad_supplier *s, const ad_open_dispute_in *in,
                                   ad_dispute_out *out, ad_done_fn done, void *arg,
                                   ds_error *err);
ds_status ad_supplier_get_dispute(ad_supplier *s, const ad_get_dispute_in *in,
                                  ad_dispute_out *out, ad_done_fn done, void *arg, ds_error *err);
ds_status ad_supplier_request_refund(ad_supplier *s, const ad_request_refund_in *in,
                                     ad_request_refund_out *out, ad_done_fn done, void *arg,
                                     ds_error *err);

/* Decoders shared by adapters and unit tests: one JSON object of the
 * contract -> struct; errors name the JSON path. */
ds_status ad_decode_address(const json_t *obj, const ad_jpath *at, const char *key, ad_address *out,
                            ds_error *err);
ds_status ad_decode_lines(const json_t *obj, const ad_jpath *at, const char *key, bool required,
                          ad_line **lines, size_t *n, ds_error *err);
ds_status ad_decode_contract_order(const json_t *root, ad_get_order_out *out, ds_error *err);
ds_status ad_decode_contract_created(const json_t *root, ad_create_order_out *out, ds_error *err);
ds_status ad_decode_contract_payment(const json_t *root, ad_pay_order_out *out, ds_error *err);
ds_status ad_decode_contract_offers(const json_t *root, ad_list_offers_out *out, ds_error *err);
ds_status ad_decode_contract_policy(const json_t *root, ad_return_policy_out *out, ds_error *err);
ds_status ad_decode_contract_dispute(const json_t *root, ad_dispute_out *out, ds_error *err);
ds_status ad_decode_contract_refund(const json_t *root, ad_request_refund_out *out, ds_error *err);

/* Append a parcel unless (carrier, tracking_number) is already listed;
 * takes ownership of p->lines either way. */
ds_status ad_parcels_add(ad_get_order_out *out, ad_parcel *p, ds_error *err);

#endif
