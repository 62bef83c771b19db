"""The order workflow rides out a PostgreSQL restart: 200 orders in flight
(a third split over two suppliers) on a private cluster, the cluster is
stopped for a couple of seconds and started again while dropshipd keeps
running (it is not restarted); afterwards every order completes, the
simulator saw exactly one supplier order per (order, supplier), and the
same dropshipd process exits cleanly on SIGTERM."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from test_workflow_crash import COMPLETED, Fleet, say, slowdown  # noqa: E402

N_ORDERS = 200
DOWN_S = 3.0


def wait_for(cond, seconds, what):
    deadline = time.monotonic() + seconds * slowdown()
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def main():
    started = time.monotonic()
    with harness.PrivateCluster() as pc:
        fleet = Fleet("wf_pg_restart", db_url=pc.fresh_database("wf_pg_restart"))
        try:
            server = fleet.start()
            fleet.setup_catalog(server.addr)
            fleet.slow_creates()
            fleet.create_orders([server.addr], N_ORDERS, "pgr")
            # some orders bought and paid, none completed yet
            wait_for(lambda: fleet.sim.stats().get("payments", 0) >= 20, 30, "payments")
            st = fleet.states()
            left = fleet.in_flight()
            say("before the restart: %s" % fleet.named(st))
            assert left > 0 and st.get(COMPLETED, 0) < N_ORDERS, "all done before the restart"
            pid = server.proc.pid
            pc.stop()
            time.sleep(DOWN_S)
            pc.start()
            say("PostgreSQL was down %.1f s with %d order(s) in flight" % (DOWN_S, left))
            fleet.wait_completed(80)
            assert server.proc.poll() is None and server.proc.pid == pid, "dropshipd restarted"
            assert len(fleet.servers) == 1
            fleet.check_one_purchase_each()
            assert "task queue unreachable" in server.log(), "the engine never saw the outage"
            say("orders %d, %.1f s" % (N_ORDERS, time.monotonic() - started))
        finally:
            fleet.close()
    say("ok")


if __name__ == "__main__":
    main()
