"""The harness itself works end to end: a migrated database, a dropshipd that
reports SERVING, a dropship RPC without credentials refused UNAUTHENTICATED
(with matching rich details), a clean exit 0 on SIGTERM, and a private
cluster that survives a restart."""
import sys
import unittest

import grpc

import harness
from dropship.v1 import orders_pb2, orders_pb2_grpc
from grpc.health.v1 import health_pb2


class HarnessSmoke(unittest.TestCase):

    def test_server_serves_and_refuses_anonymous_calls(self):
        db = harness.fresh_database("harness_smoke")
        with harness.Server(db) as srv:
            with harness.channel(srv.addr) as ch:
                self.assertEqual(harness.health(ch), health_pb2.HealthCheckResponse.SERVING)
                stub = orders_pb2_grpc.OrderServiceStub(ch)
                with self.assertRaises(grpc.RpcError) as cm:
                    stub.GetOrder(orders_pb2.GetOrderRequest(), timeout=10)
                err = cm.exception
                self.assertEqual(err.code(), grpc.StatusCode.UNAUTHENTICATED, err.details())
                st = harness.status_details(err)
                if st is not None:  # when details are sent they must agree
                    self.assertEqual(st.code, grpc.StatusCode.UNAUTHENTICATED.value[0])
                    self.assertEqual(st.message, err.details())
            self.assertEqual(srv.stop(), 0, srv.log_path)
        self.assertEqual(harness.count_rows(db, "shops"), 0)

    def test_admin_helpers_create_a_shop_and_a_key(self):
        db = harness.fresh_database("harness_smoke_admin")
        harness.migrate(db)
        shop = harness.create_shop(db, "Smoke shop")
        key = harness.create_api_key(db, shop)
        self.assertRegex(key, r"^dsk_[A-Za-z0-9_-]{43}$")
        self.assertEqual(harness.count_rows(db, "shops", "shop_id = '%s'" % shop), 1)

    def test_private_cluster_restarts(self):
        with harness.PrivateCluster() as cluster:
            db = cluster.fresh_database("harness_private")
            harness.sql(db, "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
            cluster.restart()
            self.assertEqual(harness.count_rows(db, "t", "x > 1"), 1)
            cluster.stop()
            with self.assertRaises(RuntimeError):
                harness.sql(db, "SELECT 1")
            cluster.start()
            self.assertEqual(harness.sql(db, "SELECT 1"), "1")


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
