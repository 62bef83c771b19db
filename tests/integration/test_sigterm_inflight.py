"""SIGTERM while dropshipd is busy: the calls it already accepted complete
normally, calls arriving after the drain began are refused UNAVAILABLE (never
dropped or answered INTERNAL), and the process exits 0."""
import concurrent.futures
import sys
import threading
import unittest

import grpc

import harness
from dropship.v1 import orders_pb2, orders_pb2_grpc

CALLS = 400
WORKERS = 32


class SigtermWithCallsInFlight(unittest.TestCase):

    def test_inflight_calls_complete_and_exit_code_is_zero(self):
        db = harness.fresh_database("sigterm_inflight")
        srv = harness.Server(db, shutdown_grace_ms=10000)
        shop = harness.create_shop(db, "sigterm shop")
        md = harness.auth(harness.create_api_key(db, shop))
        first_ok = threading.Event()
        ch = harness.channel(srv.addr)
        stub = orders_pb2_grpc.OrderServiceStub(ch)

        def call(i):
            try:
                stub.ListOrders(orders_pb2.ListOrdersRequest(page_size=10), metadata=md,
                                timeout=30)
                first_ok.set()
                return "OK"
            except grpc.RpcError as e:
                return e.code().name

        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(call, i) for i in range(CALLS)]
            self.assertTrue(first_ok.wait(30), "no call succeeded before SIGTERM")
            code = srv.stop()
            results = [f.result(60) for f in futures]
        ch.close()
        srv.__exit__(None, None, None)
        self.assertEqual(code, 0, srv.log_path)
        bad = {r for r in results if r not in ("OK", "UNAVAILABLE")}
        self.assertEqual(bad, set(), "calls must complete or be refused UNAVAILABLE: %s"
                         % sorted(set(results)))
        self.assertGreater(results.count("OK"), 1)
        self.assertIn("shutting down", srv.log())


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
