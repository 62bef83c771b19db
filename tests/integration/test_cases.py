"""After-sales cases end to end against dropship-sim: every path of the case
state machine that the vertical slice covers (RETURN with a tracked return
parcel, DAMAGED without return, rejection), refunds larger than paid,
request_id replays, etags, tenant isolation, lists, history, and case events
on WatchOrderEvents.

Time runs fast (--workflow-time-scale); the simulator's suppliers get
explicit return rules from a scenario file: "acme" grants 365 no-reason days
(31 s at this scale), "strict" grants none (0 days: every no-reason return
after delivery is refused).
"""
import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

import grpc  # noqa: E402

import harness  # noqa: E402
from simclient import Sim  # noqa: E402
from dropship.v1 import (cases_pb2, cases_pb2_grpc, catalog_pb2, catalog_pb2_grpc,  # noqa: E402
                         common_pb2, orders_pb2, orders_pb2_grpc, suppliers_pb2,
                         suppliers_pb2_grpc)

TIMEOUT = 10
SCALE = 1000000
TOKEN = "sim-token-1"
C = cases_pb2
ADDRESS = common_pb2.Address(recipient_name="Ada Lovelace", phone="+44 20 7946 0000",
                             country_code="GB", region="London", city="London",
                             street="12 St James's Square", postal_code="SW1Y 4JH")
RETURN_TO = {"recipient_name": "Acme Returns", "phone": "+86 20 1234 5678",
             "country_code": "CN", "region": "Guangdong", "city": "Guangzhou",
             "street": "8 Warehouse Road", "postal_code": "510000"}
SCENARIO = {"suppliers": {
    "acme": {"address": RETURN_TO,
             "rules": {"no_reason_return_days": 365, "return_postage_payer": "SUPPLIER",
                       "damaged_goods": "photo within 48 h, free replacement"}},
    "strict": {"address": RETURN_TO,
               "rules": {"no_reason_return_days": 0, "return_postage_payer": "BUYER",
                         "damaged_goods": "photo within 48 h"}}}}
SHA = "ab" * 32


def usd(units, nanos=0):
    return common_pb2.Money(currency_code="USD", units=units, nanos=nanos)


class World:
    """A database, a simulator, a fast server, two shops and their clients."""

    def __init__(self, name):
        self.tmp = tempfile.mkdtemp(prefix="cases-")
        scen = os.path.join(self.tmp, "scenario.json")
        with open(scen, "w") as f:
            json.dump(SCENARIO, f)
        self.db = harness.fresh_database(name)
        self.sim = Sim("--scenario", scen, token=TOKEN)
        # parcels here never stall for long: keep automatic escalation
        # (test_case_escalation.py) out of these orders
        self.server = harness.Server(self.db, workflow_time_scale=SCALE,
                                     case_escalate_after_s=31536000)
        self.shop = harness.create_shop(self.db, name)
        self.md = harness.auth(harness.create_api_key(self.db, self.shop))
        other = harness.create_shop(self.db, name + "-other")
        self.other_md = harness.auth(harness.create_api_key(self.db, other))
        self.ch = harness.channel(self.server.addr)
        self.orders = orders_pb2_grpc.OrderServiceStub(self.ch)
        self.suppliers = suppliers_pb2_grpc.SupplierServiceStub(self.ch)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(self.ch)
        self.cases = cases_pb2_grpc.AfterSalesServiceStub(self.ch)

    def close(self):
        self.ch.close()
        rc = self.server.stop()
        self.sim.stop()
        if rc != 0:
            raise AssertionError("dropshipd exited %s:\n%s" % (rc, self.server.log()))

    def supplier(self, key):
        s = suppliers_pb2.Supplier(
            display_name="Sim " + key, default_currency_code="USD",
            payment_mode=common_pb2.PAYMENT_MODE_AUTO,
            adapter=suppliers_pb2.SupplierAdapterConfig(
                kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
                base_url="%s/suppliers/%s" % (self.sim.base, key), credential=TOKEN),
            tracking=suppliers_pb2.TrackingConfig(
                kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                base_url=self.sim.base + "/tracking", credential=TOKEN))
        s.payment_due.seconds = 3600
        return self.suppliers.CreateSupplier(suppliers_pb2.CreateSupplierRequest(supplier=s),
                                             metadata=self.md, timeout=TIMEOUT).supplier.id

    def bind(self, shop_sku, supplier_id, supplier_sku):
        b = catalog_pb2.Binding(shop_sku=shop_sku, supplier_id=supplier_id,
                                supplier_sku=supplier_sku, max_cost=usd(1000))
        self.catalog.CreateBinding(catalog_pb2.CreateBindingRequest(binding=b),
                                   metadata=self.md, timeout=TIMEOUT)

    def order(self, ext, lines):
        o = orders_pb2.Order(external_order_id=ext, currency_code="USD",
                             shipping_address=ADDRESS)
        for i, (sku, qty) in enumerate(lines):
            o.lines.add(line_id="L%d" % (i + 1), shop_sku=sku, quantity=qty,
                        unit_price=usd(20))
        return self.orders.CreateOrder(orders_pb2.CreateOrderRequest(order=o),
                                       metadata=self.md, timeout=TIMEOUT).order

    def get_order(self, oid):
        return self.orders.GetOrder(orders_pb2.GetOrderRequest(order_id=oid),
                                    metadata=self.md, timeout=TIMEOUT).order

    def wait_order(self, oid, states, seconds=30):
        deadline = time.monotonic() + seconds
        o = self.get_order(oid)
        while o.state not in states:
            if time.monotonic() > deadline:
                raise AssertionError("order stayed %s\n%s" % (
                    common_pb2.OrderState.Name(o.state), self.server.log()[-3000:]))
            time.sleep(0.1)
            o = self.get_order(oid)
        return o

    def call(self, name, req, md=None):
        return getattr(self.cases, name)(req, metadata=md or self.md, timeout=TIMEOUT)

    def open(self, oid, ctype, lines, **kw):
        k = C.Case(order_id=oid, type=ctype, description=kw.pop("description", "buyer report"))
        for lid, q in lines:
            k.lines.add(line_id=lid, quantity=q)
        return self.call("OpenCase", C.OpenCaseRequest(case=k, **kw)).case

    def get(self, cid):
        return self.call("GetCase", C.GetCaseRequest(case_id=cid)).case

    def wait_case(self, cid, state, seconds=30):
        deadline = time.monotonic() + seconds
        k = self.get(cid)
        while k.state != state:
            if time.monotonic() > deadline:
                raise AssertionError("case stayed %s\n%s" % (
                    common_pb2.CaseState.Name(k.state), self.server.log()[-3000:]))
            time.sleep(0.1)
            k = self.get(cid)
        return k


class CasesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        w = cls.w = World("cases")
        cls.acme = w.supplier("acme")
        cls.strict = w.supplier("strict")
        w.bind("MUG", cls.acme, "MUG-01")
        w.bind("CAP", cls.acme, "CAP-01")
        w.bind("TEE", cls.strict, "TEE-01")
        w.bind("SLOWTEE", cls.strict, "SLOW-TEE-01")

    @classmethod
    def tearDownClass(cls):
        cls.w.close()

    def delivered_order(self, ext, lines):
        o = self.w.order(ext, lines)
        return self.w.wait_order(o.id, (common_pb2.ORDER_STATE_DELIVERED,
                                        common_pb2.ORDER_STATE_COMPLETED))

    def assert_code(self, code, fn, *args, reason=None):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        st = harness.status_details(cm.exception)
        if reason is not None:
            from google.rpc import error_details_pb2
            infos = []
            for d in st.details:
                info = error_details_pb2.ErrorInfo()
                if d.Unpack(info):
                    infos.append(info.reason)
            self.assertIn(reason, infos)
        return cm.exception, st

    def test_return_runs_through_a_tracked_return_parcel(self):
        w = self.w
        o = self.delivered_order("ret-1", [("MUG", 2)])
        k = w.open(o.id, C.CASE_TYPE_RETURN, [("L1", 1)], request_id="open-ret-1",
                   description="wrong size")
        self.assertEqual(k.state, common_pb2.CASE_STATE_OPEN)
        self.assertEqual(k.supplier_id, self.acme)
        self.assertEqual(k.opened_by.kind, common_pb2.ACTOR_KIND_API_KEY)
        self.assertEqual(list(w.get_order(o.id).case_ids), [k.id])
        # the same request_id and body answers the same case
        again = w.open(o.id, C.CASE_TYPE_RETURN, [("L1", 1)], request_id="open-ret-1",
                       description="wrong size")
        self.assertEqual(again.id, k.id)
        self.assert_code(grpc.StatusCode.ALREADY_EXISTS,
                         lambda: w.open(o.id, C.CASE_TYPE_RETURN, [("L1", 2)],
                                        request_id="open-ret-1", description="wrong size"),
                         reason="REQUEST_ID_REUSED")
        k = w.call("AddEvidence", C.AddEvidenceRequest(
            case_id=k.id, evidence=C.Evidence(kind=C.EVIDENCE_KIND_PHOTO,
                                              uri="https://files.example/p1.jpg", sha256=SHA,
                                              content_type="image/jpeg"))).case
        self.assertEqual(len(k.evidence), 1)
        ap = w.call("ApproveCase", C.ApproveCaseRequest(case_id=k.id, etag=k.etag))
        self.assertEqual(ap.case.state, common_pb2.CASE_STATE_APPROVED)
        self.assertTrue(ap.case.return_required)
        self.assertEqual(ap.return_address.city, "Guangzhou")
        self.assertEqual(ap.return_rules.no_reason_return_days, 365)
        # a refund before the goods are back is refused, naming the state
        e, _ = self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, w.call, "RecordRefund",
                                C.RecordRefundRequest(case_id=k.id, refund=C.Refund(
                                    amount=usd(20), payer=C.REFUND_PAYER_SHOP)),
                                reason="CASE_STATE")
        self.assertIn("APPROVED", e.details())
        # the buyer's parcel: a real number of the simulator's courier
        _, so, _ = w.sim.create_order("buyer", "ret-1-back", [("RET-1", 1)])
        shipped = w.sim.poll_until_shipped("buyer", so["supplier_order_id"])
        p = shipped["parcels"][0]
        k = w.call("RecordReturnShipment", C.RecordReturnShipmentRequest(
            case_id=k.id, carrier=p["carrier"], tracking_number=p["tracking_number"])).case
        self.assertEqual(k.state, common_pb2.CASE_STATE_AWAITING_RETURN)
        k = w.wait_case(k.id, common_pb2.CASE_STATE_RETURN_RECEIVED)
        self.assertEqual(k.return_parcel.status, common_pb2.TRACKING_STATUS_DELIVERED)
        self.assertGreaterEqual(len(k.return_parcel.checkpoints), 2)
        k = w.call("RecordRefund", C.RecordRefundRequest(
            request_id="refund-ret-1", case_id=k.id,
            refund=C.Refund(amount=usd(20), payer=C.REFUND_PAYER_SHOP, reference="PP-1",
                            compensations=[C.Compensation(kind=C.COMPENSATION_KIND_COUPON,
                                                          amount=usd(5),
                                                          description="SORRY5")]))).case
        self.assertEqual(k.state, common_pb2.CASE_STATE_REFUNDED)
        self.assertEqual(len(k.refunds), 1)
        self.assertEqual(k.refunds[0].compensations[0].amount.units, 5)
        # replaying the refund records nothing new
        k = w.call("RecordRefund", C.RecordRefundRequest(
            request_id="refund-ret-1", case_id=k.id,
            refund=C.Refund(amount=usd(20), payer=C.REFUND_PAYER_SHOP, reference="PP-1",
                            compensations=[C.Compensation(kind=C.COMPENSATION_KIND_COUPON,
                                                          amount=usd(5),
                                                          description="SORRY5")]))).case
        self.assertEqual(len(k.refunds), 1)
        k = w.call("ResolveCase", C.ResolveCaseRequest(
            case_id=k.id, resolution="refunded 20 USD", root_cause=C.ROOT_CAUSE_SIZE_FIT)).case
        self.assertEqual(k.state, common_pb2.CASE_STATE_CLOSED)
        self.assertTrue(k.HasField("close_time"))
        hist = w.call("GetCaseHistory", C.GetCaseHistoryRequest(case_id=k.id)).events
        self.assertEqual([e.case_to_state for e in hist],
                         [common_pb2.CASE_STATE_OPEN, common_pb2.CASE_STATE_OPEN,
                          common_pb2.CASE_STATE_APPROVED, common_pb2.CASE_STATE_AWAITING_RETURN,
                          common_pb2.CASE_STATE_RETURN_RECEIVED, common_pb2.CASE_STATE_REFUNDED,
                          common_pb2.CASE_STATE_CLOSED])
        self.assertEqual(hist[4].actor.kind, common_pb2.ACTOR_KIND_ADAPTER)
        self.assertTrue(all(e.case_id == k.id for e in hist))

    def test_damaged_needs_no_return_and_refund_is_capped_at_paid(self):
        w = self.w
        o = self.delivered_order("dmg-1", [("MUG", 1), ("CAP", 3)])
        k = w.open(o.id, C.CASE_TYPE_DAMAGED, [("L2", 2)], description="two caps torn")
        k = w.call("ApproveCase", C.ApproveCaseRequest(case_id=k.id)).case
        self.assertFalse(k.return_required)
        self.assertFalse(k.HasField("return_address"))
        # no return parcel for a case without return
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, w.call, "RecordReturnShipment",
                         C.RecordReturnShipmentRequest(case_id=k.id, carrier="sim-post",
                                                       tracking_number="X1"),
                         reason="CASE_STATE")
        # 2 caps at 20 USD were paid: 40.01 is too much, and nothing is written
        e, st = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, w.call, "RecordRefund",
                                 C.RecordRefundRequest(case_id=k.id, refund=C.Refund(
                                     amount=usd(40, 10000000), payer=C.REFUND_PAYER_SUPPLIER)))
        self.assertIn("refund.amount", e.details())
        after = w.get(k.id)
        self.assertEqual(after.state, common_pb2.CASE_STATE_APPROVED)
        self.assertEqual(len(after.refunds), 0)
        self.assertEqual(after.etag, k.etag)
        k = w.call("RecordRefund", C.RecordRefundRequest(case_id=k.id, refund=C.Refund(
            amount=usd(30), payer=C.REFUND_PAYER_SUPPLIER))).case
        self.assertEqual(k.state, common_pb2.CASE_STATE_REFUNDED)
        # a second, partial refund fits only within what is left (10 USD)
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, w.call, "RecordRefund",
                         C.RecordRefundRequest(case_id=k.id, refund=C.Refund(
                             amount=usd(11), payer=C.REFUND_PAYER_SHOP)))
        k = w.call("RecordRefund", C.RecordRefundRequest(case_id=k.id, refund=C.Refund(
            amount=usd(10), payer=C.REFUND_PAYER_SHOP))).case
        self.assertEqual(len(k.refunds), 2)
        k = w.call("ResolveCase", C.ResolveCaseRequest(
            case_id=k.id, resolution="refunded", root_cause=C.ROOT_CAUSE_CARRIER_LOSS)).case
        self.assertEqual(k.root_cause, C.ROOT_CAUSE_CARRIER_LOSS)
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, w.call, "ResolveCase",
                         C.ResolveCaseRequest(case_id=k.id, resolution="again",
                                              root_cause=C.ROOT_CAUSE_OTHER),
                         reason="CASE_STATE")

    def test_reject_and_the_no_reason_window(self):
        w = self.w
        o = self.delivered_order("strict-1", [("TEE", 2)])
        k = w.open(o.id, C.CASE_TYPE_RETURN, [("L1", 1)])
        # the strict supplier grants no no-reason days: refused after delivery
        e, _ = self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, w.call, "ApproveCase",
                                C.ApproveCaseRequest(case_id=k.id),
                                reason="RETURN_WINDOW_PASSED")
        k = w.call("RejectCase", C.RejectCaseRequest(case_id=k.id,
                                                     reason="outside the return window")).case
        self.assertEqual(k.state, common_pb2.CASE_STATE_REJECTED)
        self.assertEqual(k.reject_reason, "outside the return window")
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, w.call, "ApproveCase",
                         C.ApproveCaseRequest(case_id=k.id), reason="CASE_STATE")
        # a defect is not bound to the window
        d = w.open(o.id, C.CASE_TYPE_NOT_AS_DESCRIBED, [("L1", 1)])
        d = w.call("ApproveCase", C.ApproveCaseRequest(
            case_id=d.id, return_requirement=C.RETURN_REQUIREMENT_REQUIRED)).case
        self.assertEqual(d.state, common_pb2.CASE_STATE_APPROVED)
        self.assertEqual(d.return_address.recipient_name, "Acme Returns")

    def test_bad_input_etags_and_other_shops(self):
        w = self.w
        o = self.delivered_order("bad-1", [("MUG", 2)])
        e, st = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, w.open, o.id,
                                 C.CASE_TYPE_RETURN, [("L1", 3)])
        from google.rpc import error_details_pb2
        br = error_details_pb2.BadRequest()
        self.assertTrue(any(d.Unpack(br) for d in st.details))
        self.assertEqual(br.field_violations[0].field, "case.lines[0].quantity")
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, w.open, o.id, C.CASE_TYPE_RETURN,
                         [("NOPE", 1)])
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, w.open, o.id,
                         C.CASE_TYPE_UNSPECIFIED, [("L1", 1)])
        k = w.open(o.id, C.CASE_TYPE_DAMAGED, [("L1", 1)])
        self.assert_code(grpc.StatusCode.ABORTED, w.call, "ApproveCase",
                         C.ApproveCaseRequest(case_id=k.id, etag="v99"))
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, w.call, "AddEvidence",
                         C.AddEvidenceRequest(case_id=k.id, evidence=C.Evidence(
                             kind=C.EVIDENCE_KIND_PHOTO, uri="not a uri", sha256="12")))
        # another shop sees nothing
        self.assert_code(grpc.StatusCode.NOT_FOUND, w.call, "GetCase",
                         C.GetCaseRequest(case_id=k.id), w.other_md)
        self.assert_code(grpc.StatusCode.NOT_FOUND, w.call, "ApproveCase",
                         C.ApproveCaseRequest(case_id=k.id), w.other_md)
        self.assert_code(grpc.StatusCode.NOT_FOUND, w.call, "GetCaseHistory",
                         C.GetCaseHistoryRequest(case_id=k.id), w.other_md)
        lst = w.call("ListCases", C.ListCasesRequest(), w.other_md)
        self.assertEqual(len(lst.cases), 0)
        kk = C.Case(order_id=o.id, type=C.CASE_TYPE_DAMAGED, description="x")
        kk.lines.add(line_id="L1", quantity=1)
        self.assert_code(grpc.StatusCode.NOT_FOUND, w.call, "OpenCase",
                         C.OpenCaseRequest(case=kk), w.other_md)

    def test_a_case_names_a_parcel_its_supplier_shipped(self):
        w = self.w
        o = self.delivered_order("parcel-1", [("MUG", 1), ("TEE", 1)])
        by = {so.supplier_id: so.parcels[0] for so in o.supplier_orders}
        mine, theirs = by[self.acme], by[self.strict]
        from google.rpc import error_details_pb2

        def opening(carrier, number):
            k = C.Case(order_id=o.id, type=C.CASE_TYPE_DAMAGED, description="crushed box",
                       carrier=carrier, tracking_number=number)
            k.lines.add(line_id="L1", quantity=1)  # the MUG, from acme
            return C.OpenCaseRequest(case=k)

        for carrier, number, says in (
                (mine.carrier, mine.tracking_number + "X", "names no parcel of order"),
                ("other-post", mine.tracking_number, "names no parcel of order"),
                (theirs.carrier, theirs.tracking_number, "is a parcel of supplier " + self.strict)):
            e, st = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, w.call, "OpenCase",
                                     opening(carrier, number))
            br = error_details_pb2.BadRequest()
            self.assertTrue(any(d.Unpack(br) for d in st.details))
            self.assertEqual([v.field for v in br.field_violations], ["case.tracking_number"])
            self.assertIn(says, br.field_violations[0].description)
        self.assertEqual(list(w.get_order(o.id).case_ids), [])  # nothing was opened
        k = w.call("OpenCase", opening(mine.carrier, mine.tracking_number)).case
        self.assertEqual((k.carrier, k.tracking_number), (mine.carrier, mine.tracking_number))
        self.assertEqual(k.supplier_id, self.acme)

    def test_list_filters_and_pages(self):
        w = self.w
        o = self.delivered_order("list-1", [("MUG", 5)])
        ids = [w.open(o.id, C.CASE_TYPE_DAMAGED, [("L1", 1)]).id for _ in range(5)]
        seen, token = [], ""
        while True:
            r = w.call("ListCases", C.ListCasesRequest(order_id=o.id, page_size=2,
                                                       page_token=token))
            seen += [k.id for k in r.cases]
            token = r.next_page_token
            if not token:
                break
        self.assertEqual(seen, list(reversed(ids)))
        # Order.case_ids: every case of the order, oldest first
        self.assertEqual(list(w.get_order(o.id).case_ids), ids)
        self.assertEqual(list(self.delivered_order("list-2", [("MUG", 1)]).case_ids), [])
        r = w.call("ListCases", C.ListCasesRequest(order_id=o.id,
                                                   types=[C.CASE_TYPE_RETURN]))
        self.assertEqual(len(r.cases), 0)
        r = w.call("ListCases", C.ListCasesRequest(states=[common_pb2.CASE_STATE_OPEN],
                                                   supplier_id=self.acme, page_size=500))
        self.assertTrue(set(ids) <= {k.id for k in r.cases})
        # a sixth unit is beyond the ordered quantity while five are in open cases
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, w.open, o.id, C.CASE_TYPE_DAMAGED,
                         [("L1", 1)])

    def test_reship_creates_one_replacement_order_per_request(self):
        w = self.w
        o = self.delivered_order("rs-1", [("MUG", 2)])
        k = w.open(o.id, C.CASE_TYPE_EXCHANGE, [("L1", 1)], description="wants blue")
        k = w.call("ApproveCase", C.ApproveCaseRequest(
            case_id=k.id, return_requirement=C.RETURN_REQUIREMENT_NOT_REQUIRED)).case
        r1 = w.call("Reship", C.ReshipRequest(request_id="rs-1-a", case_id=k.id))
        r2 = w.call("Reship", C.ReshipRequest(request_id="rs-1-a", case_id=k.id))
        self.assertEqual(r1.reship_order_id, r2.reship_order_id)
        self.assertEqual(r2.case.reship_order_ids, [r1.reship_order_id])
        self.assertEqual(r1.case.state, common_pb2.CASE_STATE_RESHIPPED)
        new = w.wait_order(r1.reship_order_id, (common_pb2.ORDER_STATE_DELIVERED,
                                                common_pb2.ORDER_STATE_COMPLETED))
        self.assertEqual(new.external_order_id, "rs-1-R1")
        self.assertEqual([(l.line_id, l.quantity, l.unit_price.units) for l in new.lines],
                         [("L1", 1, 0)])
        self.assertEqual(len(new.supplier_orders), 1)
        self.assertEqual(new.supplier_orders[0].idempotency_key,
                         "%s:%s" % (r1.reship_order_id, self.acme))

    def test_an_open_case_holds_completion_until_it_closes(self):
        w = self.w
        S = common_pb2
        # the strict supplier grants 0 no-reason days: without a case the
        # order completes as soon as it is delivered
        o = w.order("gate-1", [("SLOWTEE", 1)])
        w.wait_order(o.id, (S.ORDER_STATE_AWAITING_PAYMENT, S.ORDER_STATE_AWAITING_SHIPMENT,
                            S.ORDER_STATE_IN_TRANSIT))
        k = w.open(o.id, C.CASE_TYPE_DAMAGED, [("L1", 1)], description="box crushed")
        w.wait_order(o.id, (S.ORDER_STATE_DELIVERED, S.ORDER_STATE_COMPLETED))
        time.sleep(1.0)  # the window (0 days) is long over
        self.assertEqual(w.get_order(o.id).state, S.ORDER_STATE_DELIVERED)
        # closing the last open case lets the order complete
        w.call("RejectCase", C.RejectCaseRequest(case_id=k.id, reason="no damage on the photo"))
        w.wait_order(o.id, (S.ORDER_STATE_COMPLETED,), seconds=10)
        # a defect found after completion can still be reported and handled
        d = w.open(o.id, C.CASE_TYPE_DAMAGED, [("L1", 1)], description="crack found later")
        d = w.call("ApproveCase", C.ApproveCaseRequest(case_id=d.id)).case
        self.assertEqual(d.state, S.CASE_STATE_APPROVED)
        w.call("ResolveCase", C.ResolveCaseRequest(case_id=d.id, resolution="coupon given",
                                                   root_cause=C.ROOT_CAUSE_SUPPLIER_QUALITY))
        self.assertEqual(w.get_order(o.id).state, S.ORDER_STATE_COMPLETED)
        self.assertEqual(list(w.get_order(o.id).case_ids), [k.id, d.id])

    def test_case_events_flow_on_watch_order_events(self):
        w = self.w
        o = self.delivered_order("watch-1", [("MUG", 1)])
        cursor = w.orders.GetOrderHistory(orders_pb2.GetOrderHistoryRequest(order_id=o.id),
                                          metadata=w.md, timeout=TIMEOUT).events[0].cursor
        k = w.open(o.id, C.CASE_TYPE_LOST_IN_TRANSIT, [("L1", 1)])
        w.call("RejectCase", C.RejectCaseRequest(case_id=k.id, reason="arrived after all"))
        stream = w.orders.WatchOrderEvents(
            orders_pb2.WatchOrderEventsRequest(order_id=o.id, cursor=cursor),
            metadata=w.md, timeout=TIMEOUT)
        got = []
        try:
            for r in stream:
                if r.event.case_id == k.id:
                    got.append((r.event.type, r.event.case_to_state))
                if len(got) == 2:
                    break
        finally:
            stream.cancel()
        self.assertEqual(got, [(orders_pb2.ORDER_EVENT_TYPE_CASE_OPENED,
                                common_pb2.CASE_STATE_OPEN),
                               (orders_pb2.ORDER_EVENT_TYPE_CASE_STATE_CHANGED,
                                common_pb2.CASE_STATE_REJECTED)])


if __name__ == "__main__":
    unittest.main()
