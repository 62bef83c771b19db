"""CatalogService against a real dropshipd and PostgreSQL: binding round trips,
filtered keyset paging, field masks, etags on update and delete, request_id
idempotency, uniqueness, supplier checks, validation that writes nothing,
tenant isolation and authentication."""
import re
import unittest
import uuid

import grpc

import harness
from dropship.v1 import catalog_pb2, catalog_pb2_grpc, common_pb2, suppliers_pb2
from dropship.v1 import suppliers_pb2_grpc
from google.protobuf import field_mask_pb2

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMEOUT = 10


def money(units, nanos=0, currency="CNY"):
    return common_pb2.Money(currency_code=currency, units=units, nanos=nanos)


class CatalogServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = harness.fresh_database("api_catalog")
        cls.server = harness.Server(cls.db)
        cls.shop = harness.create_shop(cls.db, "Shop A")
        cls.key = harness.create_api_key(cls.db, cls.shop)
        cls.other_shop = harness.create_shop(cls.db, "Shop B")
        cls.other_key = harness.create_api_key(cls.db, cls.other_shop)
        cls.channel = harness.channel(cls.server.addr)
        cls.stub = catalog_pb2_grpc.CatalogServiceStub(cls.channel)
        cls.suppliers = suppliers_pb2_grpc.SupplierServiceStub(cls.channel)
        cls.supplier_id = cls.make_supplier(cls.key)
        cls.other_supplier_id = cls.make_supplier(cls.other_key)

    @classmethod
    def make_supplier(cls, key, currency="CNY"):
        s = suppliers_pb2.Supplier(
            display_name="Supplier", default_currency_code=currency,
            adapter=suppliers_pb2.SupplierAdapterConfig(
                kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_MANUAL))
        return cls.suppliers.CreateSupplier(suppliers_pb2.CreateSupplierRequest(supplier=s),
                                            metadata=harness.auth(key), timeout=TIMEOUT).supplier.id

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        cls.server.kill()
        assert code == 0, "dropshipd exited with %d" % code

    # --- helpers ---

    def binding(self, sku="SHIRT-RED-M", supplier_id=None, **kw):
        b = catalog_pb2.Binding(shop_sku=sku, supplier_id=supplier_id or self.supplier_id,
                                supplier_sku="CJ-" + sku, supplier_variant="red / M",
                                max_cost=money(12, 500000000), priority=1, title="Red shirt")
        for k, v in kw.items():
            if hasattr(v, "DESCRIPTOR"):
                getattr(b, k).CopyFrom(v)
            else:
                setattr(b, k, v)
        return b

    def call(self, method, req, key=None):
        return getattr(self.stub, method)(req, metadata=harness.auth(key or self.key),
                                          timeout=TIMEOUT)

    def create(self, b, key=None, request_id=""):
        return self.call("CreateBinding", catalog_pb2.CreateBindingRequest(
            binding=b, request_id=request_id), key).binding

    def get(self, bid, key=None):
        return self.call("GetBinding", catalog_pb2.GetBindingRequest(binding_id=bid), key).binding

    def update(self, b, paths, key=None):
        return self.call("UpdateBinding", catalog_pb2.UpdateBindingRequest(
            binding=b, update_mask=field_mask_pb2.FieldMask(paths=paths)), key).binding

    def delete(self, bid, etag="", key=None):
        return self.call("DeleteBinding", catalog_pb2.DeleteBindingRequest(binding_id=bid,
                                                                           etag=etag), key)

    def fails(self, code, fn, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def rows(self, where="TRUE"):
        return harness.count_rows(self.db, "bindings", where)

    def list_all(self, key=None, **filters):
        seen, token, sizes = [], "", []
        for _ in range(20):
            page = self.call("ListBindings", catalog_pb2.ListBindingsRequest(
                page_size=50, page_token=token, **filters), key)
            sizes.append(len(page.bindings))
            seen += list(page.bindings)
            token = page.next_page_token
            if not token:
                return seen, sizes
        self.fail("ListBindings never ended")

    # --- tests ---

    def test_create_then_get_round_trips(self):
        sent = self.binding("ROUND-TRIP", return_address=common_pb2.Address(
            recipient_name="Returns", phone="+1 555 123 4567", country_code="US", region="CA",
            city="Los Angeles", street="1 Main St", postal_code="90001"),
            return_rules=common_pb2.ReturnRules(no_reason_return_days=30))
        got = self.create(sent)
        self.assertRegex(got.id, UUID)
        self.assertTrue(got.etag)
        self.assertFalse(got.HasField("last_offer"))
        for f in ("shop_sku", "supplier_id", "supplier_sku", "supplier_variant", "max_cost",
                  "priority", "title", "return_address", "return_rules"):
            self.assertEqual(getattr(got, f), getattr(sent, f), f)
        self.assertEqual(self.get(got.id), got)

    def test_list_pages_through_120_bindings_once_each_in_order(self):
        shop = harness.create_shop(self.db, "Many bindings")
        key = harness.create_api_key(self.db, shop)
        sup1, sup2 = self.make_supplier(key), self.make_supplier(key)
        made = []
        for i in range(120):
            sku = "SKU-%03d" % (i * 7 % 60)  # not created in list order
            b = self.binding(sku, supplier_id=sup1 if i < 60 else sup2, priority=i % 4)
            made.append(self.create(b, key=key))
        want = sorted(made, key=lambda b: (b.shop_sku.encode(), b.priority, b.id))
        seen, sizes = self.list_all(key)
        self.assertEqual(sizes, [50, 50, 20])
        self.assertEqual([b.id for b in seen], [b.id for b in want])
        # filters, also across pages
        seen, _ = self.list_all(key, supplier_id=sup2)
        self.assertEqual([b.id for b in seen], [b.id for b in want if b.supplier_id == sup2])
        seen, _ = self.list_all(key, shop_sku="SKU-007")
        self.assertEqual([b.id for b in seen], [b.id for b in want if b.shop_sku == "SKU-007"])
        # a token is bound to its filters
        page = self.call("ListBindings", catalog_pb2.ListBindingsRequest(page_size=10), key)
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.call, "ListBindings",
                       catalog_pb2.ListBindingsRequest(page_size=10,
                                                       page_token=page.next_page_token,
                                                       supplier_id=sup1), key)
        self.assertIn("page_token", harness.field_violations(e))

    def test_update_changes_only_masked_fields(self):
        orig = self.create(self.binding("UPDATE-ME"))
        change = self.binding("UPDATE-ME", id=orig.id, priority=7, title="Changed",
                              max_cost=money(99))
        got = self.update(change, ["priority"])
        self.assertEqual(got.priority, 7)
        self.assertEqual(got.title, "Red shirt")
        self.assertEqual(got.max_cost, orig.max_cost)
        self.assertNotEqual(got.etag, orig.etag)
        got = self.update(change, ["max_cost", "title"])
        self.assertEqual((got.max_cost, got.title, got.priority), (money(99), "Changed", 7))
        self.assertEqual(self.get(orig.id), got)

    def test_update_rejects_bad_masks_and_stale_etags(self):
        orig = self.create(self.binding("GUARDED"))
        change = self.binding("OTHER", id=orig.id)
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.update, change,
                       ["shop_sku", "bogus", "last_offer", "priority"])
        v = harness.field_violations(e)
        self.assertIn("immutable", v["update_mask.paths[0]"])
        self.assertIn("bogus", v["update_mask.paths[1]"])
        self.assertIn("output only", v["update_mask.paths[2]"])
        self.assertNotIn("update_mask.paths[3]", v)
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.update, change, [])
        self.assertIn("update_mask", harness.field_violations(e))
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.update,
                       catalog_pb2.Binding(id=orig.id, max_cost=money(5, currency="USD")),
                       ["max_cost"])
        self.assertIn("binding.max_cost.currency_code", harness.field_violations(e))
        first = self.update(catalog_pb2.Binding(id=orig.id, etag=orig.etag, priority=3),
                            ["priority"])
        e = self.fails(grpc.StatusCode.ABORTED, self.update,
                       catalog_pb2.Binding(id=orig.id, etag=orig.etag, priority=4), ["priority"])
        self.assertEqual(harness.error_info(e).reason, "ETAG_MISMATCH")
        self.assertEqual(self.get(orig.id), first)

    def test_update_to_a_duplicate_is_already_exists(self):
        a = self.create(self.binding("DUP-UPD", supplier_variant="a"))
        self.create(self.binding("DUP-UPD", supplier_variant="b"))
        e = self.fails(grpc.StatusCode.ALREADY_EXISTS, self.update,
                       catalog_pb2.Binding(id=a.id, supplier_variant="b"), ["supplier_variant"])
        self.assertEqual(harness.error_info(e).reason, "DUPLICATE_BINDING")
        self.assertEqual(self.get(a.id), a)

    def test_delete_checks_the_etag(self):
        b = self.create(self.binding("DELETE-ME"))
        newer = self.update(catalog_pb2.Binding(id=b.id, priority=9), ["priority"])
        e = self.fails(grpc.StatusCode.ABORTED, self.delete, b.id, b.etag)
        self.assertEqual(harness.error_info(e).reason, "ETAG_MISMATCH")
        self.assertEqual(self.rows("binding_id = '%s'" % b.id), 1)
        self.delete(b.id, newer.etag)
        self.assertEqual(self.rows("binding_id = '%s'" % b.id), 0)
        self.fails(grpc.StatusCode.NOT_FOUND, self.get, b.id)
        self.fails(grpc.StatusCode.NOT_FOUND, self.delete, b.id)
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.delete, "nope", "x")
        self.assertEqual(set(harness.field_violations(e)), {"binding_id", "etag"})

    def test_supplier_must_exist_in_the_shop_and_match_currency(self):
        before = self.rows()
        for sid in (str(uuid.uuid4()), self.other_supplier_id):
            e = self.fails(grpc.StatusCode.NOT_FOUND, self.create,
                           self.binding("NO-SUPPLIER", supplier_id=sid))
            self.assertIn(sid, e.details())
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.create,
                       self.binding("BAD-SUPPLIER", supplier_id="not-a-uuid"))
        self.assertIn("binding.supplier_id", harness.field_violations(e))
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.create,
                       self.binding("WRONG-CURRENCY", max_cost=money(3, currency="USD")))
        self.assertIn("binding.max_cost.currency_code", harness.field_violations(e))
        self.assertEqual(self.rows(), before)

    def test_duplicates_and_request_id_replays(self):
        first = self.create(self.binding("UNIQUE"))
        e = self.fails(grpc.StatusCode.ALREADY_EXISTS, self.create,
                       self.binding("UNIQUE", priority=5))
        self.assertEqual(harness.error_info(e).reason, "DUPLICATE_BINDING")
        rid = "rq-" + uuid.uuid4().hex
        b = self.binding("REPLAYED")
        one = self.create(b, request_id=rid)
        two = self.create(b, request_id=rid)
        self.assertEqual(one.id, two.id)
        e = self.fails(grpc.StatusCode.ALREADY_EXISTS, self.create,
                       self.binding("REPLAYED-OTHER"), request_id=rid)
        self.assertEqual(harness.error_info(e).reason, "REQUEST_ID_REUSED")
        self.assertEqual(self.rows("shop_sku LIKE 'REPLAYED%'"), 1)
        self.assertNotEqual(first.id, one.id)

    def test_each_invalid_field_is_named_and_nothing_is_written(self):
        cases = [
            (self.binding(""), "binding.shop_sku"),
            (self.binding("A" * 101), "binding.shop_sku"),
            (self.binding("TAB\tSKU"), "binding.shop_sku"),
            (self.binding("X", supplier_sku=""), "binding.supplier_sku"),
            (self.binding("X", supplier_variant="v" * 201), "binding.supplier_variant"),
            (self.binding("X", max_cost=money(0)), "binding.max_cost"),
            (self.binding("X", max_cost=money(-1)), "binding.max_cost"),
            (self.binding("X", max_cost=money(1, -5)), "binding.max_cost.nanos"),
            (self.binding("X", max_cost=money(1, currency="XYZ")),
             "binding.max_cost.currency_code"),
            (self.binding("X", priority=1001), "binding.priority"),
            (self.binding("X", title="t" * 201), "binding.title"),
            (self.binding("X", return_rules=common_pb2.ReturnRules(warranty_days=-1)),
             "binding.return_rules.warranty_days"),
            (self.binding("X", return_address=common_pb2.Address(country_code="US")),
             "binding.return_address.recipient_name"),
        ]
        b = self.binding("X")
        b.ClearField("max_cost")
        cases.append((b, "binding.max_cost"))
        before = self.rows()
        for b, field in cases:
            with self.subTest(field=field):
                e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.create, b)
                self.assertIn(field, harness.field_violations(e))
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.call, "CreateBinding",
                       catalog_pb2.CreateBindingRequest())
        self.assertIn("binding", harness.field_violations(e))
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.create,
                       self.binding("", supplier_sku="", priority=-1), request_id="no spaces")
        self.assertTrue({"binding.shop_sku", "binding.supplier_sku", "binding.priority",
                         "request_id"} <= set(harness.field_violations(e)))
        self.assertEqual(self.rows(), before)

    def test_other_shops_bindings_are_not_found(self):
        mine = self.create(self.binding("MINE"))
        k = self.other_key
        e_other = self.fails(grpc.StatusCode.NOT_FOUND, self.get, mine.id, key=k)
        absent = str(uuid.uuid4())
        e_absent = self.fails(grpc.StatusCode.NOT_FOUND, self.get, absent)
        self.assertEqual(e_other.details().replace(mine.id, "ID"),
                         e_absent.details().replace(absent, "ID"))
        self.fails(grpc.StatusCode.NOT_FOUND, self.update,
                   catalog_pb2.Binding(id=mine.id, priority=9), ["priority"], key=k)
        self.fails(grpc.StatusCode.NOT_FOUND, self.delete, mine.id, key=k)
        seen, _ = self.list_all(k)
        self.assertNotIn(mine.id, [b.id for b in seen])
        self.assertEqual(self.get(mine.id), mine)

    def test_missing_or_wrong_key_is_unauthenticated(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ListBindings(catalog_pb2.ListBindingsRequest(), timeout=TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        before = self.rows()
        self.fails(grpc.StatusCode.UNAUTHENTICATED, self.create, self.binding("NOBODY"),
                   key="dsk_" + "B" * 43)
        self.assertEqual(self.rows(), before)

    def test_sync_offers_skips_manual_suppliers_and_checks_its_input(self):
        b = self.create(self.binding("SYNC-MANUAL"))
        r = self.call("SyncOffers", catalog_pb2.SyncOffersRequest(supplier_id=self.supplier_id))
        self.assertEqual([x.supplier_id for x in r.results], [self.supplier_id])
        self.assertTrue(r.results[0].skipped, r)
        self.assertEqual(r.results[0].synced_count, 0)
        self.assertFalse(self.get(b.id).HasField("last_offer"))
        e = self.fails(grpc.StatusCode.INVALID_ARGUMENT, self.call, "SyncOffers",
                       catalog_pb2.SyncOffersRequest(supplier_id="nope"))
        self.assertEqual(set(harness.field_violations(e)), {"supplier_id"})
        # another shop's supplier and an unknown one are not found
        for sid in (self.other_supplier_id, str(uuid.uuid4())):
            self.fails(grpc.StatusCode.NOT_FOUND, self.call, "SyncOffers",
                       catalog_pb2.SyncOffersRequest(supplier_id=sid))
        # the whole shop: only its own suppliers with bindings
        r = self.call("SyncOffers", catalog_pb2.SyncOffersRequest())
        self.assertEqual([x.supplier_id for x in r.results], [self.supplier_id])

if __name__ == "__main__":
    unittest.main()
