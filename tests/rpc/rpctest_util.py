"""rpctest_util.py - start rpc_test_server, open channels, read error details."""
import os
import select
import signal
import subprocess
import tempfile
import time

import grpc

from google.rpc import status_pb2

SERVER = os.environ.get("RPC_TEST_SERVER", "rpc_test_server")


class TestServer:
    """Runs rpc_test_server on a free port; `with TestServer() as s: s.addr`."""

    def __init__(self, *args):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([SERVER, *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=self.log)
        self.addr = self._wait_listening(20)

    def _wait_listening(self, timeout):
        end = time.monotonic() + timeout
        line = b""
        while time.monotonic() < end:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if b"listening on " in line:
                    return line.decode().split("listening on ")[1].strip()
            if self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError("rpc_test_server did not start: %r %s" % (line, self.stderr()))

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self, timeout=30):
        """SIGTERM, wait, return the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self.proc.stdout.close()
        self.log.close()


def channel(addr):
    return grpc.insecure_channel(addr)


def status_details(err):
    """google.rpc.Status from an RpcError's trailing metadata (or None)."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status()
            st.ParseFromString(value)
            return st
    return None
