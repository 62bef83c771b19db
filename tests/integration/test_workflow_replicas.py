"""Three dropshipd replicas on one database share the order workflow: 500
orders (a third split over two suppliers) created round-robin over the
three; every order completes, the simulator saw exactly one supplier order
per (order, supplier), and no task ever ran in two places at once.

The last point is read from the engine's run trace (--log-level debug: one
"run start" and one "run end" line per handler call, with task id, attempt,
lease owner and wall-clock microseconds; docs/task-engine.md "Observing
runs"): per task, the runs of all three processes must not overlap in time.
No lease may lapse and no fenced completion may be refused either, which is
the only way the engine could hand a running task to someone else.
Each replica must have run at least 5% of the handler runs and some
tasks must have run on more than one replica (a snoozed poll claimed
elsewhere), so the check really covers hand-overs; no task may end in
task_history (exhausted or failed).
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from test_workflow_crash import Fleet  # noqa: E402

N_ORDERS = 500
REPLICAS = 3

RUN_RE = re.compile(r"run (start|end) task=(\d+) attempt=(\d+) kind=(\S+) owner=(\S+) us=(\d+)")
# Lines that mean a lease was lost: the sweep found a lapsed lease, or a
# fenced write was refused.
LEASE_LOST_RE = re.compile(r"lapsed lease|lease lost|lost its lease|completion\(s\) rejected")
# The engine names itself once as it starts.
STARTED_RE = re.compile(r"task engine (\S+) started")
# Each replica must run at least this share of all handler runs.
MIN_SHARE = 0.05


def parse_runs(lines):
    """Runs of one process's log: [(task, start_us, end_us, owner, kind)].
    Two starts of one task without an end between them are a concurrent run
    inside the process: returned as problems."""
    open_runs, runs, problems = {}, [], []
    for line in lines:
        m = RUN_RE.search(line)
        if m is None:
            continue
        what, task, attempt, kind, owner, us = m.groups()
        task, us = int(task), int(us)
        if what == "start":
            if task in open_runs:
                problems.append("task %d started twice in %s" % (task, owner))
            open_runs[task] = (us, owner, kind, int(attempt))
        else:
            start = open_runs.pop(task, None)
            if start is None:
                problems.append("task %d ended without a start in %s" % (task, owner))
                continue
            runs.append((task, start[0], us, owner, kind))
    for task, (us, owner, kind, attempt) in open_runs.items():
        problems.append("task %d (%s) attempt %d never ended in %s" % (task, kind, attempt, owner))
    return runs, problems


def overlaps(runs):
    """Pairs of runs of one task that overlap in time, from any processes."""
    by_task = {}
    for r in runs:
        by_task.setdefault(r[0], []).append(r)
    bad = []
    for task, rs in by_task.items():
        rs.sort(key=lambda r: r[1])
        last = rs[0]
        for r in rs[1:]:
            if r[1] < last[2]:
                bad.append((last, r))
            if r[2] > last[2]:
                last = r
    return bad


def self_check():
    """The checker itself must see an overlap and a double start."""
    a = "run start task=7 attempt=1 kind=order.verify owner=h:1:a us=100"
    b = "run end task=7 attempt=1 kind=order.verify owner=h:1:a us=300"
    c = "run start task=7 attempt=2 kind=order.verify owner=h:2:b us=200"
    d = "run end task=7 attempt=2 kind=order.verify owner=h:2:b us=400"
    r1, p1 = parse_runs([a, b])
    r2, p2 = parse_runs([c, d])
    assert not p1 and not p2 and len(overlaps(r1 + r2)) == 1
    e = "run start task=8 attempt=1 kind=order.verify owner=h:2:b us=500"
    f = "run end task=8 attempt=1 kind=order.verify owner=h:2:b us=600"
    assert not overlaps(parse_runs([a, b, e, f])[0])
    assert parse_runs([a, a.replace("us=100", "us=150"), b])[1]


def engine_owner(lines):
    """The lease owner a process's engine announced at start."""
    found = {m.group(1) for m in map(STARTED_RE.search, lines) if m is not None}
    assert len(found) == 1, "engine start lines: %s" % sorted(found)
    return found.pop()


def check_runs(servers):
    """No task ran in two places at once; every replica did a fair share of
    the work and work moved between replicas. Returns the number of runs."""
    runs, problems, lost, per_owner = [], [], [], {}
    for s in servers:
        lines = s.log().splitlines()
        owner = engine_owner(lines)
        r, p = parse_runs(lines)
        foreign = {x[3] for x in r} - {owner}
        assert not foreign, "%s traced runs of other owners %s" % (s.log_path, foreign)
        runs += r
        problems += p
        per_owner[owner] = len(r)
        lost += [ln for ln in lines if LEASE_LOST_RE.search(ln)]
    bad = overlaps(runs)
    owners_of = {}
    for r in runs:
        owners_of.setdefault(r[0], set()).add(r[3])
    moved = sum(1 for o in owners_of.values() if len(o) > 1)
    print("handler runs %d over %d tasks; runs per replica %s; tasks run by more than one"
          " replica %d; overlapping runs %d; lease losses %d"
          % (len(runs), len(owners_of), sorted(per_owner.values()), moved, len(bad),
             len(lost)), flush=True)
    assert not problems, problems[:5]
    assert not bad, "tasks run twice at once: %s" % bad[:5]
    assert not lost, "leases lost: %s" % lost[:5]
    assert len(per_owner) == len(servers)
    for owner, n in per_owner.items():
        assert n >= MIN_SHARE * len(runs), "replica %s ran only %d of %d runs" % (
            owner, n, len(runs))
    assert moved > 0, "no task was ever run by two replicas: no hand-over was exercised"
    return len(runs)


def check_no_exhausted(fleet):
    """No task of the shop ran out of attempts or failed for good."""
    n = harness.sql(fleet.db, "SELECT count(*) FROM task_history WHERE shop_id = '%s'"
                    % fleet.shop)
    assert n == "0", "%s task(s) exhausted: %s" % (n, harness.sql(
        fleet.db, "SELECT kind, outcome, attempts, last_error FROM task_history"
        " WHERE shop_id = '%s' LIMIT 5" % fleet.shop))


def main():
    self_check()
    started = time.monotonic()
    fleet = Fleet("wf_replicas")
    try:
        servers = [fleet.start(log_level="debug", workflow_lease_ms=10000)
                   for _ in range(REPLICAS)]
        assert len({s.port for s in servers}) == REPLICAS
        fleet.setup_catalog(servers[0].addr)
        fleet.slow_creates(probability=0.1, hang_ms=300)
        fleet.create_orders([s.addr for s in servers], N_ORDERS, "rep")
        fleet.wait_completed(80)
        fleet.check_one_purchase_each()
        fleet.check_event_positions()
        check_no_exhausted(fleet)
        for s in servers:
            assert s.stop() == 0, s.log_path
        check_runs(servers)
        print("replicas %d, orders %d, %.1f s" % (REPLICAS, N_ORDERS,
                                                  time.monotonic() - started), flush=True)
    finally:
        fleet.close()
    print("ok")


if __name__ == "__main__":
    main()
