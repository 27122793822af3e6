-- The meldpunt's casework from the workbench (docs: the workbench page): who works a case, internal notes
-- (encrypted like all personal data), and a case closed or withdrawn by staff with its reason.

CREATE TABLE intake.assignments (
    case_id        uuid PRIMARY KEY REFERENCES intake.incidents (case_id),
    assigned_to    text        NOT NULL,          -- the person's sub (person:<sub> in the audit log)
    assigned_name  text        NOT NULL,          -- their display name, as the workbench shows it
    assigned_by    text        NOT NULL,
    assigned_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_to ON intake.assignments (assigned_to);

CREATE TABLE intake.notes (
    id         bigserial PRIMARY KEY,
    case_id    uuid        NOT NULL REFERENCES intake.incidents (case_id),
    added_by   text        NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    personal   bytea                                -- {"text": ...}, encrypted (shared/personal_data.py)
);
CREATE INDEX notes_case ON intake.notes (case_id, id);

CREATE TABLE intake.closures (
    case_id    uuid PRIMARY KEY REFERENCES intake.incidents (case_id),
    kind       text        NOT NULL CHECK (kind IN ('afgesloten', 'ingetrokken')),
    reason     text        NOT NULL,                -- a code (shared/vocabulary.py STAFF_CLOSE_REASONS)
    personal   bytea,                               -- {"note": ...}, encrypted
    closed_by  text        NOT NULL,
    closed_at  timestamptz NOT NULL DEFAULT now()
);
