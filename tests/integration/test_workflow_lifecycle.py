"""The order workflow end to end against dropship-sim: one order from
RECEIVED to COMPLETED, split orders over two suppliers with three parcels,
and exactly one supplier order per (order, supplier) at the simulator.

Time runs fast: --workflow-time-scale divides every workflow duration (the
return window of days becomes a second); the simulator moves on each poll.
"""
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

import grpc  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402

import harness  # noqa: E402
from simclient import Sim  # noqa: E402
from dropship.v1 import (catalog_pb2, catalog_pb2_grpc, common_pb2, orders_pb2,  # noqa: E402
                         orders_pb2_grpc, suppliers_pb2, suppliers_pb2_grpc)

TIMEOUT = 10
SCALE = 1000000
TOKEN = "sim-token-1"
S = orders_pb2  # OrderState values live in common_pb2
ADDRESS = common_pb2.Address(recipient_name="Ada Lovelace", phone="+44 20 7946 0000",
                             country_code="GB", region="London", city="London",
                             street="12 St James's Square", postal_code="SW1Y 4JH")


def usd(units, nanos=0):
    return common_pb2.Money(currency_code="USD", units=units, nanos=nanos)


class World:
    """A database, a simulator, a server with a fast workflow, a shop and clients."""

    def __init__(self, name, scale=SCALE, sim_args=(), **settings):
        self.db = harness.fresh_database(name)
        self.sim = Sim(*sim_args, token=TOKEN)
        self.server = harness.Server(self.db, workflow_time_scale=scale, **settings)
        self.shop = harness.create_shop(self.db, name)
        self.md = harness.auth(harness.create_api_key(self.db, self.shop))
        self.ch = harness.channel(self.server.addr)
        self.orders = orders_pb2_grpc.OrderServiceStub(self.ch)
        self.suppliers = suppliers_pb2_grpc.SupplierServiceStub(self.ch)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(self.ch)

    def close(self):
        self.ch.close()
        rc = self.server.stop()
        self.sim.stop()
        if rc != 0:
            raise AssertionError("dropshipd exited %s:\n%s" % (rc, self.server.log()))

    def supplier(self, key, mode=common_pb2.PAYMENT_MODE_AUTO, due_s=3600):
        s = suppliers_pb2.Supplier(
            display_name="Sim " + key, default_currency_code="USD", payment_mode=mode,
            adapter=suppliers_pb2.SupplierAdapterConfig(
                kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
                base_url="%s/suppliers/%s" % (self.sim.base, key), credential=TOKEN),
            tracking=suppliers_pb2.TrackingConfig(
                kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                base_url=self.sim.base + "/tracking", credential=TOKEN))
        s.payment_due.seconds = due_s
        r = self.suppliers.CreateSupplier(suppliers_pb2.CreateSupplierRequest(supplier=s),
                                          metadata=self.md, timeout=TIMEOUT)
        return r.supplier.id

    def supplier_returns(self, supplier_id, address, days):
        """Set the supplier record's return address and no-reason days."""
        rec = suppliers_pb2.Supplier(
            id=supplier_id, return_address=address,
            return_rules=common_pb2.ReturnRules(no_reason_return_days=days))
        self.suppliers.UpdateSupplier(suppliers_pb2.UpdateSupplierRequest(
            supplier=rec, update_mask=field_mask_pb2.FieldMask(
                paths=["return_address", "return_rules"])), metadata=self.md, timeout=TIMEOUT)

    def bind(self, shop_sku, supplier_id, supplier_sku, max_cost=usd(1000), priority=0):
        b = catalog_pb2.Binding(shop_sku=shop_sku, supplier_id=supplier_id,
                                supplier_sku=supplier_sku, max_cost=max_cost, priority=priority)
        return self.catalog.CreateBinding(catalog_pb2.CreateBindingRequest(binding=b),
                                          metadata=self.md, timeout=TIMEOUT).binding.id

    def order(self, ext, lines, address=ADDRESS):
        o = orders_pb2.Order(external_order_id=ext, currency_code="USD",
                             shipping_address=address)
        for i, (sku, qty) in enumerate(lines):
            o.lines.add(line_id="L%d" % (i + 1), shop_sku=sku, quantity=qty,
                        unit_price=usd(20))
        return self.orders.CreateOrder(orders_pb2.CreateOrderRequest(order=o),
                                       metadata=self.md, timeout=TIMEOUT).order

    def get(self, oid):
        return self.orders.GetOrder(orders_pb2.GetOrderRequest(order_id=oid),
                                    metadata=self.md, timeout=TIMEOUT).order

    def wait_state(self, oid, state, seconds=30):
        deadline = time.monotonic() + seconds
        o = self.get(oid)
        while o.state != state:
            if time.monotonic() > deadline:
                raise AssertionError("order stayed %s (hold %s), wanted %s\n%s" % (
                    common_pb2.OrderState.Name(o.state), o.hold, common_pb2.OrderState.Name(state),
                    self.server.log()[-4000:]))
            time.sleep(0.1)
            o = self.get(oid)
        return o

    def history(self, oid):
        return self.orders.GetOrderHistory(
            orders_pb2.GetOrderHistoryRequest(order_id=oid, page_size=500),
            metadata=self.md, timeout=TIMEOUT).events


class LifecycleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = World("wf_lifecycle")

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def test_one_order_runs_from_received_to_completed(self):
        w = self.w
        sup = w.supplier("acme")
        w.bind("MUG", sup, "MUG-01")
        o = w.order("life-1", [("MUG", 2)])
        self.assertEqual(o.state, common_pb2.ORDER_STATE_RECEIVED)
        done = w.wait_state(o.id, common_pb2.ORDER_STATE_COMPLETED)
        self.assertEqual(len(done.supplier_orders), 1)
        so = done.supplier_orders[0]
        self.assertEqual(so.idempotency_key, "%s:%s" % (o.id, sup))
        self.assertTrue(so.supplier_order_ref.startswith("SO-acme-"))
        self.assertTrue(so.payment_proof.reference.startswith("TX-acme-"))
        self.assertEqual(so.return_policy_source, common_pb2.RETURN_POLICY_SOURCE_ADAPTER)
        self.assertTrue(so.return_address.city)
        self.assertEqual(len(so.parcels), 1)
        self.assertEqual(so.parcels[0].status, common_pb2.TRACKING_STATUS_DELIVERED)
        self.assertGreaterEqual(len(so.parcels[0].checkpoints), 3)
        states = [e.to_state for e in w.history(o.id)
                  if e.type == orders_pb2.ORDER_EVENT_TYPE_STATE_CHANGED]
        self.assertEqual(states, [common_pb2.ORDER_STATE_VERIFYING,
                                  common_pb2.ORDER_STATE_PURCHASING,
                                  common_pb2.ORDER_STATE_AWAITING_PAYMENT,
                                  common_pb2.ORDER_STATE_AWAITING_SHIPMENT,
                                  common_pb2.ORDER_STATE_IN_TRANSIT,
                                  common_pb2.ORDER_STATE_DELIVERED,
                                  common_pb2.ORDER_STATE_COMPLETED])
        seqs = [e.sequence for e in w.history(o.id)]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))

    def test_completion_waits_for_the_snapshotted_return_window(self):
        """The supplier record promises 365 no-reason days (31.5 s here), the
        supplier's API 7 or 14 (under 1.3 s): the window bound to the supplier
        order when it was bought decides when the order completes."""
        w = self.w
        sup = w.supplier("windowed")
        w.supplier_returns(sup, ADDRESS, 365)
        w.bind("WMUG", sup, "WMUG-01")
        o = w.order("life-window", [("WMUG", 1)])
        done = w.wait_state(o.id, common_pb2.ORDER_STATE_COMPLETED, seconds=20)
        so = done.supplier_orders[0]
        self.assertEqual(so.return_policy_source, common_pb2.RETURN_POLICY_SOURCE_ADAPTER)
        days = so.return_rules.no_reason_return_days
        self.assertIn(days, (7, 14))
        at = {e.to_state: e.event_time.ToNanoseconds() / 1e9 for e in w.history(o.id)
              if e.type == orders_pb2.ORDER_EVENT_TYPE_STATE_CHANGED}
        waited = at[common_pb2.ORDER_STATE_COMPLETED] - at[common_pb2.ORDER_STATE_DELIVERED]
        self.assertGreaterEqual(waited, days * 86400 / SCALE - 0.01)
        self.assertLess(waited, 10.0, "completed %.2f s after delivery" % waited)

    def test_return_policy_falls_back_to_the_binding_then_the_supplier(self):
        """The supplier's API has no policy for NOPOLICY- SKUs (404): the
        return_address step binds the override of the line's binding when it
        has one, else the supplier record's address and rules."""
        w = self.w
        asked = w.sim.stats()["requests"].get("supplier.return_policy", 0)
        sup = w.supplier("nopolicy")
        w.supplier_returns(sup, ADDRESS, 10)
        own = common_pb2.Address(recipient_name="Binding Returns", phone="+49 30 000000",
                                 country_code="DE", city="Berlin", street="1 Retourenweg",
                                 postal_code="10115")
        b = catalog_pb2.Binding(shop_sku="NPB", supplier_id=sup, supplier_sku="NOPOLICY-B",
                                max_cost=usd(1000), return_address=own,
                                return_rules=common_pb2.ReturnRules(no_reason_return_days=3))
        w.catalog.CreateBinding(catalog_pb2.CreateBindingRequest(binding=b), metadata=w.md,
                                timeout=TIMEOUT)
        w.bind("NPS", sup, "NOPOLICY-S")  # no override
        ob = w.order("life-nopolicy-b", [("NPB", 1)])
        os_ = w.order("life-nopolicy-s", [("NPS", 1)])
        for o, source, addr, days in (
                (ob, common_pb2.RETURN_POLICY_SOURCE_BINDING, own, 3),
                (os_, common_pb2.RETURN_POLICY_SOURCE_SUPPLIER, ADDRESS, 10)):
            done = w.wait_state(o.id, common_pb2.ORDER_STATE_COMPLETED, seconds=20)
            so = done.supplier_orders[0]
            self.assertEqual(so.return_policy_source, source, so)
            self.assertEqual(so.return_address, addr)
            self.assertEqual(so.return_rules.no_reason_return_days, days)
            bound = [e for e in w.history(o.id)
                     if e.type == orders_pb2.ORDER_EVENT_TYPE_RETURN_POLICY_BOUND]
            self.assertEqual([e.details["source"] for e in bound],
                             [common_pb2.ReturnPolicySource.Name(source)[len(
                                 "RETURN_POLICY_SOURCE_"):]])
        asked = w.sim.stats()["requests"].get("supplier.return_policy", 0) - asked
        self.assertGreaterEqual(asked, 2)  # the API was asked first, for each order

    def test_get_order_reads_one_snapshot(self):
        # A step writes the order row and its supplier orders in one
        # transaction; GetOrder must never show half of such a write. Here
        # a writer commits the same value to the order's buyer note and its
        # supplier order's payment reference, and GetOrder runs meanwhile.
        w = self.w
        sup = w.supplier("snap")
        w.bind("SNAP", sup, "SNAP-01")
        o = w.order("life-snap", [("SNAP", 1)])
        w.wait_state(o.id, common_pb2.ORDER_STATE_COMPLETED)
        body = ("UPDATE orders SET buyer_note = 'v' || i WHERE order_id = '{0}';"
                " UPDATE supplier_orders SET proof_reference = 'v' || i WHERE order_id = '{0}'"
                .format(o.id))
        harness.sql(w.db, "DO $$ DECLARE i int := 0; BEGIN %s; END $$" % body)  # both 'v0'
        seen = harness.reads_during_commits(w.db, body, 3000, lambda: w.get(o.id))
        torn = [(g.buyer_note, g.supplier_orders[0].payment_proof.reference) for g in seen
                if g.buyer_note != g.supplier_orders[0].payment_proof.reference]
        sys.stderr.write("GetOrder %d times during 3000 commits: %d torn\n"
                         % (len(seen), len(torn)))
        self.assertEqual(torn[:5], [], "GetOrder mixed two commits")
        self.assertGreater(len(seen), 20)

    def test_every_step_that_writes_events_wakes_the_stream(self):
        """The workflow's event writers send the stream's NOTIFY themselves
        (0010_event_writers.sql; the trigger only serves rows that come
        without a position, like CreateOrder's): a LISTEN session hears at
        least one notification per transaction that wrote an event of the
        order, with the shop as payload."""
        w = self.w
        sup = w.supplier("notify")
        w.bind("BOWL", sup, "BOWL-01")
        listener = subprocess.Popen([harness.PSQL, "-X", "-q", "-At", "-d", w.db],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
        try:
            listener.stdin.write("LISTEN dropship_events;\nSELECT 'listening';\n")
            listener.stdin.flush()
            self.assertEqual(listener.stdout.readline().strip(), "listening")
            o = w.order("notify-1", [("BOWL", 1)])
            w.wait_state(o.id, common_pb2.ORDER_STATE_COMPLETED)
            out, _ = listener.communicate("SELECT 'done';\n", timeout=30)
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait()
        payloads = re.findall(r'Asynchronous notification "dropship_events" with payload'
                              r' "([^"]*)"', out)
        writers = int(harness.sql(w.db, "SELECT count(DISTINCT txid) FROM order_events"
                                  " WHERE order_id = '%s'" % o.id))
        self.assertGreaterEqual(writers, 6)
        self.assertGreaterEqual(len(payloads), writers, out[-2000:])
        self.assertEqual(set(payloads), {w.shop})

    def test_split_order_two_suppliers_three_parcels_one_purchase_each(self):
        w = self.w
        a, b = w.supplier("north"), w.supplier("south")
        w.bind("TEE-RED", a, "SPLIT-TEE-RED")
        w.bind("TEE-BLUE", a, "SPLIT-TEE-BLUE")
        w.bind("CAP", b, "CAP-01")
        o = w.order("split-1", [("TEE-RED", 1), ("TEE-BLUE", 1), ("CAP", 3)])
        done = w.wait_state(o.id, common_pb2.ORDER_STATE_COMPLETED)
        by_supplier = {so.supplier_id: so for so in done.supplier_orders}
        self.assertEqual(set(by_supplier), {a, b})
        self.assertEqual(len(by_supplier[a].parcels), 2)
        self.assertEqual(len(by_supplier[b].parcels), 1)
        keys = w.sim.stats().get("orders_by_idempotency_key", {})
        for sup in (a, b):
            k = "%s:%s" % (o.id, sup)
            self.assertEqual(keys[k]["orders_created"], 1, keys[k])
        self.assertEqual(w.sim.stats().get("duplicates", 0), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
