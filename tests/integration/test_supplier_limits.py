"""Per-supplier HTTP limits: a supplier paused by its API's 429 Retry-After
does not hold back another supplier on the same host, nor tie up the
workflow's worker threads while it is paused, a supplier's configured
rate limit bounds the calls made to it, and an endpoint's own limit
(endpoint_rate_limits) bounds that endpoint's calls without slowing the
others."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

from simclient import Sim  # noqa: E402
from test_workflow_lifecycle import TOKEN, World  # noqa: E402
from dropship.v1 import common_pb2, suppliers_pb2  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402

TIMEOUT = 10
S = common_pb2


def supplier_msg(base, key, rate=None, endpoints=()):
    adapter = suppliers_pb2.SupplierAdapterConfig(
        kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
        base_url="%s/suppliers/%s" % (base, key), credential=TOKEN)
    if rate is not None:
        adapter.default_rate_limit.requests_per_second = rate[0]
        adapter.default_rate_limit.burst = rate[1]
    for endpoint, (eps, eburst) in endpoints:
        e = adapter.endpoint_rate_limits.add(endpoint=endpoint)
        e.limit.requests_per_second = eps
        e.limit.burst = eburst
    return suppliers_pb2.Supplier(
        display_name="Sim " + key, default_currency_code="USD",
        payment_mode=common_pb2.PAYMENT_MODE_AUTO, adapter=adapter,
        tracking=suppliers_pb2.TrackingConfig(kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                                              base_url=base + "/tracking", credential=TOKEN))


class SupplierLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = World("supplier_limits", scale=1000000)

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def create_supplier(self, base, key, rate=None, endpoints=()):
        r = self.w.suppliers.CreateSupplier(
            suppliers_pb2.CreateSupplierRequest(supplier=supplier_msg(base, key, rate, endpoints)),
            metadata=self.w.md, timeout=TIMEOUT)
        return r.supplier.id

    def test_a_paused_supplier_does_not_hold_back_another_on_the_same_host(self):
        w = self.w
        strict = self.create_supplier(w.sim.base, "strict")
        free = self.create_supplier(w.sim.base, "free")
        w.bind("STRICT-SKU", strict, "ST-1")
        w.bind("FREE-SKU", free, "FR-1")
        w.sim.faults({"type": "429", "prefix": "/suppliers/strict/", "retry_after": 30})
        held = w.order("lim-strict", [("STRICT-SKU", 1)])
        deadline = time.monotonic() + TIMEOUT
        while not w.sim.get("/_sim/faults/log")[1]["fired"]:
            self.assertLess(time.monotonic(), deadline, "the 429 never fired")
            time.sleep(0.05)
        # strict is paused for 30 s now; free, on the same host, is not
        o = w.order("lim-free", [("FREE-SKU", 1)])
        w.wait_state(o.id, S.ORDER_STATE_COMPLETED, seconds=20)
        self.assertNotEqual(w.get(held.id).state, S.ORDER_STATE_COMPLETED)
        w.sim.faults(clear=True)

    def test_configured_rate_limit_bounds_the_calls(self):
        w = self.w
        rate, burst, window = 4.0, 1, 2.0
        with Sim(token=TOKEN) as sim:
            sup = self.create_supplier(sim.base, "metered", rate=(rate, burst))
            w.bind("METER-SKU", sup, "MT-1")
            orders = [w.order("lim-meter-%d" % i, [("METER-SKU", 1)]) for i in range(6)]

            def supplier_calls():
                reqs = sim.stats()["requests"]
                return sum(v for k, v in reqs.items() if k.startswith("supplier."))

            deadline = time.monotonic() + TIMEOUT
            while supplier_calls() == 0:
                self.assertLess(time.monotonic(), deadline, "no supplier call")
                time.sleep(0.01)
            t0 = time.monotonic()
            time.sleep(window)
            calls = supplier_calls()
            elapsed = time.monotonic() - t0
            # a token bucket admits at most burst + rate x elapsed (+1: the
            # first call counted at t0 may have taken the initial token)
            self.assertLessEqual(calls, burst + rate * elapsed + 1,
                                 "%d supplier calls in %.2f s" % (calls, elapsed))
            self.assertGreaterEqual(calls, 2, "the limit must not stop the calls")
            for o in orders:
                w.wait_state(o.id, S.ORDER_STATE_COMPLETED, seconds=60)

    def test_endpoint_rate_limit_bounds_that_endpoint_only(self):
        """GET_ORDER limited on its own, no default limit: the order reads
        keep to their rate while the six orders are placed and paid at
        once; with the limit taken off, every order completes."""
        w = self.w
        rate, burst, window, n = 2.0, 1, 2.0, 6
        # nine reads of each order before it ships: 54 reads unlimited
        with Sim("--ship-polls", "8", token=TOKEN) as sim:
            sup = self.create_supplier(
                sim.base, "routed",
                endpoints=[(suppliers_pb2.SUPPLIER_ENDPOINT_GET_ORDER, (rate, burst))])
            w.bind("ROUTE-SKU", sup, "RT-1")
            orders = [w.order("lim-route-%d" % i, [("ROUTE-SKU", 1)]) for i in range(n)]

            def calls(kind):
                return sim.stats()["requests"].get("supplier." + kind, 0)

            deadline = time.monotonic() + TIMEOUT
            while calls("get_order") == 0:
                self.assertLess(time.monotonic(), deadline, "no order read")
                time.sleep(0.01)
            t0 = time.monotonic()
            time.sleep(window)
            reads = calls("get_order")
            elapsed = time.monotonic() - t0
            placed, paid = calls("create_order"), calls("pay_order")
            # the order reads keep to their own bucket ...
            self.assertLessEqual(reads, burst + rate * elapsed + 1,
                                 "%d order reads in %.2f s" % (reads, elapsed))
            self.assertGreaterEqual(reads, 2, "the limit must not stop the reads")
            # ... which holds back none of the supplier's other calls: at
            # 2 a second, placing and paying six orders would take 6 s
            self.assertEqual((placed, paid), (n, n),
                             "placed %d, paid %d of %d orders %.2f s into the reads"
                             % (placed, paid, n, elapsed))
            # an update that takes the limit off applies to the next calls
            upd = suppliers_pb2.Supplier(id=sup)
            upd.adapter.kind = suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT
            w.suppliers.UpdateSupplier(
                suppliers_pb2.UpdateSupplierRequest(
                    supplier=upd,
                    update_mask=field_mask_pb2.FieldMask(paths=["adapter.endpoint_rate_limits"])),
                metadata=w.md, timeout=TIMEOUT)
            for o in orders:
                w.wait_state(o.id, S.ORDER_STATE_COMPLETED, seconds=30)


class PausedSupplierWorkersTest(unittest.TestCase):
    """Two worker threads, a supplier paused for PAUSE_S by Retry-After and
    more of its orders than workers: the calls waiting for the pause give
    their workers back after --adapter-queue-wait-ms and their steps snooze
    until the pause ends, without spending attempts."""

    PAUSE_S = 15
    STRICT_ORDERS = 6

    @classmethod
    def setUpClass(cls):
        # two purchase attempts: the 429 spends one; a snooze that spent one
        # would put an order ON_HOLD SUPPLIER_UNAVAILABLE
        cls.w = World("supplier_pause_workers", scale=1000000, workflow_workers=2,
                      workflow_purchase_attempts=2, adapter_queue_wait_ms=1000)

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def create_supplier(self, key):
        r = self.w.suppliers.CreateSupplier(
            suppliers_pb2.CreateSupplierRequest(supplier=supplier_msg(self.w.sim.base, key)),
            metadata=self.w.md, timeout=TIMEOUT)
        return r.supplier.id

    def test_orders_of_a_paused_supplier_do_not_hold_the_workers(self):
        w = self.w
        w.bind("PAUSED-SKU", self.create_supplier("paused"), "PA-1")
        w.bind("OTHER-SKU", self.create_supplier("other"), "OT-1")
        w.sim.faults({"type": "429", "prefix": "/suppliers/paused/", "method": "POST",
                      "count": 1, "retry_after": self.PAUSE_S})
        paused = [w.order("pw-paused-%d" % i, [("PAUSED-SKU", 1)])
                  for i in range(self.STRICT_ORDERS)]
        deadline = time.monotonic() + TIMEOUT
        fired = []
        while not fired:
            self.assertLess(time.monotonic(), deadline, "the 429 never fired")
            time.sleep(0.05)
            fired = w.sim.get("/_sim/faults/log")[1]["fired"]
        pause_ends = fired[0]["time_ms"] / 1000.0 + self.PAUSE_S
        # the paused supplier's steps are due before this order's; with the
        # workers waiting out the pause it could not move until it ends
        o = w.order("pw-other", [("OTHER-SKU", 1)])
        w.wait_state(o.id, S.ORDER_STATE_COMPLETED, seconds=self.PAUSE_S)
        left = pause_ends - time.time()
        self.assertGreater(left, 0, "the other supplier's order completed only after the pause")
        for p in paused:
            g = w.get(p.id)
            self.assertNotIn(g.state, (S.ORDER_STATE_COMPLETED, S.ORDER_STATE_ON_HOLD),
                             "%s: %s %s" % (p.external_order_id, S.OrderState.Name(g.state), g.hold))
        # after the pause every order completes: the snoozes spent no attempt
        for p in paused:
            w.wait_state(p.id, S.ORDER_STATE_COMPLETED, seconds=self.PAUSE_S + 20)
        print("other order COMPLETED %.1f s before the pause ended" % left)


if __name__ == "__main__":
    unittest.main(verbosity=2)
