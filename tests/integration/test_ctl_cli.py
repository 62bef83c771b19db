"""dropshipctl against a real dropshipd: help at every level carries the proto
comments, health check/watch work, errors print the status with its decoded
details and map to the documented exit codes, and bad request JSON is
rejected (naming the field) before any connection is made."""
import json
import os
import re
import select
import socket
import subprocess
import sys

import harness

CTL_TIMEOUT_S = 60
EXIT_USAGE = 2
EXIT_GRPC = 10  # + gRPC status code


def ctl(*args, key=None, addr=None, stdin=None):
    env = dict(os.environ)
    env.pop("DROPSHIP_API_KEY", None)
    env.pop("DROPSHIP_ADDR", None)
    argv = [os.environ["DS_DROPSHIPCTL"]]
    if addr:
        argv += ["--addr", addr]
    if key:
        argv += ["--api-key", key]
    r = subprocess.run(argv + list(args), env=env, capture_output=True, text=True,
                       input=stdin, timeout=CTL_TIMEOUT_S)
    return r.returncode, r.stdout, r.stderr


def proto_comment(proto, line_re):
    """The // comment block right above the first line matching line_re."""
    path = os.path.join(os.environ["DS_SOURCE_DIR"], "proto", "dropship", "v1", proto)
    with open(path) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if re.match(line_re, line):
            block = []
            j = i - 1
            while j >= 0 and lines[j].strip().startswith("//"):
                block.insert(0, lines[j].strip()[2:].strip())
                j -= 1
            assert block, "no comment above %r in %s" % (line_re, proto)
            return block
    raise AssertionError("%r not found in %s" % (line_re, proto))


def test_help_at_each_level_shows_proto_comments():
    rc, out, err = ctl("--help")
    assert rc == 0, err
    svc_first = proto_comment("orders.proto", r"^service OrderService")[0]
    assert re.search(r"^\s+orders\s", out, re.M), out
    assert svc_first.split(".")[0] in out, (svc_first, out)
    assert re.search(r"^\s+health\s", out, re.M), out

    rc, out, err = ctl("orders", "--help")
    assert rc == 0, err
    assert svc_first in out, out
    rpc_first = proto_comment("orders.proto", r"^\s+rpc CreateOrder\(")[0]
    assert re.search(r"^\s+create\s", out, re.M), out
    assert re.search(r"^\s+get-history\s", out, re.M), out
    assert rpc_first.split(".")[0] in out, (rpc_first, out)

    rc, out, err = ctl("orders", "create", "--help")
    assert rc == 0, err
    assert rpc_first in out, out
    field_first = proto_comment("orders.proto", r"^\s+string request_id = ")[0]
    assert re.search(r"^\s+requestId\s+string", out, re.M), out
    assert field_first in out, (field_first, out)

    # the full form names the same method
    rc, out2, err = ctl("dropship.v1.OrderService/CreateOrder", "--help")
    assert rc == 0 and out2 == out, err

    rc, out, err = ctl("nosuchservice", "list")
    assert rc == EXIT_USAGE and "unknown service" in err, (rc, err)
    rc, out, err = ctl("orders", "fly")
    assert rc == EXIT_USAGE and "no method \"fly\"" in err, (rc, err)


def test_unknown_field_rejected_before_any_call():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    addr = "127.0.0.1:%d" % listener.getsockname()[1]
    try:
        body = '{"order":{"externalOrderId":"x","lines":[{"qty":2}]}}'
        rc, out, err = ctl("orders", "create", "-d", body, addr=addr, key="dsk_x")
        assert rc == EXIT_USAGE, (rc, err)
        assert 'unknown field "order.lines[0].qty"' in err, err
        rc, out, err = ctl("orders", "create", "-d", "@-", addr=addr, stdin='{"order":{"state":7.5}}')
        assert rc == EXIT_USAGE and 'field "order.state"' in err, (rc, err)
        rc, out, err = ctl("orders", "create", "-d", "{not json", addr=addr)
        assert rc == EXIT_USAGE and "invalid JSON" in err, (rc, err)
        readable, _, _ = select.select([listener], [], [], 0.2)
        assert not readable, "dropshipctl connected although the request was invalid"
    finally:
        listener.close()


def test_against_dropshipd():
    db = harness.fresh_database("ctl_cli")
    harness.migrate(db)
    shop = harness.create_shop(db, "Ctl")
    key = harness.create_api_key(db, shop)
    with harness.Server(db) as srv:
        rc, out, err = ctl("health", "check", addr=srv.addr)
        assert rc == 0, (rc, err)
        assert json.loads(out) == {"status": "SERVING"}, out

        rc, out, err = ctl("grpc.health.v1.Health/Check", "-c", addr=srv.addr)
        assert rc == 0 and out == '{"status":"SERVING"}\n', (rc, out, err)

        rc, out, err = ctl("health", "check", "-d", '{"service":"no.such.Service"}', addr=srv.addr)
        assert rc == EXIT_GRPC + 5, (rc, err)
        assert err.startswith("ERROR NOT_FOUND"), err

        # server streaming: the first answer arrives, then the deadline ends it
        rc, out, err = ctl("health", "watch", "--timeout", "1500ms", addr=srv.addr)
        assert out.splitlines()[0] == '{"status":"SERVING"}', (out, err)
        assert rc == EXIT_GRPC + 4 and "ERROR DEADLINE_EXCEEDED" in err, (rc, err)

        for bad_key in (None, "dsk_" + "A" * 43):
            rc, out, err = ctl("orders", "list", addr=srv.addr, key=bad_key)
            assert rc == EXIT_GRPC + 16, (rc, out, err)
            first, _, rest = err.partition("\n")
            assert first.startswith("ERROR UNAUTHENTICATED: "), err
            details = json.loads(rest)
            assert details["code"] == 16, details
            assert details.get("message"), details
            assert out == "", out

        rc, out, err = ctl("orders", "list", addr=srv.addr, key=key)
        assert rc != EXIT_GRPC + 16, (rc, err)
        assert srv.stop() == 0


def test_output_table():
    """--output table prints any response as `name: value` lines plus one
    table per repeated message field; anything but json/table is a usage
    error caught before a call is made."""
    rc, out, err = ctl("health", "check", "--output", "yaml", addr="127.0.0.1:1")
    assert rc == EXIT_USAGE and "--output yaml" in err, (rc, err)
    rc, out, err = ctl("--help")
    assert rc == 0 and re.search(r"^\s+-o, --output FORMAT\s", out, re.M), out
    db = harness.fresh_database("ctl_cli_table")
    harness.migrate(db)
    shop = harness.create_shop(db, "CtlTable")
    key = harness.create_api_key(db, shop)
    for name, t in (("Zeta\u00fcrich Parts", "2026-01-02T03:04:05Z"),
                    ("Bad\nName", "2026-01-02T03:04:06.5Z")):
        harness.sql(db, "INSERT INTO suppliers (shop_id, display_name, default_currency_code,"
                        " payment_mode, payment_due_us, adapter, create_time) VALUES ('%s', E'%s',"
                        " 'EUR', 2, 93784000000, '\\x', '%s')"
                        % (shop, name.replace("\n", "\\n"), t))
    with harness.Server(db) as srv:
        rc, out, err = ctl("health", "check", "--output", "table", addr=srv.addr)
        assert rc == 0 and out.split() == ["status:", "SERVING"], (rc, out, err)

        rc, out, err = ctl("suppliers", "list", "-o", "table", addr=srv.addr, key=key)
        assert rc == 0, err
        print(out)
        lines = out.splitlines()
        assert "suppliers (2)" in lines, out
        head = [l for l in lines if l.split()[:2] == ["id", "displayName"]]
        assert len(head) == 1, out
        rows = [l for l in lines if "Parts" in l or "Bad Name" in l]
        assert len(rows) == 2, out                       # newline blanked: one line each
        col = head[0].index("displayName")
        assert rows[0][col:].startswith("Zeta\u00fcrich Parts"), (rows, col)
        # the value types: enum names, Duration 1d2h3m4s, RFC 3339 times
        assert "PAYMENT_MODE_MANUAL" in rows[0] and "1d2h3m4s" in rows[0], rows
        assert "2026-01-02T03:04:05Z" in out and "2026-01-02T03:04:06.500Z" in out, out
        assert "{" not in out and not any(l != l.rstrip() for l in lines), out
        assert srv.stop() == 0


def test_unreachable_server_maps_to_unavailable():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, out, err = ctl("health", "check", "--timeout", "5s", addr="127.0.0.1:%d" % port)
    assert rc == EXIT_GRPC + 14, (rc, err)
    assert err.startswith("ERROR UNAVAILABLE"), err


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_") and callable(v)]
    for t in tests:
        print("--", t.__name__, flush=True)
        t()
    print("ok: %d tests" % len(tests))


if __name__ == "__main__":
    sys.exit(main())
