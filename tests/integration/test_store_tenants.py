"""dropshipd admin: create-shop / create-api-key print exactly one line, and
only the SHA-256 of a key is stored."""
import hashlib
import os
import re
import subprocess
import sys

import harness

DROPSHIPD = os.environ["DS_DROPSHIPD"]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY = re.compile(r"^dsk_[A-Za-z0-9_-]{43}$")


def run(args, db_url):
    env = dict(os.environ, DROPSHIP_DATABASE_URL=db_url)
    return subprocess.run([DROPSHIPD] + args, env=env, capture_output=True, text=True, timeout=60)


def migrated_db(name):
    db = harness.fresh_database(name)
    harness.migrate(db)
    return db


def test_create_shop_and_key_print_one_line():
    db = migrated_db("store_tenants_lines")
    shop = run(["admin", "create-shop", "Acme Outlet"], db)
    assert shop.returncode == 0, shop.stderr
    lines = shop.stdout.splitlines()
    assert len(lines) == 1 and UUID.match(lines[0]), shop.stdout
    shop_id = lines[0]
    assert harness.sql(db, "SELECT name FROM shops WHERE shop_id = '%s'" % shop_id) == "Acme Outlet"
    key = run(["admin", "create-api-key", shop_id], db)
    assert key.returncode == 0, key.stderr
    lines = key.stdout.splitlines()
    assert len(lines) == 1 and KEY.match(lines[0]), key.stdout
    # the helpers of the harness agree with the command line
    assert UUID.match(harness.create_shop(db, "Second"))


def test_only_the_hash_of_a_key_is_stored():
    db = migrated_db("store_tenants_hash")
    shop_id = run(["admin", "create-shop", "Hashed"], db).stdout.strip()
    key = run(["admin", "create-api-key", shop_id], db).stdout.strip()
    assert KEY.match(key), key
    dump = harness.sql(db, "SELECT row_to_json(k)::text FROM api_keys k")
    assert key not in dump and key[4:] not in dump, dump
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert harness.sql(db, "SELECT count(*) FROM api_keys WHERE key_hash = '%s' AND shop_id = '%s'"
               % (digest, shop_id)) == "1"


def test_keys_are_unique_and_per_shop():
    db = migrated_db("store_tenants_unique")
    shop_id = run(["admin", "create-shop", "Many keys"], db).stdout.strip()
    keys = {run(["admin", "create-api-key", shop_id], db).stdout.strip() for _ in range(5)}
    assert len(keys) == 5 and all(KEY.match(k) for k in keys), keys
    assert harness.sql(db, "SELECT count(DISTINCT key_hash) FROM api_keys") == "5"


def test_bad_admin_input_prints_nothing_and_fails():
    db = migrated_db("store_tenants_bad")
    for args in (["admin", "create-api-key", "00000000-0000-0000-0000-000000000000"],
                 ["admin", "create-api-key", "not-a-uuid"],
                 ["admin", "create-shop", ""],
                 ["admin", "create-shop"]):
        r = run(args, db)
        assert r.returncode != 0 and r.stdout == "", (args, r.returncode, r.stdout)
        assert r.stderr.strip() != "", args
    assert harness.sql(db, "SELECT count(*) FROM api_keys") == "0"


def test_revoked_key_is_marked():
    db = migrated_db("store_tenants_revoke")
    shop_id = run(["admin", "create-shop", "Revoker"], db).stdout.strip()
    run(["admin", "create-api-key", shop_id], db)
    key_id = harness.sql(db, "SELECT key_id FROM api_keys")
    r = run(["admin", "revoke-api-key", key_id], db)
    assert r.returncode == 0 and r.stdout == "", r.stderr
    assert harness.sql(db, "SELECT revoked_at IS NOT NULL FROM api_keys") == "t"


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    for t in tests:
        print("--", t.__name__, flush=True)
        t()
    print("ok: %d tests" % len(tests))


if __name__ == "__main__":
    sys.exit(main())
