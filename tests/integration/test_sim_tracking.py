"""dropship-sim: parcels progress through the canonical statuses with polls
(or scaled time) per SKU: normal, STUCK, LOST, SLOW, FAIL, PICKUP, RETURN,
EXPIRE; unknown numbers are 404."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("DS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")), "tests", "sim"))
from simclient import Sim, run  # noqa: E402

SIM = None
REF = [0]


def ship(sku, sim=None):
    """Order one `sku`, poll until shipped, return its parcel."""
    sim = sim or SIM
    REF[0] += 1
    o = sim.create_order("acme", "t%d:s" % REF[0], [(sku, 1)])[1]
    body = sim.poll_until_shipped("acme", o["supplier_order_id"])
    assert len(body["parcels"]) == 1
    return body["parcels"][0]


def statuses(parcel, polls, sim=None):
    sim = sim or SIM
    out = []
    for _ in range(polls):
        s, b, _ = sim.tracking(parcel["carrier"], parcel["tracking_number"])
        assert s == 200, b
        out.append(b["status"])
    return out, b


def test_normal_parcel_is_delivered_after_n_polls():
    p = ship("S1")
    assert p["carrier"] == "sim-post"
    seen, last = statuses(p, 6)
    assert seen == ["INFO_RECEIVED", "IN_TRANSIT", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED", "DELIVERED"], seen
    cps = last["checkpoints"]
    assert [c["status"] for c in cps] == ["INFO_RECEIVED", "IN_TRANSIT", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"]
    assert all(c["time"].endswith("Z") and c["message"] and c["location"] for c in cps)
    assert last["tracking_number"] == p["tracking_number"]


def test_stuck_parcel_never_moves():
    seen, last = statuses(ship("STUCK-1"), 20)
    assert set(seen) == {"INFO_RECEIVED"} and len(last["checkpoints"]) == 1


def test_lost_parcel_ends_in_exception():
    seen, last = statuses(ship("LOST-1"), 8)
    assert seen[-1] == "EXCEPTION" and "IN_TRANSIT" in seen, seen
    assert "DELIVERED" not in seen


def test_slow_parcel_needs_more_polls():
    seen, _ = statuses(ship("SLOW-1"), 15)
    assert seen.index("DELIVERED") == 14, seen


def test_other_paths():
    paths = {"FAIL-1": ["FAILED_ATTEMPT", "OUT_FOR_DELIVERY", "DELIVERED"], "PICKUP-1": ["AVAILABLE_FOR_PICKUP", "DELIVERED"],
             "RETURN-1": ["FAILED_ATTEMPT", "RETURNING_TO_SENDER"], "EXPIRE-1": ["EXPIRED"]}
    for sku, tail in paths.items():
        seen, _ = statuses(ship(sku), 8)
        dedup = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
        assert dedup[-len(tail):] == tail, (sku, seen)


def test_unknown_tracking_is_404():
    s, b, _ = SIM.tracking("sim-post", "SIM999999999")
    assert s == 404 and b["error"]["code"] == "NOT_FOUND"
    p = ship("S1")
    assert SIM.tracking("other-carrier", p["tracking_number"])[0] == 404


def test_deliver_polls_flag():
    with Sim("--deliver-polls", "8", "--ship-polls", "1") as sim:
        seen, _ = statuses(ship("S1", sim), 8, sim)
        assert seen.index("DELIVERED") == 7, seen
        assert sim.stats()["requests"]["tracking.get"] == 8


def test_time_scale_moves_parcels_without_polls():
    # 36000 simulated seconds per real second: one step (1 simulated hour) per 0.1 s
    with Sim("--time-scale", "36000") as sim:
        o = sim.create_order("acme", "ts:1", [("S1", 1)])[1]
        time.sleep(0.5)
        body = sim.get_order("acme", o["supplier_order_id"])[1]
        assert body["status"] == "SHIPPED", body
        time.sleep(1.0)
        s, b, _ = sim.tracking("sim-post", body["parcels"][0]["tracking_number"])
        assert b["status"] == "DELIVERED", b


def main():
    global SIM
    with Sim() as SIM:
        run([test_normal_parcel_is_delivered_after_n_polls, test_stuck_parcel_never_moves,
             test_lost_parcel_ends_in_exception, test_slow_parcel_needs_more_polls,
             test_other_paths, test_unknown_tracking_is_404])
    run([test_deliver_polls_flag, test_time_scale_moves_parcels_without_polls])


if __name__ == "__main__":
    main()
