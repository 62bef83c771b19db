"""Task engine: scheduling a keyed task, or running it now, while it runs
makes it run once more after the run ends, however the run ends (done,
done in its own transaction, retried, out of attempts). The run may have
read the state the scheduler changed; a no-op schedule would lose the work.
While the task waits, scheduling its key again is still a no-op. A step
that waits for its order's lock does not hold its task row meanwhile, so a
transaction holding that lock can schedule the step (no deadlock)."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import engine_util as eu  # noqa: E402

NAP_MS = 3000          # each run sleeps this long: the second schedule lands inside it
BACKOFF_MS = 60000     # a retry without the rerun would wait 30-60 s


def runs(url, key):
    """(attempts, ms between the starts of consecutive runs) of key."""
    att = eu.q(url, "SELECT string_agg(attempt::text, ',' ORDER BY id) FROM engine_runs"
                    " WHERE key = '%s'" % key)
    gaps = eu.q(url, "SELECT string_agg((extract(epoch FROM at - lag) * 1000)::int::text, ','"
                     " ORDER BY id) FROM (SELECT id, at, lag(at) OVER (ORDER BY id)"
                     " FROM engine_runs WHERE key = '%s') s WHERE lag IS NOT NULL" % key)
    return att, [int(g) for g in gaps.split(",")] if gaps else []


def wait_running(url, keys, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        n = int(eu.q(url, "SELECT count(DISTINCT key) FROM engine_runs WHERE key IN (%s)"
                          % ",".join("'%s'" % k for k in keys)))
        if n == len(keys):
            return
        assert time.monotonic() < deadline, "only %d of %d tasks started" % (n, len(keys))
        time.sleep(0.05)


def main():
    url = eu.engine_database("engine_rerun")
    cases = {  # key: (kind, max_attempts, how it is asked for again while it runs)
        "done": ("sleep", 5, "schedule"),
        "tx": ("sleeptx", 5, "schedule"),
        "now": ("sleep", 5, "run-now"),
        "exhausted": ("sleepfail", 1, "schedule"),
        "retried": ("sleepfail", 2, "schedule"),
    }
    for key, (kind, attempts, _) in cases.items():
        eu.driver(url, "schedule", "--kind", kind, "--key", key, "--arg", NAP_MS,
                  "--max-attempts", attempts)
    with eu.Runner(url, until_empty=True, seconds=40, workers=len(cases), poll_ms=100,
                   backoff_base_ms=BACKOFF_MS, backoff_cap_ms=BACKOFF_MS) as r:
        wait_running(url, list(cases))
        assert eu.q(url, "SELECT count(*) FROM tasks WHERE state = 'running'") == "5"
        for key, (kind, _, how) in cases.items():
            out = eu.driver(url, how, "--kind", kind, "--key", key, "--arg", 1)
            assert out == ({"found": True} if how == "run-now" else {"created": False}), (key, out)
        marked = eu.q(url, "SELECT count(*) FROM tasks WHERE rerun_at IS NOT NULL")
        assert marked == "5", marked
        stats = r.wait()
    print(stats)
    assert eu.q(url, "SELECT count(*) FROM tasks") == "0"

    for key in ("done", "tx", "now", "exhausted"):
        att, gaps = runs(url, key)
        # a fresh task (attempt 1 again), after the first run, not beside it
        assert att == "1,1", (key, att)
        assert gaps[0] >= NAP_MS - 100, (key, gaps)
    att, gaps = runs(url, "retried")
    assert att == "1,2", att              # the retry, brought forward to now
    assert NAP_MS - 100 <= gaps[0] < BACKOFF_MS // 2, gaps
    hist = eu.q(url, "SELECT string_agg(key || ':' || attempts, ',' ORDER BY key, attempts)"
                     " FROM task_history WHERE outcome = 'exhausted'")
    assert hist == "exhausted:1,exhausted:1,retried:2", hist
    assert stats["exhausted"] == 3 and stats["stale"] == 0, stats

    # a waiting task: a second schedule changes nothing
    eu.driver(url, "schedule", "--kind", "sleep", "--key", "later", "--delay-ms", 600000)
    before = eu.q(url, "SELECT task_id, run_at, attempt FROM tasks WHERE key = 'later'")
    out = eu.driver(url, "schedule", "--kind", "sleep", "--key", "later", "--arg", 5)
    assert out == {"created": False}, out
    after = eu.q(url, "SELECT task_id, run_at, attempt FROM tasks WHERE key = 'later'")
    assert after == before, (before, after)
    assert eu.q(url, "SELECT count(*) FROM tasks WHERE rerun_at IS NOT NULL") == "0"
    eu.q(url, "DELETE FROM tasks")

    future_rerun(url)
    gated(url, "gated", "g")
    gated(url, "gatedfail", "gf")
    hist = eu.q(url, "SELECT count(*) FROM task_history WHERE key = 'gf' AND outcome = 'failed'")
    assert hist == "2", hist
    print("ok")


class Listener:
    """A psql session LISTENing on the engine's channel; probe() returns
    what it printed since (psql prints a notification after a command)."""

    def __init__(self, url):
        self.p = subprocess.Popen([eu.harness.PSQL, "-X", "-At", "-d", url],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        self.probe("LISTEN ds_tasks;")

    def probe(self, sql="SELECT 1;"):
        self.p.stdin.write(sql + "\nSELECT 'probe-done';\n")
        self.p.stdin.flush()
        lines = []
        while True:
            line = self.p.stdout.readline()
            assert line, "psql ended: %s" % "".join(lines)
            if line.strip() == "probe-done":
                return "".join(lines)
            lines.append(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def future_rerun(url):
    """A schedule with a delay while the task runs: the rerun comes due
    later, and no NOTIFY goes out for it (none for future tasks)."""
    eu.driver(url, "schedule", "--kind", "sleep", "--key", "fut", "--arg", NAP_MS)
    with eu.Runner(url, seconds=30, workers=1, poll_ms=100) as r:
        wait_running(url, ["fut"])
        listener = Listener(url)
        out = eu.driver(url, "schedule", "--kind", "sleep", "--key", "fut", "--delay-ms", 600000)
        assert out == {"created": False}, out
        deadline = time.monotonic() + 20
        while eu.q(url, "SELECT count(*) FROM tasks WHERE key = 'fut' AND state = 'available'"
                        " AND run_at > now() + interval '500 s'") != "1":
            assert time.monotonic() < deadline, "the rerun never came in"
            time.sleep(0.05)
        heard = listener.probe()
        r.signal(signal.SIGTERM)
        stats = r.wait()
    assert "ds_tasks" not in heard, heard
    assert runs(url, "fut")[0] == "1" and stats["done"] == 1, stats
    # the probe hears a hint when there is one: a task due now sends it
    eu.driver(url, "schedule", "--kind", "sleep", "--key", "now2")
    heard = listener.probe()
    listener.close()
    assert "ds_tasks" in heard, heard
    eu.q(url, "DELETE FROM tasks")


def gated(url, kind, key):
    """gate-schedule locks the gate row (an order), holds it while the
    task's step (gated) or its on_exhausted (gatedfail) waits for it, then
    schedules the task's key in the same transaction (an offer sync
    resuming the order). Taking the task row before the gate would make
    the two wait for each other until PostgreSQL aborts one."""
    hold_ms = 2000
    gate = subprocess.Popen([eu.DRIVER, "--db", url, "gate-schedule", "--kind", kind, "--key",
                             key, "--hold-ms", str(hold_ms)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while eu.q(url, "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
                    " AND query LIKE '%engine_gate%'") != "1":
        assert time.monotonic() < deadline and gate.poll() is None, "the gate was never locked"
        time.sleep(0.02)
    eu.driver(url, "schedule", "--kind", kind, "--key", key)
    with eu.Runner(url, until_empty=True, seconds=30, workers=2, poll_ms=100) as r:
        wait_running(url, [key])
        out, err = gate.communicate(timeout=30)
        assert gate.returncode == 0, "gate-schedule failed: %s" % err
        assert out.strip() == '{"created": false}', out
        stats = r.wait()
    print(stats)
    att, _ = runs(url, key)
    assert att == "1,1", (key, att)    # ran again after the schedule, never retried
    assert stats["retried"] == 0 and stats["db_errors"] == 0, (key, stats)


if __name__ == "__main__":
    main()
