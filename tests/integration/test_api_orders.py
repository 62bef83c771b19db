"""OrderService through a real gRPC client: CreateOrder validates everything
before writing and is idempotent and race-safe; GetOrder, ListOrders (filters,
newest-first keyset pages) and GetOrderHistory read back what was created; a
shop never sees another shop's orders."""
import concurrent.futures
import sys
import unittest
import uuid

import grpc
from google.protobuf import timestamp_pb2

import harness
from dropship.v1 import common_pb2, orders_pb2, orders_pb2_grpc

TIMEOUT = 30
TABLES = ("orders", "order_lines", "order_events")
RECEIVED = common_pb2.ORDER_STATE_RECEIVED


def address(**kw):
    a = dict(recipient_name="Ada Buyer", phone="+1 415 555 0100", country_code="US",
             region="CA", city="San Francisco", street="1 Market St\nApt 5",
             postal_code="94105")
    a.update(kw)
    return common_pb2.Address(**a)


def usd(units, nanos=0, currency="USD"):
    return common_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def order(ext="EXT-1", n_lines=2, **kw):
    lines = [orders_pb2.OrderLine(shop_sku="SKU-%d" % i, quantity=i + 1,
                                  unit_price=usd(10 + i, 500000000), title="Item %d" % i)
             for i in range(n_lines)]
    o = dict(external_order_id=ext, shipping_address=address(), lines=lines,
             currency_code="USD", buyer_note="leave at the door")
    o.update(kw)
    return orders_pb2.Order(**o)


class OrdersApi(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.db = harness.fresh_database("api_orders")
        cls.srv = harness.Server(cls.db, workflow_workers=0)
        cls.shop = harness.create_shop(cls.db, "orders shop")
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

    # --- helpers ---

    def create(self, o, request_id="", md=None):
        return self.stub.CreateOrder(orders_pb2.CreateOrderRequest(request_id=request_id, order=o),
                                     metadata=md or self.md, timeout=TIMEOUT).order

    def counts(self):
        return tuple(harness.count_rows(self.db, t) for t in TABLES)

    def assert_code(self, code, fn, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def assert_invalid(self, o, *fields, request_id=""):
        """CreateOrder(o) fails INVALID_ARGUMENT naming every field, writing nothing."""
        before = self.counts()
        err = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.create, o, request_id)
        got = harness.field_violations(err)
        for f in fields:
            self.assertIn(f, got, "violation on %s expected, got %s" % (f, got))
        self.assertEqual(self.counts(), before, "an invalid CreateOrder wrote rows")
        return got

    # --- create / read round trip ---

    def test_create_get_list_history_round_trip(self):
        o = order("RT-1", n_lines=3)
        o.lines[1].line_id = "b-line"
        created = self.create(o)
        uuid.UUID(created.id)
        self.assertEqual(created.state, RECEIVED)
        self.assertEqual(created.external_order_id, "RT-1")
        self.assertEqual([l.line_id for l in created.lines], ["1", "b-line", "3"])
        self.assertEqual([l.shop_sku for l in created.lines], ["SKU-0", "SKU-1", "SKU-2"])
        self.assertEqual(created.lines[2].unit_price, usd(12, 500000000))
        self.assertEqual(created.shipping_address, address())
        self.assertEqual(created.buyer_note, "leave at the door")
        self.assertEqual(created.etag, "v1")
        self.assertFalse(created.HasField("hold"))
        self.assertGreater(created.create_time.seconds, 0)

        got = self.stub.GetOrder(orders_pb2.GetOrderRequest(order_id=created.id),
                                 metadata=self.md, timeout=TIMEOUT).order
        self.assertEqual(got, created)

        listed = self.stub.ListOrders(orders_pb2.ListOrdersRequest(external_order_id="RT-1"),
                                      metadata=self.md, timeout=TIMEOUT)
        self.assertEqual(list(listed.orders), [created])
        self.assertEqual(listed.next_page_token, "")

        hist = self.stub.GetOrderHistory(orders_pb2.GetOrderHistoryRequest(order_id=created.id),
                                         metadata=self.md, timeout=TIMEOUT)
        self.assertEqual(len(hist.events), 1)
        ev = hist.events[0]
        self.assertEqual(ev.sequence, 1)
        self.assertEqual(ev.order_id, created.id)
        self.assertEqual(ev.type, orders_pb2.ORDER_EVENT_TYPE_CREATED)
        self.assertEqual(ev.from_state, common_pb2.ORDER_STATE_UNSPECIFIED)
        self.assertEqual(ev.to_state, RECEIVED)
        self.assertEqual(ev.actor.kind, common_pb2.ACTOR_KIND_API_KEY)
        self.assertEqual(ev.actor.id, self.key_id)
        self.assertNotEqual(ev.cursor, "")
        self.assertEqual(hist.next_page_token, "")

    def test_output_only_fields_are_ignored(self):
        o = order("OUT-1", id="00000000-0000-0000-0000-000000000001",
                  state=common_pb2.ORDER_STATE_DELIVERED, etag="v9", cancel_reason="no")
        created = self.create(o)
        self.assertNotEqual(created.id, o.id)
        self.assertEqual(created.state, RECEIVED)
        self.assertEqual(created.etag, "v1")
        self.assertEqual(created.cancel_reason, "")

    # --- validation: each field, nothing written ---

    def test_each_invalid_field_is_named_and_nothing_is_written(self):
        cases = [
            ("order.external_order_id", order(ext="")),
            ("order.external_order_id", order(ext="x" * 101)),
            ("order.external_order_id", order(ext="bad\x01id")),
            ("order.currency_code", order(currency_code="XXX")),
            ("order.currency_code", order(currency_code="")),
            ("order.buyer_note", order(buyer_note="n" * 1001)),
            ("order.shipping_address", order(shipping_address=None)),
            ("order.shipping_address.postal_code", order(shipping_address=address(postal_code="ABC"))),
            ("order.shipping_address.country_code", order(shipping_address=address(country_code="USA"))),
            ("order.shipping_address.phone", order(shipping_address=address(phone="call me"))),
            ("order.shipping_address.recipient_name", order(shipping_address=address(recipient_name=""))),
            ("order.shipping_address.street", order(shipping_address=address(street=""))),
            ("order.shipping_address.city", order(shipping_address=address(city=""))),
            ("order.lines", order(n_lines=0)),
            ("order.lines", order(n_lines=101)),
        ]
        for field, o in cases:
            with self.subTest(field=field):
                self.assert_invalid(o, field)

    def test_each_invalid_line_field_is_named(self):
        def with_line(i, **kw):
            o = order("LINE-BAD", n_lines=3)
            for k, v in kw.items():
                if k == "unit_price" and v is None:
                    o.lines[i].ClearField("unit_price")
                elif k == "unit_price":
                    o.lines[i].unit_price.CopyFrom(v)
                else:
                    setattr(o.lines[i], k, v)
            return o
        cases = [
            ("order.lines[2].quantity", with_line(2, quantity=0)),
            ("order.lines[2].quantity", with_line(2, quantity=10001)),
            ("order.lines[1].shop_sku", with_line(1, shop_sku="")),
            ("order.lines[1].shop_sku", with_line(1, shop_sku="S" * 101)),
            ("order.lines[2].shop_sku", with_line(2, shop_sku="SKU-0")),
            ("order.lines[0].unit_price", with_line(0, unit_price=None)),
            ("order.lines[0].unit_price.currency_code", with_line(0, unit_price=usd(1, 0, "EUR"))),
            ("order.lines[0].unit_price", with_line(0, unit_price=usd(-1))),
            ("order.lines[0].unit_price.nanos", with_line(0, unit_price=usd(1, -5))),
            ("order.lines[1].line_id", with_line(1, line_id="has space")),
            ("order.lines[1].line_id", with_line(1, line_id="x" * 65)),
            ("order.lines[1].line_id", with_line(1, line_id="1")),
            ("order.lines[2].line_id", with_line(0, line_id="3")),
            ("order.lines[0].title", with_line(0, title="t" * 201)),
        ]
        for field, o in cases:
            with self.subTest(field=field):
                self.assert_invalid(o, field)
        got = self.assert_invalid(with_line(1, line_id="1"), "order.lines[1].line_id")
        self.assertIn('"1" is already the line_id of order.lines[0]', got["order.lines[1].line_id"])

    def test_request_id_and_missing_order(self):
        self.assert_invalid(order("RID-BAD"), "request_id", request_id="not allowed!")
        self.assert_invalid(order("RID-BAD"), "request_id", request_id="r" * 101)
        before = self.counts()
        err = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.CreateOrder,
                               orders_pb2.CreateOrderRequest(), metadata=self.md, timeout=TIMEOUT)
        self.assertIn("order", harness.field_violations(err))
        self.assertEqual(self.counts(), before)

    def test_several_violations_are_all_reported(self):
        o = order("", n_lines=3, currency_code="usd",
                  shipping_address=address(postal_code="1", phone="x"))
        o.lines[2].quantity = 0
        got = self.assert_invalid(o, "order.external_order_id", "order.currency_code",
                                  "order.shipping_address.postal_code",
                                  "order.shipping_address.phone", "order.lines[2].quantity")
        self.assertGreaterEqual(len(got), 5)

    # --- idempotency and uniqueness ---

    def test_request_id_replay_returns_the_same_order(self):
        rid = "req-" + uuid.uuid4().hex
        first = self.create(order("IDEM-1"), rid)
        before = self.counts()
        again = self.create(order("IDEM-1"), rid)
        self.assertEqual(again, first)
        self.assertEqual(self.counts(), before)
        self.assertEqual(harness.count_rows(self.db, "orders", "request_id = '%s'" % rid), 1)

    def test_request_id_with_another_body_is_already_exists(self):
        rid = "req-" + uuid.uuid4().hex
        self.create(order("IDEM-2"), rid)
        before = self.counts()
        err = self.assert_code(grpc.StatusCode.ALREADY_EXISTS, self.create,
                               order("IDEM-2", buyer_note="changed"), rid)
        self.assertEqual(harness.error_info(err).reason, "REQUEST_ID_REUSED")
        self.assertEqual(self.counts(), before)

    def test_duplicate_external_order_id_is_already_exists(self):
        first = self.create(order("DUP-1"))
        before = self.counts()
        err = self.assert_code(grpc.StatusCode.ALREADY_EXISTS, self.create,
                               order("DUP-1", buyer_note="other"))
        info = harness.error_info(err)
        self.assertEqual(info.reason, "DUPLICATE_EXTERNAL_ORDER_ID")
        self.assertEqual(dict(info.metadata), {"order_id": first.id})
        self.assertIn(first.id, err.details())
        self.assertEqual(self.counts(), before)
        # another shop may use the same external id
        self.create(order("DUP-1"), md=self.other_md)

    def test_concurrent_identical_creates_make_one_order(self):
        rid = "race-" + uuid.uuid4().hex
        req = orders_pb2.CreateOrderRequest(request_id=rid, order=order("RACE-1", n_lines=5))

        def call(_):
            return self.stub.CreateOrder(req, metadata=self.md, timeout=TIMEOUT).order

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            results = list(pool.map(call, range(20)))
        self.assertEqual(len({r.SerializeToString(deterministic=True) for r in results}), 1)
        self.assertEqual(harness.count_rows(self.db, "orders", "external_order_id = 'RACE-1'"), 1)
        oid = results[0].id
        self.assertEqual(harness.count_rows(self.db, "order_lines", "order_id = '%s'" % oid), 5)
        self.assertEqual(harness.count_rows(self.db, "order_events", "order_id = '%s'" % oid), 1)

    # --- tenancy, auth, transport limits ---

    def test_another_shops_order_is_not_found_like_a_random_id(self):
        mine = self.create(order("MINE-1"))
        errs = []
        for oid in (mine.id, str(uuid.uuid4())):
            errs.append(self.assert_code(grpc.StatusCode.NOT_FOUND, self.stub.GetOrder,
                                         orders_pb2.GetOrderRequest(order_id=oid),
                                         metadata=self.other_md, timeout=TIMEOUT))
        self.assertEqual(errs[0].details().replace(mine.id, "X"),
                         errs[1].details().replace(errs[1].details().split()[1], "X"))
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.stub.GetOrderHistory,
                         orders_pb2.GetOrderHistoryRequest(order_id=mine.id),
                         metadata=self.other_md, timeout=TIMEOUT)
        other = self.stub.ListOrders(orders_pb2.ListOrdersRequest(page_size=500),
                                     metadata=self.other_md, timeout=TIMEOUT)
        self.assertNotIn(mine.id, [o.id for o in other.orders])

    def test_order_id_must_be_a_uuid(self):
        err = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.GetOrder,
                               orders_pb2.GetOrderRequest(order_id="nope"), metadata=self.md,
                               timeout=TIMEOUT)
        self.assertIn("order_id", harness.field_violations(err))
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.GetOrderHistory,
                         orders_pb2.GetOrderHistoryRequest(order_id=""), metadata=self.md,
                         timeout=TIMEOUT)

    def test_missing_or_invalid_key_is_unauthenticated(self):
        before = self.counts()
        for md in (None, harness.auth("dsk_" + "A" * 43), [("authorization", "Basic xyz")]):
            self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.stub.CreateOrder,
                             orders_pb2.CreateOrderRequest(order=order("AUTH-1")),
                             metadata=md, timeout=TIMEOUT)
            self.assert_code(grpc.StatusCode.UNAUTHENTICATED, self.stub.ListOrders,
                             orders_pb2.ListOrdersRequest(), metadata=md, timeout=TIMEOUT)
        self.assertEqual(self.counts(), before)

    def test_malformed_protobuf_is_invalid_argument(self):
        raw = self.ch.unary_unary("/dropship.v1.OrderService/CreateOrder",
                                  request_serializer=lambda b: b,
                                  response_deserializer=lambda b: b)
        before = self.counts()
        for junk in (b"\x12\xff\xff\xff\xff\x0f", b"\x0a\x05ab", b"\xff\xff\xff"):
            self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, raw, junk, metadata=self.md,
                             timeout=TIMEOUT)
        self.assertEqual(self.counts(), before)

    def test_message_over_4_mib_is_resource_exhausted(self):
        o = order("BIG-1", buyer_note="n" * (4 * 1024 * 1024 + 10))
        before = self.counts()
        self.assert_code(grpc.StatusCode.RESOURCE_EXHAUSTED, self.create, o)
        self.assertEqual(self.counts(), before)

    def test_cancel_of_an_unknown_order_is_not_found(self):
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.stub.CancelOrder,
                         orders_pb2.CancelOrderRequest(order_id=str(uuid.uuid4()), reason="test"),
                         metadata=self.md, timeout=TIMEOUT)


class OrdersListing(unittest.TestCase):
    """ListOrders filters and pages on a shop of its own."""

    @classmethod
    def setUpClass(cls):
        cls.db = harness.fresh_database("api_orders_list")
        cls.srv = harness.Server(cls.db, workflow_workers=0)
        shop = harness.create_shop(cls.db, "list shop")
        cls.md = harness.auth(harness.create_api_key(cls.db, shop))
        cls.ch = harness.channel(cls.srv.addr)
        cls.stub = orders_pb2_grpc.OrderServiceStub(cls.ch)
        cls.ids = [cls.stub.CreateOrder(orders_pb2.CreateOrderRequest(order=order("L-%02d" % i)),
                                        metadata=cls.md, timeout=TIMEOUT).order.id
                   for i in range(12)]
        # spread create times one hour apart, oldest first, and hold two orders
        harness.sql(cls.db, "UPDATE orders o SET create_time = now() - interval '1 hour' * "
                    "(12 - substr(external_order_id, 3)::int)")
        harness.sql(cls.db, "UPDATE orders SET state = 9, hold_reason = 3, hold_held_state = 2, "
                    "hold_since = now() WHERE external_order_id IN ('L-03', 'L-07')")
        harness.sql(cls.db, "UPDATE orders SET state = 9, hold_reason = 1, hold_held_state = 2, "
                    "hold_since = now() WHERE external_order_id = 'L-05'")
        harness.sql(cls.db, "UPDATE orders SET state = 11 WHERE external_order_id = 'L-09'")

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        cls.srv.__exit__(None, None, None)

    def list(self, **kw):
        return self.stub.ListOrders(orders_pb2.ListOrdersRequest(**kw), metadata=self.md,
                                    timeout=TIMEOUT)

    def list_all(self, **kw):
        out, token = [], ""
        for _ in range(50):
            page = self.list(page_token=token, **kw)
            out += [o.external_order_id for o in page.orders]
            token = page.next_page_token
            if not token:
                return out
        self.fail("paging did not end")

    def test_newest_first_in_pages(self):
        expected = ["L-%02d" % i for i in reversed(range(12))]
        self.assertEqual(self.list_all(page_size=5), expected)
        self.assertEqual(self.list_all(page_size=1), expected)
        self.assertEqual([o.external_order_id for o in self.list().orders], expected)

    def test_state_filter(self):
        self.assertEqual(self.list_all(states=[common_pb2.ORDER_STATE_ON_HOLD]),
                         ["L-07", "L-05", "L-03"])
        self.assertEqual(self.list_all(states=[common_pb2.ORDER_STATE_CANCELLED,
                                               common_pb2.ORDER_STATE_ON_HOLD], page_size=2),
                         ["L-09", "L-07", "L-05", "L-03"])
        self.assertEqual(len(self.list_all(states=[RECEIVED])), 8)

    def test_hold_reason_filter(self):
        self.assertEqual(self.list_all(hold_reasons=[orders_pb2.HOLD_REASON_OUT_OF_STOCK]),
                         ["L-07", "L-03"])
        self.assertEqual(self.list_all(hold_reasons=[orders_pb2.HOLD_REASON_OUT_OF_STOCK],
                                       states=[RECEIVED]), [])
        page = self.list(external_order_id="L-05")
        self.assertEqual(page.orders[0].hold.reason, orders_pb2.HOLD_REASON_ADDRESS_INCOMPLETE)
        self.assertEqual(page.orders[0].hold.held_state, common_pb2.ORDER_STATE_VERIFYING)

    def test_time_range_filter(self):
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        start = timestamp_pb2.Timestamp(seconds=now.seconds - 4 * 3600 - 1800)
        end = timestamp_pb2.Timestamp(seconds=now.seconds - 3600 - 1800)
        got = self.list_all(create_time=common_pb2.TimeRange(start_time=start, end_time=end),
                            page_size=2)
        self.assertEqual(got, ["L-10", "L-09", "L-08"])
        got = self.list_all(create_time=common_pb2.TimeRange(end_time=end))
        self.assertEqual(got[0], "L-10")
        self.assertEqual(len(got), 11)
        with self.assertRaises(grpc.RpcError) as cm:
            self.list(create_time=common_pb2.TimeRange(start_time=end, end_time=start))
        err = cm.exception
        self.assertEqual(err.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("create_time", harness.field_violations(err))

    def test_external_id_and_supplier_filters(self):
        self.assertEqual(self.list_all(external_order_id="L-04"), ["L-04"])
        self.assertEqual(self.list_all(external_order_id="nope"), [])
        # no supplier orders exist before the purchase step
        self.assertEqual(self.list_all(supplier_id=str(uuid.uuid4())), [])

    def test_page_token_with_other_filters_is_invalid(self):
        token = self.list(page_size=3).next_page_token
        self.assertNotEqual(token, "")
        for kw in (dict(states=[RECEIVED]), dict(external_order_id="L-01"),
                   dict(create_time=common_pb2.TimeRange(
                       start_time=timestamp_pb2.Timestamp(seconds=1)))):
            with self.subTest(kw=kw):
                with self.assertRaises(grpc.RpcError) as cm:
                    self.list(page_size=3, page_token=token, **kw)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertIn("page_token", harness.field_violations(cm.exception))
        # the same filters with another page size are fine
        self.assertEqual(len(self.list(page_size=4, page_token=token).orders), 4)

    def test_bad_list_arguments(self):
        for kw, field in ((dict(page_size=501), "page_size"), (dict(page_size=-1), "page_size"),
                          (dict(page_token="garbage"), "page_token"),
                          (dict(states=[99]), "states[0]"),
                          (dict(hold_reasons=[0, 42]), "hold_reasons[1]"),
                          (dict(supplier_id="x"), "supplier_id")):
            with self.subTest(field=field):
                with self.assertRaises(grpc.RpcError) as cm:
                    self.list(**kw)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertIn(field, harness.field_violations(cm.exception))

    def test_history_pages(self):
        oid = self.ids[0]
        # extra events as the workflow will write them
        harness.sql(self.db, "INSERT INTO order_events (shop_id, order_id, seq, actor_kind, "
                    "actor_id, type, from_state, to_state, details) SELECT shop_id, order_id, s, "
                    "2, 'verify', 2, 1, 2, jsonb_build_object('step', 'verify', 'n', s::text) "
                    "FROM orders, generate_series(2, 5) s WHERE order_id = '%s'" % oid)
        seqs, token, details = [], "", {}
        for _ in range(10):
            page = self.stub.GetOrderHistory(orders_pb2.GetOrderHistoryRequest(
                order_id=oid, page_size=2, page_token=token), metadata=self.md, timeout=TIMEOUT)
            seqs += [e.sequence for e in page.events]
            details.update({e.sequence: dict(e.details) for e in page.events})
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(seqs, [1, 2, 3, 4, 5])
        self.assertEqual(details[1], {})
        self.assertEqual(details[4], {"step": "verify", "n": "4"})
        # a token of one order's history is refused for another order
        first = self.stub.GetOrderHistory(orders_pb2.GetOrderHistoryRequest(
            order_id=oid, page_size=1), metadata=self.md, timeout=TIMEOUT)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.GetOrderHistory(orders_pb2.GetOrderHistoryRequest(
                order_id=self.ids[1], page_size=1, page_token=first.next_page_token),
                metadata=self.md, timeout=TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
