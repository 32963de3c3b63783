-- Up Migration
CREATE UNIQUE INDEX idx_order_events_idempotency ON public.order_events (order_id, provider_event_id);

-- A unique index on a partitioned table must contain the partition key, hence created_at (see docs/domain.md#idempotency:
-- the application, not this index, guarantees one provider_event_id per dispute).
CREATE UNIQUE INDEX idx_dispute_events_idempotency ON public.dispute_events (dispute_id, provider_event_id, created_at);

-- Down Migration
DROP INDEX public.idx_dispute_events_idempotency;
DROP INDEX public.idx_order_events_idempotency;
