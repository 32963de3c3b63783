-- Up Migration
-- Least-privilege service roles (docs/data-tier.md#roles). The role running the migrations owns every table and
-- is the only one with DDL. Two login roles, created by the deployment with their passwords (never here), get:
--   payments_app   the API: SELECT/INSERT/UPDATE/DELETE on the domain tables, no CREATE on the schema, no ownership,
--                  the migration history read-only (readiness checks it);
--   payments_read  replica reads: SELECT only.
-- A role the deployment has not created is skipped (development with one role). The grants live in a function so
-- that every migration run repeats them (services/api/src/db/migrations.ts): a role created after this migration
-- gets its privileges from the next run.

-- Partition maintenance creates and drops tables, which the API's role may not do. The API calls this function,
-- which runs as its owner (the migrating role): new partitions belong to the owner and get the default privileges
-- below. It does what the API used to do on its own connection (services/api/src/db/migrations.ts): rows stranded
-- in the default partition move into their own days, the retention is stored when asked, then run_maintenance and
-- partition_gap_fill. The caller holds the advisory lock and the transaction. Outcome: 'not-installed' (no
-- pg_partman), 'not-managed' (pg_partman installed after the migration fell back to a default-only table), 'done'.
CREATE FUNCTION public.dispute_events_maintenance(p_retention text, p_set_retention boolean,
                                                   OUT outcome text, OUT moved bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp SET TimeZone = 'UTC' AS $maintenance$
DECLARE
    partman_schema text;
    managed        boolean;
    batch          bigint;
BEGIN
    moved := 0;
    SELECT n.nspname INTO partman_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_partman';
    IF partman_schema IS NULL THEN
        outcome := 'not-installed';
        RETURN;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.part_config WHERE parent_table = %L)',
        partman_schema, 'public.dispute_events') INTO managed;
    IF NOT managed THEN
        outcome := 'not-managed';
        RETURN;
    END IF;
    -- pg_partman 4.x cannot create a child while the default partition holds rows of its range.
    IF EXISTS (SELECT 1 FROM ONLY public.dispute_events_default) THEN
        LOOP
            EXECUTE format('SELECT %I.partition_data_time(p_parent_table => %L, p_batch_count => 100)',
                partman_schema, 'public.dispute_events') INTO batch;
            EXIT WHEN coalesce(batch, 0) <= 0;
            moved := moved + batch;
        END LOOP;
    END IF;
    IF p_set_retention THEN
        -- The cast rejects a malformed retention here rather than inside every later maintenance run.
        EXECUTE format('UPDATE %I.part_config SET retention = $1::interval::text, retention_keep_table = false'
            ' WHERE parent_table = $2', partman_schema) USING p_retention, 'public.dispute_events';
    END IF;
    EXECUTE format('SELECT %I.run_maintenance(p_parent_table => %L)', partman_schema, 'public.dispute_events');
    -- run_maintenance only extends the set forward from its newest child; days skipped before a rescued one
    -- would otherwise stay without a child for good.
    EXECUTE format('SELECT %I.partition_gap_fill(p_parent_table => %L)', partman_schema, 'public.dispute_events');
    outcome := 'done';
END
$maintenance$;
REVOKE ALL ON FUNCTION public.dispute_events_maintenance(text, boolean) FROM PUBLIC;

CREATE FUNCTION public.grant_service_roles() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $grants$
BEGIN
    -- PostgreSQL 15 already withholds CREATE on public from PUBLIC; older clusters and restored dumps may not.
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'payments_app') THEN
        GRANT USAGE ON SCHEMA public TO payments_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO payments_app;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO payments_app;
        -- The migration history is written by the owner alone; the API's readiness reads it (schema current?).
        REVOKE ALL ON public.pgmigrations FROM payments_app;
        GRANT SELECT ON public.pgmigrations TO payments_app;
        -- Partitions that pg_partman creates later (as the owner, see dispute_events_maintenance) get the same.
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO payments_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO payments_app;
        GRANT EXECUTE ON FUNCTION public.dispute_events_maintenance(text, boolean) TO payments_app;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'payments_read') THEN
        GRANT USAGE ON SCHEMA public TO payments_read;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO payments_read;
        REVOKE ALL ON public.pgmigrations FROM payments_read;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO payments_read;
    END IF;
END
$grants$;
REVOKE ALL ON FUNCTION public.grant_service_roles() FROM PUBLIC;

SELECT public.grant_service_roles();

-- Down Migration
DO $revoke$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['payments_app', 'payments_read'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', role);
            EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', role);
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM %I', role);
            EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM %I', role);
            EXECUTE format('REVOKE USAGE ON SCHEMA public FROM %I', role);
        END IF;
    END LOOP;
END
$revoke$;
DROP FUNCTION public.dispute_events_maintenance(text, boolean);
DROP FUNCTION public.grant_service_roles();
