-- 0006_supplier_orders.sql - what the order workflow writes besides the
-- order row: per-line choices made by ResolveHold, supplier orders (one per
-- order and supplier), their lines, and the parcels followed with couriers
-- (docs/order-workflow.md).
--
-- shop_id leads every primary key and every foreign key (Citus). Enum
-- columns hold dropship.v1 enum numbers (SupplierOrderState, PaymentMode,
-- PaymentMethod, ActorKind, ReturnPolicySource, TrackingStatus). Nested
-- messages that are only ever read whole are packed protobuf bytes
-- (return address and rules, a parcel's checkpoints), as in 0002.

-- What a person decided for one line while resolving a hold: another
-- binding (substitute) and/or a higher accepted unit cost. Read by verify.
CREATE TABLE order_line_choices (
    shop_id             uuid        NOT NULL,
    order_id            uuid        NOT NULL,
    line_id             text        COLLATE "C" NOT NULL,
    binding_id          uuid,
    accepted_currency   text        CHECK (accepted_currency ~ '^[A-Z]{3}$'),
    accepted_units      int8,
    accepted_nanos      int4,
    update_time         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, order_id, line_id),
    FOREIGN KEY (shop_id, order_id, line_id) REFERENCES order_lines (shop_id, order_id, line_id),
    FOREIGN KEY (shop_id, binding_id) REFERENCES bindings (shop_id, binding_id),
    CHECK ((accepted_currency IS NULL) = (accepted_units IS NULL)
           AND (accepted_units IS NULL) = (accepted_nanos IS NULL))
);

CREATE TABLE supplier_orders (
    shop_id              uuid        NOT NULL,
    order_id             uuid        NOT NULL,
    supplier_id          uuid        NOT NULL,
    version              int8        NOT NULL DEFAULT 1 CHECK (version > 0),
    -- "<order_id>:<supplier_id>": sent as Idempotency-Key and order_ref
    idempotency_key      text        NOT NULL,
    supplier_order_ref   text        NOT NULL DEFAULT '',
    state                int2        NOT NULL CHECK (state BETWEEN 1 AND 10),
    cost_currency        text        CHECK (cost_currency ~ '^[A-Z]{3}$'),
    cost_units           int8,
    cost_nanos           int4,
    payment_mode         int2        NOT NULL CHECK (payment_mode IN (1, 2)),
    payment_due_time     timestamptz,
    -- the payment proof: all proof_* columns set together
    proof_currency       text,
    proof_units          int8,
    proof_nanos          int4,
    proof_method         int2,
    proof_reference      text,
    proof_paid_time      timestamptz,
    proof_attachment_uri text        NOT NULL DEFAULT '',
    proof_attachment_sha256 text     NOT NULL DEFAULT '',
    proof_actor_kind     int2,
    proof_actor_id       text        NOT NULL DEFAULT '',
    proof_record_time    timestamptz,
    -- the return policy snapshot (Address / ReturnRules, packed)
    return_address       bytea,
    return_rules         bytea,
    return_policy_source int2        NOT NULL DEFAULT 0,
    -- the supplier's own status text of the last read, for people
    supplier_status      text        NOT NULL DEFAULT '',
    create_time          timestamptz NOT NULL DEFAULT now(),
    update_time          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, order_id, supplier_id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, order_id),
    FOREIGN KEY (shop_id, supplier_id) REFERENCES suppliers (shop_id, supplier_id),
    CONSTRAINT supplier_orders_idempotency_key UNIQUE (shop_id, idempotency_key),
    CHECK ((cost_currency IS NULL) = (cost_units IS NULL)),
    CHECK ((proof_reference IS NULL) = (proof_record_time IS NULL))
);

-- ListOrders filtered by supplier.
CREATE INDEX supplier_orders_supplier_idx ON supplier_orders (shop_id, supplier_id, order_id);

CREATE TABLE supplier_order_lines (
    shop_id           uuid  NOT NULL,
    order_id          uuid  NOT NULL,
    supplier_id       uuid  NOT NULL,
    line_id           text  COLLATE "C" NOT NULL,
    binding_id        uuid  NOT NULL,
    supplier_sku      text  NOT NULL,
    supplier_variant  text  NOT NULL DEFAULT '',
    quantity          int4  NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    unit_cost_currency text,
    unit_cost_units   int8,
    unit_cost_nanos   int4,
    PRIMARY KEY (shop_id, order_id, supplier_id, line_id),
    FOREIGN KEY (shop_id, order_id, supplier_id)
        REFERENCES supplier_orders (shop_id, order_id, supplier_id) ON DELETE CASCADE,
    -- a line is bought from one supplier at a time
    CONSTRAINT supplier_order_lines_line_key UNIQUE (shop_id, order_id, line_id)
);

-- Tracking numbers are unique only together with the carrier, and only per
-- supplier order (two suppliers may reuse a courier's number space).
CREATE TABLE parcels (
    shop_id          uuid        NOT NULL,
    order_id         uuid        NOT NULL,
    supplier_id      uuid        NOT NULL,
    carrier          text        NOT NULL CHECK (carrier ~ '^[a-z0-9._-]{1,64}$'),
    tracking_number  text        NOT NULL CHECK (length(tracking_number) BETWEEN 1 AND 64),
    status           int2        NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 10),
    -- a dropship.v1.Parcel holding only `checkpoints`, packed
    checkpoints      bytea,
    n_checkpoints    int4        NOT NULL DEFAULT 0,
    -- "line_id=quantity line_id=quantity", when the supplier said so
    lines            text        NOT NULL DEFAULT '',
    last_poll_time   timestamptz,
    next_poll_time   timestamptz,
    last_change_time timestamptz NOT NULL DEFAULT now(),
    create_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, order_id, supplier_id, carrier, tracking_number),
    FOREIGN KEY (shop_id, order_id, supplier_id)
        REFERENCES supplier_orders (shop_id, order_id, supplier_id)
);
