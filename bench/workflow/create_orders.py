"""create_orders.py - create N orders through OrderService/CreateOrder from a
thread pool (bench/workflow/run.sh). Run with /usr/bin/python3 and
PYTHONPATH=<build>/gen-py. Prints one JSON line: created, failed, seconds.

    create_orders.py ADDR API_KEY N THREADS SKU PREFIX
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

from dropship.v1 import common_pb2, orders_pb2, orders_pb2_grpc

TIMEOUT_S = 30
RETRIES = 5  # RESOURCE_EXHAUSTED / UNAVAILABLE: retried with backoff, counted
RETRY_CODES = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)


def make_order(ext, sku):
    o = orders_pb2.Order(
        external_order_id=ext, currency_code="USD",
        shipping_address=common_pb2.Address(
            recipient_name="Ada Lovelace", phone="+44 20 7946 0000", country_code="GB",
            region="London", city="London", street="12 St James's Square",
            postal_code="SW1Y 4JH"))
    o.lines.add(line_id="L1", shop_sku=sku, quantity=1,
                unit_price=common_pb2.Money(currency_code="USD", units=20))
    return o


def main():
    addr, key, n, threads, sku, prefix = sys.argv[1:7]
    n, threads = int(n), int(threads)
    md = [("authorization", "Bearer " + key)]
    errors = []
    retries = []
    with grpc.insecure_channel(addr) as ch:
        stub = orders_pb2_grpc.OrderServiceStub(ch)

        def one(i):
            req = orders_pb2.CreateOrderRequest(order=make_order("%s-%d" % (prefix, i), sku))
            for attempt in range(RETRIES + 1):
                try:
                    stub.CreateOrder(req, metadata=md, timeout=TIMEOUT_S)
                    return True
                except grpc.RpcError as e:
                    if e.code() not in RETRY_CODES or attempt == RETRIES:
                        errors.append("%s %s" % (e.code(), e.details()))
                        return False
                    retries.append(1)
                    time.sleep(0.05 * 2 ** attempt)
            return False

        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            ok = sum(pool.map(one, range(n)))
        secs = time.monotonic() - t0
    print(json.dumps({"created": ok, "failed": n - ok, "seconds": round(secs, 3),
                      "retries": len(retries),
                      "first_errors": errors[:5]}))
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
