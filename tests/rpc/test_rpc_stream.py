"""Server streaming: Count delivers every message in order, a client that
cancels mid-stream leaves the server healthy, Health/Watch sees changes."""
import unittest

import grpc

from rpcstd import health_v1_pb2, health_v1_pb2_grpc
from rpctest.v1 import echo_pb2, echo_pb2_grpc
from rpctest_util import TestServer, channel, status_details

SERVING = health_v1_pb2.HealthCheckResponse.SERVING


class StreamTest(unittest.TestCase):
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

    def test_count_streams_all_messages_in_order(self):
        got = [m.i for m in self.echo.Count(echo_pb2.CountRequest(n=50), timeout=10)]
        self.assertEqual(got, list(range(50)))

    def test_count_zero_ends_with_ok(self):
        self.assertEqual(list(self.echo.Count(echo_pb2.CountRequest(n=0), timeout=10)), [])

    def test_stream_handler_error_ends_call(self):
        with self.assertRaises(grpc.RpcError) as cm:
            list(self.echo.Count(echo_pb2.CountRequest(n=-1), timeout=10))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(status_details(cm.exception).code, grpc.StatusCode.INVALID_ARGUMENT.value[0])

    def test_client_cancel_mid_stream_leaves_server_healthy(self):
        for _ in range(5):
            call = self.echo.Count(echo_pb2.CountRequest(n=100000, interval_ms=5), timeout=30)
            got = [next(call).i for _ in range(3)]
            self.assertEqual(got, [0, 1, 2])
            call.cancel()
            with self.assertRaises(grpc.RpcError) as cm:
                list(call)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.CANCELLED)
        self.assert_healthy()
        got = [m.i for m in self.echo.Count(echo_pb2.CountRequest(n=5, interval_ms=1), timeout=10)]
        self.assertEqual(got, list(range(5)))

    def test_stream_deadline_ends_stream(self):
        call = self.echo.Count(echo_pb2.CountRequest(n=100000, interval_ms=10), timeout=0.3)
        with self.assertRaises(grpc.RpcError) as cm:
            list(call)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assert_healthy()

    def test_many_streams_at_once(self):
        calls = [self.echo.Count(echo_pb2.CountRequest(n=20), timeout=20) for _ in range(40)]
        for c in calls:
            self.assertEqual([m.i for m in c], list(range(20)))

    def test_health_watch_sends_current_status_and_unknown(self):
        call = self.health.Watch(health_v1_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(next(call).status, SERVING)
        call.cancel()
        call = self.health.Watch(health_v1_pb2.HealthCheckRequest(service="no.such.Service"),
                                 timeout=10)
        self.assertEqual(next(call).status, health_v1_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
        call.cancel()
        self.assert_healthy()


if __name__ == "__main__":
    unittest.main(verbosity=2)
