/* wf_case_fsm.h - the after-sales case state machine: which case state
 * changes are legal, and the one function that changes cases.state.
 *
 * A case change is one transaction: wf_case_lock locks the case's ORDER row
 * first (the wf_events.h rule: case events are order events), then the case
 * row; the caller writes its own rows (refund, evidence, ...), then calls
 * wf_case_apply, which checks the transition against the table, writes
 * state + version (+ close_time), and appends the history event to the
 * order (case_id, case_from_state, case_to_state set; order states left
 * UNSPECIFIED). The table (wf_case_fsm.c) is:
 *
 *   OPEN            -> APPROVED | REJECTED | CLOSED
 *   APPROVED        -> AWAITING_RETURN | RETURN_RECEIVED   (return required)
 *                   -> REFUNDED | RESHIPPED                (no return)
 *                   -> CLOSED
 *   AWAITING_RETURN -> RETURN_RECEIVED | CLOSED
 *   RETURN_RECEIVED -> REFUNDED | RESHIPPED | CLOSED
 *   REFUNDED        -> RESHIPPED | CLOSED
 *   RESHIPPED       -> REFUNDED | CLOSED
 *   CLOSED, REJECTED: terminal
 *
 * An illegal change is DS_ERR_FAILED_PRECONDITION, reason CASE_STATE, with a
 * message naming the current state, and writes nothing.
 *
 * Threads: any thread that owns the connection.
 */
#ifndef WF_CASE_FSM_H
#define WF_CASE_FSM_H

#include <stdbool.h>
#include <stdint.h>

#include "ds_status.h"
#include "store.h"
#include "wf_order_fsm.h"

/* The locked case as the workflow and the API need it. */
typedef struct wf_case_cur {
    char case_id[37];
    char order_id[37];
    char supplier_id[37];
    int32_t type;          /* dropship.v1.CaseType */
    int32_t state;         /* dropship.v1.CaseState */
    int64_t version;       /* etag "v<version>" */
    bool return_required;
    wf_order_cur order;    /* the locked order row */
} wf_case_cur;

/* One change. Strings are only read during the call. */
typedef struct wf_case_change {
    int32_t to;           /* target CaseState; the current one = event only */
    int32_t event_type;   /* dropship.v1.OrderEventType (CASE_*) */
    int32_t actor_kind;   /* dropship.v1.ActorKind */
    const char *actor_id; /* API key id, "escalation", ... */
    const char *details;  /* JSON object text, NULL = {} */
} wf_case_change;

/* Is from -> to legal for a case that does (not) require a return? */
bool wf_case_can_move(int32_t from, int32_t to, bool return_required);

/* True for CLOSED and REJECTED. */
bool wf_case_terminal(int32_t state);

/* Upper-case short name of a CaseState ("AWAITING_RETURN"). */
const char *wf_case_state_name(int32_t state);

/* Upper-case short name of a CaseType ("DAMAGED"). */
const char *wf_case_type_name(int32_t type);

/* Lock the case's order, then the case, into *cur. DS_ERR_NOT_FOUND when
 * the case is absent or of another shop. */
ds_status wf_case_lock(store_conn *tx, const char *shop_id, const char *case_id,
                       wf_case_cur *cur, ds_error *err);

/* Fill err with FAILED_PRECONDITION / reason for a call not allowed in the
 * current state; returns DS_ERR_FAILED_PRECONDITION. */
ds_status wf_case_refuse(ds_error *err, const wf_case_cur *cur, const char *what);

/* Apply ch to the case locked in *cur (updated on success). A case that
 * becomes CLOSED or REJECTED while its order is DELIVERED schedules the
 * order's complete step (due now; a no-op while the return window's own
 * task waits): COMPLETED needs the window passed and no open case. */
ds_status wf_case_apply(store_conn *tx, const char *shop_id, wf_case_cur *cur,
                        const wf_case_change *ch, ds_error *err);

/* Append a case event to order_id (locked by the caller) with the order's
 * next sequence number; used by wf_case_apply and for CASE_OPENED. */
ds_status wf_case_event(store_conn *tx, const char *shop_id, const char *order_id,
                        const char *case_id, int32_t from, const wf_case_change *ch,
                        ds_error *err);

#endif
