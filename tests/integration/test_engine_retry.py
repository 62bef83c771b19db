"""Task engine retries: a failing task is retried with backoff until its
attempts run out, then on_exhausted runs exactly once (in the transaction
that records it in task_history); a task that fails twice then succeeds is
done; snoozing does not spend attempts."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import engine_util as eu  # noqa: E402

BASE_MS = 100


def main():
    url = eu.engine_database("engine_retry")
    eu.enqueue(url, "flaky", 3, arg=1000, max_attempts=3)           # never succeeds
    eu.enqueue(url, "flaky", 2, arg=2, max_attempts=5, start=100)   # succeeds on attempt 3
    eu.enqueue(url, "snooze", 2, arg=4, max_attempts=1)             # 4 snoozes, 1 attempt
    stats = eu.Runner(url, until_empty=True, seconds=40, workers=3, poll_ms=50,
                      backoff_base_ms=BASE_MS, backoff_cap_ms=400).wait()
    print(stats)
    assert eu.q(url, "SELECT count(*) FROM tasks") == "0"

    # exhausted: three runs each, on_exhausted once with the last error
    for i in (1, 2, 3):
        key = "flaky:%d" % i
        runs = eu.q(url, "SELECT string_agg(attempt::text, ',' ORDER BY id) FROM engine_runs"
                         " WHERE key = '%s'" % key)
        assert runs == "1,2,3", (key, runs)
        ex = eu.q(url, "SELECT attempt, error FROM engine_exhausted WHERE key = '%s'" % key)
        assert ex == "3|flaky failure 3", (key, ex)
        hist = eu.q(url, "SELECT outcome, attempts, last_error FROM task_history"
                         " WHERE key = '%s'" % key)
        assert hist == "exhausted|3|flaky failure 3", hist
        # backoff: retry n waits at least half of base * 2^(n-1)
        gaps = eu.q(url, "SELECT string_agg((extract(epoch FROM at - lag) * 1000)::int::text,"
                         " ',' ORDER BY id) FROM (SELECT id, at, lag(at) OVER (ORDER BY id)"
                         " FROM engine_runs WHERE key = '%s') s WHERE lag IS NOT NULL" % key)
        g1, g2 = (int(x) for x in gaps.split(","))
        assert g1 >= BASE_MS // 2 and g2 >= BASE_MS, gaps
    assert eu.q(url, "SELECT count(*) FROM engine_exhausted") == "3"

    # recovering: done on attempt 3, never exhausted
    for key in ("flaky:100", "flaky:101"):
        runs = eu.q(url, "SELECT string_agg(attempt::text, ',' ORDER BY id) FROM engine_runs"
                         " WHERE key = '%s'" % key)
        assert runs == "1,2,3", (key, runs)

    # snooze: five runs on a single attempt
    for key in ("snooze:1", "snooze:2"):
        runs = eu.q(url, "SELECT string_agg(attempt::text, ',' ORDER BY id) FROM engine_runs"
                         " WHERE key = '%s'" % key)
        assert runs == "1,1,1,1,1", (key, runs)
    assert stats["exhausted"] == 3 and stats["snoozed"] == 8, stats
    assert stats["retried"] == 3 * 2 + 2 * 2, stats
    print("ok")


if __name__ == "__main__":
    main()
