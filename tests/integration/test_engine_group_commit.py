"""Task engine group commit (wf_tx_run): handler transactions that finish
together are written in one shared transaction, a savepoint each, and
committed at once. Every body gets its own first statement's result, a body
that fails is undone alone (its write is gone, the others' stay), its task
is retried and then done, every task is done once; with --group-max 1 no
transaction is shared."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
import engine_util as eu  # noqa: E402

GOOD, BAD, SOLO = 400, 80, 50


def main():
    url = eu.engine_database("engine_group")
    eu.enqueue(url, "grouped", GOOD, arg=0)                # write and commit
    eu.enqueue(url, "grouped", BAD, arg=1, start=10000)    # attempt 1 fails after its write
    stats = eu.Runner(url, until_empty=True, seconds=50, workers=16, groups=1, group_max=16,
                      poll_ms=50, backoff_base_ms=50, backoff_cap_ms=200).wait()
    print(stats)
    assert eu.q(url, "SELECT count(*) FROM tasks") == "0"
    # shared transactions happened, and held more than one body each
    assert stats["shared"] > 0 and stats["shared_bodies"] > stats["shared"], stats
    # every task's write committed once, by the attempt that did not fail
    assert eu.q(url, "SELECT count(*), count(DISTINCT key) FROM engine_done") == \
        "%d|%d" % (GOOD + BAD, GOOD + BAD)
    n = "split_part(key, ':', 2)::int"
    assert eu.q(url, "SELECT count(*) FROM engine_done WHERE %s < 10000 AND attempt = 1"
                % n) == str(GOOD)
    bad = "%s BETWEEN 10000 AND 19999" % n
    assert eu.q(url, "SELECT count(*) FROM engine_done WHERE %s AND attempt = 2" % bad) == \
        str(BAD)
    # the failed attempts ran, and their writes are gone
    assert eu.q(url, "SELECT count(*) FROM engine_runs WHERE %s" % bad) == str(2 * BAD)
    assert eu.q(url, "SELECT count(*) FROM engine_done WHERE attempt = 1 AND %s" % bad) == "0"
    assert stats["retried"] == BAD and stats["exhausted"] == 0 and stats["stale"] == 0, stats
    assert eu.q(url, "SELECT count(*) FROM engine_runs") == str(GOOD + 2 * BAD)

    # --group-max 1: every body commits alone
    eu.enqueue(url, "grouped", SOLO, arg=0, start=20000)
    stats = eu.Runner(url, until_empty=True, seconds=30, workers=16, group_max=1,
                      poll_ms=50).wait()
    print(stats)
    assert eu.q(url, "SELECT count(*) FROM tasks") == "0"
    assert stats["shared"] == 0 and stats["shared_bodies"] == 0, stats
    assert eu.q(url, "SELECT count(*) FROM engine_done WHERE %s >= 20000" % n) == str(SOLO)
    print("ok")


if __name__ == "__main__":
    main()
