-- Up Migration
-- docs/domain.md#disputes: one dispute per order. A constraint (backed by the index of the same name) so that
-- INSERT ... ON CONFLICT (order_id) and ON CONFLICT ON CONSTRAINT both work.
ALTER TABLE public.disputes ADD CONSTRAINT disputes_order_id_key UNIQUE (order_id);

-- Down Migration
ALTER TABLE public.disputes DROP CONSTRAINT disputes_order_id_key;
