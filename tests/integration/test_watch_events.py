"""OrderService.WatchOrderEvents through real gRPC clients: live events
without a cursor, filters, resume from a cursor with no gap and no duplicate
while orders are created concurrently, delivery across two servers on one
database (NOTIFY), request errors, client cancel, SIGTERM (UNAVAILABLE, exit
0) and a database restart with a stream open."""
import concurrent.futures
import itertools
import subprocess
import sys
import threading
import time
import unittest
import uuid

import grpc

import harness
from dropship.v1 import common_pb2, orders_pb2, orders_pb2_grpc

# The stream's mechanics are checked on orders that stay RECEIVED, so every
# event here is one the test made; the workflow's own events on the stream
# are covered by the workflow tests.
QUIET = {"workflow_workers": 0}

TIMEOUT = 30
WAIT_S = 30  # upper bound for events to arrive; normally milliseconds
CREATED = orders_pb2.ORDER_EVENT_TYPE_CREATED
RECEIVED = common_pb2.ORDER_STATE_RECEIVED

_ext = itertools.count(1)


def new_order():
    a = common_pb2.Address(recipient_name="Ada Buyer", phone="+1 415 555 0100",
                           country_code="US", region="CA", city="San Francisco",
                           street="1 Market St", postal_code="94105")
    line = orders_pb2.OrderLine(shop_sku="SKU-1", quantity=1,
                                unit_price=common_pb2.Money(currency_code="USD", units=10))
    return orders_pb2.Order(external_order_id="W-%s-%d" % (uuid.uuid4().hex[:8], next(_ext)),
                            shipping_address=a, lines=[line], currency_code="USD")


def create(stub, md):
    req = orders_pb2.CreateOrderRequest(order=new_order())
    return stub.CreateOrder(req, metadata=md, timeout=TIMEOUT).order


class Watcher:
    """A WatchOrderEvents call drained by a thread: .events (list), .error
    (the RpcError that ended it, None while open), .cancel()."""

    def __init__(self, stub, md, **req):
        self.events = []
        self.error = None
        self.done = False
        self.cv = threading.Condition()
        self.call = stub.WatchOrderEvents(orders_pb2.WatchOrderEventsRequest(**req),
                                          metadata=md, timeout=120)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for resp in self.call:
                with self.cv:
                    self.events.append(resp.event)
                    self.cv.notify_all()
        except grpc.RpcError as e:
            with self.cv:
                self.error = e
        finally:
            with self.cv:
                self.done = True
                self.cv.notify_all()

    def wait(self, pred, timeout=WAIT_S):
        """Wait until pred(events) or the call ended; returns pred's last value."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while not pred(self.events) and not self.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cv.wait(left)
            return pred(self.events)

    def wait_end(self, timeout=WAIT_S):
        with self.cv:
            self.cv.wait_for(lambda: self.done, timeout)
            return self.done

    def snapshot(self):
        with self.cv:
            return list(self.events)

    def cancel(self):
        self.call.cancel()
        self.thread.join(WAIT_S)


def order_ids(events):
    return {e.order_id for e in events}


def make_live(test, stub, md, watcher):
    """Create probe orders until `watcher` (unfiltered) sees one: from then on
    it is subscribed. Returns the probe events it saw."""
    for _ in range(60):
        probe = create(stub, md)
        if watcher.wait(lambda ev: probe.id in order_ids(ev), timeout=0.5):
            return watcher.snapshot()
    test.fail("the watcher never went live: %r" % watcher.error)


def first_error(call):
    with CatchRpcError() as box:
        for _ in call:
            break
    return box.error


class CatchRpcError:
    """Context manager catching the RpcError of a streaming call."""

    def __enter__(self):
        self.error = None
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, grpc.RpcError):
            self.error = exc
            return True
        return False


class WatchEvents(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.db = harness.fresh_database("watch_events")
        cls.srv = harness.Server(cls.db, **QUIET)
        cls.shop = harness.create_shop(cls.db, "watch shop")
        cls.md = harness.auth(harness.create_api_key(cls.db, cls.shop))
        cls.key_id = harness.sql(cls.db, "SELECT key_id FROM api_keys WHERE shop_id = '%s'"
                                 % cls.shop)
        other = harness.create_shop(cls.db, "other shop")
        cls.other_md = harness.auth(harness.create_api_key(cls.db, other))
        cls.ch = harness.channel(cls.srv.addr)
        cls.stub = orders_pb2_grpc.OrderServiceStub(cls.ch)

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        cls.srv.__exit__(None, None, None)

    def live_cursor(self):
        """A cursor that is 'now': the last probe event of a live watcher."""
        w = Watcher(self.stub, self.md)
        try:
            return make_live(self, self.stub, self.md, w)[-1].cursor
        finally:
            w.cancel()

    def db_events_after(self, order_ids_):
        ids = ",".join("'%s'" % i for i in order_ids_)
        rows = harness.sql(self.db, "SELECT order_id, seq FROM order_events WHERE order_id IN (%s)"
                           % ids)
        return {tuple(r.split("|")) for r in rows.splitlines()}

    # --- live -----------------------------------------------------------

    def below_horizon(self, order_id):
        """Wait until the order's first event is below the snapshot horizon
        of the cluster, i.e. every transaction older than it has ended. A
        stream opened without a cursor before that may still deliver it
        (docs/event-stream.md): other tests of the suite run transactions on
        the same cluster at the same time."""
        deadline = time.monotonic() + TIMEOUT
        while harness.sql(self.db, "SELECT txid < pg_snapshot_xmin(pg_current_snapshot()) "
                          "FROM order_events WHERE order_id = '%s' AND seq = 1"
                          % order_id) != "t":
            self.assertLess(time.monotonic(), deadline, "the horizon never passed the event")
            time.sleep(0.05)

    def test_without_cursor_sees_only_new_events(self):
        before = create(self.stub, self.md)
        self.below_horizon(before.id)
        w = Watcher(self.stub, self.md)
        try:
            make_live(self, self.stub, self.md, w)
            made = [create(self.stub, self.md).id for _ in range(5)]
            self.assertTrue(w.wait(lambda ev: set(made) <= order_ids(ev)), w.error)
            events = w.snapshot()
            self.assertNotIn(before.id, order_ids(events))
            for e in events:
                self.assertEqual(e.type, CREATED)
                self.assertEqual(e.to_state, RECEIVED)
                self.assertEqual(e.sequence, 1)
                self.assertEqual(e.actor.kind, common_pb2.ACTOR_KIND_API_KEY)
                self.assertEqual(e.actor.id, self.key_id)
                self.assertTrue(e.cursor)
                self.assertTrue(e.event_time.seconds > 0)
            self.assertEqual(len({e.cursor for e in events}), len(events))
        finally:
            w.cancel()

    # --- filters ----------------------------------------------------------

    def test_filters_by_order_and_states(self):
        c0 = self.live_cursor()
        x = create(self.stub, self.md).id
        y = create(self.stub, self.md).id
        z = create(self.stub, self.md).id
        everything = Watcher(self.stub, self.md, cursor=c0)
        only_x = Watcher(self.stub, self.md, cursor=c0, order_id=x.upper())
        received = Watcher(self.stub, self.md, cursor=c0, states=[RECEIVED])
        held = Watcher(self.stub, self.md, cursor=c0,
                       states=[common_pb2.ORDER_STATE_ON_HOLD, common_pb2.ORDER_STATE_COMPLETED])
        try:
            self.assertTrue(everything.wait(lambda ev: {x, y, z} <= order_ids(ev)))
            self.assertTrue(received.wait(lambda ev: {x, y, z} <= order_ids(ev)))
            self.assertTrue(only_x.wait(lambda ev: x in order_ids(ev)))
            time.sleep(0.5)  # let a wrongly delivered event show up
            self.assertEqual(order_ids(only_x.snapshot()), {x})
            self.assertEqual(held.snapshot(), [])
            self.assertEqual([e.order_id for e in everything.snapshot()], [x, y, z])
        finally:
            for w in (everything, only_x, received, held):
                w.cancel()

    def test_request_errors(self):
        mine = create(self.stub, self.md).id
        cases = [
            (dict(cursor="not a cursor"), grpc.StatusCode.INVALID_ARGUMENT, "cursor"),
            (dict(cursor="Mi4xLjE"), grpc.StatusCode.INVALID_ARGUMENT, "cursor"),  # "2.1.1"
            (dict(cursor="x" * 201), grpc.StatusCode.INVALID_ARGUMENT, "cursor"),
            (dict(order_id="nope"), grpc.StatusCode.INVALID_ARGUMENT, "order_id"),
            (dict(states=[99]), grpc.StatusCode.INVALID_ARGUMENT, "states[0]"),
            (dict(order_id=str(uuid.uuid4())), grpc.StatusCode.NOT_FOUND, None),
        ]
        for req, code, field in cases:
            err = first_error(self.stub.WatchOrderEvents(
                orders_pb2.WatchOrderEventsRequest(**req), metadata=self.md, timeout=TIMEOUT))
            self.assertIsNotNone(err, req)
            self.assertEqual(err.code(), code, (req, err.details()))
            if field:
                self.assertIn(field, harness.field_violations(err), req)
        # another shop's order looks unknown
        err = first_error(self.stub.WatchOrderEvents(
            orders_pb2.WatchOrderEventsRequest(order_id=mine), metadata=self.other_md,
            timeout=TIMEOUT))
        self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND)
        err = first_error(self.stub.WatchOrderEvents(orders_pb2.WatchOrderEventsRequest(),
                                                     timeout=TIMEOUT))
        self.assertEqual(err.code(), grpc.StatusCode.UNAUTHENTICATED)

    # --- resume -------------------------------------------------------------

    def test_resume_has_no_gap_and_no_duplicate(self):
        c0 = self.live_cursor()
        first = Watcher(self.stub, self.md, cursor=c0)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(create, self.stub, self.md) for _ in range(50)]
            self.assertTrue(first.wait(lambda ev: len(ev) >= 20))
            first.cancel()  # disconnect midway
            made = {f.result().id for f in futures}
        got1 = first.snapshot()
        self.assertGreaterEqual(len(got1), 20)
        second = Watcher(self.stub, self.md, cursor=got1[-1].cursor)
        try:
            self.assertTrue(second.wait(
                lambda ev: made <= order_ids(got1) | order_ids(ev)), second.error)
            got2 = second.snapshot()
        finally:
            second.cancel()
        union = got1 + got2
        keys = [(e.order_id, str(e.sequence)) for e in union]
        self.assertEqual(len(keys), len(set(keys)), "duplicate events")
        self.assertEqual(set(keys), self.db_events_after(made))
        self.assertEqual(order_ids(union), made)
        last_seq = {}
        for e in union:  # per order: sequence order
            self.assertEqual(e.sequence, last_seq.get(e.order_id, 0) + 1)
            last_seq[e.order_id] = e.sequence
        # the same cursor again gives the same events again, in the same order
        again = Watcher(self.stub, self.md, cursor=got1[-1].cursor)
        try:
            self.assertTrue(again.wait(lambda ev: len(ev) >= len(got2)))
            self.assertEqual([e.cursor for e in again.snapshot()[:len(got2)]],
                             [e.cursor for e in got2])
        finally:
            again.cancel()

    # --- out-of-order commits -------------------------------------------------

    def test_late_commit_is_not_skipped(self):
        """An event whose transaction took its id first but commits last is
        delivered, before the events committed meanwhile (no gap on resume).
        The open transaction appends like a workflow step: lock the order
        row first, then add the event with the next seq."""
        c0 = self.live_cursor()
        a = create(self.stub, self.md).id
        w = Watcher(self.stub, self.md, cursor=c0)
        self.assertTrue(w.wait(lambda ev: a in order_ids(ev)))
        slow = subprocess.Popen(
            [harness.PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            slow.stdin.write(
                "BEGIN;\n"
                "UPDATE orders SET last_event_seq = 2 WHERE order_id = '%s';\n"
                "INSERT INTO order_events (shop_id, order_id, seq, actor_kind, actor_id, type,"
                " from_state, to_state) VALUES ('%s', '%s', 2, 2, 'test', 2, 1, 1);\n"
                "SELECT 'inserted';\n" % (a, self.shop, a))
            slow.stdin.flush()
            self.assertEqual(slow.stdout.readline().strip(), "inserted")
            b = create(self.stub, self.md).id  # commits first, with a later xid
            time.sleep(1.5)  # more than a poll period: b would be out by now
            self.assertNotIn(b, order_ids(w.snapshot()),
                             "an event was delivered while an older transaction ran")
            slow.stdin.write("COMMIT;\n")
            slow.stdin.close()
            self.assertEqual(slow.wait(TIMEOUT), 0, slow.stdout.read())
        finally:
            if slow.poll() is None:
                slow.kill()
                slow.wait()
            slow.stdout.close()
        self.assertTrue(w.wait(lambda ev: b in order_ids(ev)), w.error)
        w.cancel()
        tail = [(e.order_id, e.sequence) for e in w.snapshot()
                if e.order_id in (a, b)]
        self.assertEqual(tail, [(a, 1), (a, 2), (b, 1)])

    # --- replicas -------------------------------------------------------------

    def test_events_of_another_server_arrive(self):
        with harness.Server(self.db, migrate=False, **QUIET) as b, harness.channel(b.addr) as ch_b:
            stub_b = orders_pb2_grpc.OrderServiceStub(ch_b)
            w = Watcher(self.stub, self.md)
            try:
                make_live(self, self.stub, self.md, w)
                made = {create(stub_b, self.md).id for _ in range(5)}
                self.assertTrue(w.wait(lambda ev: made <= order_ids(ev)), w.error)
            finally:
                w.cancel()

    # --- cancel --------------------------------------------------------------

    def test_cancelled_streams_leave_the_server_healthy(self):
        for _ in range(3):
            ws = [Watcher(self.stub, self.md) for _ in range(20)]
            for w in ws:
                w.cancel()
            for w in ws:
                self.assertTrue(w.wait_end())
                self.assertEqual(w.error.code(), grpc.StatusCode.CANCELLED)
        self.assertEqual(harness.health(self.srv.addr),
                         harness.health_pb2.HealthCheckResponse.SERVING)
        w = Watcher(self.stub, self.md)
        try:
            make_live(self, self.stub, self.md, w)
        finally:
            w.cancel()


class WatchShutdown(unittest.TestCase):

    def test_sigterm_ends_streams_unavailable_and_exits_0(self):
        db = harness.fresh_database("watch_events_sigterm")
        srv = harness.Server(db, **QUIET)
        shop = harness.create_shop(db, "sigterm shop")
        md = harness.auth(harness.create_api_key(db, shop))
        with harness.channel(srv.addr) as ch:
            stub = orders_pb2_grpc.OrderServiceStub(ch)
            w = Watcher(stub, md)
            make_live(self, stub, md, w)
            self.assertEqual(srv.stop(), 0)
            self.assertTrue(w.wait_end())
            self.assertEqual(w.error.code(), grpc.StatusCode.UNAVAILABLE, w.error)
        srv.__exit__(None, None, None)

    def test_database_restart_with_an_open_stream(self):
        with harness.PrivateCluster() as pc:
            db = pc.fresh_database("watch_restart")
            with harness.Server(db, **QUIET) as srv, harness.channel(srv.addr) as ch:
                shop = harness.create_shop(db, "restart shop")
                md = harness.auth(harness.create_api_key(db, shop))
                stub = orders_pb2_grpc.OrderServiceStub(ch)
                w = Watcher(stub, md)
                make_live(self, stub, md, w)
                pc.restart()
                made = set()
                deadline = time.monotonic() + 60
                while len(made) < 3 and time.monotonic() < deadline:
                    try:
                        made.add(create(stub, md).id)
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.UNAVAILABLE:
                            raise
                        time.sleep(0.2)
                self.assertEqual(len(made), 3)
                self.assertTrue(w.wait(lambda ev: made <= order_ids(ev)), w.error)
                self.assertIsNone(w.error)
                w.cancel()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[1:])
