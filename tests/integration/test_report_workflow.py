"""The operations report over history written by the real order workflow
(not by SQL): a split order over two dropship-sim suppliers with three
parcels runs to COMPLETED, and the report finds every step, both supplier
orders, their tracking numbers and all three deliveries in that history.
This keeps the report's reading of order_events (which event types and
details mark purchase, tracking number and delivery) true to what the
workflow writes; test_report.py checks the arithmetic on a fixture."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from test_workflow_lifecycle import World  # noqa: E402
from dropship.v1 import common_pb2, reports_pb2, reports_pb2_grpc  # noqa: E402

TIMEOUT = 30


def main():
    w = World("report_workflow")
    try:
        north, south = w.supplier("north"), w.supplier("south")
        w.bind("TEE-RED", north, "SPLIT-TEE-RED")
        w.bind("TEE-BLUE", north, "SPLIT-TEE-BLUE")
        w.bind("CAP", south, "CAP-01")
        start = int(time.time()) - 60
        o = w.order("report-1", [("TEE-RED", 1), ("TEE-BLUE", 1), ("CAP", 3)])
        w.wait_state(o.id, common_pb2.ORDER_STATE_COMPLETED, seconds=60)

        req = reports_pb2.GetOperationsReportRequest()
        req.time_range.start_time.seconds = start
        req.time_range.end_time.seconds = int(time.time()) + 60
        stub = reports_pb2_grpc.ReportServiceStub(w.ch)
        rep = stub.GetOperationsReport(req, metadata=w.md, timeout=TIMEOUT).report
        print(rep)

        assert rep.order_count == 1, rep
        assert [(s.state, s.count) for s in rep.orders_by_state] == \
            [(common_pb2.ORDER_STATE_COMPLETED, 1)], rep.orders_by_state
        # every state from RECEIVED to DELIVERED was entered and left once
        assert [(s.state, s.sample_count) for s in rep.step_durations] == \
            [(st, 1) for st in range(common_pb2.ORDER_STATE_RECEIVED,
                                     common_pb2.ORDER_STATE_COMPLETED)], rep.step_durations
        got = {s.supplier_id: s for s in rep.suppliers}
        assert set(got) == {north, south}, rep.suppliers
        for sid, parcels in ((north, 2), (south, 1)):
            s = got[sid]
            assert s.display_name in ("Sim north", "Sim south"), s
            assert (s.supplier_order_count, s.tracking_sample_count,
                    s.tracking_on_time_count) == (1, 1, 1), s
            assert (s.delivery_sample_count, s.delivery_on_time_count) == (parcels, parcels), s
            assert s.tracking_on_time_rate == 1.0 and s.delivery_on_time_rate == 1.0, s
            assert s.HasField("purchase_to_tracking_p50"), s
            assert s.HasField("tracking_to_delivered_p50"), s
            assert s.case_count == 0, s
    finally:
        w.close()
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
