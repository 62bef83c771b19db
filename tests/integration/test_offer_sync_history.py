"""Offer sync costs what is in flight, not the shop's history: with 5000
COMPLETED orders of a SKU in the database, three syncs of that SKU's
binding read almost none of those orders or their lines. (The statement that finds
the orders a new offer concerns used to start from every line ever sold of
the SKU and filter by the order's state afterwards.)

Counted, not timed: PostgreSQL's per-table statistics (rows of orders and
order_lines fetched by index and by sequential scans), read after dropshipd has
stopped, since a backend reports its statistics when it exits.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

import harness  # noqa: E402
from test_offer_sync import OfferWorld  # noqa: E402
from dropship.v1 import catalog_pb2  # noqa: E402

TIMEOUT = 30
HISTORY = 5000
SYNCS = 3
COMPLETED = 8  # ORDER_STATE_COMPLETED


def history_sql(shop):
    """HISTORY completed orders of one HIST line each, written as an import would."""
    return (
        "WITH o AS (INSERT INTO orders (shop_id, external_order_id, state, currency_code,"
        " ship_recipient_name, ship_phone, ship_country_code, ship_city, ship_street)"
        " SELECT '{shop}', 'hist-' || g, {done}, 'USD', 'Ada Lovelace', '+44 20 7946 0000',"
        " 'GB', 'London', '12 St James''s Square' FROM generate_series(1, {n}) g"
        " RETURNING shop_id, order_id)"
        " INSERT INTO order_lines (shop_id, order_id, line_no, line_id, shop_sku, quantity,"
        " unit_price_units, unit_price_nanos) SELECT shop_id, order_id, 1, 'L1', 'HIST', 1, 20, 0"
        " FROM o").format(shop=shop, done=COMPLETED, n=HISTORY)


def rows_read(db):
    """Rows of orders and order_lines fetched so far, by index and sequential scans."""
    out = harness.sql(db, "SELECT sum(coalesce(idx_tup_fetch, 0) + seq_tup_read)"
                          " FROM pg_stat_user_tables WHERE relname IN ('orders', 'order_lines')")
    return int(out)


def wait_backends_gone(db, seconds=15):
    """Wait until no session but ours is connected to db (dropshipd's backends
    have exited and so reported their statistics)."""
    deadline = time.monotonic() + seconds
    while True:
        n = int(harness.sql(db, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                " current_database() AND pid <> pg_backend_pid()"))
        if n == 0:
            time.sleep(0.5)  # a backend leaves pg_stat_activity just before it reports
            return
        if time.monotonic() > deadline:
            raise AssertionError("%d session(s) still connected" % n)
        time.sleep(0.1)


class OfferSyncHistoryTest(unittest.TestCase):
    def test_sync_does_not_read_completed_orders(self):
        w = OfferWorld("offer_sync_history")
        try:
            sup = w.supplier("hist")
            w.sim.set_sku("HIST-1", stock=50, cost="10.00")
            bid = w.bind("HIST", sup, "HIST-1")
            deadline = time.monotonic() + TIMEOUT
            get = catalog_pb2.GetBindingRequest(binding_id=bid)
            while not w.catalog.GetBinding(get, metadata=w.md, timeout=TIMEOUT) \
                    .binding.last_offer.HasField("sync_time"):
                self.assertLess(time.monotonic(), deadline, "the first periodic sync never ran")
                time.sleep(0.1)
            harness.sql(w.db, history_sql(w.shop))
            self.assertEqual(harness.count_rows(w.db, "order_lines", "shop_sku = 'HIST'"),
                             HISTORY)
            before = rows_read(w.db)
            for _ in range(SYNCS):
                r = w.catalog.SyncOffers(catalog_pb2.SyncOffersRequest(supplier_id=sup),
                                         metadata=w.md, timeout=TIMEOUT)
                self.assertEqual((r.results[0].synced_count, r.results[0].failed_count), (1, 0), r)
                self.assertEqual(r.results[0].held_order_count, 0, r)
            w.ch.close()
            self.assertEqual(w.server.stop(), 0, w.server.log())
            wait_backends_gone(w.db)
            read = rows_read(w.db) - before
            sys.stderr.write("%d syncs with %d completed orders of the SKU read %d rows of orders"
                             " and order_lines\n"
                             % (SYNCS, HISTORY, read))
            self.assertLess(read, 100, "offer sync read completed orders")
        finally:
            w.ch.close()
            w.server.stop()
            w.sim.stop()


if __name__ == "__main__":
    unittest.main()
