"""engine_util.py - helpers of the task engine's integration tests
(tests/integration/test_engine_*.py): a migrated database with the driver's
tables, and wf_engine_driver processes (enqueue, run, stats)."""
import json
import os
import signal
import subprocess
import time

import harness

DRIVER = os.path.join(harness.BUILD_DIR, "tests", "engine", "wf_engine_driver")
RUN_TIMEOUT_S = 60


def engine_database(name, base_url=None):
    """A fresh, migrated database with the driver's tables; returns its URL."""
    url = harness.fresh_database(name, base_url=base_url)
    harness.migrate(url)
    driver(url, "setup")
    return url


def driver(url, *args, timeout=RUN_TIMEOUT_S):
    """Run the driver to the end; returns its last stdout line as JSON."""
    r = subprocess.run([DRIVER, "--db", url, *[str(a) for a in args]], capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("wf_engine_driver %s exited %d:\n%s%s"
                           % (" ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
    lines = r.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def enqueue(url, kind, count, **kw):
    """Enqueue count tasks of kind (keys kind:start..); kw become flags."""
    args = ["enqueue", "--kind", kind, "--count", count]
    for k, v in kw.items():
        args += ["--" + k.replace("_", "-")] + ([] if v is True else [v])
    return driver(url, *args)["enqueued"]


class Runner:
    """A `wf_engine_driver run` in the background; .wait() -> stats JSON."""

    def __init__(self, url, **kw):
        args = [DRIVER, "--db", url, "run"]
        for k, v in kw.items():
            args += ["--" + k.replace("_", "-")] + ([] if v is True else [str(v)])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def wait(self, timeout=RUN_TIMEOUT_S):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("driver did not finish in %ss:\n%s" % (timeout, err[-3000:]))
        if self.proc.returncode != 0:
            raise AssertionError("driver exited %d:\n%s%s" % (self.proc.returncode, out, err))
        self.stderr = err
        return json.loads(out.strip().splitlines()[-1])

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        return False


def wait_for(pred, seconds, what):
    """Poll pred() until true, failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def q(url, query):
    return harness.sql(url, query)
