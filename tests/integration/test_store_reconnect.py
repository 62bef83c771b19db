"""The database restarted under a running dropshipd: health goes NOT_SERVING
and calls fail UNAVAILABLE while it is down, and everything works again
afterwards without restarting dropshipd."""
import sys
import time

import grpc

import harness
from grpc.health.v1 import health_pb2

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING



def raw(ch, method):
    return ch.unary_unary(method, request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)


def health(ch):
    try:
        return harness.health(ch)
    except grpc.RpcError as e:
        return e.code()


def a_unary_dropship_method():
    """/dropship.v1.OrderService/<a unary method>, from the generated code."""
    from google.protobuf import descriptor_pb2
    from dropship.v1 import orders_pb2
    svc = orders_pb2.DESCRIPTOR.services_by_name["OrderService"]
    proto = descriptor_pb2.ServiceDescriptorProto()
    svc.CopyToProto(proto)
    for m in proto.method:
        if not m.server_streaming and not m.client_streaming:
            return "/dropship.v1.OrderService/" + m.name
    raise AssertionError("OrderService has no unary method")


def call_code(ch, method, key):
    try:
        raw(ch, method)(b"", metadata=harness.auth(key), timeout=5)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def wait_for(what, fn, want, seconds):
    deadline = time.monotonic() + seconds
    got = fn()
    while got != want and time.monotonic() < deadline:
        time.sleep(0.2)
        got = fn()
    assert got == want, "%s: wanted %r, still %r after %ss" % (what, want, got, seconds)


def reached_database(code):
    """Auth ran against the database and let the call through."""
    return code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED,
                        grpc.StatusCode.DEADLINE_EXCEEDED)


def test_database_restart_under_a_running_server():
    method = a_unary_dropship_method()
    with harness.PrivateCluster() as cluster:
        db = cluster.fresh_database("store_reconnect")
        harness.migrate(db)
        shop = harness.create_shop(db, "Reconnect")
        key = harness.create_api_key(db, shop)
        with harness.Server(db) as srv:
            ch = harness.channel(srv.addr)
            assert health(ch) == SERVING
            assert reached_database(call_code(ch, method, key)), call_code(ch, method, key)
            assert call_code(ch, method, "dsk_" + "A" * 43) == grpc.StatusCode.UNAUTHENTICATED

            cluster.stop()
            wait_for("health while the database is down", lambda: health(ch), NOT_SERVING, 15)
            # positive auth answers are cached for 2 s; after that the lookup
            # needs the database
            wait_for("an authenticated call while the database is down",
                     lambda: call_code(ch, method, key), grpc.StatusCode.UNAVAILABLE, 15)

            cluster.start()
            wait_for("health after the database is back", lambda: health(ch), SERVING, 20)
            wait_for("an authenticated call after the database is back",
                     lambda: reached_database(call_code(ch, method, key)), True, 10)
            assert srv.stop() == 0


def main():
    test_database_restart_under_a_running_server()
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
