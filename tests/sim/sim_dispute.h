/* sim_dispute.h - disputes and refund claims of the simulated suppliers
 * (docs/supplier-api.md "Disputes and refunds").
 *
 * A dispute is about some lines of one order. It moves with reads: the
 * first GET answers SUPPLIER_RESPONDED, the second and later the final
 * status, chosen from the disputed SKUs: any SKU starting with "NODISPUTE"
 * -> REJECTED, else any starting with "DISPACCEPT" -> ACCEPTED (no money),
 * else REFUNDED with the disputed lines' cost (capped by what is left of
 * the order's payment). A refund claim needs a paid order and an amount
 * <= paid minus what was refunded already (422 AMOUNT_EXCEEDS_PAID).
 *
 * Counters (GET /_sim/disputes): requests, creations and replays per
 * Idempotency-Key, disputes per case_ref (a second dispute for one case
 * under another key is created, as a naive supplier would, and counted as
 * a duplicate), refunds per refund_ref.
 * Threads: every function requires the world lock (sim_route holds it).
 */
#ifndef SIM_DISPUTE_H
#define SIM_DISPUTE_H

#include <jansson.h>
#include <stdbool.h>

#include "sim_http.h"
#include "sim_order.h"

/* What a POST under /v1/orders/{id}/ is, for counting. */
typedef enum sim_dispute_kind {
    SIM_DK_NONE = 0,  /* not a dispute or refund request */
    SIM_DK_DISPUTE,   /* POST .../disputes */
    SIM_DK_REFUND     /* POST .../refunds */
} sim_dispute_kind;

/* Classify the path after the supplier key ("/v1/orders/SO-1/disputes"). */
sim_dispute_kind sim_dispute_kind_of(const char *rest);

/* One POST of kind k under Idempotency-Key key reached the supplier
 * (replay: answered from the key store). */
void sim_dispute_count(sim_dispute_kind k, const char *key, bool replay);

/* POST /v1/orders/{id}/disputes on order o. */
void sim_dispute_open(sim_req *req, sim_resp *resp, sim_order *o, const char *key);

/* GET /v1/orders/{id}/disputes/{dispute_id}: counts one read. */
void sim_dispute_get(sim_resp *resp, sim_order *o, const char *dispute_id);

/* POST /v1/orders/{id}/refunds on order o. */
void sim_dispute_refund(sim_req *req, sim_resp *resp, sim_order *o, const char *key);

/* The counters (GET /_sim/disputes); caller owns. */
json_t *sim_dispute_stats(void);

/* Forget every dispute, refund and counter. */
void sim_dispute_reset(void);

#endif
