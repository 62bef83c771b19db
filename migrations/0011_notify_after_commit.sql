-- 0011_notify_after_commit.sql - the stream's wake-up is no longer sent
-- inside the transaction that writes an event.
--
-- PostgreSQL serializes the commits of all transactions that NOTIFY: the
-- notifying transaction takes a database-wide lock before its commit and
-- keeps it until its commit record is on disk, so such commits cannot share
-- a WAL flush. In the workflow benchmark (docs/benchmarks.md) most of the
-- waiting was for that lock. dropshipd now sends every notification right
-- after the COMMIT, in the same round trip but in a transaction of its own
-- that writes nothing and so does not wait for the disk (store_notify in
-- server/store/store.h).
--
-- So the position trigger of 0010 stops notifying. It still gives a
-- position to rows inserted without one (case events, a person with psql);
-- CreateOrder and reships now give theirs (seq 1 has no previous event).
-- An event nobody notified about still reaches every stream within the
-- hub's poll interval (a second).

CREATE OR REPLACE FUNCTION order_events_position() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    prev xid8;
BEGIN
    NEW.txid := pg_current_xact_id();
    IF NEW.seq > 1 THEN
        SELECT e.txid INTO prev FROM order_events e
         WHERE e.shop_id = NEW.shop_id AND e.order_id = NEW.order_id AND e.seq = NEW.seq - 1;
        IF prev IS NOT NULL AND prev > NEW.txid THEN
            NEW.txid := prev;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
