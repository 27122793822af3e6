-- Legal hold (issue 21, item 6; docs/security.md#legal-hold): a case under hold is not erased (by retention or
-- `meldpunt erase`) until the hold is lifted. Who set and lifted it, when and why (an operator's reference,
-- such as a court's case number: no personal data) stay; the audit log records both as codes.
CREATE TABLE hub.legal_holds (
    id          bigserial   PRIMARY KEY,
    case_id     uuid        NOT NULL,
    reason      text        NOT NULL,
    set_by      text        NOT NULL,
    set_at      timestamptz NOT NULL DEFAULT now(),
    lifted_by   text,
    lifted_at   timestamptz,
    lift_reason text
);
CREATE UNIQUE INDEX legal_holds_active ON hub.legal_holds (case_id) WHERE lifted_at IS NULL;
