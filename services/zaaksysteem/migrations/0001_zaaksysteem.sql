-- The zaaksysteem service (issue 24, item 5): the outbox of deliveries to the municipality's zaaksysteem
-- (one per case and step, so an event seen twice adds nothing), each case's zaak, and the delivery log
-- (every attempt). Codes, ids and URLs only.
CREATE SCHEMA IF NOT EXISTS zaaksysteem;

CREATE TABLE zaaksysteem.deliveries (
    delivery_id      uuid PRIMARY KEY,
    case_id          uuid        NOT NULL,
    step             text        NOT NULL CHECK (step IN ('aanmaken', 'beoordeeld', 'afsluiten')),
    outcome          text        CHECK (outcome IN ('afgehandeld', 'ingetrokken')),
    shared           jsonb       NOT NULL DEFAULT '{}',   -- the case's fields the municipality allows
    happened_at      timestamptz NOT NULL,                -- when the case lived the step (the event's time)
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, step)
);
CREATE INDEX deliveries_due ON zaaksysteem.deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE zaaksysteem.zaken (
    case_id     uuid PRIMARY KEY,
    zaak_url    text        NOT NULL,
    made_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE zaaksysteem.attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  uuid        NOT NULL REFERENCES zaaksysteem.deliveries (delivery_id),
    at           timestamptz NOT NULL DEFAULT now(),
    result       text        NOT NULL CHECK (result IN ('delivered', 'failed')),
    detail       text
);
CREATE INDEX attempts_delivery ON zaaksysteem.attempts (delivery_id, at);
