-- Triage workflow: deadlines, staff confirmation or override, the overdue marker, and the
-- keyed hashes of perpetrator/victim identifiers (never the identifiers themselves).
ALTER TABLE triage.results
    ADD COLUMN received_at          timestamptz,
    ADD COLUMN due_at               timestamptz,
    ADD COLUMN aftercare_intensity  text,
    ADD COLUMN status               text NOT NULL DEFAULT 'voorstel'
        CHECK (status IN ('voorstel', 'bevestigd', 'overschreven')),
    ADD COLUMN decided_by           text,
    ADD COLUMN decided_at           timestamptz,
    ADD COLUMN overdue_reported_at  timestamptz,
    ADD COLUMN updated_at           timestamptz NOT NULL DEFAULT now();
CREATE INDEX results_open ON triage.results (due_at) WHERE status = 'voorstel';

CREATE TABLE triage.identity_keys (
    case_id     uuid  NOT NULL,
    kind        text  NOT NULL CHECK (kind IN ('perpetrator', 'victim')),
    keyed_hash  bytea NOT NULL,
    PRIMARY KEY (case_id, kind, keyed_hash)
);
CREATE INDEX identity_keys_hash ON triage.identity_keys (kind, keyed_hash);
