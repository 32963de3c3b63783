-- Up Migration
CREATE TABLE public.disputes (
    id              VARCHAR(255)  NOT NULL,
    order_id        VARCHAR(255)  NOT NULL,
    submitting_id   VARCHAR(255),
    status          VARCHAR(32)   NOT NULL,
    reason          TEXT          NOT NULL,
    amount          DECIMAL(10,2) NOT NULL,
    currency        VARCHAR(3)    NOT NULL,
    opened_at       TIMESTAMP     NOT NULL,
    evidence_due_at TIMESTAMP,
    submitted_at    TIMESTAMP,
    closed_at       TIMESTAMP,
    CONSTRAINT disputes_pkey PRIMARY KEY (id),
    CONSTRAINT fk_dispute_order FOREIGN KEY (order_id) REFERENCES public.orders (id)
);

-- Lets the analytical join of docs/data-tier.md#migrations-and-partitions read the disputes side as an index-only scan.
CREATE INDEX disputes_status_reason_id ON public.disputes (status, reason, id);

-- Down Migration
DROP TABLE public.disputes;
