#!/usr/bin/python3
"""seed_order.py - create one order through dropship.v1.OrderService/
CreateOrder and write the GetOrder request body (5-byte gRPC prefix +
GetOrderRequest) that bench/unary.sh sends with h2load.

Usage: seed_order.py ADDR API_KEY OUT_BODY_FILE PROTO_DIR WORK_DIR
Uses the Python code generated from proto/ when it is importable (the
project's <build>/gen-py on PYTHONPATH); otherwise generates it into
WORK_DIR with protoc. Calls go through grpcio's generic unary API, so no
service stubs are needed.
Exit 0 on success; otherwise the last line of stdout says why (the gRPC
status of the failed call, or what is missing).
"""
import glob
import importlib
import os
import subprocess
import sys
import uuid

import grpc
from google.protobuf import json_format

CREATE = "/dropship.v1.OrderService/CreateOrder"

# A plausible order of a SKU that no supplier is bound to: the workflow puts
# it on hold (SKU_UNMAPPED) and leaves it there, so GetOrder reads a row that
# stops changing.
ORDER = {
    "external_order_id": "bench-",
    "shipping_address": {
        "recipient_name": "Bench Mark", "phone": "+14155550100", "country_code": "US",
        "region": "CA", "city": "San Francisco", "street": "1 Market St",
        "postal_code": "94105",
    },
    "lines": [{"shop_sku": "BENCH-SKU-1", "quantity": 1, "title": "benchmark item",
               "unit_price": {"currency_code": "USD", "units": "12", "nanos": 500000000}}],
    "currency_code": "USD",
}


def load_orders_pb2(proto_dir, work_dir):
    try:
        return importlib.import_module("dropship.v1.orders_pb2")
    except ImportError:
        pass
    out = os.path.join(work_dir, "py")
    os.makedirs(out, exist_ok=True)
    files = sorted(glob.glob(os.path.join(proto_dir, "dropship/v1/*.proto")))
    if not files:
        raise RuntimeError(f"no dropship/v1 protos under {proto_dir}")
    subprocess.run(["protoc", "-I", proto_dir, "-I", "/usr/include", f"--python_out={out}"]
                   + files, check=True)
    sys.path.insert(0, out)
    return importlib.import_module("dropship.v1.orders_pb2")


def call(ch, method, req, resp_cls, key):
    fn = ch.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                        response_deserializer=resp_cls.FromString)
    return fn(req, timeout=10, metadata=[("authorization", "Bearer " + key)])


def main():
    if len(sys.argv) != 6:
        raise SystemExit("usage: seed_order.py ADDR API_KEY OUT_BODY_FILE PROTO_DIR WORK_DIR")
    addr, key, out, proto_dir, work_dir = sys.argv[1:]
    try:
        pb = load_orders_pb2(proto_dir, work_dir)
    except (RuntimeError, ImportError, subprocess.CalledProcessError) as e:
        print(f"no Python code for dropship.v1 ({e})")
        return 1
    order = dict(ORDER, external_order_id="bench-" + uuid.uuid4().hex[:12])
    req = json_format.ParseDict({"request_id": str(uuid.uuid4()), "order": order},
                                pb.CreateOrderRequest())
    with grpc.insecure_channel(addr) as ch:
        try:
            created = call(ch, CREATE, req, pb.CreateOrderResponse, key)
        except grpc.RpcError as e:
            print(f"CreateOrder {e.code().name}: {e.details()}")
            return 1
    msg = pb.GetOrderRequest(order_id=created.order.id).SerializeToString()
    with open(out, "wb") as f:
        f.write(b"\x00" + len(msg).to_bytes(4, "big") + msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
