-- 0002_suppliers_bindings.sql - suppliers and product bindings (shop SKU ->
-- supplier SKU), see docs/suppliers-and-catalog.md.
--
-- Every table carries shop_id first in its primary key and every foreign
-- key includes it, so both tables can be distributed by shop_id and
-- co-located (Citus). `version` is the etag ("v<version>"), bumped by every
-- update. Scalar fields are columns; nested messages that the server only
-- ever reads whole (adapter and tracking configuration, addresses, rules,
-- contact) are packed protobuf bytes (NULL = unset). Secrets never go into
-- those bytes: they have columns of their own that no read of the API
-- selects.

CREATE TABLE suppliers (
    shop_id               uuid        NOT NULL REFERENCES shops (shop_id),
    supplier_id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    version               int8        NOT NULL DEFAULT 1 CHECK (version > 0),
    display_name          text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    default_currency_code text        NOT NULL CHECK (default_currency_code ~ '^[A-Z]{3}$'),
    payment_mode          int4        NOT NULL,                 -- dropship.v1.PaymentMode
    payment_due_us        int8        NOT NULL,                 -- microseconds
    adapter               bytea       NOT NULL,                 -- SupplierAdapterConfig, no credential
    tracking              bytea,                                -- TrackingConfig, no credential
    return_address        bytea,                                -- Address
    return_rules          bytea,                                -- ReturnRules
    contact               bytea,                                -- SupplierContact
    adapter_credential    text,                                 -- write-only secret
    tracking_credential   text,                                 -- write-only secret
    request_id            text,
    request_hash          text,
    create_time           timestamptz NOT NULL DEFAULT now(),
    update_time           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, supplier_id),
    CONSTRAINT suppliers_request_id_key UNIQUE (shop_id, request_id)
);

-- ListSuppliers: keyset on (create_time, supplier_id) within a shop.
CREATE INDEX suppliers_list_idx ON suppliers (shop_id, create_time, supplier_id);

CREATE TABLE bindings (
    shop_id            uuid        NOT NULL,
    binding_id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    version            int8        NOT NULL DEFAULT 1 CHECK (version > 0),
    -- byte order, so that keyset paging does not depend on the locale
    shop_sku           text        COLLATE "C" NOT NULL CHECK (length(shop_sku) BETWEEN 1 AND 100),
    supplier_id        uuid        NOT NULL,
    supplier_sku       text        NOT NULL CHECK (length(supplier_sku) BETWEEN 1 AND 100),
    supplier_variant   text        NOT NULL DEFAULT '',
    max_cost_currency  text        NOT NULL CHECK (max_cost_currency ~ '^[A-Z]{3}$'),
    max_cost_units     int8        NOT NULL,
    max_cost_nanos     int4        NOT NULL,
    priority           int4        NOT NULL CHECK (priority BETWEEN 0 AND 1000),
    title              text        NOT NULL DEFAULT '',
    return_address     bytea,                                   -- Address
    return_rules       bytea,                                   -- ReturnRules
    -- the last supplier offer, written by the offer sync (NULL before it)
    offer_stock        int8,
    offer_cost_currency text,
    offer_cost_units   int8,
    offer_cost_nanos   int4,
    offer_ship_days    int4,
    offer_sync_time    timestamptz,
    offer_sync_error   text        NOT NULL DEFAULT '',
    offer_attempt_time timestamptz,
    request_id         text,
    request_hash       text,
    create_time        timestamptz NOT NULL DEFAULT now(),
    update_time        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, binding_id),
    FOREIGN KEY (shop_id, supplier_id) REFERENCES suppliers (shop_id, supplier_id),
    CONSTRAINT bindings_natural_key
        UNIQUE (shop_id, shop_sku, supplier_id, supplier_sku, supplier_variant),
    CONSTRAINT bindings_request_id_key UNIQUE (shop_id, request_id)
);

-- ListBindings: keyset on (shop_sku, priority, binding_id), with or without
-- the shop_sku filter; the verify step reads one shop_sku's bindings.
CREATE INDEX bindings_list_idx ON bindings (shop_id, shop_sku, priority, binding_id);
-- ListBindings filtered by supplier, offer sync per supplier, and the
-- foreign key to suppliers.
CREATE INDEX bindings_supplier_idx ON bindings (shop_id, supplier_id, shop_sku, priority, binding_id);
