-- Issue 19. A case withdrawn or closed has no triage deadline any more (no triage_overdue, not in
-- the queue). And each repeat across two municipalities is told to this municipality once, about its
-- own case: the link (ids and a municipality code only) keeps a second delivery from telling it again.
CREATE TABLE triage.stopped_cases (
    case_id     uuid        PRIMARY KEY,
    reason      text        NOT NULL,      -- incident_withdrawn or incident_closed
    stopped_at  timestamptz NOT NULL
);

CREATE TABLE triage.repeat_links (
    link_id             uuid        PRIMARY KEY,
    case_id             uuid        NOT NULL,
    other_municipality  text        NOT NULL,
    linked_at           timestamptz NOT NULL DEFAULT now()
);
