#!/usr/bin/python3
"""probe.py - call one unary gRPC method with a real client (grpcio) and
check that it answers OK, for bench/unary.sh.

The request is the same body file h2load sends (5-byte gRPC prefix + the
serialized message), so the probe checks exactly what the load sends. The
message bytes go out as they are (identity serializers): no generated code
is needed.

Usage: probe.py ADDR METHOD BODY_FILE [--auth KEY] [--expect-hex HEX]
                [--wait SECONDS] [--out FILE]
Prints "OK <n> bytes" or "<STATUS_CODE>: <details>" on stdout. Exit 0 when
the status is OK (and the reply equals --expect-hex, if given), 1 otherwise.
--wait retries UNAVAILABLE until the server answers (start-up).
--out writes the reply message bytes (without gRPC prefix) to FILE.
"""
import argparse
import sys
import time

import grpc


def read_message(path):
    with open(path, "rb") as f:
        body = f.read()
    if len(body) < 5 or body[0] != 0 or int.from_bytes(body[1:5], "big") != len(body) - 5:
        raise SystemExit(f"probe: {path} is not one uncompressed gRPC frame")
    return body[5:]


def call_once(addr, method, msg, auth, timeout):
    with grpc.insecure_channel(addr) as ch:
        fn = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
        md = [("authorization", "Bearer " + auth)] if auth else None
        return fn(msg, timeout=timeout, metadata=md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("method")
    ap.add_argument("body_file")
    ap.add_argument("--auth")
    ap.add_argument("--expect-hex")
    ap.add_argument("--wait", type=float, default=0.0)
    ap.add_argument("--out")
    a = ap.parse_args()
    msg = read_message(a.body_file)
    deadline = time.monotonic() + a.wait
    while True:
        try:
            reply = call_once(a.addr, a.method, msg, a.auth, 5.0)
            break
        except grpc.RpcError as e:
            retry = e.code() == grpc.StatusCode.UNAVAILABLE and time.monotonic() < deadline
            if not retry:
                print(f"{e.code().name}: {e.details()}")
                return 1
            time.sleep(0.2)
    if a.out:
        with open(a.out, "wb") as f:
            f.write(reply)
    if a.expect_hex is not None and reply.hex() != a.expect_hex:
        print(f"WRONG_REPLY: got {reply.hex()} want {a.expect_hex}")
        return 1
    print(f"OK {len(reply)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
