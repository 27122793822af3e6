-- API keys of this municipality (only a hash is stored) and its audit log of every read
-- and change of personal data. The audit log is append-only: the trigger refuses
-- updates and deletes, so the application cannot change what it recorded.
CREATE TABLE hub.api_keys (
    key_id      text PRIMARY KEY,
    label       text        NOT NULL,
    role        text        NOT NULL,
    key_hash    bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE hub.audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text        NOT NULL,
    action    text        NOT NULL,
    case_id   uuid,
    subject   text        NOT NULL,
    reason    text
);
CREATE INDEX audit_log_case ON hub.audit_log (case_id, at);

CREATE FUNCTION hub.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hub.audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON hub.audit_log
    FOR EACH ROW EXECUTE FUNCTION hub.audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON hub.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION hub.audit_log_is_append_only();
