"""Graceful shutdown: Health/Watch sees NOT_SERVING, in-flight calls finish,
calls past the grace period are cancelled, exit code 0."""
import concurrent.futures
import threading
import time
import unittest

import grpc

from rpcstd import health_v1_pb2, health_v1_pb2_grpc
from rpctest.v1 import echo_pb2, echo_pb2_grpc
from rpctest_util import TestServer, channel

H = health_v1_pb2.HealthCheckResponse


class ShutdownTest(unittest.TestCase):
    def test_watch_sees_not_serving_on_sigterm(self):
        with TestServer() as srv, channel(srv.addr) as chan:
            call = health_v1_pb2_grpc.HealthStub(chan).Watch(health_v1_pb2.HealthCheckRequest(),
                                                            timeout=20)
            self.assertEqual(next(call).status, H.SERVING)
            stopper = threading.Thread(target=lambda: setattr(self, "code", srv.stop()))
            stopper.start()
            self.assertEqual(next(call).status, H.NOT_SERVING)
            with self.assertRaises(grpc.RpcError) as cm:
                next(call)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
            stopper.join(30)
            self.assertEqual(self.code, 0)

    def test_inflight_calls_complete_during_grace(self):
        with TestServer() as srv, channel(srv.addr) as chan:
            echo = echo_pb2_grpc.EchoServiceStub(chan)
            health = health_v1_pb2_grpc.HealthStub(chan)
            self.assertEqual(health.Check(health_v1_pb2.HealthCheckRequest(), timeout=5).status,
                             H.SERVING)
            futures = [echo.Sleep.future(echo_pb2.SleepRequest(ms=500), timeout=20)
                       for _ in range(20)]
            time.sleep(0.2)  # let the calls reach the server
            code = srv.stop()
            self.assertEqual(code, 0)
            for f in futures:
                self.assertEqual(f.result().text, "slept")

    def test_calls_past_grace_are_cancelled_and_exit_is_clean(self):
        with TestServer("--grace-ms", "300") as srv, channel(srv.addr) as chan:
            echo = echo_pb2_grpc.EchoServiceStub(chan)
            fut = echo.Sleep.future(echo_pb2.SleepRequest(ms=2000), timeout=20)
            stream = echo.Count(echo_pb2.CountRequest(n=100000, interval_ms=10), timeout=20)
            self.assertEqual(next(stream).i, 0)
            time.sleep(0.2)
            self.assertEqual(srv.stop(), 0)
            with self.assertRaises(grpc.RpcError):
                fut.result()
            with self.assertRaises(grpc.RpcError) as cm:
                list(stream)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)


if __name__ == "__main__":
    unittest.main(verbosity=2)
