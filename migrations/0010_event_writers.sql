-- 0010_event_writers.sql - a writer of order_events may give an event its
-- stream position and send its wake-up itself, in its own statement; the
-- triggers of 0005 now run only for rows that come without a position
-- (docs/event-stream.md, "Rule for writers of order_events").
--
-- The order workflow writes nearly every event (one UPDATE of the order row
-- that inserts the event, wf_order_fsm.c). For those the two PL/pgSQL
-- triggers of 0005 cost about a tenth of PostgreSQL's CPU in the workflow
-- benchmark (docs/benchmarks.md): a function call and a lookup of the
-- previous event per row, a transition table and a second call per
-- statement.
--
-- Now: txid has no default. A row inserted without one (CreateOrder, case
-- events, reships, a person with psql) gets it from the BEFORE trigger as
-- before, and the same trigger sends the NOTIFY (once per row; PostgreSQL
-- folds identical notifications of a transaction into one). A row inserted
-- with a txid skips both: its writer computes the same position and calls
-- pg_notify('dropship_events', shop_id) in the same statement.

ALTER TABLE order_events ALTER COLUMN txid DROP DEFAULT;

DROP TRIGGER order_events_notify ON order_events;
DROP FUNCTION order_events_notify();
DROP TRIGGER order_events_position ON order_events;

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
    PERFORM pg_notify('dropship_events', NEW.shop_id::text);
    RETURN NEW;
END
$$;

CREATE TRIGGER order_events_position BEFORE INSERT ON order_events
    FOR EACH ROW WHEN (NEW.txid IS NULL) EXECUTE FUNCTION order_events_position();
