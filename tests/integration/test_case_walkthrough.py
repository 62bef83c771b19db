"""The DAMAGED-case walk-through of docs/after-sales.md, run as written so
that it cannot go stale.

The test builds what the README demo leaves behind: a fresh database, a
dropship-sim with a token, dropshipd at a fast workflow time scale, a shop
with an API key, a contract supplier "acme" served by the simulator with a
binding for MUG, and one order of two mugs followed until it is COMPLETED
(delivered, return window over), as the demo's.
The shell block between the `walkthrough:begin` and `walkthrough:end`
markers then runs unchanged with bash -e -o pipefail, in a directory where
`build` points at this build, given DROPSHIP_ADDR, DROPSHIP_API_KEY, SIM and
SIM_TOKEN (what the doc says a reader takes from the demo's .data/); the
block finds the order itself, as the newest COMPLETED one. The
case must end CLOSED with root cause SUPPLIER_QUALITY, one SUPPLIER-paid
refund, its return parcel delivered, and the return address printed.
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
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

DOC = os.path.join(harness.SOURCE_DIR, "docs", "after-sales.md")
TOKEN = "walkthrough-sim-token"
SCALE = 100000          # the demo's time scale
TIMEOUT = 10
BLOCK_LIMIT_S = 60
ADDRESS = common_pb2.Address(recipient_name="Ada Lovelace", phone="+44 20 7946 0000",
                             country_code="GB", region="London", city="London",
                             street="12 St James's Square", postal_code="SW1Y 4JH")


def walkthrough_block():
    with open(DOC) as f:
        text = f.read()
    m = re.search(r"<!-- walkthrough:begin[^>]*-->\s*```sh\n(.*?)```\s*<!-- walkthrough:end -->",
                  text, re.S)
    if m is None:
        raise AssertionError("docs/after-sales.md has no walkthrough:begin/end shell block")
    return m.group(1)


def usd(units):
    return common_pb2.Money(currency_code="USD", units=units)


class CaseWalkthroughTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ds-walk-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.db = harness.fresh_database("case_walkthrough")
        stack = contextlib.ExitStack()
        self.addCleanup(stack.close)
        self.sim = stack.enter_context(Sim(token=TOKEN))
        self.server = stack.enter_context(harness.Server(self.db, workflow_time_scale=SCALE))
        self.key = harness.create_api_key(self.db, harness.create_shop(self.db, "walk"))
        self.md = harness.auth(self.key)
        self.ch = harness.channel(self.server.addr)
        self.addCleanup(self.ch.close)

    def completed_order(self):
        sup = suppliers_pb2_grpc.SupplierServiceStub(self.ch)
        s = suppliers_pb2.Supplier(
            display_name="Acme", default_currency_code="USD",
            payment_mode=common_pb2.PAYMENT_MODE_AUTO,
            adapter=suppliers_pb2.SupplierAdapterConfig(
                kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
                base_url=self.sim.base + "/suppliers/acme", credential=TOKEN),
            tracking=suppliers_pb2.TrackingConfig(
                kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                base_url=self.sim.base + "/tracking", credential=TOKEN))
        sid = sup.CreateSupplier(suppliers_pb2.CreateSupplierRequest(supplier=s),
                                 metadata=self.md, timeout=TIMEOUT).supplier.id
        catalog_pb2_grpc.CatalogServiceStub(self.ch).CreateBinding(
            catalog_pb2.CreateBindingRequest(binding=catalog_pb2.Binding(
                shop_sku="MUG", supplier_id=sid, supplier_sku="MUG-01", max_cost=usd(100))),
            metadata=self.md, timeout=TIMEOUT)
        orders = orders_pb2_grpc.OrderServiceStub(self.ch)
        o = orders_pb2.Order(external_order_id="walk-1", currency_code="USD",
                             shipping_address=ADDRESS)
        o.lines.add(line_id="1", shop_sku="MUG", quantity=2, unit_price=usd(12))
        oid = orders.CreateOrder(orders_pb2.CreateOrderRequest(order=o), metadata=self.md,
                                 timeout=TIMEOUT).order.id
        done = (common_pb2.ORDER_STATE_COMPLETED,)
        deadline = time.monotonic() + 40
        while True:
            got = orders.GetOrder(orders_pb2.GetOrderRequest(order_id=oid), metadata=self.md,
                                  timeout=TIMEOUT).order
            if got.state in done:
                return oid
            self.assertLess(time.monotonic(), deadline, "order stayed %s" % got.state)
            time.sleep(0.1)

    def run_block(self):
        cwd = os.path.join(self.tmp, "cwd")
        os.mkdir(cwd)
        os.symlink(harness.BUILD_DIR, os.path.join(cwd, "build"))
        env = dict(os.environ, DROPSHIP_ADDR=self.server.addr, DROPSHIP_API_KEY=self.key,
                   SIM=self.sim.base, SIM_TOKEN=TOKEN)
        env.pop("ORDER", None)
        t0 = time.monotonic()
        p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", walkthrough_block()],
                           cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=BLOCK_LIMIT_S)
        out = p.stdout.decode(errors="replace")
        print("walk-through took %.1f s:\n%s" % (time.monotonic() - t0, out))
        self.assertEqual(p.returncode, 0, out + "\n--- dropshipd ---\n"
                         + self.server.log()[-3000:])
        return out

    def test_walkthrough_closes_a_damaged_case_refunded_by_the_supplier(self):
        order_id = self.completed_order()
        out = self.run_block()
        self.assertRegex(out, r"^order %s, line " % order_id)
        case_id = re.search(r"^case ([0-9a-f-]{36})$", out, re.M).group(1)
        objs = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
        approved = [o for o in objs if o.get("state") == "CASE_STATE_APPROVED"]
        self.assertEqual(len(approved), 1, out)
        self.assertTrue(approved[0]["returnAddress"]["city"], out)
        self.assertTrue(approved[0]["returnAddress"]["street"], out)
        self.assertIn("returnPostagePayer", json.dumps(approved[0]["returnRules"]))
        self.assertRegex(out, r"\d\d:\d\d:\d\d CASE_STATE_RETURN_RECEIVED")
        # the server's view, independently of what the block printed
        cases = cases_pb2_grpc.AfterSalesServiceStub(self.ch)
        k = cases.GetCase(cases_pb2.GetCaseRequest(case_id=case_id), metadata=self.md,
                          timeout=TIMEOUT).case
        self.assertEqual(k.state, common_pb2.CASE_STATE_CLOSED)
        self.assertEqual(k.type, cases_pb2.CASE_TYPE_DAMAGED)
        self.assertEqual(k.root_cause, cases_pb2.ROOT_CAUSE_SUPPLIER_QUALITY)
        self.assertEqual(len(k.evidence), 1)
        self.assertEqual(k.evidence[0].kind, cases_pb2.EVIDENCE_KIND_PHOTO)
        self.assertEqual(len(k.evidence[0].sha256), 64)
        self.assertEqual([(r.payer, r.amount.units) for r in k.refunds],
                         [(cases_pb2.REFUND_PAYER_SUPPLIER, 12)])
        self.assertEqual(k.return_parcel.status, common_pb2.TRACKING_STATUS_DELIVERED)
        self.assertEqual(k.return_address.city, approved[0]["returnAddress"]["city"])
        history = [ln.split("\t") for ln in out.splitlines() if re.match(r"^\d+\t", ln)]
        states = [h[2] for i, h in enumerate(history) if i == 0 or history[i - 1][2] != h[2]]
        self.assertEqual(states, ["OPEN", "APPROVED", "AWAITING_RETURN", "RETURN_RECEIVED",
                                  "REFUNDED", "CLOSED"], out)
        kinds = {(h[1], h[2]): h[3] for h in history}
        self.assertEqual(kinds[("CASE_EVIDENCE_ADDED", "OPEN")], "ACTOR_KIND_API_KEY", out)
        self.assertEqual(kinds[("CASE_STATE_CHANGED", "RETURN_RECEIVED")], "ACTOR_KIND_ADAPTER",
                         out)
        self.assertEqual(kinds[("CASE_REFUND_RECORDED", "REFUNDED")], "ACTOR_KIND_API_KEY", out)
        self.assertIn("root_cause=2", [h for h in history if h[2] == "CLOSED"][0][4])


if __name__ == "__main__":
    unittest.main(verbosity=2)
