-- The referral lifecycle's data, the ELA checklist, the acceptance deadline and webhook deliveries.
ALTER TABLE police_liaison.referrals
    ADD COLUMN registration_number text,
    ADD COLUMN outcome             text,
    ADD COLUMN reason              text,
    ADD COLUMN vpt_registered      boolean NOT NULL DEFAULT false,
    ADD COLUMN domiciliekeuze      boolean NOT NULL DEFAULT true,
    ADD COLUMN employer_aangifte   boolean NOT NULL DEFAULT false,
    ADD COLUMN priority_handling   boolean NOT NULL DEFAULT true,
    ADD COLUMN claim_damages       boolean NOT NULL DEFAULT false,
    ADD COLUMN accept_deadline     timestamptz,
    ADD COLUMN escalated_at        timestamptz;

-- Open referrals past their deadline are found by the escalation timer.
CREATE INDEX referrals_unescalated ON police_liaison.referrals (accept_deadline)
    WHERE status = 'created' AND escalated_at IS NULL;

ALTER TABLE police_liaison.referral_steps
    ADD COLUMN detail text;

-- One delivery per (event, police unit): the delivery id is what the receiver deduplicates on.
CREATE TABLE police_liaison.webhook_deliveries (
    delivery_id   uuid PRIMARY KEY,
    event_id      uuid        NOT NULL,
    police_unit   text        NOT NULL,
    event_type    text        NOT NULL,
    body          jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'pending',  -- pending, delivered, failed
    attempts      integer     NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL DEFAULT now(),
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    UNIQUE (event_id, police_unit)
);
CREATE INDEX webhook_deliveries_due ON police_liaison.webhook_deliveries (next_attempt) WHERE status = 'pending';
