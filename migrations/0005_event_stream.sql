-- 0005_event_stream.sql - what WatchOrderEvents needs from order_events: a
-- gap-free stream position and a commit-time wake-up (docs/event-stream.md).
--
-- Position of an event in a shop's stream: (txid, event_id). txid is the id
-- of the inserting transaction (pg_current_xact_id()), raised to the txid
-- of the order's previous event when that one is higher (see
-- order_events_position below), so that one order's events are in sequence
-- order in the stream. A reader only takes events with
-- txid < pg_snapshot_xmin(pg_current_snapshot()): every transaction below
-- that horizon has ended, so no event can later appear behind a position
-- already read, however transactions interleave their commits.

ALTER TABLE order_events
    ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- A shop's events after a cursor, in stream order.
CREATE INDEX order_events_stream_idx ON order_events (shop_id, txid, event_id);

-- Writers lock the order row first (UPDATE orders / SELECT ... FOR UPDATE),
-- so the previous event of the order is committed or belongs to this very
-- transaction. A transaction may still hold an xid lower than the one that
-- wrote the previous event (it took its xid before waiting for the lock):
-- taking the higher of the two keeps the order's events in seq order, and
-- keeps the horizon rule sound (a position is never below the xid of the
-- transaction that wrote it).
CREATE FUNCTION order_events_position() RETURNS trigger
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

CREATE TRIGGER order_events_position BEFORE INSERT ON order_events
    FOR EACH ROW EXECUTE FUNCTION order_events_position();

-- One notification per shop per committing transaction (PostgreSQL folds
-- identical notifications of a transaction into one), delivered at commit.
-- Payload: the shop id, so listeners read only the shops that changed.
CREATE FUNCTION order_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    shop uuid;
BEGIN
    FOR shop IN SELECT DISTINCT n.shop_id FROM new_events n LOOP
        PERFORM pg_notify('dropship_events', shop::text);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_events_notify AFTER INSERT ON order_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION order_events_notify();
