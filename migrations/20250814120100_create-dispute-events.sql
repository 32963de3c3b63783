-- Up Migration
-- Plain table; migration 20250830122235 rebuilds it as a daily range-partitioned table.
CREATE TABLE public.dispute_events (
    id                VARCHAR(255) NOT NULL,
    dispute_id        VARCHAR(255) NOT NULL,
    kind              VARCHAR(32)  NOT NULL,
    provider_event_id VARCHAR(255) NOT NULL,
    data              JSONB        NOT NULL,
    created_at        TIMESTAMP    NOT NULL,
    CONSTRAINT dispute_events_pkey PRIMARY KEY (id),
    CONSTRAINT fk_dispute_event_dispute FOREIGN KEY (dispute_id) REFERENCES public.disputes (id)
);

CREATE INDEX de_kind_created_at_inc_dispute ON public.dispute_events (kind, created_at);

-- Down Migration
DROP TABLE public.dispute_events;
