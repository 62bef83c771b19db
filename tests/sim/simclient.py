"""simclient - start dropship-sim and talk to it with urllib (tests and demos).

    from simclient import Sim
    with Sim(token="t") as sim:
        status, body, headers = sim.post("/suppliers/acme/v1/orders", {...}, key="k1")
"""
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def sim_binary():
    """Path of dropship-sim: $DS_SIM, else $DS_BUILD_DIR/tests/sim/dropship-sim."""
    path = os.environ.get("DS_SIM")
    if not path:
        build = os.environ.get("DS_BUILD_DIR")
        if not build:
            raise RuntimeError("set DS_SIM or DS_BUILD_DIR")
        path = os.path.join(build, "tests", "sim", "dropship-sim")
    if not os.access(path, os.X_OK):
        raise RuntimeError("dropship-sim not found at %s" % path)
    return path


class Sim:
    """A dropship-sim process on a free loopback port; stops on exit."""

    def __init__(self, *args, token=None, start_timeout=10.0):
        self.token = token
        self.stderr_text = ""
        self.dir = tempfile.TemporaryDirectory(prefix="dssim-")
        port_file = os.path.join(self.dir.name, "port")
        cmd = [sim_binary(), "--listen", "127.0.0.1:0", "--port-file", port_file]
        if token:
            cmd += ["--token", token]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + start_timeout
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("dropship-sim exited: %s" % self.proc.stderr.read().decode())
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("dropship-sim did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.base = "http://127.0.0.1:%d" % self.port

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        rc = self.stop()
        if exc_type is None and rc != 0:
            raise AssertionError("dropship-sim exited with %s:\n%s" % (rc, self.stderr_text))

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.proc.stderr.closed:
            self.stderr_text = self.proc.stderr.read().decode(errors="replace")
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.dir.cleanup()
        return self.proc.returncode

    def request(self, method, path, body=None, key=None, headers=None, timeout=10.0, raw=None):
        """(status, parsed JSON body or None, headers). HTTP errors are returned,
        not raised; transport errors (timeouts, resets) are raised."""
        h = {"Content-Type": "application/json"}
        if self.token and not path.startswith(("/cj/", "/17track/")):
            h["Authorization"] = "Bearer " + self.token
        if key is not None:
            h["Idempotency-Key"] = key
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        return status, (json.loads(text) if text else None), hdrs

    def raw_request(self, method, path, body=None, key=None, timeout=10.0):
        """(status, raw bytes) without JSON parsing."""
        h = {"Content-Type": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if key is not None:
            h["Idempotency-Key"] = key
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def stats(self):
        return self.get("/_sim/stats")[1]

    def reset(self):
        return self.post("/_sim/reset", {})

    def set_sku(self, sku, stock=None, cost=None):
        """Override a SKU's stock and/or cost (Money dict, or a "12.50" string
        in USD) in every supplier until reset()."""
        body = {"sku": sku}
        if stock is not None:
            body["stock"] = stock
        if isinstance(cost, str):
            units, _, frac = cost.partition(".")
            cost = {"currency_code": "USD", "units": units,
                    "nanos": int((frac + "000000000")[:9])}
        if cost is not None:
            body["cost"] = cost
        status, resp, _ = self.post("/_sim/skus", body)
        assert status == 200, resp
        return resp

    def faults(self, *rules, clear=False):
        body = {"faults": list(rules)}
        if clear:
            body["clear"] = True
        status, resp, _ = self.post("/_sim/faults", body)
        assert status == 200, resp
        return resp

    # --- the project supplier contract -----------------------------------
    def create_order(self, supplier, order_ref, lines, key=None, ship_to=None):
        body = {"order_ref": order_ref,
                "lines": [{"sku": s, "quantity": q} for s, q in lines],
                "ship_to": ship_to or SHIP_TO}
        return self.post("/suppliers/%s/v1/orders" % supplier, body,
                         key=key if key is not None else order_ref)

    def get_order(self, supplier, order_id):
        return self.get("/suppliers/%s/v1/orders/%s" % (supplier, order_id))

    def poll_until_shipped(self, supplier, order_id, max_polls=50):
        for _ in range(max_polls):
            status, body, _ = self.get_order(supplier, order_id)
            assert status == 200, body
            if body["status"] == "SHIPPED":
                return body
        raise AssertionError("order %s never shipped" % order_id)

    def tracking(self, carrier, number):
        return self.get("/tracking/v1/trackings/%s/%s" % (carrier, number))


SHIP_TO = {"recipient_name": "Ada Lovelace", "phone": "+44 20 7946 0000",
           "country_code": "GB", "region": "London", "city": "London",
           "street": "12 St James's Square", "postal_code": "SW1Y 4JH"}


def check(cond, what):
    """assert that survives python -O."""
    if not cond:
        raise AssertionError(what)


def run(tests):
    """Run test functions in order, print each, exit 1 on the first failure."""
    import sys
    import traceback
    for t in tests:
        try:
            t()
            print("ok   %s" % t.__name__, flush=True)
        except Exception:
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
            sys.exit(1)
