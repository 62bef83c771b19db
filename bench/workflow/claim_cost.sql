-- claim_cost.sql - the engine's claim statement (stmt_claim in
-- server/workflow/wf_tasks_store.c; batch :lim = free worker slots, the
-- order workflow's task kinds) under EXPLAIN (ANALYZE, BUFFERS), rolled back
-- so that every repetition sees the same table. bench/workflow/run.sh runs it
-- with psql -v lim=N.
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
WITH picked AS MATERIALIZED (
  SELECT ctid AS tid FROM tasks
  WHERE state = 'available' AND run_at <= now()
    AND kind = ANY('{order.verify,order.purchase,order.payment,order.payment_timer,order.return_address,order.tracking,order.complete,order.cancel}'::text[])
  ORDER BY run_at, task_id LIMIT :lim FOR UPDATE SKIP LOCKED)
UPDATE tasks t SET state = 'running', attempt = t.attempt + 1, lease_owner = 'bench',
  lease_until = now() + (30000::int8 * interval '1 millisecond')
FROM picked WHERE t.ctid = picked.tid
RETURNING t.shop_id, t.task_id, t.attempt, t.max_attempts, t.kind, t.key, t.payload,
  t.last_error;
ROLLBACK;
