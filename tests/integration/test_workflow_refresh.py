"""RefreshTracking polls now: at the production time scale (1) the next
supplier and courier polls are hours away, yet each RefreshTracking makes
the server ask the simulator within seconds - first the supplier (for the
tracking number), then the courier (for checkpoints)."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

from test_workflow_lifecycle import World  # noqa: E402
from dropship.v1 import common_pb2, orders_pb2  # noqa: E402

TIMEOUT = 10
POLL_WITHIN_S = 10  # engine wake-up is a NOTIFY hint plus polling; generous for ASan
S = common_pb2


class RefreshTrackingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = World("wf_refresh", scale=1)

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def requests(self, what):
        return self.w.sim.stats()["requests"].get(what, 0)

    def refresh(self, oid):
        return self.w.orders.RefreshTracking(orders_pb2.RefreshTrackingRequest(order_id=oid),
                                             metadata=self.w.md, timeout=TIMEOUT).order

    def refresh_until_more(self, oid, what):
        """RefreshTracking, then wait until the simulator saw one more `what`."""
        before = self.requests(what)
        self.refresh(oid)
        deadline = time.monotonic() + POLL_WITHIN_S
        while self.requests(what) <= before:
            if time.monotonic() > deadline:
                self.fail("no %s within %d s of RefreshTracking\n%s" % (
                    what, POLL_WITHIN_S, self.w.server.log()[-3000:]))
            time.sleep(0.05)

    def test_refresh_polls_supplier_then_courier_now(self):
        w = self.w
        sup = w.supplier("slowpoke")
        w.bind("BOWL", sup, "BOWL-01")
        o = w.order("refresh-1", [("BOWL", 1)])
        w.wait_state(o.id, S.ORDER_STATE_AWAITING_SHIPMENT)
        # The first supplier read happens on arrival here; the next one is
        # 2 hours away at time scale 1. Each refresh makes it now.
        time.sleep(0.5)
        reads = self.requests("supplier.get_order")
        time.sleep(1.5)
        self.assertEqual(self.requests("supplier.get_order"), reads, "polled on its own")
        self.assertEqual(reads, 1)
        self.refresh_until_more(o.id, "supplier.get_order")  # the simulator ships on read 2
        cur = w.wait_state(o.id, S.ORDER_STATE_IN_TRANSIT, seconds=POLL_WITHIN_S)
        self.assertEqual(len(cur.supplier_orders[0].parcels), 1)
        time.sleep(0.3)
        self.refresh_until_more(o.id, "tracking.get")

    def test_refresh_of_an_order_with_nothing_to_track_is_refused(self):
        w = self.w
        o = w.order("refresh-2", [("NOBIND", 1)])  # held: SKU_UNMAPPED
        w.wait_state(o.id, S.ORDER_STATE_ON_HOLD)
        with self.assertRaises(grpc.RpcError) as cm:
            self.refresh(o.id)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)


if __name__ == "__main__":
    unittest.main(verbosity=2)
