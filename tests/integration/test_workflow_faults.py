"""Faults of the outside world against the order workflow: every simulator
fault (latency, 5xx, 429 with Retry-After, timeout, malformed JSON, dropped
connection) on every supplier endpoint the workflow calls (create order,
pay, get order) and on the courier's tracking endpoint.

For each fault x endpoint two orders run, all of them at once:
- transient (the first TRANSIENT requests fail): the order ends COMPLETED
  after retries, with exactly one purchase at the supplier;
- persistent (every request fails): the order ends ON_HOLD with a typed
  reason (SUPPLIER_UNAVAILABLE for the purchase, STEP_FAILED for the
  others), the error text in the hold and in a HELD history event.
No order is left in any other state, 429 retries never come before the
Retry-After, and dropshipd exits cleanly at the end.

Also: the return-address step exhausting its attempts holds the order
(STEP_FAILED) instead of dropping the step, and the return window comes from
the policy snapshotted onto the order, not from the supplier record.

Time runs fast (--workflow-time-scale), steps get few attempts
(--workflow-purchase-attempts / --workflow-step-attempts) and the suppliers
a short request timeout, so the whole matrix takes seconds. Supplier faults
are scoped by path (each case has its own supplier key, and the simulator
numbers a supplier's orders SO-<key>-000001, ...); every tracking case has
a simulator of its own, because parcel numbers are shared by a simulator.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from simclient import Sim  # noqa: E402
from test_workflow_lifecycle import ADDRESS, TOKEN, usd  # noqa: E402
from dropship.v1 import (catalog_pb2, catalog_pb2_grpc, common_pb2, orders_pb2,  # noqa: E402
                         orders_pb2_grpc, suppliers_pb2, suppliers_pb2_grpc)

RPC_TIMEOUT = 10
SCALE = 1000000          # the 7-day return window becomes 0.6 s
ATTEMPTS = 4             # --workflow-purchase-attempts and --workflow-step-attempts
TRANSIENT = 2            # failing requests of a transient fault (< ATTEMPTS)
REQUEST_TIMEOUT_S = 1    # the suppliers' adapter.request_timeout
SLOW_MS = 2500           # latency / hang of a slow answer: past the request timeout
RETRY_AFTER_S = 1
SETTLE_S = 100           # every order has reached COMPLETED or ON_HOLD by then

C = common_pb2
O = orders_pb2

# fault name -> (simulator rule without scope, text the error must contain)
FAULTS = {
    "latency": ({"type": "latency", "latency_ms": SLOW_MS}, "timed out"),
    "5xx": ({"type": "5xx", "status": 503}, "HTTP 503"),
    "429": ({"type": "429", "retry_after": RETRY_AFTER_S}, "HTTP 429"),
    "timeout": ({"type": "timeout", "hang_ms": SLOW_MS}, "timed out"),
    "malformed": ({"type": "malformed"}, "malformed JSON"),
    "drop": ({"type": "drop", "processed": True}, "network error"),
}
ENDPOINTS = ("create", "pay", "get", "track")

# endpoint -> (hold reason, held state) of a persistent fault
PERSISTENT_HOLD = {
    "create": (O.HOLD_REASON_SUPPLIER_UNAVAILABLE, C.ORDER_STATE_PURCHASING),
    "pay": (O.HOLD_REASON_STEP_FAILED, C.ORDER_STATE_AWAITING_PAYMENT),
    "get": (O.HOLD_REASON_STEP_FAILED, C.ORDER_STATE_AWAITING_SHIPMENT),
    "track": (O.HOLD_REASON_STEP_FAILED, C.ORDER_STATE_IN_TRANSIT),  # parcels known first
    "return_policy": (O.HOLD_REASON_STEP_FAILED, None),
}
STEP_OF = {"create": "purchase", "pay": "payment", "get": "tracking", "track": "tracking",
           "return_policy": "return_address"}


def scope(key, endpoint):
    """(prefix, method) of the requests of supplier `key` to `endpoint`."""
    first = "SO-%s-000001" % key
    return {
        "create": ("/suppliers/%s/v1/orders" % key, "POST"),
        "pay": ("/suppliers/%s/v1/orders/%s/payments" % (key, first), "POST"),
        "get": ("/suppliers/%s/v1/orders/%s" % (key, first), "GET"),
        "track": ("/tracking/", "GET"),
        "return_policy": ("/suppliers/%s/v1/return-policy" % key, "GET"),
    }[endpoint]


class Case:
    """One order under one fault."""

    def __init__(self, fault, endpoint, transient):
        self.fault, self.endpoint, self.transient = fault, endpoint, transient
        self.key = "%s-%s-%s" % (fault, endpoint.replace("_", ""), "t" if transient else "p")
        self.sim = None
        self.supplier = self.order = self.final = None

    def rules(self):
        rule, _ = FAULTS[self.fault]
        prefix, method = scope(self.key, self.endpoint)
        r = dict(rule, prefix=prefix, method=method)
        if not self.transient:
            return [r]
        r["count"] = TRANSIENT
        # marks the first request after the fault in the fault log (retry spacing)
        return [r, {"type": "latency", "latency_ms": 1, "count": 1, "prefix": prefix,
                    "method": method}]

    def name(self):
        return "%s on %s (%s)" % (self.fault, self.endpoint,
                                  "transient" if self.transient else "persistent")


class FaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        cls.sims = []
        cls.server = None
        try:
            cls.start()
        except BaseException:
            if cls.server is not None:
                sys.stderr.write(cls.server.log()[-6000:])
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls):
        cls.db = harness.fresh_database("wf_faults")
        cls.server = harness.Server(cls.db, workflow_time_scale=SCALE, workflow_workers=12, db_pool_size=32,
                                    workflow_purchase_attempts=ATTEMPTS,
                                    workflow_step_attempts=ATTEMPTS)
        shop = harness.create_shop(cls.db, "wf_faults")
        cls.md = harness.auth(harness.create_api_key(cls.db, shop))
        cls.ch = harness.channel(cls.server.addr)
        cls.orders = orders_pb2_grpc.OrderServiceStub(cls.ch)
        cls.suppliers = suppliers_pb2_grpc.SupplierServiceStub(cls.ch)
        cls.catalog = catalog_pb2_grpc.CatalogServiceStub(cls.ch)
        cls.main_sim = cls.new_sim()   # supplier endpoints, all faults but 429
        cls.sim_429 = cls.new_sim()    # 429 pauses the whole host: keep it apart
        cls.cases = []
        for fault in FAULTS:
            for ep in ENDPOINTS:
                for transient in (True, False):
                    cls.cases.append(Case(fault, ep, transient))
        for transient in (True, False):
            cls.cases.append(Case("5xx", "return_policy", transient))
        for c in cls.cases:
            c.sim = (cls.new_sim() if c.endpoint == "track"
                     else cls.sim_429 if c.fault == "429" else cls.main_sim)
            c.sim.faults(*c.rules())
            c.supplier = cls.supplier(c.sim, c.key)
            cls.bind("SKU-" + c.key, c.supplier, "ITEM-" + c.key)
        # the return window: the supplier record says 365 days, the policy the
        # adapter returns (and the order snapshots) 7 or 14
        cls.window_sup = cls.supplier(cls.main_sim, "window", record_days=365)
        cls.bind("SKU-window", cls.window_sup, "ITEM-window")
        for c in cls.cases:
            c.order = cls.create_order(c.key, "SKU-" + c.key)
        cls.window_order = cls.create_order("window", "SKU-window")
        cls.settle()

    @classmethod
    def tearDownClass(cls):
        rc = 0
        if cls.server is not None:
            if getattr(cls, "ch", None) is not None:
                cls.ch.close()
            rc = cls.server.stop()
        sim_rcs = [(s.stop(), s.stderr_text[-2000:]) for s in cls.sims]
        sys.stderr.write("fault matrix ran in %.1f s\n" % (time.monotonic() - cls.t0))
        if rc != 0:
            raise AssertionError("dropshipd exited %s:\n%s" % (rc, cls.server.log()[-4000:]))
        for src, text in sim_rcs:
            if src != 0:
                raise AssertionError("dropship-sim exited %s:\n%s" % (src, text))

    # --- setup helpers -----------------------------------------------------
    @classmethod
    def new_sim(cls):
        s = Sim(token=TOKEN)
        cls.sims.append(s)
        return s

    @classmethod
    def supplier(cls, sim, key, record_days=None):
        s = suppliers_pb2.Supplier(
            display_name="Faulty " + key, default_currency_code="USD",
            payment_mode=C.PAYMENT_MODE_AUTO,
            adapter=suppliers_pb2.SupplierAdapterConfig(
                kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
                base_url="%s/suppliers/%s" % (sim.base, key), credential=TOKEN),
            tracking=suppliers_pb2.TrackingConfig(
                kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                base_url=sim.base + "/tracking", credential=TOKEN))
        s.adapter.request_timeout.seconds = REQUEST_TIMEOUT_S
        s.payment_due.seconds = 3600
        if record_days is not None:
            s.return_address.CopyFrom(ADDRESS)
            s.return_rules.no_reason_return_days = record_days
        r = cls.suppliers.CreateSupplier(suppliers_pb2.CreateSupplierRequest(supplier=s),
                                         metadata=cls.md, timeout=RPC_TIMEOUT)
        return r.supplier.id

    @classmethod
    def bind(cls, shop_sku, supplier_id, supplier_sku):
        b = catalog_pb2.Binding(shop_sku=shop_sku, supplier_id=supplier_id,
                                supplier_sku=supplier_sku, max_cost=usd(1000))
        cls.catalog.CreateBinding(catalog_pb2.CreateBindingRequest(binding=b), metadata=cls.md,
                                  timeout=RPC_TIMEOUT)

    @classmethod
    def create_order(cls, ext, sku):
        o = O.Order(external_order_id="faults-" + ext, currency_code="USD",
                    shipping_address=ADDRESS)
        o.lines.add(line_id="L1", shop_sku=sku, quantity=1, unit_price=usd(20))
        return cls.orders.CreateOrder(O.CreateOrderRequest(order=o), metadata=cls.md,
                                      timeout=RPC_TIMEOUT).order.id

    @classmethod
    def get(cls, oid):
        return cls.orders.GetOrder(O.GetOrderRequest(order_id=oid), metadata=cls.md,
                                   timeout=RPC_TIMEOUT).order

    @classmethod
    def history(cls, oid):
        return cls.orders.GetOrderHistory(O.GetOrderHistoryRequest(order_id=oid, page_size=500),
                                          metadata=cls.md, timeout=RPC_TIMEOUT).events

    @classmethod
    def settle(cls):
        """Wait until every order is COMPLETED or ON_HOLD (or SETTLE_S passed)."""
        done = (C.ORDER_STATE_COMPLETED, C.ORDER_STATE_ON_HOLD)
        deadline = time.monotonic() + SETTLE_S
        pending = list(cls.cases)
        while pending and time.monotonic() < deadline:
            for c in pending:
                c.final = cls.get(c.order)
            pending = [c for c in pending if c.final.state not in done]
            if pending:
                time.sleep(0.25)
        cls.settle_s = time.monotonic() - cls.t0

    # --- the matrix --------------------------------------------------------
    def check_case(self, c):
        o = c.final
        _, text = FAULTS[c.fault]
        state = C.OrderState.Name(o.state)
        if c.transient:
            self.assertEqual(o.state, C.ORDER_STATE_COMPLETED,
                             "%s: %s, hold %s" % (c.name(), state, o.hold))
            return
        reason, held = PERSISTENT_HOLD[c.endpoint]
        self.assertEqual(o.state, C.ORDER_STATE_ON_HOLD, "%s: %s" % (c.name(), state))
        self.assertEqual(o.hold.reason, reason, "%s: %s" % (c.name(), o.hold))
        if held is not None:
            self.assertEqual(o.hold.held_state, held, "%s: %s" % (c.name(), o.hold))
        self.assertIn(text, o.hold.detail, c.name())
        self.assertIn(STEP_OF[c.endpoint], o.hold.detail, c.name())
        self.assertEqual(o.hold.supplier_id, c.supplier, "%s: %s" % (c.name(), o.hold))
        held_events = [e for e in self.history(c.order) if e.type == O.ORDER_EVENT_TYPE_HELD]
        self.assertEqual(len(held_events), 1, c.name())
        self.assertEqual(held_events[0].to_state, C.ORDER_STATE_ON_HOLD)
        self.assertIn(text, held_events[0].details.get("detail", ""), c.name())
        self.assertEqual(held_events[0].details.get("hold_reason"),
                         O.HoldReason.Name(reason), c.name())

    def test_every_fault_on_every_endpoint(self):
        failures = []
        matrix = []
        for c in self.cases:
            try:
                self.check_case(c)
                outcome = "ok"
            except AssertionError as e:
                outcome = "FAIL"
                failures.append(str(e))
            desc = C.OrderState.Name(c.final.state)
            if c.final.state == C.ORDER_STATE_ON_HOLD:
                desc += " " + O.HoldReason.Name(c.final.hold.reason)
            matrix.append("%-10s %-14s %-10s %-45s %s" % (
                c.fault, c.endpoint, "transient" if c.transient else "persistent", desc,
                outcome))
        sys.stderr.write("\n" + "\n".join(matrix) + "\nsettled after %.1f s\n" % self.settle_s)
        if failures:
            self.fail("%d of %d cases failed:\n%s\n%s" % (
                len(failures), len(self.cases), "\n".join(failures),
                self.server.log()[-3000:]))

    def test_no_double_purchase(self):
        for sim in (self.main_sim, self.sim_429):
            st = sim.stats()
            self.assertEqual(st.get("duplicates", 0), 0, st)
            keys = st.get("orders_by_idempotency_key", {})
            for c in self.cases:
                k = "%s:%s" % (c.order, c.supplier)
                if c.sim is sim and k in keys:
                    self.assertLessEqual(keys[k]["orders_created"], 1, (c.name(), keys[k]))
        for c in self.cases:
            if c.transient or c.endpoint != "create":
                so = [s for s in c.final.supplier_orders if s.supplier_id == c.supplier]
                self.assertEqual(len(so), 1, c.name())
                self.assertEqual(so[0].supplier_order_ref, "SO-%s-000001" % c.key, c.name())

    def test_retry_after_is_honoured(self):
        """Consecutive requests of a 429 case are at least Retry-After apart
        (the simulator logs when each fault, and each marker after a transient
        fault, fired)."""
        checked = 0
        for c in self.cases:
            if c.fault != "429":
                continue
            prefix, method = scope(c.key, c.endpoint)
            log = c.sim.get("/_sim/faults/log")[1]
            times = sorted(f["time_ms"] for f in log["fired"]
                           if f["method"] == method and f["path"].startswith(prefix) and
                           (c.endpoint != "create" or f["path"] == prefix))
            self.assertGreaterEqual(len(times), TRANSIENT + 1 if c.transient else ATTEMPTS,
                                    (c.name(), log))
            for a, b in zip(times, times[1:]):
                self.assertGreaterEqual(b - a, RETRY_AFTER_S * 1000 - 20,
                                        "%s: retry %.0f ms after a 429 with Retry-After %d s"
                                        % (c.name(), b - a, RETRY_AFTER_S))
                checked += 1
        self.assertGreaterEqual(checked, 8)

    def test_return_window_comes_from_the_order_snapshot(self):
        o = self.get(self.window_order)
        deadline = time.monotonic() + 20
        while o.state != C.ORDER_STATE_COMPLETED and time.monotonic() < deadline:
            time.sleep(0.2)
            o = self.get(self.window_order)
        so = o.supplier_orders[0]
        self.assertEqual(so.return_policy_source, C.RETURN_POLICY_SOURCE_ADAPTER)
        self.assertIn(so.return_rules.no_reason_return_days, (7, 14))
        self.assertEqual(o.state, C.ORDER_STATE_COMPLETED, "the 365-day record window was used")
        ev = {e.to_state: e.event_time.ToMilliseconds() for e in self.history(o.id)
              if e.type == O.ORDER_EVENT_TYPE_STATE_CHANGED}
        window_ms = ev[C.ORDER_STATE_COMPLETED] - ev[C.ORDER_STATE_DELIVERED]
        # 14 days / SCALE = 1.2 s; the record's 365 days would be 31.5 s
        self.assertLess(window_ms, 15000, "completed %d ms after delivery" % window_ms)


if __name__ == "__main__":
    unittest.main(verbosity=2)
