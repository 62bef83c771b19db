-- 0008_offers.sql - history of supplier offer changes (see
-- docs/suppliers-and-catalog.md).
--
-- The latest offer of each binding lives in the bindings.offer_* columns
-- (0002). The offer sync appends one row here only when the stock, cost or
-- ship days it reads differ from the stored offer (the first read of a
-- binding counts as a change from nothing: old_* columns NULL). shop_id
-- leads the primary key (Citus); rows go with their binding.

CREATE TABLE offer_history (
    shop_id          uuid        NOT NULL,
    binding_id       uuid        NOT NULL,
    change_id        int8        GENERATED ALWAYS AS IDENTITY,
    old_stock        int8,
    old_cost_currency text,
    old_cost_units   int8,
    old_cost_nanos   int4,
    old_ship_days    int4,
    new_stock        int8        NOT NULL,
    new_cost_currency text,
    new_cost_units   int8,
    new_cost_nanos   int4,
    new_ship_days    int4,
    change_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, binding_id, change_id),
    FOREIGN KEY (shop_id, binding_id) REFERENCES bindings (shop_id, binding_id) ON DELETE CASCADE
);
