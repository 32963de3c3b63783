-- Up Migration
-- Scale-out (docs/data-tier.md): every domain table carries shard_key, a 32-bit hash of the order id, and every
-- primary, unique and foreign key includes it. On Citus the five tables are distributed by shard_key and
-- co-located, so all rows of one order (its events, its dispute, the dispute's events and evidence) live on one
-- shard and each webhook transaction and each read by id is a single-shard (router) query. On plain PostgreSQL
-- the schema is the same and nothing else changes: shard_key is a function of the order id, so a key that gained
-- shard_key is exactly as unique as before.

-- The first 32 bits of md5(order id) as a signed integer; the API computes the same value (db/shard-key.ts).
CREATE FUNCTION public.order_shard_key(order_id text) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ('x' || left(md5(order_id), 8))::bit(32)::integer;

ALTER TABLE public.orders ADD COLUMN shard_key integer;
UPDATE public.orders SET shard_key = public.order_shard_key(id);
ALTER TABLE public.order_events ADD COLUMN shard_key integer;
UPDATE public.order_events SET shard_key = public.order_shard_key(order_id);
ALTER TABLE public.disputes ADD COLUMN shard_key integer;
UPDATE public.disputes SET shard_key = public.order_shard_key(order_id);
ALTER TABLE public.dispute_events ADD COLUMN shard_key integer;
UPDATE public.dispute_events e SET shard_key = d.shard_key FROM public.disputes d WHERE d.id = e.dispute_id;
ALTER TABLE public.evidence ADD COLUMN shard_key integer;
UPDATE public.evidence v SET shard_key = d.shard_key FROM public.disputes d WHERE d.id = v.dispute_id;

ALTER TABLE public.orders ALTER COLUMN shard_key SET NOT NULL,
    ADD CONSTRAINT orders_shard_key_check CHECK (shard_key = public.order_shard_key(id));
ALTER TABLE public.order_events ALTER COLUMN shard_key SET NOT NULL,
    ADD CONSTRAINT order_events_shard_key_check CHECK (shard_key = public.order_shard_key(order_id));
ALTER TABLE public.disputes ALTER COLUMN shard_key SET NOT NULL,
    ADD CONSTRAINT disputes_shard_key_check CHECK (shard_key = public.order_shard_key(order_id));
ALTER TABLE public.dispute_events ALTER COLUMN shard_key SET NOT NULL;
ALTER TABLE public.evidence ALTER COLUMN shard_key SET NOT NULL;

-- Keys: the same names and leading columns as before (so every existing lookup keeps its index), shard_key last.
ALTER TABLE public.evidence DROP CONSTRAINT fk_evidence_dispute;
ALTER TABLE public.dispute_events DROP CONSTRAINT fk_dispute_event_dispute;
ALTER TABLE public.disputes DROP CONSTRAINT fk_dispute_order;
ALTER TABLE public.order_events DROP CONSTRAINT fk_order_event_order;

ALTER TABLE public.orders DROP CONSTRAINT orders_pkey, ADD CONSTRAINT orders_pkey PRIMARY KEY (id, shard_key);
ALTER TABLE public.order_events DROP CONSTRAINT order_events_pkey,
    ADD CONSTRAINT order_events_pkey PRIMARY KEY (id, shard_key);
DROP INDEX public.idx_order_events_idempotency;
CREATE UNIQUE INDEX idx_order_events_idempotency ON public.order_events (order_id, provider_event_id, shard_key);
ALTER TABLE public.disputes DROP CONSTRAINT disputes_pkey, ADD CONSTRAINT disputes_pkey PRIMARY KEY (id, shard_key),
    DROP CONSTRAINT disputes_order_id_key, ADD CONSTRAINT disputes_order_id_key UNIQUE (order_id, shard_key);
ALTER TABLE public.dispute_events DROP CONSTRAINT dispute_events_pk,
    ADD CONSTRAINT dispute_events_pk PRIMARY KEY (id, created_at, shard_key);
DROP INDEX public.idx_dispute_events_idempotency;
CREATE UNIQUE INDEX idx_dispute_events_idempotency
    ON public.dispute_events (dispute_id, provider_event_id, created_at, shard_key);
ALTER TABLE public.evidence DROP CONSTRAINT evidence_pkey, ADD CONSTRAINT evidence_pkey PRIMARY KEY (dispute_id, shard_key);

ALTER TABLE public.order_events ADD CONSTRAINT fk_order_event_order
    FOREIGN KEY (order_id, shard_key) REFERENCES public.orders (id, shard_key);
ALTER TABLE public.disputes ADD CONSTRAINT fk_dispute_order
    FOREIGN KEY (order_id, shard_key) REFERENCES public.orders (id, shard_key);
ALTER TABLE public.dispute_events ADD CONSTRAINT fk_dispute_event_dispute
    FOREIGN KEY (dispute_id, shard_key) REFERENCES public.disputes (id, shard_key);
ALTER TABLE public.evidence ADD CONSTRAINT fk_evidence_dispute
    FOREIGN KEY (dispute_id, shard_key) REFERENCES public.disputes (id, shard_key) ON DELETE CASCADE;

-- Citus (the extension exists in this database, i.e. this is the coordinator): distribute, co-located with
-- orders, referenced tables first. dispute_events' daily partitions are distributed with their parent, and
-- partitions pg_partman creates later are distributed when they are attached.
DO $distribute$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        PERFORM create_distributed_table('public.orders', 'shard_key');
        PERFORM create_distributed_table('public.order_events', 'shard_key', colocate_with => 'public.orders');
        PERFORM create_distributed_table('public.disputes', 'shard_key', colocate_with => 'public.orders');
        PERFORM create_distributed_table('public.dispute_events', 'shard_key', colocate_with => 'public.orders');
        PERFORM create_distributed_table('public.evidence', 'shard_key', colocate_with => 'public.orders');
    END IF;
END
$distribute$;

-- Down Migration
-- Citus: DDL on the distributed tables over one connection per worker, so the function can be dropped in the same
-- transaction (a parallel multi-shard command forbids it). A harmless placeholder setting on plain PostgreSQL.
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';

DO $undistribute$
BEGIN
    -- Nested: pg_dist_partition exists only where Citus does.
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        IF EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'public.orders'::regclass) THEN
            -- Follows the foreign keys, so the other four tables come back to the coordinator too.
            PERFORM undistribute_table('public.orders', cascade_via_foreign_keys => true);
        END IF;
    END IF;
END
$undistribute$;

ALTER TABLE public.evidence DROP CONSTRAINT fk_evidence_dispute;
ALTER TABLE public.dispute_events DROP CONSTRAINT fk_dispute_event_dispute;
ALTER TABLE public.disputes DROP CONSTRAINT fk_dispute_order;
ALTER TABLE public.order_events DROP CONSTRAINT fk_order_event_order;

ALTER TABLE public.evidence DROP CONSTRAINT evidence_pkey, ADD CONSTRAINT evidence_pkey PRIMARY KEY (dispute_id);
DROP INDEX public.idx_dispute_events_idempotency;
CREATE UNIQUE INDEX idx_dispute_events_idempotency ON public.dispute_events (dispute_id, provider_event_id, created_at);
ALTER TABLE public.dispute_events DROP CONSTRAINT dispute_events_pk,
    ADD CONSTRAINT dispute_events_pk PRIMARY KEY (id, created_at);
ALTER TABLE public.disputes DROP CONSTRAINT disputes_order_id_key, ADD CONSTRAINT disputes_order_id_key UNIQUE (order_id),
    DROP CONSTRAINT disputes_pkey, ADD CONSTRAINT disputes_pkey PRIMARY KEY (id);
DROP INDEX public.idx_order_events_idempotency;
CREATE UNIQUE INDEX idx_order_events_idempotency ON public.order_events (order_id, provider_event_id);
ALTER TABLE public.order_events DROP CONSTRAINT order_events_pkey, ADD CONSTRAINT order_events_pkey PRIMARY KEY (id);
ALTER TABLE public.orders DROP CONSTRAINT orders_pkey, ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

ALTER TABLE public.order_events ADD CONSTRAINT fk_order_event_order FOREIGN KEY (order_id) REFERENCES public.orders (id);
ALTER TABLE public.disputes ADD CONSTRAINT fk_dispute_order FOREIGN KEY (order_id) REFERENCES public.orders (id);
ALTER TABLE public.dispute_events
    ADD CONSTRAINT fk_dispute_event_dispute FOREIGN KEY (dispute_id) REFERENCES public.disputes (id);
ALTER TABLE public.evidence
    ADD CONSTRAINT fk_evidence_dispute FOREIGN KEY (dispute_id) REFERENCES public.disputes (id) ON DELETE CASCADE;

ALTER TABLE public.evidence DROP COLUMN shard_key;
ALTER TABLE public.dispute_events DROP COLUMN shard_key;
ALTER TABLE public.disputes DROP COLUMN shard_key;
ALTER TABLE public.order_events DROP COLUMN shard_key;
ALTER TABLE public.orders DROP COLUMN shard_key;
DROP FUNCTION public.order_shard_key(text);
