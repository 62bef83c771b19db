-- drop_checks.sql - a what-if for bench/workflow/run.sh (SETUP_SQL=...):
-- drops every CHECK constraint of the project's tables, to measure what
-- PostgreSQL's per-statement CHECK set-up costs the workflow. Never for a
-- real database: the constraints are the schema's guard rails.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT conrelid::regclass AS tab, conname
               FROM pg_constraint
              WHERE contype = 'c' AND connamespace = 'public'::regnamespace
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tab, r.conname);
    END LOOP;
END
$$;
SELECT 'CHECK constraints left: ' || count(*)
  FROM pg_constraint WHERE contype = 'c' AND connamespace = 'public'::regnamespace;
