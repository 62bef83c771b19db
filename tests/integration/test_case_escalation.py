"""Automatic escalation: parcels that stop moving open an after-sales case by
themselves, once per parcel, with the tracking history as evidence.

dropship-sim's SKU prefixes give the parcels (docs/simulator.md): STUCK-
stays INFO_RECEIVED forever, LOST- ends in EXCEPTION, DAMAGE- in EXCEPTION
with a checkpoint that says damaged, EXPIRE- in EXPIRED, RETURN- in
RETURNING_TO_SENDER; a plain SKU is delivered. The workflow runs
at time scale 100000 with --case-escalate-after-s 300000, so a parcel with
no new checkpoint for three real seconds counts as stuck (the other paths
reach their last stage well before that).
"""
import base64
import hashlib
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

import harness  # noqa: E402
from simclient import Sim  # noqa: E402
from dropship.v1 import (cases_pb2, cases_pb2_grpc, catalog_pb2, catalog_pb2_grpc,  # noqa: E402
                         common_pb2, orders_pb2, orders_pb2_grpc, suppliers_pb2,
                         suppliers_pb2_grpc)

TOKEN = "escalation-sim-token"
TIMEOUT = 10
C = cases_pb2
ADDRESS = common_pb2.Address(recipient_name="Ada Lovelace", phone="+44 20 7946 0000",
                             country_code="GB", region="London", city="London",
                             street="12 St James's Square", postal_code="SW1Y 4JH")
SKUS = {"STUCKMUG": "STUCK-MUG", "LOSTMUG": "LOST-MUG", "EXPMUG": "EXPIRE-MUG",
        "RETMUG": "RETURN-MUG", "EXPCAP": "EXPIRE-CAP", "DMGMUG": "DAMAGE-MUG", "MUG": "MUG-01"}
DATA_PREFIX = "data:text/plain;charset=utf-8;base64,"


def usd(units):
    return common_pb2.Money(currency_code="USD", units=units)


class CaseEscalationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = harness.fresh_database("case_escalation")
        cls.sim = Sim(token=TOKEN)
        cls.server = harness.Server(cls.db, workflow_time_scale=100000,
                                    case_escalate_after_s=300000)
        cls.md = harness.auth(harness.create_api_key(cls.db, harness.create_shop(cls.db, "esc")))
        cls.ch = harness.channel(cls.server.addr)
        cls.orders = orders_pb2_grpc.OrderServiceStub(cls.ch)
        cls.cases = cases_pb2_grpc.AfterSalesServiceStub(cls.ch)
        s = suppliers_pb2.Supplier(
            display_name="Acme", default_currency_code="USD",
            payment_mode=common_pb2.PAYMENT_MODE_AUTO,
            adapter=suppliers_pb2.SupplierAdapterConfig(
                kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
                base_url=cls.sim.base + "/suppliers/acme", credential=TOKEN),
            tracking=suppliers_pb2.TrackingConfig(
                kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                base_url=cls.sim.base + "/tracking", credential=TOKEN))
        sid = suppliers_pb2_grpc.SupplierServiceStub(cls.ch).CreateSupplier(
            suppliers_pb2.CreateSupplierRequest(supplier=s), metadata=cls.md,
            timeout=TIMEOUT).supplier.id
        catalog = catalog_pb2_grpc.CatalogServiceStub(cls.ch)
        for shop_sku, sup_sku in SKUS.items():
            catalog.CreateBinding(catalog_pb2.CreateBindingRequest(binding=catalog_pb2.Binding(
                shop_sku=shop_sku, supplier_id=sid, supplier_sku=sup_sku, max_cost=usd(1000))),
                metadata=cls.md, timeout=TIMEOUT)
        # a supplier whose own stale_after (20 days = 17 s here) overrides
        # the server's 3 s: its stuck parcel must not escalate in the test
        s.display_name = "Patient"
        s.adapter.base_url = cls.sim.base + "/suppliers/patient"
        s.tracking.stale_after.seconds = 20 * 86400
        patient = suppliers_pb2_grpc.SupplierServiceStub(cls.ch).CreateSupplier(
            suppliers_pb2.CreateSupplierRequest(supplier=s), metadata=cls.md,
            timeout=TIMEOUT).supplier.id
        catalog.CreateBinding(catalog_pb2.CreateBindingRequest(binding=catalog_pb2.Binding(
            shop_sku="PATIENTMUG", supplier_id=patient, supplier_sku="STUCK-PMUG",
            max_cost=usd(1000))), metadata=cls.md, timeout=TIMEOUT)
        cls.ids = {}
        for sku in list(SKUS) + ["PATIENTMUG"]:
            o = orders_pb2.Order(external_order_id="esc-" + sku, currency_code="USD",
                                 shipping_address=ADDRESS)
            o.lines.add(line_id="L1", shop_sku=sku, quantity=2, unit_price=usd(20))
            cls.ids[sku] = cls.orders.CreateOrder(orders_pb2.CreateOrderRequest(order=o),
                                                  metadata=cls.md, timeout=TIMEOUT).order.id

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        rc = cls.server.stop()
        cls.sim.stop()
        if rc != 0:
            raise AssertionError("dropshipd exited %s:\n%s" % (rc, cls.server.log()[-3000:]))

    def order(self, sku):
        return self.orders.GetOrder(orders_pb2.GetOrderRequest(order_id=self.ids[sku]),
                                    metadata=self.md, timeout=TIMEOUT).order

    def cases_of(self, sku):
        return list(self.cases.ListCases(C.ListCasesRequest(order_id=self.ids[sku]),
                                         metadata=self.md, timeout=TIMEOUT).cases)

    def wait_case(self, sku, seconds=12):
        deadline = time.monotonic() + seconds
        while True:
            got = self.cases_of(sku)
            if got:
                return got
            if time.monotonic() > deadline:
                o = self.order(sku)
                raise AssertionError("no case for %s; order %s, parcels %s\n%s" % (
                    sku, common_pb2.OrderState.Name(o.state),
                    [(p.tracking_number, p.status) for so in o.supplier_orders
                     for p in so.parcels], self.server.log()[-3000:]))
            time.sleep(0.1)

    def parcel(self, sku):
        o = self.order(sku)
        return [p for so in o.supplier_orders for p in so.parcels][0]

    def check_auto_case(self, sku, ctype, status_name):
        k = self.wait_case(sku)[0]
        p = self.parcel(sku)
        self.assertEqual(k.type, ctype)
        self.assertEqual(k.state, common_pb2.CASE_STATE_OPEN)
        self.assertEqual(k.opened_by.kind, common_pb2.ACTOR_KIND_SYSTEM)
        self.assertEqual(k.opened_by.id, "escalation")
        self.assertEqual((k.carrier, k.tracking_number), (p.carrier, p.tracking_number))
        self.assertIn(p.tracking_number, k.description)
        self.assertEqual([(l.line_id, l.quantity) for l in k.lines], [("L1", 2)])
        # the evidence is the tracking history, verifiable from its URI
        self.assertEqual(len(k.evidence), 1)
        e = k.evidence[0]
        self.assertEqual(e.kind, C.EVIDENCE_KIND_TRACKING_HISTORY)
        self.assertEqual(e.added_by.kind, common_pb2.ACTOR_KIND_SYSTEM)
        self.assertTrue(e.uri.startswith(DATA_PREFIX), e.uri)
        self.assertLessEqual(len(e.uri), 2000)
        text = base64.b64decode(e.uri[len(DATA_PREFIX):])
        self.assertEqual(hashlib.sha256(text).hexdigest(), e.sha256)
        text = text.decode()
        self.assertIn(p.tracking_number, text)
        self.assertIn(status_name, text)
        self.assertEqual(text.count("\n"), 1 + len(p.checkpoints), text)
        # the order knows it, and its history says who opened it
        self.assertIn(k.id, list(self.order(sku).case_ids))
        hist = self.orders.GetOrderHistory(
            orders_pb2.GetOrderHistoryRequest(order_id=self.ids[sku], page_size=500),
            metadata=self.md, timeout=TIMEOUT).events
        opened = [ev for ev in hist if ev.type == orders_pb2.ORDER_EVENT_TYPE_CASE_OPENED]
        self.assertEqual(len(opened), 1)
        self.assertEqual(opened[0].actor.kind, common_pb2.ACTOR_KIND_SYSTEM)
        self.assertEqual(opened[0].details["tracking_number"], p.tracking_number)
        return k

    def test_a_stuck_parcel_opens_one_lost_in_transit_case(self):
        k = self.check_auto_case("STUCKMUG", C.CASE_TYPE_LOST_IN_TRANSIT, "INFO_RECEIVED")
        self.assertIn("no new checkpoint", k.description)
        # polls go on; the parcel stays stuck; still one case (once per parcel)
        time.sleep(2.5)
        self.assertEqual([c.id for c in self.cases_of("STUCKMUG")], [k.id])
        self.assertEqual(self.order("STUCKMUG").state, common_pb2.ORDER_STATE_IN_TRANSIT)

    def test_the_suppliers_stale_after_overrides_the_server_setting(self):
        self.wait_case("STUCKMUG")  # the server's 3 s have passed for acme's parcel
        deadline = time.monotonic() + 10
        while not self.order("PATIENTMUG").supplier_orders or \
                not self.order("PATIENTMUG").supplier_orders[0].parcels:
            self.assertLess(time.monotonic(), deadline, "no parcel for PATIENTMUG")
            time.sleep(0.1)
        time.sleep(4.5)  # well past 3 s unchanged, far from 17 s
        self.assertEqual(self.cases_of("PATIENTMUG"), [])

    def test_exception_expired_and_returning_parcels_open_cases(self):
        for sku, status in (("LOSTMUG", "EXCEPTION"), ("EXPMUG", "EXPIRED"),
                            ("RETMUG", "RETURNING_TO_SENDER")):
            with self.subTest(sku=sku):
                k = self.check_auto_case(sku, C.CASE_TYPE_LOST_IN_TRANSIT, status)
                self.assertIn("is " + status, k.description)

    def test_an_exception_that_mentions_damage_opens_a_damaged_case(self):
        k = self.check_auto_case("DMGMUG", C.CASE_TYPE_DAMAGED, "EXCEPTION")
        self.assertIn("is EXCEPTION", k.description)
        self.assertEqual(self.parcel("DMGMUG").checkpoints[-1].message,
                         "Parcel damaged in transit")

    def test_an_auto_case_is_handled_like_any_other(self):
        k = self.wait_case("EXPCAP")[0]
        k = self.cases.ApproveCase(C.ApproveCaseRequest(case_id=k.id), metadata=self.md,
                                   timeout=TIMEOUT).case
        self.assertFalse(k.return_required)
        k = self.cases.RecordRefund(C.RecordRefundRequest(case_id=k.id, refund=C.Refund(
            amount=usd(40), payer=C.REFUND_PAYER_SHOP)), metadata=self.md, timeout=TIMEOUT).case
        k = self.cases.ResolveCase(C.ResolveCaseRequest(
            case_id=k.id, resolution="parcel expired, refunded",
            root_cause=C.ROOT_CAUSE_CARRIER_LOSS), metadata=self.md, timeout=TIMEOUT).case
        self.assertEqual(k.state, common_pb2.CASE_STATE_CLOSED)
        # a closed automatic case is not opened again for the same parcel
        time.sleep(1.5)
        self.assertEqual(len(self.cases_of("EXPCAP")), 1)

    def test_a_delivered_parcel_opens_nothing(self):
        deadline = time.monotonic() + 25
        while self.order("MUG").state not in (common_pb2.ORDER_STATE_DELIVERED,
                                              common_pb2.ORDER_STATE_COMPLETED):
            self.assertLess(time.monotonic(), deadline, self.server.log()[-3000:])
            time.sleep(0.1)
        self.assertEqual(self.cases_of("MUG"), [])
        self.assertEqual(list(self.order("MUG").case_ids), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
