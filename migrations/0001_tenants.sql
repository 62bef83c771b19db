-- 0001_tenants.sql - shops and their API keys.
--
-- Shop-owned tables carry shop_id first in their primary key so they can be
-- distributed by shop_id (Citus). shops and api_keys are small lookup
-- tables: under Citus they become reference tables (api_keys is looked up by
-- key_hash, across shops, on every call).

CREATE TABLE shops (
    shop_id    uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 (lower-case hex) of a key is stored; the key itself is
-- shown once, when it is created.
CREATE TABLE api_keys (
    shop_id    uuid        NOT NULL REFERENCES shops (shop_id),
    key_id     uuid        NOT NULL DEFAULT gen_random_uuid(),
    key_hash   text        NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (shop_id, key_id),
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
