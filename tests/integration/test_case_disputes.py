"""The supplier side of after-sales cases against dropship-sim
(docs/supplier-api.md "Disputes and refunds"): an approved DISPUTE case is
opened at the supplier exactly once and followed to its final status, which
shows on the case; a rejected dispute shows as REJECTED; a refund the
supplier pays through the dispute is recorded as a SUPPLIER refund; a
SUPPLIER-paid RecordRefund is claimed from the supplier exactly once however
often the call is repeated; a 5xx on the dispute endpoint is retried.

Time runs fast (--workflow-time-scale): dispute polls come every
min_poll_ms (200 ms); the simulator answers SUPPLIER_RESPONDED on the first
read and the final status on the second.
"""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

import harness  # noqa: E402
from simclient import Sim  # noqa: E402
from dropship.v1 import (cases_pb2, cases_pb2_grpc, catalog_pb2, catalog_pb2_grpc,  # noqa: E402
                         common_pb2, orders_pb2, orders_pb2_grpc, suppliers_pb2,
                         suppliers_pb2_grpc)

TIMEOUT = 10
SCALE = 1000000
TOKEN = "sim-token-disputes"
C = cases_pb2
ADDRESS = common_pb2.Address(recipient_name="Ada Lovelace", phone="+44 20 7946 0000",
                             country_code="GB", region="London", city="London",
                             street="12 St James's Square", postal_code="SW1Y 4JH")
SHA = "cd" * 32
ADAPTER = common_pb2.ACTOR_KIND_ADAPTER


def usd(units, nanos=0):
    return common_pb2.Money(currency_code="USD", units=units, nanos=nanos)


class DisputesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="disputes-")
        cls.db = harness.fresh_database("case_disputes")
        cls.sim = Sim(token=TOKEN)
        cls.server = harness.Server(cls.db, workflow_time_scale=SCALE,
                                    case_escalate_after_s=31536000)
        shop = harness.create_shop(cls.db, "disputes")
        cls.md = harness.auth(harness.create_api_key(cls.db, shop))
        cls.ch = harness.channel(cls.server.addr)
        cls.orders = orders_pb2_grpc.OrderServiceStub(cls.ch)
        cls.cases = cases_pb2_grpc.AfterSalesServiceStub(cls.ch)
        sup = suppliers_pb2_grpc.SupplierServiceStub(cls.ch)
        cat = catalog_pb2_grpc.CatalogServiceStub(cls.ch)
        s = suppliers_pb2.Supplier(
            display_name="Sim acme", default_currency_code="USD",
            payment_mode=common_pb2.PAYMENT_MODE_AUTO,
            adapter=suppliers_pb2.SupplierAdapterConfig(
                kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
                base_url="%s/suppliers/acme" % cls.sim.base, credential=TOKEN),
            tracking=suppliers_pb2.TrackingConfig(
                kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                base_url=cls.sim.base + "/tracking", credential=TOKEN))
        s.payment_due.seconds = 3600
        cls.acme = sup.CreateSupplier(suppliers_pb2.CreateSupplierRequest(supplier=s),
                                      metadata=cls.md, timeout=TIMEOUT).supplier.id
        for shop_sku, sku in (("MUG", "MUG-01"), ("BAD", "NODISPUTE-01"), ("CAP", "CAP-01")):
            b = catalog_pb2.Binding(shop_sku=shop_sku, supplier_id=cls.acme, supplier_sku=sku,
                                    max_cost=usd(1000))
            cat.CreateBinding(catalog_pb2.CreateBindingRequest(binding=b), metadata=cls.md,
                              timeout=TIMEOUT)

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        rc = cls.server.stop()
        cls.sim.stop()
        if rc != 0:
            raise AssertionError("dropshipd exited %s:\n%s" % (rc, cls.server.log()))

    # ---- helpers ----
    def call(self, name, req):
        return getattr(self.cases, name)(req, metadata=self.md, timeout=TIMEOUT)

    def get_order(self, oid):
        return self.orders.GetOrder(orders_pb2.GetOrderRequest(order_id=oid),
                                    metadata=self.md, timeout=TIMEOUT).order

    def delivered_order(self, ext, sku, qty=1):
        # the buyer paid more than the supplier charges: the supplier's
        # refund fits what the buyer may get back
        o = orders_pb2.Order(external_order_id=ext, currency_code="USD",
                             shipping_address=ADDRESS)
        o.lines.add(line_id="L1", shop_sku=sku, quantity=qty, unit_price=usd(900))
        oid = self.orders.CreateOrder(orders_pb2.CreateOrderRequest(order=o), metadata=self.md,
                                      timeout=TIMEOUT).order.id
        want = (common_pb2.ORDER_STATE_DELIVERED, common_pb2.ORDER_STATE_COMPLETED)
        return self.wait(lambda: self.get_order(oid), lambda x: x.state in want, "order delivered")

    def wait(self, read, ok, what, seconds=40):
        deadline = time.monotonic() + seconds
        x = read()
        while not ok(x):
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s: %s\n%s" % (
                    what, x, self.server.log()[-4000:]))
            time.sleep(0.1)
            x = read()
        return x

    def get(self, cid):
        return self.call("GetCase", C.GetCaseRequest(case_id=cid)).case

    def open_case(self, oid, ctype, qty=1, evidence=True):
        k = C.Case(order_id=oid, type=ctype, description="buyer opened a platform dispute")
        k.lines.add(line_id="L1", quantity=qty)
        k = self.call("OpenCase", C.OpenCaseRequest(case=k)).case
        if evidence:
            self.call("AddEvidence", C.AddEvidenceRequest(case_id=k.id, evidence=C.Evidence(
                kind=C.EVIDENCE_KIND_PHOTO, uri="https://files.example/%s.jpg" % k.id,
                sha256=SHA)))
        return k

    def approve(self, cid, required=C.RETURN_REQUIREMENT_NOT_REQUIRED):
        return self.call("ApproveCase", C.ApproveCaseRequest(case_id=cid,
                                                            return_requirement=required)).case

    def history(self, cid):
        evs = list(self.call("GetCaseHistory", C.GetCaseHistoryRequest(case_id=cid)).events)
        for e in evs:  # the supplier side leaves the state: CASE_UPDATED, never CHANGED
            moved = e.case_from_state != e.case_to_state
            if e.type == orders_pb2.ORDER_EVENT_TYPE_CASE_STATE_CHANGED:
                self.assertTrue(moved, e)
            if {"supplier_dispute_status", "supplier_refund_status", "gave_up",
                    "refund_recorded"} & set(e.details):
                self.assertEqual(e.type, orders_pb2.ORDER_EVENT_TYPE_CASE_UPDATED, e)
                self.assertFalse(moved, e)
        return evs

    def dstats(self):
        status, body, _ = self.sim.get("/_sim/disputes")
        self.assertEqual(status, 200, body)
        return body

    def final(self, cid):
        return self.wait(lambda: self.get(cid),
                         lambda k: k.supplier_dispute.status in ("ACCEPTED", "REJECTED",
                                                                 "REFUNDED", "FAILED"),
                         "final dispute status of %s" % cid)

    # ---- tests ----
    def test_dispute_goes_to_the_supplier_once_and_is_followed_to_a_refund(self):
        o = self.delivered_order("disp-1", "MUG", 2)
        k = self.open_case(o.id, C.CASE_TYPE_DISPUTE, qty=2)
        self.assertFalse(k.HasField("supplier_dispute"))
        self.approve(k.id)
        k = self.final(k.id)
        sd = k.supplier_dispute
        self.assertEqual(sd.status, "REFUNDED", k)
        self.assertTrue(sd.dispute_id.startswith("DSP-acme-"), sd)
        self.assertTrue(sd.refund_transaction_id, sd)
        self.assertEqual(sd.refund_amount.currency_code, "USD")
        self.assertGreater(sd.refund_amount.units * 10**9 + sd.refund_amount.nanos, 0)
        # the supplier's refund is a SUPPLIER refund on the case, which is REFUNDED
        self.assertEqual(k.state, common_pb2.CASE_STATE_REFUNDED)
        self.assertEqual(len(k.refunds), 1, k.refunds)
        r = k.refunds[0]
        self.assertEqual(r.payer, C.REFUND_PAYER_SUPPLIER)
        self.assertEqual(r.supplier_refund_id, sd.refund_transaction_id)
        self.assertEqual(r.supplier_refund_status, "REFUNDED")
        self.assertEqual((r.amount.units, r.amount.nanos),
                         (sd.refund_amount.units, sd.refund_amount.nanos))
        self.assertEqual(r.recorded_by.kind, ADAPTER)
        # ListCases shows the same case, supplier side included
        listed = [c for c in self.call("ListCases", C.ListCasesRequest(order_id=o.id)).cases
                  if c.id == k.id]
        self.assertEqual(listed, [k])
        # every status the supplier reported is in the history, by the adapter
        seen = [e.details["supplier_dispute_status"] for e in self.history(k.id)
                if "supplier_dispute_status" in e.details]
        self.assertEqual(seen, ["OPEN", "SUPPLIER_RESPONDED", "REFUNDED"])
        for e in self.history(k.id):
            if "supplier_dispute_status" in e.details:
                self.assertEqual(e.actor.kind, ADAPTER)
        # exactly once at the supplier: one request, one dispute, for this case
        ds = self.dstats()
        byk = ds["disputes_by_idempotency_key"][k.id + ":dispute"]
        self.assertEqual((byk["requests"], byk["created"]), (1, 1), byk)
        self.assertEqual(ds["disputes_by_case_ref"][k.id]["created"], 1)
        # nothing polls a settled dispute any more
        n = len(self.history(k.id))
        reads = self.sim.stats()["requests"].get("supplier.get_dispute", 0)
        time.sleep(1.0)
        self.assertEqual(len(self.history(k.id)), n)
        self.assertEqual(self.sim.stats()["requests"].get("supplier.get_dispute", 0), reads)

    def test_supplier_refund_above_what_the_buyer_paid_is_not_a_buyer_refund(self):
        o = orders_pb2.Order(external_order_id="disp-cheap", currency_code="USD",
                             shipping_address=ADDRESS)
        o.lines.add(line_id="L1", shop_sku="MUG", quantity=1, unit_price=usd(0, 10000000))
        oid = self.orders.CreateOrder(orders_pb2.CreateOrderRequest(order=o), metadata=self.md,
                                      timeout=TIMEOUT).order.id
        want = (common_pb2.ORDER_STATE_DELIVERED, common_pb2.ORDER_STATE_COMPLETED)
        self.wait(lambda: self.get_order(oid), lambda x: x.state in want, "order delivered")
        k = self.open_case(oid, C.CASE_TYPE_DISPUTE)
        self.approve(k.id)
        k = self.final(k.id)
        self.assertEqual(k.supplier_dispute.status, "REFUNDED")
        self.assertGreater(k.supplier_dispute.refund_amount.units, 0)
        self.assertEqual(k.state, common_pb2.CASE_STATE_APPROVED)
        self.assertEqual(len(k.refunds), 0)
        ev = [e for e in self.history(k.id) if e.details.get("refund_recorded") == "false"]
        self.assertEqual(len(ev), 1)
        self.assertIn("more than the buyer", ev[0].details["reason"])

    def test_rejected_dispute_shows_on_the_case(self):
        o = self.delivered_order("disp-rej", "BAD")
        k = self.open_case(o.id, C.CASE_TYPE_DISPUTE)
        self.approve(k.id)
        k = self.final(k.id)
        self.assertEqual(k.supplier_dispute.status, "REJECTED", k)
        self.assertIn("rejected", k.supplier_dispute.message)
        self.assertEqual(k.state, common_pb2.CASE_STATE_APPROVED)
        self.assertEqual(len(k.refunds), 0)
        last = [e for e in self.history(k.id) if "supplier_dispute_status" in e.details][-1]
        self.assertEqual(last.details["supplier_dispute_status"], "REJECTED")
        self.assertEqual(last.actor.kind, ADAPTER)

    def test_get_case_reads_one_snapshot(self):
        # A step writes the case row and its supplier dispute fields in one
        # transaction; GetCase must never show half of such a write. Here a
        # writer commits UPDATEs that set the description and the dispute
        # message to the same value, and GetCase runs meanwhile.
        o = self.delivered_order("disp-snap", "MUG")
        k = self.open_case(o.id, C.CASE_TYPE_RETURN, evidence=False)
        seen = harness.reads_during_commits(
            self.db, "UPDATE cases SET description = 'v' || i, supplier_dispute_status = 'OPEN',"
            " supplier_dispute_message = 'v' || i WHERE case_id = '%s'" % k.id, 3000,
            lambda: self.get(k.id))
        torn = [(g.description, g.supplier_dispute.message) for g in seen
                if g.HasField("supplier_dispute") and g.description != g.supplier_dispute.message]
        sys.stderr.write("GetCase %d times during 3000 commits: %d torn\n" % (len(seen), len(torn)))
        self.assertEqual(torn[:5], [], "GetCase mixed two commits")
        self.assertGreater(len(seen), 20)

    def test_other_case_types_do_not_go_to_the_supplier(self):
        o = self.delivered_order("disp-none", "CAP")
        k = self.open_case(o.id, C.CASE_TYPE_DAMAGED)
        self.approve(k.id)
        time.sleep(1.0)
        self.assertFalse(self.get(k.id).HasField("supplier_dispute"))
        self.assertNotIn(k.id, self.dstats()["disputes_by_case_ref"])

    def test_supplier_paid_refund_reaches_the_supplier_once(self):
        o = self.delivered_order("disp-refund", "CAP", 2)
        k = self.open_case(o.id, C.CASE_TYPE_DAMAGED, evidence=False)
        self.approve(k.id)
        req = C.RecordRefundRequest(case_id=k.id, request_id="refund-" + k.id,
                                    refund=C.Refund(amount=usd(5), payer=C.REFUND_PAYER_SUPPLIER,
                                                    note="cracked"))
        first = self.call("RecordRefund", req).case
        for _ in range(3):  # the ERP repeats the call
            again = self.call("RecordRefund", req).case
            self.assertEqual(len(again.refunds), 1)
        rid = first.refunds[0].id
        k = self.wait(lambda: self.get(k.id),
                      lambda x: x.refunds[0].supplier_refund_status != "", "refund claimed")
        r = k.refunds[0]
        self.assertEqual(r.supplier_refund_status, "REFUNDED", r)
        self.assertTrue(r.supplier_refund_id.startswith("RF-acme-"), r)
        ds = self.dstats()
        byk = ds["refunds_by_idempotency_key"]["%s:refund:%s" % (k.id, rid)]
        self.assertEqual((byk["requests"], byk["created"]), (1, 1), byk)
        self.assertEqual(ds["refunds_by_refund_ref"]["%s:%s" % (k.id, rid)]["created"], 1)
        ev = [e for e in self.history(k.id) if e.details.get("supplier_refund_status")]
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0].actor.kind, ADAPTER)
        self.assertEqual(ev[0].details["supplier_refund_id"], r.supplier_refund_id)
        # a SHOP-paid refund is not claimed from anyone
        self.call("RecordRefund", C.RecordRefundRequest(
            case_id=k.id, refund=C.Refund(amount=usd(1), payer=C.REFUND_PAYER_SHOP)))
        time.sleep(1.0)
        k = self.get(k.id)
        self.assertEqual(k.refunds[1].supplier_refund_status, "")
        self.assertEqual(self.dstats()["refunds_created"], ds["refunds_created"])

    def test_dispute_5xx_is_retried(self):
        o = self.delivered_order("disp-5xx", "MUG")
        so = o.supplier_orders[0].supplier_order_ref
        self.sim.faults({"type": "5xx", "status": 503, "method": "POST", "count": 2,
                         "prefix": "/suppliers/acme/v1/orders/%s/disputes" % so})
        before = self.sim.stats()["faults"].get("5xx", 0)
        k = self.open_case(o.id, C.CASE_TYPE_DISPUTE)
        self.approve(k.id)
        k = self.final(k.id)
        self.assertEqual(k.supplier_dispute.status, "REFUNDED", k)
        self.assertEqual(self.sim.stats()["faults"].get("5xx", 0) - before, 2)
        byk = self.dstats()["disputes_by_idempotency_key"][k.id + ":dispute"]
        self.assertEqual((byk["requests"], byk["created"]), (1, 1), byk)

    def test_a_dispute_the_supplier_never_takes_is_not_dropped_silently(self):
        o = self.delivered_order("disp-down", "MUG")
        so = o.supplier_orders[0].supplier_order_ref
        self.sim.faults({"type": "5xx", "status": 503, "method": "POST",
                         "prefix": "/suppliers/acme/v1/orders/%s/disputes" % so})
        try:
            k = self.open_case(o.id, C.CASE_TYPE_DISPUTE)
            self.approve(k.id)
            gave_up = self.wait(
                lambda: [e for e in self.history(k.id) if e.details.get("gave_up") == "true"],
                lambda evs: len(evs) == 1, "the give-up event of %s" % k.id, seconds=90)
        finally:
            self.sim.faults(clear=True)
        e = gave_up[0]
        self.assertEqual(e.actor.kind, common_pb2.ACTOR_KIND_SYSTEM)
        self.assertEqual(e.details["step"], "supplier_dispute")
        self.assertEqual(e.details["attempts"], "20")
        self.assertIn("503", e.details["error"])
        self.assertEqual(self.get(k.id).state, common_pb2.CASE_STATE_APPROVED)


if __name__ == "__main__":
    unittest.main()
