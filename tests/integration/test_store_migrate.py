"""dropshipd migrate: idempotent, safe when run concurrently, and serve
refuses a database schema newer than it knows."""
import os
import subprocess
import sys
import tempfile
import threading

import harness

DROPSHIPD = os.environ["DS_DROPSHIPD"]


def run(args, db_url, timeout=60):
    env = dict(os.environ, DROPSHIP_DATABASE_URL=db_url)
    return subprocess.run([DROPSHIPD] + args, env=env, capture_output=True, text=True,
                          timeout=timeout)


def migration_files():
    d = os.path.join(os.environ["DS_SOURCE_DIR"], "migrations")
    return sorted(f for f in os.listdir(d) if f.endswith(".sql") and f[0].isdigit())


def test_migrate_twice_is_a_no_op():
    db = harness.fresh_database("store_migrate_twice")
    first = run(["migrate"], db)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == migration_files(), first.stdout
    before = harness.sql(db, "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")
    second = run(["migrate"], db)
    assert second.returncode == 0, second.stderr
    assert second.stdout == "", second.stdout
    assert harness.sql(db, "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1") == before


def test_concurrent_migrations_apply_each_version_once():
    db = harness.fresh_database("store_migrate_concurrent")
    results = [None] * 4

    def worker(i):
        results[i] = run(["migrate"], db)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    printed = []
    for r in results:
        assert r is not None and r.returncode == 0, r and r.stderr
        printed += r.stdout.split()
    assert sorted(printed) == migration_files(), printed
    counts = harness.sql(db, "SELECT count(*), count(DISTINCT version) FROM schema_migrations")
    n = len(migration_files())
    assert counts == "%d|%d" % (n, n), counts


def test_serve_refuses_a_newer_schema():
    db = harness.fresh_database("store_migrate_newer")
    assert run(["migrate"], db).returncode == 0
    harness.sql(db, "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')")
    r = run(["serve", "--listen", "127.0.0.1:0"], db, timeout=30)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "newer" in r.stderr and "9999" in r.stderr, r.stderr
    assert "listening on" not in r.stderr, r.stderr


def test_serve_refuses_an_unmigrated_database():
    db = harness.fresh_database("store_migrate_missing")
    r = run(["serve", "--listen", "127.0.0.1:0"], db, timeout=30)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "dropshipd migrate" in r.stderr, r.stderr


def test_a_failing_migration_changes_nothing():
    db = harness.fresh_database("store_migrate_failing")
    with tempfile.TemporaryDirectory() as d:
        for f in migration_files():
            with open(os.path.join(os.environ["DS_SOURCE_DIR"], "migrations", f)) as src, \
                    open(os.path.join(d, f), "w") as dst:
                dst.write(src.read())
        with open(os.path.join(d, "9000_broken.sql"), "w") as f:
            f.write("CREATE TABLE half_done (x int);\nCREATE TABLE oops (;\n")
        r = run(["migrate", "--migrations-dir", d], db)
    assert r.returncode == 1, r.stderr
    assert "9000_broken.sql" in r.stderr, r.stderr
    assert harness.sql(db, "SELECT to_regclass('half_done') IS NULL") == "t"
    assert harness.sql(db, "SELECT count(*) FROM schema_migrations WHERE version = 9000") == "0"


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    for t in tests:
        print("--", t.__name__, flush=True)
        t()
    print("ok: %d tests" % len(tests))


if __name__ == "__main__":
    sys.exit(main())
