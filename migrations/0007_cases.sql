-- 0007_cases.sql - after-sales cases (AfterSalesService, docs/after-sales.md):
-- the case row, its order lines, evidence, refunds with their compensation
-- lines, reships, and the request ids of its mutating calls.
--
-- Tables (shop_id leads every primary and foreign key, for Citus):
--   cases                one row per case; state machine in wf_case_fsm.c.
--                        Enum columns hold dropship.v1 enum numbers:
--                        type CaseType (1..6), state CaseState (1..8),
--                        root_cause RootCause (0 = unset), opened_by_kind
--                        ActorKind. version is the etag ("v<version>").
--                        supplier_id: every case is about the lines of ONE
--                        supplier order (shop_id, order_id, supplier_id).
--                        return_address / return_rules: packed Address /
--                        ReturnRules, snapshotted from supplier_orders at
--                        approval. return_* parcel columns: the buyer's
--                        return parcel, polled like an outbound parcel.
--                        auto_opened: opened by the server from tracking;
--                        at most one such case per parcel (carrier,
--                        tracking_number) and order.
--                        supplier_dispute_*: the dispute opened with the
--                        supplier through its adapter (DISPUTE cases).
--   case_lines           the order lines and quantities of a case.
--   case_evidence        evidence pieces (URI + SHA-256), oldest first.
--   case_refunds         refunds to the buyer: amount in the order's
--                        currency, payer RefundPayer (1 SUPPLIER, 2 SHOP).
--                        supplier_refund_*: the claim sent to the supplier
--                        for SUPPLIER-paid refunds through its adapter.
--   case_compensations   compensation lines of a refund (coupon, postage,
--                        cash), kind CompensationKind; NOT part of amount.
--   case_reships         replacement orders created by Reship; the order id
--                        is derived from (case_id, n) so a repeated attempt
--                        can never buy twice.
--   case_requests        request_id idempotency of every mutating call:
--                        (method, request_id) -> body hash + result.
--
-- Reports: refund totals per payer = sum of case_refunds.amount_*; root
-- causes = cases.root_cause where state = 7 (CLOSED); open cases = state
-- NOT IN (7, 8).

CREATE TABLE cases (
    shop_id               uuid        NOT NULL,
    case_id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    order_id              uuid        NOT NULL,
    supplier_id           uuid        NOT NULL,
    version               int8        NOT NULL DEFAULT 1 CHECK (version > 0),
    type                  int2        NOT NULL CHECK (type BETWEEN 1 AND 6),
    state                 int2        NOT NULL CHECK (state BETWEEN 1 AND 8),
    description           text        NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    -- the shipped parcel concerned (LOST_IN_TRANSIT, DAMAGED); '' = none
    carrier               text        NOT NULL DEFAULT '',
    tracking_number       text        NOT NULL DEFAULT '',
    return_required       boolean     NOT NULL DEFAULT false,
    return_address        bytea,
    return_rules          bytea,
    -- the buyer's return parcel; return_carrier '' = none recorded
    return_carrier        text        NOT NULL DEFAULT '',
    return_tracking_number text       NOT NULL DEFAULT '',
    return_status         int2        NOT NULL DEFAULT 0 CHECK (return_status BETWEEN 0 AND 10),
    return_checkpoints    bytea,      -- a dropship.v1.Parcel holding only checkpoints
    return_n_checkpoints  int4        NOT NULL DEFAULT 0,
    return_last_poll_time timestamptz,
    return_next_poll_time timestamptz,
    return_create_time    timestamptz,
    reject_reason         text        NOT NULL DEFAULT '',
    resolution            text        NOT NULL DEFAULT '',
    root_cause            int2        NOT NULL DEFAULT 0 CHECK (root_cause BETWEEN 0 AND 8),
    opened_by_kind        int2        NOT NULL CHECK (opened_by_kind BETWEEN 1 AND 3),
    opened_by_id          text        NOT NULL DEFAULT '',
    auto_opened           boolean     NOT NULL DEFAULT false,
    supplier_dispute_id   text        NOT NULL DEFAULT '',
    supplier_dispute_status text      NOT NULL DEFAULT '',
    create_time           timestamptz NOT NULL DEFAULT now(),
    update_time           timestamptz NOT NULL DEFAULT now(),
    close_time            timestamptz,
    PRIMARY KEY (shop_id, case_id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, order_id),
    FOREIGN KEY (shop_id, order_id, supplier_id)
        REFERENCES supplier_orders (shop_id, order_id, supplier_id),
    CHECK ((state IN (7, 8)) = (close_time IS NOT NULL))
);

-- ListCases: newest first, optionally by order / state / supplier.
CREATE INDEX cases_list_idx ON cases (shop_id, create_time DESC, case_id DESC);
CREATE INDEX cases_order_idx ON cases (shop_id, order_id, create_time DESC, case_id DESC);
CREATE INDEX cases_state_idx ON cases (shop_id, state, create_time DESC, case_id DESC);
-- Open cases of an order (COMPLETED gating).
CREATE INDEX cases_open_idx ON cases (shop_id, order_id) WHERE state NOT IN (7, 8);
-- Automatic escalation opens at most one case per parcel.
CREATE UNIQUE INDEX cases_auto_parcel_key ON cases (shop_id, order_id, carrier, tracking_number)
    WHERE auto_opened;

CREATE TABLE case_lines (
    shop_id   uuid  NOT NULL,
    case_id   uuid  NOT NULL,
    order_id  uuid  NOT NULL,
    line_id   text  COLLATE "C" NOT NULL,
    quantity  int4  NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    PRIMARY KEY (shop_id, case_id, line_id),
    FOREIGN KEY (shop_id, case_id) REFERENCES cases (shop_id, case_id),
    FOREIGN KEY (shop_id, order_id, line_id) REFERENCES order_lines (shop_id, order_id, line_id)
);

CREATE TABLE case_evidence (
    shop_id      uuid        NOT NULL,
    case_id      uuid        NOT NULL,
    evidence_id  uuid        NOT NULL DEFAULT gen_random_uuid(),
    kind         int2        NOT NULL CHECK (kind BETWEEN 1 AND 5),   -- EvidenceKind
    uri          text        NOT NULL CHECK (length(uri) BETWEEN 1 AND 2000),
    sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text        NOT NULL DEFAULT '',
    note         text        NOT NULL DEFAULT '',
    actor_kind   int2        NOT NULL CHECK (actor_kind BETWEEN 1 AND 3),
    actor_id     text        NOT NULL DEFAULT '',
    create_time  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (shop_id, case_id, evidence_id),
    FOREIGN KEY (shop_id, case_id) REFERENCES cases (shop_id, case_id)
);

CREATE INDEX case_evidence_case_idx ON case_evidence (shop_id, case_id, create_time);

CREATE TABLE case_refunds (
    shop_id         uuid        NOT NULL,
    case_id         uuid        NOT NULL,
    refund_id       uuid        NOT NULL DEFAULT gen_random_uuid(),
    amount_currency text        NOT NULL CHECK (amount_currency ~ '^[A-Z]{3}$'),
    amount_units    int8        NOT NULL CHECK (amount_units >= 0),
    amount_nanos    int4        NOT NULL CHECK (amount_nanos BETWEEN 0 AND 999999999),
    payer           int2        NOT NULL CHECK (payer IN (1, 2)),      -- RefundPayer
    reference       text        NOT NULL DEFAULT '',
    note            text        NOT NULL DEFAULT '',
    actor_kind      int2        NOT NULL CHECK (actor_kind BETWEEN 1 AND 3),
    actor_id        text        NOT NULL DEFAULT '',
    -- SUPPLIER-paid: the claim with the supplier ('' until sent / accepted)
    supplier_refund_id     text NOT NULL DEFAULT '',
    supplier_refund_status text NOT NULL DEFAULT '',
    create_time     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (shop_id, case_id, refund_id),
    FOREIGN KEY (shop_id, case_id) REFERENCES cases (shop_id, case_id)
);

CREATE INDEX case_refunds_case_idx ON case_refunds (shop_id, case_id, create_time);

CREATE TABLE case_compensations (
    shop_id         uuid  NOT NULL,
    case_id         uuid  NOT NULL,
    refund_id       uuid  NOT NULL,
    position        int2  NOT NULL CHECK (position BETWEEN 1 AND 10),
    kind            int2  NOT NULL CHECK (kind BETWEEN 1 AND 4),         -- CompensationKind
    amount_currency text  NOT NULL CHECK (amount_currency ~ '^[A-Z]{3}$'),
    amount_units    int8  NOT NULL CHECK (amount_units >= 0),
    amount_nanos    int4  NOT NULL CHECK (amount_nanos BETWEEN 0 AND 999999999),
    description     text  NOT NULL DEFAULT '',
    PRIMARY KEY (shop_id, case_id, refund_id, position),
    FOREIGN KEY (shop_id, case_id, refund_id) REFERENCES case_refunds (shop_id, case_id, refund_id)
);

CREATE TABLE case_reships (
    shop_id         uuid        NOT NULL,
    case_id         uuid        NOT NULL,
    n               int4        NOT NULL CHECK (n >= 1),
    reship_order_id uuid        NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, case_id, n),
    FOREIGN KEY (shop_id, case_id) REFERENCES cases (shop_id, case_id),
    FOREIGN KEY (shop_id, reship_order_id) REFERENCES orders (shop_id, order_id),
    CONSTRAINT case_reships_order_key UNIQUE (shop_id, reship_order_id)
);

CREATE TABLE case_requests (
    shop_id      uuid        NOT NULL,
    method       text        NOT NULL CHECK (length(method) BETWEEN 1 AND 64),
    request_id   text        NOT NULL CHECK (length(request_id) BETWEEN 1 AND 100),
    request_hash text        NOT NULL,
    case_id      uuid        NOT NULL,
    -- what the first call produced besides the case (refund id, order id)
    result_ref   text        NOT NULL DEFAULT '',
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, method, request_id)
);
