-- Conflicts of interest (docs/workbench.md#conflicts-of-interest): who handles a case when the
-- municipality's own meldpunt should not, and the people who may never see it. Read by the one
-- rule of which cases a caller sees (shared/auth.py case_visibility), in every service's API.

-- A case routed away from its municipality's own meldpunt: to the region, or another municipality's.
CREATE TABLE hub.case_access (
    case_id     uuid PRIMARY KEY,
    handled_by  text        NOT NULL,          -- region, or a gemeentecode
    reason      text        NOT NULL,          -- a code: colleague, manager, meldpunt_staff, leadership
    marked_by   text        NOT NULL,          -- melder, or the person who marked it (audit actor)
    marked_at   timestamptz NOT NULL DEFAULT now()
);

-- People who may not see a case, by keyed hashes of their sign-in identity (subject or e-mail
-- address; shared/assertion.py identity_hashes): matched without their names in the clear.
CREATE TABLE hub.case_exclusions (
    id          bigserial PRIMARY KEY,
    case_id     uuid        NOT NULL,
    identity    text        NOT NULL,
    personal    bytea,                         -- who it is, as staff named them (encrypted)
    added_by    text        NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, identity)
);
CREATE INDEX case_exclusions_identity ON hub.case_exclusions (identity);
