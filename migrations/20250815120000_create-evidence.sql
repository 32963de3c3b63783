-- Up Migration
CREATE TABLE public.evidence (
    dispute_id VARCHAR(255) NOT NULL,
    fields     JSONB        NOT NULL DEFAULT '{}',
    files      JSONB        NOT NULL DEFAULT '[]',
    updated_at TIMESTAMP    NOT NULL DEFAULT NOW(),
    CONSTRAINT evidence_pkey PRIMARY KEY (dispute_id),
    CONSTRAINT fk_evidence_dispute FOREIGN KEY (dispute_id) REFERENCES public.disputes (id) ON DELETE CASCADE
);

-- Down Migration
DROP TABLE public.evidence;
