-- Partner subscribers beyond the police (issue 24, item 4; docs/partners.md): a RIEC, Slachtofferhulp, the
-- municipality's own systems. Each subscriber is a row in every case store whose events it receives, with
-- the events and fields it is allowed; its signing keys (two during a rotation) encrypted with the
-- municipality's data key; the outbox of deliveries (one per subscriber and event: the receiver deduplicates
-- on the event id) with the CloudEvent as it goes out, allowed fields only; and the log of every attempt.
CREATE TABLE signals.subscribers (
    name                 text PRIMARY KEY,
    transport            text        NOT NULL CHECK (transport IN ('webhook', 'amqp')),
    url                  text,
    events               text[]      NOT NULL,   -- selectors: event_type or event_type[field=code]
    fields               text[]      NOT NULL,   -- the payload fields it may receive (dotted for nested ones)
    legal_basis          text        NOT NULL,
    purpose              text        NOT NULL,
    consent_version      text,
    max_attempts         integer     NOT NULL DEFAULT 8,
    first_delay_seconds  float8      NOT NULL DEFAULT 2,
    max_delay_seconds    float8      NOT NULL DEFAULT 600,
    timeout_seconds      float8      NOT NULL DEFAULT 10,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((transport = 'webhook') = (url IS NOT NULL))
);

CREATE TABLE signals.subscriber_keys (
    key_id      uuid PRIMARY KEY,
    subscriber  text        NOT NULL REFERENCES signals.subscribers (name) ON DELETE CASCADE,
    secret      bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriber_keys_of ON signals.subscriber_keys (subscriber, created_at);

CREATE TABLE signals.partner_deliveries (
    delivery_id   uuid PRIMARY KEY,
    subscriber    text        NOT NULL,
    event_id      uuid        NOT NULL,
    event_type    text        NOT NULL,
    case_id       uuid        NOT NULL,
    transport     text        NOT NULL CHECK (transport IN ('webhook', 'amqp')),
    body          text        NOT NULL,   -- the CloudEvent (structured mode) as it goes out: codes and ids
    status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts      integer     NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL DEFAULT now(),
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    UNIQUE (subscriber, event_id)
);
CREATE INDEX partner_deliveries_due ON signals.partner_deliveries (next_attempt) WHERE status = 'pending';
CREATE INDEX partner_deliveries_of ON signals.partner_deliveries (subscriber, created_at DESC);

CREATE TABLE signals.partner_attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  uuid        NOT NULL REFERENCES signals.partner_deliveries (delivery_id),
    at           timestamptz NOT NULL DEFAULT now(),
    result       text        NOT NULL CHECK (result IN ('delivered', 'failed', 'replayed')),
    detail       text
);
CREATE INDEX partner_attempts_of ON signals.partner_attempts (delivery_id, at);
