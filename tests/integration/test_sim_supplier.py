"""dropship-sim: the project supplier contract (docs/supplier-api.md) -
idempotency, SKU behaviours, payments, cancels, offers, return policy, auth,
body cap, stats and reset."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("DS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")), "tests", "sim"))
from simclient import Sim, run  # noqa: E402

SIM = None


def test_create_is_idempotent_per_key():
    s, a, _ = SIM.create_order("acme", "o1:s1", [("S1", 2)], key="k-1")
    assert s == 201 and a["status"] == "ACCEPTED", (s, a)
    s, b, _ = SIM.create_order("acme", "o1:s1", [("S1", 2)], key="k-1")
    assert s == 200 and b == a, (s, b)
    st = SIM.stats()
    assert st["orders_by_idempotency_key"]["k-1"] == {"requests": 2, "orders_created": 1, "replays": 1}, st
    assert st["orders_by_order_ref"]["o1:s1"]["orders_created"] == 1
    assert st["orders_created"] == 1 and st["duplicates"] == 0


def test_same_key_other_body_is_refused():
    s, a, _ = SIM.create_order("acme", "o2:s1", [("S1", 1)], key="k-2")
    assert s == 201
    s, b, _ = SIM.create_order("acme", "o2:s1", [("S1", 5)], key="k-2")
    assert s == 422 and b["error"]["code"] == "IDEMPOTENCY_KEY_REUSED", b
    assert SIM.stats()["idempotency_conflicts"] == 1
    # key order and whitespace do not make a body different
    raw = b'{"ship_to": %s, "lines":[{"quantity":1,"sku":"S1"}],  "order_ref":"o2:s1"}' % (
        __import__("json").dumps(__import__("simclient").SHIP_TO).encode())
    s, c, _ = SIM.request("POST", "/suppliers/acme/v1/orders", raw=raw, key="k-2")
    assert s == 200 and c["supplier_order_id"] == a["supplier_order_id"], (s, c)


def test_new_key_same_order_ref_is_a_duplicate_order():
    s, a, _ = SIM.create_order("acme", "o3:s1", [("S1", 1)], key="k-3a")
    s2, b, _ = SIM.create_order("acme", "o3:s1", [("S1", 1)], key="k-3b")
    assert s == 201 and s2 == 201 and a["supplier_order_id"] != b["supplier_order_id"]
    st = SIM.stats()
    assert st["duplicates"] == 1, st
    assert st["orders_by_order_ref"]["o3:s1"]["orders_created"] == 2


def test_post_without_key_is_refused():
    s, b, _ = SIM.post("/suppliers/acme/v1/orders", {"order_ref": "x", "lines": [], "ship_to": {}})
    assert s == 400 and b["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED", b


def test_bad_bodies_are_400():
    s, b, _ = SIM.create_order("acme", "o4:s1", [("S1", 0)])
    assert s == 400 and b["error"]["code"] == "INVALID_ARGUMENT", b
    s, b, _ = SIM.request("POST", "/suppliers/acme/v1/orders", raw=b"{not json", key="k-bad")
    assert s == 400, b


def test_out_of_stock_and_rejected():
    s, b, _ = SIM.create_order("acme", "o5:s1", [("S1", 1), ("OOS-1", 1)])
    assert s == 422 and b["error"]["code"] == "OUT_OF_STOCK", b
    s, b, _ = SIM.create_order("acme", "o6:s1", [("REJECT-1", 1)])
    assert s == 422 and b["error"]["code"] == "REJECTED", b
    # final answers are remembered: same key + body gives the same 422
    s, b2, _ = SIM.create_order("acme", "o6:s1", [("REJECT-1", 1)])
    assert s == 422 and b2 == b
    s, b, _ = SIM.get("/suppliers/acme/v1/offers?sku=OOS-1&sku=S1")
    offers = {o["sku"]: o for o in b["offers"]}
    assert offers["OOS-1"]["stock"] == 0 and offers["S1"]["stock"] >= 10, offers


def test_priceup_raises_cost_after_first_read():
    first = SIM.get("/suppliers/acme/v1/offers?sku=PRICEUP-1")[1]["offers"][0]["cost"]
    second = SIM.get("/suppliers/acme/v1/offers?sku=PRICEUP-1")[1]["offers"][0]["cost"]
    cents = lambda m: int(m["units"]) * 100 + m["nanos"] // 10000000
    assert cents(second) > cents(first), (first, second)
    # other suppliers have their own read counters
    other = SIM.get("/suppliers/globex/v1/offers?sku=PRICEUP-1")[1]["offers"][0]["cost"]
    assert other == first
    # a plain SKU's cost is fixed and derived from the SKU
    a = SIM.get("/suppliers/acme/v1/offers?sku=PLAIN-9")[1]["offers"][0]
    b = SIM.get("/suppliers/globex/v1/offers?sku=PLAIN-9")[1]["offers"][0]
    assert a["cost"] == b["cost"] and a["ship_days"] >= 2


def test_split_lines_ship_in_separate_parcels():
    s, o, _ = SIM.create_order("acme", "o7:s1", [("SPLIT-A", 1), ("SPLIT-B", 2), ("S1", 1)])
    assert s == 201
    seen = []
    for _ in range(10):
        body = SIM.get_order("acme", o["supplier_order_id"])[1]
        seen.append(body["status"])
        if body["status"] == "SHIPPED":
            break
    assert "PROCESSING" in seen and "PARTIALLY_SHIPPED" in seen and seen[-1] == "SHIPPED", seen
    parcels = body["parcels"]
    assert len(parcels) == 3, parcels
    assert len({p["tracking_number"] for p in parcels}) == 3
    assert sorted(l["sku"] for p in parcels for l in p["lines"]) == ["S1", "SPLIT-A", "SPLIT-B"]


def test_cancel_before_and_after_shipping():
    o = SIM.create_order("acme", "o8:s1", [("S1", 1)])[1]
    oid = o["supplier_order_id"]
    s, b, _ = SIM.post("/suppliers/acme/v1/orders/%s/cancel" % oid, {}, key="o8:cancel")
    assert s == 200 and b["status"] == "CANCELLED", b
    assert SIM.get_order("acme", oid)[1]["status"] == "CANCELLED"
    o = SIM.create_order("acme", "o9:s1", [("S1", 1)])[1]
    SIM.poll_until_shipped("acme", o["supplier_order_id"])
    s, b, _ = SIM.post("/suppliers/acme/v1/orders/%s/cancel" % o["supplier_order_id"], {},
                       key="o9:cancel")
    assert s == 409 and b["error"]["code"] == "CANCEL_REFUSED", b
    assert SIM.stats()["cancels"] == 1


def test_payments():
    o = SIM.create_order("acme", "o10:s1", [("S1", 3)])[1]
    path = "/suppliers/acme/v1/orders/%s/payments" % o["supplier_order_id"]
    wrong = dict(o["total_cost"], units=str(int(o["total_cost"]["units"]) + 1))
    s, b, _ = SIM.post(path, {"amount": wrong}, key="o10:pay-wrong")
    assert s == 422 and b["error"]["code"] == "AMOUNT_MISMATCH", b
    s, p1, _ = SIM.post(path, {"amount": o["total_cost"]}, key="o10:pay")
    assert s == 201 and p1["transaction_id"].startswith("TX-acme-"), p1
    s, p2, _ = SIM.post(path, {"amount": o["total_cost"]}, key="o10:pay")
    assert s == 200 and p2 == p1
    s, b, _ = SIM.post(path, {"amount": o["total_cost"]}, key="o10:pay-again")
    assert s == 409 and b["error"]["code"] == "ALREADY_PAID"
    body = SIM.get_order("acme", o["supplier_order_id"])[1]
    assert body["paid"] is True
    assert SIM.stats()["payments"] == 1


def test_unknown_order_and_route():
    assert SIM.get_order("acme", "SO-acme-999999")[0] == 404
    assert SIM.get("/suppliers/acme/v2/nothing")[0] == 404
    assert SIM.get("/suppliers/bad!key/v1/offers?sku=A")[0] == 404


def test_suppliers_are_independent():
    a = SIM.create_order("alpha", "o11:a", [("S1", 1)])[1]
    b = SIM.create_order("beta", "o11:b", [("S1", 1)])[1]
    assert a["supplier_order_id"] == "SO-alpha-000001" and b["supplier_order_id"] == "SO-beta-000001"
    assert SIM.get_order("beta", a["supplier_order_id"])[0] == 404
    pa = SIM.get("/suppliers/alpha/v1/return-policy?sku=S1")[1]
    pb = SIM.get("/suppliers/beta/v1/return-policy")[1]
    assert pa["address"] != pb["address"]
    assert pa["address"]["country_code"] == "CN" and pa["rules"]["return_postage_payer"] in ("BUYER", "SUPPLIER", "SHOP")
    assert SIM.get("/suppliers/alpha/v1/return-policy")[1] == pa  # stable


def test_stats_count_polls_and_reset():
    st = SIM.stats()
    assert st["requests"]["supplier.get_order"] > 0 and st["requests"]["supplier.offers"] > 0
    assert SIM.reset()[0] == 200
    st = SIM.stats()
    assert st["orders_created"] == 0 and st["requests"] == {} and st["orders_by_order_ref"] == {}
    assert SIM.create_order("acme", "o1:s1", [("S1", 2)], key="k-1")[0] == 201  # keys forgotten
    assert SIM.create_order("acme", "o1:s1", [("S1", 2)], key="k-1")[1]["supplier_order_id"] == "SO-acme-000001"


def test_require_payment_and_scenario():
    import json
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"skus": {"CUSTOM-1": {"stock": 3, "cost": {"currency_code": "USD", "units": "4", "nanos": 500000000}}},
                   "suppliers": {"zeta": {"address": {"recipient_name": "Zeta Returns", "country_code": "DE"},
                                          "rules": {"no_reason_return_days": 30, "return_postage_payer": "SHOP",
                                                    "damaged_goods": "none"}}}}, f)
    try:
        with Sim("--require-payment", "--scenario", f.name) as sim:
            o = sim.create_order("zeta", "r1:z", [("CUSTOM-1", 2)])[1]
            assert o["total_cost"] == {"currency_code": "USD", "units": "9", "nanos": 0}, o
            assert sim.create_order("zeta", "r2:z", [("CUSTOM-1", 4)])[1]["error"]["code"] == "OUT_OF_STOCK"
            for _ in range(5):
                assert sim.get_order("zeta", o["supplier_order_id"])[1]["status"] == "ACCEPTED"
            sim.post("/suppliers/zeta/v1/orders/%s/payments" % o["supplier_order_id"],
                     {"amount": o["total_cost"]}, key="r1:pay")
            assert sim.get_order("zeta", o["supplier_order_id"])[1]["status"] == "PROCESSING"
            sim.poll_until_shipped("zeta", o["supplier_order_id"])
            assert sim.get("/suppliers/zeta/v1/return-policy")[1]["rules"]["no_reason_return_days"] == 30
    finally:
        os.unlink(f.name)


def test_token_and_body_cap():
    with Sim("--max-body", "2048", token="s3cret") as sim:
        s, b, _ = sim.request("GET", "/suppliers/acme/v1/offers?sku=A", headers={"Authorization": "Bearer nope"})
        assert s == 401 and b["error"]["code"] == "UNAUTHENTICATED"
        assert sim.get("/suppliers/acme/v1/offers?sku=A")[0] == 200
        big = {"order_ref": "x" * 3000, "lines": [{"sku": "S1", "quantity": 1}], "ship_to": {}}
        s, b, _ = sim.post("/suppliers/acme/v1/orders", big, key="big")
        assert s == 413, (s, b)
        assert sim.get("/_sim/stats")[0] == 200  # control needs no token
        assert sim.stop() == 0


def test_concurrent_creates_with_one_key_make_one_order():
    import threading
    SIM.reset()
    results = []

    def worker(i):
        for j in range(5):
            results.append(SIM.create_order("acme", "c1:s1", [("S1", 1)], key="c1")[0])
            SIM.create_order("acme", "c%d-%d:s1" % (i, j), [("S1", 1)])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    st = SIM.stats()
    assert sorted(results).count(201) == 1 and results.count(200) == 39, results
    assert st["orders_created"] == 41 and st["duplicates"] == 0, st


def main():
    global SIM
    with Sim() as SIM:
        run([test_create_is_idempotent_per_key, test_same_key_other_body_is_refused,
             test_new_key_same_order_ref_is_a_duplicate_order, test_post_without_key_is_refused,
             test_bad_bodies_are_400, test_out_of_stock_and_rejected,
             test_priceup_raises_cost_after_first_read, test_split_lines_ship_in_separate_parcels,
             test_cancel_before_and_after_shipping, test_payments, test_unknown_order_and_route,
             test_suppliers_are_independent, test_stats_count_polls_and_reset,
             test_concurrent_creates_with_one_key_make_one_order])
    run([test_require_payment_and_scenario, test_token_and_body_cap])


if __name__ == "__main__":
    main()
