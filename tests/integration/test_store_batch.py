"""The store's pipelined statements (store_begin_with, store_exec_batch)
against a real PostgreSQL: tests/store/store_batch_check.c checks results
in order, the first error of a failed batch with nothing of it kept, and
the open transaction of store_begin_with."""
import os
import subprocess

import harness

CHECK = os.path.join(harness.BUILD_DIR, "tests", "store", "store_batch_check")


def main():
    db = harness.fresh_database("store_batch")
    r = subprocess.run([CHECK, db], capture_output=True, text=True, timeout=60)
    print(r.stdout, end="")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("ok"), r.stdout


if __name__ == "__main__":
    main()
