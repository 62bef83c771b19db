"""harness.py - shared helpers of the integration tests: fresh databases on the
suite's PostgreSQL, a running dropshipd, gRPC clients, rich error details and
private PostgreSQL clusters that a test may stop and restart.

Environment (set by ctest, see tests/integration/CMakeLists.txt):
DS_SOURCE_DIR, DS_BUILD_DIR, DS_DROPSHIPD, DS_TEST_PG, DS_PG_BIN.

Import this module before `grpc.health` / `grpc.reflection`: it makes the
generated health and reflection stubs importable under their proto names
without shadowing grpcio (they live in <build>/gen-py-grpc/grpc).

Everything here is bounded in time and cleans up after itself, also when a
test fails half-way.
"""
import atexit
import ctypes
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import grpc

SOURCE_DIR = os.environ.get("DS_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(
                                os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("DS_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
PSQL = "/usr/bin/psql"
PGCLUSTER = os.path.join(SOURCE_DIR, "scripts", "pgcluster")

_STD_STUBS = os.path.join(BUILD_DIR, "gen-py-grpc", "grpc")
if os.path.isdir(_STD_STUBS) and _STD_STUBS not in grpc.__path__:
    grpc.__path__.append(_STD_STUBS)

from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from grpc.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

SQL_TIMEOUT_S = 30
CLI_TIMEOUT_S = 60
START_TIMEOUT_S = 60  # generous: sanitizer builds start slowly
STOP_TIMEOUT_S = 30

_log_seq = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: SIGKILL the child when the test process dies, even by
    SIGKILL (a ctest timeout), so no dropshipd outlives its test."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_SETPRIV = shutil.which("setpriv")


def _spawn(argv, **kw):
    """Popen that SIGKILLs the child when the test process dies. With
    util-linux setpriv the parent-death signal is set by
    `setpriv --pdeathsig KILL` and Python spawns with vfork: a preexec_fn
    makes it fork(), and once the test has used gRPC, grpcio 1.51's fork
    handlers can hang fork() for good (its event engine joins a thread
    that never ends) - seen when a test starts dropshipd after gRPC calls."""
    if _SETPRIV:
        return subprocess.Popen([_SETPRIV, "--pdeathsig", "KILL", *argv], **kw)
    return subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


# SIGTERM unwinds like an exception, so `with` blocks and atexit clean up.
if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _dropshipd():
    path = os.environ.get("DS_DROPSHIPD")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("DS_DROPSHIPD is not set to an executable dropshipd (got %r)" % path)
    return path


def _run(argv, env=None, timeout=CLI_TIMEOUT_S):
    """Run a command, return CompletedProcess (text); raise with its stderr on failure."""
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s%s" % (" ".join(argv), r.returncode, r.stdout,
                                                   r.stderr))
    return r


def _db_env(db_url):
    return dict(os.environ, DROPSHIP_DATABASE_URL=db_url)


# --- databases ---------------------------------------------------------------

def sql(db_url, query):
    """Run one SQL command with psql; returns its unaligned, tuples-only output."""
    r = _run([PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db_url, "-c", query],
             timeout=SQL_TIMEOUT_S)
    return r.stdout.strip()


def database_url(base_url, name):
    """base_url (a postgresql:// URL) with its database replaced by name."""
    m = re.fullmatch(r"(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?", base_url)
    if m is None:
        raise ValueError("not a postgresql:// URL: %r" % base_url)
    return m.group(1) + "/" + urllib.parse.quote(name) + (m.group(3) or "")


def _check_name(name, what):
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError("bad %s name %r (lower-case letters, digits, _)" % (what, name))


def fresh_database(name, base_url=None):
    """Drop (if present) and create database `name` on DS_TEST_PG (or base_url);
    return its URL. Names must be unique across the suite's tests."""
    _check_name(name, "database")
    base = base_url or os.environ["DS_TEST_PG"]
    sql(base, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    sql(base, 'CREATE DATABASE "%s"' % name)
    return database_url(base, name)


def run_check_program(program, db_name, timeout=60):
    """Run one of the project's C check programs (tests/store/<program>)
    against a fresh database db_name: it prints a line per check and "ok"
    last, and exits non-zero at the first check that fails."""
    db = fresh_database(db_name)
    r = subprocess.run([os.path.join(BUILD_DIR, "tests", "store", program), db],
                       capture_output=True, text=True, timeout=timeout)
    print(r.stdout, end="")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("ok"), r.stdout


def reads_during_commits(db_url, body, commits, read):
    """Commit `body` (SQL that may use the loop variable i) `commits` times,
    one transaction each, in a DO loop in the database, and call read()
    over and over while that runs (at least once). Returns the list of what
    read() returned. For checking that a read is one snapshot: make every
    commit write the same value i to the places the read combines."""
    writer = threading.Thread(target=sql, args=(
        db_url, "DO $$ BEGIN FOR i IN 1..%d LOOP %s; COMMIT; END LOOP; END $$" % (commits, body)))
    writer.start()
    seen = []
    try:
        while writer.is_alive() or not seen:
            seen.append(read())
    finally:
        writer.join()
    return seen


def count_rows(db_url, table, where="TRUE"):
    """SELECT count(*) FROM table WHERE where (where is SQL written by the test)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?", table):
        raise ValueError("bad table name %r" % table)
    return int(sql(db_url, "SELECT count(*) FROM %s WHERE %s" % (table, where)))


def _migrate(db_url):
    return _run([_dropshipd(), "migrate"], env=_db_env(db_url)).stdout.split()


def migrate(db_url):
    """dropshipd migrate; returns the list of migration files it applied."""
    return _migrate(db_url)


def create_shop(db_url, name):
    """dropshipd admin create-shop NAME -> the new shop id."""
    out = _run([_dropshipd(), "admin", "create-shop", name], env=_db_env(db_url)).stdout
    lines = out.splitlines()
    if len(lines) != 1:
        raise RuntimeError("create-shop printed %r, expected one line" % out)
    return lines[0]


def create_api_key(db_url, shop_id):
    """dropshipd admin create-api-key SHOP_ID -> the new key (dsk_...)."""
    out = _run([_dropshipd(), "admin", "create-api-key", shop_id], env=_db_env(db_url)).stdout
    lines = out.splitlines()
    if len(lines) != 1 or not lines[0].startswith("dsk_"):
        raise RuntimeError("create-api-key printed %r, expected one key" % out)
    return lines[0]


# --- clients -----------------------------------------------------------------

def channel(addr):
    """An insecure channel to addr ("127.0.0.1:PORT"); close it or use `with`."""
    return grpc.insecure_channel(addr)


def auth(key):
    """Call metadata that authenticates with API key `key`."""
    return [("authorization", "Bearer " + key)]


def status_details(rpc_error):
    """The google.rpc.Status in an RpcError's grpc-status-details-bin, or None."""
    for key, value in rpc_error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status()
            st.ParseFromString(value)
            return st
    return None


def _detail(rpc_error, cls):
    st = status_details(rpc_error)
    if st is None:
        return None
    for any_msg in st.details:
        if any_msg.Is(cls.DESCRIPTOR):
            msg = cls()
            any_msg.Unpack(msg)
            return msg
    return None


def bad_request(rpc_error):
    """The google.rpc.BadRequest among the error's details, or None."""
    return _detail(rpc_error, error_details_pb2.BadRequest)


def error_info(rpc_error):
    """The google.rpc.ErrorInfo among the error's details, or None."""
    return _detail(rpc_error, error_details_pb2.ErrorInfo)


def field_violations(rpc_error):
    """{field: description} of the error's BadRequest ({} when there is none)."""
    br = bad_request(rpc_error)
    return {v.field: v.description for v in br.field_violations} if br else {}


def health(addr_or_channel, service="", timeout=5):
    """Health/Check status (a HealthCheckResponse.ServingStatus value)."""
    if isinstance(addr_or_channel, str):
        with channel(addr_or_channel) as ch:
            return health(ch, service, timeout)
    stub = health_pb2_grpc.HealthStub(addr_or_channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout).status


# --- the server ----------------------------------------------------------------

def _log_dir():
    d = os.path.join(BUILD_DIR, "tests", "integration", "logs")
    os.makedirs(d, exist_ok=True)
    return d


class Server:
    """dropshipd serve on a free loopback port, ready (Health SERVING) on entry.

    Server(db_url, migrate=True, env=None, **settings): settings become flags
    (cq_threads=2 -> --cq-threads 2). stderr goes to .log_path, printed on
    failure. .addr is "127.0.0.1:PORT". .stop() sends SIGTERM and returns the
    exit code; .kill() sends SIGKILL. Leaving the `with` block stops a running
    server and fails if it did not exit with 0.
    """

    def __init__(self, db_url, migrate=True, env=None, **settings):
        self.db_url = db_url
        self.proc = None
        self.addr = None
        self.port = None
        self.killed = False
        stem = os.path.splitext(os.path.basename(sys.argv[0] or "test"))[0] or "test"
        self.log_path = os.path.join(_log_dir(), "%s.%d.%d.dropshipd.log"
                                     % (stem, os.getpid(), next(_log_seq)))
        if migrate:
            _migrate(db_url)
        # Automatic case escalation (a parcel unchanged for 10 days, divided by
        # the time scale: under a second at the scales tests use) stays out of
        # tests that do not ask for it: real-time jitter is not a stuck parcel.
        settings.setdefault("case_escalate_after_s", 31536000)
        argv = [_dropshipd(), "serve", "--listen", "127.0.0.1:0"]
        for k, v in settings.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        full_env = _db_env(db_url)
        full_env.update(env or {})
        self._log = open(self.log_path, "wb")
        self.proc = _spawn(argv, env=full_env, stdin=subprocess.DEVNULL,
                           stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(START_TIMEOUT_S)
        except BaseException:
            self.kill()
            self._report("dropshipd did not become ready")
            self._log.close()
            raise

    def _wait_ready(self, seconds):
        deadline = time.monotonic() + seconds
        while self.port is None:
            self._check_alive("while starting")
            m = re.search(rb"listening on [0-9.]+:(\d+)", self._read_log())
            if m:
                self.port = int(m.group(1))
                self.addr = "127.0.0.1:%d" % self.port
            elif time.monotonic() > deadline:
                raise TimeoutError("no 'listening on' line after %ss" % seconds)
            else:
                time.sleep(0.05)
        with channel(self.addr) as ch:
            while True:
                self._check_alive("before Health SERVING")
                try:
                    if health(ch, timeout=2) == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("Health not SERVING after %ss" % seconds)
                time.sleep(0.1)

    def _check_alive(self, when):
        if self.proc.poll() is not None:
            raise RuntimeError("dropshipd exited with %d %s" % (self.proc.returncode, when))

    def _read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read()

    def log(self):
        """Everything dropshipd wrote to stderr so far."""
        return self._read_log().decode(errors="replace")

    def _report(self, why):
        tail = "\n".join(self.log().splitlines()[-40:])
        sys.stderr.write("%s; log: %s\n--- last lines ---\n%s\n------------------\n"
                         % (why, self.log_path, tail))
        sys.stderr.flush()

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM and wait; returns the exit code (negative = killed by signal).
        If it has not exited after `timeout` seconds it is killed and this raises."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self._report("dropshipd ignored SIGTERM for %ss" % timeout)
                raise
        return self.proc.returncode

    def kill(self):
        """SIGKILL (no-op if it already exited) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.killed = True
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                self.kill()
                self._report("test failed while dropshipd was running")
                return False
            running = self.proc.poll() is None
            code = self.stop()
            if running and code != 0:
                self._report("dropshipd exited with %d after SIGTERM" % code)
                raise AssertionError("dropshipd exited with %d after SIGTERM (log: %s)"
                                     % (code, self.log_path))
            return False
        finally:
            self.kill()
            self._log.close()


# --- private clusters ------------------------------------------------------------

class PrivateCluster:
    """A PostgreSQL cluster of the test's own (unix socket only), started on
    creation. .stop(), .start(), .restart(), .url(db), .fresh_database(name);
    destroyed when the `with` block ends (or at exit)."""

    PREFIX = "dropship-pc-"

    def __init__(self):
        _sweep_orphan_clusters(self.PREFIX)
        self.dir = tempfile.mkdtemp(prefix=self.PREFIX, dir="/var/tmp")
        with open(os.path.join(self.dir, "owner.pid"), "w") as f:
            f.write(str(os.getpid()))
        atexit.register(self.destroy)
        try:
            self._pgcluster("init", "--fast")
            self.start()
        except BaseException:
            self.destroy()
            raise

    def _pgcluster(self, cmd, *args):
        return _run(["bash", PGCLUSTER, cmd, self.dir, *args], timeout=120).stdout.strip()

    def start(self):
        self._pgcluster("start")

    def stop(self):
        self._pgcluster("stop")

    def restart(self):
        self.stop()
        self.start()

    def url(self, db="postgres"):
        return self._pgcluster("url", db)

    def fresh_database(self, name):
        return fresh_database(name, base_url=self.url())

    def destroy(self):
        if self.dir and os.path.isdir(self.dir):
            try:
                self._pgcluster("destroy")
            finally:
                shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()
        return False


def _sweep_orphan_clusters(prefix):
    """Destroy private clusters whose test process died without cleaning up
    (killed by a timeout): their owner.pid names no live process."""
    for name in os.listdir("/var/tmp"):
        d = os.path.join("/var/tmp", name)
        if not name.startswith(prefix):
            continue
        try:
            with open(os.path.join(d, "owner.pid")) as f:
                os.kill(int(f.read().strip()), 0)
            continue  # owner alive
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # being created, or not ours to judge
        subprocess.run(["bash", PGCLUSTER, "destroy", d], capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)
