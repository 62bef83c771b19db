"""The milestone as an ERP developer sees it, with nothing but the Python
client generated from the proto files: set up a supplier and a product
binding, create an order, read all three back, then create 250 orders and
page through them newest first."""
import sys
import unittest

import harness
from dropship.v1 import (catalog_pb2, catalog_pb2_grpc, common_pb2, orders_pb2, orders_pb2_grpc,
                         suppliers_pb2, suppliers_pb2_grpc)

TIMEOUT = 30


def ship_to():
    return common_pb2.Address(recipient_name="Li Wei", phone="+86 138 0013 8000",
                              country_code="CN", region="Zhejiang", city="Hangzhou",
                              district="Xihu", street="18 Wensan Road, Building 2",
                              postal_code="310013")


def new_order(external_id, sku="MUG-RED", quantity=2):
    return orders_pb2.Order(
        external_order_id=external_id,
        currency_code="USD",
        shipping_address=ship_to(),
        lines=[orders_pb2.OrderLine(shop_sku=sku, quantity=quantity, title="Red mug",
                                    unit_price=common_pb2.Money(currency_code="USD", units=12,
                                                                nanos=500000000))])


class PythonClient(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.db = harness.fresh_database("python_client")
        # No workflow in this server: the order must read back exactly as
        # created, not already VERIFYING or PURCHASING (a race the workflow
        # wins now and then, more often under the sanitizers).
        cls.server = harness.Server(cls.db, workflow_workers=0)
        shop = harness.create_shop(cls.db, "Python client shop")
        cls.md = harness.auth(harness.create_api_key(cls.db, shop))
        cls.channel = harness.channel(cls.server.addr)
        cls.suppliers = suppliers_pb2_grpc.SupplierServiceStub(cls.channel)
        cls.catalog = catalog_pb2_grpc.CatalogServiceStub(cls.channel)
        cls.orders = orders_pb2_grpc.OrderServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.__exit__(None, None, None)

    def test_supplier_binding_and_order_round_trip(self):
        # A supplier we pay and order from by hand.
        supplier = self.suppliers.CreateSupplier(suppliers_pb2.CreateSupplierRequest(
            request_id="supplier-1",
            supplier=suppliers_pb2.Supplier(
                display_name="Hangzhou Ceramics",
                default_currency_code="CNY",
                adapter=suppliers_pb2.SupplierAdapterConfig(
                    kind=suppliers_pb2.SUPPLIER_ADAPTER_KIND_MANUAL))),
            metadata=self.md, timeout=TIMEOUT).supplier
        self.assertTrue(supplier.id)

        # Our SKU MUG-RED is the supplier's SKU CM-100, at most 30 CNY a piece.
        binding = self.catalog.CreateBinding(catalog_pb2.CreateBindingRequest(
            request_id="binding-1",
            binding=catalog_pb2.Binding(
                shop_sku="MUG-RED", supplier_id=supplier.id, supplier_sku="CM-100",
                max_cost=common_pb2.Money(currency_code="CNY", units=30))),
            metadata=self.md, timeout=TIMEOUT).binding
        self.assertTrue(binding.id)

        # A buyer ordered two mugs.
        order = self.orders.CreateOrder(orders_pb2.CreateOrderRequest(
            request_id="order-1", order=new_order("SHOP-1001")),
            metadata=self.md, timeout=TIMEOUT).order
        self.assertEqual(order.state, common_pb2.ORDER_STATE_RECEIVED)

        # All three read back as created.
        got_supplier = self.suppliers.GetSupplier(
            suppliers_pb2.GetSupplierRequest(supplier_id=supplier.id),
            metadata=self.md, timeout=TIMEOUT).supplier
        got_binding = self.catalog.GetBinding(
            catalog_pb2.GetBindingRequest(binding_id=binding.id),
            metadata=self.md, timeout=TIMEOUT).binding
        got_order = self.orders.GetOrder(
            orders_pb2.GetOrderRequest(order_id=order.id),
            metadata=self.md, timeout=TIMEOUT).order
        self.assertEqual(got_supplier, supplier)
        self.assertEqual(got_binding, binding)
        self.assertEqual(got_order, order)
        self.assertEqual(got_binding.supplier_id, supplier.id)
        self.assertEqual(got_order.lines[0].shop_sku, got_binding.shop_sku)
        self.assertEqual(got_order.shipping_address, ship_to())

    def test_250_orders_in_pages_of_100_newest_first(self):
        created = []
        for i in range(250):
            created.append(self.orders.CreateOrder(
                orders_pb2.CreateOrderRequest(order=new_order("BULK-%03d" % i)),
                metadata=self.md, timeout=TIMEOUT).order.id)

        pages, token = [], ""
        while True:
            page = self.orders.ListOrders(
                orders_pb2.ListOrdersRequest(page_size=100, page_token=token),
                metadata=self.md, timeout=TIMEOUT)
            pages.append([o for o in page.orders if o.external_order_id.startswith("BULK-")])
            token = page.next_page_token
            if not token:
                break
            self.assertLess(len(pages), 10, "paging does not end")

        self.assertEqual([len(p) for p in pages][:2], [100, 100])
        self.assertGreaterEqual(len(pages[2]), 50)
        seen = [o.id for p in pages for o in p]
        self.assertEqual(sorted(seen), sorted(created), "every order exactly once")
        self.assertEqual(seen, list(reversed(created)), "newest first")
        times = [(o.create_time.seconds, o.create_time.nanos) for p in pages for o in p]
        self.assertEqual(times, sorted(times, reverse=True))


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
