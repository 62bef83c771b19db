-- 0012_task_rerun.sql - scheduling a keyed task that is running makes it
-- run once more after the current run.
--
-- Until now, scheduling a (shop, kind, key) that was live did nothing. That
-- is right while the live task waits: it will run and see what the
-- scheduler wrote. It is wrong while the task runs: the run may already
-- have read the state the scheduler has just changed (an order's purchase
-- step reading ON_HOLD while an offer sync resumes the order), then finish,
-- and the work the schedule asked for is never done.
--
-- rerun_at is set on a running task by a schedule (the least of the asked
-- run times) or a run-now of its key (now). When the run finishes (done,
-- done in the step's own transaction, or out of attempts) the statement
-- that deletes the task inserts a fresh one with the same kind, key,
-- payload and max_attempts, due at rerun_at. A run that is retried or
-- snoozed instead comes back no later than rerun_at. A lease given back or
-- lapsed clears it: the task runs again anyway. See docs/task-engine.md.

--
-- Only running rows get a rerun_at, and every statement that takes a row
-- out of 'running' clears or consumes it. No CHECK says so: a dropshipd of
-- the previous version still running while this migration is applied puts
-- rows back to 'available' without clearing it, and such a stale rerun_at
-- costs one more run of that task, where a CHECK would make that replica's
-- retries and lapsed-lease sweeps fail.

ALTER TABLE tasks ADD COLUMN rerun_at timestamptz;
