-- floor_bare.sql - strips a migrated database down for the bare floor run
-- of bench/workflow/run.sh: tasks, orders and order_events keep their
-- columns, primary keys and the claim index (tasks_claim), and lose every
-- other index, CHECK, UNIQUE and FOREIGN KEY constraint (those of other
-- tables that point at them too) and trigger. What
-- the step's bookkeeping would cost on a schema that serves nothing but
-- the workflow (no ListOrders filters, no event stream, no guard rails).
-- Never for a real database.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT conrelid::regclass AS tab, conname
               FROM pg_constraint
              WHERE (contype IN ('c', 'f', 'u')
                     AND conrelid IN ('tasks'::regclass, 'orders'::regclass,
                                      'order_events'::regclass))
                 OR (contype = 'f'
                     AND confrelid IN ('tasks'::regclass, 'orders'::regclass,
                                       'order_events'::regclass))
              ORDER BY contype = 'f' DESC
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tab, r.conname);
    END LOOP;
    FOR r IN SELECT i.indexrelid::regclass AS idx
               FROM pg_index i
              WHERE i.indrelid IN ('tasks'::regclass, 'orders'::regclass, 'order_events'::regclass)
                AND NOT i.indisprimary AND i.indexrelid <> 'tasks_claim'::regclass
    LOOP
        EXECUTE format('DROP INDEX %s', r.idx);
    END LOOP;
    FOR r IN SELECT tgrelid::regclass AS tab, tgname
               FROM pg_trigger
              WHERE NOT tgisinternal
                AND tgrelid IN ('tasks'::regclass, 'orders'::regclass, 'order_events'::regclass)
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.tab);
    END LOOP;
END
$$;
SELECT 'left on tasks, orders, order_events: ' ||
       (SELECT count(*) FROM pg_index
         WHERE indrelid IN ('tasks'::regclass, 'orders'::regclass, 'order_events'::regclass)) ||
       ' indexes, ' ||
       (SELECT count(*) FROM pg_constraint
         WHERE conrelid IN ('tasks'::regclass, 'orders'::regclass, 'order_events'::regclass)
           AND contype <> 'p') || ' constraints besides primary keys';
