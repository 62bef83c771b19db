"""Task engine: 2000 tasks drained by three engine processes at once, each
executed exactly once; outbox chains schedule their next step in the
transaction that completes the current one; scheduling a live key twice is
a no-op."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import engine_util as eu  # noqa: E402

N = 2000
CHAINS = 20
LINKS = 3


def main():
    url = eu.engine_database("engine_exactly_once")
    assert eu.enqueue(url, "record", N) == N
    assert eu.enqueue(url, "chain", CHAINS, arg=LINKS) == CHAINS
    runners = [eu.Runner(url, until_empty=True, seconds=50, workers=4, slots=16,
                         poll_ms=200) for _ in range(3)]
    stats = [r.wait() for r in runners]
    print(stats)

    assert eu.q(url, "SELECT count(*) FROM tasks") == "0"
    total, distinct = eu.q(url, "SELECT count(*), count(DISTINCT key) FROM engine_runs"
                                " WHERE kind = 'record'").split("|")
    assert (int(total), int(distinct)) == (N, N), (total, distinct)
    assert sum(s["stale"] for s in stats) == 0, stats
    assert sum(s["reclaimed"] for s in stats) == 0, stats
    # every process did part of the work
    assert all(s["executed"] > 0 for s in stats), stats
    assert sum(s["done"] for s in stats) == N + CHAINS * (LINKS + 1), stats

    chain_runs = eu.q(url, "SELECT count(*), count(DISTINCT key) FROM engine_runs"
                           " WHERE kind = 'chain'")
    assert chain_runs == "%d|%d" % (CHAINS * (LINKS + 1), CHAINS * (LINKS + 1)), chain_runs
    assert eu.q(url, "SELECT count(*) FROM engine_runs WHERE key = 'chain:7/3'") == "1"

    # dedupe: the same (shop, kind, key) twice while live is one task
    first = eu.driver(url, "schedule", "--kind", "noop", "--key", "order:1:verify")
    again = eu.driver(url, "schedule", "--kind", "noop", "--key", "order:1:verify")
    assert first["created"] is True and again["created"] is False, (first, again)
    assert eu.q(url, "SELECT count(*) FROM tasks WHERE key = 'order:1:verify'") == "1"
    print("ok")


if __name__ == "__main__":
    main()
