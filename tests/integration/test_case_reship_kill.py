"""A reship is bought exactly once, whenever dropshipd dies.

Four EXCHANGE cases (no return) of delivered orders get a replacement with
Reship while dropshipd is SIGKILLed and restarted on the same database:
  A  right after the Reship RPC answered;
  B  at a random moment 0..400 ms after it answered (verify, purchase,
     payment of the replacement order);
  C  while the Reship RPC itself is in flight (random 0..30 ms); the client
     then repeats the call with the same request_id on the new process;
  D  after the supplier took the purchase of the replacement but before
     dropshipd heard the answer (the simulator processes the create and
     hangs; dropshipd is killed once the simulator counted the order).
Tasks leased by a killed process run again once their lease (3 s here) lapses.
In the end every replacement order is delivered and the simulator saw
exactly one supplier order for each (GET /_sim/stats, orders_by_order_ref),
with no duplicate purchase anywhere; every case names one replacement.
The random moments come from DS_SEED (default: the clock, printed).
"""
import json
import os
import random
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

import grpc  # noqa: E402

import harness  # noqa: E402
from simclient import Sim  # noqa: E402
from dropship.v1 import (cases_pb2, cases_pb2_grpc, catalog_pb2, catalog_pb2_grpc,  # noqa: E402
                         common_pb2, orders_pb2, orders_pb2_grpc, suppliers_pb2,
                         suppliers_pb2_grpc)

TOKEN = "reship-kill-token"
TIMEOUT = 10
C = cases_pb2
S = common_pb2
SETTINGS = {"workflow_time_scale": 1000000, "case_escalate_after_s": 31536000,
            "workflow_lease_ms": 3000}
ADDRESS = common_pb2.Address(recipient_name="Ada Lovelace", phone="+44 20 7946 0000",
                             country_code="GB", region="London", city="London",
                             street="12 St James's Square", postal_code="SW1Y 4JH")
SCENARIO = {"suppliers": {"acme": {
    "address": {"recipient_name": "Acme Returns", "phone": "+86 20 1234 5678",
                "country_code": "CN", "region": "Guangdong", "city": "Guangzhou",
                "street": "8 Warehouse Road", "postal_code": "510000"},
    "rules": {"no_reason_return_days": 365, "return_postage_payer": "SUPPLIER",
              "damaged_goods": "photo"}}}}
DONE = (S.ORDER_STATE_DELIVERED, S.ORDER_STATE_COMPLETED)


def usd(units):
    return common_pb2.Money(currency_code="USD", units=units)


class Daemon:
    """dropshipd on the test database, killed and restarted at will."""

    def __init__(self, db):
        self.db = db
        self.server = None
        self.ch = None
        self.start()

    def start(self):
        self.server = harness.Server(self.db, **SETTINGS)
        self.ch = harness.channel(self.server.addr)
        self.orders = orders_pb2_grpc.OrderServiceStub(self.ch)
        self.cases = cases_pb2_grpc.AfterSalesServiceStub(self.ch)

    def kill(self):
        self.ch.close()
        self.server.kill()
        self.server.__exit__(None, None, None)

    def restart(self):
        self.kill()
        self.start()

    def stop(self):
        self.ch.close()
        self.server.__exit__(None, None, None)


class ReshipKillTest(unittest.TestCase):
    def setUp(self):
        self.seed = int(os.environ.get("DS_SEED", int(time.time())))
        print("DS_SEED=%d" % self.seed)
        self.rnd = random.Random(self.seed)
        tmp = tempfile.mkdtemp(prefix="reship-kill-")
        scen = os.path.join(tmp, "scenario.json")
        with open(scen, "w") as f:
            json.dump(SCENARIO, f)
        self.db = harness.fresh_database("case_reship_kill")
        self.sim = Sim("--scenario", scen, token=TOKEN)
        self.addCleanup(self.sim.stop)
        self.d = Daemon(self.db)
        self.addCleanup(self.d.stop)
        self.md = harness.auth(harness.create_api_key(self.db,
                                                      harness.create_shop(self.db, "rk")))
        self.acme = self.catalog()

    def catalog(self):
        s = suppliers_pb2.Supplier(
            display_name="Acme", default_currency_code="USD",
            payment_mode=common_pb2.PAYMENT_MODE_AUTO,
            adapter=suppliers_pb2.SupplierAdapterConfig(
                kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
                base_url=self.sim.base + "/suppliers/acme", credential=TOKEN),
            tracking=suppliers_pb2.TrackingConfig(
                kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                base_url=self.sim.base + "/tracking", credential=TOKEN))
        sid = suppliers_pb2_grpc.SupplierServiceStub(self.d.ch).CreateSupplier(
            suppliers_pb2.CreateSupplierRequest(supplier=s), metadata=self.md,
            timeout=TIMEOUT).supplier.id
        catalog_pb2_grpc.CatalogServiceStub(self.d.ch).CreateBinding(
            catalog_pb2.CreateBindingRequest(binding=catalog_pb2.Binding(
                shop_sku="MUG", supplier_id=sid, supplier_sku="MUG-01", max_cost=usd(100))),
            metadata=self.md, timeout=TIMEOUT)
        return sid

    def get_order(self, oid):
        return self.d.orders.GetOrder(orders_pb2.GetOrderRequest(order_id=oid),
                                      metadata=self.md, timeout=TIMEOUT).order

    def wait_orders(self, oids, states, seconds):
        deadline = time.monotonic() + seconds
        for oid in oids:
            while self.get_order(oid).state not in states:
                if time.monotonic() > deadline:
                    raise AssertionError("order %s stayed %s\n%s" % (
                        oid, S.OrderState.Name(self.get_order(oid).state),
                        self.d.server.log()[-3000:]))
                time.sleep(0.1)

    def approved_exchange_cases(self, n):
        oids = []
        for i in range(n):
            o = orders_pb2.Order(external_order_id="rk-%d" % i, currency_code="USD",
                                 shipping_address=ADDRESS)
            o.lines.add(line_id="L1", shop_sku="MUG", quantity=1, unit_price=usd(20))
            oids.append(self.d.orders.CreateOrder(orders_pb2.CreateOrderRequest(order=o),
                                                  metadata=self.md, timeout=TIMEOUT).order.id)
        self.wait_orders(oids, DONE, 30)
        ids = []
        for oid in oids:
            k = C.Case(order_id=oid, type=C.CASE_TYPE_EXCHANGE, description="wants blue")
            k.lines.add(line_id="L1", quantity=1)
            k = self.d.cases.OpenCase(C.OpenCaseRequest(case=k), metadata=self.md,
                                      timeout=TIMEOUT).case
            self.d.cases.ApproveCase(C.ApproveCaseRequest(
                case_id=k.id, return_requirement=C.RETURN_REQUIREMENT_NOT_REQUIRED),
                metadata=self.md, timeout=TIMEOUT)
            ids.append(k.id)
        return ids

    def reship(self, case_id, timeout=TIMEOUT):
        return self.d.cases.Reship(C.ReshipRequest(request_id="reship-" + case_id,
                                                   case_id=case_id),
                                   metadata=self.md, timeout=timeout).reship_order_id

    def created(self):
        return self.sim.stats().get("orders_created", 0)

    def kill_while_supplier_answers(self, case_id):
        """D: the supplier creates the order and hangs; kill dropshipd then."""
        status, body, _ = self.sim.post("/_sim/faults", {"faults": [
            {"type": "timeout", "prefix": "/suppliers/acme/v1/orders", "method": "POST",
             "count": 1, "hang_ms": 5000}]})
        self.assertEqual(status, 200, body)
        before = self.created()
        rid = self.reship(case_id)
        deadline = time.monotonic() + 15
        while self.created() == before:
            self.assertLess(time.monotonic(), deadline, self.d.server.log()[-3000:])
            time.sleep(0.01)
        self.d.restart()
        return rid

    def kill_during_rpc(self, case_id):
        """C: kill while Reship is in flight, then repeat it (same request_id)."""
        def call():
            try:
                self.reship(case_id, timeout=5)
            except grpc.RpcError:
                pass
        t = threading.Thread(target=call)
        t.start()
        time.sleep(self.rnd.uniform(0, 0.03))
        self.d.restart()
        t.join(10)
        return self.reship(case_id)

    def test_reship_buys_once_across_sigkill(self):
        a, b, c, d = self.approved_exchange_cases(4)
        reships = {}
        reships[d] = self.kill_while_supplier_answers(d)
        reships[a] = self.reship(a)
        self.d.restart()
        reships[b] = self.reship(b)
        time.sleep(self.rnd.uniform(0, 0.4))
        self.d.restart()
        reships[c] = self.kill_during_rpc(c)
        # leases of the killed processes lapse after 3 s; then all finish
        self.wait_orders(list(reships.values()), DONE, 50)
        stats = self.sim.stats()
        self.assertEqual(stats.get("duplicates", 0), 0, stats)
        # D really happened: the purchase was repeated and the supplier replayed it
        self.assertGreaterEqual(stats.get("replays", 0), 1, stats)
        by_ref = stats["orders_by_order_ref"]
        for case_id, rid in reships.items():
            ref = "%s:%s" % (rid, self.acme)
            self.assertEqual(by_ref[ref]["orders_created"], 1, (case_id, by_ref))
            k = self.d.cases.GetCase(C.GetCaseRequest(case_id=case_id), metadata=self.md,
                                     timeout=TIMEOUT).case
            self.assertEqual(list(k.reship_order_ids), [rid])
            self.assertEqual(k.state, S.CASE_STATE_RESHIPPED)
            self.assertEqual(self.reship(case_id), rid)  # a repeat answers the same order
            o = self.get_order(rid)
            self.assertEqual([so.idempotency_key for so in o.supplier_orders], [ref])
        # the buyer's original orders and the four replacements, nothing more
        self.assertEqual(self.created(), 8, stats)


if __name__ == "__main__":
    unittest.main(verbosity=2)
