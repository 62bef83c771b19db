-- claim_explain.sql - the engine's claim statement (as in
-- server/workflow/wf_tasks_store.c, limit 500) under EXPLAIN, rolled back.
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
WITH picked AS MATERIALIZED (
  SELECT ctid AS tid FROM tasks
  WHERE state = 'available' AND run_at <= now() AND kind = ANY('{noop}'::text[])
  ORDER BY run_at, task_id LIMIT 500 FOR UPDATE SKIP LOCKED)
UPDATE tasks t SET state = 'running', attempt = t.attempt + 1, lease_owner = 'bench',
  lease_until = now() + interval '30 seconds'
FROM picked WHERE t.ctid = picked.tid
RETURNING t.task_id;
ROLLBACK;
