-- Up Migration
-- Rewrite addition. Both event endpoints page by (created_at, id) (docs/api.md#event-cursors), with or without a time window;
-- the indexes of docs/domain.md#database lead with kind or the aggregate id, so without these a page scans and sorts every
-- row in range. On dispute_events (created on the parent, so every partition gets it) a 7-day page becomes an
-- ordered append of backward index scans that stops after limit + 1 rows.
CREATE INDEX de_created_at_id ON public.dispute_events (created_at, id);
CREATE INDEX oe_created_at_id ON public.order_events (created_at, id);

-- Down Migration
DROP INDEX public.oe_created_at_id;
DROP INDEX public.de_created_at_id;
