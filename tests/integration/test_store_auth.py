"""API-key authentication: missing, malformed, unknown and revoked keys get
UNAUTHENTICATED with one message; a revoked key stops working within the
2 s cache lifetime; a new key works at once."""
import hashlib
import os
import subprocess
import sys
import time

import grpc

import harness

TTL_S = 2.0  # API_AUTH_TTL_MS in server/api/api_auth.h


def method_of_order_service():
    from google.protobuf import descriptor_pb2
    from dropship.v1 import orders_pb2
    proto = descriptor_pb2.ServiceDescriptorProto()
    orders_pb2.DESCRIPTOR.services_by_name["OrderService"].CopyToProto(proto)
    for m in proto.method:
        if not m.server_streaming and not m.client_streaming:
            return "/dropship.v1.OrderService/" + m.name
    raise AssertionError("OrderService has no unary method")


def call(ch, method, metadata):
    stub = ch.unary_unary(method, request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)
    try:
        stub(b"", metadata=metadata, timeout=5)
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details()


def revoke(db, key_id):
    r = subprocess.run([os.environ["DS_DROPSHIPD"], "admin", "revoke-api-key", key_id],
                       env=dict(os.environ, DROPSHIP_DATABASE_URL=db), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def key_id_of(db, key):
    digest = hashlib.sha256(key.encode()).hexdigest()
    return harness.sql(db, "SELECT key_id FROM api_keys WHERE key_hash = '%s'" % digest)


def test_bad_keys_are_rejected_alike_and_revocation_takes_effect():
    method = method_of_order_service()
    db = harness.fresh_database("store_auth")
    harness.migrate(db)
    shop = harness.create_shop(db, "Auth")
    key = harness.create_api_key(db, shop)
    with harness.Server(db) as srv:
        ch = harness.channel(srv.addr)
        code, _ = call(ch, method, harness.auth(key))
        assert code != grpc.StatusCode.UNAUTHENTICATED, code
        bad = [[], [("authorization", "Basic abc")], [("authorization", "Bearer")],
               [("authorization", "Bearer " + key[:-1])],
               [("authorization", "Bearer dsk_" + "A" * 43)]]
        messages = set()
        for md in bad:
            code, details = call(ch, method, md)
            assert code == grpc.StatusCode.UNAUTHENTICATED, (md, code)
            messages.add(details)
        assert len(messages) == 1, messages

        revoke(db, key_id_of(db, key))
        deadline = time.monotonic() + TTL_S + 3
        code, _ = call(ch, method, harness.auth(key))
        while code != grpc.StatusCode.UNAUTHENTICATED and time.monotonic() < deadline:
            time.sleep(0.2)
            code, _ = call(ch, method, harness.auth(key))
        assert code == grpc.StatusCode.UNAUTHENTICATED, code

        fresh = harness.create_api_key(db, shop)
        code, _ = call(ch, method, harness.auth(fresh))
        assert code != grpc.StatusCode.UNAUTHENTICATED, code
        assert srv.stop() == 0


def main():
    test_bad_keys_are_rejected_alike_and_revocation_takes_effect()
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
