/* store_case_disputes.h - the supplier side of after-sales cases: the
 * dispute of a DISPUTE case as the supplier reports it, and the supplier's
 * answer to SUPPLIER-paid refund claims (migrations/0007_cases.sql
 * supplier_* columns, 0009_case_disputes.sql).
 *
 * Reads for the workflow fill small malloc'd structs (the task's inputs);
 * the API read fills the output-only fields of a Case message from the
 * caller's arena. Writes run in the caller's transaction with the case
 * locked (wf_case_lock); they never change cases.state.
 *
 * Threads: any thread that owns the connection.
 */
#ifndef STORE_CASE_DISPUTES_H
#define STORE_CASE_DISPUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_arena.h"
#include "ds_status.h"
#include "dropship/v1/cases.pb-c.h"
#include "store.h"

enum {
    STORE_CD_LINES_MAX = 100,
    STORE_CD_EVIDENCE_MAX = 100,
    STORE_CD_ID = 65,      /* supplier ids of disputes, refunds, orders */
    STORE_CD_STATUS = 48,
    STORE_CD_MESSAGE = 1001,
    STORE_CD_URI = 2001
};

typedef struct store_cd_money {
    char currency[4]; /* "" = none */
    int64_t units;
    int32_t nanos;
} store_cd_money;

/* What the dispute task sends: the case, its supplier order at the
 * supplier, the supplier SKUs of its lines and its evidence. */
typedef struct store_cd_case {
    char order_id[37], supplier_id[37];
    int32_t type, state;
    char description[4001];
    char supplier_order_ref[STORE_CD_ID]; /* the supplier's order id; "" = not placed */
    char dispute_id[STORE_CD_ID];         /* "" = not opened yet */
    char dispute_status[STORE_CD_STATUS];
    struct { char sku[65]; int32_t quantity; } lines[STORE_CD_LINES_MAX]; /* as AD_SKU_MAX */
    size_t n_lines;
    struct { char uri[STORE_CD_URI]; char sha256[65]; } evidence[STORE_CD_EVIDENCE_MAX];
    size_t n_evidence;
} store_cd_case;

/* Read the case for the dispute task. DS_ERR_NOT_FOUND when absent. */
ds_status store_cd_case_get(store_conn *c, const char *shop_id, const char *case_id,
                            store_cd_case *out, ds_error *err);

/* What the supplier said about the dispute (strings only read). */
typedef struct store_cd_update {
    const char *dispute_id;
    const char *status;
    const char *message;
    store_cd_money refund;       /* currency "" = none */
    const char *refund_id;       /* "" = none */
} store_cd_update;

/* Write the dispute columns of the case (update_time = now). */
ds_status store_cd_dispute_put(store_conn *tx, const char *shop_id, const char *case_id,
                               const store_cd_update *u, ds_error *err);

/* A SUPPLIER-paid refund claim as the refund task needs it. */
typedef struct store_cd_refund {
    int32_t payer;                        /* RefundPayer */
    store_cd_money amount;
    char supplier_refund_id[STORE_CD_ID]; /* "" = not refunded yet */
    char supplier_refund_status[STORE_CD_STATUS];
    char supplier_id[37];
    char supplier_order_ref[STORE_CD_ID];
    store_cd_money paid;                  /* proof of payment, else the order's cost */
} store_cd_refund;

/* Read refund refund_id of the case. DS_ERR_NOT_FOUND when absent. */
ds_status store_cd_refund_get(store_conn *c, const char *shop_id, const char *case_id,
                              const char *refund_id, store_cd_refund *out, ds_error *err);

/* Fill k->supplier_dispute and each refund's supplier_refund_* from the
 * database (k->id and k->refunds already read). Arena-owned. */
ds_status store_cd_fill(store_conn *c, const char *shop_id, Dropship__V1__Case *k, ds_arena *a,
                        ds_error *err);

#endif
