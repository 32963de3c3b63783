-- Up Migration
-- Rebuilds dispute_events as a daily range-partitioned table managed by pg_partman (docs/domain.md#database).
-- Works with pg_partman 4.x (Debian, Postgres 15) and 5.x (Postgres 16/17 images); without pg_partman the
-- table is still partitioned, with its default partition only, and a WARNING says so.

-- Partition bounds are computed from timestamptz values; created_at holds UTC wall-clock time (docs/domain.md#timestamps).
SET LOCAL TimeZone = 'UTC';

ALTER TABLE public.dispute_events RENAME TO dispute_events_unpart;
ALTER TABLE public.dispute_events_unpart RENAME CONSTRAINT dispute_events_pkey TO dispute_events_unpart_pkey;
ALTER TABLE public.dispute_events_unpart RENAME CONSTRAINT fk_dispute_event_dispute TO fk_dispute_event_unpart_dispute;

CREATE TABLE public.dispute_events (
    id                VARCHAR(255) NOT NULL,
    dispute_id        VARCHAR(255) NOT NULL,
    kind              VARCHAR(32)  NOT NULL,
    provider_event_id VARCHAR(255) NOT NULL,
    data              JSONB        NOT NULL,
    created_at        TIMESTAMP    NOT NULL,
    CONSTRAINT dispute_events_pk PRIMARY KEY (id, created_at),
    CONSTRAINT fk_dispute_event_dispute FOREIGN KEY (dispute_id) REFERENCES public.disputes (id)
) PARTITION BY RANGE (created_at);

-- Created on the parent before any child exists, so every partition gets it.
CREATE INDEX de_kind_created_at ON public.dispute_events (kind, created_at);

DO $partition$
DECLARE
    start_day      date;
    partman_schema text;
    partman_major  int;
    child          record;
    moved          bigint;
BEGIN
    SELECT min(created_at)::date INTO start_day FROM public.dispute_events_unpart;
    start_day := coalesce(start_day, (now() AT TIME ZONE 'UTC')::date);

    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman') THEN
        CREATE TABLE public.dispute_events_default PARTITION OF public.dispute_events DEFAULT;
        RAISE WARNING 'pg_partman is not installed on this PostgreSQL server: dispute_events is partitioned with '
            'its default partition only, so every event lands in dispute_events_default and queries get no '
            'partition pruning. Install pg_partman (e.g. postgresql-15-partman) before migrating to get daily partitions.';
    ELSE
        CREATE SCHEMA IF NOT EXISTS partman;
        CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
        SELECT n.nspname, split_part(e.extversion, '.', 1)::int INTO partman_schema, partman_major
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_partman';

        IF partman_major >= 5 THEN
            EXECUTE format(
                'SELECT %I.create_parent(p_parent_table => %L, p_control => %L, p_interval => %L, p_type => %L,'
                ' p_premake => 7, p_start_partition => %L, p_default_table => true, p_automatic_maintenance => %L)',
                partman_schema, 'public.dispute_events', 'created_at', '1 day', 'range', start_day::text, 'on');
        ELSE
            -- 4.x always creates the default partition for native sets and names daily children _pYYYY_MM_DD.
            EXECUTE format(
                'SELECT %I.create_parent(p_parent_table => %L, p_control => %L, p_type => %L, p_interval => %L,'
                ' p_premake => 7, p_start_partition => %L, p_automatic_maintenance => %L)',
                partman_schema, 'public.dispute_events', 'created_at', 'native', 'daily', start_day::text, 'on');
            -- Same child names as 5.x (dispute_events_pYYYYMMDD). 4.x derives names from datetime_string and reads
            -- native children's ranges from their bounds, so renaming existing children and switching the format
            -- keeps maintenance and retention working.
            EXECUTE format('UPDATE %I.part_config SET datetime_string = %L WHERE parent_table = %L',
                partman_schema, 'YYYYMMDD', 'public.dispute_events');
            FOR child IN
                SELECT c.relname AS old_name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'public.dispute_events'::regclass
                  AND c.relname ~ '^dispute_events_p\d{4}_\d{2}_\d{2}$'
                UNION ALL
                -- their indexes carry the child name too
                SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                WHERE c.relnamespace = 'public'::regnamespace
                  AND c.relname ~ '^dispute_events_p\d{4}_\d{2}_\d{2}_'
            LOOP
                EXECUTE format('ALTER %s public.%I RENAME TO %I',
                    CASE WHEN child.old_name ~ '^dispute_events_p\d{4}_\d{2}_\d{2}$' THEN 'TABLE' ELSE 'INDEX' END,
                    child.old_name,
                    regexp_replace(child.old_name, '^dispute_events_p(\d{4})_(\d{2})_(\d{2})', 'dispute_events_p\1\2\3'));
            END LOOP;
        END IF;

        -- created_at is the insert time: premake relative to now (not to the newest row, which stalls when no
        -- events arrive), and ignore stray rows in the default when deciding what to premake.
        EXECUTE format(
            'UPDATE %I.part_config SET infinite_time_partitions = true, ignore_default_data = true WHERE parent_table = %L',
            partman_schema, 'public.dispute_events');
        EXECUTE format('SELECT %I.run_maintenance(p_parent_table => %L)', partman_schema, 'public.dispute_events');
    END IF;

    INSERT INTO public.dispute_events (id, dispute_id, kind, provider_event_id, data, created_at)
    SELECT id, dispute_id, kind, provider_event_id, data, created_at FROM public.dispute_events_unpart;

    IF partman_schema IS NOT NULL THEN
        -- Moves rows beyond the pre-made range out of the default into new daily children. The function form of
        -- partition_data_proc: a procedure that commits cannot run inside the migration's transaction.
        LOOP
            EXECUTE format('SELECT %I.partition_data_time(p_parent_table => %L, p_batch_count => 1000)',
                partman_schema, 'public.dispute_events') INTO moved;
            EXIT WHEN coalesce(moved, 0) = 0;
        END LOOP;
        -- Rows far ahead got children of their own; fill the days in between.
        EXECUTE format('SELECT %I.partition_gap_fill(p_parent_table => %L)', partman_schema, 'public.dispute_events');
    END IF;
END
$partition$;

DROP TABLE public.dispute_events_unpart;
ANALYZE public.dispute_events;

-- Down Migration
SET LOCAL TimeZone = 'UTC';

CREATE TABLE public.dispute_events_unpart (
    id                VARCHAR(255) NOT NULL,
    dispute_id        VARCHAR(255) NOT NULL,
    kind              VARCHAR(32)  NOT NULL,
    provider_event_id VARCHAR(255) NOT NULL,
    data              JSONB        NOT NULL,
    created_at        TIMESTAMP    NOT NULL
);
INSERT INTO public.dispute_events_unpart (id, dispute_id, kind, provider_event_id, data, created_at)
SELECT id, dispute_id, kind, provider_event_id, data, created_at FROM public.dispute_events;

DO $unpartition$
DECLARE
    partman_schema text;
    template_table text;
    other_sets     bigint;
BEGIN
    SELECT n.nspname INTO partman_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_partman';
    IF partman_schema IS NULL THEN
        RETURN;
    END IF;

    EXECUTE format('DELETE FROM %I.part_config WHERE parent_table = %L RETURNING template_table',
        partman_schema, 'public.dispute_events') INTO template_table;
    IF template_table IS NOT NULL THEN
        EXECUTE format('DROP TABLE IF EXISTS %s', template_table);
    END IF;

    -- The extension came with this migration; leave it alone if something else still uses it.
    EXECUTE format('SELECT count(*) FROM %I.part_config', partman_schema) INTO other_sets;
    IF other_sets = 0 THEN
        DROP EXTENSION pg_partman;
        BEGIN
            EXECUTE format('DROP SCHEMA %I', partman_schema);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            NULL;
        END;
    END IF;
END
$unpartition$;

DROP TABLE public.dispute_events;

ALTER TABLE public.dispute_events_unpart RENAME TO dispute_events;
ALTER TABLE public.dispute_events ADD CONSTRAINT dispute_events_pkey PRIMARY KEY (id);
ALTER TABLE public.dispute_events
    ADD CONSTRAINT fk_dispute_event_dispute FOREIGN KEY (dispute_id) REFERENCES public.disputes (id);
CREATE INDEX de_kind_created_at_inc_dispute ON public.dispute_events (kind, created_at);
