"""Holds and the RPCs that act on a running order: each verify hold and its
resolution, supplier rejection, manual payment proof and the overdue hold,
cancel before and after purchase, RefreshTracking, bad input changing
nothing."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import harness  # noqa: E402
from test_workflow_lifecycle import ADDRESS, World, usd  # noqa: E402
from dropship.v1 import common_pb2, orders_pb2  # noqa: E402
from google.protobuf import timestamp_pb2  # noqa: E402

TIMEOUT = 10
H = common_pb2
O = orders_pb2


class HoldsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = World("wf_holds")
        cls.sup = cls.w.supplier("holdco")

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def wait_hold(self, oid, reason):
        o = self.w.wait_state(oid, H.ORDER_STATE_ON_HOLD)
        self.assertEqual(o.hold.reason, reason, o.hold)
        return o

    def resolve(self, oid, **res):
        return self.w.orders.ResolveHold(O.ResolveHoldRequest(order_id=oid, **res),
                                         metadata=self.w.md, timeout=TIMEOUT).order

    def fails(self, code, fn, *a, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*a, metadata=self.w.md, timeout=TIMEOUT, **kw)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def test_sku_unmapped_then_retry_after_binding(self):
        o = self.w.order("unmapped-1", [("NOBIND", 1)])
        held = self.wait_hold(o.id, O.HOLD_REASON_SKU_UNMAPPED)
        self.assertEqual(list(held.hold.line_ids), ["L1"])
        self.assertEqual(held.hold.held_state, H.ORDER_STATE_VERIFYING)
        # a resolution that does not fit the reason changes nothing
        self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.w.orders.ResolveHold,
                   O.ResolveHoldRequest(order_id=o.id, accepted_cost=O.HoldAcceptedCost(
                       lines=[O.LineCost(line_id="L1", max_unit_cost=usd(5))])))
        self.assertEqual(self.w.get(o.id).etag, held.etag)
        self.w.bind("NOBIND", self.sup, "NOBIND-01")
        self.resolve(o.id, retry=O.HoldRetry(), etag=held.etag)
        self.w.wait_state(o.id, H.ORDER_STATE_COMPLETED)

    def test_out_of_stock_then_substitute(self):
        self.w.bind("LAMP", self.sup, "OOS-LAMP")
        alt = self.w.bind("LAMP-ALT", self.sup, "LAMP-02")
        o = self.w.order("oos-1", [("LAMP", 1)])
        self.wait_hold(o.id, O.HOLD_REASON_OUT_OF_STOCK)
        self.resolve(o.id, substitute=O.HoldSubstitution(
            lines=[O.LineBinding(line_id="L1", binding_id=alt)]))
        done = self.w.wait_state(o.id, H.ORDER_STATE_COMPLETED)
        self.assertEqual(done.supplier_orders[0].lines[0].supplier_sku, "LAMP-02")

    def test_out_of_stock_falls_back_to_next_binding(self):
        self.w.bind("FAN", self.sup, "OOS-FAN", priority=0)
        self.w.bind("FAN", self.sup, "FAN-02", priority=5)
        o = self.w.order("fallback-1", [("FAN", 1)])
        done = self.w.wait_state(o.id, H.ORDER_STATE_COMPLETED)
        self.assertEqual(done.supplier_orders[0].lines[0].supplier_sku, "FAN-02")

    def test_price_changed_then_accepted_cost(self):
        self.w.bind("VASE", self.sup, "VASE-01", max_cost=usd(0, 10000000))
        o = self.w.order("price-1", [("VASE", 1)])
        self.wait_hold(o.id, O.HOLD_REASON_PRICE_CHANGED)
        self.resolve(o.id, accepted_cost=O.HoldAcceptedCost(
            lines=[O.LineCost(line_id="L1", max_unit_cost=usd(500))]))
        self.w.wait_state(o.id, H.ORDER_STATE_COMPLETED)

    def test_address_incomplete_then_corrected_address(self):
        bad = common_pb2.Address()
        bad.CopyFrom(ADDRESS)
        bad.phone = "0000000"
        self.w.bind("BOWL", self.sup, "BOWL-01")
        o = self.w.order("addr-1", [("BOWL", 1)], address=bad)
        self.wait_hold(o.id, O.HOLD_REASON_ADDRESS_INCOMPLETE)
        self.resolve(o.id, corrected_address=ADDRESS)
        done = self.w.wait_state(o.id, H.ORDER_STATE_COMPLETED)
        self.assertEqual(done.shipping_address.phone, ADDRESS.phone)

    def test_supplier_rejected_then_substitute_other_supplier(self):
        other = self.w.supplier("altco")
        self.w.bind("DESK", self.sup, "REJECT-DESK")
        alt = self.w.bind("DESK", other, "DESK-02", priority=9)
        o = self.w.order("reject-1", [("DESK", 1)])
        held = self.wait_hold(o.id, O.HOLD_REASON_SUPPLIER_REJECTED)
        self.assertEqual(held.hold.supplier_id, self.sup)
        self.resolve(o.id, substitute=O.HoldSubstitution(
            lines=[O.LineBinding(line_id="L1", binding_id=alt)]))
        done = self.w.wait_state(o.id, H.ORDER_STATE_COMPLETED)
        self.assertEqual([so.supplier_id for so in done.supplier_orders], [other])

    def test_cancel_before_purchase_is_immediate(self):
        o = self.w.order("cancel-1", [("NOBIND-2", 1)])
        self.wait_hold(o.id, O.HOLD_REASON_SKU_UNMAPPED)
        c = self.w.orders.CancelOrder(O.CancelOrderRequest(order_id=o.id, reason="buyer"),
                                      metadata=self.w.md, timeout=TIMEOUT).order
        self.assertEqual(c.state, H.ORDER_STATE_CANCELLED)
        self.assertEqual(c.cancel_reason, "buyer")
        again = self.w.orders.CancelOrder(O.CancelOrderRequest(order_id=o.id, reason="x"),
                                          metadata=self.w.md, timeout=TIMEOUT).order
        self.assertEqual(again.etag, c.etag)

    def test_bad_input_and_other_shop(self):
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.w.orders.CancelOrder,
                       O.CancelOrderRequest(order_id="nope", reason=""))
        fields = set(harness.field_violations(e))
        self.assertEqual(fields, {"order_id", "reason"})
        other = harness.auth(harness.create_api_key(self.w.db, harness.create_shop(
            self.w.db, "other")))
        o = self.w.order("iso-1", [("NOBIND-3", 1)])
        with self.assertRaises(grpc.RpcError) as cm:
            self.w.orders.CancelOrder(O.CancelOrderRequest(order_id=o.id, reason="r"),
                                      metadata=other, timeout=TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)


class PaymentAndCancelTest(unittest.TestCase):
    """A slower clock: payment due 1 h / 1000 = 3.6 s, return window 7 d / 1000."""

    @classmethod
    def setUpClass(cls):
        cls.w = World("wf_payment", scale=1000)
        cls.manual = cls.w.supplier("payco", mode=common_pb2.PAYMENT_MODE_MANUAL, due_s=3600)
        cls.auto = cls.w.supplier("autoco")

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def proof(self, oid, ref="BANK-1", amount=None, cur=None):
        so = cur.supplier_orders[0]
        p = O.PaymentProof(amount=amount or so.cost, method=O.PAYMENT_METHOD_BANK_TRANSFER,
                           reference=ref, paid_time=timestamp_pb2.Timestamp(seconds=int(
                               time.time()) - 60))
        return self.w.orders.RecordPaymentProof(
            O.RecordPaymentProofRequest(order_id=oid, supplier_id=self.manual, proof=p),
            metadata=self.w.md, timeout=TIMEOUT).order

    def test_manual_payment_proof_moves_the_order_on(self):
        self.w.bind("BOOK", self.manual, "BOOK-01")
        o = self.w.order("manual-1", [("BOOK", 1)])
        cur = self.w.wait_state(o.id, H.ORDER_STATE_AWAITING_PAYMENT)
        self.assertTrue(cur.supplier_orders[0].HasField("payment_due_time"))
        with self.assertRaises(grpc.RpcError) as cm:
            self.proof(o.id, amount=common_pb2.Money(currency_code="EUR", units=1), cur=cur)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        after = self.proof(o.id, cur=cur)
        self.assertEqual(after.state, H.ORDER_STATE_AWAITING_SHIPMENT)
        self.assertEqual(self.proof(o.id, cur=cur).etag, after.etag)  # same proof again
        with self.assertRaises(grpc.RpcError) as cm:
            self.proof(o.id, ref="BANK-2", cur=cur)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        r = self.w.orders.RefreshTracking(O.RefreshTrackingRequest(order_id=o.id),
                                          metadata=self.w.md, timeout=TIMEOUT).order
        self.assertIn(r.state, (H.ORDER_STATE_AWAITING_SHIPMENT, H.ORDER_STATE_IN_TRANSIT))
        self.w.wait_state(o.id, H.ORDER_STATE_IN_TRANSIT)

    def test_payment_overdue_hold_then_proof_resolves_it(self):
        self.w.bind("PEN", self.manual, "PEN-01")
        o = self.w.order("overdue-1", [("PEN", 1)])
        cur = self.w.wait_state(o.id, H.ORDER_STATE_ON_HOLD, seconds=20)
        self.assertEqual(cur.hold.reason, O.HOLD_REASON_PAYMENT_OVERDUE)
        self.assertEqual(cur.hold.supplier_id, self.manual)
        after = self.proof(o.id, cur=cur)
        self.assertEqual(after.state, H.ORDER_STATE_AWAITING_SHIPMENT)

    def test_cancel_after_purchase_asks_the_supplier(self):
        self.w.bind("CHAIR", self.manual, "CHAIR-01")
        o = self.w.order("cancel-2", [("CHAIR", 1)])
        self.w.wait_state(o.id, H.ORDER_STATE_AWAITING_PAYMENT)
        c = self.w.orders.CancelOrder(O.CancelOrderRequest(order_id=o.id, reason="fraud"),
                                      metadata=self.w.md, timeout=TIMEOUT).order
        self.assertEqual(c.state, H.ORDER_STATE_CANCELLING)
        done = self.w.wait_state(o.id, H.ORDER_STATE_CANCELLED)
        self.assertEqual(done.supplier_orders[0].state, O.SUPPLIER_ORDER_STATE_CANCELLED)
        self.assertGreaterEqual(self.w.sim.stats().get("cancels", 0), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
