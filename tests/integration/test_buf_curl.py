"""A third-party client that has no .proto files: `buf curl` discovers the whole
dropship.v1 API through server reflection, calls Health/Check, and gets
dropship errors rendered from the status and its details."""
import json
import os
import subprocess
import sys
import unittest
import uuid

import harness
from dropship.v1 import (cases_pb2, catalog_pb2, orders_pb2, reports_pb2,  # noqa: F401
                         suppliers_pb2)

BUF_TIMEOUT_S = 60


def buf():
    path = os.environ.get("DS_BUF")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("DS_BUF must point at the buf binary (got %r)" % path)
    return path


def buf_curl(addr, *args):
    argv = [buf(), "curl", "--protocol", "grpc", "--http2-prior-knowledge", *args]
    if not any(a.startswith("http://") for a in args):
        argv.append("http://%s" % addr)
    return subprocess.run(argv, capture_output=True, text=True, timeout=BUF_TIMEOUT_S)


def api_methods():
    """Every RPC of every dropship.v1 service, from the generated descriptors."""
    out = set()
    for mod in (orders_pb2, suppliers_pb2, catalog_pb2, cases_pb2, reports_pb2):
        for svc in mod.DESCRIPTOR.services_by_name.values():
            for m in svc.methods:
                out.add("%s/%s" % (svc.full_name, m.name))
    return out


class BufCurlOverReflection(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.db = harness.fresh_database("buf_curl")
        cls.srv = harness.Server(cls.db)
        shop = harness.create_shop(cls.db, "buf curl shop")
        cls.key = harness.create_api_key(cls.db, shop)

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def test_list_methods_shows_every_dropship_rpc(self):
        r = buf_curl(self.srv.addr, "--list-methods")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = set(r.stdout.split())
        expected = api_methods()
        self.assertGreaterEqual(len(expected), 30)  # 33 when written
        self.assertEqual(expected - listed, set(), "RPCs missing from reflection")
        self.assertIn("grpc.health.v1.Health/Check", listed)
        self.assertIn("grpc.health.v1.Health/Watch", listed)

    def test_health_check_answers_serving(self):
        r = buf_curl(self.srv.addr, "-d", "{}",
                     "http://%s/grpc.health.v1.Health/Check" % self.srv.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"status": "SERVING"})

    def test_dropship_call_without_key_is_unauthenticated(self):
        r = buf_curl(self.srv.addr, "-d", json.dumps({"orderId": str(uuid.uuid4())}),
                     "http://%s/dropship.v1.OrderService/GetOrder" % self.srv.addr)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unauthenticated", r.stderr)

    def test_dropship_call_with_key_reaches_the_service(self):
        r = buf_curl(self.srv.addr, "-H", "authorization: Bearer " + self.key,
                     "-d", json.dumps({"orderId": str(uuid.uuid4())}),
                     "http://%s/dropship.v1.OrderService/GetOrder" % self.srv.addr)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not_found", r.stderr)

    def test_unknown_json_field_is_refused_by_the_client(self):
        r = buf_curl(self.srv.addr, "-H", "authorization: Bearer " + self.key,
                     "-d", json.dumps({"orderIdentifier": "x"}),
                     "http://%s/dropship.v1.OrderService/GetOrder" % self.srv.addr)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("orderIdentifier", r.stderr)


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
