-- floor_step.sql - pgbench script (-M prepared, -D batch=B) of
-- bench/workflow/run.sh: workflow transitions reduced to their
-- bookkeeping, in ONE autocommit statement. It takes up to :batch due
-- floor.step tasks (SKIP LOCKED, the claim's predicate and order) and
-- deletes them, moves their orders to the next state (8 -> 1 to keep
-- going), appends the STATE_CHANGED history events and inserts the next
-- steps' tasks: the writes of the issue's "step result + order state +
-- history event + the next task(s) commit together", minus the step
-- result, with no claim of its own, no read of the order, no outside call
-- and no wake-up hint. With batch=1, a lower bound of what a step costs
-- when each step commits alone; with more, the same for a design that
-- commits the steps of several orders in one transaction.
WITH gone AS (
  DELETE FROM tasks t
  USING (SELECT ctid AS tid FROM tasks
          WHERE state = 'available' AND run_at <= now() AND kind = ANY('{floor.step}'::text[])
          ORDER BY run_at, task_id LIMIT :batch FOR UPDATE SKIP LOCKED) p
  WHERE t.ctid = p.tid
  RETURNING t.shop_id, convert_from(t.payload, 'UTF8')::uuid AS order_id),
o AS (
  UPDATE orders SET state = CASE WHEN orders.state = 8 THEN 1 ELSE orders.state + 1 END,
                    version = version + 1, last_event_seq = last_event_seq + 1, update_time = now()
  FROM gone WHERE orders.shop_id = gone.shop_id AND orders.order_id = gone.order_id
  RETURNING orders.shop_id, orders.order_id, orders.state, orders.last_event_seq),
e AS (
  INSERT INTO order_events (shop_id, order_id, seq, actor_kind, actor_id, type, from_state,
                            to_state, txid)
  SELECT o.shop_id, o.order_id, o.last_event_seq, 1, '', 2,
         CASE WHEN o.state = 1 THEN 8 ELSE o.state - 1 END, o.state, pg_current_xact_id()
  FROM o)
INSERT INTO tasks (shop_id, kind, key, payload)
SELECT o.shop_id, 'floor.step', 'order:' || o.order_id || ':' || o.state,
       convert_to(o.order_id::text, 'UTF8')
FROM o;
