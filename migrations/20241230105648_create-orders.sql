-- Up Migration
CREATE TABLE public.orders (
    id          VARCHAR(255) NOT NULL,
    user_id     UUID         NOT NULL,
    status      VARCHAR(32)  NOT NULL,
    on_hold     BOOLEAN      NOT NULL DEFAULT FALSE,
    hold_reason VARCHAR(255),
    created_at  TIMESTAMP    NOT NULL,
    updated_at  TIMESTAMP    NOT NULL,
    CONSTRAINT orders_pkey PRIMARY KEY (id)
);

-- Down Migration
-- docs/domain.md#database: the Go original dropped a table named "order" here.
DROP TABLE public.orders;
