-- Incidents as reported. Personal data (description, reporter, perpetrators) stays here,
-- in the municipality's own case store; events carry only codes and identifiers.
CREATE TABLE intake.incidents (
    case_id              uuid PRIMARY KEY,
    channel              text        NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    received_by          text        NOT NULL,
    occurred_at          timestamptz NOT NULL,
    description          text        NOT NULL,
    location_type        text        NOT NULL,
    target_role          text        NOT NULL,
    reported_categories  text[]      NOT NULL DEFAULT '{}',
    reporter             jsonb,
    perpetrators         jsonb       NOT NULL DEFAULT '[]',
    consent              jsonb       NOT NULL,
    status               text        NOT NULL DEFAULT 'ontvangen'
);
CREATE INDEX incidents_received_at ON intake.incidents (received_at);
