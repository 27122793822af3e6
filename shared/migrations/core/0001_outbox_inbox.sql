-- Reliability tables every database of the hub has: the outbox (events waiting to be
-- published, written in the same transaction as the change that caused them) and the
-- inbox (events already handled, so a redelivery has no second effect).
CREATE TABLE hub.outbox (
    id            bigserial PRIMARY KEY,
    service       text        NOT NULL,
    event_id      uuid        NOT NULL UNIQUE,
    event_type    text        NOT NULL,
    priority      smallint    NOT NULL DEFAULT 0,
    envelope      jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text
);
CREATE INDEX outbox_pending ON hub.outbox (service, priority DESC, id) WHERE published_at IS NULL;

CREATE TABLE hub.inbox (
    consumer    text        NOT NULL,
    event_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
