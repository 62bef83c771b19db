/* wf_order_fsm.h - the order state machine: which state changes are legal,
 * and the one function that changes an order's state.
 *
 * Every change of an order (a state change, a hold, or an event that leaves
 * the state as it is) goes through wf_order_apply inside the caller's open
 * transaction: it checks the transition against the table, writes the
 * state and hold columns, bumps the version, appends the history event with
 * the next sequence number, and schedules the step that runs in the new
 * state (see docs/order-workflow.md). The caller first locks the row with
 * wf_order_lock as its FIRST write of the transaction (wf_events.h rule),
 * then writes its own rows, then calls wf_order_apply.
 *
 * Threads: any thread that owns the connection.
 */
#ifndef WF_ORDER_FSM_H
#define WF_ORDER_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_status.h"
#include "store.h"
#include "wf_engine.h"

/* Task kinds of the order workflow; keys are "order:<order_id>:<step>". */
#define WF_ORDER_KIND_VERIFY "order.verify"
#define WF_ORDER_KIND_PURCHASE "order.purchase"
#define WF_ORDER_KIND_PAYMENT "order.payment"
#define WF_ORDER_KIND_PAYMENT_TIMER "order.payment_timer"
#define WF_ORDER_KIND_RETURN_ADDRESS "order.return_address"
#define WF_ORDER_KIND_TRACKING "order.tracking"
#define WF_ORDER_KIND_COMPLETE "order.complete"
#define WF_ORDER_KIND_CANCEL "order.cancel"

enum { WF_ORDER_KEY_MAX = 80 };

/* The locked order row as the workflow needs it. */
typedef struct wf_order_cur {
    int32_t state;      /* dropship.v1.OrderState */
    int32_t held_state; /* while ON_HOLD: where it stopped; else 0 */
    int32_t hold_reason;
    int64_t version;
    bool cancel_requested; /* CancelOrder was accepted at some point */
} wf_order_cur;

/* One change. Strings are only read during the call. */
typedef struct wf_order_change {
    int32_t to;              /* target state; the current one for an event only */
    int32_t event_type;      /* dropship.v1.OrderEventType */
    int32_t actor_kind;      /* dropship.v1.ActorKind */
    const char *actor_id;    /* "verify", "supplier:<id>", an API key id */
    const char *details;     /* JSON object text, NULL = {} */
    /* to == ON_HOLD only: */
    int32_t hold_reason;
    const char *hold_detail;      /* cut to 1000 characters by the caller */
    const char *hold_line_ids;    /* space-separated, NULL = none */
    const char *hold_supplier_id; /* NULL = none */
    const char *cancel_reason;    /* non-NULL: written to orders.cancel_reason */
    bool no_entry_task;      /* do not schedule the step of the new state */
    int64_t entry_delay_ms;  /* delay of that step */
} wf_order_change;

/* Is from -> to a legal transition? (to == from is not a transition.) */
bool wf_order_can_move(int32_t from, int32_t to);

/* True for states before any parcel shipped (cancellable). */
bool wf_order_pre_shipment(int32_t state);

/* Lock the order row (SELECT ... FOR UPDATE) and read it into *cur.
 * DS_ERR_NOT_FOUND when absent or of another shop. */
ds_status wf_order_lock(store_conn *tx, const char *shop_id, const char *order_id,
                        wf_order_cur *cur, ds_error *err);

/* The same lock as a statement sent with BEGIN (wf_tx_begin_with):
 * params (caller storage, 2 entries) must outlive the call, *res receives
 * the result; wf_order_lock_read then reads it into *cur (and PQclear()s
 * it), with wf_order_lock's errors. */
store_batch_item wf_order_lock_item(const char *shop_id, const char *order_id,
                                    const char *params[2], PGresult **res);
ds_status wf_order_lock_read(PGresult *res, const char *order_id, wf_order_cur *cur,
                             ds_error *err);

/* Apply ch to the order locked in *cur (updated on success). An illegal
 * transition is DS_ERR_FAILED_PRECONDITION and writes nothing; leaving
 * ON_HOLD is legal only to cur->held_state (or towards cancellation).
 * Database errors as store_exec; the caller then rolls back. */
ds_status wf_order_apply(store_conn *tx, const char *shop_id, const char *order_id,
                         wf_order_cur *cur, const wf_order_change *ch, ds_error *err);

/* Schedule step `kind` ("order.tracking") of the order in tx, keyed
 * "order:<order_id>:<step>"; a waiting task with that key makes it a
 * no-op, a running one runs once more after (wf_schedule_in). */
ds_status wf_order_schedule(store_conn *tx, const char *shop_id, const char *order_id,
                            const char *kind, int64_t delay_ms, ds_error *err);

/* The step a state runs on entry (kind name), or NULL. */
const char *wf_order_entry_kind(int32_t state);

/* Order id from a task key "order:<id>:<step>" into out; false if malformed. */
bool wf_order_id_from_key(const char *key, char out[37]);

/* Upper-case short name of an OrderState ("IN_TRANSIT"). */
const char *wf_order_state_name(int32_t state);

#endif
