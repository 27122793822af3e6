-- The fuller incident of issue #3: all new columns are optional extensions of the partner API,
-- so rows stored before this migration keep their meaning (defaults = "not told").
ALTER TABLE intake.incidents
    ADD COLUMN own_kind              text,
    ADD COLUMN occurred_at_precision text    NOT NULL DEFAULT 'exact',
    ADD COLUMN occurred_until        timestamptz,
    ADD COLUMN location_detail       text,
    ADD COLUMN target                jsonb,
    ADD COLUMN reporter_relation     text    NOT NULL DEFAULT 'target',
    ADD COLUMN injuries              text,
    ADD COLUMN damage                text,
    ADD COLUMN witnesses             jsonb   NOT NULL DEFAULT '[]',
    ADD COLUMN aangifte_help         boolean NOT NULL DEFAULT false;

-- Idempotency-Key on POST /api/v1/incidents: the first answer per (key owner, key), written in the
-- same transaction as the incident, so a retry after a lost answer returns it and creates nothing.
CREATE TABLE intake.idempotency_keys (
    key_id          text        NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    status_code     integer     NOT NULL,
    response        jsonb       NOT NULL,
    case_id         uuid        NOT NULL REFERENCES intake.incidents (case_id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, idempotency_key)
);
