"""dropship-sim: the real-world shaped APIs - a CJdropshipping-style order
flow (createOrderV2, confirmOrder, payBalance, getOrderDetail, deleteOrder,
trackInfo) and a 17TRACK v2.2-style tracking API (register, gettrackinfo,
stoptrack) - and a clean SIGTERM shutdown."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ.get("DS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")), "tests", "sim"))
from simclient import Sim, run  # noqa: E402

SIM = None
TOKEN = "tok"
CJ = "/cj/api2.0/v1/"
T17 = "/17track/track/v2.2/"


def cj(method, path, body=None, token=TOKEN):
    s, b, _ = SIM.request(method, CJ + path, body, headers={"CJ-Access-Token": token})
    return s, b


def t17(path, body, token=TOKEN):
    s, b, _ = SIM.request("POST", T17 + path, body, headers={"17token": token})
    return s, b


def cj_order(number, products, pay_type=3):
    return {"orderNumber": number, "shippingCountryCode": "US", "shippingCountry": "United States",
            "shippingProvince": "CA", "shippingCity": "Los Angeles", "shippingAddress": "1 Main St",
            "shippingCustomerName": "Grace Hopper", "shippingZip": "90001", "shippingPhone": "+1 555 0100",
            "logisticName": "SimPost", "fromCountryCode": "CN", "payType": pay_type,
            "products": [{"vid": v, "quantity": q} for v, q in products]}


def test_cj_flow_create_confirm_pay_ship_deliver():
    s, b = cj("POST", "shopping/order/createOrderV2", cj_order("cj-1", [("S1", 2)]))
    assert s == 200 and b["code"] == 200 and b["result"] is True and b["requestId"], b
    d = b["data"]
    oid = d["orderId"]
    assert d["orderNumber"] == "cj-1" and d["orderStatus"] == "CREATED" and d["orderAmount"] > 0, d
    assert d["productInfoList"][0]["variantId"] == "S1"
    # same orderNumber, same products: the same order
    s, again = cj("POST", "shopping/order/createOrderV2", cj_order("cj-1", [("S1", 2)]))
    assert again["data"]["orderId"] == oid
    s, other = cj("POST", "shopping/order/createOrderV2", cj_order("cj-1", [("S1", 3)]))
    assert other["result"] is False and other["code"] == 1603001, other
    # unpaid CJ orders do not move
    for _ in range(4):
        assert cj("GET", "shopping/order/getOrderDetail?orderId=" + oid)[1]["data"]["orderStatus"] == "CREATED"
    assert cj("POST", "shopping/pay/payBalance", {"orderId": oid})[1]["code"] == 1605001  # confirm first
    assert cj("PATCH", "shopping/order/confirmOrder", {"orderId": oid})[1]["data"] == oid
    assert cj("GET", "shopping/order/getOrderDetail?orderId=" + oid)[1]["data"]["orderStatus"] == "UNPAID"
    assert cj("POST", "shopping/pay/payBalance", {"orderId": oid})[1]["result"] is True
    seen = []
    for _ in range(5):
        d = cj("GET", "shopping/order/getOrderDetail?orderId=" + oid)[1]["data"]
        seen.append(d["orderStatus"])
    assert seen[0] == "UNSHIPPED" and seen[-1] == "SHIPPED", seen
    track = d["trackNumber"]
    assert track.startswith("SIM") and d["productList"][0]["vid"] == "S1", d
    texts = [cj("GET", "logistic/trackInfo?trackNumber=" + track)[1]["data"][0]["trackingStatus"]
             for _ in range(5)]
    assert texts[0] == "Info received" and texts[-1] == "Delivered", texts
    assert cj("GET", "shopping/order/getOrderDetail?orderId=" + oid)[1]["data"]["orderStatus"] == "DELIVERED"
    st = SIM.stats()
    assert st["orders_by_order_ref"]["cj-1"]["orders_created"] == 1 and st["payments"] == 1
    assert st["requests"]["cj.getOrderDetail"] >= 10


def test_cj_balance_pay_at_create_and_errors():
    s, b = cj("POST", "shopping/order/createOrderV2", cj_order("cj-2", [("S1", 1)], pay_type=2))
    assert b["data"]["orderStatus"] == "UNSHIPPED", b
    s, b = cj("POST", "shopping/order/createOrderV2", cj_order("cj-3", [("OOS-1", 1)]))
    assert b["result"] is False and b["code"] == 1603100, b
    s, b = cj("POST", "shopping/order/createOrderV2", cj_order("cj-4", [("REJECT-1", 1)]))
    assert b["code"] == 1603101, b
    s, b = cj("GET", "shopping/order/getOrderDetail?orderId=nope")
    assert b["code"] == 1604001
    s, b = cj("GET", "shopping/order/getOrderDetail?orderId=x", token="wrong")
    assert s == 401 and b["code"] == 1600001
    s, b = cj("POST", "shopping/order/createOrderV2", cj_order("cj-5", [("S1", 1)]))
    oid = b["data"]["orderId"]
    assert cj("DELETE", "shopping/order/deleteOrder?orderId=" + oid)[1]["result"] is True
    assert cj("GET", "shopping/order/getOrderDetail?orderId=" + oid)[1]["data"]["orderStatus"] == "CANCELLED"


def shipped_number():
    o = SIM.create_order("acme", "t17:%d" % len(SIM.stats()["orders_by_order_ref"]), [("LOST-1", 1)])[1]
    return SIM.poll_until_shipped("acme", o["supplier_order_id"])["parcels"][0]["tracking_number"]


def test_17track_register_and_gettrackinfo():
    n = shipped_number()
    s, b = t17("gettrackinfo", [{"number": n}])
    assert b["code"] == 0 and b["data"]["rejected"][0]["error"]["code"] == -18019902, b
    s, b = t17("register", [{"number": n}, {"number": "RR123456789CN"}])
    acc = {a["number"]: a for a in b["data"]["accepted"]}
    assert acc[n]["carrier"] == 190999 and "RR123456789CN" in acc, b
    s, b = t17("register", [{"number": n}])
    assert b["data"]["rejected"][0]["error"]["code"] == -18019901
    seen = []
    for _ in range(5):
        s, b = t17("gettrackinfo", [{"number": n}])
        info = b["data"]["accepted"][0]["track_info"]
        seen.append((info["latest_status"]["status"], info["latest_status"]["sub_status"]))
    assert seen[0] == ("InfoReceived", "InfoReceived"), seen
    assert ("InTransit", "InTransit_PickedUp") in seen
    assert seen[-1] == ("Exception", "Exception_Lost"), seen
    events = info["tracking"]["providers"][0]["events"]
    assert events[0]["sub_status"] == "Exception_Lost" and len(events) == 4  # newest first
    assert info["latest_event"]["time_iso"].endswith("Z")
    s, b = t17("gettrackinfo", [{"number": "RR123456789CN"}])
    assert b["data"]["accepted"][0]["track_info"]["latest_status"]["status"] == "NotFound"
    s, b = t17("stoptrack", [{"number": n}])
    assert b["data"]["accepted"][0]["number"] == n
    s, b = t17("gettrackinfo", [{"number": n}])
    assert b["data"]["rejected"][0]["error"]["code"] == -18019902
    s, b = t17("register", [{"number": n}], token="bad")
    assert s == 401 and b["code"] == -18010002
    assert t17("register", {"number": n})[1]["code"] != 0  # a list is required


def test_17track_duplicate_events_fault():
    n = shipped_number()
    t17("register", [{"number": n}])
    t17("gettrackinfo", [{"number": n}])
    SIM.faults({"type": "duplicate", "prefix": T17 + "gettrackinfo", "count": 1})
    ev = t17("gettrackinfo", [{"number": n}])[1]["data"]["accepted"][0]["track_info"]["tracking"]["providers"][0]["events"]
    assert ev[0] == ev[1], ev


def test_sigterm_exits_cleanly():
    sim = Sim()
    assert sim.get("/_sim/health")[0] == 200
    assert sim.stop() == 0


def main():
    global SIM
    with Sim(token=TOKEN) as SIM:
        run([test_cj_flow_create_confirm_pay_ship_deliver, test_cj_balance_pay_at_create_and_errors,
             test_17track_register_and_gettrackinfo, test_17track_duplicate_events_fault])
    run([test_sigterm_exits_cleanly])


if __name__ == "__main__":
    main()
