"""ReportService.GetOperationsReport against a real dropshipd and PostgreSQL:
the figures of a fixture written with SQL (orders, history events, supplier
orders, cases, refunds with known timestamps) equal numbers computed by hand
below; the range is [start, end) and other shops' rows are never counted;
bad requests get INVALID_ARGUMENT with BadRequest field violations; and
`dropshipctl reports get-operations --output table` prints the report as
tables. Every figure is defined in docs/reports.md."""
import json
import os
import subprocess
import sys
import time

import grpc

import harness
from dropship.v1 import reports_pb2, reports_pb2_grpc
from google.protobuf import duration_pb2, timestamp_pb2

CTL_TIMEOUT_S = 60
RPC_TIMEOUT_S = 30
T0 = "2026-03-01T00:00:00Z"       # start of the report range
T0_S = 1772323200                 # the same, in epoch seconds
RANGE_DAYS = 10

S1 = "51000000-0000-4000-8000-000000000001"   # "Alpha Goods"
S2 = "52000000-0000-4000-8000-000000000002"   # "Beta Supply"
SB = "5b000000-0000-4000-8000-00000000000b"   # shop B's supplier


def oid(n, shop="a"):
    return "%s0000000-0000-4000-8000-%012d" % ("a" if shop == "a" else "b", n)


def cid(n):
    return "c0000000-0000-4000-8000-%012d" % n


def at(hours):
    """SQL timestamptz of T0 + hours."""
    return "(timestamptz '%s' + interval '%s hours')" % (T0, hours)


class Fixture:
    """Collects SQL for one shop's rows."""

    def __init__(self, shop):
        self.shop = shop
        self.stmts = []

    def supplier(self, sid, name):
        self.stmts.append(
            "INSERT INTO suppliers (shop_id, supplier_id, display_name, default_currency_code,"
            " payment_mode, payment_due_us, adapter) VALUES ('%s', '%s', '%s', 'USD', 1, 0,"
            " '\\x')" % (self.shop, sid, name))

    def order(self, o, state, created_h, hold=None, events=()):
        """events: (hours, type, from_state, to_state, details dict)."""
        self.stmts.append(
            "INSERT INTO orders (shop_id, order_id, external_order_id, state, hold_reason,"
            " hold_held_state, currency_code, ship_recipient_name, ship_phone,"
            " ship_country_code, ship_city, ship_street, last_event_seq, create_time)"
            " VALUES ('%s', '%s', 'ext-%s', %d, %s, %s, 'USD', 'R', '+4930123456', 'DE',"
            " 'Berlin', 'Str 1', %d, %s)"
            % (self.shop, o, o, state, hold or "NULL", "2" if hold else "NULL",
               len(events) + 1, at(created_h)))
        allev = [(created_h, 1, 0, 1, {})] + list(events)
        for seq, (h, typ, frm, to, det) in enumerate(allev, 1):
            self.stmts.append(
                "INSERT INTO order_events (shop_id, order_id, seq, event_time, actor_kind, type,"
                " from_state, to_state, details) VALUES ('%s', '%s', %d, %s, 2, %d, %d, %d,"
                " '%s'::jsonb)" % (self.shop, o, seq, at(h), typ, frm, to, json.dumps(det)))

    def supplier_order(self, o, sid, state):
        self.stmts.append(
            "INSERT INTO supplier_orders (shop_id, order_id, supplier_id, idempotency_key,"
            " state, payment_mode) VALUES ('%s', '%s', '%s', '%s:%s', %d, 1)"
            % (self.shop, o, sid, o, sid, state))

    def case(self, c, o, sid, typ, state, root, created_h):
        close = at(created_h + 1) if state in (7, 8) else "NULL"
        self.stmts.append(
            "INSERT INTO cases (shop_id, case_id, order_id, supplier_id, type, state,"
            " description, root_cause, opened_by_kind, create_time, close_time) VALUES"
            " ('%s', '%s', '%s', '%s', %d, %d, 'd', %d, 1, %s, %s)"
            % (self.shop, c, o, sid, typ, state, root, at(created_h), close))

    def refund(self, c, payer, cur, units, nanos, created_h, comps=()):
        self.stmts.append(
            "WITH r AS (INSERT INTO case_refunds (shop_id, case_id, amount_currency,"
            " amount_units, amount_nanos, payer, actor_kind, create_time) VALUES"
            " ('%s', '%s', '%s', %d, %d, %d, 1, %s) RETURNING refund_id)"
            " SELECT refund_id FROM r" % (self.shop, c, cur, units, nanos, payer,
                                          at(created_h)))
        for pos, (kind, ccur, cu, cn) in enumerate(comps, 1):
            self.stmts.append(
                "INSERT INTO case_compensations (shop_id, case_id, refund_id, position, kind,"
                " amount_currency, amount_units, amount_nanos) SELECT shop_id, case_id,"
                " refund_id, %d, %d, '%s', %d, %d FROM case_refunds WHERE shop_id = '%s'"
                " AND case_id = '%s' ORDER BY create_time DESC LIMIT 1"
                % (pos, kind, ccur, cu, cn, self.shop, c))

    def sql(self):
        return "BEGIN;\n" + ";\n".join(self.stmts) + ";\nCOMMIT;"


# Event types and states (dropship.v1 enum numbers).
PLACED, HELD, RESOLVED, PARCEL, TRACK = 6, 3, 4, 10, 11
CH = 2  # STATE_CHANGED
DELIVERED_STATUS = "TRACKING_STATUS_DELIVERED"


def placed(h, state, sid):
    return (h, PLACED, state, state, {"supplier_id": sid, "supplier_order_ref": "R", "cost": ""})


def parcel(h, state, sid, carrier, tn):
    return (h, PARCEL, state, state, {"supplier_id": sid, "carrier": carrier,
                                      "tracking_number": tn})


def track(h, state, carrier, tn, status):
    return (h, TRACK, state, state, {"carrier": carrier, "tracking_number": tn,
                                     "tracking_status": status})


def shop_a_fixture(shop):
    f = Fixture(shop)
    f.supplier(S1, "Alpha Goods")
    f.supplier(S2, "Beta Supply")
    # O1 DELIVERED: two parcels from S1, one delivered after 120 h.
    f.order(oid(1), 7, 0, events=[
        (1, CH, 1, 2, {}), (2, CH, 2, 3, {}), placed(2.5, 3, S1), (3, CH, 3, 4, {}),
        (5, CH, 4, 5, {}), parcel(29, 5, S1, "c1", "TN1"), (29, CH, 5, 6, {}),
        parcel(30, 6, S1, "c1", "TN1B"), track(100, 6, "c1", "TN1", "TRACKING_STATUS_IN_TRANSIT"),
        track(149, 6, "c1", "TN1", DELIVERED_STATUS), (149, CH, 6, 7, {})])
    f.supplier_order(oid(1), S1, 7)
    # O2 ON_HOLD OUT_OF_STOCK.
    f.order(oid(2), 9, 10, hold=3, events=[(12, CH, 1, 2, {}), (15, HELD, 2, 9, {})])
    # O3 COMPLETED: held once (10 h), S2 late twice.
    f.order(oid(3), 8, 20, events=[
        (23, CH, 1, 2, {}), (24, HELD, 2, 9, {}), (34, RESOLVED, 9, 2, {}), (35, CH, 2, 3, {}),
        placed(35, 3, S2), (36, CH, 3, 4, {}), (36, CH, 4, 5, {}),
        parcel(135, 5, S2, "c2", "TN2"), (135, CH, 5, 6, {}),
        track(615, 6, "c2", "TN2", DELIVERED_STATUS), (615, CH, 6, 7, {}), (639, CH, 7, 8, {})])
    f.supplier_order(oid(3), S2, 7)
    # O4 AWAITING_SHIPMENT: S1 placed, never tracked (late by now).
    f.order(oid(4), 5, 40, events=[
        (41, CH, 1, 2, {}), (42, CH, 2, 3, {}), placed(42, 3, S1), (43, CH, 3, 4, {}),
        (44, CH, 4, 5, {})])
    f.supplier_order(oid(4), S1, 3)
    # O5 CANCELLED: S2 placed then cancelled (not in the tracking denominator).
    f.order(oid(5), 11, 50, events=[
        (50, CH, 1, 2, {}), (51, CH, 2, 3, {}), placed(51, 3, S2), (53, CH, 3, 10, {}),
        (54, 13, 10, 11, {})])
    f.supplier_order(oid(5), S2, 9)
    # O6 ON_HOLD OUT_OF_STOCK.
    f.order(oid(6), 9, 60, hold=3, events=[(60.5, CH, 1, 2, {}), (61, HELD, 2, 9, {})])
    # O7 ON_HOLD SUPPLIER_REJECTED: S1 refused, never placed.
    f.order(oid(7), 9, 70, hold=5, events=[
        (72, CH, 1, 2, {}), (73, CH, 2, 3, {}), (74, HELD, 3, 9, {})])
    f.supplier_order(oid(7), S1, 10)
    # Outside the range: O8 an hour before it, O9 exactly at its (exclusive) end.
    f.order(oid(8), 8, -1, events=[(5, CH, 1, 2, {}), placed(6, 2, S1)])
    f.supplier_order(oid(8), S1, 3)
    f.order(oid(9), 1, RANGE_DAYS * 24)
    # Cases: C1..C4 in the range, C5 after it.
    f.case(cid(1), oid(1), S1, 1, 7, 7, 160)   # RETURN, CLOSED, SIZE_FIT
    f.refund(cid(1), 2, "USD", 12, 500000000, 161, comps=[(1, "USD", 5, 0)])
    f.refund(cid(1), 1, "USD", 7, 750000000, 162)
    f.case(cid(2), oid(3), S2, 4, 7, 2, 200)   # DAMAGED, CLOSED, SUPPLIER_QUALITY
    f.refund(cid(2), 1, "USD", 20, 300000000, 201)
    f.refund(cid(2), 1, "EUR", 3, 0, 202)
    f.case(cid(3), oid(1), S1, 5, 1, 0, 170)   # LOST_IN_TRANSIT, OPEN
    f.case(cid(4), oid(3), S2, 1, 8, 8, 210)   # RETURN, REJECTED, OTHER
    f.case(cid(5), oid(1), S1, 6, 1, 0, 11 * 24)   # DISPUTE, after the range
    f.refund(cid(5), 2, "USD", 99, 0, 11 * 24)
    return f


def shop_b_fixture(shop):
    """Another shop's rows in the same range; shop A must never see them."""
    f = Fixture(shop)
    f.supplier(SB, "Gamma Shop B")
    f.order(oid(1, "b"), 9, 1, hold=1, events=[
        (2, CH, 1, 2, {}), (3, CH, 2, 3, {}), placed(3, 3, SB), (4, HELD, 3, 9, {})])
    f.supplier_order(oid(1, "b"), SB, 3)
    f.case(cid(90), oid(1, "b"), SB, 3, 7, 1, 5)
    f.refund(cid(90), 2, "USD", 1000, 0, 6)
    return f


def ts(seconds):
    return timestamp_pb2.Timestamp(seconds=seconds)


def hours(h):
    return duration_pb2.Duration(seconds=int(h * 3600))


def request(**kw):
    tr = reports_pb2.GetOperationsReportRequest(**kw)
    if "time_range" not in kw:
        tr.time_range.start_time.CopyFrom(ts(T0_S))
        tr.time_range.end_time.CopyFrom(ts(T0_S + RANGE_DAYS * 86400))
    return tr


def call(stub, key, req):
    return stub.GetOperationsReport(req, metadata=harness.auth(key),
                                    timeout=RPC_TIMEOUT_S).report


def dur_h(d):
    return (d.seconds + d.nanos / 1e9) / 3600


def check_orders(rep):
    states = {s.state: s.count for s in rep.orders_by_state}
    assert states == {5: 1, 7: 1, 8: 1, 9: 3, 11: 1}, states
    assert [s.state for s in rep.orders_by_state] == [5, 7, 8, 9, 11]
    assert rep.order_count == 7, rep.order_count
    holds = {h.reason: h.count for h in rep.orders_by_hold_reason}
    assert holds == {3: 2, 5: 1}, holds


# Hand-computed stays in hours (see the fixture): state -> (p50, p90, n).
# RECEIVED [0, .5, 1, 1, 2, 2, 3]; VERIFYING [.5, 1, 1, 1, 1, 1, 1, 3];
# PURCHASING [1, 1, 1, 1, 2]; AWAITING_PAYMENT [0, 1, 2];
# AWAITING_SHIPMENT [24, 99]; IN_TRANSIT [120, 480]; DELIVERED [24];
# ON_HOLD [10]; CANCELLING [1]. percentile_cont interpolates linearly:
# p at position q*(n-1) of the sorted list.
EXPECTED_STEPS = {
    1: (1, 2.4, 7), 2: (1, 1.6, 8), 3: (1, 1.6, 5), 4: (1, 1.8, 3), 5: (61.5, 91.5, 2),
    6: (300, 444, 2), 7: (24, 24, 1), 9: (10, 10, 1), 10: (1, 1, 1),
}


def check_steps(rep):
    got = {s.state: (round(dur_h(s.p50), 6), round(dur_h(s.p90), 6), s.sample_count)
           for s in rep.step_durations}
    assert got == EXPECTED_STEPS, got
    assert [s.state for s in rep.step_durations] == sorted(EXPECTED_STEPS)


def check_suppliers(rep, track_ok_s2, deliv_ok_s2):
    sup = [(s.supplier_id, s.display_name) for s in rep.suppliers]
    assert sup == [(S1, "Alpha Goods"), (S2, "Beta Supply")], sup
    s1, s2 = rep.suppliers
    # S1: O1 tracked after 26.5 h (on time), O4 never (late); O7 never placed.
    assert (s1.supplier_order_count, s1.tracking_sample_count, s1.tracking_on_time_count) == \
        (2, 2, 1), s1
    assert abs(s1.tracking_on_time_rate - 0.5) < 1e-9, s1
    assert abs(dur_h(s1.purchase_to_tracking_p50) - 26.5) < 1e-6, s1
    # S1 parcels: TN1 delivered after 120 h (on time), TN1B never (late).
    assert (s1.delivery_sample_count, s1.delivery_on_time_count) == (2, 1), s1
    assert abs(s1.delivery_on_time_rate - 0.5) < 1e-9, s1
    assert abs(dur_h(s1.tracking_to_delivered_p50) - 120) < 1e-6, s1
    assert s1.case_count == 2, s1
    # S2: O3 tracked after 100 h, TN2 delivered after 480 h; O5 cancelled.
    assert (s2.supplier_order_count, s2.tracking_sample_count) == (2, 1), s2
    assert s2.tracking_on_time_count == track_ok_s2, s2
    assert abs(s2.tracking_on_time_rate - track_ok_s2) < 1e-9, s2
    assert abs(dur_h(s2.purchase_to_tracking_p50) - 100) < 1e-6, s2
    assert (s2.delivery_sample_count, s2.delivery_on_time_count) == (1, deliv_ok_s2), s2
    assert abs(dur_h(s2.tracking_to_delivered_p50) - 480) < 1e-6, s2
    assert s2.case_count == 2, s2


def check_cases(rep):
    assert {c.type: c.count for c in rep.cases_by_type} == {1: 2, 4: 1, 5: 1}, rep.cases_by_type
    assert rep.case_count == 4
    assert {c.root_cause: c.count for c in rep.cases_by_root_cause} == {2: 1, 7: 1}
    got = [(r.payer, r.total.currency_code, r.total.units, r.total.nanos, r.refund_count,
            r.compensation_total.units, r.compensation_total.nanos)
           for r in rep.refunds_by_payer]
    assert got == [(1, "EUR", 3, 0, 1, 0, 0), (1, "USD", 28, 50000000, 2, 0, 0),
                   (2, "USD", 12, 500000000, 1, 5, 0)], got


def test_report_matches_hand_computed_fixture(stub, key_a):
    rep = call(stub, key_a, request())
    assert rep.time_range.start_time.seconds == T0_S
    assert rep.time_range.end_time.seconds == T0_S + RANGE_DAYS * 86400
    assert abs(rep.generate_time.seconds - time.time()) < 600, rep.generate_time
    check_orders(rep)
    check_steps(rep)
    check_suppliers(rep, track_ok_s2=0, deliv_ok_s2=0)
    check_cases(rep)


def test_deadlines_from_the_request_change_on_time_rates(stub, key_a):
    # 101 h lets O3's 100 h tracking through, 21 days TN2's 20-day delivery.
    rep = call(stub, key_a, request(tracking_deadline=hours(101), delivery_deadline=hours(504)))
    check_suppliers(rep, track_ok_s2=1, deliv_ok_s2=1)


def test_range_start_inclusive_end_exclusive(stub, key_a):
    # [T0 - 1 h, T0): only O8 (created at T0 - 1 h); O1 at T0 is outside.
    req = reports_pb2.GetOperationsReportRequest()
    req.time_range.start_time.CopyFrom(ts(T0_S - 3600))
    req.time_range.end_time.CopyFrom(ts(T0_S))
    rep = call(stub, key_a, req)
    assert rep.order_count == 1 and [(s.state, s.count) for s in rep.orders_by_state] == [(8, 1)]
    assert [(s.state, s.sample_count) for s in rep.step_durations] == [(1, 1)]
    assert abs(dur_h(rep.step_durations[0].p50) - 6) < 1e-6
    assert rep.case_count == 0 and not rep.refunds_by_payer
    assert [s.supplier_order_count for s in rep.suppliers] == [1]


def test_other_shop_sees_only_its_own(stub, key_b):
    rep = call(stub, key_b, request())
    assert rep.order_count == 1 and [(h.reason, h.count) for h in rep.orders_by_hold_reason] \
        == [(1, 1)], rep
    assert [(s.supplier_id, s.display_name, s.supplier_order_count, s.case_count)
            for s in rep.suppliers] == [(SB, "Gamma Shop B", 1, 1)], rep.suppliers
    assert [(r.payer, r.total.units) for r in rep.refunds_by_payer] == [(2, 1000)]


def expect_invalid(stub, key, req, fields):
    try:
        call(stub, key, req)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
        got = harness.field_violations(e)
        assert set(got) == set(fields), got
        return got
    raise AssertionError("accepted %s" % req)


def test_invalid_requests(stub, key_a):
    req = reports_pb2.GetOperationsReportRequest()
    req.time_range.start_time.CopyFrom(ts(T0_S))
    req.time_range.end_time.CopyFrom(ts(T0_S))
    expect_invalid(stub, key_a, req, ["time_range"])          # empty
    req.time_range.end_time.CopyFrom(ts(T0_S - 1))
    expect_invalid(stub, key_a, req, ["time_range"])          # reversed
    req.time_range.end_time.CopyFrom(ts(T0_S + 367 * 86400))
    got = expect_invalid(stub, key_a, req, ["time_range"])   # too long
    assert "366" in got["time_range"], got
    req.time_range.end_time.CopyFrom(ts(T0_S + 366 * 86400))
    call(stub, key_a, req)                                    # exactly 366 days is fine
    req = request(tracking_deadline=duration_pb2.Duration(seconds=1800),
                  delivery_deadline=hours(91 * 24))
    req.time_range.start_time.nanos = -1
    expect_invalid(stub, key_a, req,
                   ["time_range.start_time", "tracking_deadline", "delivery_deadline"])
    # Only an end before the default 30 days: start = end - 30 days.
    req = reports_pb2.GetOperationsReportRequest()
    req.time_range.end_time.CopyFrom(ts(T0_S))
    rep = call(stub, key_a, req)
    assert rep.time_range.start_time.seconds == T0_S - 30 * 86400, rep.time_range
    # No range: the 30 days before now.
    rep = call(stub, key_a, reports_pb2.GetOperationsReportRequest())
    span = rep.time_range.end_time.seconds - rep.time_range.start_time.seconds
    assert span == 30 * 86400 and abs(rep.time_range.end_time.seconds - time.time()) < 600


def test_unauthenticated(stub, key_a):
    try:
        stub.GetOperationsReport(request(), timeout=RPC_TIMEOUT_S)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e
        return
    raise AssertionError("accepted without a key")


def test_ctl_table_output(stub, key_a):
    data = json.dumps({"timeRange": {"startTime": T0, "endTime": "2026-03-11T00:00:00Z"}})
    argv = [os.environ["DS_DROPSHIPCTL"], "--addr", ADDR[0], "--api-key", key_a,
            "reports", "get-operations", "-d", data, "--output", "table"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=CTL_TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    print(out)
    lines = out.splitlines()
    # Scalars as "name: value" lines, repeated messages as tables with a
    # header row of their field names.
    assert any(l.split() == ["orderCount:", "7"] for l in lines), out
    assert any(l.split()[:2] == ["state", "count"] for l in lines), out
    assert any(l.split() == ["ORDER_STATE_ON_HOLD", "3"] for l in lines), out
    row = [l for l in lines if "Alpha Goods" in l]
    assert len(row) == 1 and "0.5" in row[0].split() and "1d2h30m" in row[0].split(), out
    assert any(l.split()[:3] == ["REFUND_PAYER_SUPPLIER", "28.05 USD", "2"] or
               ("REFUND_PAYER_SUPPLIER" in l and "28.05 USD" in l) for l in lines), out
    assert "{" not in out, out


ADDR = [None]


def main():
    db = harness.fresh_database("test_report")
    harness.migrate(db)
    shop_a = harness.create_shop(db, "report-a")
    shop_b = harness.create_shop(db, "report-b")
    harness.sql(db, shop_a_fixture(shop_a).sql())
    harness.sql(db, shop_b_fixture(shop_b).sql())
    key_a = harness.create_api_key(db, shop_a)
    key_b = harness.create_api_key(db, shop_b)
    # the server's own checks first, the command-line client last
    tests = [v for k, v in sorted(globals().items(), key=lambda kv: (kv[0].startswith("test_ctl"),
                                                                       kv[0]))
             if k.startswith("test_") and callable(v)]
    with harness.Server(db, migrate=False) as srv, harness.channel(srv.addr) as ch:
        ADDR[0] = srv.addr
        stub = reports_pb2_grpc.ReportServiceStub(ch)
        for t in tests:
            print("--", t.__name__, flush=True)
            args = {"stub": stub, "key_a": key_a, "key_b": key_b}
            names = t.__code__.co_varnames[:t.__code__.co_argcount]
            t(**{n: args[n] for n in names})
        assert srv.stop() == 0
    print("ok: %d tests" % len(tests))


if __name__ == "__main__":
    sys.exit(main())
