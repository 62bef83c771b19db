"""The order workflow survives SIGKILL: 200 orders in flight (a third of
them split over two suppliers), dropshipd killed with SIGKILL at random
moments for as long as orders are in flight (at least 10, at most 25 times)
and restarted on the same database and the same simulator; 20% of the
supplier POSTs are answered only 500 ms after they took effect, so kills
land between an effect and its record; afterwards every order is COMPLETED and the simulator saw exactly
one supplier order per (order, supplier) - no duplicate purchase.

The helpers here (Fleet, bulk creation, waiting, the purchase count) are
shared with test_workflow_replicas.py and test_workflow_pg_restart.py.

Waiting deadlines are multiplied by DS_TEST_SLOWDOWN (default 1, and 3 in
an ASan+UBSan build); the counts never change.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))

import harness  # noqa: E402
from simclient import Sim  # noqa: E402
from dropship.v1 import (catalog_pb2, catalog_pb2_grpc, common_pb2, orders_pb2,  # noqa: E402
                         orders_pb2_grpc, suppliers_pb2, suppliers_pb2_grpc)


TIMEOUT = 20
TOKEN = "sim-token-1"
COMPLETED = common_pb2.ORDER_STATE_COMPLETED
ON_HOLD = common_pb2.ORDER_STATE_ON_HOLD
ADDRESS = common_pb2.Address(recipient_name="Ada Lovelace", phone="+44 20 7946 0000",
                             country_code="GB", region="London", city="London",
                             street="12 St James's Square", postal_code="SW1Y 4JH")
# Every polling delay of the workflow falls to its 200 ms floor; a 7/14 day
# return window becomes 2/4 s.
SCALE = 300000
# A lapsed lease (the process was killed) is reclaimed after 2 s.
LEASE_MS = 2000
# The simulator moves an order on every 3rd read and a parcel over 8 polls,
# so each order stays in flight for several seconds.
SIM_ARGS = ("--ship-polls", "3", "--deliver-polls", "8")

N_ORDERS = 200
MIN_KILLS = 10
MAX_KILLS = 25


def sanitized_build():
    """True when DS_BUILD_DIR was configured with -DDROPSHIP_SANITIZE=ON."""
    cache = os.path.join(os.environ.get("DS_BUILD_DIR", ""), "CMakeCache.txt")
    try:
        with open(cache) as f:
            return any(ln.strip() == "DROPSHIP_SANITIZE:BOOL=ON" for ln in f)
    except OSError:
        return False


def slowdown():
    """Deadline multiplier: DS_TEST_SLOWDOWN, else 3 for an ASan+UBSan build."""
    try:
        return max(1.0, float(os.environ.get("DS_TEST_SLOWDOWN",
                                             "3" if sanitized_build() else "1")))
    except ValueError:
        return 1.0


def say(text):
    """One progress line on stderr (ctest shows it with --output-on-failure / -V)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def usd(units, nanos=0):
    return common_pb2.Money(currency_code="USD", units=units, nanos=nanos)


class Fleet:
    """One database, one simulator, one shop with two CONTRACT suppliers
    (A: SKU "MUG", B: SKU "CAP") whose creates can be slowed down, and any
    number of dropshipd processes on that database."""

    def __init__(self, name, db_url=None, sim_args=SIM_ARGS):
        self.db = db_url or harness.fresh_database(name)
        harness.migrate(self.db)
        self.servers = []
        self.shop = harness.create_shop(self.db, name)
        self.md = harness.auth(harness.create_api_key(self.db, self.shop))
        self.sim = Sim(*sim_args, token=TOKEN)
        self.keys = {}
        self.pairs = {}  # order id -> set of supplier ids

    def start(self, **settings):
        """Start one more dropshipd (fast workflow, short lease) and return it."""
        settings.setdefault("workflow_time_scale", SCALE)
        settings.setdefault("workflow_lease_ms", LEASE_MS)
        s = harness.Server(self.db, migrate=False, **settings)
        self.servers.append(s)
        return s

    def close(self):
        """Stop every server still running (SIGTERM, exit 0 expected) and the sim."""
        codes = []
        try:
            for s in self.servers:
                running = s.proc.poll() is None
                code = s.stop()
                if running:
                    codes.append((s.log_path, code))
        finally:
            for s in self.servers:
                s.kill()
                s._log.close()
            self.sim.stop()
        bad = [c for c in codes if c[1] != 0]
        if bad:
            raise AssertionError("dropshipd exited badly: %s" % bad)

    def setup_catalog(self, addr):
        """Suppliers A and B with their bindings, through the API at addr."""
        with harness.channel(addr) as ch:
            sup = suppliers_pb2_grpc.SupplierServiceStub(ch)
            cat = catalog_pb2_grpc.CatalogServiceStub(ch)
            for key, shop_sku, supplier_sku in (("A", "MUG", "MUG-01"), ("B", "CAP", "CAP-01")):
                s = suppliers_pb2.Supplier(
                    display_name="Sim " + key, default_currency_code="USD",
                    payment_mode=common_pb2.PAYMENT_MODE_AUTO,
                    adapter=suppliers_pb2.SupplierAdapterConfig(
                        kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
                        base_url="%s/suppliers/%s" % (self.sim.base, self.sim_key(key)),
                        credential=TOKEN),
                    tracking=suppliers_pb2.TrackingConfig(
                        kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
                        base_url=self.sim.base + "/tracking", credential=TOKEN))
                s.payment_due.seconds = 3600
                s.adapter.request_timeout.seconds = 15
                sid = sup.CreateSupplier(suppliers_pb2.CreateSupplierRequest(supplier=s),
                                         metadata=self.md, timeout=TIMEOUT).supplier.id
                self.keys[key] = sid
                b = catalog_pb2.Binding(shop_sku=shop_sku, supplier_id=sid,
                                        supplier_sku=supplier_sku, max_cost=usd(1000))
                cat.CreateBinding(catalog_pb2.CreateBindingRequest(binding=b),
                                  metadata=self.md, timeout=TIMEOUT)

    def sim_key(self, key):
        return "res" + key

    def slow_creates(self, probability=0.2, hang_ms=500):
        """Supplier POSTs (create, pay) are processed, then answered only
        after hang_ms: a kill in that window leaves an effect unrecorded."""
        rules = [{"type": "timeout", "prefix": "/suppliers/%s/v1/orders" % self.sim_key(k),
                  "method": "POST", "probability": probability, "hang_ms": hang_ms}
                 for k in ("A", "B")]
        self.sim.faults(*rules)

    def create_orders(self, addrs, n, tag, parallel=32):
        """Create n orders over gRPC, round-robin over addrs, `parallel` calls
        in flight; every third order buys from both suppliers. Returns ids."""
        chans = [harness.channel(a) for a in addrs]
        stubs = [orders_pb2_grpc.OrderServiceStub(c) for c in chans]
        a, b = self.keys["A"], self.keys["B"]
        ids = []
        try:
            pending = []
            for i in range(n):
                kind = i % 3
                lines = [("MUG", 1)] if kind == 0 else [("CAP", 2)] if kind == 1 else \
                    [("MUG", 2), ("CAP", 1)]
                o = orders_pb2.Order(external_order_id="%s-%04d" % (tag, i),
                                     currency_code="USD", shipping_address=ADDRESS)
                for j, (sku, qty) in enumerate(lines):
                    o.lines.add(line_id="L%d" % (j + 1), shop_sku=sku, quantity=qty,
                                unit_price=usd(20))
                sups = {a} if kind == 0 else {b} if kind == 1 else {a, b}
                fut = stubs[i % len(stubs)].CreateOrder.future(
                    orders_pb2.CreateOrderRequest(order=o), metadata=self.md, timeout=TIMEOUT)
                pending.append((fut, sups))
                if len(pending) >= parallel or i == n - 1:
                    for f, s in pending:
                        oid = f.result().order.id
                        self.pairs[oid] = s
                        ids.append(oid)
                    pending = []
        finally:
            for c in chans:
                c.close()
        return ids

    def states(self):
        """{state: count} of the shop's orders, from the database."""
        out = harness.sql(self.db, "SELECT state, count(*) FROM orders WHERE shop_id = '%s'"
                          " GROUP BY state" % self.shop)
        return {int(s): int(c) for s, c in (ln.split("|") for ln in out.splitlines() if ln)}

    def holds(self):
        return harness.sql(self.db, "SELECT order_id, hold_reason, hold_detail FROM orders"
                                    " WHERE shop_id = '%s' AND state = %d LIMIT 5"
                                    % (self.shop, ON_HOLD))

    def in_flight(self):
        st = self.states()
        return sum(c for s, c in st.items() if s != COMPLETED)

    def wait_completed(self, seconds, tick=None):
        """Wait until every order is COMPLETED; fail at once on a hold.
        tick() is called between checks (it may kill and restart servers)."""
        deadline = time.monotonic() + seconds * slowdown()
        while True:
            st = self.states()
            if st.get(ON_HOLD):
                raise AssertionError("orders on hold: %s\n%s" % (st, self.holds()))
            if sum(st.values()) == len(self.pairs) and st.get(COMPLETED) == len(self.pairs):
                return
            if time.monotonic() > deadline:
                raise AssertionError("not all orders completed after %.0f s: %s (%s)"
                                     % (seconds * slowdown(), self.named(st), self.logs_tail()))
            if tick is not None:
                tick()
            else:
                time.sleep(0.25)

    def named(self, st):
        return {common_pb2.OrderState.Name(s): c for s, c in st.items()}

    def logs_tail(self):
        return "; ".join(s.log_path for s in self.servers)

    def check_one_purchase_each(self):
        """The simulator created exactly one supplier order per (order,
        supplier) and nothing else; returns (created, duplicates)."""
        stats = self.sim.stats()
        want = {"%s:%s" % (o, s) for o, sups in self.pairs.items() for s in sups}
        by_key = stats.get("orders_by_idempotency_key", {})
        by_ref = stats.get("orders_by_order_ref", {})
        created = stats.get("orders_created", 0)
        dups = stats.get("duplicates", 0)
        say("supplier orders created %d for %d (order, supplier) pairs, duplicates %d,"
            " replays %d" % (created, len(want), dups, stats.get("replays", 0)))
        assert dups == 0, "duplicate supplier orders: %d" % dups
        assert created == len(want), (created, len(want))
        assert set(by_ref) == want, "order refs differ from the (order, supplier) pairs"
        bad = {k: v for k, v in by_ref.items() if v.get("orders_created") != 1}
        assert not bad, "order refs with more than one supplier order: %s" % list(bad.items())[:5]
        purchase_keys = {k: v for k, v in by_key.items() if k in want}
        assert set(purchase_keys) == want, "Idempotency-Keys differ from the pairs"
        bad = {k: v for k, v in purchase_keys.items() if v.get("orders_created") != 1}
        assert not bad, list(bad.items())[:5]
        rows = harness.sql(self.db, "SELECT count(*), count(DISTINCT idempotency_key),"
                           " count(*) FILTER (WHERE supplier_order_ref = '') FROM"
                           " supplier_orders WHERE shop_id = '%s'" % self.shop)
        assert rows == "%d|%d|0" % (len(want), len(want)), rows
        return created, dups

    def check_event_positions(self):
        """Every order's events are in seq order in the stream (txid,
        event_id) and numbered 1, 2, 3 ... (docs/event-stream.md): the
        position the workflow's event writers compute, and the trigger's for
        the rest, never put a later event of an order before an earlier one,
        even when a step took its transaction id before waiting for the
        order lock that a sibling step held. Returns the events checked."""
        rows = harness.sql(self.db, "SELECT count(*), count(*) FILTER (WHERE seq <> rn) FROM ("
                           "SELECT seq, row_number() OVER (PARTITION BY order_id"
                           " ORDER BY txid, event_id) AS rn FROM order_events"
                           " WHERE shop_id = '%s') e" % self.shop)
        total, bad = (int(x) for x in rows.split("|"))
        say("order events %d, out of seq order in the stream %d" % (total, bad))
        assert total > 0 and bad == 0, harness.sql(
            self.db, "SELECT order_id, seq, txid, event_id FROM (SELECT *, row_number() OVER"
            " (PARTITION BY order_id ORDER BY txid, event_id) AS rn FROM order_events"
            " WHERE shop_id = '%s') e WHERE seq <> rn LIMIT 5" % self.shop)
        return total


def crash_loop(fleet, rng, kills, max_kills, min_gap=0.3, max_gap=2.0):
    """A tick for wait_completed: SIGKILL the running dropshipd at a random
    moment (min_gap..max_gap s after the previous check) and start a new one
    on the same database, as long as orders are in flight, at most max_kills
    times; kills gets one {state name: count} per kill."""
    def tick():
        if len(kills) >= max_kills:
            time.sleep(0.25)
            return
        time.sleep(rng.uniform(min_gap, max_gap))
        st = fleet.states()
        if sum(c for s, c in st.items() if s != COMPLETED) == 0:
            return
        fleet.servers[-1].kill()
        kills.append(fleet.named(st))
        say("kill %d with orders %s" % (len(kills), kills[-1]))
        fleet.start()
    return tick


def main():
    seed = int(os.environ.get("DS_TEST_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    say("seed %d" % seed)
    started = time.monotonic()
    fleet = Fleet("wf_crash")
    try:
        first = fleet.start()
        fleet.setup_catalog(first.addr)
        fleet.slow_creates()
        fleet.create_orders([first.addr], N_ORDERS, "crash")
        kills = []
        fleet.wait_completed(80, tick=crash_loop(fleet, rng, kills, MAX_KILLS))
        assert len(kills) >= MIN_KILLS, (
            "only %d kill(s) while orders were in flight (wanted %d): the run is too short"
            % (len(kills), MIN_KILLS))
        created, dups = fleet.check_one_purchase_each()
        fleet.check_event_positions()
        say("kills %d, duplicates %d, supplier orders %d, orders %d, %.1f s"
            % (len(kills), dups, created, N_ORDERS, time.monotonic() - started))
    finally:
        fleet.close()
    say("ok")


if __name__ == "__main__":
    main()
