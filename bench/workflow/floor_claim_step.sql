-- floor_claim_step.sql - pgbench script (-M prepared, -D held=0 -D
-- batch=B) of bench/workflow/run.sh: floor_step.sql's transition with the
-- claim as the issue has it, an autocommit statement of its own that
-- leases up to :batch due tasks at once (the engine's claim statement);
-- each transaction of the script is one transition, and a claim runs
-- whenever the client holds no leased task. The transition is fenced by
-- task id, attempt and owner, as the engine's take-over. Still no read of
-- the order, no step result, no outside call, no hint, and the largest
-- batch at every claim: a lower bound for the issue's design.
-- The transition's statement is floor_step.sql's but for `gone` (pgbench
-- scripts cannot share text): change the two together.
\if :held = 0
WITH picked AS MATERIALIZED (
  SELECT ctid AS tid FROM tasks
  WHERE state = 'available' AND run_at <= now() AND kind = ANY('{floor.step}'::text[])
  ORDER BY run_at, task_id LIMIT :batch FOR UPDATE SKIP LOCKED),
c AS (
  UPDATE tasks t SET state = 'running', attempt = t.attempt + 1,
                     lease_owner = 'floor-' || :client_id, lease_until = now() + interval '60 s'
  FROM picked WHERE t.ctid = picked.tid
  RETURNING t.task_id, t.attempt)
SELECT count(*) AS held, coalesce(string_agg(task_id::text, ','), '') AS ids,
       coalesce(string_agg(attempt::text, ','), '') AS atts
FROM c
\gset
\endif
WITH gone AS (
  DELETE FROM tasks t
  WHERE t.shop_id = '00000000-0000-4000-8000-00000000f100'
    AND t.task_id = (string_to_array(:ids, ',')::int8[])[:held::int]
    AND t.attempt = (string_to_array(:atts, ',')::int4[])[:held::int]
    AND t.lease_owner = 'floor-' || :client_id
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
\set held :held - 1
