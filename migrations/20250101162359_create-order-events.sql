-- Up Migration
CREATE TABLE public.order_events (
    id                VARCHAR(255) NOT NULL,
    order_id          VARCHAR(255) NOT NULL,
    kind              VARCHAR(32)  NOT NULL,
    provider_event_id VARCHAR(255) NOT NULL,
    data              JSONB        NOT NULL,
    created_at        TIMESTAMP    NOT NULL,
    CONSTRAINT order_events_pkey PRIMARY KEY (id),
    CONSTRAINT fk_order_event_order FOREIGN KEY (order_id) REFERENCES public.orders (id)
);

CREATE INDEX oe_kind_created_at_inc_order ON public.order_events (kind, created_at);

-- Down Migration
DROP TABLE public.order_events;
