"""dropship-sim: injected faults - 5xx, 429 + Retry-After, latency, timeouts
that still take effect, malformed JSON, dropped connections, duplicate
deliveries - per path prefix, for the next N requests or with a seeded
probability; the control endpoint and the --fault flag."""
import http.client
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("DS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")), "tests", "sim"))
from simclient import Sim, run  # noqa: E402

SIM = None


def fresh():
    SIM.reset()


def test_5xx_for_next_n_requests_then_normal():
    fresh()
    SIM.faults({"type": "5xx", "prefix": "/suppliers/acme/", "count": 2, "status": 502})
    s1 = SIM.create_order("acme", "f1:s", [("S1", 1)])[0]
    s2 = SIM.create_order("acme", "f1:s", [("S1", 1)])[0]
    s3, body, _ = SIM.create_order("acme", "f1:s", [("S1", 1)])
    assert (s1, s2, s3) == (502, 502, 201), (s1, s2, s3, body)
    st = SIM.stats()
    assert st["faults"]["5xx"] == 2 and st["orders_created"] == 1, st
    # 5xx answers are not remembered: the retry with the same key created the order once
    assert SIM.create_order("acme", "f1:s", [("S1", 1)])[0] == 200
    assert SIM.get("/_sim/faults")[1]["faults"] == []


def test_429_has_retry_after():
    fresh()
    SIM.faults({"type": "429", "prefix": "/suppliers/", "count": 1, "retry_after": 3})
    s, b, h = SIM.get("/suppliers/acme/v1/offers?sku=A")
    assert s == 429 and h["Retry-After"] == "3" and b["error"]["code"] == "RATE_LIMITED", (s, b)
    assert SIM.get("/suppliers/acme/v1/offers?sku=A")[0] == 200


def test_prefix_and_method_limit_a_rule():
    fresh()
    SIM.faults({"type": "5xx", "prefix": "/suppliers/acme/v1/orders", "method": "POST"})
    assert SIM.get("/suppliers/acme/v1/offers?sku=A")[0] == 200
    assert SIM.get("/suppliers/globex/v1/offers?sku=A")[0] == 200
    assert SIM.create_order("acme", "f2:s", [("S1", 1)])[0] == 503
    assert SIM.create_order("globex", "f2:s", [("S1", 1)])[0] == 201
    assert SIM.get("/_sim/stats")[0] == 200  # control paths never fail
    s, b, _ = SIM.request("DELETE", "/_sim/faults")
    assert s == 200 and b["faults"] == []
    assert SIM.create_order("acme", "f2:s", [("S1", 1)])[0] == 201


def test_latency_delays_the_answer():
    fresh()
    SIM.faults({"type": "latency", "count": 1, "latency_ms": 300})
    t0 = time.monotonic()
    assert SIM.get("/suppliers/acme/v1/offers?sku=A")[0] == 200
    assert time.monotonic() - t0 >= 0.29


def test_timeout_takes_effect_but_answers_too_late():
    fresh()
    SIM.faults({"type": "timeout", "count": 1, "hang_ms": 3000})
    body = {"order_ref": "f3:s", "lines": [{"sku": "S1", "quantity": 1}], "ship_to": {}}
    try:
        SIM.post("/suppliers/acme/v1/orders", body, key="f3:s", timeout=0.5)
        raise AssertionError("expected a client timeout")
    except OSError as e:  # socket.timeout / TimeoutError, or urllib's URLError around it
        assert "timed out" in str(e), e
    # the order exists: the retry with the same key is a replay, never a second order
    s, b, _ = SIM.post("/suppliers/acme/v1/orders", body, key="f3:s")
    assert s == 200 and b["supplier_order_id"] == "SO-acme-000001", (s, b)
    assert SIM.stats()["orders_created"] == 1


def test_malformed_json_body():
    fresh()
    SIM.faults({"type": "malformed", "prefix": "/tracking/", "count": 1})
    o = SIM.create_order("acme", "f4:s", [("S1", 1)])[1]
    p = SIM.poll_until_shipped("acme", o["supplier_order_id"])["parcels"][0]
    s, raw = SIM.raw_request("GET", "/tracking/v1/trackings/sim-post/%s" % p["tracking_number"])
    assert s == 200
    try:
        json.loads(raw)
        raise AssertionError("body should not parse: %r" % raw)
    except ValueError:
        pass
    assert SIM.tracking("sim-post", p["tracking_number"])[0] == 200


def test_drop_closes_without_answer():
    fresh()
    SIM.faults({"type": "drop", "prefix": "/suppliers/", "count": 1})
    conn = http.client.HTTPConnection("127.0.0.1", SIM.port, timeout=5)
    try:
        conn.request("POST", "/suppliers/acme/v1/orders",
                     body=json.dumps({"order_ref": "f5:s", "lines": [{"sku": "S1", "quantity": 1}], "ship_to": {}}),
                     headers={"Idempotency-Key": "f5:s", "Content-Type": "application/json"})
        try:
            conn.getresponse()
            raise AssertionError("expected the connection to drop")
        except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
            pass
    finally:
        conn.close()
    assert SIM.stats()["orders_created"] == 0  # dropped before processing
    # processed=true: the effect happens, the answer is lost
    SIM.faults({"type": "drop", "prefix": "/suppliers/", "count": 1, "processed": True})
    try:
        SIM.create_order("acme", "f5:s", [("S1", 1)])
        raise AssertionError("expected the connection to drop")
    except (http.client.RemoteDisconnected, ConnectionResetError, OSError):
        pass
    assert SIM.stats()["orders_created"] == 1
    assert SIM.create_order("acme", "f5:s", [("S1", 1)])[0] == 200


def test_duplicate_delivery():
    fresh()
    o = SIM.create_order("acme", "f6:s", [("S1", 1)])[1]
    oid = o["supplier_order_id"]
    SIM.poll_until_shipped("acme", oid)
    SIM.faults({"type": "duplicate", "prefix": "/suppliers/acme/v1/orders/", "count": 1})
    body = SIM.get_order("acme", oid)[1]
    assert len(body["parcels"]) == 2 and body["parcels"][0] == body["parcels"][1], body
    assert len(SIM.get_order("acme", oid)[1]["parcels"]) == 1
    # a POST delivered twice: the second delivery is a replay of the first
    SIM.faults({"type": "duplicate", "prefix": "/suppliers/acme/v1/orders", "method": "POST", "count": 1})
    s, b, _ = SIM.create_order("acme", "f7:s", [("S1", 1)])
    assert s == 200, (s, b)
    st = SIM.stats()
    assert st["orders_by_idempotency_key"]["f7:s"] == {"requests": 2, "orders_created": 1, "replays": 1}, st
    assert st["faults"]["duplicate"] == 2


def test_probability_is_deterministic_with_a_seed():
    def pattern(seed):
        with Sim("--seed", str(seed), "--fault", "type=5xx,prefix=/suppliers/,probability=0.5") as sim:
            return [sim.get("/suppliers/acme/v1/offers?sku=A")[0] for _ in range(40)]
    a, b, c = pattern(7), pattern(7), pattern(8)
    assert a == b, (a, b)
    assert a != c
    assert 5 < a.count(503) < 35, a


def test_bad_rules_are_refused():
    for rule in ({"type": "explode"}, {"type": "5xx", "probability": 2}, {"type": "5xx", "count": 0},
                 {"type": "5xx", "status": 404}):
        s, b, _ = SIM.post("/_sim/faults", {"faults": [rule]})
        assert s == 400 and b["error"]["code"] == "INVALID_ARGUMENT", (rule, b)
    try:
        Sim("--fault", "type=nope")
        raise AssertionError("bad --fault accepted")
    except RuntimeError:
        pass


def main():
    global SIM
    with Sim() as SIM:
        run([test_5xx_for_next_n_requests_then_normal, test_429_has_retry_after,
             test_prefix_and_method_limit_a_rule, test_latency_delays_the_answer,
             test_timeout_takes_effect_but_answers_too_late, test_malformed_json_body,
             test_drop_closes_without_answer, test_duplicate_delivery,
             test_probability_is_deterministic_with_a_seed, test_bad_rules_are_refused])


if __name__ == "__main__":
    main()
