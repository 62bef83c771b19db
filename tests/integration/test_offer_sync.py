"""Offer sync against a real dropshipd, PostgreSQL and dropship-sim: the
periodic task per supplier, SyncOffers and GetBinding showing the offer and
its time, history rows only on change, a price rise or stock-out holding the
unpurchased orders that need the SKU (never purchased ones, never orders of
other SKUs), resuming them when the offer fits again or after ResolveHold
with an accepted cost, and the substitute binding used when the first
choice is out of stock."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

import harness  # noqa: E402
from simclient import Sim  # noqa: E402
from test_workflow_lifecycle import TOKEN, World, usd  # noqa: E402
from dropship.v1 import catalog_pb2, common_pb2, orders_pb2  # noqa: E402

TIMEOUT = 30
SCALE = 1000             # purchase retries back off from 1 s: orders stay PURCHASING
INTERVAL_S = 604800      # / SCALE = 10 min: only the first periodic run happens here
H = common_pb2
O = orders_pb2
PURCHASED = {H.ORDER_STATE_AWAITING_PAYMENT, H.ORDER_STATE_AWAITING_SHIPMENT,
             H.ORDER_STATE_IN_TRANSIT, H.ORDER_STATE_DELIVERED, H.ORDER_STATE_COMPLETED}


class OfferWorld(World):
    """World with a long offer sync interval, so that syncs happen when the
    test asks (plus the first periodic run of each new supplier)."""

    def __init__(self, name):  # noqa: super().__init__ would start another server
        self.db = harness.fresh_database(name)
        self.sim = Sim(token=TOKEN)
        self.server = harness.Server(self.db, workflow_time_scale=SCALE,
                                     offer_sync_interval_s=INTERVAL_S)
        self.shop = harness.create_shop(self.db, name)
        self.md = harness.auth(harness.create_api_key(self.db, self.shop))
        self.ch = harness.channel(self.server.addr)
        from dropship.v1 import catalog_pb2_grpc, orders_pb2_grpc, suppliers_pb2_grpc
        self.orders = orders_pb2_grpc.OrderServiceStub(self.ch)
        self.suppliers = suppliers_pb2_grpc.SupplierServiceStub(self.ch)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(self.ch)


class OfferSyncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = OfferWorld("offer_sync")

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def tearDown(self):
        self.w.sim.faults(clear=True)

    # --- helpers ---

    def sync(self, supplier_id):
        r = self.w.catalog.SyncOffers(catalog_pb2.SyncOffersRequest(supplier_id=supplier_id),
                                      metadata=self.w.md, timeout=TIMEOUT)
        self.assertEqual(len(r.results), 1, r)
        self.assertEqual(r.results[0].supplier_id, supplier_id)
        self.assertEqual(r.results[0].failed_count, 0, r)
        return r.results[0]

    def binding(self, bid):
        return self.w.catalog.GetBinding(catalog_pb2.GetBindingRequest(binding_id=bid),
                                         metadata=self.w.md, timeout=TIMEOUT).binding

    def bound(self, shop_sku, supplier_id, sku, stock, cost, first=True, **kw):
        """A binding whose SKU has this stock and cost, synced. The first
        binding of a supplier waits for the supplier's first periodic sync
        (due at once; the next one is 10 minutes away); later ones of the
        same supplier are synced with SyncOffers."""
        self.w.sim.set_sku(sku, stock=stock, cost=cost)
        bid = self.w.bind(shop_sku, supplier_id, sku, **kw)
        if not first:
            self.sync(supplier_id)
        deadline = time.monotonic() + TIMEOUT
        while not self.binding(bid).last_offer.HasField("sync_time"):
            self.assertLess(time.monotonic(), deadline, "the periodic sync never ran")
            time.sleep(0.1)
        return bid

    def history(self, bid):
        return harness.count_rows(self.w.db, "offer_history", "binding_id = '%s'" % bid)

    def wait_for(self, oid, states, seconds=TIMEOUT):
        deadline = time.monotonic() + seconds
        o = self.w.get(oid)
        while o.state not in states:
            self.assertLess(time.monotonic(), deadline, "order stayed %s (hold %s)" % (
                H.OrderState.Name(o.state), o.hold))
            time.sleep(0.1)
            o = self.w.get(oid)
        return o

    def last_hold_details(self, oid):
        """Details of the order's last HELD event."""
        held = [e for e in self.w.history(oid) if e.type == O.ORDER_EVENT_TYPE_HELD]
        self.assertTrue(held)
        return dict(held[-1].details)

    def block_purchases(self, key):
        self.w.sim.faults({"type": "5xx", "prefix": "/suppliers/%s/v1/orders" % key,
                           "method": "POST"})

    # --- tests ---

    def test_sync_shows_offer_and_time_and_writes_history_on_change_only(self):
        sup = self.w.supplier("offco1")
        bid = self.bound("OFF-MUG", sup, "OFFMUG-1", 40, "7.25")
        # exactly one live sync task for the supplier, due after the interval
        tasks = harness.sql(self.w.db, "SELECT count(*), bool_and(run_at > now() + interval '60 s') "
                            "FROM tasks WHERE kind = 'offers.sync' AND key = 'offers:%s'" % sup)
        self.assertEqual(tasks, "1|t")
        first = self.binding(bid).last_offer
        self.assertEqual((first.stock, first.cost.units, first.cost.nanos, first.cost.currency_code),
                         (40, 7, 250000000, "USD"))
        self.assertEqual(first.sync_error, "")
        self.assertLess(abs(time.time() - first.sync_time.seconds), 60)
        self.assertEqual(self.history(bid), 1)  # the first read
        r = self.sync(sup)
        self.assertEqual((r.binding_count, r.synced_count, r.changed_count), (1, 1, 0))
        again = self.binding(bid).last_offer
        self.assertGreaterEqual(again.sync_time.ToNanoseconds(), first.sync_time.ToNanoseconds())
        self.assertEqual(self.history(bid), 1)  # nothing changed, nothing written
        self.w.sim.set_sku("OFFMUG-1", stock=39)
        self.assertEqual(self.sync(sup).changed_count, 1)
        self.assertEqual(self.binding(bid).last_offer.stock, 39)
        self.assertEqual(self.history(bid), 2)
        row = harness.sql(self.w.db, "SELECT old_stock, new_stock, new_cost_units FROM offer_history "
                          "WHERE binding_id = '%s' ORDER BY change_id DESC LIMIT 1" % bid)
        self.assertEqual(row, "40|39|7")
        self.sync(sup)
        self.assertEqual(self.history(bid), 2)
        tasks = harness.count_rows(self.w.db, "tasks", "kind = 'offers.sync' AND key = "
                                   "'offers:%s'" % sup)
        self.assertEqual(tasks, 1)

    def test_price_rise_holds_only_unpurchased_orders_needing_the_sku(self):
        sup = self.w.supplier("offco2")
        self.bound("PR-A", sup, "PRA-1", 50, "10.00", max_cost=usd(20))
        self.bound("PR-B", sup, "PRB-1", 50, "10.00", first=False, max_cost=usd(20))
        bought = self.w.order("pr-bought", [("PR-A", 1)])
        self.wait_for(bought.id, PURCHASED)
        self.block_purchases("offco2")
        a = self.w.order("pr-a", [("PR-A", 2)])
        other = self.w.order("pr-other", [("PR-B", 1)])
        self.wait_for(a.id, {H.ORDER_STATE_PURCHASING})
        self.wait_for(other.id, {H.ORDER_STATE_PURCHASING})
        self.w.sim.set_sku("PRA-1", cost="25.00")
        r = self.sync(sup)
        self.assertEqual((r.changed_count, r.held_order_count), (1, 1), r)
        held = self.w.get(a.id)
        self.assertEqual(held.state, H.ORDER_STATE_ON_HOLD)
        self.assertEqual(held.hold.reason, O.HOLD_REASON_PRICE_CHANGED)
        self.assertEqual(held.hold.held_state, H.ORDER_STATE_PURCHASING)
        self.assertEqual(list(held.hold.line_ids), ["L1"])
        details = self.last_hold_details(a.id)
        self.assertEqual((details["old_cost"], details["new_cost"], details["max_cost"]),
                         ("10.00 USD", "25.00 USD", "20.00 USD"), details)
        # other SKUs and purchased orders are untouched
        self.assertEqual(self.w.get(other.id).state, H.ORDER_STATE_PURCHASING)
        self.assertIn(self.w.get(bought.id).state, PURCHASED)
        self.assertNotIn(O.ORDER_EVENT_TYPE_HELD, [e.type for e in self.w.history(bought.id)])
        # a second sync holds nothing more and resumes nothing
        r = self.sync(sup)
        self.assertEqual((r.held_order_count, r.resumed_order_count), (0, 0))
        self.w.sim.faults(clear=True)
        self.w.orders.ResolveHold(O.ResolveHoldRequest(
            order_id=a.id, accepted_cost=O.HoldAcceptedCost(
                lines=[O.LineCost(line_id="L1", max_unit_cost=usd(30))])),
            metadata=self.w.md, timeout=TIMEOUT)
        done = self.wait_for(a.id, PURCHASED, seconds=90)
        self.assertEqual(done.supplier_orders[0].cost.units, 50)  # 2 x 25.00
        # once purchased, a later rise leaves it alone
        self.w.sim.set_sku("PRA-1", cost="40.00")
        self.assertEqual(self.sync(sup).held_order_count, 0)
        self.assertIn(self.w.get(a.id).state, PURCHASED)

    def test_out_of_stock_holds_and_back_in_stock_resumes(self):
        sup = self.w.supplier("offco3")
        self.bound("OS-A", sup, "OSA-1", 50, "5.00")
        self.block_purchases("offco3")
        planned = self.w.order("os-planned", [("OS-A", 2)])
        self.wait_for(planned.id, {H.ORDER_STATE_PURCHASING})
        self.w.sim.set_sku("OSA-1", stock=1)
        self.assertEqual(self.sync(sup).held_order_count, 1)
        held = self.w.get(planned.id)
        self.assertEqual(held.hold.reason, O.HOLD_REASON_OUT_OF_STOCK, held.hold)
        details = self.last_hold_details(planned.id)
        self.assertEqual((details["old_stock"], details["new_stock"]), ("50", "1"), details)
        # verify holds a new order on the stored offer
        fresh = self.w.order("os-fresh", [("OS-A", 2)])
        self.assertEqual(self.wait_for(fresh.id, {H.ORDER_STATE_ON_HOLD}).hold.reason,
                         O.HOLD_REASON_OUT_OF_STOCK)
        self.w.sim.set_sku("OSA-1", stock=30)
        self.w.sim.faults(clear=True)
        r = self.sync(sup)
        self.assertEqual((r.changed_count, r.resumed_order_count), (1, 2), r)
        for oid in (planned.id, fresh.id):
            self.wait_for(oid, PURCHASED, seconds=90)
            self.assertIn(O.ORDER_EVENT_TYPE_HOLD_RESOLVED, [e.type for e in self.w.history(oid)])

    def test_substitute_supplier_used_when_first_is_out_of_stock(self):
        first = self.w.supplier("offco4a")
        second = self.w.supplier("offco4b")
        self.bound("SUB-A", first, "SUBA-1", 0, "3.00", priority=0)
        self.bound("SUB-A", second, "SUBB-1", 20, "3.50", priority=1)
        self.assertEqual(self.sync(first).synced_count, 1)
        o = self.w.order("sub-1", [("SUB-A", 1)])
        done = self.wait_for(o.id, PURCHASED)
        self.assertEqual([so.supplier_id for so in done.supplier_orders], [second])
        self.assertEqual(done.supplier_orders[0].lines[0].supplier_sku, "SUBB-1")
        # stock back at the first choice: the next order goes there again
        self.w.sim.set_sku("SUBA-1", stock=10)
        self.sync(first)
        o2 = self.w.order("sub-2", [("SUB-A", 1)])
        self.assertEqual([so.supplier_id for so in self.wait_for(o2.id, PURCHASED).supplier_orders],
                         [first])

    def test_purchase_refused_out_of_stock_then_substitute_is_bought(self):
        # the supplier refuses the purchase (422 OUT_OF_STOCK) although the
        # stored offer had stock; a substitute at another supplier must be
        # bought, not the order go on with only the refused supplier order
        sup = self.w.supplier("offco5")
        other = self.w.supplier("offco5b")
        self.bound("RF-A", sup, "RFA-1", 50, "5.00")
        alt = self.bound("RF-ALT", other, "RFB-1", 50, "5.00")
        self.block_purchases("offco5")
        o = self.w.order("rf-1", [("RF-A", 2)])
        self.wait_for(o.id, {H.ORDER_STATE_PURCHASING})
        self.w.sim.set_sku("RFA-1", stock=0)  # not synced: only the purchase sees it
        self.w.sim.faults(clear=True)
        held = self.wait_for(o.id, {H.ORDER_STATE_ON_HOLD}, seconds=90)
        self.assertEqual(held.hold.reason, O.HOLD_REASON_OUT_OF_STOCK, held.hold)
        self.w.orders.ResolveHold(O.ResolveHoldRequest(
            order_id=o.id, substitute=O.HoldSubstitution(
                lines=[O.LineBinding(line_id="L1", binding_id=alt)])),
            metadata=self.w.md, timeout=TIMEOUT)
        done = self.wait_for(o.id, PURCHASED, seconds=90)
        self.assertEqual([so.supplier_id for so in done.supplier_orders], [other],
                         done.supplier_orders)
        self.assertNotIn(done.supplier_orders[0].state, (O.SUPPLIER_ORDER_STATE_PENDING,
                                                         O.SUPPLIER_ORDER_STATE_REJECTED))



class SimSkuControlTest(unittest.TestCase):
    def test_overrides_change_offers_and_orders_until_reset(self):
        with Sim(token=TOKEN) as sim:
            offers = "/suppliers/acme/v1/offers?sku=CTRL-1"
            base = sim.get(offers)[1]["offers"][0]
            sim.set_sku("CTRL-1", stock=0, cost="3.10")
            o = sim.get(offers)[1]["offers"][0]
            self.assertEqual((o["stock"], o["cost"]["units"], o["cost"]["nanos"]),
                             (0, "3", 100000000))
            status, body, _ = sim.create_order("acme", "ref-1", [("CTRL-1", 1)])
            self.assertEqual((status, body["error"]["code"]), (422, "OUT_OF_STOCK"))
            sim.set_sku("CTRL-1", stock=7)  # the cost override stays
            o = sim.get(offers)[1]["offers"][0]
            self.assertEqual((o["stock"], o["cost"]["units"]), (7, "3"))
            for bad in ({"sku": ""}, {"sku": "X", "stock": -1},
                        {"sku": "X", "cost": {"currency_code": "USD", "units": "0"}}):
                self.assertEqual(sim.post("/_sim/skus", bad)[0], 400, bad)
            sim.reset()
            self.assertEqual(sim.get(offers)[1]["offers"][0]["stock"], base["stock"])
            self.assertEqual(sim.get("/_sim/skus")[1], {"skus": {}})


if __name__ == "__main__":
    unittest.main()
