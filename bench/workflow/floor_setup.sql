-- floor_setup.sql - the orders and tasks of the floor runs of
-- bench/workflow/run.sh (psql -v norders=N): one shop, N orders in
-- RECEIVED, each with one due task of kind floor.step keyed
-- "order:<order_id>:1" whose payload is the order id.
INSERT INTO shops (shop_id, name)
VALUES ('00000000-0000-4000-8000-00000000f100', 'floor');
INSERT INTO orders (shop_id, order_id, external_order_id, state, currency_code,
                    ship_recipient_name, ship_phone, ship_country_code, ship_city, ship_street)
SELECT '00000000-0000-4000-8000-00000000f100',
       ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid,
       'floor-' || g, 1, 'EUR', 'Floor Buyer', '+33123456789', 'FR', 'Paris', '1 rue du Sol'
FROM generate_series(1, :norders) g;
INSERT INTO tasks (shop_id, kind, key, payload)
SELECT shop_id, 'floor.step', 'order:' || order_id || ':1', convert_to(order_id::text, 'UTF8')
FROM orders;
VACUUM ANALYZE;
