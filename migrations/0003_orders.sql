-- 0003_orders.sql - orders, their lines and their history, see docs/orders.md.
--
-- Every table carries shop_id first in its primary key and every foreign
-- key includes it, so the tables can be distributed by shop_id and
-- co-located with suppliers and bindings (Citus). Enum columns hold the
-- dropship.v1 enum numbers (OrderState, HoldReason, ActorKind,
-- OrderEventType, CaseState). `version` is the etag ("v<version>"), bumped
-- by every change of the order. Supplier orders, parcels and cases get
-- tables of their own (keyed by shop_id, order_id, ...) in later migrations:
-- nothing about them lives in the order row.

CREATE TABLE orders (
    shop_id             uuid        NOT NULL REFERENCES shops (shop_id),
    order_id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    version             int8        NOT NULL DEFAULT 1 CHECK (version > 0),
    -- byte order, so that the exact-match filter does not depend on the locale
    external_order_id   text        COLLATE "C" NOT NULL
                                    CHECK (length(external_order_id) BETWEEN 1 AND 100),
    state               int2        NOT NULL CHECK (state BETWEEN 1 AND 11),
    -- the hold: set exactly while state is ON_HOLD (9)
    hold_reason         int2        CHECK (hold_reason BETWEEN 1 AND 9),
    hold_detail         text        NOT NULL DEFAULT '',
    hold_held_state     int2,
    hold_since          timestamptz,
    hold_line_ids       text[]      NOT NULL DEFAULT '{}',
    hold_supplier_id    uuid,
    currency_code       text        NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    -- shipping address: columns, because verify and reports read them in SQL
    ship_recipient_name text        NOT NULL,
    ship_phone          text        NOT NULL,
    ship_country_code   text        NOT NULL CHECK (ship_country_code ~ '^[A-Z]{2}$'),
    ship_region         text        NOT NULL DEFAULT '',
    ship_city           text        NOT NULL,
    ship_district       text        NOT NULL DEFAULT '',
    ship_street         text        NOT NULL,
    ship_postal_code    text        NOT NULL DEFAULT '',
    buyer_note          text        NOT NULL DEFAULT '',
    cancel_reason       text        NOT NULL DEFAULT '',
    -- sequence number of the order's last history event (order_events.seq)
    last_event_seq      int8        NOT NULL DEFAULT 0 CHECK (last_event_seq >= 0),
    request_id          text,
    request_hash        text,
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, order_id),
    CONSTRAINT orders_external_order_id_key UNIQUE (shop_id, external_order_id),
    CONSTRAINT orders_hold_check CHECK ((state = 9) = (hold_reason IS NOT NULL)),
    CONSTRAINT orders_request_check CHECK ((request_id IS NULL) = (request_hash IS NULL))
);

-- CreateOrder idempotency: one order per (shop, request_id).
CREATE UNIQUE INDEX orders_request_id_key ON orders (shop_id, request_id)
    WHERE request_id IS NOT NULL;
-- ListOrders without filters (or with a create_time range): newest first.
CREATE INDEX orders_list_idx ON orders (shop_id, create_time DESC, order_id DESC);
-- ListOrders filtered by states (and the workflow looking for orders in a state).
CREATE INDEX orders_state_idx ON orders (shop_id, state, create_time DESC, order_id DESC);
-- ListOrders filtered by hold reasons: only held orders are in it.
CREATE INDEX orders_hold_idx ON orders (shop_id, hold_reason, create_time DESC, order_id DESC)
    WHERE hold_reason IS NOT NULL;

CREATE TABLE order_lines (
    shop_id          uuid  NOT NULL,
    order_id         uuid  NOT NULL,
    line_no          int2  NOT NULL CHECK (line_no BETWEEN 1 AND 100),  -- 1-based position
    line_id          text  COLLATE "C" NOT NULL CHECK (line_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    shop_sku         text  COLLATE "C" NOT NULL CHECK (length(shop_sku) BETWEEN 1 AND 100),
    quantity         int4  NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    -- in the order's currency_code
    unit_price_units int8  NOT NULL CHECK (unit_price_units >= 0),
    unit_price_nanos int4  NOT NULL CHECK (unit_price_nanos BETWEEN 0 AND 999999999),
    title            text  NOT NULL DEFAULT '',
    PRIMARY KEY (shop_id, order_id, line_no),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, order_id),
    CONSTRAINT order_lines_line_id_key UNIQUE (shop_id, order_id, line_id),
    CONSTRAINT order_lines_shop_sku_key UNIQUE (shop_id, order_id, shop_sku)
);

-- Orders containing a shop SKU (offer changes put unverified ones on hold).
CREATE INDEX order_lines_sku_idx ON order_lines (shop_id, shop_sku);

CREATE TABLE order_events (
    shop_id         uuid        NOT NULL,
    order_id        uuid        NOT NULL,
    seq             int8        NOT NULL CHECK (seq >= 1),   -- 1, 2, 3 ... per order
    -- global position, for WatchOrderEvents cursors
    event_id        int8        NOT NULL GENERATED ALWAYS AS IDENTITY,
    event_time      timestamptz NOT NULL DEFAULT now(),
    actor_kind      int2        NOT NULL CHECK (actor_kind BETWEEN 1 AND 3),
    actor_id        text        NOT NULL DEFAULT '',
    type            int2        NOT NULL CHECK (type >= 1),
    from_state      int2        NOT NULL DEFAULT 0,
    to_state        int2        NOT NULL DEFAULT 0,
    case_id         uuid,
    case_from_state int2        NOT NULL DEFAULT 0,
    case_to_state   int2        NOT NULL DEFAULT 0,
    details         jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    PRIMARY KEY (shop_id, order_id, seq),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, order_id)
);

-- WatchOrderEvents: a shop's events after a cursor.
CREATE INDEX order_events_cursor_idx ON order_events (shop_id, event_id);
