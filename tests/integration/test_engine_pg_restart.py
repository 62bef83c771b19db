"""Task engine across a PostgreSQL restart: the engine rides out the outage
(claims, completions, the LISTEN connection all reconnect) and every task
completes."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import engine_util as eu  # noqa: E402
import harness  # noqa: E402

N = 3000


def main():
    with harness.PrivateCluster() as pc:
        url = eu.engine_database("engine_restart", base_url=pc.url())
        eu.enqueue(url, "sleep", N, arg=2)
        r = eu.Runner(url, until_empty=True, seconds=55, workers=4, slots=8, lease_ms=3000,
                      poll_ms=200, reclaim_ms=500, backoff_base_ms=100, backoff_cap_ms=500)
        eu.wait_for(lambda: int(eu.q(url, "SELECT count(*) FROM engine_runs")) >= 100, 30,
                    "work to start")
        pc.restart()
        restarted_at = time.monotonic()
        left = int(eu.q(url, "SELECT count(*) FROM tasks"))
        assert left > 0, "all work finished before the restart; make it longer"
        stats = r.wait(timeout=60)
        print(stats, "left at restart:", left, "took", time.monotonic() - restarted_at)
        assert eu.q(url, "SELECT count(*) FROM tasks") == "0"
        assert eu.q(url, "SELECT count(DISTINCT key) FROM engine_runs") == str(N)
        assert stats["db_errors"] > 0, stats  # it did see the outage
        assert stats["left"] == 0, stats
    print("ok")


if __name__ == "__main__":
    main()
