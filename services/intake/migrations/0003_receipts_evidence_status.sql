-- Anonymous follow-up, evidence, drafts and status feedback (issue #3).
-- receipt_code is what the reporter writes down; only a hash of the follow-up secret is kept.
ALTER TABLE intake.incidents
    ADD COLUMN receipt_code   text UNIQUE,
    ADD COLUMN secret_hash    text,
    ADD COLUMN draft          boolean     NOT NULL DEFAULT false,
    ADD COLUMN withdrawn_at   timestamptz,
    ADD COLUMN status_changed_at timestamptz;

-- Evidence files live here (bytea), in the municipality's own store; events never carry them.
CREATE TABLE intake.evidence (
    evidence_id  uuid        PRIMARY KEY,
    case_id      uuid        NOT NULL REFERENCES intake.incidents (case_id),
    filename     text        NOT NULL,
    media_type   text        NOT NULL,
    size_bytes   integer     NOT NULL,
    sha256       text        NOT NULL,
    content      bytea       NOT NULL,
    added_at     timestamptz NOT NULL DEFAULT now(),
    added_by     text        NOT NULL
);
CREATE INDEX evidence_case ON intake.evidence (case_id);

-- What the reporter (or staff) added after the first report; free text stays here.
CREATE TABLE intake.additions (
    id         bigserial   PRIMARY KEY,
    case_id    uuid        NOT NULL REFERENCES intake.incidents (case_id),
    channel    text        NOT NULL,
    added_by   text        NOT NULL,
    text       text        NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now()
);
