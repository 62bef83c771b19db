"""Unary calls, errors with google.rpc.Status details, deadlines, message
size cap, malformed bytes, unknown methods and Health/Check."""
import unittest

import grpc

from google.rpc import error_details_pb2
from rpcstd import health_v1_pb2, health_v1_pb2_grpc
from rpctest.v1 import echo_pb2, echo_pb2_grpc
from rpctest_util import TestServer, channel, status_details

SERVING = health_v1_pb2.HealthCheckResponse.SERVING


class UnaryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = TestServer()
        cls.chan = channel(cls.server.addr)
        cls.echo = echo_pb2_grpc.EchoServiceStub(cls.chan)
        cls.health = health_v1_pb2_grpc.HealthStub(cls.chan)

    @classmethod
    def tearDownClass(cls):
        cls.chan.close()
        code = cls.server.stop()
        cls.server.__exit__()
        assert code == 0, "server exit code %s" % code

    def assert_healthy(self):
        r = self.health.Check(health_v1_pb2.HealthCheckRequest(), timeout=5)
        self.assertEqual(r.status, SERVING)

    def test_echo_returns_text_and_call_context(self):
        r = self.echo.Echo(echo_pb2.EchoRequest(text="hello", payload=b"x" * 1000), timeout=5,
                           metadata=[("authorization", "Bearer k1")])
        self.assertEqual(r.text, "hello")
        self.assertEqual(r.payload_len, 1000)
        self.assertEqual(r.seen.authorization, "Bearer k1")
        self.assertTrue(r.seen.peer.startswith("ipv4:127.0.0.1:"), r.seen.peer)
        self.assertGreater(r.seen.remaining_ms, 0)
        self.assertLessEqual(r.seen.remaining_ms, 6000)

    def test_no_deadline_is_reported_as_none(self):
        r = self.echo.Echo(echo_pb2.EchoRequest(text="x"))
        self.assertEqual(r.seen.remaining_ms, -1)

    def test_error_carries_status_with_bad_request_and_error_info(self):
        req = echo_pb2.FailRequest(
            status="DS_ERR_INVALID", message="order is invalid", reason="BAD_ORDER",
            violations=[echo_pb2.Violation(field="address.postal_code", description="too short"),
                        echo_pb2.Violation(field="lines[2].quantity", description="must be > 0")])
        with self.assertRaises(grpc.RpcError) as cm:
            self.echo.Fail(req, timeout=5)
        err = cm.exception
        self.assertEqual(err.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(err.details(), "order is invalid")
        st = status_details(err)
        self.assertIsNotNone(st)
        self.assertEqual(st.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertEqual(st.message, "order is invalid")
        self.assertEqual(len(st.details), 2)
        br = error_details_pb2.BadRequest()
        self.assertTrue(st.details[0].Unpack(br))
        self.assertEqual([(v.field, v.description) for v in br.field_violations],
                         [("address.postal_code", "too short"), ("lines[2].quantity", "must be > 0")])
        info = error_details_pb2.ErrorInfo()
        self.assertTrue(st.details[1].Unpack(info))
        self.assertEqual(info.reason, "BAD_ORDER")
        self.assertEqual(info.domain, "rpctest.v1")

    def test_status_mapping(self):
        cases = {
            "DS_ERR_NOT_FOUND": grpc.StatusCode.NOT_FOUND,
            "DS_ERR_ALREADY_EXISTS": grpc.StatusCode.ALREADY_EXISTS,
            "DS_ERR_FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
            "DS_ERR_ABORTED": grpc.StatusCode.ABORTED,
            "DS_ERR_UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
            "DS_ERR_PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
            "DS_ERR_RESOURCE_EXHAUSTED": grpc.StatusCode.RESOURCE_EXHAUSTED,
            "DS_ERR_UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
            "DS_ERR_DEADLINE": grpc.StatusCode.DEADLINE_EXCEEDED,
            "DS_ERR_CANCELLED": grpc.StatusCode.CANCELLED,
            "DS_ERR_UNIMPLEMENTED": grpc.StatusCode.UNIMPLEMENTED,
            "DS_ERR_INTERNAL": grpc.StatusCode.INTERNAL,
            "DS_ERR_IO": grpc.StatusCode.INTERNAL,
        }
        for name, code in cases.items():
            with self.subTest(name=name):
                with self.assertRaises(grpc.RpcError) as cm:
                    self.echo.Fail(echo_pb2.FailRequest(status=name, message="m " + name), timeout=5)
                self.assertEqual(cm.exception.code(), code)
                st = status_details(cm.exception)
                self.assertEqual(st.code, code.value[0])
                self.assertEqual(st.message, "m " + name)
                self.assertEqual(len(st.details), 0)

    def test_unknown_method_is_unimplemented_at_once(self):
        call = self.chan.unary_unary("/rpctest.v1.Nope/Nothing",
                                     request_serializer=lambda b: b,
                                     response_deserializer=lambda b: b)
        with self.assertRaises(grpc.RpcError) as cm:
            call(b"", timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        self.assertIn("/rpctest.v1.Nope/Nothing", cm.exception.details())

    def test_method_without_handler_is_unimplemented(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.echo.Missing(echo_pb2.EchoRequest(), timeout=5)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        self.assertIn("/rpctest.v1.EchoService/Missing", cm.exception.details())

    def test_deadline_exceeded(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.echo.Sleep(echo_pb2.SleepRequest(ms=1500), timeout=0.2)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assert_healthy()

    def test_oversized_message_is_resource_exhausted(self):
        big = b"z" * (4 * 1024 * 1024 + 10)
        with self.assertRaises(grpc.RpcError) as cm:
            self.echo.Echo(echo_pb2.EchoRequest(payload=big), timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        r = self.echo.Echo(echo_pb2.EchoRequest(payload=b"z" * (3 * 1024 * 1024)), timeout=10)
        self.assertEqual(r.payload_len, 3 * 1024 * 1024)

    def test_malformed_bytes_are_invalid_argument(self):
        call = self.chan.unary_unary("/rpctest.v1.EchoService/Echo",
                                     request_serializer=lambda b: b,
                                     response_deserializer=lambda b: b)
        with self.assertRaises(grpc.RpcError) as cm:
            call(b"\xff\xff\xff\xff\xff\x0a\x99", timeout=5)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("rpctest.v1.EchoRequest", cm.exception.details())
        self.assertEqual(status_details(cm.exception).code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assert_healthy()

    def test_health_check(self):
        self.assert_healthy()
        r = self.health.Check(health_v1_pb2.HealthCheckRequest(service="rpctest.v1.EchoService"),
                              timeout=5)
        self.assertEqual(r.status, SERVING)
        with self.assertRaises(grpc.RpcError) as cm:
            self.health.Check(health_v1_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_many_concurrent_calls(self):
        futures = [self.echo.Echo.future(echo_pb2.EchoRequest(text=str(i)), timeout=20)
                   for i in range(300)]
        futures += [self.health.Check.future(health_v1_pb2.HealthCheckRequest(), timeout=20)
                    for _ in range(300)]
        for i, f in enumerate(futures[:300]):
            self.assertEqual(f.result().text, str(i))
        for f in futures[300:]:
            self.assertEqual(f.result().status, SERVING)


if __name__ == "__main__":
    unittest.main(verbosity=2)
