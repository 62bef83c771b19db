-- 0004_tasks.sql - the task engine's queue (see docs/task-engine.md).
--
-- `tasks` holds live work only: a task is 'available' (waiting for run_at)
-- or 'running' (leased by lease_owner until lease_until). Finished tasks
-- leave the table (DELETE), so the table and its indexes stay small however
-- much work has gone through; exhausted tasks leave a compact row in
-- task_history. shop_id leads the primary key (Citus distribution column).
-- No foreign key to shops: every insert would take a KEY SHARE lock on the
-- shop's row, and thousands of those per second turn into multixacts.

CREATE TABLE tasks (
    shop_id      uuid        NOT NULL,
    task_id      int8        GENERATED ALWAYS AS IDENTITY,
    kind         text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    key          text        CHECK (length(key) BETWEEN 1 AND 200),
    payload      bytea       CHECK (length(payload) <= 65536),
    state        text        NOT NULL DEFAULT 'available'
                             CHECK (state IN ('available', 'running')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempt      int4        NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts int4        NOT NULL DEFAULT 25 CHECK (max_attempts BETWEEN 1 AND 1000),
    lease_until  timestamptz,
    lease_owner  text,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, task_id),
    -- A lease owner exactly when running: the engine's fenced statements
    -- test `lease_owner = $owner` alone (see wf_tasks_store.c).
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_until IS NOT NULL))
) WITH (
    -- High churn: every task is inserted, updated at least once and deleted.
    -- Vacuum early and without throttling so dead tuples never pile up, and
    -- leave room on each page for the claim's update to stay on the page.
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 10000,
    autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0
);

-- Dedupe: scheduling the same step twice ("order:<id>:verify") is a no-op
-- while the first one is live (all rows here are live).
CREATE UNIQUE INDEX tasks_dedupe ON tasks (shop_id, kind, key) WHERE key IS NOT NULL;

-- Exactly the claim predicate and order: state = 'available' AND
-- run_at <= now() ORDER BY run_at, task_id.
CREATE INDEX tasks_claim ON tasks (run_at, task_id) WHERE state = 'available';

-- Lapsed-lease sweep: state = 'running' AND lease_until < now().
CREATE INDEX tasks_lease ON tasks (lease_until) WHERE state = 'running';

-- Tasks that ran out of attempts (or failed for good), for operators.
CREATE TABLE task_history (
    shop_id     uuid        NOT NULL,
    task_id     int8        NOT NULL,
    kind        text        NOT NULL,
    key         text,
    outcome     text        NOT NULL CHECK (outcome IN ('exhausted', 'failed')),
    attempts    int4        NOT NULL,
    last_error  text,
    created_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, task_id)
);
