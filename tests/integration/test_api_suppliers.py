"""SupplierService against a real dropshipd and PostgreSQL: round trips,
keyset paging, field masks, etags, request_id idempotency, validation that
writes nothing, tenant isolation, authentication and write-only credentials."""
import re
import unittest
import uuid

import grpc

import harness
from dropship.v1 import common_pb2, suppliers_pb2, suppliers_pb2_grpc
from google.protobuf import duration_pb2, field_mask_pb2

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMEOUT = 10
SECRET = "sk-live-4f1c2b9e-very-secret"
TRACKING_SECRET = "trk-7d0e-also-secret"


def supplier(name="Shenzhen Goods", **kw):
    s = suppliers_pb2.Supplier(
        display_name=name,
        default_currency_code="CNY",
        adapter=suppliers_pb2.SupplierAdapterConfig(
            kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT,
            base_url="https://api.supplier.example/",
            credential=SECRET,
            default_rate_limit=suppliers_pb2.RateLimit(requests_per_second=2.5, burst=4),
            endpoint_rate_limits=[suppliers_pb2.EndpointRateLimit(
                endpoint=suppliers_pb2.SUPPLIER_ENDPOINT_LIST_OFFERS,
                limit=suppliers_pb2.RateLimit(requests_per_second=0.5, burst=1))],
            request_timeout=duration_pb2.Duration(seconds=20)),
        tracking=suppliers_pb2.TrackingConfig(
            kind=suppliers_pb2.TRACKING_PROVIDER_KIND_CONTRACT,
            base_url="http://127.0.0.1:9/track",
            credential=TRACKING_SECRET,
            stale_after=duration_pb2.Duration(seconds=5 * 86400)),
        payment_mode=common_pb2.PAYMENT_MODE_AUTO,
        payment_due=duration_pb2.Duration(seconds=3600),
        return_address=common_pb2.Address(
            recipient_name="Returns Dept", phone="+86 755 1234 5678", country_code="CN",
            region="Guangdong", city="Shenzhen", street="1 Factory Road", postal_code="518000"),
        return_rules=common_pb2.ReturnRules(
            no_reason_return_days=7, return_postage_payer=common_pb2.RETURN_POSTAGE_PAYER_BUYER,
            damaged_goods_policy="photo within 48 h", warranty_days=90),
        contact=suppliers_pb2.SupplierContact(name="Li", email="li@supplier.example",
                                              messenger="wechat:li123"))
    for k, v in kw.items():
        setattr(s, k, v)
    return s


class SupplierServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = harness.fresh_database("api_suppliers")
        cls.server = harness.Server(cls.db)
        cls.shop = harness.create_shop(cls.db, "Shop A")
        cls.key = harness.create_api_key(cls.db, cls.shop)
        cls.other_shop = harness.create_shop(cls.db, "Shop B")
        cls.other_key = harness.create_api_key(cls.db, cls.other_shop)
        cls.channel = harness.channel(cls.server.addr)
        cls.stub = suppliers_pb2_grpc.SupplierServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        cls.server.kill()
        assert code == 0, "dropshipd exited with %d" % code

    # --- helpers ---

    def call(self, method, req, key=None):
        return getattr(self.stub, method)(req, metadata=harness.auth(key or self.key),
                                          timeout=TIMEOUT)

    def create(self, s=None, key=None, request_id=""):
        req = suppliers_pb2.CreateSupplierRequest(supplier=s or supplier(), request_id=request_id)
        return self.call("CreateSupplier", req, key).supplier

    def get(self, sid, key=None):
        return self.call("GetSupplier", suppliers_pb2.GetSupplierRequest(supplier_id=sid),
                         key).supplier

    def update(self, s, paths, key=None):
        req = suppliers_pb2.UpdateSupplierRequest(
            supplier=s, update_mask=field_mask_pb2.FieldMask(paths=paths))
        return self.call("UpdateSupplier", req, key).supplier

    def fails(self, code, fn, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def rows(self, where="TRUE"):
        return harness.count_rows(self.db, "suppliers", where)

    # --- tests ---

    def test_create_then_get_round_trips_every_field(self):
        sent = supplier("Round Trip Ltd")
        got = self.create(sent)
        self.assertRegex(got.id, UUID)
        self.assertTrue(got.etag)
        self.assertGreater(got.create_time.seconds, 0)
        self.assertEqual(got.create_time, got.update_time)
        expect = suppliers_pb2.Supplier()
        expect.CopyFrom(sent)
        expect.adapter.credential = ""
        expect.adapter.credential_set = True
        expect.tracking.credential = ""
        expect.tracking.credential_set = True
        trimmed = suppliers_pb2.Supplier()
        trimmed.CopyFrom(got)
        for f in ("id", "create_time", "update_time", "etag"):
            trimmed.ClearField(f)
        self.assertEqual(trimmed, expect)
        self.assertEqual(self.get(got.id), got)

    def test_defaults_apply_on_create(self):
        s = supplier("Defaults")
        s.ClearField("payment_due")
        s.payment_mode = common_pb2.PAYMENT_MODE_UNSPECIFIED
        s.ClearField("tracking")
        s.adapter.kind = suppliers_pb2.SUPPLIER_ADAPTER_KIND_MANUAL
        s.adapter.base_url = ""
        s.adapter.credential = ""
        got = self.create(s)
        self.assertEqual(got.payment_mode, common_pb2.PAYMENT_MODE_MANUAL)
        self.assertEqual(got.payment_due.seconds, 48 * 3600)
        self.assertFalse(got.HasField("tracking"))
        self.assertFalse(got.adapter.credential_set)

    def test_credentials_are_stored_but_never_returned(self):
        got = self.create(supplier("Secretive"))
        for s in (got, self.get(got.id)):
            self.assertEqual(s.adapter.credential, "")
            self.assertEqual(s.tracking.credential, "")
            self.assertTrue(s.adapter.credential_set and s.tracking.credential_set)
            self.assertNotIn(SECRET.encode(), s.SerializeToString())
        listed = self.call("ListSuppliers", suppliers_pb2.ListSuppliersRequest(page_size=500))
        self.assertNotIn(SECRET.encode(), listed.SerializeToString())
        self.assertNotIn(TRACKING_SECRET.encode(), listed.SerializeToString())
        # in their own columns, not inside the packed configuration
        self.assertEqual(self.rows("supplier_id = '%s' AND adapter_credential = '%s' AND "
                                   "tracking_credential = '%s' AND position(convert_to('%s', "
                                   "'UTF8') in adapter) = 0" % (got.id, SECRET, TRACKING_SECRET,
                                                                SECRET)), 1)

    def test_list_pages_through_120_suppliers_once_each_in_order(self):
        shop = harness.create_shop(self.db, "Many suppliers")
        key = harness.create_api_key(self.db, shop)
        made = [self.create(supplier("Supplier %03d" % i), key=key).id for i in range(120)]
        seen, token, sizes = [], "", []
        for _ in range(10):
            page = self.call("ListSuppliers", suppliers_pb2.ListSuppliersRequest(
                page_size=50, page_token=token), key)
            sizes.append(len(page.suppliers))
            seen += [s.id for s in page.suppliers]
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(sizes, [50, 50, 20])
        self.assertEqual(seen, made)
        # the default page size is 50
        page = self.call("ListSuppliers", suppliers_pb2.ListSuppliersRequest(), key)
        self.assertEqual(len(page.suppliers), 50)

    def test_list_rejects_bad_page_size_and_token(self):
        for req, field in ((suppliers_pb2.ListSuppliersRequest(page_size=501), "page_size"),
                           (suppliers_pb2.ListSuppliersRequest(page_size=-1), "page_size"),
                           (suppliers_pb2.ListSuppliersRequest(page_token="garbage"),
                            "page_token")):
            e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.call, "ListSuppliers", req)
            self.assertIn(field, harness.field_violations(e))

    def test_update_changes_only_masked_fields(self):
        orig = self.create(supplier("Before"))
        change = supplier("After")
        change.id = orig.id
        change.default_currency_code = "USD"  # not in the mask: must stay CNY
        change.contact.name = "Wang"           # not in the mask either
        got = self.update(change, ["display_name"])
        self.assertEqual(got.display_name, "After")
        self.assertEqual(got.default_currency_code, "CNY")
        self.assertEqual(got.contact.name, "Li")
        self.assertNotEqual(got.etag, orig.etag)
        self.assertEqual(got.create_time, orig.create_time)
        self.assertGreaterEqual((got.update_time.seconds, got.update_time.nanos),
                                (orig.update_time.seconds, orig.update_time.nanos))
        self.assertEqual(self.get(orig.id), got)
        # a nested path changes just that field
        change = suppliers_pb2.Supplier(id=orig.id, etag=got.etag)
        change.adapter.base_url = "https://v2.supplier.example/api/"
        got2 = self.update(change, ["adapter.base_url"])
        self.assertEqual(got2.adapter.base_url, "https://v2.supplier.example/api/")
        self.assertEqual(got2.adapter.kind, suppliers_pb2.SUPPLIER_ADAPTER_KIND_CONTRACT)
        self.assertEqual(got2.adapter.default_rate_limit.burst, 4)
        self.assertTrue(got2.adapter.credential_set)

    def test_update_credentials_and_remove_tracking(self):
        orig = self.create(supplier("Rotating"))
        change = suppliers_pb2.Supplier(id=orig.id)
        change.adapter.credential = "new-secret"
        self.update(change, ["adapter.credential"])
        self.assertEqual(self.rows("supplier_id = '%s' AND adapter_credential = 'new-secret'"
                                   % orig.id), 1)
        # a whole adapter with a blank credential keeps the stored one
        change = supplier("Rotating")
        change.id = orig.id
        change.adapter.credential = ""
        got = self.update(change, ["adapter"])
        self.assertTrue(got.adapter.credential_set)
        self.assertEqual(self.rows("supplier_id = '%s' AND adapter_credential = 'new-secret'"
                                   % orig.id), 1)
        # an unset tracking in the mask removes tracking and its secret
        got = self.update(suppliers_pb2.Supplier(id=orig.id), ["tracking"])
        self.assertFalse(got.HasField("tracking"))
        self.assertEqual(self.rows("supplier_id = '%s' AND tracking IS NULL AND "
                                   "tracking_credential IS NULL" % orig.id), 1)

    def test_update_with_stale_etag_is_aborted_and_changes_nothing(self):
        orig = self.create(supplier("Etag"))
        change = suppliers_pb2.Supplier(id=orig.id, etag=orig.etag, display_name="First")
        first = self.update(change, ["display_name"])
        change.display_name = "Second"  # still carries the old etag
        e = self.fails(grpc.StatusCode.ABORTED, self.update, change, ["display_name"])
        self.assertEqual(harness.error_info(e).reason, "ETAG_MISMATCH")
        self.assertEqual(self.get(orig.id), first)
        change.etag = first.etag
        self.assertEqual(self.update(change, ["display_name"]).display_name, "Second")

    def test_bad_mask_paths_are_invalid_and_named(self):
        orig = self.create(supplier("Masked"))
        change = suppliers_pb2.Supplier(id=orig.id, display_name="Never")
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.update, change,
                       ["display_name", "no_such_field", "create_time", "adapter.credential_set",
                        "return_address.city"])
        v = harness.field_violations(e)
        self.assertIn("no_such_field", v["update_mask.paths[1]"])
        self.assertIn("output only", v["update_mask.paths[2]"])
        self.assertIn("output only", v["update_mask.paths[3]"])
        self.assertIn("return_address.city", v["update_mask.paths[4]"])
        self.assertNotIn("update_mask.paths[0]", v)
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.update, change, [])
        self.assertIn("update_mask", harness.field_violations(e))
        self.assertEqual(self.get(orig.id), orig)

    def test_update_checks_the_merged_supplier(self):
        orig = self.create(supplier("Merged"))
        change = suppliers_pb2.Supplier(id=orig.id)
        change.adapter.base_url = ""  # CONTRACT needs a base_url
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.update, change, ["adapter.base_url"])
        self.assertIn("supplier.adapter.base_url", harness.field_violations(e))
        change = suppliers_pb2.Supplier(id=orig.id, display_name="x" * 201)
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.update, change, ["display_name"])
        self.assertIn("supplier.display_name", harness.field_violations(e))
        self.assertEqual(self.get(orig.id), orig)

    def test_each_invalid_field_is_named_and_nothing_is_written(self):
        def bad(**changes):
            s = supplier("Invalid")
            for path, value in changes.items():
                obj = s
                parts = path.split("__")
                for p in parts[:-1]:
                    obj = getattr(obj, p)
                if value is None:
                    obj.ClearField(parts[-1])
                else:
                    setattr(obj, parts[-1], value)
            return s
        cases = [
            (bad(display_name=""), "supplier.display_name"),
            (bad(display_name="a\x01b"), "supplier.display_name"),
            (bad(default_currency_code="XXX"), "supplier.default_currency_code"),
            (bad(adapter=None), "supplier.adapter"),
            (bad(adapter__kind=0), "supplier.adapter.kind"),
            (bad(adapter__base_url="ftp://nope"), "supplier.adapter.base_url"),
            (bad(adapter__credential="x" * 4001), "supplier.adapter.credential"),
            (bad(adapter__default_rate_limit__burst=0),
             "supplier.adapter.default_rate_limit.burst"),
            (bad(adapter__request_timeout__seconds=600), "supplier.adapter.request_timeout"),
            (bad(tracking__kind=0), "supplier.tracking.kind"),
            (bad(tracking__base_url=""), "supplier.tracking.base_url"),
            (bad(tracking__stale_after__seconds=60), "supplier.tracking.stale_after"),
            (bad(payment_mode=7), "supplier.payment_mode"),
            (bad(payment_due__seconds=10), "supplier.payment_due"),
            (bad(return_address__country_code="ZZ"), "supplier.return_address.country_code"),
            (bad(return_address__postal_code="12"), "supplier.return_address.postal_code"),
            (bad(return_address__phone="call me"), "supplier.return_address.phone"),
            (bad(return_rules__no_reason_return_days=400),
             "supplier.return_rules.no_reason_return_days"),
            (bad(contact__email="not-an-address"), "supplier.contact.email"),
        ]
        before = self.rows()
        for s, field in cases:
            with self.subTest(field=field):
                e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.create, s)
                self.assertIn(field, harness.field_violations(e))
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.call, "CreateSupplier",
                       suppliers_pb2.CreateSupplierRequest())
        self.assertIn("supplier", harness.field_violations(e))
        # every violation at once
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.create,
                       bad(display_name="", default_currency_code="usd", adapter__kind=0),
                       request_id="bad id!")
        self.assertTrue({"supplier.display_name", "supplier.default_currency_code",
                         "supplier.adapter.kind", "request_id"}
                        <= set(harness.field_violations(e)))
        self.assertEqual(self.rows(), before)

    def test_request_id_replays_and_conflicts(self):
        rid = "erp-" + uuid.uuid4().hex
        first = self.create(supplier("Idempotent"), request_id=rid)
        again = self.create(supplier("Idempotent"), request_id=rid)
        self.assertEqual(again.id, first.id)
        self.assertEqual(self.rows("request_id = '%s'" % rid), 1)
        e = self.fails(grpc.StatusCode.ALREADY_EXISTS, self.create, supplier("Different"),
                       request_id=rid)
        self.assertEqual(harness.error_info(e).reason, "REQUEST_ID_REUSED")
        self.assertEqual(self.rows("display_name = 'Different'"), 0)
        # the same request_id in another shop is another request
        theirs = self.create(supplier("Idempotent"), key=self.other_key, request_id=rid)
        self.assertNotEqual(theirs.id, first.id)

    def test_other_shops_suppliers_are_not_found(self):
        mine = self.create(supplier("Mine"))
        e_other = self.fails(grpc.StatusCode.NOT_FOUND, self.get, mine.id, key=self.other_key)
        absent = str(uuid.uuid4())
        e_absent = self.fails(grpc.StatusCode.NOT_FOUND, self.get, absent)
        self.assertEqual(e_other.details().replace(mine.id, "ID"),
                         e_absent.details().replace(absent, "ID"))
        change = suppliers_pb2.Supplier(id=mine.id, display_name="Stolen")
        self.fails(grpc.StatusCode.NOT_FOUND, self.update, change, ["display_name"],
                   key=self.other_key)
        listed = self.call("ListSuppliers", suppliers_pb2.ListSuppliersRequest(page_size=500),
                           self.other_key)
        self.assertNotIn(mine.id, [s.id for s in listed.suppliers])
        self.assertEqual(self.get(mine.id).display_name, "Mine")

    def test_get_needs_a_uuid(self):
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.get, "not-a-uuid")
        self.assertIn("supplier_id", harness.field_violations(e))

    def test_missing_or_wrong_key_is_unauthenticated(self):
        req = suppliers_pb2.ListSuppliersRequest()
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ListSuppliers(req, timeout=TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        wrong = "dsk_" + "A" * 43
        self.fails(grpc.StatusCode.UNAUTHENTICATED, self.call, "ListSuppliers", req, wrong)
        before = self.rows()
        self.fails(grpc.StatusCode.UNAUTHENTICATED, self.create, supplier("Nobody"), key=wrong)
        self.assertEqual(self.rows(), before)


if __name__ == "__main__":
    unittest.main()
