"""SIGTERM while dropshipd is busy creating orders: every call the server took
on completes normally, and the process exits 0.

Checked through the database: an order exists exactly for the calls that
answered OK. A call that did not answer OK must have written nothing (it was
refused: UNAVAILABLE from the draining server, or CANCELLED by the gRPC
transport for streams that arrived after the drain began and never reached
a handler). An order whose call did not answer OK would be a call the
server started and did not finish."""
import concurrent.futures
import sys
import threading
import unittest

import grpc

import harness
from dropship.v1 import common_pb2, orders_pb2, orders_pb2_grpc

CALLS = 400
WORKERS = 32


def new_order(i):
    return orders_pb2.Order(
        external_order_id="sigterm-%d" % i, currency_code="USD",
        shipping_address=common_pb2.Address(
            recipient_name="Ana Silva", phone="+55 11 91234 5678", country_code="BR",
            region="SP", city="Sao Paulo", street="Rua Augusta 1500", postal_code="01304-001"),
        lines=[orders_pb2.OrderLine(shop_sku="MUG-RED", quantity=1,
                                    unit_price=common_pb2.Money(currency_code="USD", units=9))])


class SigtermWithCallsInFlight(unittest.TestCase):

    def test_inflight_calls_complete_and_exit_code_is_zero(self):
        db = harness.fresh_database("sigterm_inflight")
        with harness.Server(db, shutdown_grace_ms=10000) as srv:
            shop = harness.create_shop(db, "sigterm shop")
            md = harness.auth(harness.create_api_key(db, shop))
            first_ok = threading.Event()
            with harness.channel(srv.addr) as ch:
                stub = orders_pb2_grpc.OrderServiceStub(ch)

                def call(i):
                    try:
                        stub.CreateOrder(orders_pb2.CreateOrderRequest(order=new_order(i)),
                                         metadata=md, timeout=30)
                        first_ok.set()
                        return "OK"
                    except grpc.RpcError as e:
                        return e.code().name

                with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
                    futures = [pool.submit(call, i) for i in range(CALLS)]
                    self.assertTrue(first_ok.wait(30), "no call succeeded before SIGTERM")
                    code = srv.stop()
                    results = [f.result(60) for f in futures]
        self.assertEqual(code, 0, srv.log_path)
        self.assertIn("shutting down", srv.log())
        self.assertEqual({r for r in results} - {"OK", "UNAVAILABLE", "CANCELLED"}, set(),
                         sorted(set(results)))
        ok = {i for i, r in enumerate(results) if r == "OK"}
        self.assertGreater(len(ok), 1)
        rows = harness.sql(db, "SELECT external_order_id FROM orders").split()
        written = {int(x.split("-")[1]) for x in rows}
        self.assertEqual(written - ok, set(), "orders written for calls that did not answer OK")
        self.assertEqual(ok - written, set(), "calls answered OK without an order")


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
