"""Server reflection v1 and v1alpha: list services, files by symbol and by
name with their transitive dependencies, NOT_FOUND errors; buf curl."""
import os
import subprocess
import unittest

from google.protobuf import descriptor_pb2

from rpcstd import reflection_v1_pb2, reflection_v1_pb2_grpc
from rpcstd import reflection_v1alpha_pb2, reflection_v1alpha_pb2_grpc
from rpctest_util import TestServer, channel

VERSIONS = {
    "v1": (reflection_v1_pb2, reflection_v1_pb2_grpc),
    "v1alpha": (reflection_v1alpha_pb2, reflection_v1alpha_pb2_grpc),
}
SERVICES = {
    "rpctest.v1.EchoService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


class ReflectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TestServer()
        cls.chan = channel(cls.server.addr)

    @classmethod
    def tearDownClass(cls):
        cls.chan.close()
        code = cls.server.stop()
        cls.server.__exit__()
        assert code == 0, "server exit code %s" % code

    def ask(self, version, **request):
        """Send the requests in one stream, return the responses."""
        pb2, grpc_mod = VERSIONS[version]
        stub = grpc_mod.ServerReflectionStub(self.chan)
        reqs = [pb2.ServerReflectionRequest(**{k: v}) for k, v in request.items()]
        return list(stub.ServerReflectionInfo(iter(reqs), timeout=10))

    def files(self, resp):
        out = []
        for raw in resp.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto()
            fd.ParseFromString(raw)
            out.append(fd)
        return out

    def test_list_services(self):
        for v in VERSIONS:
            with self.subTest(version=v):
                [resp] = self.ask(v, list_services="")
                names = {s.name for s in resp.list_services_response.service}
                self.assertEqual(names, SERVICES)

    def test_file_containing_symbol_has_dependencies(self):
        symbols = ["rpctest.v1.EchoService", "rpctest.v1.EchoService.Echo",
                   "rpctest.v1.EchoRequest", "rpctest.v1.EchoResponse.Seen", "rpctest.v1.Mood",
                   "rpctest.v1.MOOD_HAPPY", "rpctest.v1.EchoRequest.text"]
        for v in VERSIONS:
            for sym in symbols:
                with self.subTest(version=v, symbol=sym):
                    [resp] = self.ask(v, file_containing_symbol=sym)
                    names = [f.name for f in self.files(resp)]
                    self.assertEqual(names[0], "rpctest/v1/echo.proto")
                    self.assertIn("google/protobuf/timestamp.proto", names)
                    self.assertEqual(len(names), len(set(names)))
                    self.assertEqual(resp.original_request.file_containing_symbol, sym)

    def test_file_by_filename_and_streaming_flag(self):
        for v in VERSIONS:
            with self.subTest(version=v):
                [resp] = self.ask(v, file_by_filename="rpctest/v1/echo.proto")
                fd = self.files(resp)[0]
                methods = {m.name: m for m in fd.service[0].method}
                self.assertTrue(methods["Count"].server_streaming)
                self.assertFalse(methods["Echo"].server_streaming)

    def test_health_symbol(self):
        [resp] = self.ask("v1", file_containing_symbol="grpc.health.v1.Health")
        self.assertEqual(self.files(resp)[0].name, "grpc/health/v1/health.proto")

    def test_unknown_names_are_not_found(self):
        for v in VERSIONS:
            with self.subTest(version=v):
                r1, r2 = self.ask(v, file_containing_symbol="no.such.Thing",
                                  file_by_filename="no/such.proto")
                self.assertEqual(r1.error_response.error_code, 5)
                self.assertEqual(r2.error_response.error_code, 5)

    def test_several_requests_in_one_stream(self):
        pb2, grpc_mod = VERSIONS["v1"]
        stub = grpc_mod.ServerReflectionStub(self.chan)
        reqs = [pb2.ServerReflectionRequest(list_services=""),
                pb2.ServerReflectionRequest(file_containing_symbol="rpctest.v1.EchoService"),
                pb2.ServerReflectionRequest(list_services="")]
        resps = list(stub.ServerReflectionInfo(iter(reqs), timeout=10))
        self.assertEqual(len(resps), 3)
        self.assertTrue(resps[1].HasField("file_descriptor_response"))

    @unittest.skipUnless(os.environ.get("DS_BUF") and os.path.exists(os.environ["DS_BUF"]),
                         "buf not available")
    def test_buf_curl_lists_methods(self):
        out = subprocess.run(
            [os.environ["DS_BUF"], "curl", "--protocol", "grpc", "--http2-prior-knowledge",
             "--list-methods", "http://" + self.server.addr],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("rpctest.v1.EchoService/Echo", out.stdout)
        self.assertIn("grpc.health.v1.Health/Check", out.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
