"""A stream whose client cancels before the stream handler even started (all
handler threads busy) must not crash the server: the runtime may not release
the call while the queued start job still has to read it."""
import concurrent.futures
import time
import unittest

import grpc

from rpcstd import health_v1_pb2, health_v1_pb2_grpc
from rpctest.v1 import echo_pb2, echo_pb2_grpc
from rpctest_util import TestServer, channel

ROUNDS = 5


class EarlyCancel(unittest.TestCase):

    def test_cancel_before_handler_runs_leaves_server_healthy(self):
        with TestServer("--handler-threads", "1") as server:
            try:
                self.rounds(server)
            except BaseException:
                print("--- rpc_test_server stderr ---\n" + server.stderr())
                raise
            self.assertEqual(server.stop(), 0, server.stderr())

    def rounds(self, server):
        with channel(server.addr) as ch:
            grpc.channel_ready_future(ch).result(timeout=20)
            echo = echo_pb2_grpc.EchoServiceStub(ch)
            health = health_v1_pb2_grpc.HealthStub(ch)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                for _ in range(ROUNDS):
                    # Occupy the only handler thread...
                    busy = pool.submit(echo.Sleep, echo_pb2.SleepRequest(ms=400), timeout=10)
                    time.sleep(0.1)
                    # ...so this stream's start job waits in the queue while
                    # its client gives up.
                    call = echo.Count(echo_pb2.CountRequest(n=3), timeout=10)
                    time.sleep(0.05)
                    call.cancel()
                    with self.assertRaises(grpc.RpcError) as cm:
                        list(call)
                    self.assertIsNone(server.proc.poll(), "server died: " + server.stderr())
                    self.assertEqual(cm.exception.code(), grpc.StatusCode.CANCELLED,
                                     cm.exception.details())
                    busy.result(10)
                    time.sleep(0.1)  # the queued job runs now
            self.assertEqual(health.Check(health_v1_pb2.HealthCheckRequest(), timeout=5).status,
                             health_v1_pb2.HealthCheckResponse.SERVING)
            got = [m.i for m in echo.Count(echo_pb2.CountRequest(n=3), timeout=10)]
            self.assertEqual(got, [0, 1, 2])


if __name__ == "__main__":
    unittest.main(verbosity=2)
