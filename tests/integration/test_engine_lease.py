"""Task engine leases: a completion after a lapsed lease is rejected (the
task ran again and was completed once); a SIGKILLed engine's tasks are
reclaimed after their lease and all finish; a graceful stop gives running
tasks back without spending their attempt."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import engine_util as eu  # noqa: E402


def stale_completion_is_rejected(url):
    eu.q(url, "TRUNCATE engine_runs")
    eu.enqueue(url, "slow", 1, arg=1500)
    # tiny lease, no heartbeat: the first run outlives its lease
    stats = eu.Runner(url, until_empty=True, seconds=30, workers=2, lease_ms=400,
                      heartbeat_ms=-1, reclaim_ms=100, poll_ms=100, grace_ms=5000).wait()
    print("stale:", stats)
    runs = eu.q(url, "SELECT string_agg(attempt::text, ',' ORDER BY id) FROM engine_runs"
                     " WHERE key = 'slow:1'")
    assert runs == "1,2", runs
    assert stats["reclaimed"] == 1 and stats["stale"] == 1 and stats["done"] == 1, stats
    assert eu.q(url, "SELECT count(*) FROM tasks") == "0"


def killed_engine_tasks_are_reclaimed(url):
    eu.q(url, "TRUNCATE engine_runs")
    n = 60
    eu.enqueue(url, "sleep", n, arg=150, start=1000)
    victim = eu.Runner(url, seconds=50, workers=4, slots=8, lease_ms=1500)
    eu.wait_for(lambda: int(eu.q(url, "SELECT count(*) FROM engine_runs")) >= 8, 30,
                "the first engine to start working")
    victim.kill()
    leased = int(eu.q(url, "SELECT count(*) FROM tasks WHERE state = 'running'"))
    assert leased > 0, "the killed engine held no lease"
    t0 = time.monotonic()
    stats = eu.Runner(url, until_empty=True, seconds=50, workers=4, slots=8,
                      reclaim_ms=200, poll_ms=200).wait()
    print("after kill:", stats, "leased at kill:", leased, "took", time.monotonic() - t0)
    assert stats["reclaimed"] >= leased, stats
    assert eu.q(url, "SELECT count(*) FROM tasks") == "0"
    distinct = eu.q(url, "SELECT count(DISTINCT key) FROM engine_runs")
    assert distinct == str(n), distinct


def graceful_stop_releases_tasks(url):
    eu.q(url, "TRUNCATE engine_runs")
    n = 6
    eu.enqueue(url, "sleep", n, arg=20000, start=5000)
    r = eu.Runner(url, seconds=50, workers=3, slots=6, lease_ms=60000, grace_ms=300)
    eu.wait_for(lambda: int(eu.q(url, "SELECT count(*) FROM engine_runs")) >= 3, 30,
                "handlers to start")
    r.signal(signal.SIGTERM)
    stats = r.wait(timeout=20)
    print("graceful:", stats)
    # nothing waits for a lease to lapse, and no attempt was spent
    assert eu.q(url, "SELECT count(*) FROM tasks WHERE state = 'available' AND attempt = 0"
                     " AND lease_owner IS NULL") == str(n)
    assert stats["released"] == n, stats


def main():
    url = eu.engine_database("engine_lease")
    stale_completion_is_rejected(url)
    killed_engine_tasks_are_reclaimed(url)
    graceful_stop_releases_tasks(url)
    print("ok")


if __name__ == "__main__":
    main()
