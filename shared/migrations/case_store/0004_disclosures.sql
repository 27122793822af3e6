-- The disclosure ledger (issue 20, docs/security.md#disclosure-ledger): one row each time personal data of
-- a case leaves the case store — which fields (names, never values), to whom, when, on which legal basis
-- and through which channel. Kept as long as the case (erasure empties no row: it holds no values).
-- `status`: delivered, pending (handed to a queue or webhook that has not confirmed yet) or failed;
-- an AMQP row is delivered once its outbox event is published (shared/disclosures.py reads it so).
CREATE TABLE hub.disclosures (
    id               bigserial PRIMARY KEY,
    case_id          uuid        NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    service          text        NOT NULL,
    channel          text        NOT NULL,
    recipient_kind   text        NOT NULL,
    recipient        text        NOT NULL,
    fields           text[]      NOT NULL,
    legal_basis      text        NOT NULL,
    consent_version  text,
    actor            text,
    purpose          text        NOT NULL,
    status           text        NOT NULL DEFAULT 'delivered',
    event_id         uuid,
    delivery_id      uuid,
    delivered_at     timestamptz,
    last_error       text,
    CONSTRAINT disclosures_status CHECK (status IN ('delivered', 'pending', 'failed'))
);
CREATE INDEX disclosures_case ON hub.disclosures (case_id, at);
CREATE INDEX disclosures_delivery ON hub.disclosures (delivery_id) WHERE delivery_id IS NOT NULL;
