-- A perpetrator repeat still to be settled with the other municipalities: written with the
-- triage result, deleted when their answer is in (the repeat_detected event, if any, with it).
-- Ids and a count only.
CREATE TABLE triage.repeat_checks (
    event_id    uuid        PRIMARY KEY,
    case_id     uuid        NOT NULL,
    linked      integer     NOT NULL,
    priority    integer     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
