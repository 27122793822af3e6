-- One triage result per case; reasons explain each decision in plain words for staff.
CREATE TABLE triage.results (
    case_id        uuid PRIMARY KEY,
    triaged_at     timestamptz NOT NULL DEFAULT now(),
    categories     text[]      NOT NULL,
    urgency        text        NOT NULL,
    decisions      text[]      NOT NULL,
    reasons        text[]      NOT NULL,
    rules_version  text        NOT NULL
);
